#pragma once
// A hasher that hashes on a thread of its own, one buffer at a time, so that digesting a large
// stream overlaps with producing and writing it: `docker save` of a 200 MiB layer spends most
// of its CPU in SHA-256, which would otherwise run in turn with the reads and writes.

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#include "berth/common/digest.hpp"

namespace berth {

class AsyncHasher {
public:
    explicit AsyncHasher(std::string_view algorithm = Digest::kSha256);
    /// Waits for the buffer in flight, then stops the thread.
    ~AsyncHasher();
    AsyncHasher(const AsyncHasher&) = delete;
    AsyncHasher& operator=(const AsyncHasher&) = delete;

    /// Hands `len` bytes at `data` to the thread, after the previous buffer is hashed, and
    /// returns at once. The bytes must stay as they are until the next update(), wait() or
    /// finish() returns. The thread starts with the first buffer of kInlineBelow bytes or more
    /// (smaller ones before it are hashed in the call).
    void update(const void* data, size_t len);

    /// Returns once the buffer in flight (if any) is hashed: it may then be reused.
    void wait();

    /// Bytes handed over so far.
    [[nodiscard]] uint64_t size() const noexcept { return size_; }

    /// Digest of everything handed over (waits for the last buffer).
    [[nodiscard]] Digest finish();

    static constexpr size_t kInlineBelow = 256 * 1024;

private:
    void run();

    Hasher hasher_;
    uint64_t size_ = 0;
    std::mutex mu_;
    std::condition_variable cv_;
    const void* job_ = nullptr;  ///< the buffer in flight, null when there is none
    size_t job_len_ = 0;
    bool stop_ = false;
    std::thread worker_;
};

}  // namespace berth
