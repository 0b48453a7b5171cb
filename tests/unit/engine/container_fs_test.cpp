// container_fs: `docker diff` over a synthetic overlay upper/lower layout, and `docker cp`
// (stat, get, put) on a temporary rootfs, hostile tars included. Compiled twice: the tests
// that need root (whiteout devices, trusted.* xattrs, bind mounts, chown) only with
// BERTH_ROOT_TESTS (label root), the others without it (label unit).

#include "berth/engine/container_fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "berth/common/fs.hpp"

#include "archive/tar_test_util.hpp"

namespace berth::engine {
namespace {

using archive::test::TempDir;
using archive::test::write_text;
namespace at = archive::test;

void mkdirs(const std::string& p) { ASSERT_TRUE(mkdir_all(p).has_value()) << p; }

std::string changes_text(const std::vector<FsChange>& cs) {
    std::string out;
    for (const auto& c : cs)
        out += std::string(c.kind == ChangeKind::Add      ? "A "
                           : c.kind == ChangeKind::Delete ? "D "
                                                          : "C ") +
               c.path + "\n";
    return out;
}

// A ReadBlockFn over bytes in memory, in small blocks (to exercise the sniffing).
archive::ReadBlockFn blocks_of(const std::string& bytes, size_t block = 1000) {
    auto pos = std::make_shared<size_t>(0);
    return [&bytes, pos, block]() -> Result<std::string_view> {
        size_t n = std::min(block, bytes.size() - *pos);
        std::string_view v(bytes.data() + *pos, n);
        *pos += n;
        return v;
    };
}

// Entry names of a tar (in order) with a type letter: "d etc", "f etc/passwd", "l bin/sh".
std::vector<std::string> list_tar(const std::string& bytes) {
    std::vector<std::string> out;
    struct archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_support_format_empty(a);
    EXPECT_EQ(archive_read_open_memory(a, bytes.data(), bytes.size()), ARCHIVE_OK);
    struct archive_entry* e = nullptr;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        mode_t t = archive_entry_filetype(e);
        char c = t == AE_IFDIR ? 'd' : t == AE_IFLNK ? 'l' : t == AE_IFREG ? 'f' : '?';
        std::string line = std::string(1, c) + " " + archive_entry_pathname(e);
        if (t == AE_IFLNK) line += " -> " + std::string(archive_entry_symlink(e));
        out.push_back(line);
    }
    archive_read_free(a);
    return out;
}

TarSink collect(std::string& out) {
    return [&out](std::string_view b) -> Result<void> {
        out.append(b);
        return {};
    };
}

// ---------------------------------------------------------------- changes

#ifndef BERTH_ROOT_TESTS
TEST(OverlayLowerDirs, AllThreeForms) {
    store::MountSpec abs{"overlay", "overlay",
                         {"lowerdir=/l/a/diff:/l/b/diff", "upperdir=/u", "workdir=/w"}, ""};
    EXPECT_EQ(overlay_lower_dirs(abs), (std::vector<std::string>{"/l/a/diff", "/l/b/diff"}));
    store::MountSpec rel{"overlay", "overlay", {"lowerdir=a/diff:b/diff", "upperdir=/u"}, "/l"};
    EXPECT_EQ(overlay_lower_dirs(rel), (std::vector<std::string>{"/l/a/diff", "/l/b/diff"}));
    store::MountSpec app{"overlay", "overlay",
                         {"lowerdir+=/l/a:b/diff", "lowerdir+=/l/c/diff", "upperdir=/u"}, ""};
    EXPECT_EQ(overlay_lower_dirs(app), (std::vector<std::string>{"/l/a:b/diff", "/l/c/diff"}));
}
#endif

class ChangesTest : public ::testing::Test {
protected:
    void SetUp() override {
        lower = tmp.sub("lower");
        upper = tmp.sub("upper");
        mkdirs(lower + "/etc");
        mkdirs(lower + "/usr/bin");
        mkdirs(upper);
        write_text(lower + "/etc/passwd", "root:x:0:0\n");
        write_text(lower + "/etc/group", "root:x:0:\n");
        write_text(lower + "/usr/bin/tool", "x");
    }
    // Copies a lower directory's metadata to its upper twin, as overlayfs' copy-up does.
    void copy_up_dir(const std::string& rel) {
        mkdirs(upper + rel);
        struct stat st {};
        ASSERT_EQ(::stat((lower + rel).c_str(), &st), 0);
        ASSERT_EQ(::chmod((upper + rel).c_str(), st.st_mode & 07777), 0);
        struct timespec ts[2] = {st.st_atim, st.st_mtim};
        ASSERT_EQ(::utimensat(AT_FDCWD, (upper + rel).c_str(), ts, 0), 0);
    }
    TempDir tmp;
    std::string lower, upper;
};

#ifndef BERTH_ROOT_TESTS
TEST_F(ChangesTest, AddedModifiedAndParents) {
    // overlayfs keeps a copied-up parent's times: set them after writing the children.
    mkdirs(upper + "/etc");
    write_text(upper + "/etc/passwd", "root:x:0:0\nnew:x:1:1\n");  // modified in place
    copy_up_dir("/etc");
    mkdirs(upper + "/usr/bin");
    write_text(upper + "/usr/bin/new", "x");  // added: its parent becomes C
    copy_up_dir("/usr/bin");
    copy_up_dir("/usr");
    mkdirs(upper + "/data/sub");              // a new tree
    write_text(upper + "/data/sub/f", "x");
    auto cs = overlay_changes(upper, {lower});
    ASSERT_TRUE(cs) << cs.error().what();
    EXPECT_EQ(changes_text(*cs),
              "A /data\n"
              "A /data/sub\n"
              "A /data/sub/f\n"
              "C /etc/passwd\n"
              "C /usr/bin\n"
              "A /usr/bin/new\n");
}
#endif

#ifndef BERTH_ROOT_TESTS
TEST_F(ChangesTest, MountPointsAreExcluded) {
    copy_up_dir("/etc");
    write_text(upper + "/etc/hostname", "");
    write_text(upper + "/etc/hosts", "");
    // The runtime created /etc/hostname: /etc's mtime moved, which is not the user's change.
    struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (upper + "/etc").c_str(), now, 0), 0);
    mkdirs(upper + "/proc");
    mkdirs(upper + "/data");  // a bind mount's mount point
    write_text(upper + "/kept", "x");
    auto cs = overlay_changes(upper, {lower},
                              {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/proc",
                               "data/"});
    ASSERT_TRUE(cs) << cs.error().what();
    EXPECT_EQ(changes_text(*cs), "A /kept\n");
}
#endif

#ifndef BERTH_ROOT_TESTS
TEST_F(ChangesTest, LowerLayersTopFirstAndWhiteoutsInLowers) {
    std::string top = tmp.sub("top");
    mkdirs(top + "/etc");
    write_text(top + "/etc/extra", "x");
    write_text(upper + "/f", "x");
    mkdirs(upper + "/etc");
    write_text(upper + "/etc/extra", "changed");
    struct stat st {};  // copied up from the top layer, its times kept
    ASSERT_EQ(::stat((top + "/etc").c_str(), &st), 0);
    ASSERT_EQ(::chmod((upper + "/etc").c_str(), st.st_mode & 07777), 0);
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    ASSERT_EQ(::utimensat(AT_FDCWD, (upper + "/etc").c_str(), ts, 0), 0);
    auto cs = overlay_changes(upper, {top, lower});
    ASSERT_TRUE(cs) << cs.error().what();
    EXPECT_EQ(changes_text(*cs), "C /etc/extra\nA /f\n");
}
#endif

#ifdef BERTH_ROOT_TESTS
TEST_F(ChangesTest, WhiteoutsAndOpaqueDirs) {
    if (!at::is_root()) GTEST_SKIP() << "whiteouts (0/0 devices) and trusted.* xattrs need root";
    copy_up_dir("/etc");
    ASSERT_EQ(::mknod((upper + "/etc/group").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
    // /usr removed and re-created: an opaque directory that exists below.
    mkdirs(upper + "/usr");
    ASSERT_EQ(::setxattr((upper + "/usr").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
    write_text(upper + "/usr/fresh", "x");
    // An opaque directory that is new: just added.
    mkdirs(upper + "/newdir");
    ASSERT_EQ(::setxattr((upper + "/newdir").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
    auto cs = overlay_changes(upper, {lower});
    ASSERT_TRUE(cs) << cs.error().what();
    EXPECT_EQ(changes_text(*cs),
              "C /etc\n"
              "D /etc/group\n"
              "A /newdir\n"
              "D /usr\n"
              "A /usr/fresh\n");
    // A whiteout in a higher lower layer hides what the bottom one has.
    std::string top = tmp.sub("top2");
    mkdirs(top + "/etc");
    ASSERT_EQ(::mknod((top + "/etc/passwd").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
    std::string up2 = tmp.sub("up2");
    mkdirs(up2 + "/etc");
    write_text(up2 + "/etc/passwd", "again");
    cs = overlay_changes(up2, {top, lower});
    ASSERT_TRUE(cs) << cs.error().what();
    EXPECT_EQ(changes_text(*cs), "C /etc\nA /etc/passwd\n");
}
#endif

#ifndef BERTH_ROOT_TESTS
TEST(Changes, MissingUpper) {
    auto cs = overlay_changes("/nonexistent-berth-upper", {});
    ASSERT_FALSE(cs);
    EXPECT_EQ(cs.error().code, Errc::NotFound);
}
#endif

// ---------------------------------------------------------------- archive stat / get

class RootfsTest : public ::testing::Test {
protected:
    void SetUp() override {
        root = tmp.sub("rootfs");
        work = tmp.sub("work");
        mkdirs(root + "/etc/conf.d");
        mkdirs(root + "/bin");
        mkdirs(work);
        write_text(root + "/etc/passwd", "root:x:0:0\n", 0640);
        write_text(root + "/etc/conf.d/a", "a");
        write_text(root + "/bin/busybox", "#!", 0755);
        ASSERT_EQ(::symlink("busybox", (root + "/bin/sh").c_str()), 0);
        ASSERT_EQ(::symlink("/bin/sh", (root + "/bin/ash").c_str()), 0);  // a chain
        ASSERT_EQ(::symlink("../../../../../etc", (root + "/escape").c_str()), 0);
        ASSERT_EQ(::symlink("missing/target", (root + "/etc/dangling").c_str()), 0);
    }
    TempDir tmp;
    std::string root, work;
};

#ifndef BERTH_ROOT_TESTS
TEST_F(RootfsTest, StatFileDirSymlink) {
    auto f = stat_in_rootfs(root, "/etc/passwd", "c1");
    ASSERT_TRUE(f) << f.error().what();
    EXPECT_EQ(f->name, "passwd");
    EXPECT_EQ(f->size, 11);
    EXPECT_TRUE(S_ISREG(f->mode));
    EXPECT_EQ(f->mode & 07777, 0640u);
    EXPECT_EQ(f->link_target, "");

    auto d = stat_in_rootfs(root, "etc/", "c1");
    ASSERT_TRUE(d) << d.error().what();
    EXPECT_EQ(d->name, "etc");
    EXPECT_TRUE(S_ISDIR(d->mode));

    auto r = stat_in_rootfs(root, "/", "c1");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->name, "/");

    auto l = stat_in_rootfs(root, "/bin/ash", "c1");
    ASSERT_TRUE(l) << l.error().what();
    EXPECT_EQ(l->name, "ash");
    EXPECT_TRUE(S_ISLNK(l->mode));
    EXPECT_EQ(l->size, 7);
    EXPECT_EQ(l->link_target, "/bin/busybox");  // every link followed, as moby reports it

    // A link that climbs out resolves inside the rootfs.
    auto e = stat_in_rootfs(root, "/escape", "c1");
    ASSERT_TRUE(e) << e.error().what();
    EXPECT_EQ(e->link_target, "/etc");
    auto through = stat_in_rootfs(root, "/escape/passwd", "c1");
    ASSERT_TRUE(through) << through.error().what();
    EXPECT_EQ(through->size, 11);  // the rootfs's /etc/passwd, not the host's

    auto dl = stat_in_rootfs(root, "/etc/dangling", "c1");
    ASSERT_TRUE(dl) << dl.error().what();
    EXPECT_EQ(dl->link_target, "/etc/missing/target");
}
#endif

#ifndef BERTH_ROOT_TESTS
TEST_F(RootfsTest, StatNotFoundUsesMobyWording) {
    auto r = stat_in_rootfs(root, "/nope", "web");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::NotFound);
    EXPECT_EQ(r.error().what(), "Could not find the file /nope in container web");
    auto nd = stat_in_rootfs(root, "/etc/passwd/x", "web");
    ASSERT_FALSE(nd);
    EXPECT_EQ(nd.error().code, Errc::NotFound);
}
#endif

#ifndef BERTH_ROOT_TESTS
TEST_F(RootfsTest, GetSymlinkAndDirectoryContents) {
    std::string tar;
    auto r = write_path_tar(root, "/bin/sh", "c1", work, collect(tar));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(list_tar(tar), (std::vector<std::string>{"l sh -> busybox"}));

    tar.clear();
    r = write_path_tar(root, "/etc/.", "c1", work, collect(tar));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(list_tar(tar), (std::vector<std::string>{"d conf.d/", "f conf.d/a",
                                                       "l dangling -> missing/target",
                                                       "f passwd"}));
    auto missing = write_path_tar(root, "/nope", "c1", work, collect(tar));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::NotFound);
}
#endif

#ifdef BERTH_ROOT_TESTS
TEST_F(RootfsTest, GetFileAndDirectoryUnderTheirBaseName) {
    if (!at::is_root()) GTEST_SKIP() << "the entry is bind-mounted: needs root";
    std::string tar;
    auto r = write_path_tar(root, "/etc/passwd", "c1", work, collect(tar));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(list_tar(tar), (std::vector<std::string>{"f passwd"}));
    tar.clear();
    r = write_path_tar(root, "/etc", "c1", work, collect(tar));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(list_tar(tar), (std::vector<std::string>{"d etc/", "d etc/conf.d/",
                                                       "f etc/conf.d/a",
                                                       "l etc/dangling -> missing/target",
                                                       "f etc/passwd"}));
    // Through a symlink with a trailing slash: the name stays the one asked for.
    tar.clear();
    r = write_path_tar(root, "/escape/", "c1", work, collect(tar));
    ASSERT_TRUE(r) << r.error().what();
    ASSERT_FALSE(list_tar(tar).empty());
    EXPECT_EQ(list_tar(tar)[0], "d escape/");
    // The scratch directory is left empty (nothing mounted, nothing created).
    auto left = list_dir(work);
    ASSERT_TRUE(left);
    EXPECT_TRUE(left->empty());
}
#endif

#ifndef BERTH_ROOT_TESTS
TEST_F(RootfsTest, ExportWritesTheWholeTree) {
    std::string tar;
    auto r = write_rootfs_tar(root, collect(tar));
    ASSERT_TRUE(r) << r.error().what();
    auto names = list_tar(tar);
    EXPECT_EQ(names.front(), "d bin/");
    EXPECT_NE(std::find(names.begin(), names.end(), "f etc/passwd"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "l escape -> ../../../../../etc"),
              names.end());
}
#endif

// ---------------------------------------------------------------- archive put

#ifndef BERTH_ROOT_TESTS
TEST_F(RootfsTest, PutExtractsIntoADirectory) {
    std::string tar = at::make_tar({at::dir("new/"), at::file("new/f", "hello"),
                                    at::file("top", "t")});
    std::string w = tmp.sub("w1");
    mkdirs(w);
    auto r = extract_into_rootfs(root, "/etc", "c1", blocks_of(tar), w, {true, false});
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(read_file(root + "/etc/new/f").value_or(""), "hello");
    EXPECT_EQ(read_file(root + "/etc/top").value_or(""), "t");
    // Through a symlink to a directory (followed, inside the rootfs).
    std::string w2 = tmp.sub("w2");
    mkdirs(w2);
    r = extract_into_rootfs(root, "/escape", "c1", blocks_of(tar), w2, {false, false});
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(read_file(root + "/etc/new/f").value_or(""), "hello");
}
#endif

#ifndef BERTH_ROOT_TESTS
TEST_F(RootfsTest, PutCompressed) {
    std::string tar = at::make_tar({at::file("gz", "z")}, at::TarFormat::Pax, at::TarFilter::Gzip);
    auto r = extract_into_rootfs(root, "/", "c1", blocks_of(tar, 3), work, {false, false});
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(read_file(root + "/gz").value_or(""), "z");
    // xz through the xz program (moby runs it too).
    std::string plain = at::make_tar({at::file("xzfile", "xz!")});
    std::string tmpf = tmp.sub("t.tar");
    ASSERT_TRUE(atomic_write_file(tmpf, plain).has_value());
    ASSERT_EQ(std::system(("xz -z -k " + tmpf).c_str()), 0);
    auto xz = read_file(tmpf + ".xz");
    ASSERT_TRUE(xz);
    r = extract_into_rootfs(root, "/", "c1", blocks_of(*xz), work, {false, false});
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(read_file(root + "/xzfile").value_or(""), "xz!");
}
#endif

#ifndef BERTH_ROOT_TESTS
TEST_F(RootfsTest, PutRefusals) {
    std::string tar = at::make_tar({at::file("f")});
    auto r = extract_into_rootfs(root, "/etc/passwd", "c1", blocks_of(tar), work, {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_EQ(r.error().what(), "extraction point is not a directory");
    r = extract_into_rootfs(root, "/missing", "web", blocks_of(tar), work, {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "Could not find the file /missing in container web");

    // noOverwriteDirNonDir both ways; nothing is written.
    std::string w = tmp.sub("w3");
    mkdirs(w);
    std::string clash = at::make_tar({at::file("keep-out", "x"), at::file("conf.d", "x")});
    r = extract_into_rootfs(root, "/etc", "c1", blocks_of(clash), w, {true, false});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_NE(r.error().what().find(
                  "cannot overwrite directory \"/etc/conf.d\" with non-directory \"/etc/conf.d\""),
              std::string::npos)
        << r.error().what();
    EXPECT_FALSE(path_exists(root + "/etc/keep-out"));
    std::string w4 = tmp.sub("w4");
    mkdirs(w4);
    std::string clash2 = at::make_tar({at::dir("passwd/")});
    r = extract_into_rootfs(root, "/etc", "c1", blocks_of(clash2), w4, {true, false});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what().find("cannot overwrite non-directory \"/etc/passwd\""),
              std::string::npos)
        << r.error().what();
    // Without the flag the directory is replaced, as moby does.
    std::string w5 = tmp.sub("w5");
    mkdirs(w5);
    r = extract_into_rootfs(root, "/etc", "c1", blocks_of(clash), w5, {false, false});
    ASSERT_TRUE(r) << r.error().what();
    struct stat st {};
    ASSERT_EQ(::lstat((root + "/etc/conf.d").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
}
#endif

#ifndef BERTH_ROOT_TESTS
TEST_F(RootfsTest, HostileTarsStayInside) {
    // A name that climbs out is refused.
    std::string up = at::make_tar({at::file("../../../../../tmp/berth-cfs-escape", "x")});
    auto r = extract_into_rootfs(root, "/etc", "c1", blocks_of(up), work, {false, false});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_EQ(r.error().what().find("/proc/self/fd"), std::string::npos) << r.error().what();
    EXPECT_FALSE(path_exists("/tmp/berth-cfs-escape"));
    // A symlink to "/" followed by a file through it: resolved inside the extraction
    // directory (the archive module's root), never on the host.
    std::string via = at::make_tar({at::symlink("up", "/"), at::file("up/etc/owned", "x")});
    for (bool no_overwrite : {true, false}) {
        std::string w = tmp.sub(no_overwrite ? "w6" : "w6b");
        mkdirs(w);
        r = extract_into_rootfs(root, "/bin", "c1", blocks_of(via), w, {no_overwrite, false});
        ASSERT_TRUE(r) << r.error().what();
        EXPECT_TRUE(path_exists(root + "/bin/etc/owned"));
        EXPECT_FALSE(path_exists("/etc/owned"));
        ASSERT_TRUE(remove_all(root + "/bin/etc").has_value());
        ASSERT_TRUE(remove_all(root + "/bin/up").has_value());
    }
    // Garbage is not a tar.
    std::string junk(2048, 'j');
    r = extract_into_rootfs(root, "/etc", "c1", blocks_of(junk), work, {false, false});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
}
#endif

#ifdef BERTH_ROOT_TESTS
TEST_F(RootfsTest, PutOwnership) {
    if (!at::is_root()) GTEST_SKIP() << "chown needs root";
    auto f = at::file("owned", "x");
    f.uid = 1234;
    f.gid = 5678;
    std::string tar = at::make_tar({f});
    std::string w = tmp.sub("w7");
    mkdirs(w);
    ASSERT_TRUE(extract_into_rootfs(root, "/", "c1", blocks_of(tar), w, {true, false}));
    struct stat st {};
    ASSERT_EQ(::lstat((root + "/owned").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_gid, 0u);
    std::string w2 = tmp.sub("w8");
    mkdirs(w2);
    ASSERT_TRUE(extract_into_rootfs(root, "/", "c1", blocks_of(tar), w2, {true, true}));
    ASSERT_EQ(::lstat((root + "/owned").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
}
#endif

}  // namespace
}  // namespace berth::engine
