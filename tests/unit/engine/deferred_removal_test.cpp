// DeferredRemoval: a tree leaves its place at once and is gone after the worker ran; where it
// cannot be renamed it is removed on the spot; a mount inside it (a container's root
// filesystem) is detached first.
#include "deferred_removal.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "berth/common/fs.hpp"
#include "host.hpp"

namespace berth::engine {
namespace {

class DeferredRemovalTest : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = test::make_temp_dir("berth-test-deferred.");
        ASSERT_FALSE(root_.empty());
    }
    void TearDown() override { (void)remove_all(root_); }

    // root_/name with a few files and a subdirectory.
    std::string make_tree(const std::string& name) {
        std::string d = root_ + "/" + name;
        EXPECT_TRUE(mkdir_all(d + "/upper/etc", 0755));
        for (const char* f : {"/hosts", "/config.v2.json", "/upper/etc/passwd"})
            EXPECT_TRUE(atomic_write_file(d + f, "x", 0644, Durability::Volatile));
        return d;
    }

    std::string root_;
};

bool gone_within(const std::string& path, std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (path_exists(path)) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

TEST_F(DeferredRemovalTest, TreeLeavesAtOnceAndIsRemovedLater) {
    DeferredRemoval r;
    std::string dir = make_tree("c1"), trash = root_ + "/.removing-c1";
    ASSERT_TRUE(r.move_and_remove(dir, trash));
    EXPECT_FALSE(path_exists(dir));  // the name is free when the call returns
    EXPECT_TRUE(gone_within(trash, std::chrono::seconds(5)));
}

TEST_F(DeferredRemovalTest, RemovesNowWhereItCannotRename) {
    DeferredRemoval r;
    std::string dir = make_tree("c2");
    // The trash's directory does not exist: rename fails, the tree is removed in the call.
    ASSERT_TRUE(r.move_and_remove(dir, root_ + "/missing/.removing-c2"));
    EXPECT_FALSE(path_exists(dir));
}

TEST_F(DeferredRemovalTest, MissingTreeIsNotAnError) {
    DeferredRemoval r;
    EXPECT_TRUE(r.move_and_remove(root_ + "/nothing", root_ + "/.removing-nothing"));
}

TEST_F(DeferredRemovalTest, QueuedLeftoversAreRemovedInOrder) {
    std::string a = make_tree(".removing-a"), b = make_tree(".removing-b");
    {
        DeferredRemoval r;
        r.remove(a);
        r.remove(b);
        EXPECT_TRUE(gone_within(b, std::chrono::seconds(5)));
    }
    EXPECT_FALSE(path_exists(a));
}

// Mounts a tmpfs at `dir` inside a mount namespace of this test process's own (made private,
// so nothing reaches the host's). False where that isn't possible (not root).
bool mount_scratch(const std::string& dir) {
    static bool own_ns = ::geteuid() == 0 && ::unshare(CLONE_NEWNS) == 0 &&
                         ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
    if (!own_ns) return false;
    if (!mkdir_all(dir, 0755)) return false;
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=1m") != 0) return false;
    return static_cast<bool>(atomic_write_file(dir + "/inside", "x", 0644, Durability::Volatile));
}

TEST_F(DeferredRemovalTest, MountTheCallerNamesIsDetachedFirst) {
    // Must run before the worker thread exists: unshare(CLONE_NEWNS) refuses a threaded process.
    std::string dir = make_tree("c3");
    if (!mount_scratch(dir + "/merged")) GTEST_SKIP() << "needs root to mount";
    DeferredRemoval r;
    std::string trash = root_ + "/.removing-c3";
    ASSERT_TRUE(r.move_and_remove(dir, trash, {"merged"}));
    EXPECT_FALSE(path_exists(dir));
    EXPECT_TRUE(gone_within(trash, std::chrono::seconds(5)));
}

// A mount nobody named (a daemon stopped before unmounting it) is found in mountinfo.
TEST_F(DeferredRemovalTest, UnnamedMountIsFoundAndDetached) {
    std::string dir = make_tree("c4");
    if (!mount_scratch(dir + "/merged")) GTEST_SKIP() << "needs root to mount";
    DeferredRemoval r;
    ASSERT_TRUE(r.move_and_remove(dir, root_ + "/missing/.removing-c4"));
    EXPECT_FALSE(path_exists(dir));
}

}  // namespace
}  // namespace berth::engine
