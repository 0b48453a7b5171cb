#include "deferred_removal.hpp"

#include <sys/mount.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/mounts.hpp"

namespace berth::engine {

DeferredRemoval::~DeferredRemoval() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
}

namespace {

// Detaches the mounts the caller knows of, then offers the tree to `reuse` (if any), else
// removes it. A mount it didn't know of (left by a daemon that stopped in between) stops
// remove_all at the mount point: then every mount below the tree goes, as found in mountinfo,
// and the removal is tried again.
Result<void> remove_tree(const std::string& path, const std::vector<std::string>& mounts,
                         const std::function<bool(const std::string&)>* reuse = nullptr) {
    for (const auto& m : mounts) (void)::umount2(path_join(path, m).c_str(), MNT_DETACH);
    if (reuse && *reuse && (*reuse)(path)) return {};
    if (auto r = remove_all(path); r) return r;
    BERTH_TRY(detach_mounts_under(path));
    return remove_all(path);
}

}  // namespace

Result<void> DeferredRemoval::move_and_remove(const std::string& dir, const std::string& trash,
                                              std::vector<std::string> mounts, bool reusable) {
    // rename(2) refuses only a directory that is itself a mount point, not one that holds one.
    if (::rename(dir.c_str(), trash.c_str()) != 0) return remove_tree(dir, mounts);  // missing: ok
    remove(trash, std::move(mounts), reusable);
    return {};
}

void DeferredRemoval::remove(std::string trash, std::vector<std::string> mounts, bool reusable) {
    std::lock_guard lk(mu_);
    queue_.push_back({std::move(trash), std::move(mounts), reusable});
    if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
    cv_.notify_one();
}

void DeferredRemoval::run() {
    // Nobody waits for this thread: SCHED_IDLE, so that it yields a CPU at once to the request,
    // shim or client that wakes up (on two cores `run --rm`'s client would otherwise wait for
    // the unmount and unlinks of its own container). At nice 10 (tried) it still kept the CPU
    // until its slice ran out: the scheduler (EEVDF) lets a running task reach its deadline.
    struct sched_param idle {};
    (void)::sched_setscheduler(0, SCHED_IDLE, &idle);
    for (;;) {
        Tree tree;
        {
            std::unique_lock lk(mu_);
            cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
            if (stop_ || queue_.empty()) return;
            tree = std::move(queue_.front());
            queue_.pop_front();
        }
        if (auto r = remove_tree(tree.path, tree.mounts, tree.reusable ? &reuse_ : nullptr); !r)
            BLOG_WARN("remove {}: {} (retried at the next start)", tree.path, r.error().what());
    }
}

}  // namespace berth::engine
