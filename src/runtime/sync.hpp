#pragma once
// The parent <-> container-init channel: a SOCK_SEQPACKET socketpair carrying fixed-size
// messages, so the child never allocates to talk and every message arrives whole.

#include <sys/types.h>

#include <cstdint>

#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"

namespace berth::runtime {

enum class SyncType : uint32_t {
    Go = 1,          ///< parent -> child: ids mapped; start setting up
    CgroupJoined,    ///< parent -> child: the child is in its cgroup (cgroup ns, fork, exec may follow)
    MapRequest,      ///< child -> parent: unshared a user ns; write its uid/gid maps
    MapDone,         ///< parent -> child
    Pid,             ///< child -> parent: the pid of the real init (double-fork path)
    Hooks,           ///< child -> parent: run prestart and createRuntime hooks now
    HooksDone,       ///< parent -> child
    SeccompFd,       ///< child -> parent: a seccomp listener fd (SCM_RIGHTS) for listenerPath
    SeccompDone,     ///< parent -> child: the listener has it
    Ready,           ///< child -> parent: set up; waiting for start (or about to exec)
    Error,           ///< child -> parent: setup failed at `step` with `err`
};

struct SyncMsg {
    SyncType type = SyncType::Go;
    int32_t value = 0;  ///< pid for Pid, errno for Error
    char step[224] = {};  ///< what failed, NUL-terminated (Error only)
};

/// A socketpair; parent and child each keep one end.
struct SyncPair {
    UniqueFd parent;
    UniqueFd child;
};

[[nodiscard]] Result<SyncPair> make_sync_pair();

/// Child side: send a message; returns 0 or errno. No allocation.
int sync_send(int fd, SyncType type, int32_t value = 0, const char* step = nullptr) noexcept;
/// Child side: send a message with a descriptor attached (SCM_RIGHTS).
int sync_send_fd(int fd, SyncType type, int passed_fd) noexcept;
/// Child side: wait for a message of `type`; returns 0, or errno (EPIPE if the parent is gone,
/// EPROTO for an unexpected message).
int sync_wait(int fd, SyncType type, int32_t* value = nullptr) noexcept;

/// Parent side: receive one message. A closed socket (child died) is reported as
/// Unavailable "container init exited during setup".
/// A descriptor attached to the message (SeccompFd) is stored in `received` if given, else closed.
[[nodiscard]] Result<SyncMsg> sync_recv(int fd, UniqueFd* received = nullptr);

/// Turns an Error message into an Error: "<step>: <strerror(errno)>".
[[nodiscard]] Error sync_error(const SyncMsg& m);

}  // namespace berth::runtime
