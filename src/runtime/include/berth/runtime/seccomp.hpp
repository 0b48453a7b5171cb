#pragma once
// linux.seccomp → a classic BPF program, compiled with libseccomp in the parent (where
// allocating is fine) and loaded in the container's init just before execve with one syscall.

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/oci/spec.hpp"

namespace berth::runtime {

/// A compiled filter ready for seccomp(SECCOMP_SET_MODE_FILTER).
struct SeccompProgram {
    std::vector<sock_filter> instructions;
    unsigned flags = 0;  ///< SECCOMP_FILTER_FLAG_* from linux.seccomp.flags
    bool has_listener = false;  ///< an SCMP_ACT_NOTIFY rule: the load returns a notify fd
};

/// Translates the spec: every action (SCMP_ACT_KILL, KILL_PROCESS, KILL_THREAD, TRAP, ERRNO,
/// TRACE, ALLOW, LOG, NOTIFY), errnoRet (default EPERM), argument conditions (all SCMP_CMP_*
/// ops; several conditions on the same argument index become separate rules, as runc does),
/// flags, architectures. Unknown syscall names are skipped (the kernel may be older than the
/// profile); an unknown action, op, flag or architecture is InvalidArgument naming the field,
/// e.g. "linux.seccomp.syscalls[3].action: unknown action SCMP_ACT_FOO".
[[nodiscard]] Result<SeccompProgram> compile_seccomp(const oci::Seccomp& s);

/// Loads a compiled program into the calling process. Safe between clone and execve (no
/// allocation). Returns 0 or an errno. If `notify_fd` is non-null and the program has a
/// listener, the listener fd is stored there.
int load_seccomp(const SeccompProgram& p, int* notify_fd) noexcept;

/// The seccomp features this build and kernel support, for `features`.
[[nodiscard]] std::vector<std::string> seccomp_known_actions();
[[nodiscard]] std::vector<std::string> seccomp_known_operators();
[[nodiscard]] std::vector<std::string> seccomp_known_archs();
[[nodiscard]] std::vector<std::string> seccomp_known_flags();

}  // namespace berth::runtime
