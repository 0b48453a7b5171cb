#pragma once
// One repository on one registry, as the distribution spec's endpoints see it: the seam between
// the HTTP side of the registry client (libcurl, auth, TLS, retries: client/) and what pull and
// push do with images (pull.hpp, push.hpp). Pull and push are written against this interface
// only, so their tests run against an in-memory registry, and the libcurl implementation is
// tested against real registries.
//
// Errors say which registry, repository and digest or tag they are about
// ("127.0.0.1:5000/library/busybox: blob sha256:...: ..."). Codes: NotFound for a missing
// manifest, tag or blob (404 MANIFEST_UNKNOWN / BLOB_UNKNOWN / NAME_UNKNOWN); PermissionDenied
// for 401/403 after authentication was tried; InvalidArgument for answers that break the spec
// (bad digest, wrong size, garbage); Unavailable for timeouts and connection failures that
// survived the retries.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/digest.hpp"
#include "berth/common/result.hpp"

namespace berth::registry {

/// A manifest (or index) as fetched: its exact bytes, the media type the registry gave it
/// (Content-Type, or the manifest's own mediaType field when the header is generic), and the
/// digest of the bytes (checked against Docker-Content-Digest and against a requested digest).
struct FetchedManifest {
    std::string bytes;
    std::string media_type;
    Digest digest;
};

/// What a HEAD says about a blob or manifest.
struct BlobStat {
    Digest digest;
    int64_t size = 0;
    std::string media_type;  ///< manifests only
};

/// Receives a blob's bytes in order, each byte exactly once (a transfer resumed with Range after
/// a broken connection continues where the sink stopped). An error aborts the transfer.
using ByteSink = std::function<Result<void>(std::string_view chunk)>;

/// Produces an upload's bytes: fills up to `cap` bytes at `buf` and returns how many; 0 at the
/// end. An error aborts the upload (the registry's upload session is cancelled).
using ByteSource = std::function<Result<size_t>(char* buf, size_t cap)>;

/// The distribution spec's operations on one repository. Implementations handle authentication
/// (including a scope upgrade from pull to push), redirects and retries themselves.
/// Not thread-safe unless the implementation says so; pull uses one instance per concurrent
/// download (see open_repository()'s clone()).
class Repository {
public:
    virtual ~Repository() = default;

    /// The registry host as references name it ("127.0.0.1:5000", "docker.io").
    [[nodiscard]] virtual const std::string& registry() const = 0;
    /// The repository path on that registry ("library/busybox").
    [[nodiscard]] virtual const std::string& name() const = 0;

    /// A second handle on the same repository sharing credentials and tokens, for another
    /// thread.
    [[nodiscard]] virtual Result<std::unique_ptr<Repository>> clone() const = 0;

    /// GET /v2/<name>/manifests/<tag or digest>, accepting Docker schema 2 and OCI manifests and
    /// indexes. When `reference` is a digest the bytes are checked against it.
    [[nodiscard]] virtual Result<FetchedManifest> get_manifest(std::string_view reference) = 0;

    /// HEAD /v2/<name>/manifests/<tag or digest>; nullopt when the registry says 404.
    [[nodiscard]] virtual Result<std::optional<BlobStat>> stat_manifest(
        std::string_view reference) = 0;

    /// PUT /v2/<name>/manifests/<tag or digest> with Content-Type `media_type`. Returns the
    /// digest the registry reports (checked against the bytes' own).
    [[nodiscard]] virtual Result<Digest> put_manifest(std::string_view reference,
                                                      std::string_view media_type,
                                                      std::string_view bytes) = 0;

    /// HEAD /v2/<name>/blobs/<digest>; nullopt when absent.
    [[nodiscard]] virtual Result<std::optional<BlobStat>> stat_blob(const Digest& digest) = 0;

    /// GET /v2/<name>/blobs/<digest> into `sink`, following redirects (without the
    /// Authorization header to another host) and resuming with Range after a broken transfer.
    /// `expected_size` (-1: unknown) bounds what is accepted. The caller checks the digest of
    /// what it received (it hashes anyway); a size mismatch is an error here.
    [[nodiscard]] virtual Result<void> fetch_blob(const Digest& digest, int64_t expected_size,
                                                  const ByteSink& sink) = 0;

    /// POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<from_repository>: true when the
    /// registry mounted the blob (201); false when it did not (202: the upload session it opened
    /// instead is cancelled).
    [[nodiscard]] virtual Result<bool> mount_blob(const Digest& digest,
                                                  std::string_view from_repository) = 0;

    /// Uploads a blob whose digest and size are known: one monolithic PUT when small, otherwise
    /// chunked PATCHes and the closing PUT ?digest=.
    [[nodiscard]] virtual Result<void> push_blob(const Digest& digest, int64_t size,
                                                 const ByteSource& source) = 0;

    /// Uploads a blob whose digest is known only at the end (a layer compressed while it is
    /// sent): chunked PATCHes of what `source` produces, then PUT ?digest=<digest_at_end()>.
    /// Returns the digest and size that were committed.
    [[nodiscard]] virtual Result<BlobStat> push_blob_streaming(
        const ByteSource& source, const std::function<Digest()>& digest_at_end) = 0;

    /// GET /v2/<name>/tags/list (all pages, following Link headers).
    [[nodiscard]] virtual Result<std::vector<std::string>> tags() = 0;
};

}  // namespace berth::registry
