#include "berth/common/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

extern char** environ;

namespace berth {
namespace {

int pidfd_open(pid_t pid) noexcept { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

std::vector<char*> to_argv(const std::vector<std::string>& v) {
    std::vector<char*> out;
    out.reserve(v.size() + 1);
    for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

}  // namespace

ExitStatus exit_status_from_wait(int wstatus) noexcept {
    if (WIFSIGNALED(wstatus)) return {128 + WTERMSIG(wstatus), WTERMSIG(wstatus)};
    return {WEXITSTATUS(wstatus), 0};
}

Result<CommandResult> run_command(const Command& cmd) {
    int in[2], out[2] = {-1, -1};
    if (::pipe2(in, O_CLOEXEC) < 0) return BERTH_SYS_ERROR("pipe");
    UniqueFd in_r(in[0]), in_w(in[1]);
    UniqueFd out_r, out_w;
    if (cmd.capture_stdout) {
        if (::pipe2(out, O_CLOEXEC) < 0) return BERTH_SYS_ERROR("pipe");
        out_r.reset(out[0]);
        out_w.reset(out[1]);
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
    if (cmd.capture_stdout) posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);

    std::vector<std::string> args = cmd.args.empty() ? std::vector<std::string>{cmd.path} : cmd.args;
    auto argv = to_argv(args);
    std::vector<char*> envp;
    if (cmd.env) envp = to_argv(*cmd.env);
    pid_t pid = -1;
    int rc = cmd.path.find('/') == std::string::npos
                 ? ::posix_spawnp(&pid, cmd.path.c_str(), &fa, &attr, argv.data(), cmd.env ? envp.data() : environ)
                 : ::posix_spawn(&pid, cmd.path.c_str(), &fa, &attr, argv.data(), cmd.env ? envp.data() : environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return sys_error(rc, "spawn {}", cmd.path);
    ChildProcess child(pid);
    in_r.reset();
    out_w.reset();

    // Feed stdin (ignoring EPIPE: a hook may not read it) and drain stdout.
    struct sigaction ign {}, old {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &old);
    std::string_view pending = cmd.stdin_data;
    if (pending.empty()) in_w.reset();
    CommandResult res;
    auto deadline = cmd.timeout ? std::chrono::steady_clock::now() + *cmd.timeout
                                : std::chrono::steady_clock::time_point::max();
    for (;;) {
        struct pollfd fds[3];
        int n = 0;
        int pidx = n;
        fds[n++] = {child.pidfd(), POLLIN, 0};
        int widx = -1, ridx = -1;
        if (in_w) { widx = n; fds[n++] = {in_w.get(), POLLOUT, 0}; }
        if (out_r) { ridx = n; fds[n++] = {out_r.get(), POLLIN, 0}; }
        int wait_ms = -1;
        if (cmd.timeout) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now()).count();
            wait_ms = left < 0 ? 0 : static_cast<int>(left);
        }
        int pr = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
        if (pr < 0 && errno == EINTR) continue;
        if (pr == 0) {
            ::sigaction(SIGPIPE, &old, nullptr);
            return make_error(Errc::Unavailable, "{} did not finish within {} ms (killed)", cmd.path,
                              cmd.timeout->count());
        }
        if (widx >= 0 && fds[widx].revents) {
            ssize_t w = ::write(in_w.get(), pending.data(), pending.size());
            if (w > 0) pending.remove_prefix(static_cast<size_t>(w));
            if (w < 0 || pending.empty()) in_w.reset();
        }
        if (ridx >= 0 && fds[ridx].revents) {
            char buf[4096];
            ssize_t r = ::read(out_r.get(), buf, sizeof buf);
            if (r > 0) res.out.append(buf, static_cast<size_t>(r));
            else out_r.reset();
        }
        if (fds[pidx].revents && !out_r) break;
    }
    ::sigaction(SIGPIPE, &old, nullptr);
    res.status = BERTH_TRY(child.wait());
    return res;
}

ChildProcess::ChildProcess(pid_t pid) noexcept : pid_(pid), pidfd_(pidfd_open(pid)) {}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
    if (this != &o) {
        this->~ChildProcess();
        pid_ = std::exchange(o.pid_, -1);
        pidfd_ = std::move(o.pidfd_);
    }
    return *this;
}

ChildProcess::~ChildProcess() {
    if (pid_ <= 0) return;
    if (pidfd_) ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    else ::kill(pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
}

Result<ExitStatus> ChildProcess::wait() {
    int st = 0;
    for (;;) {
        pid_t r = ::waitpid(pid_, &st, 0);
        if (r == pid_) break;
        if (r < 0 && errno == EINTR) continue;
        return BERTH_SYS_ERROR("waitpid {}", pid_);
    }
    pid_ = -1;
    pidfd_.reset();
    return exit_status_from_wait(st);
}

pid_t ChildProcess::release() noexcept {
    pidfd_.reset();
    return std::exchange(pid_, -1);
}

}  // namespace berth
