#include "jsonmessage.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>

#include "berth/common/units.hpp"

namespace berth::cli {

using json = nlohmann::json;

namespace {

int64_t int_field(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number()) return 0;
    return it->is_number_float() ? static_cast<int64_t>(it->get<double>()) : it->get<int64_t>();
}

std::string string_field(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Go's time.Duration.String() for whole seconds: "0s", "45s", "2m5s", "1h0m3s".
std::string go_seconds(int64_t s) {
    if (s <= 0) return "0s";
    std::string out;
    if (s >= 3600) out += fmt::format("{}h", s / 3600);
    if (s >= 60) out += fmt::format("{}m", (s % 3600) / 60);
    return out + fmt::format("{}s", s % 60);
}

}  // namespace

std::string json_progress_string(const json& detail, int width, int64_t now_unix) {
    if (!detail.is_object()) return {};
    int64_t current = int_field(detail, "current");
    int64_t total = int_field(detail, "total");
    int64_t start = int_field(detail, "start");
    std::string units = string_field(detail, "units");
    auto hc = detail.find("hidecounts");
    bool hide_counts = hc != detail.end() && hc->is_boolean() && hc->get<bool>();
    if (current <= 0 && total <= 0) return {};
    if (total <= 0) {
        if (units.empty()) return fmt::format("{:>8}", human_size(static_cast<double>(current)));
        return fmt::format("{} {}", current, units);
    }
    int percentage =
        static_cast<int>(static_cast<double>(current) / static_cast<double>(total) * 100) / 2;
    if (percentage > 50) percentage = 50;
    std::string bar;
    if (width > 110) {
        bar = "[" + std::string(static_cast<size_t>(std::max(percentage, 0)), '=') + ">" +
              std::string(static_cast<size_t>(std::max(50 - percentage, 0)), ' ') + "] ";
    }
    std::string numbers;
    if (hide_counts) {
    } else if (units.empty()) {
        std::string cur = human_size(static_cast<double>(current));
        numbers = current > total
                      ? fmt::format("{:>8}", cur)
                      : fmt::format("{:>8}/{}", cur, human_size(static_cast<double>(total)));
    } else {
        numbers = current > total ? fmt::format("{} {}", current, units)
                                  : fmt::format("{}/{} {}", current, total, units);
    }
    std::string time_left;
    if (current > 0 && start > 0 && percentage < 50 && width > 50) {
        // Go computes in nanoseconds: elapsed/current per entry, times what remains.
        double per_entry = static_cast<double>(now_unix - start) / static_cast<double>(current);
        auto left = static_cast<int64_t>(per_entry * static_cast<double>(total - current));
        time_left = " " + go_seconds(left);
    }
    return bar + numbers + time_left;
}

int terminal_width(int fd) {
    struct winsize ws {};
    if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 200;
}

JsonMessagePrinter JsonMessagePrinter::for_fd(int fd, AuxHandler aux) {
    std::FILE* f = fd == 2 ? stderr : stdout;
    bool tty = ::isatty(fd) == 1;
    return JsonMessagePrinter(
        [f](std::string_view s) {
            std::fwrite(s.data(), 1, s.size(), f);
            std::fflush(f);
        },
        tty, terminal_width(fd), std::move(aux));
}

Result<void> JsonMessagePrinter::show(const json& m) {
    if (!m.is_object()) return {};
    if (auto a = m.find("aux"); a != m.end() && !a->is_null()) {
        if (aux_) aux_(*a);
        return {};
    }
    bool has_progress = m.contains("progressDetail") && m["progressDetail"].is_object();
    std::string id = string_field(m, "id");
    unsigned diff = 0;
    if (!id.empty() && (has_progress || !string_field(m, "progress").empty())) {
        auto it = ids_.find(id);
        unsigned line = 0;
        if (it == ids_.end()) {
            // A new id gets a new line at the bottom; the cursor stays below the last line.
            line = static_cast<unsigned>(ids_.size());
            ids_[id] = line;
            if (terminal_) out_("\n");
        } else {
            line = it->second;
        }
        diff = static_cast<unsigned>(ids_.size()) - line;
        if (terminal_ && diff > 0) out_(fmt::format("\x1b[{}A", diff));
    } else {
        // Anything else ends the block of lines being redrawn (pull -a: one per tag).
        ids_.clear();
    }
    auto r = display(m);
    if (!id.empty() && terminal_ && diff > 0) out_(fmt::format("\x1b[{}B", diff));
    return r;
}

Result<void> JsonMessagePrinter::display(const json& m) {
    if (auto e = m.find("errorDetail"); e != m.end() && e->is_object())
        return make_error(Errc::Internal, "{}", string_field(*e, "message"));
    if (std::string e = string_field(m, "error"); !e.empty())
        return make_error(Errc::Internal, "{}", e);
    bool has_progress = m.contains("progressDetail") && m["progressDetail"].is_object();
    std::string stream = string_field(m, "stream");
    std::string status = string_field(m, "status");
    std::string progress_message = string_field(m, "progress");
    std::string endl;
    if (terminal_ && stream.empty() && has_progress) {
        out_("\x1b[2K\r");  // erase the whole line, back to its start
        endl = "\r";
    } else if (has_progress && !json_progress_string(m["progressDetail"], width_, now_).empty()) {
        return {};  // no progress updates without a terminal
    }
    std::string text;
    if (std::string id = string_field(m, "id"); !id.empty()) text += id + ": ";
    if (std::string from = string_field(m, "from"); !from.empty()) text += "(from " + from + ") ";
    if (has_progress && terminal_) {
        int64_t now = now_ != 0 ? now_ : static_cast<int64_t>(std::time(nullptr));
        text += status + " " + json_progress_string(m["progressDetail"], width_, now) + endl;
    } else if (!progress_message.empty()) {
        text += status + " " + progress_message + endl;
    } else if (!stream.empty()) {
        text += stream + endl;
    } else {
        text += status + endl + "\n";
    }
    out_(text);
    return {};
}

}  // namespace berth::cli
