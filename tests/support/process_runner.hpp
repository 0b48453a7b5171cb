#pragma once
// Runs a program (the runtime under test, hooks' helpers, shell tools) with its output captured
// and a hard timeout, for black-box integration tests.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace berth::test {

/// How to run a program: what it reads, where its output goes, which fds it inherits.
struct RunOptions {
    /// Bytes written to the child's stdin through a pipe (then closed). Empty: stdin is /dev/null
    /// unless stdin_fd is set.
    std::string stdin_data;
    /// A parent fd to use as the child's stdin (e.g. a pty slave); -1: see stdin_data.
    int stdin_fd = -1;
    /// The child is SIGKILLed after this long and RunResult::timed_out is set.
    std::chrono::milliseconds timeout{60000};
    /// If set, the child's stdout goes to this file (created/appended) instead of a pipe. Used for
    /// `create`/`run -d`, whose container inherits the runtime's stdio and outlives it.
    std::string stdout_path;
    /// Same for stderr.
    std::string stderr_path;
    /// Parent fds that become the child's fds 3, 4, ... in this order (for --preserve-fds).
    std::vector<int> pass_fds;
    /// Extra "NAME=value" entries added to (or replacing in) the inherited environment.
    std::vector<std::string> env;
    /// Working directory of the child; empty: inherit.
    std::string cwd;
};

/// What a finished program did.
struct RunResult {
    int status = -1;         ///< exit code, or 128+signal when killed (the shell's convention)
    int signal = 0;          ///< terminating signal, 0 if it exited
    bool timed_out = false;  ///< killed because RunOptions::timeout passed
    bool spawn_failed = false;
    std::string out;      ///< stdout (empty when redirected to a file)
    std::string err;      ///< stderr (empty when redirected to a file)
    std::string command;  ///< the command line, for messages

    /// One paragraph for assertion messages: command, status, stdout and stderr.
    [[nodiscard]] std::string describe() const;
    [[nodiscard]] bool ok() const { return status == 0 && signal == 0 && !timed_out; }
};

/// Runs argv[0] (an absolute path, or searched in PATH) and waits for it to exit. Reading stops
/// when the child exits: output written later by a grandchild that kept the pipes (a detached
/// container) is not waited for. Never throws; a spawn failure gives spawn_failed and status 127.
RunResult run_program(const std::vector<std::string>& argv, const RunOptions& opts = {});

/// A child that runs in the background (e.g. `runtime run` of a long container, or a console
/// reader); killed with SIGKILL and reaped on destruction unless waited for.
class BackgroundProcess {
public:
    BackgroundProcess() = default;
    BackgroundProcess(BackgroundProcess&& o) noexcept { *this = std::move(o); }
    BackgroundProcess& operator=(BackgroundProcess&& o) noexcept;
    BackgroundProcess(const BackgroundProcess&) = delete;
    BackgroundProcess& operator=(const BackgroundProcess&) = delete;
    ~BackgroundProcess();

    /// Starts argv with stdin /dev/null and stdout/stderr to the given files (empty: /dev/null).
    static BackgroundProcess start(const std::vector<std::string>& argv,
                                   const RunOptions& opts = {});
    [[nodiscard]] pid_t pid() const { return pid_; }
    /// Waits up to `timeout` for the child to exit; returns its status (timed_out if it did not,
    /// in which case it is left running).
    RunResult wait(std::chrono::milliseconds timeout);
    /// Sends a signal to the child (only while it has not been reaped).
    void signal(int sig);

private:
    pid_t pid_ = -1;
    std::string command_;
};

/// Quotes argv for display.
std::string join_command(const std::vector<std::string>& argv);

}  // namespace berth::test
