#include "berth/api/server/query.hpp"

#include <algorithm>
#include <cctype>

#include "berth/common/strings.hpp"

namespace berth::api {

namespace {
int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

std::string percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%' && i + 2 < s.size()) {
            int hi = hex_value(s[i + 1]);
            int lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(plus_is_space && c == '+' ? ' ' : c);
    }
    return out;
}

bool lenient_bool(std::string_view value) noexcept {
    std::string v(trim(value));
    std::transform(v.begin(), v.end(), v.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return !(v.empty() || v == "0" || v == "no" || v == "false" || v == "none");
}

Query Query::parse(std::string_view raw) {
    Query q;
    while (!raw.empty()) {
        size_t amp = raw.find('&');
        std::string_view part = raw.substr(0, amp);
        raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
        if (part.empty()) continue;
        size_t eq = part.find('=');
        std::string key = percent_decode(part.substr(0, eq), true);
        std::string value = eq == std::string_view::npos
                                ? std::string{}
                                : percent_decode(part.substr(eq + 1), true);
        q.pairs_.emplace_back(std::move(key), std::move(value));
    }
    return q;
}

bool Query::has(std::string_view key) const noexcept {
    return std::any_of(pairs_.begin(), pairs_.end(), [&](const auto& p) { return p.first == key; });
}

std::string Query::get(std::string_view key) const {
    for (const auto& [k, v] : pairs_)
        if (k == key) return v;
    return {};
}

std::vector<std::string> Query::get_all(std::string_view key) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : pairs_)
        if (k == key) out.push_back(v);
    return out;
}

bool Query::get_bool(std::string_view key) const {
    return lenient_bool(get(key));
}

bool Query::get_bool_or(std::string_view key, bool def) const {
    return has(key) ? lenient_bool(get(key)) : def;
}

Result<int64_t> Query::get_int_or(std::string_view key, int64_t def) const {
    std::string v = get(key);
    if (v.empty()) return def;
    auto n = parse_int(v);
    if (!n)
        return make_error(Errc::InvalidArgument, "invalid value for {}: \"{}\" is not an integer",
                          key, v);
    return *n;
}

}  // namespace berth::api
