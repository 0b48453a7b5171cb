#pragma once
// Image metadata in SQLite (WAL): which images exist, their layers (chain IDs), their tags and
// repo digests. The image config and manifests themselves are blobs in the content store; the
// unpacked layers are in the layer store. This database is the source of truth for *which* of
// those an image uses, so `system check` can recompute layer reference counts from it and
// find blobs and layers no image needs.
//
// File: <root>/berth.db (journal_mode=WAL, synchronous=FULL, foreign_keys=ON, busy_timeout).
// Every mutation is one transaction, so a crash leaves either the old or the new state.
//
// Ordering that keeps the stores consistent across a crash (callers follow it):
//   create: blobs committed -> layers unpacked and acquire()d -> put_image() commits the row;
//   delete: remove_image() commits -> layers release()d -> unreferenced blobs/layers removed.
// A crash between the steps leaves only extra references or unused blobs and layers, never a
// row that points at something missing; check() in the image service repairs the former.
//
// Thread safety: one MetadataStore may be used from several threads (a connection guarded by a
// mutex; SQLite in serialized mode). Several processes may open the same file (WAL).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/common/digest.hpp"
#include "berth/common/result.hpp"

namespace berth::store {

/// One image as recorded in the database.
struct ImageRecord {
    Digest id;                             ///< the image ID: digest of its config blob
    std::optional<Digest> manifest;        ///< digest of the manifest it came with (load/pull)
    std::vector<Digest> chain_ids;         ///< its layers in the layer store, bottom first
    std::optional<Digest> parent;          ///< moby's "Parent" (local builds); usually none
    int64_t created = 0;                   ///< from the config's "created", unix nanoseconds
    int64_t added = 0;                     ///< when it was stored here, unix nanoseconds
    int64_t last_tag_time = 0;             ///< Metadata.LastTagTime, unix ns; 0 = never
    uint64_t size = 0;                     ///< sum of its layers' unpacked sizes
    std::vector<std::string> tags;         ///< full references "docker.io/library/a:1", sorted
    std::vector<std::string> repo_digests; ///< "docker.io/library/a@sha256:...", sorted
};

/// A compressed blob known to hold a layer on a registry: what a pull fetched or a push uploaded
/// (moby's distribution metadata, "v2metadata-by-diffid"), so that a later push can HEAD the
/// blob or mount it from another repository of the same registry instead of uploading again.
struct LayerBlobRecord {
    Digest diff_id;          ///< the uncompressed layer tar's digest
    Digest digest;           ///< the compressed blob's digest on the registry
    std::string media_type;  ///< the blob's media type ("...rootfs.diff.tar.gzip", ...)
    int64_t size = 0;        ///< the compressed blob's size in bytes
    std::string registry;    ///< the registry host as references name it ("127.0.0.1:5000")
    std::string repository;  ///< the repository path on it ("library/busybox")
};

/// Result of MetadataStore::check(): the database's own invariants.
struct MetadataCheckReport {
    std::vector<std::string> problems;  ///< "integrity_check: ...", "tag x points at missing y"
    bool repaired = false;
    [[nodiscard]] bool clean() const noexcept { return problems.empty(); }
};

/// Test seam: called with each step of a mutation's transaction: "begun" (after BEGIN
/// IMMEDIATE), "written" (all statements done, before COMMIT), "committed". Crash tests kill
/// the process from inside the hook.
using MetadataStepHook = std::function<void(std::string_view step)>;

/// The SQLite metadata database. Move-only; closes the connection in its destructor.
class MetadataStore {
public:
    /// Opens (creating and migrating if needed) <root>/berth.db. Unavailable if the file is
    /// locked beyond the busy timeout; Internal (with SQLite's message) on a corrupt database.
    [[nodiscard]] static Result<MetadataStore> open_root(const std::string& root);

    MetadataStore(MetadataStore&&) noexcept;
    MetadataStore& operator=(MetadataStore&&) noexcept;
    ~MetadataStore();

    /// Inserts or replaces the image row and its layer list (tags and repo digests in the
    /// record are *added*, existing ones kept). One transaction.
    [[nodiscard]] Result<void> put_image(const ImageRecord& rec);

    /// The image with this full ID. NotFound "No such image: sha256:..." if absent.
    [[nodiscard]] Result<ImageRecord> get_image(const Digest& id) const;

    /// Every image, ordered by `added` (newest first), with tags and repo digests filled in.
    [[nodiscard]] Result<std::vector<ImageRecord>> list_images() const;

    /// The image a full reference ("docker.io/library/a:1") is tagged to. NotFound if none.
    [[nodiscard]] Result<Digest> resolve_tag(const std::string& ref) const;

    /// The image with this repo digest ("docker.io/library/a@sha256:..."). NotFound if none.
    [[nodiscard]] Result<Digest> resolve_repo_digest(const std::string& ref) const;

    /// IDs whose hex starts with `hex_prefix` (1..64 lowercase hex characters), at most
    /// `limit` of them (2 is enough to tell unique from ambiguous).
    [[nodiscard]] Result<std::vector<Digest>> find_by_id_prefix(const std::string& hex_prefix,
                                                                size_t limit = 2) const;

    /// Points `ref` at `id` (moving it from another image if needed); sets the image's
    /// last_tag_time to `when_ns`. Returns the image the tag was moved from, if any.
    /// NotFound if the image does not exist.
    [[nodiscard]] Result<std::optional<Digest>> set_tag(const std::string& ref, const Digest& id,
                                                        int64_t when_ns);

    /// Removes a tag. NotFound if it does not exist.
    [[nodiscard]] Result<void> remove_tag(const std::string& ref);

    /// Adds a repo digest to an image (idempotent). NotFound if the image does not exist.
    [[nodiscard]] Result<void> add_repo_digest(const std::string& ref, const Digest& id);

    /// Removes a repo digest. NotFound if it does not exist.
    [[nodiscard]] Result<void> remove_repo_digest(const std::string& ref);

    /// Deletes the image row with its layers, tags and repo digests. NotFound if absent.
    [[nodiscard]] Result<void> remove_image(const Digest& id);

    /// How many images use each chain ID (for recomputing the layer store's ref counts):
    /// pairs of (chain ID, number of images whose layer list contains it).
    [[nodiscard]] Result<std::vector<std::pair<Digest, uint64_t>>> layer_usage() const;

    /// Images whose config names `id` as parent (moby refuses to delete a parent without -f).
    [[nodiscard]] Result<std::vector<Digest>> children(const Digest& id) const;

    /// Remembers compressed blobs of layers (one transaction). A record with the same diff ID,
    /// digest, registry and repository is replaced (and becomes the newest).
    [[nodiscard]] Result<void> put_layer_blobs(const std::vector<LayerBlobRecord>& recs);

    /// The compressed blobs known for a diff ID, most recently recorded first; empty if none.
    [[nodiscard]] Result<std::vector<LayerBlobRecord>> layer_blobs(const Digest& diff_id) const;

    /// PRAGMA integrity_check and foreign-key check; with `repair`, deletes dangling rows.
    [[nodiscard]] Result<MetadataCheckReport> check(bool repair);

    /// Path of the database file.
    [[nodiscard]] const std::string& path() const noexcept;

    /// How many write transactions this store has committed. Unchanged between two calls:
    /// no image, tag or repo digest changed in between (the daemon is the database's only
    /// writer), so what was looked up before is still right (ImageService's lookup cache).
    [[nodiscard]] uint64_t generation() const noexcept;

    /// Installs the crash-test hook (see MetadataStepHook); an empty function removes it.
    void set_step_hook(MetadataStepHook hook);

private:
    struct Impl;
    explicit MetadataStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace berth::store
