#include "deferred_removal.hpp"

#include <cstdio>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"

namespace berth::engine {

DeferredRemoval::~DeferredRemoval() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
}

Result<void> DeferredRemoval::move_and_remove(const std::string& dir, const std::string& trash) {
    if (::rename(dir.c_str(), trash.c_str()) != 0) return remove_all(dir);  // missing: ok
    remove(trash);
    return {};
}

void DeferredRemoval::remove(std::string trash) {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(trash));
    if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
    cv_.notify_one();
}

void DeferredRemoval::run() {
    for (;;) {
        std::string path;
        {
            std::unique_lock lk(mu_);
            cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
            if (stop_ || queue_.empty()) return;
            path = std::move(queue_.front());
            queue_.pop_front();
        }
        if (auto r = remove_all(path); !r)
            BLOG_WARN("remove {}: {} (retried at the next start)", path, r.error().what());
    }
}

}  // namespace berth::engine
