#include "berth/common/async_hasher.hpp"

namespace berth {

AsyncHasher::AsyncHasher(std::string_view algorithm) : hasher_(algorithm) {}

AsyncHasher::~AsyncHasher() {
    {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return job_ == nullptr; });
        stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
}

void AsyncHasher::update(const void* data, size_t len) {
    if (len == 0) return;
    if (!worker_.joinable() && len < kInlineBelow) {
        // A short stream (one small buffer) is not worth a thread: hashed here and now.
        hasher_.update(data, len);
        size_ += len;
        return;
    }
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return job_ == nullptr; });
    job_ = data;
    job_len_ = len;
    size_ += len;
    if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
    lk.unlock();
    cv_.notify_all();
}

void AsyncHasher::wait() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return job_ == nullptr; });
}

Digest AsyncHasher::finish() {
    wait();
    return hasher_.finish();  // the worker is idle: hasher_ is ours again
}

void AsyncHasher::run() {
    std::unique_lock lk(mu_);
    for (;;) {
        cv_.wait(lk, [&] { return stop_ || job_ != nullptr; });
        if (job_ == nullptr) return;  // stopping
        const void* data = job_;
        size_t len = job_len_;
        lk.unlock();
        hasher_.update(data, len);
        lk.lock();
        job_ = nullptr;
        cv_.notify_all();
    }
}

}  // namespace berth
