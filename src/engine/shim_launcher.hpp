#pragma once
// berthd's end of `berth-shim --launcher` (cmd/berth-shim/launcher.hpp; the protocol is in
// berth/shimproto/protocol.hpp): shims are forked by a launcher that was exec'd once, instead
// of being posix_spawned one by one (an exec and glibc's start-up cost ~0.5 ms of every
// container start). The launcher is started with the service and again whenever it is found
// gone (killed, or it exited on an error); it exits when berthd closes its connection.

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"

namespace berth::engine {

class ShimLauncher {
public:
    /// `title_room`: the longest command line a shim shows (`berth-shim <exec-dir>`).
    ShimLauncher(std::string shim_binary, size_t title_room)
        : bin_(std::move(shim_binary)), title_room_(title_room) {}
    ShimLauncher(const ShimLauncher&) = delete;
    ShimLauncher& operator=(const ShimLauncher&) = delete;
    /// Closes the connection (the launcher exits) and reaps the launcher.
    ~ShimLauncher();

    /// Starts the launcher now rather than at the first launch.
    [[nodiscard]] Result<void> prepare();

    /// Starts a shim for `exec_dir` whose descriptors 0, 1, 2, ... are `fds` (borrowed; 1 is
    /// its ready pipe, where it reports). `debug`: the shim logs at debug level. The request
    /// goes to the spare the launcher forked ahead, if one is there, else to the launcher.
    [[nodiscard]] Result<void> launch(const std::string& exec_dir, const std::vector<int>& fds,
                                      bool debug);

    /// The launcher's pid, -1 when there is none (tests).
    [[nodiscard]] pid_t pid() const;

private:
    Result<void> spawn_locked();
    void reap(pid_t pid);
    /// Takes the spares the launcher offered since the last launch (without waiting): the
    /// newest is kept, the others let go.
    void collect_spares_locked();

    mutable std::mutex mu_;
    std::string bin_;
    size_t title_room_;
    UniqueFd conn_;
    /// A spare shim's socket, from the launcher: the next launch request goes to it directly.
    UniqueFd spare_;
    pid_t pid_ = -1;
    /// One per launcher started: waits for it to exit and reaps it (so that a killed launcher
    /// is no zombie of ours until the next start notices), then forgets it.
    struct Reaper {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    std::vector<Reaper> reapers_;
};

}  // namespace berth::engine
