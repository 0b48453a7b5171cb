#pragma once
// The layer store: every image layer unpacked once, under its chain ID, and shared by every image
// (and container) that has it. `store` never mounts: rootfs_mount() returns a MountSpec that the
// runtime performs (CONVENTIONS.md, containerd's snapshotters).
//
// Layout under the store's root:
//   <root>/layers/<chain-hex>/diff/       the unpacked tree, whiteouts in overlayfs form
//   <root>/layers/<chain-hex>/meta.json   {"chain_id","diff_id","parent","size","tar_size",
//                                          "created"}
//   <root>/layers/<chain-hex>/tar-split   what it takes to write the layer tar back byte for byte
//                                         from diff/ (archive/tar_split.hpp); absent for layers
//                                         unpacked before it existed
//   <root>/layers/<chain-hex>/refs        reference count, decimal; absent means 0
//   <root>/layers/tmp-<random>/           an apply (or a remove) in progress
//   <root>/layers/.lock                   flock()ed around every read-modify-write of refs and
//                                         around publishing / removing a layer
//
// A layer becomes visible only by the rename of a complete tmp-<random> directory (diff/ and a
// durable meta.json) to <chain-hex>, so a crash leaves either no layer or a whole one, plus a
// tmp-* leftover. An apply holds an flock on its tmp directory, so open_root() (and check())
// remove exactly the leftovers whose owner is gone, even while other processes apply layers.
// A <chain-hex> directory without a valid meta.json is treated as absent (and removed by
// check(true) or replaced by the next apply of that chain).
//
// Reference counts are one small file per layer (`refs`, replaced atomically under the lock):
// independent layers never contend on one file, and a layer's count disappears with it.
//
// ChainID per the OCI image spec (config.md, "Layer ChainID"):
//   ChainID(L0) = DiffID(L0);  ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "berth/archive/tar.hpp"
#include "berth/common/digest.hpp"
#include "berth/common/result.hpp"

namespace berth::store {

/// What the store knows about one unpacked layer (its meta.json plus its reference count).
struct LayerInfo {
    Digest chain_id;
    Digest diff_id;
    std::optional<Digest> parent;  ///< chain ID of the layer below; none for a base layer
    uint64_t size = 0;             ///< bytes of the unpacked tree (file sizes, hard links once)
    std::time_t created = 0;       ///< when the layer was unpacked (seconds since the epoch)
    uint64_t refs = 0;             ///< current reference count
    /// Length of the uncompressed layer tar (what write_tar() writes); 0 when unknown (layers
    /// recorded before it was kept; an empty layer's tar is 0 bytes too).
    uint64_t tar_size = 0;
};

/// A mount for someone else to perform (containerd's mount.Mount). `store` never mounts.
///
/// Overlay descriptions come in three forms; rootfs_mount() returns the first that fits:
///  1. Absolute: one "lowerdir=/abs/top/diff:...:/abs/bottom/diff" option; `chdir` is empty.
///     Used when all options joined with ',' fit in one mount data page (4095 bytes + NUL).
///  2. Relative: as 1, but lowerdir names are "<chain-hex>/diff" relative to `chdir` (the layers
///     directory). The mounter must chdir() there (in a child or a private thread context)
///     before mount(2), exactly like containerd's mount_linux.go does for long lowerdirs.
///  3. Append: one "lowerdir+=/abs/<chain-hex>/diff" option per layer, top layer first (each one
///     appends a layer below the previous). These must be applied one by one with
///     fsconfig(FSCONFIG_SET_STRING, "lowerdir+", path) on an fsopen("overlay") context;
///     Linux 6.8 or later. Used when even form 2 does not fit in a page, or when a path contains
///     ',' or ':' (which the legacy option string cannot carry).
/// upperdir= / workdir= (when given) are always absolute and come after the lower dirs.
struct MountSpec {
    std::string type;                  ///< "overlay" or "bind"
    std::string source;                ///< "overlay", or the directory for a bind mount
    std::vector<std::string> options;  ///< mount options, one per element
    std::string chdir;                 ///< form 2 only: directory lowerdirs are relative to
};

/// Result of LayerStore::check().
struct LayerCheckReport {
    /// <chain-hex> directories that are not a valid layer: missing or garbled meta.json, a
    /// chain ID that differs from the name or from the formula, no diff/ directory.
    std::vector<std::string> invalid;
    /// Layers whose parent layer is missing (kept: an image may still be re-pulled above them).
    std::vector<std::string> orphaned;
    /// Layers whose unpacked tree's size differs from meta.json (modified on disk).
    std::vector<std::string> size_mismatch;
    /// tmp-* leftovers of crashed applies / removes (their owner no longer holds the lock).
    std::vector<std::string> stale_tmps;
    /// Entries of layers/ that are neither a layer, a tmp-* nor the lock file.
    std::vector<std::string> stray;
    bool repaired = false;  ///< true if invalid entries, stale tmps and strays were removed
    [[nodiscard]] bool clean() const noexcept {
        return invalid.empty() && orphaned.empty() && size_mismatch.empty() && stale_tmps.empty() &&
               stray.empty();
    }
};

struct LayerStoreOptions {
    /// How layers are unpacked. The defaults are a root daemon's; a rootless caller turns off
    /// preserve_ownership. whiteouts is always forced to Overlay (diff/ is an overlay lower).
    archive::ApplyOptions apply;
    /// syncfs() the unpacked tree and fsync meta.json before publishing a layer. Tests that
    /// create hundreds of layers turn it off.
    bool durable = true;
};

/// The layers of one store root. Cheap to copy (paths and options); safe to use from several
/// processes at once (renames are atomic, refs updates are serialised by layers/.lock).
class LayerStore {
public:
    /// Opens (creating if needed) <root>/layers and removes tmp-* leftovers whose owner is gone.
    [[nodiscard]] static Result<LayerStore> open_root(std::string root,
                                                      LayerStoreOptions opts = {});

    /// The OCI chain ID of `diff_id` on top of `parent` (none: a base layer).
    [[nodiscard]] static Digest chain_id(const std::optional<Digest>& parent,
                                         const Digest& diff_id);

    /// Unpacks the layer tar read from `tar_fd` (plain, gzip or zstd; read to its end; borrowed)
    /// on top of `parent_chain`, computing its diff-id from the uncompressed bytes. If
    /// `expected_diff_id` is given and differs: InvalidArgument and nothing is left behind. If
    /// the resulting chain already exists, the new tree is dropped and the existing layer is
    /// returned (callers should try lookup() first, to avoid reading the blob at all).
    /// NotFound if `parent_chain` is not in the store. The reference count is not changed.
    [[nodiscard]] Result<LayerInfo> apply(const std::optional<Digest>& parent_chain, int tar_fd,
                                          std::optional<Digest> expected_diff_id = {}) const;

    /// Writes the layer's uncompressed tar, exactly as it was applied (its sha256 is the diff
    /// ID), to `out_fd` (borrowed; file, pipe or socket), and returns its digest. The payloads of
    /// regular files come from diff/, everything else from the layer's tar-split. A layer without
    /// tar-split (unpacked before it was recorded) is written by archive::write_layer(), which
    /// gives the same bytes only if the layer was made by write_layer() in the first place.
    /// NotFound if the layer is absent. Internal "layer <chain>: reproduced tar has digest X,
    /// expected diff ID Y" (or naming the file) when diff/ was changed since it was unpacked:
    /// part of the tar may have been written to `out_fd` by then, so a caller streaming to a
    /// client must abort that stream, not append to it.
    [[nodiscard]] Result<Digest> write_tar(const Digest& chain, int out_fd) const;

    /// The layer `diff_id` on top of `parent`, if already unpacked (NotFound otherwise).
    [[nodiscard]] Result<LayerInfo> lookup(const std::optional<Digest>& parent,
                                           const Digest& diff_id) const;

    /// The layer with this chain ID. NotFound if absent (or its meta.json is not valid).
    [[nodiscard]] Result<LayerInfo> info(const Digest& chain) const;

    /// True if a valid layer with this chain ID exists.
    [[nodiscard]] bool exists(const Digest& chain) const noexcept;

    /// Increments the persistent reference count; returns the new count. NotFound if absent.
    [[nodiscard]] Result<uint64_t> acquire(const Digest& chain) const;

    /// Decrements the reference count; returns the new count. NotFound if absent; Conflict if
    /// the count is already 0.
    [[nodiscard]] Result<uint64_t> release(const Digest& chain) const;

    /// Deletes an unreferenced layer that no other layer has as parent (Conflict otherwise;
    /// NotFound if absent). The directory is first renamed to tmp-*, so the layer vanishes
    /// atomically and a crash mid-delete leaves only a leftover for open_root() to remove.
    [[nodiscard]] Result<void> remove(const Digest& chain) const;

    /// Every valid layer, sorted by chain ID.
    [[nodiscard]] Result<std::vector<LayerInfo>> list() const;

    /// The root filesystem view of a stack of layers, `chain_ids` from bottom to top (each must
    /// exist). With `upper` and `work` (both or neither) a container's writable overlay, with
    /// the image's init layer (init_layer()) over its layers; without them a read-only view
    /// of the layers: an overlay, or for a single layer a read-only bind mount
    /// {"bind", <diff dir>, {"rbind", "ro"}}. See MountSpec for the three overlay forms.
    [[nodiscard]] Result<MountSpec> rootfs_mount(const std::vector<Digest>& chain_ids,
                                                 const std::string& upper = {},
                                                 const std::string& work = {}) const;

    /// moby's init layer for the image whose layers are `chain_ids` (bottom to top): the mount
    /// points a container's runtime binds over (/etc/hosts, /etc/hostname, /etc/resolv.conf,
    /// /dev/console, /proc, /sys, /dev/pts, /dev/shm), /.dockerenv and /etc/mtab -> /proc/mounts.
    /// Made once, in the top layer's directory (<layers>/<chain>/init), and returned after.
    [[nodiscard]] Result<std::string> init_layer(const std::vector<Digest>& chain_ids) const;

    /// fsck of the layers: meta.json against the directory (name, chain formula, size), parents
    /// present, tmp-* leftovers, strays. With `repair`, removes invalid layers, stale tmps and
    /// strays (never a valid layer).
    [[nodiscard]] Result<LayerCheckReport> check(bool repair) const;

    /// <root>/layers.
    [[nodiscard]] const std::string& layers_dir() const noexcept { return dir_; }

    /// <root>/layers/<chain-hex>/diff: the unpacked tree (whether or not it exists).
    [[nodiscard]] std::string diff_path(const Digest& chain) const;

private:
    LayerStore(std::string dir, LayerStoreOptions opts)
        : dir_(std::move(dir)), opts_(std::move(opts)) {}
    Result<LayerInfo> read_meta(const std::string& hex) const;
    Result<uint64_t> adjust_refs(const Digest& chain, int delta) const;
    Result<std::vector<std::string>> remove_stale_tmps(bool repair) const;

    std::string dir_;
    LayerStoreOptions opts_;
};

}  // namespace berth::store
