#pragma once
// Image filters (images/json, images/prune) and the time formats they and image configs use.
// Private to the image module: image_service.cpp compiles an ImageFilters into a FilterSet once
// (resolving before/since to creation times) and asks matches() per image.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/image/image_service.hpp"

namespace berth::image::detail {

/// Go's path.Match: '*' any run of non-'/' characters, '?' one non-'/' character, '[...]' a
/// class ('^' negates, 'a-z' ranges), '\\' escapes. InvalidArgument "syntax error in pattern"
/// for a malformed pattern (Go's ErrBadPattern), whether or not the name would match.
[[nodiscard]] Result<bool> path_match(std::string_view pattern, std::string_view name);

/// distribution/reference FamiliarMatch: the pattern against the familiar string of `full_ref`
/// ("busybox:latest", "localhost:5000/a@sha256:..."), then against its familiar name alone.
/// `full_ref` is a stored reference ("docker.io/library/busybox:latest").
[[nodiscard]] Result<bool> familiar_match(std::string_view pattern, std::string_view full_ref);

/// moby's MatchKVList for "label": every filter ("k" or "k=v") must hold in `labels`.
[[nodiscard]] bool match_labels(const std::vector<std::string>& filters,
                                const std::map<std::string, std::string>& labels);

/// Parses RFC 3339 ("2024-01-02T03:04:05.123456789Z", "+02:00" offsets) into unix nanoseconds.
/// nullopt for anything else (Go's zero time: an image without "created").
[[nodiscard]] std::optional<int64_t> parse_rfc3339_ns(std::string_view s);

/// Formats unix nanoseconds as Go's time.RFC3339Nano in UTC (trailing zeros of the fraction
/// dropped): "2024-01-02T03:04:05.1234Z".
[[nodiscard]] std::string format_rfc3339_nano(int64_t ns);

/// The current time in unix nanoseconds (CLOCK_REALTIME).
[[nodiscard]] int64_t now_ns() noexcept;

/// Go's time.ParseDuration ("1h30m", "1.5s", "300ms", "-2m", "0") in nanoseconds.
/// InvalidArgument `time: invalid duration "<s>"` (or "unknown unit") otherwise.
[[nodiscard]] Result<int64_t> parse_go_duration(std::string_view s);

/// moby's timestamp.GetTimestamp for `until` (and events' since/until): a Go duration
/// ("10m", "1h30m", "1.5h") subtracted from `now_ns`; unix seconds with optional fraction
/// ("1700000000", "1700000000.5"); or RFC 3339 / "2006-01-02T15:04:05[.frac]" /
/// "2006-01-02" (UTC when no zone is given). InvalidArgument otherwise.
[[nodiscard]] Result<int64_t> parse_timestamp(std::string_view value, int64_t now_ns);

/// An ImageFilters made ready for matching.
struct FilterSet {
    std::vector<std::string> reference;
    std::optional<bool> dangling;
    std::vector<std::string> labels;
    std::optional<int64_t> before_ns;  ///< keep images created strictly before
    std::optional<int64_t> since_ns;   ///< keep images created strictly after
    std::optional<int64_t> until_ns;   ///< keep images created at or before
};

/// Builds a FilterSet: `before` and `since` are the creation times (ns) of the images the
/// filters name (the caller resolves them; the most restrictive wins when several are given).
/// InvalidArgument for more than one `until`, or one that does not parse.
[[nodiscard]] Result<FilterSet> compile_filters(const ImageFilters& f,
                                                const std::vector<int64_t>& before_created,
                                                const std::vector<int64_t>& since_created,
                                                int64_t now_ns);

/// Whether `img` passes the filters. With reference filters, `img.record.tags` and
/// `repo_digests` are narrowed to the matching references (as moby's RepoTags are).
/// InvalidArgument for a malformed reference pattern.
[[nodiscard]] Result<bool> matches(const FilterSet& f, Image& img);

}  // namespace berth::image::detail
