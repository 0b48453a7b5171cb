// Attach/exec/logs stream helpers (see streams.hpp).

#include "streams.hpp"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>

#include "berth/common/fs.hpp"
#include "berth/common/scope_exit.hpp"
#include "berth/common/unique_fd.hpp"

namespace berth::cli {

Result<void> FrameDemuxer::feed(std::string_view data, const OnFrame& on_frame) {
    while (!data.empty()) {
        if (remaining_ > 0) {
            size_t n = std::min<size_t>(remaining_, data.size());
            BERTH_TRY(on_frame(stream_, data.substr(0, n)));
            remaining_ -= static_cast<uint32_t>(n);
            data.remove_prefix(n);
            continue;
        }
        size_t need = 8 - header_.size();
        size_t n = std::min(need, data.size());
        header_.append(data.substr(0, n));
        data.remove_prefix(n);
        if (header_.size() < 8) break;
        auto b = [&](size_t i) {
            return static_cast<uint32_t>(static_cast<unsigned char>(header_[i]));
        };
        stream_ = static_cast<int>(b(0));
        if (stream_ > 2)
            return make_error(Errc::InvalidArgument, "Unrecognized input header: {}", stream_);
        remaining_ = (b(4) << 24) | (b(5) << 16) | (b(6) << 8) | b(7);
        header_.clear();
    }
    return {};
}

Result<void> RawTerminal::make_raw(int fd) {
    struct termios t {};
    if (::tcgetattr(fd, &t) != 0)
        return BERTH_SYS_ERROR("get the terminal attributes of fd {}", fd);
    saved_ = t;
    ::cfmakeraw(&t);
    if (::tcsetattr(fd, TCSADRAIN, &t) != 0) return BERTH_SYS_ERROR("set fd {} to raw mode", fd);
    fd_ = fd;
    return {};
}

void RawTerminal::restore() {
    if (fd_ < 0) return;
    (void)::tcsetattr(fd_, TCSADRAIN, &saved_);
    fd_ = -1;
}

std::pair<unsigned, unsigned> terminal_size(int fd) {
    struct winsize ws {};
    if (::ioctl(fd, TIOCGWINSZ, &ws) != 0) return {0, 0};
    return {ws.ws_row, ws.ws_col};
}

std::vector<int> proxied_signals() {
    std::vector<int> out;
    for (int s = 1; s < SIGRTMIN; ++s) {
        switch (s) {
            case SIGCHLD:
            case SIGPIPE:
            case SIGURG:
            case SIGWINCH:
            case SIGKILL:
            case SIGSTOP:
            case SIGSEGV:
            case SIGBUS:
            case SIGFPE:
            case SIGILL:
            case SIGTRAP:
            case SIGABRT:
            case SIGSYS:
                continue;
            default:
                out.push_back(s);
        }
    }
    return out;
}

std::string signal_name(int signo) {
    const char* abbrev = ::sigabbrev_np(signo);
    if (abbrev) return abbrev;
    return std::to_string(signo);
}

Result<StreamEnd> pump_hijacked(api::client::HijackedConnection& conn, const PumpOptions& opts) {
    sigset_t set, old;
    sigemptyset(&set);
    for (int s : opts.proxy_signals) sigaddset(&set, s);
    if (opts.on_resize) sigaddset(&set, SIGWINCH);
    UniqueFd sfd;
    bool have_signals = !opts.proxy_signals.empty() || opts.on_resize;
    if (have_signals) {
        if (::sigprocmask(SIG_BLOCK, &set, &old) != 0) return BERTH_SYS_ERROR("block signals");
        sfd.reset(::signalfd(-1, &set, SFD_CLOEXEC));
        if (!sfd) {
            auto err = BERTH_SYS_ERROR("create a signalfd");
            ::sigprocmask(SIG_SETMASK, &old, nullptr);
            return err;
        }
    }
    ScopeExit unblock([&] {
        if (have_signals) ::sigprocmask(SIG_SETMASK, &old, nullptr);
    });

    bool use_keys = opts.tty && opts.stdin_fd >= 0;
    EscapeDetector escape(
        use_keys ? (opts.detach_keys.empty() ? std::string(kDefaultDetachKeys) : opts.detach_keys)
                 : std::string());
    FrameDemuxer demux;
    auto write_out = [&](int stream, std::string_view data) -> Result<void> {
        if (stream == 2 && !opts.tty) {
            if (opts.stderr) return write_all(2, data, "stderr");
            return {};
        }
        if (stream == 0) return {};
        if (opts.stdout || opts.tty) return write_all(1, data, "stdout");
        return {};
    };

    bool stdin_open = opts.stdin_fd >= 0;
    std::array<char, 32 * 1024> buf;
    while (true) {
        // Bytes the HTTP parser read with the headers come first.
        if (conn.has_buffered()) {
            size_t n = BERTH_TRY(conn.read(buf.data(), buf.size()));
            std::string_view d(buf.data(), n);
            if (opts.tty)
                BERTH_TRY(write_out(1, d));
            else
                BERTH_TRY(demux.feed(d, write_out));
            continue;
        }
        std::array<struct pollfd, 3> fds{};
        nfds_t nfds = 0;
        fds[nfds++] = {conn.fd(), POLLIN, 0};
        int stdin_idx = -1, sig_idx = -1;
        if (stdin_open) {
            stdin_idx = static_cast<int>(nfds);
            fds[nfds++] = {opts.stdin_fd, POLLIN, 0};
        }
        if (sfd) {
            sig_idx = static_cast<int>(nfds);
            fds[nfds++] = {sfd.get(), POLLIN, 0};
        }
        int r = ::poll(fds.data(), nfds, -1);
        if (r < 0) {
            if (errno == EINTR) continue;
            return BERTH_SYS_ERROR("poll the attached streams");
        }
        if (sig_idx >= 0 && (fds[sig_idx].revents & POLLIN)) {
            struct signalfd_siginfo si {};
            if (::read(sfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
                int signo = static_cast<int>(si.ssi_signo);
                if (signo == SIGWINCH) {
                    if (opts.on_resize) opts.on_resize();
                } else if (opts.on_signal) {
                    opts.on_signal(signo);
                }
            }
        }
        if (stdin_idx >= 0 && fds[stdin_idx].revents) {
            ssize_t n = ::read(opts.stdin_fd, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                stdin_open = false;
                // Like hijack.go: EOF on stdin half-closes, output keeps flowing.
                (void)conn.close_write();
            } else {
                std::string pass;
                bool detach =
                    escape.feed(std::string_view(buf.data(), static_cast<size_t>(n)), pass);
                if (!pass.empty()) {
                    auto w = conn.write(pass);
                    if (!w) stdin_open = false;
                }
                if (detach) return StreamEnd::Detached;
            }
        }
        if (fds[0].revents) {
            size_t n = BERTH_TRY(conn.read(buf.data(), buf.size()));
            if (n == 0) return StreamEnd::Eof;
            std::string_view d(buf.data(), n);
            if (opts.tty)
                BERTH_TRY(write_out(1, d));
            else
                BERTH_TRY(demux.feed(d, write_out));
        }
    }
}

}  // namespace berth::cli
