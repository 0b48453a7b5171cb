#pragma once
// Image references as Docker parses them (github.com/distribution/reference: regexp.go,
// reference.go, normalize.go), so that every name a Docker user types means the same image here.
//
//   busybox                     -> docker.io/library/busybox            (familiar: busybox)
//   docker.io/busybox:1.36      -> docker.io/library/busybox:1.36
//   localhost:5000/a/b:tag      -> localhost:5000/a/b:tag
//   name:tag@sha256:<hex>       -> docker.io/library/name:tag@sha256:<hex>
//
// Image IDs: a bare 64-character lowercase hex string is always an image ID, never a name
// (ParseNormalizedNamed rejects it; ParseAnyReference turns it into "sha256:<hex>"). A name
// with a domain ("docker.io/<64 hex>") is a name. A shorter hex string ("3f5e", the CLI's
// 12-character IDs) is a valid name too; the daemon (moby daemon/images GetImage) first looks it
// up as a name and only then as a unique ID prefix of any length >= 1 (moby's digestset); see
// is_id_prefix().
//
// Errors are InvalidArgument with Docker's own message text ("invalid reference format",
// "repository name must be lowercase", ...), so the API can pass it through unchanged;
// Unsupported for a digest algorithm other than sha256 and sha512 (Docker also accepts sha384).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "berth/common/digest.hpp"
#include "berth/common/result.hpp"

namespace berth::image {

inline constexpr std::string_view kDefaultDomain = "docker.io";
inline constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
inline constexpr std::string_view kOfficialRepoPrefix = "library/";
inline constexpr std::string_view kDefaultTag = "latest";
/// Maximum length of the name part (domain + "/" + path), as NameTotalLengthMax.
inline constexpr size_t kNameTotalLengthMax = 255;

/// A named reference: [domain/]path[:tag][@digest]. Value type.
class Reference {
public:
    /// Parses strictly, without normalization (distribution's Parse): "busybox" has an empty
    /// domain and path "busybox". A reference without a name ("@sha256:...") is invalid.
    [[nodiscard]] static Result<Reference> parse(std::string_view s);

    /// Parses what a user types (ParseNormalizedNamed): adds docker.io and library/, maps
    /// index.docker.io to docker.io, rejects a bare 64-hex string (an ID) and uppercase names.
    [[nodiscard]] static Result<Reference> parse_normalized(std::string_view s);

    /// parse_normalized(), then Docker's pull/run rule (ParseDockerRef): a name-only reference
    /// gets the tag "latest"; a reference with tag and digest keeps only the digest.
    [[nodiscard]] static Result<Reference> parse_docker(std::string_view s);

    /// "docker.io", "localhost:5000"; empty for a non-normalized reference without a domain.
    [[nodiscard]] const std::string& domain() const noexcept { return domain_; }
    /// "library/busybox".
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] const std::optional<std::string>& tag() const noexcept { return tag_; }
    [[nodiscard]] const std::optional<Digest>& digest() const noexcept { return digest_; }
    /// True if neither tag nor digest is set.
    [[nodiscard]] bool name_only() const noexcept { return !tag_ && !digest_; }

    /// "docker.io/library/busybox" (domain/path, or path alone when there is no domain).
    [[nodiscard]] std::string name() const;
    /// The whole reference: name[:tag][@digest] ("docker.io/library/busybox:latest").
    [[nodiscard]] std::string string() const;
    /// The name as Docker shows it: docker.io and a single-level library/ dropped ("busybox",
    /// "dmcgowan/app", "localhost:5000/a/b", "library/foo/bar").
    [[nodiscard]] std::string familiar_name() const;
    /// familiar_name()[:tag][@digest].
    [[nodiscard]] std::string familiar_string() const;

    /// A copy with the default tag added if the reference is name-only (TagNameOnly).
    [[nodiscard]] Reference with_default_tag() const;
    /// A copy with `tag` (validated: [\w][\w.-]{0,127}), keeping the digest. InvalidArgument.
    [[nodiscard]] Result<Reference> with_tag(std::string_view tag) const;
    /// A copy with `d` as digest, keeping the tag.
    [[nodiscard]] Reference with_digest(const Digest& d) const;
    /// A copy with only the name.
    [[nodiscard]] Reference name_reference() const;

    friend bool operator==(const Reference&, const Reference&) = default;

private:
    Reference() = default;
    std::string domain_;
    std::string path_;
    std::optional<std::string> tag_;
    std::optional<Digest> digest_;
};

/// What a user may pass where Docker takes "image": an image ID (as a digest) or a name.
using AnyReference = std::variant<Digest, Reference>;

/// ParseAnyReference: a bare 64-hex string or a "sha256:<hex>" digest is an ID; anything else is
/// parsed with Reference::parse_normalized().
[[nodiscard]] Result<AnyReference> parse_any_reference(std::string_view s);

/// True for a full image ID: exactly 64 lowercase hex characters.
[[nodiscard]] bool is_full_id(std::string_view s) noexcept;

/// True if `s` can be looked up as an image ID prefix: 1..64 lowercase hex characters, with or
/// without "sha256:". Callers try it as a name first (Docker's order).
[[nodiscard]] bool is_id_prefix(std::string_view s) noexcept;

/// True if `s` is a valid tag ([\w][\w.-]{0,127}).
[[nodiscard]] bool is_valid_tag(std::string_view s);

}  // namespace berth::image
