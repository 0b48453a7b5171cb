#pragma once
// Network namespaces made by the daemon ahead of the containers that get one of their own (the
// default network and "none"), as libnetwork makes each container's sandbox: a namespace with
// its loopback up, bind-mounted to a file under <exec-root>/netns, which the container's spec
// joins by path. Making one (the kernel's setup_net and bringing lo up) took about half a
// millisecond of every start on a two-core machine; a thread of its own keeps one ready, so a
// start only takes it. The next networks (bridges, veths) will be set up in that namespace
// before the container's process exists, as libnetwork does.
//
// A namespace lives as long as its file is mounted: discard() has it unmounted and removed
// after its container exited (the kernel frees it when the container's last process is gone too).
// A daemon that stops leaves those of running containers in place (they are in their records)
// and its ready ones, which the next daemon releases (release_unused()).

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"

namespace berth::engine {

class NetnsPool {
public:
    /// `dir` holds the namespaces' files (created if missing); `ready` is how many are kept
    /// made in advance. The constructing thread's network namespace is the daemon's.
    NetnsPool(std::string dir, size_t ready = 1);
    NetnsPool(const NetnsPool&) = delete;
    NetnsPool& operator=(const NetnsPool&) = delete;
    /// Stops the thread and releases the namespaces made in advance (not those handed out).
    ~NetnsPool();

    /// A namespace's file for a container to join: a ready one, or one made now if none is.
    /// The caller owns it (discard() or release()). The thread makes the next one when told
    /// to (refill()), not at once: woken here, it took the CPU from the very start it was
    /// taken for (a start's next 0.2 ms, on two cores).
    [[nodiscard]] Result<std::string> take();

    /// Has the thread make the namespaces take() used, and release the discarded ones: call it
    /// where the caller waits anyway (a start, while its container's process is being set up).
    void refill();

    /// Unmounts and removes a namespace's file (nothing if it is not there).
    static void release(const std::string& path);

    /// release(), on the pool's thread: a container's exit is on the path of whoever waits
    /// for it (`run --rm`), and the unmount that ends the namespace need not be (nor the
    /// kernel's teardown of the namespace that follows). At the next refill(), or within
    /// kDiscardDelay; inline when the thread was never started.
    void discard(std::string path);

    /// Releases every file in the directory that is not in `in_use` (an earlier daemon's).
    void release_unused(const std::set<std::string>& in_use);

private:
    /// Makes one on the calling thread, which ends up back in the daemon's namespace.
    Result<std::string> make();
    void run();

    std::string dir_;
    size_t want_;
    UniqueFd home_;  ///< the daemon's network namespace
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::string> ready_;
    std::deque<std::string> doomed_;  ///< discarded, for the thread to release
    std::set<std::string> making_;  ///< being made (by the thread or a take())
    bool stop_ = false;
    bool wake_ = false;  ///< refill() or an empty take(): the thread has work to do now
    static constexpr std::chrono::milliseconds kDiscardDelay{1000};
    std::thread worker_;  ///< started with the first take()
};

}  // namespace berth::engine
