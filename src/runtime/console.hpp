#pragma once
// The container's terminal: a pty made inside the container's devpts whose master goes to
// whoever listens on --console-socket (SCM_RIGHTS), as runc does.

#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/oci/spec.hpp"

namespace berth::runtime {

/// Connects to the unix stream socket at `path` (--console-socket, seccomp listenerPath).
[[nodiscard]] Result<UniqueFd> connect_unix_socket(const std::string& path);

/// Child side, after pivot_root: opens /dev/ptmx, sends the master on `socket_fd`, makes the
/// slave stdin/stdout/stderr and the controlling terminal, and bind-mounts it on /dev/console
/// when `mount_console`. Returns 0 or an errno; `step` names what failed.
int setup_console(int socket_fd, const oci::ConsoleSize* size, bool mount_console,
                  const char** step) noexcept;

/// The two ends of a terminal channel for a process whose pty the runtime keeps itself
/// (run/exec -t without --console-socket): the child sends its master on `theirs`.
struct TerminalChannel {
    UniqueFd ours, theirs;
};
[[nodiscard]] Result<TerminalChannel> make_terminal_channel();

/// Sends `len` bytes of `data` with `fd` attached (SCM_RIGHTS; none if fd < 0) in one
/// sendmsg. Returns 0 or an errno; no allocation (safe in the container's init).
int send_with_fd(int socket_fd, const void* data, size_t len, int fd) noexcept;

/// Sends `fd` over a connected unix socket with `name` as the payload.
int send_fd(int socket_fd, int fd, const char* name) noexcept;

/// Receives one fd sent by send_fd.
[[nodiscard]] Result<UniqueFd> recv_fd(int socket_fd);

}  // namespace berth::runtime
