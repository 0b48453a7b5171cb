#pragma once
// Image filters (images/json, images/prune); their times (`until`) are read by
// berth/common/time.hpp. Private to the image module: image_service.cpp compiles an
// ImageFilters into a FilterSet once (resolving before/since to creation times) and asks
// matches() per image.

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
/// InvalidArgument for more than one `until`, or one that berth::parse_timestamp refuses.
[[nodiscard]] Result<FilterSet> compile_filters(const ImageFilters& f,
                                                const std::vector<int64_t>& before_created,
                                                const std::vector<int64_t>& since_created,
                                                int64_t now_ns);

/// Whether `img` passes the filters. With reference filters, `img.record.tags` and
/// `repo_digests` are narrowed to the matching references (as moby's RepoTags are).
/// InvalidArgument for a malformed reference pattern.
[[nodiscard]] Result<bool> matches(const FilterSet& f, Image& img);

}  // namespace berth::image::detail
