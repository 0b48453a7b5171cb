#pragma once
// Seccomp profiles in Docker's format: the default allowlist (the policy of moby's
// profiles/seccomp/default.json, written for Berth as data tables) and user profiles given with
// `--security-opt seccomp=<profile>`, both reduced to an OCI linux.seccomp for one container's
// capabilities and architecture, as moby's setupSeccomp does.
//
// A profile entry may depend on the container: `includes`/`excludes` name capabilities (all of
// `includes.caps` must be in the container's bounding set; any of `excludes.caps` drops the
// entry), architectures (libseccomp's native names: "amd64", "x86", "x32", "arm64", "arm", ...)
// and a minimum kernel ("4.8", compared with uname's release). Entries that do not apply are
// left out; names the kernel or libseccomp do not know stay in: the runtime skips them.

#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/oci/spec.hpp"

namespace berth::container {

/// This build's architecture in libseccomp's native naming ("amd64", "arm64", "x86", ...), the
/// name profile filters and archMap selection use (moby: goToNative[GOARCH]).
[[nodiscard]] std::string_view native_seccomp_arch() noexcept;

/// Docker's default profile for a container whose bounding set is `caps` ("CAP_SYS_ADMIN", ...)
/// on `arch`: defaultAction SCMP_ACT_ERRNO with EPERM, the architectures of `arch`'s family
/// (amd64: SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32; arm64: AARCH64 and ARM), the
/// allowlist, and the capability-conditional groups (CAP_SYS_ADMIN: mount, unshare, setns,
/// namespace flags of clone, clone3; without it clone3 answers ENOSYS so glibc falls back to
/// clone; CAP_SYS_PTRACE, CAP_SYS_MODULE, CAP_SYS_BOOT, CAP_SYS_CHROOT, ...).
[[nodiscard]] oci::Seccomp default_seccomp_profile(const std::vector<std::string>& caps,
                                                   std::string_view arch = native_seccomp_arch());

/// A Docker-format profile (what `docker run --security-opt seccomp=file.json` sends: the file's
/// JSON) reduced for `caps` and `arch`: defaultAction, defaultErrnoRet, architectures or archMap
/// (not both), flags, listenerPath, listenerMetadata, syscalls[{name|names, action, errnoRet,
/// args[{index,value,valueTwo,op}], includes, excludes}]. InvalidArgument on bad JSON or a
/// wrong shape, "Decoding seccomp profile failed: ..." as moby words it. A profile with no
/// defaultAction and no syscalls means "no seccomp": the result has an empty default_action.
[[nodiscard]] Result<oci::Seccomp> parse_docker_seccomp_profile(
    std::string_view json, const std::vector<std::string>& caps,
    std::string_view arch = native_seccomp_arch());

}  // namespace berth::container
