#pragma once
// The json-file log driver's on-disk format, byte for byte as moby writes it
// (daemon/logger/jsonfilelog/jsonlog/jsonlogbytes.go): one JSON object per line,
//   {"log":"hello\n","stream":"stdout","time":"2026-11-24T05:00:00.123456789Z"}
// with an optional "attrs" object between "stream" and "time". "log" holds the line with its
// "\n"; a partial line (no newline yet at the end of the stream, or a 16 KiB piece of a longer
// line) has none. Strings are escaped as moby's ffjson-derived writer does: Go's encoding/json
// with HTML escaping, '\n' and '\r' as short escapes, every other control byte as \u00XX, each
// byte of invalid UTF-8 as \ufffd, and U+2028/U+2029 escaped.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace berth::logfile {

/// Which output of the container a line came from.
enum class Stream : uint8_t { Stdout, Stderr };

/// "stdout" or "stderr", as in the "stream" field.
[[nodiscard]] std::string_view stream_name(Stream s) noexcept;

/// moby splits longer lines into partial entries of this many bytes (logger.copier's bufSize).
inline constexpr size_t kMaxLineBytes = 16 * 1024;

/// Appends `s` as a quoted JSON string with moby's escaping (see the file comment).
void append_json_string(std::string& out, std::string_view s);

/// Appends one whole entry, the final '\n' included. The "log" field is `log` followed by a
/// "\n" when `newline` (a complete line); it is omitted when that is empty, as moby's omitempty
/// does. `attrs_json` is an already-encoded JSON object ("{...}") or empty for none.
void append_entry(std::string& out, std::string_view log, bool newline, Stream stream,
                  int64_t time_ns, std::string_view attrs_json);

/// The same with the time already formatted by berth::format_rfc3339_nano (the Writer formats
/// it once for all the lines of one read).
void append_entry(std::string& out, std::string_view log, bool newline, Stream stream,
                  std::string_view time_rfc3339, std::string_view attrs_json);

/// Encodes extra attributes as Go's json.Marshal of a map[string]string: keys sorted, strings
/// escaped as append_json_string does. Empty map -> "".
[[nodiscard]] std::string encode_attrs(const std::map<std::string, std::string>& attrs);

/// The time as `docker logs --timestamps` prints it (moby's jsonmessage.RFC3339NanoFixed in
/// UTC): always 9 fraction digits, "2026-11-24T05:00:00.100000000Z". The file itself uses
/// berth::format_rfc3339_nano (trailing zeros trimmed).
[[nodiscard]] std::string format_timestamp(int64_t unix_ns);

}  // namespace berth::logfile
