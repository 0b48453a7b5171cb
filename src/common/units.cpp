#include "berth/common/units.hpp"

#include <cstdio>

#include <fmt/format.h>
#include <iterator>

namespace berth {
namespace {

// go-units' CustomSize: divide by `base` while it fits, then Go's %.*g, which (like C's) drops
// trailing zeros and switches to an exponent at the same point.
std::string sized(double size, double base, const char* const* units, size_t n, int precision) {
    size_t i = 0;
    while (size >= base && i + 1 < n) {
        size /= base;
        ++i;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g%s", precision, size, units[i]);
    return buf;
}

}  // namespace

std::string human_size(double bytes, int precision) {
    static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
    return sized(bytes, 1000.0, kUnits, std::size(kUnits), precision);
}

std::string bytes_size(double bytes) {
    static const char* const kUnits[] = {"B",   "KiB", "MiB", "GiB", "TiB",
                                         "PiB", "EiB", "ZiB", "YiB"};
    return sized(bytes, 1024.0, kUnits, std::size(kUnits), 4);
}

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

}  // namespace berth
