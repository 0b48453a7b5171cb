// resolve_user against temporary root filesystems: runc's lookup rules, and that the image's
// /etc/passwd can't lead the lookup out of the rootfs.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "berth/common/fs.hpp"
#include "berth/container/user.hpp"

namespace berth::container {
namespace {

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/berth-test-user-XXXXXX";
        path_ = mkdtemp(tmpl);
    }
    ~TempDir() { (void)remove_all(path_); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

void write(const std::string& path, const std::string& data) {
    ASSERT_TRUE(mkdir_all(dirname_of(path)).has_value());
    ASSERT_TRUE(atomic_write_file(path, data, 0644, Durability::Volatile).has_value()) << path;
}

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "# a comment line\n"
    "\n"
    "app:x:1000:1000:App:/home/app:/bin/sh\n"
    "nohome:x:1001:1001::\n"
    "app:x:2000:2000:second app entry, never used:/nope:/bin/sh\n";
constexpr const char* kGroup =
    "root:x:0:\n"
    "wheel:x:10:app,other\n"
    "audio:x:29:app\n"
    "app:x:1000:\n"
    "staff:x:50:\n";

class UserTest : public ::testing::Test {
protected:
    void SetUp() override {
        write(root_.path() + "/etc/passwd", kPasswd);
        write(root_.path() + "/etc/group", kGroup);
    }
    TempDir root_;
};

struct Case {
    const char* spec;
    std::vector<std::string> group_add;
    uint32_t uid, gid;
    std::vector<uint32_t> gids;
    const char* home;
};

TEST_F(UserTest, ResolvesLikeRunc) {
    const Case cases[] = {
        {"", {}, 0, 0, {0}, "/root"},
        {"root", {}, 0, 0, {0}, "/root"},
        {"app", {}, 1000, 1000, {1000, 10, 29}, "/home/app"},  // first entry wins
        {"1000", {}, 1000, 1000, {1000, 10, 29}, "/home/app"},
        {"app:staff", {}, 1000, 50, {50}, "/home/app"},  // explicit group: no supplementary
        {"app:77", {}, 1000, 77, {77}, "/home/app"},
        {"4242", {}, 4242, 0, {0}, "/"},  // numeric without entry
        {"4242:4343", {}, 4242, 4343, {4343}, "/"},
        {"nohome", {}, 1001, 1001, {1001}, "/"},
        {"daemon", {"staff", "12", "wheel", "10"}, 1, 1, {1, 50, 12, 10}, "/usr/sbin"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.spec);
        auto r = resolve_user(root_.path(), c.spec, c.group_add);
        ASSERT_TRUE(r.has_value()) << r.error().what();
        EXPECT_EQ(r->user.uid, c.uid);
        EXPECT_EQ(r->user.gid, c.gid);
        EXPECT_EQ(r->user.additional_gids, c.gids);
        EXPECT_EQ(r->home, c.home);
    }
}

// The files read once and resolved later (what berthd keeps per image) answer as the rootfs does.
TEST_F(UserTest, FilesReadOnceResolveTheSame) {
    auto files = read_user_files(root_.path());
    ASSERT_TRUE(files.has_value()) << files.error().what();
    EXPECT_EQ(files->passwd, std::optional<std::string>(kPasswd));
    EXPECT_EQ(files->group, std::optional<std::string>(kGroup));
    for (const char* spec : {"", "app", "1000", "app:staff", "4242:4343", "nohome", "daemon"}) {
        SCOPED_TRACE(spec);
        auto a = resolve_user(root_.path(), spec, {"staff", "12"});
        auto b = resolve_user_in(*files, spec, {"staff", "12"});
        ASSERT_TRUE(a.has_value() && b.has_value());
        EXPECT_EQ(a->user.uid, b->user.uid);
        EXPECT_EQ(a->user.gid, b->user.gid);
        EXPECT_EQ(a->user.additional_gids, b->user.additional_gids);
        EXPECT_EQ(a->home, b->home);
        EXPECT_EQ(a->name, b->name);
    }
    auto missing = resolve_user_in(*files, "foo");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().msg, "unable to find user foo: no matching entries in passwd file");

    TempDir empty;
    auto none = read_user_files(empty.path());
    ASSERT_TRUE(none.has_value());
    EXPECT_FALSE(none->passwd.has_value());
    EXPECT_FALSE(none->group.has_value());
    auto root = resolve_user_in(*none, "");
    ASSERT_TRUE(root.has_value());
    EXPECT_EQ(root->home, "/");
    auto gone = read_user_files(empty.path() + "/missing");
    ASSERT_FALSE(gone.has_value());
    EXPECT_EQ(gone.error().code, Errc::NotFound);
}

TEST_F(UserTest, ErrorsUseRuncWording) {
    auto r = resolve_user(root_.path(), "foo");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_EQ(r.error().msg, "unable to find user foo: no matching entries in passwd file");

    r = resolve_user(root_.path(), "app:nogroup");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().msg, "unable to find group nogroup: no matching entries in group file");

    r = resolve_user(root_.path(), "app", {"x"});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().msg, "Unable to find group x: no matching entries in group file");

    r = resolve_user(root_.path(), "-5");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().msg, "uids and gids must be in range 0-2147483647");

    r = resolve_user(root_.path() + "/missing", "");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::NotFound);
}

TEST(UserNoFiles, NumericUsersNeedNoPasswd) {
    TempDir root;
    auto r = resolve_user(root.path(), "");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->user.uid, 0u);
    EXPECT_EQ(r->home, "/");
    r = resolve_user(root.path(), "123:456", {"789"});
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->user.uid, 123u);
    EXPECT_EQ(r->user.gid, 456u);
    EXPECT_EQ(r->user.additional_gids, (std::vector<uint32_t>{456, 789}));
    r = resolve_user(root.path(), "app");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().msg, "unable to find user app: no matching entries in passwd file");
}

// An image whose /etc/passwd is a symlink to a host path (absolute or climbing with ..) must be
// read inside the rootfs, where the target does not exist: the host file is never read.
TEST(UserEscape, SymlinkedPasswdStaysInsideRootfs) {
    TempDir host;
    std::string secret = host.path() + "/shadow";
    write(secret, "evil:x:4242:4343:evil:/evil:/bin/sh\n");
    write(host.path() + "/group-secret", "evilgroup:x:4444:evil\n");

    for (const std::string& target :
         {secret, std::string("../../../../../../../../") + secret.substr(1)}) {
        SCOPED_TRACE(target);
        TempDir root;
        ASSERT_TRUE(mkdir_all(root.path() + "/etc").has_value());
        ASSERT_EQ(symlink(target.c_str(), (root.path() + "/etc/passwd").c_str()), 0);
        ASSERT_EQ(
            symlink((host.path() + "/group-secret").c_str(), (root.path() + "/etc/group").c_str()),
            0);
        auto r = resolve_user(root.path(), "evil");
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().msg, "unable to find user evil: no matching entries in passwd file");
        r = resolve_user(root.path(), "0", {"evilgroup"});
        ASSERT_FALSE(r.has_value());
    }

    // The same link target placed inside the rootfs is what gets read.
    TempDir root;
    write(root.path() + secret, "inside:x:7:8:in:/in:/bin/sh\n");
    ASSERT_TRUE(mkdir_all(root.path() + "/etc").has_value());
    ASSERT_EQ(symlink(secret.c_str(), (root.path() + "/etc/passwd").c_str()), 0);
    auto r = resolve_user(root.path(), "inside");
    ASSERT_TRUE(r.has_value()) << r.error().what();
    EXPECT_EQ(r->user.uid, 7u);
    EXPECT_EQ(r->home, "/in");
}

TEST(UserEscape, FifoPasswdDoesNotBlock) {
    TempDir root;
    ASSERT_TRUE(mkdir_all(root.path() + "/etc").has_value());
    ASSERT_EQ(mkfifo((root.path() + "/etc/passwd").c_str(), 0644), 0);
    auto r = resolve_user(root.path(), "5");
    ASSERT_TRUE(r.has_value()) << r.error().what();
    EXPECT_EQ(r->user.uid, 5u);
}

}  // namespace
}  // namespace berth::container
