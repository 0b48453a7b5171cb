#pragma once
// Small string helpers shared by every module.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

/// Splits on every `sep`; keeps empty fields.
std::vector<std::string> split(std::string_view s, char sep);

/// Strips ASCII whitespace at both ends.
std::string_view trim(std::string_view s) noexcept;

/// Parses a whole string as a signed/unsigned decimal integer; nullopt if not one.
std::optional<int64_t> parse_int(std::string_view s) noexcept;
std::optional<uint64_t> parse_uint(std::string_view s) noexcept;

/// Escapes a string for the inside of a JSON string literal.
std::string json_escape(std::string_view s);

/// Percent-encodes `s` (uppercase hex, byte by byte), keeping ASCII letters, digits and the
/// characters in `keep`; with `space_as_plus`, ' ' becomes '+' (a query's form, Go's
/// url.QueryEscape) rather than "%20".
std::string percent_encode(std::string_view s, std::string_view keep, bool space_as_plus = false);

/// Joins with a separator.
std::string join(const std::vector<std::string>& parts, std::string_view sep);

}  // namespace berth
