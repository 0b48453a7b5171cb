#pragma once
// Images as the daemon manages them: the content store (configs, manifests), the layer store
// (unpacked layers, shared by chain ID) and the metadata database (which image uses what, tags,
// repo digests) behind one object. Everything `docker image ...` does ends here: lookup by any
// name Docker accepts, import, tag, delete (with moby's untag/delete rules), prune, history,
// save and load (docker-archive and OCI layout), and the consistency check.
//
// Layout under `root` (the daemon's --data-root):
//   content/sha256/<hex>   image configs and manifests (layers are not kept as blobs)
//   layers/<chain-hex>/    unpacked layers (store/layer_store.hpp), with tar-split data so the
//                          exact layer tar (whose sha256 is the diff ID) can be written back
//   berth.db               metadata (store/metadata_store.hpp)
//
// Crash safety: an image becomes visible only when its metadata row commits, after its config
// blob and its layers are durable and their references acquired (the order in
// metadata_store.hpp). check(true) fixes whatever a crash leaves: reference counts, unused
// layers and blobs, stale ingests and tmp directories.
//
// Thread safety: mutations (import, load, tag, remove, prune, check) are serialised by an
// internal mutex; lookups may run concurrently with them.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/digest.hpp"
#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/image/reference.hpp"
#include "berth/store/layer_store.hpp"
#include "berth/oci/image_spec.hpp"
#include "berth/store/metadata_store.hpp"

namespace berth::image {

/// An image: its metadata row plus its parsed config and the config's exact bytes.
struct Image {
    store::ImageRecord record;
    oci::ImageConfig config;
    std::string raw_config;
};

/// What a progress callback is told (load and import write these as JSON progress lines).
struct Progress {
    std::string id;      ///< line key (12-hex layer ID or a tag); empty for a plain status
    std::string status;  ///< "Loading layer", "Loaded image: busybox:latest", ...
    int64_t current = -1;
    int64_t total = -1;
};
using ProgressFn = std::function<void(const Progress&)>;

struct ImportOptions {
    /// "repo[:tag]" to tag the new image with (the API's `repo` + `tag`); empty: untagged.
    std::string reference;
    std::string message;               ///< becomes the history entry's comment
    std::vector<std::string> changes;  ///< Dockerfile instructions (CMD, ENV, ...), see changes.hpp
    std::string platform;              ///< "os[/arch[/variant]]"; empty: the host's
    ProgressFn progress;
};

/// One line of `DELETE /images/{name}`'s answer: exactly one of the two is set.
struct DeleteItem {
    std::string untagged;  ///< familiar reference, "busybox:latest"
    std::string deleted;   ///< "sha256:<hex>"
};

struct PruneReport {
    std::vector<DeleteItem> deleted;
    uint64_t space_reclaimed = 0;
};

/// Filters of `images/json` and `images/prune`, already decoded from the API's JSON
/// (each key maps to its list of values; see api/filters).
struct ImageFilters {
    std::vector<std::string> reference;  ///< glob on the familiar name[:tag]
    std::optional<bool> dangling;
    std::vector<std::string> label;      ///< "k" or "k=v"
    std::vector<std::string> before;     ///< image names
    std::vector<std::string> since;      ///< image names
    std::vector<std::string> until;      ///< timestamps: unix seconds[.nanos], RFC 3339, or
                                         ///< durations like "10m" relative to now
};

struct LoadResult {
    std::vector<std::string> loaded_tags;  ///< familiar references, "busybox:latest"
    std::vector<Digest> loaded_ids;        ///< images that came without a tag
};

/// One line of `docker history`: newest first; `id` is the image ID for the top entry and
/// "<missing>" for the others (as for pulled images in moby).
struct HistoryEntry {
    std::string id;
    int64_t created = 0;  ///< unix seconds
    std::string created_by;
    std::vector<std::string> tags;  ///< familiar references, on the top entry only
    uint64_t size = 0;              ///< size of the layer this entry made; 0 for empty_layer
    std::string comment;
};

/// What a consistency check found and did (berth system check).
struct ImageCheckReport {
    std::vector<std::string> problems;  ///< one line each, what is wrong and where
    std::vector<std::string> repairs;   ///< one line each, what was done
    [[nodiscard]] bool clean() const noexcept { return problems.empty(); }
};

/// Answers whether a container uses an image (containers come with the containers issue); the
/// service asks before deleting. Returns the ID of one such container (any length; the first 12
/// characters are shown), or nothing. It does not say whether the container runs, so a use is
/// moby's soft conflict ("image is being used by stopped container <id>"): `force` overrides it.
using ImageUseFn = std::function<std::optional<std::string>(const Digest& image_id)>;

struct ImageServiceOptions {
    /// fsync blobs, syncfs layers and use synchronous=FULL. Tests that make many images may
    /// turn it off; the daemon never does.
    bool durable = true;
    /// Unpack layers keeping uid/gid (root daemon). Off when not root.
    bool preserve_ownership = true;
};

/// A private scratch directory under <root>/tmp (pull's spill files): flock()ed while it lives,
/// so ImageService::open() and check() in another process leave it alone, and removed with its
/// contents when destroyed. Move-only.
class StagingDir {
public:
    StagingDir(std::string path, UniqueFd lock) : path_(std::move(path)), lock_(std::move(lock)) {}
    StagingDir(StagingDir&& o) noexcept = default;
    StagingDir& operator=(StagingDir&&) = delete;
    StagingDir(const StagingDir&) = delete;
    StagingDir& operator=(const StagingDir&) = delete;
    ~StagingDir();
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
    UniqueFd lock_;
};

/// A layer a pull holds a reference on until the image is registered (see hold_layer()).
struct HeldLayer {
    store::LayerInfo info;
    bool created = false;  ///< true when this call unpacked it (it was not in the store)
};

/// What a pull registers (commit_pulled_image()).
struct PulledImageSpec {
    std::string raw_config;            ///< the config blob's bytes (digest verified)
    std::string raw_manifest;          ///< the image manifest's bytes (not the index)
    std::vector<Digest> chain_ids;     ///< its layers, bottom first (held by the caller)
    std::optional<Reference> tag;      ///< "name:tag" for a pull by tag
    std::optional<Reference> repo_digest;  ///< "name@<manifest or index digest>"
};

/// What commit_pulled_image() did.
struct PulledImage {
    Image image;
    /// false when the pulled reference already pointed at this image (moby's "Image is up to
    /// date for ..."); true otherwise ("Downloaded newer image for ...").
    bool updated = false;
};

class ImageService {
public:
    /// Opens the stores under `root` (creating them if needed).
    [[nodiscard]] static Result<std::unique_ptr<ImageService>> open(const std::string& root,
                                                                    ImageServiceOptions opts = {});
    ~ImageService();

    /// Finds an image the way moby's GetImage does: a full ID or "sha256:<hex>"; a name
    /// (normalized, ":latest" added when name-only; "name@sha256:" by repo digest, falling
    /// back to the ID when the digest is the config's); then an ID prefix (an ambiguous prefix
    /// is not found). NotFound with moby's text, the familiar reference with ":latest" added to
    /// a bare name: "No such image: busybox:latest", "No such image: sha256:<hex>";
    /// InvalidArgument for an unparsable reference.
    [[nodiscard]] Result<Image> get(std::string_view name) const;

    /// Every image, newest first (by the config's creation time), filtered. With `reference`
    /// filters an image's record.tags / repo_digests hold only the matching references (as
    /// moby's RepoTags do). InvalidArgument for a bad filter; NotFound for a before/since image.
    [[nodiscard]] Result<std::vector<Image>> list(const ImageFilters& filters = {}) const;

    /// Imports a root filesystem tar (plain, gzip or zstd) as a one-layer image, like
    /// `docker import`: config from `opts.changes`, history comment from `opts.message`.
    /// opts.progress hears "Importing" first and, last, the new image's ID as the status (the
    /// API's final `{"status":"sha256:..."}` line). InvalidArgument for bad changes, platform or
    /// reference (checked before anything is unpacked).
    [[nodiscard]] Result<Image> import(int tar_fd, const ImportOptions& opts);

    /// Tags `source` (any name get() takes) as `target` ("repo[:tag]", normalized; ":latest"
    /// when name-only). InvalidArgument for a bad target (e.g. a digest reference).
    [[nodiscard]] Result<Image> tag(std::string_view source, std::string_view target);

    /// `docker rmi` (moby daemon/images/image_delete.go): by a tag, removes the tag and, when it
    /// was the image's last reference, the image; by ID, removes all tags and the image, which
    /// needs `force` when the image has several repositories. A child image or (without
    /// force) a container using it gives Conflict with moby's wording. `prune` (default) also
    /// removes untagged parents. As in moby, "deleted" items name the image ID and then the
    /// chain ID of each layer that was removed with it (layers other images share stay).
    [[nodiscard]] Result<std::vector<DeleteItem>> remove(std::string_view name, bool force,
                                                         bool prune = true,
                                                         const ImageUseFn& in_use = {});

    /// `images/prune`: dangling images (or, with filters.dangling == false, all unused ones).
    [[nodiscard]] Result<PruneReport> prune(const ImageFilters& filters,
                                            const ImageUseFn& in_use = {});

    /// Writes a tarball of the named images to `out_fd`: an OCI image layout (oci-layout,
    /// index.json, blobs/sha256/) that is also a docker-archive (manifest.json, repositories),
    /// as docker 25+ writes. Layers are the exact uncompressed layer tars (digest = diff ID).
    /// NotFound if a name does not resolve; nothing is written then.
    [[nodiscard]] Result<void> save(const std::vector<std::string>& names, int out_fd);

    /// Where save() writes: called once, with the tarball's exact size, after every name has
    /// resolved and before the first byte; returns the descriptor to write it to.
    using SaveOutput = std::function<Result<int>(uint64_t size)>;
    /// The same, to the descriptor `output` gives (an answer with a Content-Length).
    [[nodiscard]] Result<void> save(const std::vector<std::string>& names,
                                    const SaveOutput& output);

    /// Loads a docker-archive (manifest.json) or OCI image layout (index.json) tarball, plain
    /// or compressed, read from `in_fd` to its end. Tags named in the archive are applied
    /// (moved from other images). InvalidArgument naming the entry for a malformed archive;
    /// nothing is left behind on failure.
    [[nodiscard]] Result<LoadResult> load(int in_fd, const ProgressFn& progress = {});

    /// The image's history from its config and its layers' sizes.
    [[nodiscard]] Result<std::vector<HistoryEntry>> history(std::string_view name) const;

    /// A container's root filesystem over the image's layers: a writable overlay with
    /// `upper` and `work` (the layer store's MountSpec; nothing is mounted here).
    [[nodiscard]] Result<store::MountSpec> rootfs_mount(const Image& img, const std::string& upper,
                                                        const std::string& work) const;

    /// Total unpacked size of all layers (system df's LayersSize), each layer once.
    [[nodiscard]] Result<uint64_t> layers_size() const;

    /// Bytes of an image's layers that other images use too (system df's SharedSize, as moby
    /// counts it: layers referenced by more than one image).
    [[nodiscard]] Result<uint64_t> shared_size(const Image& img) const;

    /// fsck of the three stores and of their agreement: layers' ref counts recomputed from
    /// the metadata, layers and blobs no image uses, images whose config or layers are missing.
    /// With `repair`, fixes what can be fixed (an image with missing content is removed).
    [[nodiscard]] Result<ImageCheckReport> check(bool repair);

    // ---- Registry support (registry_support.cpp): the store operations pull and push use.

    /// If the layer `diff_id` on top of `parent` is in the layer store, takes one reference on
    /// it (the pull's lease: a concurrent delete cannot remove it before the image holds it)
    /// and returns it. NotFound if absent. Release with release_layer().
    [[nodiscard]] Result<store::LayerInfo> hold_layer(const std::optional<Digest>& parent,
                                                      const Digest& diff_id);

    /// Unpacks the layer tar read from `tar_fd` (plain, gzip or zstd; a file, pipe or socket,
    /// read to its end; borrowed) on top of `parent`, checked against `diff_id`
    /// (InvalidArgument and nothing kept on a mismatch), and takes one reference on it as
    /// hold_layer() does. The unpack runs without the service's mutex.
    [[nodiscard]] Result<HeldLayer> apply_and_hold_layer(const std::optional<Digest>& parent,
                                                         int tar_fd, const Digest& diff_id);

    /// Drops a reference taken by hold_layer() / apply_and_hold_layer(); with
    /// `remove_if_unused`, then removes the layer if nothing references it (a layer with a
    /// child stays). NotFound if the layer is absent.
    [[nodiscard]] Result<void> release_layer(const Digest& chain, bool remove_if_unused);

    /// Registers a pulled image whose layers the caller holds: config and manifest blobs, layer
    /// references, metadata row, then the tag (moved from another image) and the repo digest.
    /// The caller releases its own holds afterwards. InvalidArgument if the config does not
    /// match the layers.
    [[nodiscard]] Result<PulledImage> commit_pulled_image(const PulledImageSpec& spec);

    /// Remembers compressed blobs of layers on registries (store::LayerBlobRecord).
    [[nodiscard]] Result<void> record_layer_blobs(const std::vector<store::LayerBlobRecord>& recs);

    /// The compressed blobs known for a diff ID, most recently recorded first.
    [[nodiscard]] Result<std::vector<store::LayerBlobRecord>> layer_blobs(
        const Digest& diff_id) const;

    /// The layer with this chain ID (NotFound if absent).
    [[nodiscard]] Result<store::LayerInfo> layer_info(const Digest& chain) const;

    /// Writes a layer's uncompressed tar to `out_fd` (borrowed; a pipe is fine); see
    /// store::LayerStore::write_tar for what a failure midway means.
    [[nodiscard]] Result<Digest> write_layer_tar(const Digest& chain, int out_fd) const;

    /// A blob of the content store (an image's stored manifest). NotFound if absent.
    [[nodiscard]] Result<std::string> read_blob(const Digest& digest) const;

    /// A new StagingDir under <root>/tmp named "<prefix>-<random>".
    [[nodiscard]] Result<StagingDir> make_staging_dir(std::string_view prefix) const;

    /// The data root this service was opened on.
    [[nodiscard]] const std::string& root() const noexcept;

    /// Internals shared by the service's source files (service_impl.hpp); not for callers.

    struct Impl;

private:
    explicit ImageService(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace berth::image
