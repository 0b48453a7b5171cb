#pragma once
// The query string of a request: repeated keys kept in order (`names=a&names=b`,
// `changes=...`), values percent-decoded ('+' is a space), booleans read leniently.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/common/result.hpp"

namespace berth::api {

/// Percent-decodes `s`; with `plus_is_space` a '+' becomes ' ' (form encoding, for queries).
/// Invalid escapes are kept as they are (Go's net/url would refuse them; being lenient costs
/// nothing here).
std::string percent_decode(std::string_view s, bool plus_is_space);

/// The lenient boolean of docker-api.md §4 (moby httputils.BoolValue): "", "0", "no", "false"
/// and "none" in any case and with surrounding spaces are false; anything else is true.
bool lenient_bool(std::string_view value) noexcept;

/// Decoded query parameters of one request.
class Query {
public:
    Query() = default;

    /// Parses a raw query string (the part after '?', without it).
    static Query parse(std::string_view raw);

    /// True if `key` appears at least once (even with an empty value).
    [[nodiscard]] bool has(std::string_view key) const noexcept;

    /// The first value of `key`, or "" when absent (Go's Form.Get).
    [[nodiscard]] std::string get(std::string_view key) const;

    /// Every value of `key`, in order.
    [[nodiscard]] std::vector<std::string> get_all(std::string_view key) const;

    /// lenient_bool() of the first value; false when absent.
    [[nodiscard]] bool get_bool(std::string_view key) const;

    /// lenient_bool() of the first value, or `def` when the key is absent.
    [[nodiscard]] bool get_bool_or(std::string_view key, bool def) const;

    /// The first value as a decimal integer, `def` when absent or empty.
    /// Errors: InvalidArgument naming the key when the value is not an integer.
    [[nodiscard]] Result<int64_t> get_int_or(std::string_view key, int64_t def) const;

    /// All pairs in order (for logging and tests).
    [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& pairs() const noexcept {
        return pairs_;
    }

private:
    std::vector<std::pair<std::string, std::string>> pairs_;
};

}  // namespace berth::api
