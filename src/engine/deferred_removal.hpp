#pragma once
// Directory trees removed on a thread of their own. A removed container's directory holds its
// read/write layer, which may hold any number of files: `docker rm` and `run --rm` should not
// wait for them once nothing can see the container. The caller renames the tree out of the way
// (one syscall), the files go here, one tree after another. A daemon that stops or crashes
// meanwhile leaves the renamed tree, which the next start queues again (ContainerService::
// load_all()).

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "berth/common/result.hpp"

namespace berth::engine {

class DeferredRemoval {
public:
    DeferredRemoval() = default;
    DeferredRemoval(const DeferredRemoval&) = delete;
    DeferredRemoval& operator=(const DeferredRemoval&) = delete;
    /// Finishes the tree being removed; those still queued stay on disk for the next start.
    ~DeferredRemoval();

    /// Renames `dir` to `trash` (the same filesystem) and removes it later. Where the rename
    /// fails (`dir` is missing or on another filesystem), removes `dir` now and returns that
    /// removal's result.
    [[nodiscard]] Result<void> move_and_remove(const std::string& dir, const std::string& trash);

    /// Queues a tree that is already out of the way (a leftover found at start-up).
    void remove(std::string trash);

private:
    void run();

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::string> queue_;
    bool stop_ = false;
    std::thread worker_;  ///< started with the first removal
};

}  // namespace berth::engine
