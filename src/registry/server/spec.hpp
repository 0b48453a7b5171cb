#pragma once
// The distribution spec's grammar and error form: repository names, tags, manifest media types,
// and the JSON errors (`{"errors":[{"code":...,"message":...,"detail":...}]}`).

#include <string>
#include <string_view>

#include "http.hpp"

namespace berth::registry::server {

/// A repository name per the spec:
/// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*, at most 255 bytes.
[[nodiscard]] bool valid_repo_name(std::string_view name) noexcept;

/// A tag per the spec: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
[[nodiscard]] bool valid_tag(std::string_view tag) noexcept;

/// True for the manifest and index media types the server stores (OCI and Docker schema 2).
[[nodiscard]] bool known_manifest_type(std::string_view media_type) noexcept;

/// True for the index types (OCI index, Docker manifest list).
[[nodiscard]] bool is_index_type(std::string_view media_type) noexcept;

/// The spec's error codes, each with its HTTP status and message.
enum class Code {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    TagInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
    RangeInvalid,  ///< 416 with BLOB_UPLOAD_INVALID, as distribution answers bad ranges
};

/// An error response: status of `code`, Content-Type application/json, the spec's body with
/// `detail` (a JSON value, or null when empty) and `message` (the code's default when empty).
[[nodiscard]] HttpResponse error_response(Code code, std::string_view message = {},
                                          std::string_view detail_json = {});

}  // namespace berth::registry::server
