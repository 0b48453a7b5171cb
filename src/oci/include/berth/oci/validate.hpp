#pragma once
// Semantic checks of a parsed spec, beyond JSON types: what runc's validator and the
// runtime-spec MUSTs reject. Errors are InvalidArgument and name the JSON path:
//   "config.json: linux.namespaces[2].type: unknown namespace type \"foo\""

#include "berth/common/result.hpp"
#include "berth/oci/spec.hpp"

namespace berth::oci {

/// Checks: ociVersion present and 1.x; root.path present; process.args non-empty when a
/// process is given and cwd absolute; mount destinations absolute; namespaces known and not
/// duplicated; uid/gid mappings only with a user namespace; hostname/domainname only with a
/// new uts namespace; sysctl allowed for the namespaces (net.* needs a network ns, kernel.shm*,
/// kernel.msg*, kernel.sem, fs.mqueue.* an ipc ns); timeOffsets only with a time namespace;
/// rlimit types known and soft <= hard; device types and paths; seccomp actions known;
/// cgroupsPath not containing "..".
[[nodiscard]] Result<void> validate(const Spec& spec, std::string_view origin = "config.json");

}  // namespace berth::oci
