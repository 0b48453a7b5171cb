#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "berth/common/fs.hpp"
#include "berth/common/safe_path.hpp"

namespace berth {
namespace {

class SafePath : public ::testing::TestWithParam<bool> {
protected:
    void SetUp() override {
        if (GetParam()) ::setenv("BERTH_TEST_DISABLE", "openat2", 1);
        else ::unsetenv("BERTH_TEST_DISABLE");
        char tmpl[] = "/tmp/berth-safepath-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        ASSERT_TRUE(mkdir_all(dir_ + "/root/etc"));
        ASSERT_TRUE(mkdir_all(dir_ + "/outside"));
        ASSERT_TRUE(atomic_write_file(dir_ + "/root/etc/passwd", "inside"));
        ASSERT_TRUE(atomic_write_file(dir_ + "/outside/passwd", "outside"));
        // Escapes that must stay inside root.
        ASSERT_EQ(::symlink("/etc", (dir_ + "/root/abs").c_str()), 0);
        ASSERT_EQ(::symlink("../../../../outside", (dir_ + "/root/rel").c_str()), 0);
        ASSERT_EQ(::symlink("loop", (dir_ + "/root/loop").c_str()), 0);
        rootfd_.reset(::open((dir_ + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        ASSERT_TRUE(rootfd_);
    }
    void TearDown() override {
        ::unsetenv("BERTH_TEST_DISABLE");
        (void)remove_all(dir_);
    }
    std::string read_fd(int fd) {
        char buf[64] = {};
        ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
        return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    }
    std::string dir_;
    UniqueFd rootfd_;
};

TEST_P(SafePath, AbsoluteSymlinkResolvesInsideRoot) {
    auto fd = open_in_root(rootfd_.get(), "/abs/passwd", O_RDONLY);
    ASSERT_TRUE(fd) << fd.error().what();
    EXPECT_EQ(read_fd(fd->get()), "inside");
}

TEST_P(SafePath, DotDotCannotClimbOut) {
    auto fd = open_in_root(rootfd_.get(), "../../../etc/passwd", O_RDONLY);
    ASSERT_TRUE(fd) << fd.error().what();
    EXPECT_EQ(read_fd(fd->get()), "inside");
    auto rel = open_in_root(rootfd_.get(), "/rel/passwd", O_RDONLY);
    EXPECT_FALSE(rel);  // ../outside resolves to /outside inside root: does not exist
}

TEST_P(SafePath, SymlinkLoopIsAnError) {
    auto fd = open_in_root(rootfd_.get(), "/loop/x", O_RDONLY);
    ASSERT_FALSE(fd);
    EXPECT_EQ(fd.error().sys_errno, ELOOP);
}

TEST_P(SafePath, MkdirAllThroughSymlinkStaysInside) {
    auto fd = mkdir_all_in_root(rootfd_.get(), "/abs/new/deeper");
    ASSERT_TRUE(fd) << fd.error().what();
    EXPECT_TRUE(path_exists(dir_ + "/root/etc/new/deeper"));
    auto f = ensure_in_root(rootfd_.get(), "/rel/file", false);
    ASSERT_TRUE(f) << f.error().what();
    EXPECT_TRUE(path_exists(dir_ + "/root/outside/file"));
    EXPECT_FALSE(path_exists(dir_ + "/outside/file"));
}

TEST(FdPath, Formats) {
    char buf[32];
    EXPECT_STREQ(fd_path(123, buf), "/proc/self/fd/123");
    EXPECT_STREQ(fd_path(0, buf), "/proc/self/fd/0");
}

INSTANTIATE_TEST_SUITE_P(Openat2AndFallback, SafePath, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "fallback" : "openat2"; });

}  // namespace
}  // namespace berth
