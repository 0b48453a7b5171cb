#include "foreground.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "berth/common/scope_exit.hpp"
#include "console.hpp"

namespace berth::runtime {
namespace {

sigset_t forwarded() {
    sigset_t s;
    sigfillset(&s);
    // Not forwarded: SIGCHLD is ours; the rest can't be caught or mean a fault here.
    for (int sig : {SIGCHLD, SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGPIPE})
        sigdelset(&s, sig);
    return s;
}

void copy_winsize(int from, int to) {
    struct winsize ws {};
    if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

// Blocks the signals we forward, so they queue for the signalfd instead of acting on us. Called
// after the launch: the child must not inherit the mask (it resets it anyway).
Result<int> block_forwarded_signals() {
    sigset_t s = forwarded();
    if (::sigprocmask(SIG_BLOCK, &s, nullptr) < 0) return BERTH_SYS_ERROR("sigprocmask");
    int fd = ::signalfd(-1, &s, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) return BERTH_SYS_ERROR("signalfd");
    return fd;
}

Result<int> wait_foreground(ChildProcess& child, int sigfd, int pty_master) {
    struct termios saved {};
    bool raw = false;
    if (pty_master >= 0 && ::isatty(0) && ::tcgetattr(0, &saved) == 0) {
        struct termios t = saved;
        ::cfmakeraw(&t);
        raw = ::tcsetattr(0, TCSANOW, &t) == 0;
        copy_winsize(0, pty_master);
    }
    ScopeExit restore([&] {
        if (raw) ::tcsetattr(0, TCSANOW, &saved);
    });
    bool stdin_open = pty_master >= 0;
    bool master_open = pty_master >= 0;
    for (;;) {
        struct pollfd p[4];
        int n = 0;
        p[n++] = {child.pidfd(), POLLIN, 0};
        p[n++] = {sigfd, POLLIN, 0};
        int in_idx = -1, m_idx = -1;
        if (stdin_open) { in_idx = n; p[n++] = {0, POLLIN, 0}; }
        if (master_open) { m_idx = n; p[n++] = {pty_master, POLLIN, 0}; }
        int r = ::poll(p, static_cast<nfds_t>(n), -1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return BERTH_SYS_ERROR("poll");
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo si {};
            while (::read(sigfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
                if (si.ssi_signo == SIGWINCH && pty_master >= 0) copy_winsize(0, pty_master);
                else ::syscall(SYS_pidfd_send_signal, child.pidfd(), si.ssi_signo, nullptr, 0);
            }
        }
        char buf[16384];
        if (in_idx >= 0 && p[in_idx].revents) {
            ssize_t k = ::read(0, buf, sizeof buf);
            if (k <= 0) stdin_open = false;
            else for (ssize_t off = 0; off < k;) {
                ssize_t w = ::write(pty_master, buf + off, static_cast<size_t>(k - off));
                if (w < 0) { if (errno == EINTR) continue; break; }
                off += w;
            }
        }
        if (m_idx >= 0 && p[m_idx].revents) {
            ssize_t k = ::read(pty_master, buf, sizeof buf);
            if (k <= 0) master_open = false;
            else for (ssize_t off = 0; off < k;) {
                ssize_t w = ::write(1, buf + off, static_cast<size_t>(k - off));
                if (w < 0) { if (errno == EINTR) continue; break; }
                off += w;
            }
        }
        if ((p[0].revents & POLLIN) && !master_open) break;
        if ((p[0].revents & POLLIN) && master_open) {
            // Drain what the process wrote before it exited, then stop.
            int fl = ::fcntl(pty_master, F_GETFL);
            ::fcntl(pty_master, F_SETFL, fl | O_NONBLOCK);
            ssize_t k;
            while ((k = ::read(pty_master, buf, sizeof buf)) > 0)
                if (::write(1, buf, static_cast<size_t>(k)) < 0) break;
            break;
        }
    }
    auto st = BERTH_TRY(child.wait());
    return st.code;
}

}  // namespace

Result<int> stay_with(ChildProcess& child, int terminal_sock) {
    UniqueFd master;
    if (terminal_sock >= 0) master = BERTH_TRY(recv_fd(terminal_sock));
    UniqueFd sigfd(BERTH_TRY(block_forwarded_signals()));
    return wait_foreground(child, sigfd.get(), master.get());
}

}  // namespace berth::runtime
