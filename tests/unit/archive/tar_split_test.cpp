// TarSplitter / write_from_split: a tar applied with apply_layer() and written back from the
// tree plus its split must be the same bytes, for tars made by GNU tar, libarchive and Python.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive_entry.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "berth/archive/tar.hpp"
#include "berth/archive/tar_split.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/unique_fd.hpp"
#include "tar_test_util.hpp"

namespace berth::archive {
namespace {

using namespace test;

ApplyOptions opts_for_tests() {
    ApplyOptions o;
    o.preserve_ownership = is_root();
    // Overlay-form whiteouts need CAP_MKNOD; unprivileged runs delete instead.
    o.whiteouts = is_root() ? WhiteoutMode::Overlay : WhiteoutMode::Remove;
    return o;
}

// Records the split of `tar` in chunks of `chunk` bytes (odd sizes cut headers anywhere).
SplitSummary split_of(const std::string& tar, std::string* split, size_t chunk = 4093,
                      SplitOptions so = {}) {
    UniqueFd fd(memfd_with(""));
    TarSplitter sp(fd.get(), std::move(so));
    for (size_t i = 0; i < tar.size(); i += chunk) {
        auto r = sp.feed(std::string_view(tar).substr(i, chunk));
        EXPECT_TRUE(r) << r.error().what();
    }
    auto sum = sp.finish();
    EXPECT_TRUE(sum) << sum.error().what();
    *split = read_fd(fd.get());
    return sum ? *sum : SplitSummary{};
}

struct RoundTrip {
    SplitSummary summary;
    std::string split;
    std::string out;
    Result<Digest> digest = digest_of("");
};

// apply_layer(tar) into `diff`, split it, write it back.
RoundTrip round_trip(const std::string& tar, const std::string& diff, size_t chunk = 4093) {
    RoundTrip rt;
    UniqueFd in(memfd_with(tar));
    auto applied = apply_layer(in.get(), diff, opts_for_tests());
    EXPECT_TRUE(applied) << applied.error().what();
    rt.summary = split_of(tar, &rt.split, chunk);
    if (!rt.summary.overwritten.empty()) {
        SplitOptions so;
        so.inline_entries = rt.summary.overwritten;
        rt.summary = split_of(tar, &rt.split, chunk, so);
        EXPECT_TRUE(rt.summary.overwritten.empty());
    }
    UniqueFd out(memfd_with(""));
    rt.digest = write_from_split(rt.split, diff, out.get());
    rt.out = read_fd(out.get());
    return rt;
}

void expect_exact(const RoundTrip& rt, const std::string& tar) {
    ASSERT_TRUE(rt.digest) << rt.digest.error().what();
    EXPECT_EQ(*rt.digest, digest_of(tar));
    EXPECT_EQ(rt.summary.digest, digest_of(tar));
    EXPECT_EQ(rt.summary.tar_size, tar.size());
    EXPECT_EQ(rt.out.size(), tar.size());
    EXPECT_TRUE(rt.out == tar) << "reproduced tar differs";
}

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

int sh(const std::string& cmd) {
    int r = std::system(cmd.c_str());
    return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

// A source tree exercising what tars carry: long names, hard links, symlinks, empty files,
// a sparse file, a big file, odd sizes.
void populate(const std::string& src, bool long_names = true) {
    ASSERT_TRUE(mkdir_all(src + "/etc"));
    write_text(src + "/etc/hosts", "127.0.0.1 localhost\n");
    write_text(src + "/etc/empty", "");
    std::string deep = src;
    for (int i = 0; i < (long_names ? 4 : 1); ++i)
        deep += "/directory-with-a-rather-long-name-" + std::to_string(i);
    ASSERT_TRUE(mkdir_all(deep));
    write_text(deep + "/and-a-file-whose-name-alone-is-long-enough-to-matter-" +
                   std::string(long_names ? 60 : 1, 'x'),
               "deep\n");
    ASSERT_EQ(::link((src + "/etc/hosts").c_str(), (src + "/etc/hosts.hard").c_str()), 0);
    ASSERT_EQ(::symlink("hosts", (src + "/etc/hosts.sym").c_str()), 0);
    ASSERT_EQ(
        ::symlink(std::string(long_names ? 150 : 50, 'l').c_str(), (src + "/etc/long.sym").c_str()),
        0);
    std::string big(3 * 1024 * 1024 + 17, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 4096);
    write_text(src + "/big.bin", big);
    for (int i = 0; i < 50; ++i) {
        write_text(src + "/etc/f" + std::to_string(i),
                   std::string(static_cast<size_t>(i * 37), 'a' + i % 26));
    }
    // Sparse: 1 MiB hole, data, 1 MiB hole.
    {
        UniqueFd f(
            ::open((src + "/sparse").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        ASSERT_TRUE(f.valid());
        ASSERT_EQ(::pwrite(f.get(), "data", 4, 1 << 20), 4);
        ASSERT_EQ(::ftruncate(f.get(), 2 << 20), 0);
    }
    // 30 data regions: GNU format needs extension blocks after the header for its sparse map.
    {
        UniqueFd f(
            ::open((src + "/sparse30").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        ASSERT_TRUE(f.valid());
        for (int i = 0; i < 30; ++i) {
            ASSERT_EQ(::pwrite(f.get(), "region", 6, static_cast<off_t>(i) * (256 << 10)), 6);
        }
    }
    if (is_root()) {
        ASSERT_EQ(::mknod((src + "/etc/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
        ASSERT_EQ(::mkfifo((src + "/etc/fifo").c_str(), 0600), 0);
    }
}

class GnuTarRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(GnuTarRoundTrip, ExactBytes) {
    TempDir t;
    // ustar holds names up to 255 bytes (prefix + name) and link targets up to 100.
    populate(t.sub("src"), GetParam().find("ustar") == std::string::npos);
    std::string tarfile = t.sub("layer.tar");
    std::string cmd = "tar -C " + t.sub("src") + " " + GetParam() + " -cf " + tarfile + " .";
    ASSERT_EQ(sh(cmd), 0) << cmd;
    std::string tar = slurp(tarfile);
    auto rt = round_trip(tar, t.sub("diff"));
    expect_exact(rt, tar);
    // Headers, not payload: the 3 MiB file is not in the split.
    EXPECT_LT(rt.split.size(), 64u * 1024) << rt.summary.inline_bytes;
    EXPECT_GE(rt.summary.file_refs, 50u);
    EXPECT_FALSE(rt.summary.raw_tail);
    std::cerr << GetParam() << ": " << rt.summary.entries << " entries, " << rt.summary.file_refs
              << " referenced, " << rt.summary.inline_bytes << " raw bytes, split "
              << rt.split.size() << " bytes" << (rt.summary.raw_tail ? ", raw tail" : "") << "\n";
}

INSTANTIATE_TEST_SUITE_P(Formats, GnuTarRoundTrip,
                         ::testing::Values("--format=gnu", "--format=gnu -S", "--format=pax",
                                           "--format=pax -S", "--format=pax --xattrs",
                                           "--format=ustar --numeric-owner", "--format=oldgnu -S",
                                           "--format=posix --sparse-version=1.0 -S"));

TEST(TarSplit, GnuTarWithXattrs) {
    TempDir t;
    std::string src = t.sub("src");
    ASSERT_TRUE(mkdir_all(src));
    write_text(src + "/f", "with xattr\n");
    if (::setxattr((src + "/f").c_str(), "user.berth", "yes", 3, 0) != 0) {
        GTEST_SKIP() << "no user xattrs on this filesystem";
    }
    ASSERT_EQ(sh("tar -C " + src + " --xattrs --format=pax -cf " + t.sub("l.tar") + " ."), 0);
    std::string tar = slurp(t.sub("l.tar"));
    auto rt = round_trip(tar, t.sub("diff"));
    expect_exact(rt, tar);
    EXPECT_EQ(rt.summary.file_refs, 1u);
}

TEST(TarSplit, LibarchiveFormatsAndCompressionAgnostic) {
    std::vector<TarEntry> entries{dir("etc"),
                                  file("etc/a", "alpha\n"),
                                  file(std::string(120, 'n') + "/" + std::string(130, 'm'), "long"),
                                  symlink("etc/s", "a"),
                                  hardlink("etc/h", "etc/a"),
                                  file("./dot/slash", std::string(1000, 'z')),
                                  file("/abs/file", "abs")};
    for (auto fmt : {TarFormat::Pax, TarFormat::Gnu, TarFormat::Ustar}) {
        if (fmt == TarFormat::Ustar) entries.erase(entries.begin() + 2);  // ustar: 255 max
        TempDir t;
        std::string tar = make_tar(entries, fmt);
        auto rt = round_trip(tar, t.sub("diff"), 1);  // byte by byte
        expect_exact(rt, tar);
        EXPECT_EQ(rt.summary.file_refs, fmt == TarFormat::Ustar ? 3u : 4u);
    }
}

TEST(TarSplit, PythonTarfile) {
    TempDir t;
    std::string script = R"PY(
import io, sys, tarfile
F = tarfile
for fmt, name in ((F.GNU_FORMAT, "gnu"), (F.PAX_FORMAT, "pax"), (F.USTAR_FORMAT, "ustar")):
    with tarfile.open(sys.argv[1] + "/" + name + ".tar", "w", format=fmt) as tf:
        for n, data in (("a/b", b"hello"), ("a/" + "c" * 120, b"x" * 700), ("u\u00e9", b"utf8")):
            if fmt == tarfile.USTAR_FORMAT and len(n) > 99: continue
            ti = tarfile.TarInfo(n); ti.size = len(data); ti.mtime = 1600000000.5; ti.mode = 0o640
            tf.addfile(ti, io.BytesIO(data))
        d = tarfile.TarInfo("a/dir"); d.type = tarfile.DIRTYPE; tf.addfile(d)
)PY";
    write_text(t.sub("mk.py"), script);
    if (sh("python3 " + t.sub("mk.py") + " " + t.path()) != 0) GTEST_SKIP() << "no python3";
    for (const char* name : {"gnu", "pax", "ustar"}) {
        std::string tar = slurp(t.sub(std::string(name) + ".tar"));
        ASSERT_FALSE(tar.empty());
        auto rt = round_trip(tar, t.sub(std::string("diff-") + name));
        expect_exact(rt, tar);
        EXPECT_GE(rt.summary.file_refs, 2u) << name;
    }
}

TEST(TarSplit, WhiteoutsStayInline) {
    TempDir t;
    auto wh = file("etc/.wh.passwd", "");
    auto opq = file("var/.wh..wh..opq", "");
    auto junk = file("var/.wh.junk", "whiteouts never have data, but keep it if they do");
    std::string tar = make_tar({dir("etc"), file("etc/group", "g"), wh, dir("var"), opq, junk});
    auto rt = round_trip(tar, t.sub("diff"));
    expect_exact(rt, tar);
    EXPECT_EQ(rt.summary.file_refs, 1u);  // only etc/group
}

TEST(TarSplit, SameNameTwiceNeedsSecondPass) {
    TempDir t;
    std::string tar =
        make_tar({file("a", "first version"), file("b", "bee"), file("d/f", "inside d"),
                  file("a", "second, longer version"), file("d", "d is now a file")});
    std::string split;
    auto first = split_of(tar, &split);
    EXPECT_EQ(first.overwritten, (std::vector<uint64_t>{0, 2}));
    auto rt = round_trip(tar, t.sub("diff"));
    expect_exact(rt, tar);
    EXPECT_EQ(rt.summary.file_refs, 3u);  // b, the second a, d
}

TEST(TarSplit, TrailingDataAndEmptyInput) {
    TempDir t;
    std::string tar = make_tar({file("x", "payload")});
    tar += std::string(4096, '\0');  // more zero blocks than needed
    tar += "trailing garbage after the end of the archive";
    auto rt = round_trip(tar, t.sub("diff"));
    expect_exact(rt, tar);
    EXPECT_FALSE(rt.summary.raw_tail);  // after the end-of-archive block: raw, as expected
    EXPECT_EQ(rt.summary.file_refs, 1u);

    std::string split;
    auto sum = split_of("", &split);
    EXPECT_EQ(sum.tar_size, 0u);
    ASSERT_TRUE(mkdir_all(t.sub("empty")));
    UniqueFd out(memfd_with(""));
    auto d = write_from_split(split, t.sub("empty"), out.get());
    ASSERT_TRUE(d) << d.error().what();
    EXPECT_EQ(*d, digest_of(""));
    EXPECT_EQ(read_fd(out.get()), "");
}

TEST(TarSplit, ChangedFileIsNamed) {
    TempDir t;
    std::string tar = make_tar(
        {dir("etc"), file("etc/hosts", "127.0.0.1 localhost\n"), file("etc/motd", "hello")});
    auto rt = round_trip(tar, t.sub("diff"));
    expect_exact(rt, tar);

    // Same size, new content (and mtime): the digest check fails and names the suspect.
    write_text(t.sub("diff/etc/hosts"), "127.0.0.1 otherhost\n");
    UniqueFd out(memfd_with(""));
    auto d = write_from_split(rt.split, t.sub("diff"), out.get());
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, Errc::Internal);
    EXPECT_NE(d.error().msg.find("etc/hosts"), std::string::npos) << d.error().msg;

    // Different size: refused before its bytes are written, naming it.
    write_text(t.sub("diff/etc/motd"), "hello, world");
    UniqueFd out2(memfd_with(""));
    d = write_from_split(rt.split, t.sub("diff"), out2.get());
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, Errc::Internal);
    EXPECT_NE(d.error().msg.find("etc/motd"), std::string::npos) << d.error().msg;

    // Replaced by a symlink pointing out of the tree: never followed.
    ASSERT_TRUE(remove_all(t.sub("diff/etc/motd")));
    ASSERT_EQ(::symlink("/etc/passwd", t.sub("diff/etc/motd").c_str()), 0);
    UniqueFd out3(memfd_with(""));
    d = write_from_split(rt.split, t.sub("diff"), out3.get());
    ASSERT_FALSE(d);
    EXPECT_NE(d.error().msg.find("etc/motd"), std::string::npos) << d.error().msg;
}

TEST(TarSplit, GarbledSplitIsRefused) {
    TempDir t;
    ASSERT_TRUE(mkdir_all(t.sub("d")));
    UniqueFd out(memfd_with(""));
    auto d = write_from_split(std::string("not a split"), t.sub("d"), out.get());
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, Errc::InvalidArgument);
    std::string split;
    split_of(make_tar({file("x", "1")}), &split);
    d = write_from_split(split.substr(0, split.size() - 5), t.sub("d"), out.get());
    ASSERT_FALSE(d);
}

TEST(TarSplit, ManySmallFilesGiveASmallSplit) {
    std::vector<TarEntry> entries;
    for (int d = 0; d < 100; ++d) {
        entries.push_back(dir("usr/share/pkg" + std::to_string(d)));
        for (int f = 0; f < 200; ++f) {
            entries.push_back(
                file("usr/share/pkg" + std::to_string(d) + "/file-" + std::to_string(f) + ".txt",
                     std::string(static_cast<size_t>(100 + f), 'q')));
        }
    }
    std::string tar = make_tar(entries, TarFormat::Pax);
    std::string split;
    auto sum = split_of(tar, &split, 64 * 1024);
    EXPECT_EQ(sum.file_refs, 20000u);
    EXPECT_LT(split.size(), 100u * entries.size()) << split.size() << " bytes";
    std::cerr << entries.size() << " entries: split " << split.size() << " bytes\n";
}

}  // namespace
}  // namespace berth::archive
