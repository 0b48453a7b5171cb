#pragma once
// Sizes, durations and times printed the way docker prints them (go-units and Go's time).
// Parsing and RFC 3339 formatting of times is berth/common/time.hpp.

#include <cstdint>
#include <string>

namespace berth::cli::format {

/// go-units HumanSizeWithPrecision: decimal units (B, kB, MB, ...), `precision` significant
/// digits in Go's %g style: 4260000 -> "4.26MB", 0 -> "0B".
std::string human_size(double bytes, int precision = 3);

/// go-units BytesSize: binary units (B, KiB, MiB, ...), 4 significant digits: "1.5MiB".
std::string bytes_size(double bytes);

/// go-units HumanDuration: "Less than a second", "About a minute", "2 hours", "3 weeks".
std::string human_duration(int64_t nanoseconds);

/// Docker's "created since": HumanDuration(now - t) + " ago"; "N/A" for t == 0.
std::string created_since(int64_t unix_seconds, int64_t now_unix_seconds);

/// Go's time.Time.String() in local time: "2024-01-02 15:04:05 +0000 UTC".
std::string go_time_string(int64_t unix_seconds);

}  // namespace berth::cli::format
