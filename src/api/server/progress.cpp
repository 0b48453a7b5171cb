#include "berth/api/server/progress.hpp"

#include <cstdio>

#include <fmt/format.h>

#include "berth/common/units.hpp"

namespace berth::api {

std::string progress_bar(int64_t current, int64_t total) {
    if (current <= 0 && total <= 0) return {};
    if (total <= 0) return fmt::format("{:>8}", human_size(static_cast<double>(current)));
    int percentage =
        static_cast<int>(static_cast<double>(current) / static_cast<double>(total) * 100) / 2;
    if (percentage > 50) percentage = 50;
    if (percentage < 0) percentage = 0;
    // moby draws the bar only for a terminal wider than 110 columns; without a terminal (the
    // daemon's case) the width is taken as 200, so the bar is always there.
    std::string bar = "[" + std::string(static_cast<size_t>(percentage), '=') + ">" +
                      std::string(static_cast<size_t>(50 - percentage), ' ') + "] ";
    std::string cur = human_size(static_cast<double>(current));
    if (current > total) return bar + fmt::format("{:>8}", cur);
    return bar + fmt::format("{:>8}/{}", cur, human_size(static_cast<double>(total)));
}

nlohmann::json error_line(std::string_view message) {
    return nlohmann::json{{"errorDetail", {{"message", message}}}, {"error", message}};
}

Result<void> JsonProgressWriter::line(const nlohmann::json& j) {
    return out_.write(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

Result<void> JsonProgressWriter::status(std::string_view id, std::string_view text) {
    nlohmann::json j{{"status", text}};
    if (!id.empty()) j["id"] = id;
    return line(j);
}

Result<void> JsonProgressWriter::progress(std::string_view id, std::string_view action,
                                          int64_t current, int64_t total) {
    if (quiet_) return {};
    nlohmann::json detail = nlohmann::json::object();
    if (current > 0 || total > 0) {
        detail["current"] = current;
        if (total > 0) detail["total"] = total;
    }
    nlohmann::json j{{"status", action}, {"progressDetail", detail}};
    std::string bar = progress_bar(current, total);
    if (!bar.empty()) j["progress"] = bar;
    if (!id.empty()) j["id"] = id;
    return line(j);
}

Result<void> JsonProgressWriter::stream(std::string_view text) {
    return line(nlohmann::json{{"stream", text}});
}

Result<void> JsonProgressWriter::aux(const nlohmann::json& data) {
    return line(nlohmann::json{{"progressDetail", nlohmann::json::object()}, {"aux", data}});
}

Result<void> JsonProgressWriter::error(std::string_view message) {
    return line(error_line(message));
}

}  // namespace berth::api
