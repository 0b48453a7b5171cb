// The shim launcher (launcher.hpp): one fork per container instead of one exec.

#include "launcher.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/shimproto/channel.hpp"

namespace berth::shim {
namespace {

// Descriptors 0..n-1 of the new shim are the ones berthd sent, in order. Each is first moved
// above n, so that no dup2 overwrites a source still to be placed; then everything from n up
// goes: the copies, the launcher's connection to berthd, anything else.
bool place_descriptors(const std::vector<UniqueFd>& fds) {
    const int n = static_cast<int>(fds.size());
    std::vector<int> high;
    high.reserve(fds.size());
    for (const auto& fd : fds) {
        int h = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, n);
        if (h < 0) return false;
        high.push_back(h);
    }
    for (int i = 0; i < n; ++i)
        if (::dup2(high[static_cast<size_t>(i)], i) < 0) return false;
    return ::syscall(SYS_close_range, static_cast<unsigned>(n), ~0U, 0U) == 0;
}

// `ps` shows a shim as `berth-shim <exec-dir>`, which names its container (as an exec'd shim's
// argv did), not as the launcher it was forked from. /proc/<pid>/cmdline is read from the
// memory of the process's original arguments; PR_SET_MM could point it elsewhere, but that
// needs CAP_SYS_RESOURCE, which container hosts often drop. So berthd gives the launcher an
// argument of blanks long enough for any exec dir, and a shim writes its own in their place.
void set_command_line(std::span<char> args, const std::string& exec_dir) {
    if (args.empty()) return;
    std::string line = "berth-shim";
    line.push_back('\0');
    line += exec_dir;
    size_t n = std::min(line.size(), args.size() - 1);  // the last byte stays a NUL
    std::memcpy(args.data(), line.data(), n);
    std::memset(args.data() + n, 0, args.size() - n);
}

void report_failure(const std::vector<UniqueFd>& fds, const std::string& what) {
    if (fds.size() >= 2) report_start_failure(fds[1].get(), what);
}

}  // namespace

void report_start_failure(int ready_fd, const std::string& what) {
    std::string line = nlohmann::json{{"error", "berth-shim: " + what}}.dump() + "\n";
    (void)write_all(ready_fd, line, "the ready pipe");
}

Launch serve_launches(int sock, std::span<char> args) {
    // The launcher never waits for its shims: the kernel reaps them.
    ::signal(SIGCHLD, SIG_IGN);
    for (;;) {
        auto msg = shimproto::recv_message(sock);
        if (!msg) {
            if (msg.error().code == Errc::Unavailable) std::exit(0);  // berthd is gone
            BLOG_ERROR("shim launcher: {}", msg.error().what());
            continue;
        }
        Launch l;
        l.exec_dir = msg->body.value("dir", "");
        l.debug = msg->body.value("debug", false);
        // 0, 1 (the ready pipe) and 2 at least, and the monitor connection after them.
        if (l.exec_dir.empty() || l.exec_dir[0] != '/' || msg->fds.size() < 4) {
            report_failure(msg->fds, "bad launch request: " + msg->body.dump());
            continue;
        }
        pid_t pid = ::fork();
        if (pid < 0) {
            report_failure(msg->fds, std::string("fork: ") + std::strerror(errno));
            continue;
        }
        if (pid > 0) continue;  // the request's descriptors close with msg

        // The new shim.
        ::signal(SIGCHLD, SIG_DFL);
        ::setsid();
        if (!place_descriptors(msg->fds)) {
            report_failure(msg->fds, std::string("descriptors: ") + std::strerror(errno));
            ::_exit(1);
        }
        // Their numbers are now the shim's 0..n-1 or closed: forget them, don't close them.
        for (auto& fd : msg->fds) (void)fd.release();
        set_command_line(args, l.exec_dir);
        return l;
    }
}

}  // namespace berth::shim
