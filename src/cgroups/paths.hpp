#pragma once
// Where a container's cgroup goes: linux.cgroupsPath checked and placed in each hierarchy.

#include <string>

#include "berth/cgroups/manager.hpp"
#include "berth/common/result.hpp"

namespace berth::cgroups::detail {

/// Checks and cleans linux.cgroupsPath: empty becomes the container id (relative, runc's
/// default); ".." components are InvalidArgument; systemd "slice:prefix:name" is Unsupported;
/// a path naming a hierarchy's root ("/") is InvalidArgument. The result is absolute
/// ("/a/b") or relative ("a/b").
[[nodiscard]] Result<std::string> normalize_cgroups_path(const Options& opts);

/// The directory of `path` (from normalize_cgroups_path) in the hierarchy mounted at `mount`:
/// relative paths are joined to the runtime's own cgroup there (`own`, relative to the mount).
[[nodiscard]] std::string hierarchy_dir(const std::string& mount, const std::string& own,
                                        const std::string& path);

}  // namespace berth::cgroups::detail
