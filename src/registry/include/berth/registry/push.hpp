#pragma once
// Push of a tagged image to one repository of a registry, as moby does it
// (distribution/push_v2.go; docker-api.md §5.4): per layer, a compressed blob already known for
// its diff ID is HEADed in the target repository ("Layer already exists") or mounted from
// another repository of the same registry ("Mounted from <repo>"); otherwise the layer tar is
// written from the layer store and gzip-compressed while it is sent ("Pushed"), and its new
// digest remembered. Then the config blob and the manifest (Docker schema 2 for Docker configs,
// OCI for OCI images), put by tag. A pulled image whose stored manifest still describes exactly
// the blobs pushed is pushed with the same manifest bytes, so its digest does not change.

#include <cstdint>
#include <string>

#include "berth/common/digest.hpp"
#include "berth/common/result.hpp"
#include "berth/image/image_service.hpp"
#include "berth/image/reference.hpp"
#include "berth/registry/repository.hpp"

namespace berth::registry {

struct PushOptions {
    /// Hears moby's progress messages (docker-api.md §3.3), never concurrently. The last one is
    /// "<tag>: digest: sha256:... size: N"; the API layer writes the aux line
    /// {"Tag","Digest","Size"} from PushResult.
    image::ProgressFn progress;
    /// Layers pushed at once (moby's default 5).
    int max_concurrent_uploads = 5;
};

/// What was pushed: the aux data of moby's final progress line.
struct PushResult {
    std::string tag;   ///< "latest"
    Digest digest;     ///< the manifest's digest
    int64_t size = 0;  ///< the manifest's size in bytes
};

/// Pushes the local image `tag_ref` (normalized; ":latest" when name-only) to `repo`, which must
/// be the repository `tag_ref` names. NotFound "An image does not exist locally with the tag:
/// <name>" when the tag is not in the store; errors of the registry name the registry,
/// repository and digest; Internal when a layer's tar no longer matches its diff ID.
[[nodiscard]] Result<PushResult> push(image::ImageService& images, Repository& repo,
                                      const image::Reference& tag_ref,
                                      const PushOptions& opts = {});

}  // namespace berth::registry
