#include "berth/common/units.hpp"

#include <cstdio>
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

}  // namespace berth
