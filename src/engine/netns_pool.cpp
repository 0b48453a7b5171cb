#include "netns_pool.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/loopback.hpp"
#include "berth/common/scope_exit.hpp"

namespace berth::engine {

NetnsPool::NetnsPool(std::string dir, size_t ready)
    : dir_(std::move(dir)), want_(ready), home_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {}

NetnsPool::~NetnsPool() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
    for (const auto& p : ready_) release(p);
    for (const auto& p : doomed_) release(p);
}

Result<std::string> NetnsPool::make() {
    if (!home_) return make_error(Errc::Internal, "network namespaces: the daemon's own could not be opened");
    BERTH_TRY(mkdir_all(dir_, 0711));
    std::string path = dir_ + "/" + BERTH_TRY(random_hex(6));
    // Known as ours before the file exists: release_unused() must not take it for a stale one.
    {
        std::lock_guard lk(mu_);
        making_.insert(path);
    }
    ScopeExit made_or_not([this, name = path] {  // a copy: `return path` moves from it
        std::lock_guard lk(mu_);
        making_.erase(name);
    });
    UniqueFd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!file) return BERTH_SYS_ERROR("create {}", path);
    file.reset();
    ScopeExit drop([&] { (void)::unlink(path.c_str()); });
    // This thread alone moves (CLONE_NEWNET doesn't need a single-threaded process) and comes
    // back whatever happens.
    if (::unshare(CLONE_NEWNET) != 0) return BERTH_SYS_ERROR("create a network namespace");
    auto made = [&]() -> Result<void> {
        BERTH_TRY(bring_up_loopback());
        if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0)
            return BERTH_SYS_ERROR("bind the network namespace to {}", path);
        return {};
    }();
    if (::setns(home_.get(), CLONE_NEWNET) != 0) {
        // Not where the daemon's other work expects this thread to be: that must not go on.
        BLOG_ERROR("network namespaces: cannot return to the daemon's: {}", std::strerror(errno));
        std::abort();
    }
    if (!made) return Unexpected(std::move(made).error());
    drop.release();
    return path;
}

Result<std::string> NetnsPool::take() {
    {
        std::lock_guard lk(mu_);
        bool running = worker_.joinable();
        if (!running) worker_ = std::thread([this] { run(); });  // which fills up first
        if (!ready_.empty()) {
            std::string p = std::move(ready_.front());
            ready_.pop_front();
            return p;
        }
        if (running) {
            wake_ = true;
            cv_.notify_one();
        }
    }
    return make();  // a burst of starts outran the thread
}

void NetnsPool::refill() {
    std::lock_guard lk(mu_);
    if (!worker_.joinable() || (ready_.size() >= want_ && doomed_.empty())) return;
    wake_ = true;
    cv_.notify_one();
}

void NetnsPool::run() {
    // At the daemon's priority, although nobody waits for it: making a namespace holds the
    // kernel's network locks (rtnl, pernet), and at idle priority a busy host could stall every
    // other netlink user behind a preempted holder. So it works when told (refill()), where a
    // start waits for its shim and a CPU is free, rather than as soon as there is work.
    std::unique_lock lk(mu_);
    bool woken = true;  // at first: fill up
    for (;;) {
        if (!woken) {
            cv_.wait(lk, [&] { return stop_ || wake_ || !doomed_.empty(); });
            // Discarded ones go with the next refill(), or after a while without one.
            if (!wake_) cv_.wait_for(lk, kDiscardDelay, [&] { return stop_ || wake_; });
            wake_ = false;
        }
        woken = false;
        if (stop_) return;
        while (!doomed_.empty() && !stop_) {
            std::string p = std::move(doomed_.front());
            doomed_.pop_front();
            lk.unlock();
            release(p);
            lk.lock();
        }
        while (ready_.size() < want_ && !stop_) {
            lk.unlock();
            auto p = make();
            lk.lock();
            if (!p) {
                // Starts make theirs (and report why) until a later refill() tries again.
                BLOG_WARN("network namespaces: {}", p.error().what());
                break;
            }
            ready_.push_back(std::move(*p));
        }
    }
}

void NetnsPool::discard(std::string path) {
    if (path.empty()) return;
    {
        std::lock_guard lk(mu_);
        if (worker_.joinable() && !stop_) {
            doomed_.push_back(std::move(path));  // with the next refill(), see run()
            cv_.notify_one();  // for the wait with a timeout
            return;
        }
    }
    release(path);
}

void NetnsPool::release(const std::string& path) {
    if (path.empty()) return;
    (void)::umount2(path.c_str(), MNT_DETACH);
    (void)::unlink(path.c_str());
}

void NetnsPool::release_unused(const std::set<std::string>& in_use) {
    auto names = list_dir(dir_);
    if (!names) return;  // none yet
    std::vector<std::string> stale;
    for (const auto& name : *names)
        if (std::string p = dir_ + "/" + name; !in_use.count(p)) stale.push_back(std::move(p));
    std::lock_guard lk(mu_);
    for (const auto& p : stale)
        if (std::find(ready_.begin(), ready_.end(), p) == ready_.end() && !making_.count(p))
            release(p);
}

}  // namespace berth::engine
