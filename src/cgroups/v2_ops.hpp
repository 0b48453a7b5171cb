#pragma once
// cgroup v2 operations shared by the v2 manager and the hybrid side of the v1 manager (on a
// hybrid host the unified tree carries the controllers v1 does not mount, e.g. hugetlb).

#include <string>
#include <vector>

#include "berth/cgroups/manager.hpp"
#include "berth/common/result.hpp"

namespace berth::cgroups::detail {

/// Enables `ctrls` for `dir`: "+c" in the cgroup.subtree_control of every level from `mount`
/// down to dir's parent. One read when the parent already has them (the usual case).
/// Controllers a level refuses are skipped, as runc does: the write of the limit that needs
/// one reports the problem with its own file name.
[[nodiscard]] Result<void> enable_controllers(const std::string& mount, const std::string& dir,
                                              const std::vector<std::string>& ctrls);

/// True if `ctrl` is in <mount>/cgroup.controllers (available in this v2 tree).
[[nodiscard]] Result<bool> v2_has_controller(const std::string& mount, const std::string& ctrl);

/// Writes cgroup.freeze and waits until cgroup.events shows the state. On a failed freeze the
/// cgroup is thawed again (a half-frozen container is worse than a running one).
[[nodiscard]] Result<void> v2_set_frozen(const std::string& dir, bool frozen);

/// True if the cgroup itself is frozen (cgroup.freeze 1 and cgroup.events frozen 1).
[[nodiscard]] Result<bool> v2_frozen(const std::string& dir);

/// hugetlb.<size>.max for each limit. `field` prefixes errors.
[[nodiscard]] Result<void> v2_set_hugetlb(const std::string& dir,
                                          const std::vector<oci::HugepageLimit>& limits);

/// Writes linux.resources.unified entries (keys are file names; '/' is rejected).
[[nodiscard]] Result<void> v2_set_unified(const std::string& dir,
                                          const std::map<std::string, std::string>& unified);

/// Checks a unified key: a plain file name ("memory.high"), no '/', not "." or "..".
[[nodiscard]] Result<void> check_unified_key(const std::string& key);

}  // namespace berth::cgroups::detail
