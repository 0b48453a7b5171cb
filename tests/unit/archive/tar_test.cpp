// apply_layer / write_layer: formats, compression, whiteouts, metadata and round trips.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive_entry.h>
#include <gtest/gtest.h>

#include "berth/archive/tar.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/unique_fd.hpp"
#include "tar_test_util.hpp"

namespace berth::archive {
namespace {

using namespace test;

ApplyOptions user_opts() {
    ApplyOptions o;
    o.preserve_ownership = is_root();
    return o;
}

Result<ApplyStats> apply_bytes(const std::string& tar, const std::string& target,
                               const ApplyOptions& opts = user_opts()) {
    UniqueFd fd(memfd_with(tar));
    return apply_layer(fd.get(), target, opts);
}

std::string layer_of(const std::string& dir, const DiffOptions& opts = {}) {
    UniqueFd fd(memfd_with(""));
    auto r = write_layer(dir, fd.get(), opts);
    EXPECT_TRUE(r) << r.error().what();
    return read_fd(fd.get());
}

bool user_xattrs_supported(const std::string& dir) {
    std::string p = dir + "/.xattr-probe";
    write_text(p, "");
    bool ok = ::setxattr(p.c_str(), "user.probe", "1", 1, 0) == 0;
    ::unlink(p.c_str());
    return ok;
}

TEST(ApplyLayer, BasicTreeWithMetadata) {
    TempDir t;
    auto d = dir("etc");
    d.perm = 0750;
    d.mtime = 1500000000;
    auto f = file("etc/hosts", "127.0.0.1 localhost\n");
    f.perm = 0600;
    f.mtime = 1400000000;
    f.mtime_nsec = 123456789;
    auto exe = file("bin/tool", "#!/bin/sh\n");
    exe.perm = 04755;
    auto sl = symlink("etc/link", "hosts");
    sl.mtime = 1300000000;
    auto fifo = file("run/fifo");
    fifo.type = AE_IFIFO;
    fifo.data.clear();
    auto r = apply_bytes(make_tar({d, f, exe, sl, hardlink("etc/hosts2", "etc/hosts"), fifo}),
                         t.sub("root"));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->entries, 6u);
    std::string root = t.sub("root");
    EXPECT_EQ(*read_file(root + "/etc/hosts"), "127.0.0.1 localhost\n");
    struct stat st {};
    ASSERT_EQ(::lstat((root + "/etc").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0750u);
    EXPECT_EQ(st.st_mtim.tv_sec, 1500000000);  // set after its children were created
    ASSERT_EQ(::lstat((root + "/etc/hosts").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_mtim.tv_sec, 1400000000);
    EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
    EXPECT_EQ(st.st_nlink, 2u);
    struct stat st2 {};
    ASSERT_EQ(::lstat((root + "/etc/hosts2").c_str(), &st2), 0);
    EXPECT_EQ(st.st_ino, st2.st_ino);
    ASSERT_EQ(::lstat((root + "/bin/tool").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 04755u);
    ASSERT_EQ(::lstat((root + "/bin").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u);  // implicit parent
    ASSERT_EQ(::lstat((root + "/etc/link").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    EXPECT_EQ(st.st_mtim.tv_sec, 1300000000);
    ASSERT_EQ(::lstat((root + "/run/fifo").c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST(ApplyLayer, ReplacesExistingEntries) {
    TempDir t;
    std::string root = t.sub("root");
    ASSERT_TRUE(mkdir_all(root + "/d/sub"));
    write_text(root + "/d/sub/x", "old");
    write_text(root + "/f", "old");
    ASSERT_EQ(::symlink("f", (root + "/s").c_str()), 0);
    ASSERT_EQ(::symlink("/", (root + "/sd").c_str()), 0);
    auto d = dir("d");
    d.perm = 0700;
    ASSERT_TRUE(apply_bytes(make_tar({file("d/sub", "now a file"), d, file("f", "new"),
                                      file("s", "not a symlink"), dir("sd"), file("sd/in", "1")}),
                            root));
    EXPECT_EQ(*read_file(root + "/d/sub"), "now a file");
    EXPECT_EQ(*read_file(root + "/f"), "new");
    struct stat st {};
    ASSERT_EQ(::lstat((root + "/s").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    ASSERT_EQ(::lstat((root + "/sd").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << "a symlink replaced by a directory";
    EXPECT_TRUE(path_exists(root + "/sd/in"));
    ASSERT_EQ(::lstat((root + "/d").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u) << "an existing directory takes the entry's metadata";
}

TEST(ApplyLayer, DirectoryRemovedByALaterEntry) {
    TempDir t;
    ApplyOptions o = user_opts();
    o.whiteouts = WhiteoutMode::Remove;
    auto r = apply_bytes(make_tar({dir("a"), dir("a/b"), file("a/b/f"), file("a/.wh.b"), dir("c"),
                                   file("c", "now a file")}),
                         t.sub("root"), o);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_FALSE(path_exists(t.sub("root/a/b")));
    EXPECT_EQ(*read_file(t.sub("root/c")), "now a file");
}

TEST(ApplyLayer, LongNamesPaxAndGnu) {
    std::string longdir;
    for (int i = 0; i < 12; ++i) longdir += "component-" + std::to_string(i) + "-abcdefghijklm/";
    std::string longname = longdir + std::string(120, 'n');
    ASSERT_GT(longname.size(), 300u);
    std::string longtarget(200, 't');
    for (auto fmt : {TarFormat::Pax, TarFormat::Gnu}) {
        TempDir t;
        auto r = apply_bytes(
            make_tar({file(longname, "long"), symlink("l", longtarget), hardlink("h", longname)},
                     fmt),
            t.sub("root"));
        ASSERT_TRUE(r) << r.error().what();
        EXPECT_EQ(*read_file(t.sub("root/" + longname)), "long");
        char buf[512];
        ssize_t n = ::readlink(t.sub("root/l").c_str(), buf, sizeof buf);
        EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), longtarget);
        EXPECT_EQ(*read_file(t.sub("root/h")), "long");
    }
}

TEST(ApplyLayer, CompressionDetectedByMagic) {
    std::vector<TarEntry> entries = {dir("a"), file("a/b", "hello")};
    for (auto filter : {TarFilter::None, TarFilter::Gzip, TarFilter::Zstd}) {
        TempDir t;
        std::string tar = make_tar(entries, TarFormat::Pax, filter);
        if (filter == TarFilter::Gzip) {
            ASSERT_EQ(tar.substr(0, 2), "\x1f\x8b");
        }
        if (filter == TarFilter::Zstd) {
            ASSERT_EQ(tar.substr(0, 4), "\x28\xb5\x2f\xfd");
        }
        auto r = apply_bytes(tar, t.sub("root"));
        ASSERT_TRUE(r) << r.error().what();
        EXPECT_EQ(*read_file(t.sub("root/a/b")), "hello");
    }
}

TEST(ApplyLayer, EmptyLayers) {
    // Docker's empty layer: two zero blocks (and the same gzip-compressed).
    for (auto filter : {TarFilter::None, TarFilter::Gzip}) {
        TempDir t;
        std::string tar = make_tar({}, TarFormat::Pax, filter);
        auto r = apply_bytes(tar, t.sub("root"));
        ASSERT_TRUE(r) << r.error().what();
        EXPECT_EQ(r->entries, 0u);
        EXPECT_TRUE(describe_tree(t.sub("root")).empty());
    }
    TempDir t;
    auto r = apply_bytes("", t.sub("root"));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->entries, 0u);
}

TEST(ApplyLayer, NonAsciiNames) {
    TempDir t;
    std::string utf8 = "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac";
    std::string latin1 = "na\xefve";  // not valid UTF-8
    auto r = apply_bytes(make_tar({file(utf8, "u"), file(latin1, "l")}), t.sub("root"));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(*read_file(t.sub("root/" + utf8)), "u");
    EXPECT_EQ(*read_file(t.sub("root/" + latin1)), "l");
    auto r2 = apply_bytes(layer_of(t.sub("root")), t.sub("copy"));
    ASSERT_TRUE(r2) << r2.error().what();
    EXPECT_EQ(describe_tree(t.sub("root"), {}, false), describe_tree(t.sub("copy"), {}, false));
}

TEST(ApplyLayer, ReadsFromAPipe) {
    TempDir t;
    std::string tar = make_tar({file("p", "piped")});
    ASSERT_LT(tar.size(), 60000u);
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    UniqueFd rd(p[0]), wr(p[1]);
    ASSERT_EQ(::write(wr.get(), tar.data(), tar.size()), static_cast<ssize_t>(tar.size()));
    wr.reset();
    auto r = apply_layer(rd.get(), t.sub("root"), user_opts());
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(*read_file(t.sub("root/p")), "piped");
}

TEST(ApplyLayer, WhiteoutsRemoveMode) {
    TempDir t;
    std::string root = t.sub("root");
    ASSERT_TRUE(mkdir_all(root + "/a/gone-dir/deep"));
    write_text(root + "/a/gone", "lower");
    write_text(root + "/a/stays", "lower");
    ASSERT_TRUE(mkdir_all(root + "/opq/old"));
    write_text(root + "/opq/oldfile", "lower");
    ApplyOptions o = user_opts();
    o.whiteouts = WhiteoutMode::Remove;
    auto r = apply_bytes(
        make_tar({file("a/.wh.gone", ""), file("a/.wh.gone-dir", ""),
                  file("a/.wh.never-existed", ""), dir("opq"), file("opq/new", "upper"),
                  dir("opq/newdir"), file("opq/newdir/x", "upper"), file("opq/.wh..wh..opq", ""),
                  file("nodir/.wh.x", ""), file(".wh..wh.plnk", "")}),
        root, o);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->whiteouts, 5u);
    EXPECT_FALSE(path_exists(root + "/a/gone"));
    EXPECT_FALSE(path_exists(root + "/a/gone-dir"));
    EXPECT_TRUE(path_exists(root + "/a/stays"));
    EXPECT_FALSE(path_exists(root + "/opq/old"));
    EXPECT_FALSE(path_exists(root + "/opq/oldfile"));
    EXPECT_TRUE(path_exists(root + "/opq/new"));
    EXPECT_TRUE(path_exists(root + "/opq/newdir/x"));
    EXPECT_FALSE(path_exists(root + "/nodir"));
    EXPECT_FALSE(path_exists(root + "/.wh..wh.plnk"));
}

TEST(ApplyLayer, WhiteoutsOverlayForm) {
    if (!is_root()) GTEST_SKIP() << "needs root (mknod 0/0, trusted.* xattrs)";
    TempDir t;
    std::string root = t.sub("root");
    auto r = apply_bytes(
        make_tar({dir("a"), file("a/.wh.gone", ""), dir("o"), file("o/.wh..wh..opq", ""),
                  file("o/kept", "k"), file("p/.wh..wh..opq", "")}),
        root);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->whiteouts, 3u);
    struct stat st {};
    ASSERT_EQ(::lstat((root + "/a/gone").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(0, 0));
    EXPECT_FALSE(path_exists(root + "/a/.wh.gone"));
    for (const char* d : {"/o", "/p"}) {
        char v[8] = {};
        ssize_t n = ::lgetxattr((root + d).c_str(), "trusted.overlay.opaque", v, sizeof v);
        EXPECT_EQ(n, 1) << d;
        EXPECT_EQ(v[0], 'y') << d;
    }
    EXPECT_TRUE(path_exists(root + "/o/kept"));
    EXPECT_FALSE(path_exists(root + "/o/.wh..wh..opq"));
}

TEST(ApplyLayer, OwnershipAndIdOffset) {
    if (!is_root()) GTEST_SKIP() << "needs root (chown)";
    TempDir t;
    auto f = file("f", "x");
    f.uid = 1234;
    f.gid = 5678;
    auto l = symlink("l", "f");
    l.uid = 42;
    l.gid = 43;
    ApplyOptions o;
    ASSERT_TRUE(apply_bytes(make_tar({f, l}), t.sub("a"), o));
    struct stat st {};
    ASSERT_EQ(::lstat(t.sub("a/f").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
    ASSERT_EQ(::lstat(t.sub("a/l").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 42u);
    o.uid_offset = 100000;
    o.gid_offset = 200000;
    ASSERT_TRUE(apply_bytes(make_tar({f, file("implicit/g")}), t.sub("b"), o));
    ASSERT_EQ(::lstat(t.sub("b/f").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 101234u);
    EXPECT_EQ(st.st_gid, 205678u);
    ASSERT_EQ(::lstat(t.sub("b/implicit").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 100000u);
}

TEST(ApplyLayer, DevicesCreatedOrSkipped) {
    auto dev = file("dev/null");
    dev.type = AE_IFCHR;
    dev.data.clear();
    dev.rdev = makedev(1, 3);
    dev.perm = 0666;
    {
        TempDir t;
        ApplyOptions o = user_opts();
        o.devices = DeviceMode::Skip;
        auto r = apply_bytes(make_tar({dev}), t.sub("root"), o);
        ASSERT_TRUE(r) << r.error().what();
        EXPECT_EQ(r->skipped_devices, 1u);
        EXPECT_FALSE(path_exists(t.sub("root/dev/null")));
    }
    TempDir t;
    auto r = apply_bytes(make_tar({dev}), t.sub("root"));  // CreateOrSkip
    ASSERT_TRUE(r) << r.error().what();
    if (!is_root()) {
        EXPECT_EQ(r->skipped_devices, 1u);
        GTEST_SKIP() << "creating device nodes needs root";
    }
    struct stat st {};
    ASSERT_EQ(::lstat(t.sub("root/dev/null").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(1, 3));
    EXPECT_EQ(st.st_mode & 07777, 0666u);
}

TEST(ApplyLayer, XattrPolicy) {
    TempDir t;
    if (!user_xattrs_supported(t.path())) GTEST_SKIP() << "no user.* xattrs on /tmp";
    auto f = file("f", "x");
    f.xattrs = {{"user.color", "blue"},
                {"trusted.overlay.redirect", "/etc"},
                {"security.selinux", "system_u:object_r:etc_t:s0"}};
    auto r = apply_bytes(make_tar({f}), t.sub("root"));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->skipped_xattrs, 2u);
    char v[32] = {};
    EXPECT_EQ(::lgetxattr(t.sub("root/f").c_str(), "user.color", v, sizeof v), 4);
    EXPECT_STREQ(v, "blue");
    EXPECT_LT(::lgetxattr(t.sub("root/f").c_str(), "trusted.overlay.redirect", v, sizeof v), 0);
}

// Builds a tree exercising everything write_layer knows (root parts only as root).
void build_source_tree(const std::string& src, bool xattrs) {
    ASSERT_TRUE(mkdir_all(src + "/etc/ssl"));
    ASSERT_TRUE(mkdir_all(src + "/empty"));
    write_text(src + "/etc/hosts", "127.0.0.1 localhost\n", 0644);
    write_text(src + "/etc/shadow", "root:*:1::::::\n", 0640);
    write_text(src + "/etc/ssl/a-b", "x", 0600);
    write_text(src + "/bin-tool", std::string(300000, 'q'), 04755);
    ASSERT_EQ(::link((src + "/etc/hosts").c_str(), (src + "/etc/hosts.bak").c_str()), 0);
    ASSERT_EQ(::symlink("../etc/hosts", (src + "/empty/rel").c_str()), 0);
    ASSERT_EQ(::symlink("/etc/hosts", (src + "/abs").c_str()), 0);
    ASSERT_EQ(::mkfifo((src + "/fifo").c_str(), 0620), 0);
    std::string longdir = src;
    for (int i = 0; i < 8; ++i) {
        longdir += "/long-directory-name-" + std::to_string(i) + "-xxxxxxxxxxxxxxxxxxxxxx";
        ASSERT_TRUE(mkdir_all(longdir));
    }
    write_text(longdir + "/file-with-a-rather-long-name-too", "deep");
    // Sparse: 8 MiB, data at 1 MiB and at 5 MiB, trailing hole.
    {
        int fd = ::open((src + "/sparse").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::ftruncate(fd, 8 << 20), 0);
        std::string blk(4096, 's');
        ASSERT_EQ(::pwrite(fd, blk.data(), blk.size(), 1 << 20), 4096);
        ASSERT_EQ(::pwrite(fd, blk.data(), blk.size(), 5 << 20), 4096);
        ::close(fd);
    }
    if (xattrs) {
        ASSERT_EQ(::setxattr((src + "/etc/hosts").c_str(), "user.origin", "test", 4, 0), 0);
        ASSERT_EQ(::setxattr((src + "/etc").c_str(), "user.dir", "d", 1, 0), 0);
    }
    if (is_root()) {
        ASSERT_EQ(::chown((src + "/etc/shadow").c_str(), 0, 42), 0);
        ASSERT_EQ(::lchown((src + "/abs").c_str(), 1000, 1000), 0);
        ASSERT_EQ(::chown((src + "/etc/ssl").c_str(), 7, 8), 0);
        ASSERT_EQ(::chmod((src + "/bin-tool").c_str(), 04755), 0);
        ASSERT_EQ(::mknod((src + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
        ASSERT_EQ(::mknod((src + "/blk").c_str(), S_IFBLK | 0600, makedev(7, 0)), 0);
        // An overlay upper dir: a whiteout and an opaque directory.
        ASSERT_EQ(::mknod((src + "/etc/removed").c_str(), S_IFCHR, makedev(0, 0)), 0);
        ASSERT_TRUE(mkdir_all(src + "/opaque"));
        write_text(src + "/opaque/new", "n");
        ASSERT_EQ(::setxattr((src + "/opaque").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
    }
    // Fixed times, the directories' last (their children changed them).
    struct timespec ts[2] = {{1234567890, 111222333}, {1234567890, 111222333}};
    for (const char* p : {"/etc/hosts", "/etc/ssl/a-b", "/bin-tool", "/fifo", "/sparse"})
        ASSERT_EQ(::utimensat(AT_FDCWD, (src + p).c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << p;
    ts[0].tv_sec = ts[1].tv_sec = 1000000000;
    ASSERT_EQ(::utimensat(AT_FDCWD, (src + "/abs").c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
    for (const char* p : {"/etc/ssl", "/etc", "/empty"})
        ASSERT_EQ(::utimensat(AT_FDCWD, (src + p).c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << p;
}

TEST(WriteLayer, RoundTrip) {
    TempDir t;
    std::string src = t.sub("src");
    ASSERT_TRUE(mkdir_all(src));
    bool xattrs = user_xattrs_supported(t.path());
    build_source_tree(src, xattrs);
    std::string tar = layer_of(src);
    ASSERT_FALSE(tar.empty());
    auto r = apply_bytes(tar, t.sub("dst"));
    ASSERT_TRUE(r) << r.error().what();
    // mtimes are truncated to seconds by default (as moby does).
    auto a = describe_tree(src, {}, true, false);
    auto b = describe_tree(t.sub("dst"), {}, true, false);
    EXPECT_EQ(a, b);
    // With subsecond_mtimes everything matches to the nanosecond.
    DiffOptions exact;
    exact.subsecond_mtimes = true;
    auto r2 = apply_bytes(layer_of(src, exact), t.sub("dst-ns"));
    ASSERT_TRUE(r2) << r2.error().what();
    EXPECT_EQ(describe_tree(src), describe_tree(t.sub("dst-ns")));
    if (xattrs) {
        EXPECT_NE(b["etc/hosts"].find("user.origin=test"), std::string::npos) << b["etc/hosts"];
    }
    EXPECT_NE(b["etc/hosts.bak"].find("linkgroup=etc/hosts"), std::string::npos);
    // Sparse file stays sparse.
    struct stat st {};
    ASSERT_EQ(::stat(t.sub("dst/sparse").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 8 << 20);
    EXPECT_LT(st.st_blocks * 512, 1 << 20) << "holes were written out";
    if (is_root()) {
        EXPECT_NE(b["etc/removed"].find("rdev=0:0"), std::string::npos) << b["etc/removed"];
        EXPECT_NE(b["opaque"].find("trusted.overlay.opaque=y"), std::string::npos) << b["opaque"];
        EXPECT_NE(b["null"].find("rdev=1:3"), std::string::npos);
    }
}

TEST(WriteLayer, OverlayUpperDirToOciWhiteouts) {
    if (!is_root()) GTEST_SKIP() << "needs root (mknod 0/0, trusted.* xattrs)";
    TempDir t;
    std::string src = t.sub("upper");
    ASSERT_TRUE(mkdir_all(src + "/d"));
    ASSERT_EQ(::mknod((src + "/d/gone").c_str(), S_IFCHR, makedev(0, 0)), 0);
    ASSERT_EQ(::setxattr((src + "/d").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
    std::string tar = layer_of(src);
    // Flattened with Remove semantics onto a lower tree: the opaque dir hides lower content.
    std::string lower = t.sub("lower");
    ASSERT_TRUE(mkdir_all(lower + "/d"));
    write_text(lower + "/d/gone", "lower");
    write_text(lower + "/d/other", "lower");
    ApplyOptions o;
    o.whiteouts = WhiteoutMode::Remove;
    auto r = apply_bytes(tar, lower, o);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->whiteouts, 2u);
    EXPECT_FALSE(path_exists(lower + "/d/gone"));
    EXPECT_FALSE(path_exists(lower + "/d/other"));
    EXPECT_TRUE(path_exists(lower + "/d"));
    EXPECT_NE(tar.find("d/.wh.gone"), std::string::npos);
    EXPECT_NE(tar.find("d/.wh..wh..opq"), std::string::npos);
    EXPECT_EQ(tar.find("trusted.overlay"), std::string::npos);
}

TEST(WriteLayer, DeterministicCompressedAndDigestSink) {
    TempDir t;
    std::string src = t.sub("src");
    ASSERT_TRUE(mkdir_all(src));
    build_source_tree(src, false);
    std::string plain = layer_of(src);
    EXPECT_EQ(plain, layer_of(src)) << "same tree, same bytes";
    EXPECT_EQ(plain.size() % 512, 0u);
    for (auto c : {Compression::Gzip, Compression::Zstd}) {
        DiffOptions o;
        o.compression = c;
        std::string seen;
        o.on_uncompressed = [&](std::string_view b) -> Result<void> {
            seen.append(b);
            return {};
        };
        std::string z = layer_of(src, o);
        EXPECT_EQ(seen, plain);
        if (c == Compression::Gzip) {
            EXPECT_EQ(z.substr(0, 2), "\x1f\x8b");
        }
        if (c == Compression::Zstd) {
            EXPECT_EQ(z.substr(0, 4), "\x28\xb5\x2f\xfd");
        }
        EXPECT_LT(z.size(), plain.size());
        EXPECT_EQ(z, layer_of(src, o)) << "compressed output is deterministic too";
        auto r = apply_bytes(z, t.sub(c == Compression::Gzip ? "gz" : "zst"));
        ASSERT_TRUE(r) << r.error().what();
        EXPECT_EQ(describe_tree(src, {}, true, false),
                  describe_tree(t.sub(c == Compression::Gzip ? "gz" : "zst"), {}, true, false));
    }
}

TEST(WriteLayer, SinkErrorStopsWriting) {
    TempDir t;
    write_text(t.sub("f"), "x");
    DiffOptions o;
    o.on_uncompressed = [](std::string_view) -> Result<void> {
        return make_error(Errc::Unavailable, "digest sink full");
    };
    UniqueFd fd(memfd_with(""));
    auto r = write_layer(t.path(), fd.get(), o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().msg.find("digest sink full"), std::string::npos) << r.error().what();
}

}  // namespace
}  // namespace berth::archive
