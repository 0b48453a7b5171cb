#pragma once
// Mount planning: the spec's mounts become a list of operations with flags decided up front
// ("describe, then do"). The plan is unit tested; rootfs.cpp carries it out.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/oci/spec.hpp"

namespace berth::runtime {

/// One mount(2) (plus follow-ups) to perform inside the container's root.
struct MountOp {
    std::string source;       ///< host path for binds (absolute, relative to the bundle resolved)
    std::string destination;  ///< inside the rootfs, absolute, cleaned
    std::string fstype;       ///< "bind" for bind mounts, else the filesystem type
    unsigned long flags = 0;  ///< MS_* except propagation (MS_BIND, MS_REC, MS_RDONLY, ...)
    unsigned long propagation = 0;     ///< MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE (+MS_REC)
    std::string data;         ///< filesystem-specific options ("mode=755,size=65536k")
    bool bind = false;
    bool recursive_readonly = false;   ///< "rro": mount_setattr(AT_RECURSIVE, MOUNT_ATTR_RDONLY)
    /// All recursive options ("rro", "rrw", "rnosuid", "rnodev", "rnoexec", "rnoatime", ...) as
    /// MOUNT_ATTR_* to set and clear with mount_setattr(AT_RECURSIVE) after the mount; both 0
    /// when there are none. recursive_readonly is (rec_attr_set & MOUNT_ATTR_RDONLY) != 0.
    uint64_t rec_attr_set = 0;
    uint64_t rec_attr_clr = 0;
    bool remount_after_bind = false;   ///< a bind with ro/nosuid/...: needs MS_REMOUNT|MS_BIND
    bool source_is_dir = true;         ///< decides whether the target is a dir or a file
    bool tmpcopyup = false;            ///< copy the image's content into a new tmpfs
    bool is_cgroup = false;            ///< type cgroup: mount v1 controllers or cgroup2
    bool is_proc_or_sys = false;       ///< proc/sysfs: destination must not be a symlink escape
};

/// Maps mount options to flags as runc does (ro, rw, nosuid, suid, nodev, dev, noexec, exec,
/// sync, async, dirsync, remount, mand, nomand, atime, noatime, diratime, nodiratime, relatime,
/// norelatime, strictatime, nostrictatime, nosymfollow, symfollow, lazytime, nolazytime,
/// iversion, noiversion, silent, loud, bind, rbind, private, rprivate, shared, rshared, slave,
/// rslave, unbindable, runbindable, the recursive r* options (rro, rrw, rnosuid, ...) and
/// tmpcopyup); "defaults" is dropped; everything else goes to data. A "bind"/"rbind" option or
/// type "bind" makes a bind mount; `bundle` resolves relative bind sources, whose stat() decides
/// source_is_dir (a missing source is NotFound: "mounts[1].source: stat /x: No such file or
/// directory"). A relative destination is taken relative to "/" with a warning, as runc 1.1
/// does. Other errors are InvalidArgument naming the mount: "mounts[2].destination: ...".
[[nodiscard]] Result<std::vector<MountOp>> plan_mounts(const std::vector<oci::Mount>& mounts,
                                                       const std::string& bundle);

/// rootfsPropagation ("", "private", "rprivate", "slave", "rslave", "shared", "rshared",
/// "unbindable", "runbindable") → MS_* flags. Empty gives runc's default MS_SLAVE|MS_REC.
[[nodiscard]] Result<unsigned long> parse_rootfs_propagation(const std::string& p);

/// The devices every container gets (null, random, full, tty, zero, urandom: c, 0666, root)
/// unless the spec lists the same path itself, then the spec's own devices, in creation order.
/// The spec's devices come back normalised as runc does: type "u" becomes "c", file_mode
/// defaults to 0666 and loses any S_IFMT bits, uid/gid default to 0.
[[nodiscard]] std::vector<oci::Device> devices_to_create(const oci::Linux* linux);

}  // namespace berth::runtime
