// berthd's end of the shim launcher (shim_launcher.hpp).

#include "shim_launcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>

#include <nlohmann/json.hpp>

#include "berth/common/log.hpp"
#include "berth/shimproto/channel.hpp"

extern char** environ;

namespace berth::engine {

ShimLauncher::~ShimLauncher() {
    std::vector<Reaper> reapers;
    {
        std::lock_guard lk(mu_);
        conn_.reset();  // the launcher's EOF: it exits, and its reaper returns
        reapers = std::move(reapers_);
    }
    for (auto& r : reapers) r.thread.join();
}

void ShimLauncher::reap(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::lock_guard lk(mu_);
    if (pid_ != pid) return;  // replaced already
    if (conn_) BLOG_WARN("shim launcher (pid {}) is gone (status {:#x})", pid, status);
    conn_.reset();
    spare_.reset();
    pid_ = -1;
}

void ShimLauncher::collect_spares_locked() {
    while (conn_) {
        struct pollfd p {conn_.get(), POLLIN, 0};
        if (::poll(&p, 1, 0) != 1 || !(p.revents & POLLIN)) return;
        auto m = shimproto::recv_message(conn_.get());
        if (!m) return;  // gone: the send says so
        if (m->body.value("op", "") == "spare" && m->fds.size() == 1) spare_ = std::move(m->fds[0]);
    }
}

pid_t ShimLauncher::pid() const {
    std::lock_guard lk(mu_);
    return pid_;
}

Result<void> ShimLauncher::prepare() {
    std::lock_guard lk(mu_);
    if (conn_) return {};
    return spawn_locked();
}

Result<void> ShimLauncher::spawn_locked() {
    auto [ours, theirs] = BERTH_TRY(shimproto::seqpacket_pair());
    UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null_fd) return BERTH_SYS_ERROR("open /dev/null");
    // 0 and 1 /dev/null, 2 our stderr (where the launcher's own errors belong), 3 its end of
    // the connection; nothing else (a descriptor another thread opened without O_CLOEXEC would
    // otherwise be held by the launcher and by every shim until it closes it).
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, null_fd.get(), 0);
    posix_spawn_file_actions_adddup2(&fa, null_fd.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, 2, 2);
    posix_spawn_file_actions_adddup2(&fa, theirs.get(), 3);
    posix_spawn_file_actions_addclosefrom_np(&fa, 4);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    // The blanks are where each shim writes its own command line (launcher.cpp).
    std::string bin = bin_, mode = "--launcher", room(title_room_, ' ');
    char* argv[] = {bin.data(), mode.data(), room.data(), nullptr};
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, bin.c_str(), &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return sys_error(rc, "start {}", bin_);
    conn_ = std::move(ours);
    spare_.reset();  // an earlier launcher's
    pid_ = pid;
    BLOG_DEBUG("shim launcher started: pid {}", pid_);
    // The reapers of launchers that are gone have returned: join them rather than keep them.
    std::erase_if(reapers_, [](Reaper& r) {
        if (!r.done->load()) return false;
        r.thread.join();
        return true;
    });
    auto done = std::make_shared<std::atomic<bool>>(false);
    reapers_.push_back({std::thread([this, pid, done] {
                            reap(pid);
                            done->store(true);
                        }),
                        done});
    return {};
}

Result<void> ShimLauncher::launch(const std::string& exec_dir, const std::vector<int>& fds,
                                  bool debug) {
    if (fds.size() > shimproto::kMaxMessageFds)
        return make_error(Errc::InvalidArgument, "too many streams attached before the start ({})",
                          fds.size());
    std::lock_guard lk(mu_);
    const nlohmann::json req = {{"dir", exec_dir}, {"debug", debug}};
    collect_spares_locked();
    if (spare_) {
        auto sent = shimproto::send_message(spare_.get(), req, fds);
        spare_.reset();  // what was sent stays readable
        if (sent) {
            // The launcher makes the next one (its wake-up comes after the request).
            if (conn_) (void)shimproto::send_message(conn_.get(), {{"op", "spare-taken"}});
            return {};
        }
        // The spare was gone (killed): the launcher forks the shim, and then the next spare.
    }
    for (int attempt = 0;; ++attempt) {
        if (!conn_) BERTH_TRY(spawn_locked());
        auto sent = shimproto::send_message(conn_.get(), req, fds);
        if (sent || sent.error().code != Errc::Unavailable || attempt > 0) return sent;
        // Killed, or gone on an error of its own (on our stderr), and not reaped yet (its
        // reaper does that): start another, once.
        BLOG_WARN("shim launcher (pid {}) is gone; starting another", pid_);
        conn_.reset();
        pid_ = -1;
    }
}

}  // namespace berth::engine
