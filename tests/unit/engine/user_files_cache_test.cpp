// UserFilesCache: an image's passwd and group files by image ID, the most recently used kept;
// an upper directory counts as empty only with no entry at all.
#include "user_files_cache.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "berth/common/fs.hpp"
#include "host.hpp"

namespace berth::engine {
namespace {

container::UserFiles files(const std::string& passwd) {
    return container::UserFiles{passwd, std::nullopt};
}

TEST(UserFilesCacheTest, KeepsTheMostRecentlyUsed) {
    UserFilesCache c(2);
    EXPECT_FALSE(c.get("sha256:a").has_value());
    c.put("sha256:a", files("a"));
    c.put("sha256:b", files("b"));
    ASSERT_TRUE(c.get("sha256:a").has_value());  // a is now the most recent
    c.put("sha256:c", files("c"));               // b goes
    EXPECT_FALSE(c.get("sha256:b").has_value());
    auto a = c.get("sha256:a");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->passwd, std::optional<std::string>("a"));
    EXPECT_FALSE(a->group.has_value());
    c.put("sha256:a", files("a2"));  // replaced, not added twice
    c.put("sha256:d", files("d"));   // c goes, a stays
    EXPECT_EQ(c.get("sha256:a")->passwd, std::optional<std::string>("a2"));
    EXPECT_FALSE(c.get("sha256:c").has_value());
    EXPECT_TRUE(c.get("sha256:d").has_value());

    UserFilesCache none(0);
    none.put("sha256:a", files("a"));
    EXPECT_FALSE(none.get("sha256:a").has_value());
}

TEST(UserFilesCacheTest, UpperIsEmptyOnlyWithoutEntries) {
    std::string root = test::make_temp_dir("berth-test-userfiles.");
    ASSERT_FALSE(root.empty());
    std::string upper = root + "/upper";
    EXPECT_FALSE(UserFilesCache::upper_is_empty(upper));  // missing: unknown, not empty
    ASSERT_EQ(::mkdir(upper.c_str(), 0755), 0);
    EXPECT_TRUE(UserFilesCache::upper_is_empty(upper));
    // Any entry: a copied-up directory, a whiteout (a 0/0 character device), a file.
    ASSERT_EQ(::mkdir((upper + "/etc").c_str(), 0755), 0);
    EXPECT_FALSE(UserFilesCache::upper_is_empty(upper));
    ASSERT_EQ(::rmdir((upper + "/etc").c_str()), 0);
    ASSERT_TRUE(atomic_write_file(upper + "/.hidden", "", 0644, Durability::Volatile));
    EXPECT_FALSE(UserFilesCache::upper_is_empty(upper));
    (void)remove_all(root);
}

}  // namespace
}  // namespace berth::engine
