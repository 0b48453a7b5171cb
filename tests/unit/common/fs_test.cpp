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

TEST(Fs, MkdirAllMakesWhatIsMissingAndRefusesAFile) {
    std::string dir = make_temp();
    ASSERT_TRUE(mkdir_all(dir + "/a", 0700));  // the parent is there: one level
    ASSERT_TRUE(mkdir_all(dir + "/a"));        // there already
    ASSERT_TRUE(mkdir_all(dir + "/a/b/c/d", 0750));  // several levels
    struct stat st {};
    ASSERT_EQ(::stat((dir + "/a/b/c/d").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    ASSERT_EQ(::stat((dir + "/a").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    ASSERT_TRUE(atomic_write_file(dir + "/f", "x"));
    auto leaf = mkdir_all(dir + "/f");
    ASSERT_FALSE(leaf);
    EXPECT_NE(leaf.error().what().find("is not a directory"), std::string::npos) << leaf.error().what();
    auto below = mkdir_all(dir + "/f/g/h");
    ASSERT_FALSE(below);
    EXPECT_NE(below.error().what().find(dir + "/f/g"), std::string::npos) << below.error().what();
    ASSERT_TRUE(remove_all(dir));
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
