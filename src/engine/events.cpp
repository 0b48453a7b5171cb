#include "berth/engine/events.hpp"

#include <algorithm>
#include <chrono>

#include "berth/common/time.hpp"

namespace berth::engine {

EventSubscription::~EventSubscription() {
    if (bus_) bus_->unsubscribe(this);
}

void EventSubscription::push(const Event& e) {
    if (match_ && !match_(e)) return;
    {
        std::lock_guard lk(mu_);
        if (closed_) return;
        if (queue_.size() >= EventBus::kMaxQueued) queue_.pop_front();
        queue_.push_back(e);
    }
    cv_.notify_one();
}

std::optional<Event> EventSubscription::next(int timeout_ms) {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms),
                 [&] { return closed_ || !queue_.empty(); });
    if (closed_ || queue_.empty()) return std::nullopt;
    Event e = std::move(queue_.front());
    queue_.pop_front();
    return e;
}

void EventSubscription::close() {
    {
        std::lock_guard lk(mu_);
        closed_ = true;
        queue_.clear();
    }
    cv_.notify_all();
}

void EventBus::publish(Event e) {
    if (e.time_nano == 0) e.time_nano = now_unix_nanos();
    std::lock_guard lk(mu_);
    ring_.push_back(e);
    if (ring_.size() > kCapacity) ring_.pop_front();
    for (auto* s : subs_) s->push(e);
}

std::unique_ptr<EventSubscription> EventBus::subscribe(std::optional<int64_t> since_nano,
                                                       std::function<bool(const Event&)> match) {
    std::unique_ptr<EventSubscription> sub(new EventSubscription(this, std::move(match)));
    std::lock_guard lk(mu_);
    // Replay and registration under one lock: nothing published in between is lost or doubled.
    if (since_nano) {
        for (const auto& e : ring_)
            if (e.time_nano >= *since_nano) sub->push(e);
    }
    subs_.push_back(sub.get());
    return sub;
}

std::vector<Event> EventBus::recent() const {
    std::lock_guard lk(mu_);
    return {ring_.begin(), ring_.end()};
}

void EventBus::unsubscribe(EventSubscription* s) {
    std::lock_guard lk(mu_);
    subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
}

}  // namespace berth::engine
