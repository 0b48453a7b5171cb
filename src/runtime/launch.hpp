#pragma once
// Launching a container's init (create/run) or an extra process (exec): the parent side of the
// clone, the sync protocol, uid/gid maps, cgroup join and the hooks run by the runtime.

#include <sys/types.h>

#include <memory>
#include <functional>
#include <optional>
#include <string>

#include "berth/cgroups/manager.hpp"
#include "berth/common/process.hpp"
#include "berth/common/result.hpp"
#include "berth/oci/spec.hpp"
#include "init_config.hpp"

namespace berth::runtime {

/// The host paths of the container's cgroup per hierarchy, for `cgroup` mounts.
[[nodiscard]] std::vector<CgroupMountSource> cgroup_mount_sources(const cgroups::Layout& layout,
                                                                  const cgroups::Manager& mgr);

/// Fills the namespace, mount, device, credential and seccomp parts of `c` from the spec.
/// Opens the namespace paths to join. InvalidArgument names the config field.
[[nodiscard]] Result<void> prepare_init(InitConfig& c, const oci::Spec& spec);

/// linux.seccomp compiled (through the cache in <root>/cache:seccomp), or nullopt when the
/// section asks for nothing (no defaultAction and no rules: runc treats that as no filter).
[[nodiscard]] Result<std::optional<SeccompProgram>> seccomp_for(const oci::Spec& spec,
                                                                const std::string& state_root);

/// process.rlimits → setrlimit arguments. InvalidArgument names the bad entry.
[[nodiscard]] Result<std::vector<Rlim>> translate_rlimits(const oci::Process& p);

/// What the parent learns from a launch.
struct Launched {
    ChildProcess init;  ///< our child (fast path: the clone; double fork: CLONE_PARENT'd grandchild)
};

/// Clones the child, writes maps, joins the cgroup (`mgr`, may be null for none), and drives
/// the sync protocol until the child is Ready. `prestart_state` builds the hooks' state JSON
/// for a pid. On error the child is killed and reaped.
[[nodiscard]] Result<Launched> launch(InitConfig& c, cgroups::Manager* mgr,
                                      const std::function<Result<void>(pid_t)>& on_hooks);

/// The spec's device cgroup rules followed by runc's default AllowedDevices.
[[nodiscard]] oci::Resources resources_with_devices(const oci::Spec& spec);

}  // namespace berth::runtime
