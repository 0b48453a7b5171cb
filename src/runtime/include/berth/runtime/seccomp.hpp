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
    unsigned flags = 0;  ///< SECCOMP_FILTER_FLAG_* from linux.seccomp.flags (no NEW_LISTENER)
    bool has_listener = false;  ///< an SCMP_ACT_NOTIFY rule: the load returns a notify fd
};

/// Translates the spec: every action (SCMP_ACT_KILL, KILL_PROCESS, KILL_THREAD, TRAP, ERRNO,
/// TRACE, ALLOW, LOG, NOTIFY), errnoRet (default EPERM), argument conditions (all SCMP_CMP_*
/// ops; several conditions on the same argument index become separate rules, as runc does),
/// flags, architectures. Unknown syscall names are skipped (the kernel may be older than the
/// profile); an unknown action, op, flag or architecture is InvalidArgument naming the field,
/// e.g. "linux.seccomp.syscalls[3].action: unknown action SCMP_ACT_FOO".
/// As in runc: unless the default action is ALLOW/LOG/TRACE, a stub in front of the filter
/// returns ENOSYS for syscall numbers above the largest one the profile names (so programs fall
/// back from syscalls newer than the profile); SECCOMP_FILTER_FLAG_TSYNC is accepted and
/// ignored; NOTIFY is refused as the default action and for "write". Not as in runc:
/// architectures of the other byte order (which cannot join the filter) are skipped with a
/// warning, and WAIT_KILLABLE_RECV is dropped when no rule notifies. libseccomp's own
/// no_new_privs is off: the caller sets it when process.noNewPrivileges says so.
[[nodiscard]] Result<SeccompProgram> compile_seccomp(const oci::Seccomp& s);

/// compile_seccomp through a cache of compiled programs in `cache_dir` (created 0700 if
/// missing; give it a root-only directory on tmpfs, e.g. under the run dir). libseccomp needs
/// ~15 ms for a Docker-sized profile with the three x86 architectures (~2 ms for the native one
/// alone); a hit costs a file read. An entry is used only if it is a regular file owned by our
/// euid in such a directory, not writable by others, and its stored key (the whole profile,
/// libseccomp version, kernel release) equals this one byte for byte. A cache that cannot be
/// written is not an error. An empty `cache_dir` means no cache.
[[nodiscard]] Result<SeccompProgram> compile_seccomp_cached(const oci::Seccomp& s,
                                                            const std::string& cache_dir);

/// Loads a compiled program into the calling process with seccomp(SECCOMP_SET_MODE_FILTER),
/// adding SECCOMP_FILTER_FLAG_NEW_LISTENER when the program has a listener. The caller must
/// have set no_new_privs or hold CAP_SYS_ADMIN. Safe between clone and execve (no
/// allocation). Returns 0 or an errno. If `notify_fd` is non-null and the program has a
/// listener, the listener fd (close-on-exec) is stored there; with a null `notify_fd` it is
/// closed.
int load_seccomp(const SeccompProgram& p, int* notify_fd) noexcept;

/// The seccomp features this build and kernel support, for `features` (sorted; the flags are
/// those the running kernel accepts).
[[nodiscard]] std::vector<std::string> seccomp_known_actions();
[[nodiscard]] std::vector<std::string> seccomp_known_operators();
[[nodiscard]] std::vector<std::string> seccomp_known_archs();
[[nodiscard]] std::vector<std::string> seccomp_known_flags();

}  // namespace berth::runtime
