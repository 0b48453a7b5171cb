#pragma once
// Semantic checks of a parsed spec, beyond JSON types: what runc's validator and the
// runtime-spec MUSTs reject. Errors are InvalidArgument and name the JSON path:
//   "config.json: linux.namespaces[2].type: unknown namespace type \"foo\""

#include "berth/common/result.hpp"
#include "berth/oci/spec.hpp"

namespace berth::oci {

/// Checks: ociVersion present and 1.x; root.path present; process.args non-empty when a
/// process is given, cwd absolute, env entries KEY=value, capability names CAP_*; mount
/// destinations non-empty (relative ones are deprecated but accepted, as runc does); hook paths
/// absolute and timeouts > 0; namespaces known, not duplicated, paths absolute; uid/gid mappings
/// only with a user namespace, and a new user namespace has both; hostname/domainname only with
/// a uts namespace (new or joined, as runc); sysctl allowed for the namespaces (net.* needs a
/// network ns, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* an ipc ns); masked/readonly
/// paths absolute and only with a mount namespace; timeOffsets only with a time namespace;
/// rlimit types known, not duplicated and soft <= hard; device types and paths; device cgroup
/// rules; seccomp actions, architectures, flags and operators known; cgroupsPath not containing
/// "..". The first violation found is returned.
[[nodiscard]] Result<void> validate(const Spec& spec, std::string_view origin = "config.json");

}  // namespace berth::oci
