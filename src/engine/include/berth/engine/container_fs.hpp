#pragma once
// A container's filesystem as `docker export`, `docker diff` and `docker cp` see it (moby
// daemon/export.go, daemon/changes.go, daemon/archive.go, pkg/archive/changes.go).
//
// The free functions work on plain directories (a mounted rootfs, an overlay upper dir and its
// lower dirs), so they are unit tested without containers; ContainerFs binds them to
// ContainerService::with_rootfs() and the container's record. Paths inside a rootfs are always
// resolved below it (open_in_root: RESOLVE_IN_ROOT semantics), never from a host path string.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "berth/archive/tar.hpp"
#include "berth/common/result.hpp"
#include "berth/engine/containers.hpp"
#include "berth/image/image_service.hpp"

namespace berth::engine {

/// moby's archive.ChangeType: the Kind of GET /containers/{id}/changes.
enum class ChangeKind { Modify = 0, Add = 1, Delete = 2 };

/// One line of `docker diff` ("C /etc", "A /x", "D /y").
struct FsChange {
    std::string path;  ///< absolute, as seen in the container
    ChangeKind kind = ChangeKind::Modify;
    bool operator==(const FsChange&) const = default;
};

/// lstat of a path inside a rootfs, as moby's container.StatPath reports it.
struct RootfsPathStat {
    std::string name;  ///< base name of the requested path ("/" for the root)
    int64_t size = 0;
    mode_t mode = 0;  ///< st_mode (the API turns it into a Go FileMode)
    int64_t mtime_ns = 0;
    /// For a symlink: the path it resolves to inside the rootfs, every link followed (moby's
    /// GetResourcePath), absolute; "" otherwise.
    std::string link_target;
};

/// Receives tar bytes in order; an error (the client left) stops the writer with it.
using TarSink = std::function<Result<void>(std::string_view)>;

/// Options of extract_into_rootfs() (PUT /containers/{id}/archive).
struct ExtractOptions {
    /// Refuse to replace an existing directory with a non-directory or the reverse (moby's
    /// NoOverwriteDirNonDir; `docker cp` always asks for it).
    bool no_overwrite_dir_non_dir = false;
    /// Keep the tar's uid/gid; otherwise everything extracted is owned by root (0:0).
    bool copy_uid_gid = false;
};

/// Changes of an overlay upper dir against its lower dirs (top first), in moby's walk order
/// (depth first, names sorted bytewise, a parent before its children): a 0/0 character device
/// is Delete; an opaque directory (trusted.overlay.opaque=y) is Delete when it exists in a
/// lower layer (deleted and re-created: its contents are listed as they are), otherwise Add;
/// any other entry is Modify when it exists in a lower layer, else Add; a directory that exists
/// below with the same mode, size and mtime is not a change by itself; the parent of an Add or
/// Delete is reported as Modify (once, before it). Paths in `excluded` (absolute, e.g. the
/// container's mount points: /etc/hosts, binds, tmpfs) are never reported and do not make
/// their parent a change, nor does a directory whose only change is the mtime those entries
/// caused. Errors: NotFound when `upper` is missing; I/O errors naming the path.
[[nodiscard]] Result<std::vector<FsChange>> overlay_changes(
    const std::string& upper, const std::vector<std::string>& lowers,
    const std::set<std::string>& excluded = {});

/// The lower dirs (top first) of an overlay MountSpec (store/layer_store.hpp, all three forms).
[[nodiscard]] std::vector<std::string> overlay_lower_dirs(const store::MountSpec& spec);

/// Stats `path` (absolute or relative; interpreted inside `rootfs`): its parent is resolved
/// inside the rootfs following symlinks, the last element is not followed unless the path ends
/// with "/" or "/." (moby's ResolvePath). Errors: NotFound "Could not find the file <path> in
/// container <container>" for a path that does not exist.
[[nodiscard]] Result<RootfsPathStat> stat_in_rootfs(const std::string& rootfs,
                                                    std::string_view path,
                                                    std::string_view container);

/// Writes `path` of `rootfs` as a tar to `sink` (GET /containers/{id}/archive): a directory as
/// "<base>/" and its contents, a file or a symlink (not followed) as one "<base>" entry; a path
/// ending in "/." and the root itself give the directory's contents only. `work_dir` is an
/// empty scratch directory on the host (where the entry is bind-mounted under its base name).
/// Errors: as stat_in_rootfs(), the sink's, I/O errors.
[[nodiscard]] Result<void> write_path_tar(const std::string& rootfs, std::string_view path,
                                          std::string_view container, const std::string& work_dir,
                                          const TarSink& sink);

/// Writes the whole tree below `rootfs` as a tar (GET /containers/{id}/export).
[[nodiscard]] Result<void> write_rootfs_tar(const std::string& rootfs, const TarSink& sink);

/// Extracts the tar read from `next` (plain, gzip or zstd; bzip2 and xz through the `bzip2` and
/// `xz` programs, as moby runs xz) into the directory `path` inside `rootfs` (resolved with
/// every symlink followed, inside the rootfs). Entries never land outside the rootfs
/// (archive::apply_layer). `work_dir` is an empty scratch directory on the same filesystem as
/// the container's data: with no_overwrite_dir_non_dir the tar is unpacked there first and
/// checked against the destination before anything is written. Errors: NotFound (Could not
/// find the file ...), InvalidArgument "extraction point is not a directory", InvalidArgument
/// "cannot overwrite directory \"/x\" with non-directory \"/x\"" (and the reverse), the
/// archive's InvalidArgument for a hostile or broken tar.
[[nodiscard]] Result<void> extract_into_rootfs(const std::string& rootfs, std::string_view path,
                                               std::string_view container,
                                               const archive::ReadBlockFn& next,
                                               const std::string& work_dir,
                                               const ExtractOptions& opts);

/// The functions above for a container by name or ID (rootfs mounted for the duration by
/// ContainerService::with_rootfs). Thread-safe as ContainerService is.
class ContainerFs {
public:
    ContainerFs(ContainerService& containers, image::ImageService& images)
        : containers_(containers), images_(images) {}

    /// GET /containers/{id}/export. NotFound "No such container" before any byte is written.
    [[nodiscard]] Result<void> export_rootfs(std::string_view name, const TarSink& sink);

    /// GET /containers/{id}/changes, without the container's mount points.
    [[nodiscard]] Result<std::vector<FsChange>> changes(std::string_view name);

    /// HEAD /containers/{id}/archive.
    [[nodiscard]] Result<RootfsPathStat> stat(std::string_view name, std::string_view path);

    /// GET /containers/{id}/archive (the tar only; stat() first for the header).
    [[nodiscard]] Result<void> archive_get(std::string_view name, std::string_view path,
                                           const TarSink& sink);

    /// PUT /containers/{id}/archive. PermissionDenied "container rootfs is marked read-only"
    /// when the container has ReadonlyRootfs; otherwise as extract_into_rootfs().
    [[nodiscard]] Result<void> archive_put(std::string_view name, std::string_view path,
                                           const archive::ReadBlockFn& next,
                                           const ExtractOptions& opts);

private:
    /// A fresh scratch directory next to the container's upper dir; removed by the caller.
    [[nodiscard]] static Result<std::string> scratch_dir(const std::string& upper);

    ContainerService& containers_;
    image::ImageService& images_;
};

}  // namespace berth::engine
