#pragma once
// The runtime library: what berth-runtime's verbs (and later berth-shim) do, as functions.
// Every function is a complete, separate step that reads and writes the container's state
// directory under `Globals::root`, so create and start can run in different processes, as the
// OCI runtime spec requires.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "berth/cgroups/manager.hpp"
#include "berth/common/process.hpp"
#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/oci/spec.hpp"

namespace berth::runtime {

/// Options every verb shares (runc's global flags).
struct Globals {
    std::string root = "/run/berth-runtime";  ///< state directories live in <root>/<id>/
    bool systemd_cgroup = false;              ///< accepted for runc compatibility; unsupported
};

/// `create` and `run`.
struct CreateOptions {
    std::string id;
    std::string bundle = ".";
    std::string pid_file;
    std::string console_socket;
    bool no_pivot = false;
    bool no_new_keyring = false;
    unsigned preserve_fds = 0;
    bool detach = false;  ///< run only
};

/// What `state` and `list` print: runc's state JSON fields.
struct ContainerInfo {
    oci::State state;       ///< id, status, pid, bundle, annotations
    std::string rootfs;     ///< absolute
    std::string created;    ///< RFC 3339 with nanoseconds, UTC
    std::string owner;      ///< user name of the creator ("root")
};

/// Creates a container: namespaces, rootfs, cgroup; the process waits for `start`.
/// AlreadyExists for a duplicate id ("container with id exists: <id>"); InvalidArgument for a
/// bad config.json. On failure nothing is left behind.
[[nodiscard]] Result<void> create(const Globals& g, const CreateOptions& o);

/// Starts a created container (runs the user process). Conflict if it is not `created`.
[[nodiscard]] Result<void> start(const Globals& g, const std::string& id);

/// create + start; unless detached, waits for the container, forwards signals to it, deletes it
/// and returns its exit status (128+signal when killed).
[[nodiscard]] Result<int> run(const Globals& g, const CreateOptions& o);

[[nodiscard]] Result<ContainerInfo> state(const Globals& g, const std::string& id);
[[nodiscard]] Result<std::vector<ContainerInfo>> list(const Globals& g);

/// Sends `sig` to the init process, or with `all` to every process of the container.
[[nodiscard]] Result<void> kill(const Globals& g, const std::string& id, int sig, bool all);

/// Removes a stopped container (runs poststop hooks, removes its cgroup and state). With
/// `force`, a running one is SIGKILLed first. Conflict if running and not forced.
[[nodiscard]] Result<void> remove(const Globals& g, const std::string& id, bool force);

/// The pids (host view) of every process in the container.
[[nodiscard]] Result<std::vector<pid_t>> pids(const Globals& g, const std::string& id);

/// The config.json the container was created from (for exec defaults).
[[nodiscard]] Result<oci::Spec> container_spec(const Globals& g, const std::string& id);

/// `exec`.
struct ExecOptions {
    std::string id;
    oci::Process process;  ///< complete: the CLI merges flags over the container's process
    std::string console_socket;
    std::string pid_file;
    bool detach = false;
    unsigned preserve_fds = 0;
};

/// Runs another process in a running container. Unless detached, waits for it and returns its
/// exit status. Conflict if the container is not running.
[[nodiscard]] Result<int> exec(const Globals& g, const ExecOptions& o);

/// A process a monitor (berth-shim) owns: its child, with its pty master when it has a terminal.
struct OwnedProcess {
    ChildProcess process;  ///< reap it (waitpid/waitid) when it exits
    UniqueFd terminal;     ///< the pty master when process.terminal; invalid otherwise
};

/// create + start in one step for a monitor: no exec fifo (the process runs once it is ready),
/// the init stays the caller's child, and a terminal's master comes back to the caller instead
/// of going to a console socket (o.console_socket must be empty). Without a terminal the init
/// inherits the caller's fds 0, 1 and 2, so the caller points them at its pipes first. Runs
/// the poststart hooks. On failure nothing is left behind (state, cgroup), as with create.
[[nodiscard]] Result<OwnedProcess> run_owned(const Globals& g, const CreateOptions& o);

/// exec for a monitor: like exec detached, but the process is returned as the caller's child
/// with its pty master (o.console_socket must be empty; o.detach is ignored).
[[nodiscard]] Result<OwnedProcess> exec_owned(const Globals& g, const ExecOptions& o);

[[nodiscard]] Result<void> pause(const Globals& g, const std::string& id);
[[nodiscard]] Result<void> resume(const Globals& g, const std::string& id);

/// Changes resource limits of a created/running container (and records them).
[[nodiscard]] Result<void> update(const Globals& g, const std::string& id, const oci::Resources& r);

/// cgroup statistics of a container.
[[nodiscard]] Result<cgroups::Stats> stats(const Globals& g, const std::string& id);

/// A descriptor that becomes readable when the container's cgroup hits an OOM kill: a v1
/// eventfd registered on memory.oom_control, or on v2 an inotify watch on memory.events.
/// consume() reads it and returns the number of OOM events since the last call.
class OomWatcher {
public:
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    [[nodiscard]] Result<uint64_t> consume();

private:
    friend Result<OomWatcher> watch_oom(const Globals& g, const std::string& id);
    UniqueFd fd_;
    std::string events_file_;  ///< v2: memory.events
    uint64_t last_ = 0;
};

/// Starts watching a running container for OOM kills. Unsupported without a memory cgroup.
[[nodiscard]] Result<OomWatcher> watch_oom(const Globals& g, const std::string& id);

/// Parses "KILL", "SIGKILL", "9", "SIGRTMIN+3". InvalidArgument otherwise.
[[nodiscard]] Result<int> parse_signal(const std::string& s);

}  // namespace berth::runtime
