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
    bool remount_after_bind = false;   ///< a bind with ro/nosuid/...: needs MS_REMOUNT|MS_BIND
    bool source_is_dir = true;         ///< decides whether the target is a dir or a file
    bool tmpcopyup = false;            ///< copy the image's content into a new tmpfs
    bool is_cgroup = false;            ///< type cgroup: mount v1 controllers or cgroup2
    bool is_proc_or_sys = false;       ///< proc/sysfs: destination must not be a symlink escape
};

/// Maps mount options to flags as runc does (ro, rw, nosuid, suid, nodev, dev, noexec, exec,
/// sync, async, dirsync, remount, mand, nomand, atime, noatime, diratime, nodiratime, relatime,
/// norelatime, strictatime, nostrictatime, nosymfollow, bind, rbind, private, rprivate, shared,
/// rshared, slave, rslave, unbindable, runbindable, rro, rrw, tmpcopyup); everything else goes
/// to data. `bundle` resolves relative bind sources. InvalidArgument names the mount:
/// "mounts[2].destination: must be an absolute path".
[[nodiscard]] Result<std::vector<MountOp>> plan_mounts(const std::vector<oci::Mount>& mounts,
                                                       const std::string& bundle);

/// rootfsPropagation ("", "private", "rprivate", "slave", "rslave", "shared", "rshared",
/// "unbindable", "runbindable") → MS_* flags. Empty gives runc's default MS_SLAVE|MS_REC.
[[nodiscard]] Result<unsigned long> parse_rootfs_propagation(const std::string& p);

/// The devices every container gets (null, zero, full, random, urandom, tty) unless the spec
/// lists them itself, plus the spec's own devices, in creation order.
[[nodiscard]] std::vector<oci::Device> devices_to_create(const oci::Linux* linux);

}  // namespace berth::runtime
