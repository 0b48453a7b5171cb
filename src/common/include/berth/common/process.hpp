#pragma once
// Running helper programs (hooks, ps) and owning child processes.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"

namespace berth {

/// What a finished child did: exited with a code or was killed by a signal.
struct ExitStatus {
    int code = 0;    ///< exit code, or 128+signal when killed (the shell's convention)
    int signal = 0;  ///< terminating signal, 0 if it exited
    [[nodiscard]] bool ok() const noexcept { return code == 0 && signal == 0; }
};

/// Converts a wait status to ExitStatus.
ExitStatus exit_status_from_wait(int wstatus) noexcept;

/// A program to run: path (not searched in PATH unless it has no '/'), argv, env (nullopt:
/// inherit), bytes for its stdin, optional timeout after which it is SIGKILLed.
struct Command {
    std::string path;
    std::vector<std::string> args;  ///< argv, including argv[0]; defaults to {path}
    std::optional<std::vector<std::string>> env;
    std::string stdin_data;
    std::optional<std::chrono::milliseconds> timeout;
    bool capture_stdout = false;
};

struct CommandResult {
    ExitStatus status;
    std::string out;  ///< stdout, when captured
};

/// Spawns the command with posix_spawn (safe from threaded programs), feeds stdin, waits.
/// Errors: the spawn failed (NotFound for a missing program), or Unavailable on timeout.
[[nodiscard]] Result<CommandResult> run_command(const Command& cmd);

/// Owns a child process through a pidfd: kills (SIGKILL) and reaps it on destruction
/// unless release()d.
class ChildProcess {
public:
    ChildProcess() = default;
    /// Takes ownership of `pid` (a child of this process); opens a pidfd for it.
    explicit ChildProcess(pid_t pid) noexcept;
    ChildProcess(ChildProcess&&) noexcept;
    ChildProcess& operator=(ChildProcess&&) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess();

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    [[nodiscard]] int pidfd() const noexcept { return pidfd_.get(); }
    /// Waits for the child to exit and reaps it.
    [[nodiscard]] Result<ExitStatus> wait();
    /// Stops owning the child (it is left running, e.g. a container init after create).
    pid_t release() noexcept;

private:
    pid_t pid_ = -1;
    UniqueFd pidfd_;
};

}  // namespace berth
