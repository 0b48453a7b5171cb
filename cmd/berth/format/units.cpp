// go-units durations and Go time formatting, reimplemented (docker prints every age this way);
// sizes are berth/common/units.hpp.

#include "units.hpp"

#include <ctime>

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace berth::cli::format {

std::string human_duration(int64_t ns) {
    int64_t seconds = ns / 1000000000;
    if (seconds < 1) return "Less than a second";
    if (seconds == 1) return "1 second";
    if (seconds < 60) return fmt::format("{} seconds", seconds);
    int64_t minutes = seconds / 60;
    if (minutes == 1) return "About a minute";
    if (minutes < 60) return fmt::format("{} minutes", minutes);
    // d.Round(time.Hour): halves round away from zero.
    int64_t hour_ns = 3600LL * 1000000000LL;
    int64_t hours = (ns + hour_ns / 2) / hour_ns;
    if (hours == 1) return "About an hour";
    if (hours < 48) return fmt::format("{} hours", hours);
    if (hours < 24 * 7 * 2) return fmt::format("{} days", hours / 24);
    if (hours < 24 * 30 * 2) return fmt::format("{} weeks", hours / 24 / 7);
    if (hours < 24 * 365 * 2) return fmt::format("{} months", hours / 24 / 30);
    return fmt::format("{} years", ns / hour_ns / 24 / 365);
}

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
