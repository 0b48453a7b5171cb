#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "berth/common/fs.hpp"
#include "berth/common/process.hpp"

namespace berth {
namespace {

std::string make_temp() {
    char tmpl[] = "/tmp/berth-fs-test-XXXXXX";
    return ::mkdtemp(tmpl);
}

TEST(Fs, CleanPath) {
    EXPECT_EQ(clean_path("/a//b/./c/.."), "/a/b");
    EXPECT_EQ(clean_path("/../.."), "/");
    EXPECT_EQ(clean_path("a/../../b"), "../b");
    EXPECT_EQ(clean_path(""), ".");
    EXPECT_EQ(dirname_of("/a/b/"), "/a");
    EXPECT_EQ(dirname_of("/a"), "/");
    EXPECT_EQ(path_join("/a/", "/b"), "/a/b");
}

TEST(Fs, AtomicWriteReadAndRemoveAll) {
    std::string dir = make_temp();
    ASSERT_TRUE(mkdir_all(dir + "/x/y/z"));
    ASSERT_TRUE(atomic_write_file(dir + "/x/y/z/f", "hello"));
    auto r = read_file(dir + "/x/y/z/f");
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(*r, "hello");
    ASSERT_EQ(::symlink("/etc", (dir + "/x/link").c_str()), 0);
    ASSERT_TRUE(remove_all(dir));
    EXPECT_FALSE(path_exists(dir));
    EXPECT_TRUE(path_exists("/etc/passwd"));  // the symlink was removed, not followed
}

TEST(Fs, ReadMissingIsNotFound) {
    auto r = read_file("/nonexistent/berth");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::NotFound);
}

TEST(Process, RunCommandFeedsStdinAndCapturesStdout) {
    Command c;
    c.path = "/bin/sh";
    c.args = {"sh", "-c", "cat; exit 3"};
    c.stdin_data = "state-json";
    c.capture_stdout = true;
    auto r = run_command(c);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->out, "state-json");
    EXPECT_EQ(r->status.code, 3);
}

TEST(Process, RunCommandTimesOut) {
    Command c;
    c.path = "/bin/sleep";
    c.args = {"sleep", "10"};
    c.timeout = std::chrono::milliseconds(100);
    auto r = run_command(c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Unavailable);
}

}  // namespace
}  // namespace berth
