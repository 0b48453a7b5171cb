#pragma once
// Pull of an image from one repository of a registry into the image service, as moby does it
// (distribution/pull_v2.go; docker-api.md §5.3): manifest by tag or digest, an index resolved to
// one platform's manifest, the config verified, layers already in the layer store skipped, the
// others downloaded `max_concurrent_downloads` at a time and unpacked in order while the next
// ones download. The layer being unpacked streams from its download as the bytes arrive; layers
// that finish before their turn wait in a spill file under <root>/tmp/pull-*.
//
// All or nothing: the image (config and manifest blobs, layer references, tag, repo digest) is
// registered only after every layer is in; a failure leaves no image, no layer this pull
// unpacked, no blob and no spill file. The compressed blob of every layer (diff ID -> digest,
// media type, size, registry, repository) is remembered so that push can skip or mount it.

#include <cstdint>
#include <string>

#include "berth/common/digest.hpp"
#include "berth/common/result.hpp"
#include "berth/image/image_service.hpp"
#include "berth/image/reference.hpp"
#include "berth/registry/repository.hpp"

namespace berth::registry {

struct PullOptions {
    /// "os/arch[/variant]" (`--platform`); empty: the host's.
    std::string platform;
    /// Hears moby's progress messages (docker-api.md §3.3), from several threads but never
    /// concurrently.
    image::ProgressFn progress;
    /// Layers downloaded at once (moby's default 3); each download uses its own clone() of the
    /// repository.
    int max_concurrent_downloads = 3;
};

struct PullResult {
    image::Image image;
    /// The digest the pull resolved: the index's for an index (the "Digest:" line and the
    /// repo digest), else the manifest's.
    Digest digest;
    /// The pulled reference as Docker shows it ("busybox:latest", "busybox@sha256:...").
    std::string reference;
    /// false when the reference already named this image ("Image is up to date for ...").
    bool updated = false;
};

/// Pulls `ref` (normalized; a name without tag or digest means ":latest") from `repo`, which
/// must be the repository `ref` names. Errors name the registry, repository and digest:
/// NotFound for a missing manifest or blob; InvalidArgument for a digest mismatch, a bad
/// manifest or config, a schema 1 manifest (moby's deprecation text) or a layer whose content
/// does not match its diff ID; NotFound "no matching manifest for linux/amd64 in the manifest
/// list entries" when an index has nothing for the platform; the repository's own errors.
[[nodiscard]] Result<PullResult> pull(image::ImageService& images, Repository& repo,
                                      const image::Reference& ref, const PullOptions& opts = {});

/// The platform choice of an index (moby's filterManifests with containerd's platforms.Only):
/// the best match for os/arch/variant, falling back to older variants (arm v8 -> v7 -> v6 ->
/// v5, arm64 -> arm, amd64 -> 386); entries without a platform match anything and rank last;
/// unknown/unknown entries (attestations) never match. `platform` is "os/arch[/variant]" or
/// empty for the host. Returns the index of the chosen entry; NotFound with moby's text.
[[nodiscard]] Result<size_t> choose_platform_manifest(const oci::Index& index,
                                                      std::string_view platform);

}  // namespace berth::registry
