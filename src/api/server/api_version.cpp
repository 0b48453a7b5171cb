#include "berth/api/server/api_version.hpp"

#include <charconv>
#include <string_view>

namespace berth::api {

namespace {
// Next dot-separated field as a number; a field that is not a number counts as 0 (moby
// versions.compare uses strconv.Atoi and ignores its error).
int take_field(std::string_view& s) noexcept {
    size_t dot = s.find('.');
    std::string_view f = s.substr(0, dot);
    s = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
    int v = 0;
    auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
    if (ec != std::errc{} || p != f.data() + f.size()) return 0;
    return v;
}
}  // namespace

int compare_api_versions(std::string_view a, std::string_view b) noexcept {
    while (!a.empty() || !b.empty()) {
        int x = take_field(a);
        int y = take_field(b);
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

}  // namespace berth::api
