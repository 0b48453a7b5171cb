// SpareDirs: a removed container's directory comes back empty (a new upper/, work/ emptied,
// merged/ kept) under the next container's name; at most `keep` wait; one that still holds a
// mount is not taken; DeferredRemoval hands it its reusable trees.
#include "spare_dirs.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "berth/common/fs.hpp"
#include "deferred_removal.hpp"
#include "host.hpp"

namespace berth::engine {
namespace {

class SpareDirsTest : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = test::make_temp_dir("berth-test-spare.");
        ASSERT_FALSE(root_.empty());
    }
    void TearDown() override {
        (void)::umount2((root_ + "/.removing-c3/merged").c_str(), MNT_DETACH);
        (void)remove_all(root_);
    }

    // What a container leaves behind: its record, log, a written upper/ (with a changed mode
    // and an extended attribute), overlayfs' work/work, an empty merged/.
    std::string make_container(const std::string& name) {
        std::string d = root_ + "/" + name;
        EXPECT_TRUE(mkdir_all(d + "/upper/etc", 0755));
        EXPECT_TRUE(mkdir_all(d + "/work/work/incompat/volatile", 0700));
        EXPECT_TRUE(mkdir_all(d + "/merged", 0755));
        for (const char* f : {"/config.v2.json", "/c-json.log", "/upper/etc/secret"})
            EXPECT_TRUE(atomic_write_file(d + f, "x", 0644, Durability::Volatile));
        EXPECT_EQ(::chmod((d + "/upper").c_str(), 0700), 0);
        (void)::setxattr((d + "/upper").c_str(), "user.mark", "1", 1, 0);  // tmpfs may refuse
        return d;
    }
    std::vector<std::string> entries(const std::string& dir) {
        auto n = list_dir(dir);
        EXPECT_TRUE(n) << dir;
        std::vector<std::string> v = n ? *n : std::vector<std::string>{};
        std::sort(v.begin(), v.end());
        return v;
    }

    std::string root_;
};

TEST_F(SpareDirsTest, TheLogFileIsHandedOnEmptiedAndTheRotatedOnesGo) {
    SpareDirs spares(root_, 2);
    std::string old = make_container("c1");
    ASSERT_TRUE(atomic_write_file(old + "/c-json.log", "{\"log\":\"secret\\n\"}\n", 0640,
                                  Durability::Volatile));
    ASSERT_TRUE(atomic_write_file(old + "/c-json.log.1", "older\n", 0640, Durability::Volatile));
    struct stat before {};
    ASSERT_EQ(::stat((old + "/c-json.log").c_str(), &before), 0);
    ASSERT_TRUE(spares.park(old));

    std::string next = root_ + "/c2";
    ASSERT_TRUE(spares.take(next, next + "/c2-json.log"));
    EXPECT_EQ(entries(next), (std::vector<std::string>{"c2-json.log", "merged", "upper", "work"}));
    struct stat after {};
    ASSERT_EQ(::stat((next + "/c2-json.log").c_str(), &after), 0);
    EXPECT_EQ(after.st_ino, before.st_ino) << "the same inode, not a new file";
    EXPECT_EQ(after.st_size, 0) << "nothing of the old container's output";
    EXPECT_EQ(after.st_mode & 07777, 0640u);

    // A container without a log file (log driver none) gets none.
    ASSERT_TRUE(spares.park(next));
    std::string third = root_ + "/c3";
    ASSERT_TRUE(spares.take(third));
    EXPECT_EQ(entries(third), (std::vector<std::string>{"merged", "upper", "work"}));
}

TEST_F(SpareDirsTest, AParkedDirectoryComesBackEmptyUnderTheNextName) {
    SpareDirs spares(root_, 2);
    EXPECT_FALSE(spares.take(root_ + "/none-yet"));
    std::string old = make_container("c1");
    ASSERT_TRUE(spares.park(old));
    EXPECT_FALSE(path_exists(old));
    auto names = entries(root_);
    ASSERT_EQ(names.size(), 1u);
    EXPECT_TRUE(SpareDirs::is_spare_name(names[0])) << names[0];

    std::string next = root_ + "/c2";
    ASSERT_TRUE(spares.take(next));
    EXPECT_EQ(entries(next), (std::vector<std::string>{"merged", "upper", "work"}));
    EXPECT_TRUE(entries(next + "/upper").empty());
    EXPECT_TRUE(entries(next + "/work").empty());
    EXPECT_TRUE(entries(next + "/merged").empty());
    struct stat st {};
    ASSERT_EQ(::stat((next + "/upper").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u) << "a new upper/, not the container's";
    char v[8];
    EXPECT_LT(::getxattr((next + "/upper").c_str(), "user.mark", v, sizeof v), 0);
    EXPECT_FALSE(spares.take(root_ + "/c3")) << "only one was parked";
}

TEST_F(SpareDirsTest, KeepsAtMostKeepAndAdoptsWhatAnEarlierDaemonParked) {
    SpareDirs spares(root_, 1);
    ASSERT_TRUE(spares.park(make_container("a")));
    std::string b = make_container("b");
    EXPECT_FALSE(spares.park(b)) << "full";
    EXPECT_TRUE(path_exists(b + "/upper/etc/secret")) << "left for the caller to remove";
    EXPECT_FALSE(spares.adopt(root_ + "/.spare-000000000000"));

    SpareDirs later(root_, 2);  // a new daemon finds the parked one
    std::string parked;
    for (const auto& n : entries(root_))
        if (SpareDirs::is_spare_name(n)) parked = root_ + "/" + n;
    ASSERT_FALSE(parked.empty());
    ASSERT_TRUE(later.adopt(parked));
    EXPECT_TRUE(later.take(root_ + "/c"));
    EXPECT_TRUE(path_exists(root_ + "/c/upper"));
}

TEST_F(SpareDirsTest, AGoneParkedDirectoryIsSkipped) {
    SpareDirs spares(root_, 2);
    ASSERT_TRUE(spares.park(make_container("a")));
    for (const auto& n : entries(root_)) ASSERT_TRUE(remove_all(root_ + "/" + n));
    EXPECT_FALSE(spares.take(root_ + "/c"));
}

TEST_F(SpareDirsTest, AMountStillInsideKeepsItFromBeingParked) {
    if (!test::private_mounts()) GTEST_SKIP() << "needs root (a tmpfs on merged/)";
    SpareDirs spares(root_, 2);
    std::string d = make_container("c3");
    std::string trash = root_ + "/.removing-c3";
    ASSERT_EQ(::rename(d.c_str(), trash.c_str()), 0);
    ASSERT_EQ(::mount("tmpfs", (trash + "/merged").c_str(), "tmpfs", 0, nullptr), 0);
    EXPECT_FALSE(spares.park(trash));
    EXPECT_FALSE(spares.take(root_ + "/c4"));
}

TEST_F(SpareDirsTest, DeferredRemovalParksReusableTreesAndRemovesTheRest) {
    SpareDirs spares(root_, 1);
    DeferredRemoval removal;
    removal.set_reuse([&](const std::string& tree) { return spares.park(tree); });
    ASSERT_TRUE(removal.move_and_remove(make_container("a"), root_ + "/.removing-a", {"merged"}, true));
    ASSERT_TRUE(removal.move_and_remove(make_container("b"), root_ + "/.removing-b", {"merged"}, true));
    ASSERT_TRUE(removal.move_and_remove(make_container("c"), root_ + "/.removing-c", {"merged"}));
    ASSERT_TRUE(test::wait_until([&] { return entries(root_).size() == 1; }, std::chrono::seconds(5)))
        << "one parked, the others removed";
    EXPECT_TRUE(SpareDirs::is_spare_name(entries(root_).front()));
    EXPECT_TRUE(spares.take(root_ + "/d"));
}

}  // namespace
}  // namespace berth::engine
