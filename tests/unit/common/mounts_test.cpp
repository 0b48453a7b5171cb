// mountinfo reading: the mount points below a directory, unescaped, deepest first.
#include "berth/common/mounts.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

constexpr std::string_view kMountinfo =
    "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "40 22 0:35 / /var/lib/berth/containers/c1/merged rw,relatime - overlay overlay rw,lowerdir=/a\n"
    "41 40 0:36 / /var/lib/berth/containers/c1/merged/dev rw,nosuid - tmpfs tmpfs rw\n"
    "42 22 0:37 / /var/lib/berth/containers/c10/merged rw,relatime - overlay overlay rw\n"
    "43 22 0:38 / /var/lib/berth/containers/c1/with\\040space rw - tmpfs tmpfs rw\n"
    "44 22 0:39 / /var/lib/berth/containers/c1 rw - tmpfs tmpfs rw\n";

TEST(MountPointsUnder, ListsTheDirectoryAndWhatIsBelowItDeepestFirst) {
    auto got = mount_points_under(kMountinfo, "/var/lib/berth/containers/c1");
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0], "/var/lib/berth/containers/c1/merged/dev");
    EXPECT_EQ(got[1], "/var/lib/berth/containers/c1/with space");
    EXPECT_EQ(got[2], "/var/lib/berth/containers/c1/merged");
    EXPECT_EQ(got[3], "/var/lib/berth/containers/c1");
}

TEST(MountPointsUnder, SiblingWithTheSamePrefixIsNotBelow) {
    for (const auto& p : mount_points_under(kMountinfo, "/var/lib/berth/containers/c1/"))
        EXPECT_EQ(p.find("/c10/"), std::string::npos) << p;
    EXPECT_TRUE(mount_points_under(kMountinfo, "/var/lib/berth/containers/c2").empty());
}

TEST(MountPointsUnder, RootHoldsEverything) {
    EXPECT_EQ(mount_points_under(kMountinfo, "/").size(), 6u);
}

TEST(UnescapeMountinfo, OctalEscapesOnly) {
    EXPECT_EQ(unescape_mountinfo("a\\040b\\011c\\134d"), "a b\tc\\d");
    EXPECT_EQ(unescape_mountinfo("a\\04"), "a\\04");   // cut short: kept as it is
    EXPECT_EQ(unescape_mountinfo("a\\089"), "a\\089");  // not octal
}

}  // namespace
}  // namespace berth
