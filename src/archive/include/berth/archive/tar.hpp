#pragma once
// Layer tars: apply one to a directory (image layers, `docker cp`, build contexts) and write one
// from a directory (a container's upper layer, `docker commit`, `docker save`).
//
// Apply never writes outside its target. Every path is resolved inside the target
// (openat2(RESOLVE_IN_ROOT) or the user-space walk of common/safe_path.hpp), the final component
// of an entry is never followed, and what a failed apply wrote is removed again. What is refused
// and what is only contained is written down at apply_layer().

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.hpp"

namespace berth::archive {

/// How ".wh.<name>" and ".wh..wh..opq" entries are applied.
enum class WhiteoutMode {
    /// overlayfs form, for a layer directory used as an overlay lower/upper dir: a 0/0 character
    /// device named <name>, and the xattr trusted.overlay.opaque="y" on an opaque directory.
    Overlay,
    /// Delete what they name (flattening layers into one tree, `docker export` of an image).
    Remove,
};

/// What to do with character and block devices in the tar (fifos are always created).
enum class DeviceMode {
    Create,        ///< mknod them; failure is an error.
    CreateOrSkip,  ///< mknod them; skip them when mknod is not permitted (rootless).
    Skip,          ///< never create them.
};

/// Tunables of apply_layer(). The defaults are those of a root daemon unpacking image layers.
struct ApplyOptions {
    WhiteoutMode whiteouts = WhiteoutMode::Overlay;
    DeviceMode devices = DeviceMode::CreateOrSkip;
    /// fchownat() every entry to its uid/gid (+ the offsets below). Callers that are not root
    /// (and not in a user namespace mapping those ids) must turn it off: chown would fail.
    bool preserve_ownership = true;
    /// Added to every uid / gid in the tar (a user-namespaced container's id mapping).
    uint32_t uid_offset = 0;
    uint32_t gid_offset = 0;
    /// security.* xattrs other than security.capability (e.g. SELinux labels) are skipped
    /// unless this is set. trusted.* xattrs from the tar are always skipped: they would be
    /// taken as overlayfs metadata (trusted.overlay.redirect, ...).
    bool allow_security_xattrs = false;
    /// A failing lsetxattr (e.g. user.* on a filesystem without them) is an error when set;
    /// otherwise it is counted in ApplyStats::xattr_failures.
    bool strict_xattrs = false;
    /// Start the disk writes of large files while the layer is still being unpacked
    /// (sync_file_range(SYNC_FILE_RANGE_WRITE), which does not wait), so that a syncfs() at the
    /// end (the durable layer store) finds little left to write. Small files are left to the
    /// syncfs, which batches them better than one write-out each.
    bool start_writeback = false;
};

/// What apply_layer() did.
struct ApplyStats {
    uint64_t entries = 0;          ///< tar entries processed
    uint64_t bytes = 0;            ///< file data bytes written
    uint64_t whiteouts = 0;        ///< .wh.<name> and opaque markers applied
    uint64_t skipped_devices = 0;  ///< devices not created (DeviceMode)
    uint64_t skipped_xattrs = 0;   ///< xattrs not applied by policy (trusted.*, security.*)
    /// xattrs that could not be set, "path: name: reason" (non-strict mode).
    std::vector<std::string> xattr_failures;
};

/// Applies the tar read from `fd` (plain, gzip or zstd, recognised by their magic numbers; read
/// to its end, fd may be a pipe) onto the directory `target_dir`, which is created if missing.
/// A zero-byte input is an empty layer, as for Go's archive/tar.
///
/// Names are cleaned lexically; a leading '/' is dropped (as Docker and containerd do, an
/// absolute name means "from the layer root"). Refused with InvalidArgument naming the entry:
///  - a name or hard-link target that climbs above the root after cleaning ("../x", "a/../../x");
///  - a relative symlink whose target, taken from the symlink's directory, climbs above the root
///    (moby's "invalid symlink" check); absolute symlink targets are fine: they mean the
///    container's root, and are resolved inside the target by every Berth component;
///  - a hard link to a directory or to a name that does not exist (yet) in the target;
///  - an input that is not a tar, a truncated tar, or a whiteout naming "." or "..";
///  - a uid/gid (plus offset) outside 0..2^32-2, when ownership is preserved.
/// Overlay-form whiteouts need CAP_MKNOD and opaque markers CAP_SYS_ADMIN (trusted.* xattr).
/// Contained rather than refused: an entry whose parent path goes through a symlink (also one
/// pointing to "/" or to "../../..") is written where that path resolves INSIDE the target
/// (RESOLVE_IN_ROOT semantics), as it would be seen from inside the container.
///
/// An existing non-directory at an entry's name is replaced (never followed); an existing
/// directory is removed recursively when the entry is not a directory, and kept (with new
/// metadata) when it is. Directories' mtimes are set at the end.
///
/// On failure everything this call created is removed: all of the target's contents when the
/// target was empty or missing at the start (and the target itself if it was missing);
/// otherwise the paths created by this call. Files it replaced or deleted (whiteouts in Remove
/// mode) in a non-empty target cannot be restored.
[[nodiscard]] Result<ApplyStats> apply_layer(int fd, const std::string& target_dir,
                                             const ApplyOptions& opts = {});

/// A source of tar bytes for apply_layer_from(): each call returns the next block (valid until
/// the next call), an empty view at the end, or an error (which apply_layer_from() returns).
using ReadBlockFn = std::function<Result<std::string_view>()>;

/// apply_layer() reading from `next` instead of a file descriptor, so a caller that already
/// holds the bytes in memory (hashing them on another thread) hands them over without a copy.
[[nodiscard]] Result<ApplyStats> apply_layer_from(const ReadBlockFn& next,
                                                  const std::string& target_dir,
                                                  const ApplyOptions& opts = {});

/// Output compression of write_layer().
enum class Compression { None, Gzip, Zstd };

/// Tunables of write_layer().
struct DiffOptions {
    Compression compression = Compression::None;
    /// Turn an overlayfs upper dir into OCI form: a 0/0 character device becomes an empty
    /// ".wh.<name>" file and a directory with trusted.overlay.opaque="y" gets a ".wh..wh..opq"
    /// entry; trusted.overlay.* xattrs are never written.
    bool overlay_whiteouts = true;
    /// Keep mtimes' nanoseconds (a pax header on every entry). Off by default: mtimes are
    /// truncated to seconds, as moby does, so layers stay small and comparable with Docker's.
    bool subsecond_mtimes = false;
    /// Called with the uncompressed tar bytes in order, e.g. to compute the layer's diff-id
    /// while the compressed blob is written. An error stops write_layer() with that error.
    std::function<Result<void>(std::string_view)> on_uncompressed;
};

/// Writes the tree below `dir` (not `dir` itself) to `out_fd` as a PAX tar, in a deterministic
/// order (depth first, the names of each directory sorted bytewise, a directory before its
/// contents): modes, uid/gid (numeric only, no user names), mtimes (see
/// DiffOptions::subsecond_mtimes; no atime/ctime), xattrs (SCHILY.xattr), symlinks, hard links (by
/// device and inode; the first name in order carries the data), devices, fifos and sparse
/// files (holes found with SEEK_HOLE). Sockets are skipped, as Docker does.
[[nodiscard]] Result<void> write_layer(const std::string& dir, int out_fd,
                                       const DiffOptions& opts = {});

}  // namespace berth::archive
