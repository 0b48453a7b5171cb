#pragma once
// The `filters` query parameter (moby api/types/filters.Args): a map key -> values, sent as
// JSON in two encodings, both accepted (docker-api.md §4):
//   {"label":{"a=b":true}}   (the Go CLI)        {"label":["a=b"]}   (docker-py, old clients)
// and an empty string for "no filters".

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.hpp"

namespace berth::api {

/// Decoded filters with moby's matching helpers. A key that is absent matches everything.
class Filters {
public:
    Filters() = default;

    /// Parses the JSON text of a `filters` parameter ("" or "{}" give no filters).
    /// Errors: InvalidArgument "invalid filter: ..." on bad JSON or a value of the wrong shape.
    [[nodiscard]] static Result<Filters> parse(std::string_view json_text);

    /// Adds one value (used to turn legacy parameters into filters, and by tests).
    void add(const std::string& key, const std::string& value);

    [[nodiscard]] bool empty() const noexcept { return args_.empty(); }
    [[nodiscard]] bool contains(std::string_view key) const noexcept;

    /// The values of `key` (empty when absent), sorted.
    [[nodiscard]] std::vector<std::string> get(std::string_view key) const;

    /// The keys present, sorted.
    [[nodiscard]] std::vector<std::string> keys() const;

    /// Errors: InvalidArgument "invalid filter '<key>'" for the first key not in `accepted`
    /// (moby's Args.Validate wording).
    [[nodiscard]] Result<void> validate(std::initializer_list<std::string_view> accepted) const;

    /// True if `key` is absent or `source` equals one of its values.
    [[nodiscard]] bool exact_match(std::string_view key, std::string_view source) const;

    /// True if `key` is absent or a value equals `source` or is a prefix of it (IDs).
    [[nodiscard]] bool fuzzy_match(std::string_view key, std::string_view source) const;

    /// Label-style match: true if `key` is absent, or every value ("k" or "k=v") is satisfied
    /// by `labels` (a "k" value only needs the key to exist).
    [[nodiscard]] bool match_kv_list(std::string_view key,
                                     const std::map<std::string, std::string>& labels) const;

    /// For boolean filters such as `dangling`: nullopt-like tri-state through `present`.
    /// Errors: InvalidArgument "invalid filter '<key>=<value>'" if a value is neither true nor
    /// false (moby's wording), or if both appear.
    [[nodiscard]] Result<bool> get_bool(std::string_view key, bool& present) const;

    /// The underlying map (values de-duplicated and sorted).
    [[nodiscard]] const std::map<std::string, std::vector<std::string>, std::less<>>& args()
        const noexcept {
        return args_;
    }

private:
    std::map<std::string, std::vector<std::string>, std::less<>> args_;
};

}  // namespace berth::api
