#include "berth/api/server/request.hpp"

#include <strings.h>

#include "berth/api/server/api_version.hpp"

namespace berth::api {

Result<std::string> read_all(BodyReader& r, size_t limit) {
    std::string out;
    char buf[16384];
    for (;;) {
        size_t n = BERTH_TRY(r.read(std::span<char>(buf, sizeof buf)));
        if (n == 0) return out;
        if (out.size() + n > limit)
            return make_error(Errc::InvalidArgument, "request body larger than {} bytes", limit);
        out.append(buf, n);
    }
}

std::optional<std::string> Request::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
    }
    return std::nullopt;
}

std::string Request::var(std::string_view name) const {
    auto it = vars.find(std::string(name));
    return it == vars.end() ? std::string{} : it->second;
}

bool Request::version_at_least(std::string_view v) const noexcept {
    return compare_api_versions(api_version, v) >= 0;
}

Result<nlohmann::json> Request::json_body(bool allow_empty, size_t limit) {
    std::string text = BERTH_TRY_CTX(read_all(body(), limit), "read request body");
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
        if (allow_empty) return nlohmann::json(nullptr);
        return make_error(Errc::InvalidArgument, "invalid JSON: request body is empty");
    }
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        return make_error(Errc::InvalidArgument, "invalid JSON: {}", e.what());
    }
}

Result<Filters> Request::filters() const {
    return Filters::parse(query.get("filters"));
}

}  // namespace berth::api
