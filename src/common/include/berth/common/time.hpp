#pragma once
// Times as Go and moby write and read them: the wall clock in unix nanoseconds, Go's
// time.ParseDuration, RFC 3339 (time.RFC3339 / RFC3339Nano) and moby's timestamps for
// `since`, `until` and the `until` filter (api/types/time.GetTimestamp). Every time is an
// int64_t of nanoseconds since the unix epoch, in UTC.

#include <cstdint>
#include <string>
#include <string_view>

#include "berth/common/result.hpp"

namespace berth {

/// Nanoseconds in a second.
inline constexpr int64_t kNanosPerSecond = 1'000'000'000;

/// The current time in nanoseconds since the epoch (CLOCK_REALTIME, so file times and event
/// times compare with it).
[[nodiscard]] int64_t now_unix_nanos() noexcept;

/// Go's time.ParseDuration: an optional sign, then one or more <decimal number><unit> with
/// units ns, us (µs, μs), ms, s, m, h ("1h30m", "1.5s", "-2m", "300ms"); "0" alone needs no
/// unit. Exact integer arithmetic as Go's (no rounding through a double for whole numbers).
/// InvalidArgument with Go's message: `time: invalid duration "<s>"`, `time: missing unit in
/// duration "<s>"` or `time: unknown unit "<u>" in duration "<s>"` (also on overflow).
[[nodiscard]] Result<int64_t> parse_go_duration(std::string_view s);

/// Go's time.Parse(time.RFC3339, s) to unix nanoseconds: "2006-01-02T15:04:05Z", an optional
/// fraction of any length (kept to nanoseconds, further digits dropped), a zone "Z" or
/// "+hh:mm"/"-hh:mm" (required). Like the RFC (and unlike Go) a lower-case 't' or 'z' is
/// accepted. Fields are range-checked as Go does (month, day of that month, hour, minute,
/// second 0-59). InvalidArgument `parsing time "<s>": ...` otherwise, and for a time outside
/// int64 nanoseconds (years 1678-2262), such as Go's zero time "0001-01-01T00:00:00Z".
[[nodiscard]] Result<int64_t> parse_rfc3339(std::string_view s);

/// Formats unix nanoseconds as Go's time.RFC3339Nano in UTC: "2006-01-02T15:04:05.999999999Z"
/// with the fraction's trailing zeros dropped, and no fraction at all when it is zero.
[[nodiscard]] std::string format_rfc3339_nano(int64_t unix_ns);

/// moby's timetypes.GetTimestamp (then ParseTimestamps), as the daemon reads `since`/`until`
/// and the `until` filter:
///   - a Go duration other than "0" ("10m", "1h30m", "-5s"): `now_ns` minus it, truncated to
///     whole seconds (moby formats `reference.Add(-d).Unix()`);
///   - a date: "2006-01-02", then optionally "T15", "T15:04", "T15:04:05" with a fraction
///     ('.' or ','), then optionally a zone "Z" or "±hh:mm"; no zone means UTC (moby uses the
///     daemon's local zone; Berth daemons run in UTC);
///   - unix seconds with an optional fraction: "1700000000", "1700000000.5" (not negative:
///     moby reads a '-' as a date).
/// InvalidArgument otherwise: the date parser's message when `value` has a '-', else
/// `failed to parse value as time or duration: "<value>"`.
[[nodiscard]] Result<int64_t> parse_timestamp(std::string_view value, int64_t now_ns);

}  // namespace berth
