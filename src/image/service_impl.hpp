#pragma once
// ImageService's internals, shared by its source files: image_service.cpp (lookup, import, tag,
// delete, prune, check, history), save.cpp and load.cpp (archives).

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "berth/image/image_service.hpp"
#include "berth/store/content_store.hpp"
#include "berth/store/layer_store.hpp"
#include "berth/store/metadata_store.hpp"

namespace berth::image {

struct ImageService::Impl {
    std::string root;
    ImageServiceOptions opts;
    store::ContentStore content;
    store::LayerStore layers;
    store::MetadataStore meta;
    /// Serialises mutations (add_image, tag, remove, prune, check). Lookups don't take it.
    mutable std::mutex mu;

    /// Registers an image whose layers are already in the layer store (`chain_ids`, bottom
    /// first, matching the config's rootfs.diff_ids): stores the config blob (and the manifest
    /// blob, when given, recorded as the image's manifest), acquires one reference on each
    /// layer, commits the metadata row, then points each of `tags` at it (moving them from
    /// other images). An image that already exists keeps its row and references and only gets
    /// the tags. The caller holds `mu`. InvalidArgument if the config does not parse or its
    /// diff IDs do not match the layers.
    Result<Image> add_image(std::string_view raw_config,
                            const std::optional<std::string>& raw_manifest,
                            const std::vector<Digest>& chain_ids,
                            const std::vector<Reference>& tags);

    /// Loads one image by its full ID (record + parsed config). NotFound if absent.
    Result<Image> load_image(const Digest& id) const;

    /// get()'s lookup, uncached: a reference, an ID or an ID prefix.
    Result<Image> lookup(std::string_view name) const;

    /// get()'s answers by name, valid while meta.generation() is the one they were found at
    /// (no image, tag or repo digest written since). `run` looks its image up twice (create,
    /// then start), and each lookup costs a reference parse, four or five SQLite queries, a
    /// blob read and a JSON parse: a quarter of a millisecond, a few percent of the run.
    struct CachedImage {
        uint64_t generation = 0;
        Image image;
    };
    static constexpr size_t kCacheEntries = 64;  ///< then it starts over: a few KiB each
    mutable std::mutex cache_mu;
    mutable std::unordered_map<std::string, CachedImage> cache;
};

}  // namespace berth::image
