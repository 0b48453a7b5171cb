#pragma once
// The daemon's event log (moby daemon/events): every action on an object is published once and
// fanned out to the subscribers of `GET /events`. The last kCapacity events are kept, so a
// subscriber with `since` in the past first gets those (moby keeps 256 as well).
//
// Subscribers are independent: each has its own queue, so a slow `docker events` never blocks a
// publisher; a queue that grows beyond kMaxQueued drops its oldest events (moby drops too).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace berth::engine {

/// One event, in moby's terms (events.Message without the deprecated fields, which the API
/// fills in).
struct Event {
    std::string type;    ///< "image", "container", "network", "volume", "daemon"
    std::string action;  ///< "import", "tag", "untag", "delete", "load", "save", "prune", ...
    std::string actor_id;
    std::map<std::string, std::string> attributes;
    int64_t time_nano = 0;  ///< set by publish()
};

class EventBus;

/// A subscription: events published after (and, with `since`, buffered before) subscribe().
/// Unsubscribes when destroyed.
class EventSubscription {
public:
    ~EventSubscription();
    EventSubscription(const EventSubscription&) = delete;
    EventSubscription& operator=(const EventSubscription&) = delete;

    /// Waits up to `timeout_ms` for the next event; nothing on timeout or after close().
    std::optional<Event> next(int timeout_ms);

    /// Wakes a waiting next() and makes every later call return nothing.
    void close();

private:
    friend class EventBus;
    EventSubscription(EventBus* bus, std::function<bool(const Event&)> match)
        : bus_(bus), match_(std::move(match)) {}
    void push(const Event& e);

    EventBus* bus_;
    std::function<bool(const Event&)> match_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Event> queue_;
    bool closed_ = false;
};

/// Publishes events and keeps the recent ones. Thread-safe. Must outlive its subscriptions.
class EventBus {
public:
    static constexpr size_t kCapacity = 256;
    static constexpr size_t kMaxQueued = 1024;

    /// Stamps the event with the current time (unless set), keeps it and hands it to every
    /// subscriber whose filter matches.
    void publish(Event e);

    /// Subscribes. Buffered events with time_nano >= since_nano (when given) that `match` accepts
    /// are queued first, in order; then live ones. `match` may be empty (everything).
    std::unique_ptr<EventSubscription> subscribe(std::optional<int64_t> since_nano,
                                                 std::function<bool(const Event&)> match = {});

    /// The buffered events, oldest first (for tests and `since` without a stream).
    std::vector<Event> recent() const;

private:
    friend class EventSubscription;
    void unsubscribe(EventSubscription* s);

    mutable std::mutex mu_;
    std::deque<Event> ring_;
    std::vector<EventSubscription*> subs_;
};

}  // namespace berth::engine
