#pragma once
// Directory trees removed on a thread of their own. A removed container's directory holds its
// read/write layer, which may hold any number of files: `docker rm` and `run --rm` should not
// wait for them once nothing can see the container, nor for the unmount of its root filesystem
// (which waits for an expedited RCU grace period). The caller renames the tree out of the way
// (one syscall); its mounts and files go here, one tree after another. A daemon that stops or crashes
// meanwhile leaves the renamed tree, which the next start queues again (ContainerService::
// load_all()).

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "berth/common/result.hpp"

namespace berth::engine {

class DeferredRemoval {
public:
    DeferredRemoval() = default;
    DeferredRemoval(const DeferredRemoval&) = delete;
    DeferredRemoval& operator=(const DeferredRemoval&) = delete;
    /// Finishes the tree being removed; those still queued stay on disk for the next start.
    ~DeferredRemoval();

    /// Renames `dir` to `trash` (the same filesystem) and removes it later, after unmounting
    /// `mounts` (paths relative to the tree: a container's root filesystem) and any other
    /// mount found below it. Where the rename fails (`dir` is missing or on another
    /// filesystem), removes `dir` now and returns that removal's result.
    [[nodiscard]] Result<void> move_and_remove(const std::string& dir, const std::string& trash,
                                               std::vector<std::string> mounts = {},
                                               bool reusable = false);

    /// Queues a tree that is already out of the way (a leftover found at start-up).
    void remove(std::string trash, std::vector<std::string> mounts = {}, bool reusable = false);

    /// What to try, once its mounts are gone, on a tree queued as `reusable` before removing
    /// it: true when it took the tree (a container's directory parked for the next create,
    /// see SpareDirs). Set before the first removal.
    void set_reuse(std::function<bool(const std::string&)> reuse) { reuse_ = std::move(reuse); }

private:
    void run();

    std::mutex mu_;
    std::condition_variable cv_;
    struct Tree {
        std::string path;
        std::vector<std::string> mounts;
        bool reusable = false;
    };
    std::function<bool(const std::string&)> reuse_;
    std::deque<Tree> queue_;
    bool stop_ = false;
    std::thread worker_;  ///< started with the first removal
};

}  // namespace berth::engine
