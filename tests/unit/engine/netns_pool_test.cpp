// NetnsPool: namespaces of their own with lo up, bound to files, one kept ready, released and
// cleaned up after an earlier daemon. Needs root (skipped otherwise); the bind mounts are made in
// a private mount namespace of this test process.

#include "netns_pool.hpp"

#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "berth/common/fs.hpp"
#include "berth/common/unique_fd.hpp"
#include "host.hpp"

namespace berth::engine {
namespace {

ino_t ns_inode(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// lo's flags as seen from inside the namespace bound at `path` (a thread of its own goes there).
int loopback_flags_in(const std::string& path) {
    int flags = -1;
    std::thread([&] {
        UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns || ::setns(ns.get(), CLONE_NEWNET) != 0) return;
        UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        struct ifreq ifr {};
        std::strcpy(ifr.ifr_name, "lo");
        if (s && ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) == 0) flags = ifr.ifr_flags;
    }).join();
    return flags;
}

// The files in `dir` that are namespaces already (bind-mounted nsfs), not just made.
size_t namespaces_in(const std::string& dir) {
    size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(dir, ec);
         !ec && it != std::filesystem::directory_iterator(); ++it) {
        struct statfs fs {};
        if (::statfs(it->path().c_str(), &fs) == 0 && fs.f_type == NSFS_MAGIC) ++n;
    }
    return n;
}

size_t files_in(const std::string& dir) {
    size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(dir, ec);
         !ec && it != std::filesystem::directory_iterator(); ++it)
        ++n;
    return n;
}

class NetnsPoolTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::private_mounts()) GTEST_SKIP() << "needs root (network namespaces, bind mounts)";
        char tmpl[] = "/tmp/berth-test-netns-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        root_ = tmpl;
        dir_ = root_ + "/netns";
    }
    void TearDown() override {
        if (root_.empty()) return;
        for (const auto& e : std::filesystem::directory_iterator(dir_, ec_))
            NetnsPool::release(e.path());
        std::filesystem::remove_all(root_, ec_);
    }
    // Two namespaces taken, the next one made ready, and the pool's thread idle again.
    std::pair<std::string, std::string> take_two(NetnsPool& pool) {
        auto a = pool.take();
        auto b = pool.take();
        EXPECT_TRUE(a && b);
        pool.refill();
        EXPECT_TRUE(test::wait_until([&] { return namespaces_in(dir_) == 3; }, std::chrono::seconds(5)));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        return {a ? *a : "", b ? *b : ""};
    }

    std::string root_, dir_;
    std::error_code ec_;
};

TEST_F(NetnsPoolTest, TakeGivesANamespaceOfItsOwnWithItsLoopbackUp) {
    NetnsPool pool(dir_);
    auto p = pool.take();
    ASSERT_TRUE(p) << p.error().what();
    EXPECT_EQ(p->rfind(dir_ + "/", 0), 0u) << *p;
    ino_t ns = ns_inode(*p);
    EXPECT_NE(ns, 0u);
    EXPECT_NE(ns, ns_inode("/proc/self/ns/net")) << "not the daemon's namespace";
    EXPECT_NE(ns, ns_inode("/proc/thread-self/ns/net")) << "this thread came back home";
    int flags = loopback_flags_in(*p);
    ASSERT_GE(flags, 0);
    EXPECT_TRUE(flags & IFF_UP);
    auto q = pool.take();
    ASSERT_TRUE(q);
    EXPECT_NE(*q, *p);
    EXPECT_NE(ns_inode(*q), ns);
}

TEST_F(NetnsPoolTest, OneIsKeptReadyAndTheReadyOnesGoWithThePool) {
    std::string taken;
    {
        NetnsPool pool(dir_);
        auto p = pool.take();
        ASSERT_TRUE(p);
        taken = *p;
        EXPECT_TRUE(test::wait_until([&] { return files_in(dir_) == 2; }, std::chrono::seconds(5)))
            << "the thread makes the next one";
    }
    EXPECT_EQ(files_in(dir_), 1u);
    EXPECT_TRUE(path_exists(taken)) << "handed out: the caller's to release";
    NetnsPool::release(taken);
    EXPECT_FALSE(path_exists(taken));
    EXPECT_EQ(files_in(dir_), 0u);
}

TEST_F(NetnsPoolTest, ATakeLeavesTheNextOneToRefill) {
    NetnsPool pool(dir_);
    auto a = pool.take();  // the first: made now, and the thread starts and makes one ready
    ASSERT_TRUE(a) << a.error().what();
    ASSERT_TRUE(test::wait_until([&] { return namespaces_in(dir_) == 2; }, std::chrono::seconds(5)));
    auto b = pool.take();  // the ready one
    ASSERT_TRUE(b);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(files_in(dir_), 2u) << "no namespace made behind the start that took one";
    pool.refill();
    EXPECT_TRUE(test::wait_until([&] { return files_in(dir_) == 3; }, std::chrono::seconds(5)))
        << "refill() has the thread make the next one";
    pool.refill();  // full: nothing more
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(files_in(dir_), 3u);
    NetnsPool::release(*a);
    NetnsPool::release(*b);
}

TEST_F(NetnsPoolTest, ReleaseUnusedLeavesOnlyThoseInUseAndTheReadyOnes) {
    NetnsPool pool(dir_);
    auto [a, b] = take_two(pool);
    pool.release_unused({a});
    EXPECT_TRUE(path_exists(a));
    EXPECT_FALSE(path_exists(b));
    EXPECT_EQ(files_in(dir_), 2u) << "the one in use and the ready one";
    auto c = pool.take();  // the ready one survived: it is still a namespace
    ASSERT_TRUE(c);
    EXPECT_NE(ns_inode(*c), ns_inode("/proc/self/ns/net"));
    EXPECT_GE(loopback_flags_in(*c), 0);
}

TEST_F(NetnsPoolTest, DiscardReleasesOnThePoolsThreadOrAtOnce) {
    {
        NetnsPool idle(dir_);  // its thread never started: released before discard() returns
        auto made = NetnsPool(dir_).take();
        ASSERT_TRUE(made);
        idle.discard(*made);
        EXPECT_FALSE(path_exists(*made));
    }
    NetnsPool pool(dir_);
    auto a = pool.take();
    ASSERT_TRUE(a) << a.error().what();
    ASSERT_TRUE(test::wait_until([&] { return files_in(dir_) == 2; }, std::chrono::seconds(5)));
    pool.discard(*a);
    EXPECT_TRUE(test::wait_until([&] { return !path_exists(*a); }, std::chrono::seconds(5)))
        << "the thread unmounts and removes it";
    EXPECT_EQ(files_in(dir_), 1u) << "the ready one stays";
    pool.discard("");  // nothing to do
    auto b = pool.take();
    ASSERT_TRUE(b);
    pool.discard(*b);
}  // the pool goes: whatever it had not released yet goes with it

TEST_F(NetnsPoolTest, ADiscardedOneGoesWithTheNextRefillOrAfterAWhile) {
    NetnsPool pool(dir_);
    auto [a, b] = take_two(pool);
    auto t0 = std::chrono::steady_clock::now();
    pool.discard(a);
    EXPECT_TRUE(test::wait_until([&] { return !path_exists(a); }, std::chrono::seconds(5)))
        << "released without a refill() too";
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500))
        << "not at once: the exit that discarded it is on someone's path";
    pool.discard(b);
    pool.refill();
    EXPECT_TRUE(test::wait_until([&] { return !path_exists(b); }, std::chrono::milliseconds(400)))
        << "with the refill";
}

TEST_F(NetnsPoolTest, DiscardedAndReadyOnesGoWithThePool) {
    {
        NetnsPool pool(dir_);
        auto a = pool.take();
        auto b = pool.take();
        ASSERT_TRUE(a && b);
        pool.discard(*a);
        pool.discard(*b);
    }
    EXPECT_EQ(files_in(dir_), 0u);
}

}  // namespace
}  // namespace berth::engine
