// Layout parsing and where a container's cgroup goes.

#include <gtest/gtest.h>

#include "berth/cgroups/manager.hpp"
#include "paths.hpp"

namespace berth::cgroups {
namespace {

// This machine's mountinfo (hybrid: v1 controllers plus cgroup2 at .../unified).
const char* kHybridMountinfo =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
const char* kHybridSelf =
    "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
    "4:memory:/process_api/cd80\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";

TEST(Layout, ParsesHybridHost) {
    auto l = parse_layout(kHybridMountinfo, kHybridSelf);
    ASSERT_TRUE(l) << l.error().what();
    EXPECT_FALSE(l->pure_v2());
    EXPECT_EQ(l->v2_mount, "/sys/fs/cgroup/unified");
    EXPECT_EQ(l->v1_mounts.at("cpu"), "/sys/fs/cgroup/cpu");
    EXPECT_EQ(l->v1_mounts.at("memory"), "/sys/fs/cgroup/memory");
    EXPECT_EQ(l->v1_mounts.at("name=systemd"), "/sys/fs/cgroup/systemd");
    EXPECT_EQ(l->v1_mounts.count("rw"), 0u);
    EXPECT_EQ(l->v1_mounts.count("hugetlb"), 0u);
    EXPECT_EQ(l->v1_mounts.size(), 9u);
    EXPECT_EQ(l->own_paths.at("memory"), "/process_api/cd80");
    EXPECT_EQ(l->own_paths.at(""), "/");
}

TEST(Layout, CoMountedControllersShareAMountPoint) {
    auto l = parse_layout(
        "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup "
        "rw,xattr,cpu,cpuacct\n"
        "31 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio\n"
        "32 25 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup "
        "rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd\n",
        "3:cpu,cpuacct:/user.slice\n2:net_cls,net_prio:/\n1:name=systemd:/user.slice/s.scope\n");
    ASSERT_TRUE(l) << l.error().what();
    EXPECT_EQ(l->v1_mounts.at("cpu"), "/sys/fs/cgroup/cpu,cpuacct");
    EXPECT_EQ(l->v1_mounts.at("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
    EXPECT_EQ(l->v1_mounts.at("net_prio"), "/sys/fs/cgroup/net_cls,net_prio");
    EXPECT_EQ(l->v1_mounts.count("xattr"), 0u);
    EXPECT_EQ(l->v1_mounts.count("release_agent=/lib/systemd/systemd-cgroups-agent"), 0u);
    EXPECT_EQ(l->own_paths.at("cpuacct"), "/user.slice");
    EXPECT_EQ(l->own_paths.at("name=systemd"), "/user.slice/s.scope");
    EXPECT_TRUE(l->v2_mount.empty());
}

TEST(Layout, ParsesPureV2AndFirstMountWins) {
    auto l = parse_layout(
        "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
        "rw,nsdelegate,memory_recursiveprot\n"
        "90 23 0:26 / /tmp/other rw - cgroup2 cgroup2 rw\n",
        "0::/user.slice/user-1000.slice/session-2.scope\n");
    ASSERT_TRUE(l) << l.error().what();
    EXPECT_TRUE(l->pure_v2());
    EXPECT_EQ(l->v2_mount, "/sys/fs/cgroup");
    EXPECT_EQ(l->own_paths.at(""), "/user.slice/user-1000.slice/session-2.scope");
}

TEST(Layout, OwnPathIsRelativeToABindMountedRoot) {
    // Docker without a cgroup namespace: the container sees only its sub-tree, mounted with
    // root /docker/abc, while /proc/self/cgroup shows the full path.
    auto l = parse_layout(
        "40 31 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n"
        "41 31 0:38 /docker/abc /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
        "4:memory:/docker/abc/sub\n0::/docker/abc\n");
    ASSERT_TRUE(l) << l.error().what();
    EXPECT_EQ(l->own_paths.at("memory"), "/sub");
    EXPECT_EQ(l->own_paths.at(""), "/");
}

TEST(Layout, UnescapesMountPoints) {
    auto l = parse_layout("40 31 0:32 / /mnt/with\\040space rw - cgroup cgroup rw,pids\n", "");
    ASSERT_TRUE(l) << l.error().what();
    EXPECT_EQ(l->v1_mounts.at("pids"), "/mnt/with space");
}

TEST(Layout, RejectsGarbage) {
    EXPECT_FALSE(parse_layout("no separator here\n", ""));
    EXPECT_FALSE(parse_layout("", "garbage-without-colons\n"));
}

TEST(Layout, DetectsThisHost) {
    // Whatever the machine is, detection must succeed and find at least one hierarchy.
    auto l = detect_layout();
    ASSERT_TRUE(l) << l.error().what();
    EXPECT_TRUE(!l->v1_mounts.empty() || !l->v2_mount.empty());
}

TEST(CgroupsPath, EmptyMeansTheIdRelative) {
    auto p = detail::normalize_cgroups_path({"", "c1"});
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, "c1");
    auto none = detail::normalize_cgroups_path({"", ""});
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, Errc::InvalidArgument);
}

TEST(CgroupsPath, CleansAndKeepsAbsoluteness) {
    EXPECT_EQ(*detail::normalize_cgroups_path({"/a//b/./c/", "x"}), "/a/b/c");
    EXPECT_EQ(*detail::normalize_cgroups_path({"a/b", "x"}), "a/b");
}

TEST(CgroupsPath, RejectsDotDot) {
    for (const char* p : {"../escape", "/a/../../b", "a/.."}) {
        auto r = detail::normalize_cgroups_path({p, "x"});
        ASSERT_FALSE(r) << p;
        EXPECT_EQ(r.error().code, Errc::InvalidArgument) << p;
        EXPECT_NE(r.error().msg.find(".."), std::string::npos);
    }
}

TEST(CgroupsPath, RejectsTheRoot) {
    auto r = detail::normalize_cgroups_path({"/", "x"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
}

TEST(CgroupsPath, SystemdSyntaxIsUnsupported) {
    auto r = detail::normalize_cgroups_path({"system.slice:docker:abc", "abc"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Unsupported);
    EXPECT_NE(r.error().msg.find("systemd"), std::string::npos);
}

TEST(CgroupsPath, RelativeJoinsOwnCgroupAbsoluteDoesNot) {
    EXPECT_EQ(detail::hierarchy_dir("/sys/fs/cgroup/memory", "/process_api/cd80", "c1"),
              "/sys/fs/cgroup/memory/process_api/cd80/c1");
    EXPECT_EQ(detail::hierarchy_dir("/sys/fs/cgroup/memory", "/process_api/cd80", "/berth/c1"),
              "/sys/fs/cgroup/memory/berth/c1");
    EXPECT_EQ(detail::hierarchy_dir("/sys/fs/cgroup/cpu", "/", "c1"), "/sys/fs/cgroup/cpu/c1");
}

TEST(MakeManager, PicksV1ForHybridWithUnifiedDirAndV2ForPureV2) {
    auto hybrid = parse_layout(kHybridMountinfo, kHybridSelf);
    ASSERT_TRUE(hybrid);
    auto m = make_manager(*hybrid, {"", "c1"});
    ASSERT_TRUE(m) << m.error().what();
    EXPECT_FALSE((*m)->is_v2());
    auto paths = (*m)->paths();
    EXPECT_EQ(paths.at("memory"), "/sys/fs/cgroup/memory/process_api/cd80/c1");
    EXPECT_EQ(paths.at("cpu"), "/sys/fs/cgroup/cpu/c1");
    EXPECT_EQ(paths.at("name=systemd"), "/sys/fs/cgroup/systemd/c1");
    EXPECT_EQ(paths.at(""), "/sys/fs/cgroup/unified/c1");

    Layout v2;
    v2.v2_mount = "/sys/fs/cgroup";
    v2.own_paths[""] = "/user.slice";
    auto m2 = make_manager(v2, {"/machine/c2", "c2"});
    ASSERT_TRUE(m2) << m2.error().what();
    EXPECT_TRUE((*m2)->is_v2());
    EXPECT_EQ((*m2)->paths(),
              (std::map<std::string, std::string>{{"", "/sys/fs/cgroup/machine/c2"}}));
}

TEST(MakeManager, ErrorsPropagate) {
    Layout none;
    auto r = make_manager(none, {"", "c1"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Unsupported);
    auto hybrid = parse_layout(kHybridMountinfo, kHybridSelf);
    auto bad = make_manager(*hybrid, {"/a/../b", "c1"});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::InvalidArgument);
}

TEST(LoadManager, RoundTripsPaths) {
    auto hybrid = parse_layout(kHybridMountinfo, kHybridSelf);
    auto m = make_manager(*hybrid, {"/berth/c1", "c1"});
    ASSERT_TRUE(m);
    auto again = load_manager(*hybrid, (*m)->paths());
    ASSERT_TRUE(again) << again.error().what();
    EXPECT_EQ((*again)->paths(), (*m)->paths());
    EXPECT_FALSE((*again)->is_v2());

    auto v2 = load_manager(Layout{}, {{"", "/sys/fs/cgroup/c1"}});
    ASSERT_TRUE(v2);
    EXPECT_TRUE((*v2)->is_v2());
    EXPECT_FALSE(load_manager(*hybrid, {}));
    EXPECT_FALSE(load_manager(*hybrid, {{"memory", "relative/path"}}));
}

}  // namespace
}  // namespace berth::cgroups
