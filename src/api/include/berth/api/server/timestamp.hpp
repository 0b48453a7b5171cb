#pragma once
// Times in queries (`since`, `until` of /events and logs), as moby's timetypes.GetTimestamp
// reads them: unix seconds with optional fraction ("1700000000.123456789"), Go durations
// relative to now ("10m", "1h30m"), or RFC 3339 dates ("2024-01-02", "2024-01-02T15:04:05Z",
// with fraction and offset).

#include <cstdint>
#include <string_view>

#include "berth/common/result.hpp"

namespace berth::api {

/// Nanoseconds since the epoch for `value`; `now_ns` anchors durations.
/// Errors: InvalidArgument naming the value.
[[nodiscard]] Result<int64_t> parse_timestamp(std::string_view value, int64_t now_ns);

/// The current time in nanoseconds since the epoch (CLOCK_REALTIME).
int64_t now_unix_nanos() noexcept;

}  // namespace berth::api
