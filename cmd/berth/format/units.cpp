// go-units durations and Go time formatting, reimplemented (docker prints every age this way);
// sizes are berth/common/units.hpp.

#include "units.hpp"

#include <ctime>

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace berth::cli::format {

std::string created_since(int64_t unix_seconds, int64_t now_unix_seconds) {
    if (unix_seconds == 0) return "N/A";
    return human_duration((now_unix_seconds - unix_seconds) * 1000000000LL) + " ago";
}

std::string go_time_string(int64_t unix_seconds) {
    time_t t = static_cast<time_t>(unix_seconds);
    struct tm tm {};
    localtime_r(&t, &tm);
    char buf[128];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
    return buf;
}

}  // namespace berth::cli::format
