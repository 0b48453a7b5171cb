#pragma once
// Byte sizes written the way Docker writes them (github.com/docker/go-units), for the daemon's
// progress bars and the CLI's tables alike.

#include <cstdint>
#include <string>

namespace berth {

/// go-units HumanSizeWithPrecision: decimal units (B, kB, MB, ...) with `precision` significant
/// digits in Go's %g style. The default 4 is go-units' HumanSize: 1234567 -> "1.235MB",
/// 2000 -> "2kB", 0 -> "0B".
[[nodiscard]] std::string human_size(double bytes, int precision = 4);

/// go-units BytesSize: binary units (B, KiB, MiB, ...), 4 significant digits: "1.5MiB".
[[nodiscard]] std::string bytes_size(double bytes);

/// go-units HumanDuration: "Less than a second", "About a minute", "2 hours", "3 weeks"
/// (container Status texts in the daemon, CREATED columns in the CLI).
[[nodiscard]] std::string human_duration(int64_t nanoseconds);

}  // namespace berth
