// A corpus of hostile layer tars. Each must be refused (or, where the entry is meant to be
// resolved inside the root, contained), and never write outside the target: a sentinel tree
// next to the target is compared before and after, and a failed apply leaves the target empty.
// Every case runs with openat2 and with the user-space resolver (BERTH_TEST_DISABLE=openat2).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive_entry.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "berth/archive/tar.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/unique_fd.hpp"
#include "tar_test_util.hpp"

namespace berth::archive {
namespace {

using namespace test;

struct Refused {
    const char* label;
    std::vector<TarEntry> entries;
    const char* expect;  // substring of the error message
};

struct Contained {
    const char* label;
    std::vector<TarEntry> entries;
    const char* landed;  // path (relative to the target) that must now exist
};

std::vector<Refused> refused_corpus() {
    return {
        {"dotdot", {file("good", "g"), file("../berth-evil")}, "'../berth-evil'"},
        {"inner_dotdot", {dir("a"), file("a/../../berth-evil")}, "climbs above the root"},
        {"deep_dotdot", {file("a/b/../../../../berth-evil")}, "climbs above the root"},
        {"relative_symlink_escape",
         {symlink("link", "../../"), file("link/berth-evil")},
         "invalid symlink 'link' -> '../../'"},
        {"symlink_to_sentinel",
         {symlink("link", "../outside"), file("link/secret", "pwn")},
         "invalid symlink"},
        {"dir_replaced_by_escaping_symlink",
         {dir("d"), file("d/f"), symlink("d", "../outside"), file("d/berth-evil")},
         "invalid symlink 'd'"},
        {"nested_symlink_escape",
         {dir("a"), dir("a/b"), symlink("a/b/up", "../../../outside")},
         "invalid symlink 'a/b/up'"},
        {"symlink_chain_escape", {symlink("a", "b"), symlink("b", "../..")}, "invalid symlink 'b'"},
        {"hardlink_dotdot",
         {file("good"), hardlink("hl", "../outside/secret")},
         "hard link 'hl' -> '../outside/secret'"},
        {"hardlink_absolute_host_file",
         {hardlink("hl", "/etc/passwd")},
         "hard link 'hl' -> '/etc/passwd'"},
        {"hardlink_through_root_symlink",
         {symlink("l", "/"), hardlink("hl", "l/etc/passwd")},
         "hard link 'hl'"},
        {"hardlink_to_directory", {dir("d"), hardlink("hl", "d")}, "is a directory"},
        {"hardlink_to_root", {hardlink("hl", "/")}, "hard link 'hl' to the root"},
        {"dangling_symlink_parent",
         {symlink("etc", "/nonexistent"), file("etc/berth-evil")},
         "parent directory 'etc' is a dangling symlink"},
        {"self_loop_symlink_parent",
         {symlink("etc", "/etc"), file("etc/berth-evil")},
         "too many levels of symbolic links"},
        {"parent_is_file", {file("f"), file("f/berth-evil")}, "'f' is not a directory"},
        {"whiteout_dot", {dir("a"), file("a/.wh..")}, "names no file"},
        {"whiteout_dotdot", {dir("a"), file("a/.wh...")}, "names no file"},
        {"replace_root", {file("a/..", "x")}, "replace the root"},
    };
}

std::vector<Contained> contained_corpus() {
    return {
        {"absolute_name", {file("/abs/berth-evil")}, "abs/berth-evil"},
        {"absolute_dotdot_name", {file("/../../berth-evil")}, "berth-evil"},
        {"parent_symlink_to_root", {symlink("link", "/"), file("link/berth-evil")}, "berth-evil"},
        {"parent_symlink_absolute_dotdot",
         {symlink("up", "/../../.."), file("up/berth-evil")},
         "berth-evil"},
        {"dir_replaced_by_root_symlink",
         {dir("d"), file("d/f"), symlink("d", "/"), file("d/berth-evil")},
         "berth-evil"},
        {"absolute_symlink_named_like_sentinel",
         {dir("outside"), symlink("link", "/outside"), file("link/secret", "pwn")},
         "outside/secret"},
        {"hardlink_through_root_symlink_inside",
         {file("x", "data"), symlink("l", "/"), hardlink("hl", "l/x")},
         "hl"},
        {"hardlink_to_symlink_to_host_file",
         {symlink("s", "/etc/passwd"), hardlink("hl", "s")},
         "hl"},
        {"file_replaces_symlink_to_host", {symlink("f", "/etc/berth-evil"), file("f", "pwn")}, "f"},
    };
}

class HostileTar : public ::testing::TestWithParam<bool> {
protected:
    void SetUp() override {
        if (GetParam())
            ::setenv("BERTH_TEST_DISABLE", "openat2", 1);
        else
            ::unsetenv("BERTH_TEST_DISABLE");
        ASSERT_TRUE(mkdir_all(tmp_.sub("outside/etc")));
        write_text(tmp_.sub("outside/secret"), "secret");
        write_text(tmp_.sub("outside/etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
        ASSERT_TRUE(mkdir_all(target()));
        before_ = describe_tree(tmp_.path(), {"target"});
        for (const char* p : kHostPaths) ASSERT_FALSE(path_exists(p)) << p;
    }
    void TearDown() override { ::unsetenv("BERTH_TEST_DISABLE"); }

    std::string target() const { return tmp_.sub("target"); }

    Result<ApplyStats> apply(const std::vector<TarEntry>& entries) {
        return apply_raw(make_tar(entries));
    }
    Result<ApplyStats> apply_raw(const std::string& bytes) {
        UniqueFd fd(memfd_with(bytes));
        ApplyOptions opts;
        opts.preserve_ownership = is_root();
        return apply_layer(fd.get(), target(), opts);
    }

    void expect_nothing_outside() {
        EXPECT_EQ(describe_tree(tmp_.path(), {"target"}), before_);
        for (const char* p : kHostPaths) EXPECT_FALSE(path_exists(p)) << p;
    }

    static constexpr const char* kHostPaths[] = {"/berth-evil", "/etc/berth-evil",
                                                 "/tmp/berth-evil", "/abs/berth-evil"};
    TempDir tmp_;
    std::map<std::string, std::string> before_;
};

TEST_P(HostileTar, RefusedWithoutWritingAnything) {
    for (const auto& c : refused_corpus()) {
        SCOPED_TRACE(c.label);
        auto r = apply(c.entries);
        ASSERT_FALSE(r) << c.label << " was accepted";
        EXPECT_NE(r.error().what().find(c.expect), std::string::npos)
            << c.label << ": " << r.error().what();
        EXPECT_NE(r.error().msg.find("apply layer to " + target()), std::string::npos);
        expect_nothing_outside();
        EXPECT_TRUE(describe_tree(target()).empty()) << c.label << ": target not emptied";
    }
}

TEST_P(HostileTar, ContainedInsideTheTarget) {
    for (const auto& c : contained_corpus()) {
        SCOPED_TRACE(c.label);
        auto r = apply(c.entries);
        ASSERT_TRUE(r) << c.label << ": " << r.error().what();
        struct stat st {};
        EXPECT_EQ(::lstat((target() + "/" + c.landed).c_str(), &st), 0) << c.landed;
        expect_nothing_outside();
        ASSERT_TRUE(remove_all(target()));
        ASSERT_TRUE(mkdir_all(target()));
    }
}

TEST_P(HostileTar, ContainedDetails) {
    ASSERT_TRUE(apply({symlink("s", "/etc/passwd"), hardlink("hl", "s")}));
    struct stat st {};
    ASSERT_EQ(::lstat((target() + "/hl").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode)) << "the hard link must be to the symlink itself";
    ASSERT_TRUE(remove_all(target()));

    ASSERT_TRUE(apply({dir("outside"), symlink("link", "/outside"), file("link/secret", "pwn")}));
    auto data = read_file(target() + "/outside/secret");
    ASSERT_TRUE(data);
    EXPECT_EQ(*data, "pwn");
    EXPECT_EQ(*read_file(tmp_.sub("outside/secret")), "secret");
}

// A lower layer (already in the target) holds symlinks pointing outside; a new layer must
// neither follow them nor remove what it did not write when it fails.
TEST_P(HostileTar, PreexistingSymlinksInTarget) {
    ASSERT_EQ(::symlink("../outside/secret", (target() + "/f").c_str()), 0);
    ASSERT_EQ(::symlink("../outside", (target() + "/esc").c_str()), 0);
    write_text(target() + "/keep", "lower");
    auto lower = describe_tree(target());

    ASSERT_TRUE(apply({file("f", "pwn")}));
    EXPECT_EQ(*read_file(target() + "/f"), "pwn");
    expect_nothing_outside();

    // "esc" -> "../outside" resolves inside the root to target/outside, which does not exist.
    auto r = apply({file("new1", "n"), dir("newdir"), file("esc/berth-evil")});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().msg.find("esc/berth-evil"), std::string::npos) << r.error().what();
    expect_nothing_outside();
    EXPECT_FALSE(path_exists(target() + "/new1"));
    EXPECT_FALSE(path_exists(target() + "/newdir"));
    EXPECT_EQ(*read_file(target() + "/keep"), "lower");

    // Flattening (Remove mode): whiteouts and opaque markers below an escaping symlink of a
    // lower layer are resolved inside the root too, so the sentinel survives.
    ASSERT_EQ(::symlink("/", (target() + "/up").c_str()), 0);
    UniqueFd fd(memfd_with(make_tar({file("esc/.wh.secret", ""), file("esc/.wh..wh..opq", ""),
                                     file("up/.wh.keep", "")})));
    ApplyOptions o;
    o.whiteouts = WhiteoutMode::Remove;
    o.preserve_ownership = is_root();
    auto r2 = apply_layer(fd.get(), target(), o);
    ASSERT_TRUE(r2) << r2.error().what();
    expect_nothing_outside();
    EXPECT_FALSE(path_exists(target() + "/keep")) << "up/ resolves to the target's root";
}

TEST_P(HostileTar, GarbageAndTruncatedInput) {
    {
        auto r = apply_raw(std::string(4096, 'z'));
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, Errc::InvalidArgument);
        EXPECT_NE(r.error().msg.find("not a tar archive"), std::string::npos) << r.error().what();
    }
    {
        std::string big(100000, 'b');
        std::string tar = make_tar({file("first", "1"), file("big", big), file("last", "2")});
        auto r = apply_raw(tar.substr(0, 50000));
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, Errc::InvalidArgument);
        EXPECT_NE(r.error().msg.find("big"), std::string::npos) << r.error().what();
        EXPECT_TRUE(describe_tree(target()).empty());
    }
    {
        // A gzip magic followed by garbage.
        auto r = apply_raw(std::string("\x1f\x8b\x08\x00garbage-garbage-garbage", 27));
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, Errc::InvalidArgument) << r.error().what();
    }
    expect_nothing_outside();
}

// A target that did not exist is removed again when the apply fails.
TEST_P(HostileTar, MissingTargetRemovedOnFailure) {
    std::string fresh = tmp_.sub("fresh/target");
    UniqueFd fd(memfd_with(make_tar({file("a"), file("../evil")})));
    auto r = apply_layer(fd.get(), fresh);
    ASSERT_FALSE(r);
    EXPECT_FALSE(path_exists(fresh));
}

INSTANTIATE_TEST_SUITE_P(Resolver, HostileTar, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "userspace" : "openat2"; });

}  // namespace
}  // namespace berth::archive
