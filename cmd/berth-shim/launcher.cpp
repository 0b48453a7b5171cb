// The shim launcher (launcher.hpp): one fork per container instead of one exec.

#include "launcher.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/resident.hpp"
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

/// The launch a request asks for (see valid()).
Launch launch_of(const nlohmann::json& body) {
    Launch l;
    l.exec_dir = body.value("dir", "");
    l.debug = body.value("debug", false);
    return l;
}

/// An absolute exec dir, and descriptors 0, 1 (the ready pipe) and 2 at least, and the
/// monitor connection after them.
bool valid(const Launch& l, const shimproto::Message& msg) {
    return !l.exec_dir.empty() && l.exec_dir[0] == '/' && msg.fds.size() >= 4;
}

/// What a new shim does first, in whichever child it runs: its own session, its descriptors,
/// its name. False (and the ready pipe told) when the descriptors can't be placed.
bool become_shim(shimproto::Message& msg, const Launch& l, std::span<char> args) {
    ::signal(SIGCHLD, SIG_DFL);
    ::setsid();
    if (!place_descriptors(msg.fds)) {
        report_failure(msg.fds, std::string("descriptors: ") + std::strerror(errno));
        return false;
    }
    // Their numbers are now the shim's 0..n-1 or closed: forget them, don't close them.
    for (auto& fd : msg.fds) (void)fd.release();
    set_command_line(args, l.exec_dir);
    return true;
}

/// The next shim, forked before it is asked for: the fork and the new process's first steps
/// (~0.15 ms on our machines, its page faults mostly) happen between two starts instead of in
/// one. It waits on its end of a socket pair for a launch request, and exits when the other
/// end is closed: berthd's, which the launcher hands over (see offer_spare).
struct Spare {
    UniqueFd sock;  ///< the other end
};

/// Forks a spare (an empty Spare when that fails: launches fork then). In the spare, returns
/// only with the launch it was given, its descriptors already in place.
Spare fork_spare(std::span<char> args, std::optional<Launch>& became) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) return {};
    UniqueFd ours(pair[0]), theirs(pair[1]);
    // The fork and the spare's first steps under SCHED_IDLE: they come right after a hand-over,
    // while the shim that was handed the launch sets its container up, and on two CPUs (the
    // shim, berthd's own work) they took a share of its time (A/B of `run --rm`: 5% at nice 19,
    // 1.5% more at SCHED_IDLE, which a woken task preempts at once). Nobody waits for the
    // spare; the launcher goes back to its policy at once, the spare once it waits.
    const int base = ::sched_getscheduler(0);
    struct sched_param prio {};
    (void)::sched_getparam(0, &prio);
    struct sched_param none {};
    (void)::sched_setscheduler(0, SCHED_IDLE, &none);
    // The change alone does not hand the CPU over (the kernel reschedules on a change of
    // priority, and SCHED_IDLE's is the same): the shim just handed its launch, woken with us,
    // would wait for the whole fork.
    ::sched_yield();
    pid_t pid = ::fork();
    if (pid != 0) {
        (void)::sched_setscheduler(0, base, &prio);
        if (pid < 0) return {};
        return Spare{std::move(ours)};
    }

    // The spare: nothing of the launcher's above stdio but its own socket. Not berthd's
    // connection (the launcher alone holds it, so that berthd sees it close when the launcher
    // goes), nor any descriptor of a request in hand (a shim's ready pipe or monitor
    // connection, whose EOF berthd waits for).
    (void)ours.release();
    const unsigned keep = static_cast<unsigned>(theirs.get());
    if ((keep > 3 && ::syscall(SYS_close_range, 3U, keep - 1, 0U) != 0) ||
        ::syscall(SYS_close_range, keep + 1, ~0U, 0U) != 0)
        ::_exit(1);
    set_command_line(args, "(spare)");
    // Woken by a launch, it must not wait as an idle task behind whatever else is runnable (the
    // launcher forking the next spare, the kernel's workers): its policy is back before it waits.
    (void)::sched_setscheduler(0, base, &prio);
    for (;;) {
        auto msg = shimproto::recv_message(theirs.get());
        if (!msg) {
            if (msg.error().code == Errc::Unavailable) ::_exit(0);  // berthd let it go
            continue;
        }
        Launch l = launch_of(msg->body);
        theirs.reset();  // before its number can be one of the shim's
        if (!valid(l, *msg)) {
            report_failure(msg->fds, "bad launch request: " + msg->body.dump());
            ::_exit(1);
        }
        if (!become_shim(*msg, l, args)) ::_exit(1);
        became = std::move(l);
        return {};
    }
}

/// Forks a spare and hands berthd its end of the spare's socket ({"op":"spare"} and the
/// descriptor): berthd sends the next launch request to the spare itself, rather than
/// through the launcher, which was a hand-over more (a wake-up of the launcher, then of the
/// spare) on the path of every start. In the spare, returns with the launch it was given.
void offer_spare(int sock, std::span<char> args, std::optional<Launch>& became) {
    Spare spare = fork_spare(args, became);
    if (became || !spare.sock) return;
    // Failing, berthd has no spare and sends its next request here (our copy closes: the
    // spare exits).
    (void)shimproto::send_message(sock, {{"op", "spare"}}, {spare.sock.get()});
}

}  // namespace

void report_start_failure(int ready_fd, const std::string& what) {
    std::string line = nlohmann::json{{"error", "berth-shim: " + what}}.dump() + "\n";
    (void)write_all(ready_fd, line, "the ready pipe");
}

Launch serve_launches(int sock, std::span<char> args) {
    // The launcher never waits for its shims: the kernel reaps them.
    ::signal(SIGCHLD, SIG_IGN);
    std::optional<Launch> became;
    offer_spare(sock, args, became);
    if (became) return std::move(*became);
    // Idle, the launcher gives back what its start-up and forks ran (its pages count in
    // berthd's idle memory), as the shims and berthd do: after a quiet while, not after each
    // request (reading /proc/self/smaps takes a millisecond or two).
    constexpr int kIdleDropMs = 2000;
    bool active = true;
    for (;;) {
        if (active) {
            struct pollfd p {sock, POLLIN, 0};
            int n = ::poll(&p, 1, kIdleDropMs);
            if (n == 0) {
                give_back_idle_memory();
                active = false;
            }
            if (n <= 0) continue;
        }
        active = true;
        auto msg = shimproto::recv_message(sock);
        if (!msg) {
            if (msg.error().code == Errc::Unavailable) std::exit(0);  // berthd is gone
            BLOG_ERROR("shim launcher: {}", msg.error().what());
            continue;
        }
        // berthd took the spare: the next one.
        if (msg->body.value("op", "") == "spare-taken") {
            offer_spare(sock, args, became);
            if (became) return std::move(*became);
            continue;
        }
        // A launch request: berthd had no spare (none offered yet, or it was gone).
        Launch l = launch_of(msg->body);
        if (!valid(l, *msg)) {
            report_failure(msg->fds, "bad launch request: " + msg->body.dump());
            continue;
        }
        pid_t pid = ::fork();
        if (pid < 0) {
            report_failure(msg->fds, std::string("fork: ") + std::strerror(errno));
            continue;
        }
        if (pid == 0) {  // the new shim
            if (!become_shim(*msg, l, args)) ::_exit(1);
            return l;
        }
        // No descriptor of a request may be open in this frame when a spare is forked: the
        // spare closes every inherited one, and returns through this frame once it is a shim,
        // where a stale UniqueFd would close a number that is now one of its own.
        msg->fds.clear();  // the shim has its own copies
        // berthd may hold one already, or one may be on its way: it keeps the newest.
        offer_spare(sock, args, became);
        if (became) return std::move(*became);
    }
}

}  // namespace berth::shim
