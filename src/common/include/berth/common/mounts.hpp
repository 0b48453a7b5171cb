#pragma once
// Reading /proc/self/mountinfo: the mounts of this process's mount namespace. By hand rather
// than with libmount: only the mount point field (and its octal escapes) is needed, and the
// cgroup code reads the same lines; libmount would be a shared library more in berthd and the
// static berth-shim for that.

#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.hpp"

namespace berth {

/// mountinfo's escaping undone: space, tab, newline and backslash appear as \ooo.
[[nodiscard]] std::string unescape_mountinfo(std::string_view s);

/// The mount points of a mountinfo text that are `dir` itself or lie below it, deepest first
/// (the order in which they can be unmounted).
[[nodiscard]] std::vector<std::string> mount_points_under(std::string_view mountinfo,
                                                          std::string_view dir);

/// Lazily unmounts (MNT_DETACH) every mount at or below `dir` in this mount namespace, deepest
/// first: a tree about to be deleted may still hold a mount whose owner is gone (a container's
/// root filesystem left by a daemon that stopped before unmounting it).
[[nodiscard]] Result<void> detach_mounts_under(const std::string& dir);

}  // namespace berth
