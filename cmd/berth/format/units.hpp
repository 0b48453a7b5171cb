#pragma once
// Sizes, durations and times printed the way docker prints them (go-units and Go's time).
// Parsing and RFC 3339 formatting of times is berth/common/time.hpp.

#include <cstdint>
#include <string>

#include "berth/common/units.hpp"

namespace berth::cli::format {

/// Sizes as the docker CLI prints them: berth::human_size with the CLI's precision of 3
/// significant digits unless told otherwise ("4.26MB"); go-units BytesSize as is.
inline std::string human_size(double bytes, int precision = 3) {
    return berth::human_size(bytes, precision);
}
using berth::bytes_size;

using berth::human_duration;

/// Docker's "created since": HumanDuration(now - t) + " ago"; "N/A" for t == 0.
std::string created_since(int64_t unix_seconds, int64_t now_unix_seconds);

/// Go's time.Time.String() in local time: "2024-01-02 15:04:05 +0000 UTC".
std::string go_time_string(int64_t unix_seconds);

}  // namespace berth::cli::format
