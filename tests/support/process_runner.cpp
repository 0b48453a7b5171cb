#include "process_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

extern char** environ;

namespace berth::test {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> merged_env(const std::vector<std::string>& extra) {
    std::map<std::string, std::string> vars;
    std::vector<std::string> order;
    auto put = [&](const std::string& kv) {
        auto eq = kv.find('=');
        std::string name = kv.substr(0, eq);
        if (!vars.count(name)) order.push_back(name);
        vars[name] = kv;
    };
    for (char** e = environ; *e; ++e) put(*e);
    for (const auto& kv : extra) put(kv);
    std::vector<std::string> out;
    out.reserve(order.size());
    for (const auto& n : order) out.push_back(vars[n]);
    return out;
}

struct Pipe {
    int r = -1, w = -1;
    bool open() {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) return false;
        r = fds[0];
        w = fds[1];
        return true;
    }
    void close_r() {
        if (r >= 0) ::close(r);
        r = -1;
    }
    void close_w() {
        if (w >= 0) ::close(w);
        w = -1;
    }
    ~Pipe() {
        close_r();
        close_w();
    }
};

int open_output(const std::string& path) {
    return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

/// Everything the child needs, prepared before fork so the child only calls async-signal-safe
/// functions.
struct ChildSetup {
    std::vector<std::string> argv_s, env_s;
    std::vector<char*> argv, envp;
    int in = -1, out = -1, err = -1;
    std::vector<int> pass;
    std::string cwd;

    void prepare(const std::vector<std::string>& a, const RunOptions& opts) {
        argv_s = a;
        env_s = merged_env(opts.env);
        for (auto& s : argv_s) argv.push_back(s.data());
        argv.push_back(nullptr);
        for (auto& s : env_s) envp.push_back(s.data());
        envp.push_back(nullptr);
        pass = opts.pass_fds;
        cwd = opts.cwd;
    }

    [[noreturn]] void exec_child() {
        // Move every source fd out of the way first, so the dup2 calls below cannot clobber
        // one another (a source may already be 0..2 or one of the target numbers).
        int moved_in = fcntl(in, F_DUPFD_CLOEXEC, 100);
        int moved_out = fcntl(out, F_DUPFD_CLOEXEC, 100);
        int moved_err = fcntl(err, F_DUPFD_CLOEXEC, 100);
        int moved_pass[64];
        size_t npass = pass.size() < 64 ? pass.size() : 64;
        for (size_t i = 0; i < npass; ++i) moved_pass[i] = fcntl(pass[i], F_DUPFD_CLOEXEC, 100);
        if (moved_in < 0 || moved_out < 0 || moved_err < 0) _exit(126);
        if (dup2(moved_in, 0) < 0 || dup2(moved_out, 1) < 0 || dup2(moved_err, 2) < 0) _exit(126);
        for (size_t i = 0; i < npass; ++i) {
            if (moved_pass[i] < 0 || dup2(moved_pass[i], 3 + static_cast<int>(i)) < 0) _exit(126);
        }
        // Nothing else leaks into the runtime (and so into the container).
        syscall(SYS_close_range, 3 + npass, ~0U, 0);
        if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        signal(SIGPIPE, SIG_DFL);
        if (argv_s[0].find('/') == std::string::npos)
            execvpe(argv[0], argv.data(), envp.data());
        else
            execve(argv[0], argv.data(), envp.data());
        _exit(127);
    }
};

void drain_nonblocking(int fd, std::string& into) {
    if (fd < 0) return;
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            into.append(buf, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break;
    }
}

void fill_status(RunResult& r, int wstatus) {
    if (WIFEXITED(wstatus)) {
        r.status = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        r.signal = WTERMSIG(wstatus);
        r.status = 128 + r.signal;
    }
}

}  // namespace

std::string join_command(const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv) {
        if (!s.empty()) s += ' ';
        bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$*?;&|<>(){}") == std::string::npos;
        if (plain) {
            s += a;
        } else {
            s += '\'';
            for (char c : a) {
                if (c == '\'')
                    s += "'\\''";
                else
                    s += c;
            }
            s += '\'';
        }
    }
    return s;
}

std::string RunResult::describe() const {
    std::string s = "command: " + command + "\n";
    s += "status: " + std::to_string(status);
    if (signal) s += " (signal " + std::to_string(signal) + ")";
    if (timed_out) s += " (timed out)";
    if (spawn_failed) s += " (spawn failed)";
    s += "\nstdout: " + out + "\nstderr: " + err + "\n";
    return s;
}

RunResult run_program(const std::vector<std::string>& argv, const RunOptions& opts) {
    RunResult r;
    r.command = join_command(argv);
    ChildSetup cs;
    cs.prepare(argv, opts);

    Pipe in_pipe, out_pipe, err_pipe;
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    int out_file = -1, err_file = -1;
    auto cleanup_files = [&] {
        if (devnull >= 0) ::close(devnull);
        if (out_file >= 0) ::close(out_file);
        if (err_file >= 0) ::close(err_file);
    };
    bool ok = devnull >= 0;
    if (ok && opts.stdin_fd >= 0) {
        cs.in = opts.stdin_fd;
    } else if (ok && !opts.stdin_data.empty()) {
        ok = in_pipe.open();
        cs.in = in_pipe.r;
    } else {
        cs.in = devnull;
    }
    if (ok && !opts.stdout_path.empty()) {
        out_file = open_output(opts.stdout_path);
        ok = out_file >= 0;
        cs.out = out_file;
    } else if (ok) {
        ok = out_pipe.open();
        cs.out = out_pipe.w;
    }
    if (ok && !opts.stderr_path.empty()) {
        err_file = open_output(opts.stderr_path);
        ok = err_file >= 0;
        cs.err = err_file;
    } else if (ok) {
        ok = err_pipe.open();
        cs.err = err_pipe.w;
    }
    if (!ok) {
        r.spawn_failed = true;
        r.status = 127;
        r.err = std::string("setting up stdio failed: ") + strerror(errno);
        cleanup_files();
        return r;
    }

    pid_t pid = fork();
    if (pid < 0) {
        r.spawn_failed = true;
        r.status = 127;
        r.err = std::string("fork failed: ") + strerror(errno);
        cleanup_files();
        return r;
    }
    if (pid == 0) cs.exec_child();

    cleanup_files();
    in_pipe.close_r();
    out_pipe.close_w();
    err_pipe.close_w();

    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));

    // Feed stdin (small inputs only: hooks' state, process.json); a child that does not read it
    // gets EPIPE, which is ignored.
    if (in_pipe.w >= 0) {
        struct sigaction ign {
        }, old{};
        ign.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &ign, &old);
        const char* p = opts.stdin_data.data();
        size_t left = opts.stdin_data.size();
        while (left > 0) {
            ssize_t n = ::write(in_pipe.w, p, left);
            if (n < 0) {
                if (errno == EINTR) continue;
                break;
            }
            p += n;
            left -= static_cast<size_t>(n);
        }
        in_pipe.close_w();
        sigaction(SIGPIPE, &old, nullptr);
    }

    auto deadline = Clock::now() + opts.timeout;
    bool exited = false;
    int wstatus = 0;
    while (!exited) {
        auto now = Clock::now();
        if (now >= deadline) {
            kill(pid, SIGKILL);
            r.timed_out = true;
            break;
        }
        int ms = static_cast<int>(
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
        if (ms > 200) ms = 200;  // also covers a missing pidfd
        pollfd pfds[3];
        int n = 0;
        int idx_out = -1, idx_err = -1, idx_pid = -1;
        if (out_pipe.r >= 0) {
            idx_out = n;
            pfds[n++] = {out_pipe.r, POLLIN, 0};
        }
        if (err_pipe.r >= 0) {
            idx_err = n;
            pfds[n++] = {err_pipe.r, POLLIN, 0};
        }
        if (pidfd >= 0) {
            idx_pid = n;
            pfds[n++] = {pidfd, POLLIN, 0};
        }
        int pr = poll(pfds, static_cast<nfds_t>(n), ms);
        if (pr < 0 && errno != EINTR) break;
        auto read_into = [&](int idx, Pipe& p, std::string& into) {
            if (idx < 0 || !(pfds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
            char buf[65536];
            ssize_t k = ::read(p.r, buf, sizeof buf);
            if (k > 0)
                into.append(buf, static_cast<size_t>(k));
            else if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN))
                p.close_r();
        };
        if (pr > 0) {
            read_into(idx_out, out_pipe, r.out);
            read_into(idx_err, err_pipe, r.err);
        }
        if ((idx_pid >= 0 && pr > 0 && (pfds[idx_pid].revents & POLLIN)) || pidfd < 0) {
            pid_t w = waitpid(pid, &wstatus, WNOHANG);
            if (w == pid) exited = true;
        }
    }
    if (!exited) {
        while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
        }
    }
    if (pidfd >= 0) ::close(pidfd);
    // The child is gone; take what it (and anything it left holding the pipes) wrote so far.
    drain_nonblocking(out_pipe.r, r.out);
    drain_nonblocking(err_pipe.r, r.err);
    fill_status(r, wstatus);
    return r;
}

BackgroundProcess& BackgroundProcess::operator=(BackgroundProcess&& o) noexcept {
    if (this != &o) {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        pid_ = o.pid_;
        command_ = std::move(o.command_);
        o.pid_ = -1;
    }
    return *this;
}

BackgroundProcess::~BackgroundProcess() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
}

BackgroundProcess BackgroundProcess::start(const std::vector<std::string>& argv,
                                           const RunOptions& opts) {
    BackgroundProcess bp;
    bp.command_ = join_command(argv);
    ChildSetup cs;
    cs.prepare(argv, opts);
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    int out = opts.stdout_path.empty() ? -1 : open_output(opts.stdout_path);
    int err = opts.stderr_path.empty() ? -1 : open_output(opts.stderr_path);
    cs.in = opts.stdin_fd >= 0 ? opts.stdin_fd : devnull;
    cs.out = out >= 0 ? out : devnull;
    cs.err = err >= 0 ? err : devnull;
    pid_t pid = fork();
    if (pid == 0) cs.exec_child();
    if (devnull >= 0) ::close(devnull);
    if (out >= 0) ::close(out);
    if (err >= 0) ::close(err);
    bp.pid_ = pid;
    return bp;
}

RunResult BackgroundProcess::wait(std::chrono::milliseconds timeout) {
    RunResult r;
    r.command = command_;
    if (pid_ <= 0) {
        r.spawn_failed = true;
        return r;
    }
    auto deadline = Clock::now() + timeout;
    int wstatus = 0;
    for (;;) {
        pid_t w = waitpid(pid_, &wstatus, WNOHANG);
        if (w == pid_) {
            pid_ = -1;
            fill_status(r, wstatus);
            return r;
        }
        if (Clock::now() >= deadline) {
            r.timed_out = true;
            return r;
        }
        usleep(10000);
    }
}

void BackgroundProcess::signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
}

}  // namespace berth::test
