#include <gtest/gtest.h>

#include "berth/common/result.hpp"

namespace berth {
namespace {

Result<int> fails() { return sys_error(ENOENT, "open {}", "/x"); }
Result<int> wraps() {
    int v = BERTH_TRY_CTX(fails(), "load {}", "config");
    return v + 1;
}
Result<int> passes() {
    int v = BERTH_TRY(Result<int>(41));
    return v + 1;
}

TEST(Result, WrapBuildsContextChainAndKeepsErrno) {
    auto r = wraps();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::NotFound);
    EXPECT_EQ(r.error().sys_errno, ENOENT);
    EXPECT_EQ(r.error().what(), "load config: open /x: no such file or directory");
}

TEST(Result, TryYieldsValue) {
    auto r = passes();
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 42);
}

TEST(Result, ErrnoCategories) {
    EXPECT_EQ(errc_from_errno(EEXIST), Errc::AlreadyExists);
    EXPECT_EQ(errc_from_errno(EPERM), Errc::PermissionDenied);
    EXPECT_EQ(errc_from_errno(ENOSYS), Errc::Unsupported);
    EXPECT_EQ(errc_from_errno(EIO), Errc::Internal);
}

}  // namespace
}  // namespace berth
