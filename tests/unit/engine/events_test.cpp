#include "berth/engine/events.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace berth::engine {
namespace {

Event ev(std::string action, std::string id = "x") {
    return Event{"image", std::move(action), std::move(id), {}, 0};
}

TEST(EventBus, LiveEventsReachEverySubscriberInOrder) {
    EventBus bus;
    auto a = bus.subscribe(std::nullopt);
    auto b = bus.subscribe(std::nullopt);
    bus.publish(ev("tag"));
    bus.publish(ev("delete"));
    for (auto* s : {a.get(), b.get()}) {
        auto e1 = s->next(100);
        auto e2 = s->next(100);
        ASSERT_TRUE(e1 && e2);
        EXPECT_EQ(e1->action, "tag");
        EXPECT_EQ(e2->action, "delete");
        EXPECT_GT(e1->time_nano, 0);
        EXPECT_LE(e1->time_nano, e2->time_nano);
        EXPECT_FALSE(s->next(10));
    }
}

TEST(EventBus, SinceReplaysBufferedEventsThenLiveOnes) {
    EventBus bus;
    bus.publish(Event{"image", "old", "1", {}, 100});
    bus.publish(Event{"image", "newer", "2", {}, 200});
    auto s = bus.subscribe(int64_t{150});
    bus.publish(ev("live"));
    EXPECT_EQ(s->next(100)->action, "newer");
    EXPECT_EQ(s->next(100)->action, "live");
    EXPECT_FALSE(s->next(10));
}

TEST(EventBus, FilterAppliesToReplayAndLive) {
    EventBus bus;
    bus.publish(ev("tag", "a"));
    auto s = bus.subscribe(int64_t{0}, [](const Event& e) { return e.actor_id == "b"; });
    bus.publish(ev("tag", "a"));
    bus.publish(ev("untag", "b"));
    auto e = s->next(100);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->action, "untag");
    EXPECT_FALSE(s->next(10));
}

TEST(EventBus, KeepsOnlyTheLastCapacityEvents) {
    EventBus bus;
    for (size_t i = 0; i < EventBus::kCapacity + 10; ++i) bus.publish(ev(std::to_string(i)));
    auto r = bus.recent();
    ASSERT_EQ(r.size(), EventBus::kCapacity);
    EXPECT_EQ(r.front().action, "10");
}

TEST(EventBus, CloseWakesAWaiterAndDestroyUnsubscribes) {
    EventBus bus;
    auto s = bus.subscribe(std::nullopt);
    std::thread t([&] { EXPECT_FALSE(s->next(10000)); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s->close();
    t.join();
    s.reset();
    bus.publish(ev("after"));  // must not touch the destroyed subscription
    SUCCEED();
}

TEST(EventBus, SlowSubscriberDropsOldestBeyondTheQueueLimit) {
    EventBus bus;
    auto s = bus.subscribe(std::nullopt);
    for (size_t i = 0; i < EventBus::kMaxQueued + 5; ++i) bus.publish(ev(std::to_string(i)));
    EXPECT_EQ(s->next(10)->action, "5");
}

}  // namespace
}  // namespace berth::engine
