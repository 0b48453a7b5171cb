// The json-file Writer: line splitting as moby's copier, exact bytes, rotation.

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "berth/common/fs.hpp"
#include "berth/common/time.hpp"
#include "berth/logfile/reader.hpp"
#include "berth/logfile/writer.hpp"
#include "test_util.hpp"

namespace berth::logfile {
namespace {

using test::file_lines;
using test::TempDir;

constexpr int64_t kT0 = 1'795'000'000'000'000'000;  // 2026-11-18T...

struct Decoded {
    Stream stream;
    std::string log;
    int64_t time_ns;
};

std::vector<Decoded> decode_file(const std::string& path) {
    std::vector<Decoded> out;
    for (const std::string& l : file_lines(path)) {
        auto e = parse_entry(l, false);
        EXPECT_TRUE(e) << "bad line: " << l;
        if (e) out.push_back({e->stream, e->line, e->time_ns});
    }
    return out;
}

Writer open_writer(const std::string& path, Options o = {}) {
    auto w = Writer::open(path, std::move(o));
    EXPECT_TRUE(w) << w.error().what();
    return std::move(*w);
}

TEST(LogfileWriter, ExactBytes) {
    TempDir d;
    const std::string p = d.file("c-json.log");
    Writer w = open_writer(p);
    ASSERT_TRUE(w.write(Stream::Stdout, "hello <world>\n", kT0 + 100'000'000));
    ASSERT_TRUE(w.close());
    EXPECT_EQ(read_file(p).value(),
              "{\"log\":\"hello \\u003cworld\\u003e\\n\",\"stream\":\"stdout\","
              "\"time\":\"" +
                  format_rfc3339_nano(kT0 + 100'000'000) + "\"}\n");
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST(LogfileWriter, PartialLinesWaitForTheirNewline) {
    TempDir d;
    const std::string p = d.file("x.log");
    Writer w = open_writer(p);
    ASSERT_TRUE(w.write(Stream::Stdout, "a\nb", kT0 + 1));
    EXPECT_EQ(decode_file(p).size(), 1u);
    ASSERT_TRUE(w.write(Stream::Stdout, "c", kT0 + 2));
    ASSERT_TRUE(w.write(Stream::Stdout, "d\n\ne", kT0 + 3));
    ASSERT_TRUE(w.write(Stream::Stdout, "f", kT0 + 4));
    ASSERT_TRUE(w.flush_partial());
    ASSERT_TRUE(w.flush_partial());  // nothing left: writes nothing
    auto e = decode_file(p);
    ASSERT_EQ(e.size(), 4u);
    EXPECT_EQ(e[0].log, "a\n");
    EXPECT_EQ(e[0].time_ns, kT0 + 1);
    EXPECT_EQ(e[1].log, "bcd\n");
    EXPECT_EQ(e[1].time_ns, kT0 + 3);  // the time the line was completed, as moby
    EXPECT_EQ(e[2].log, "\n");
    EXPECT_EQ(e[3].log, "ef");  // partial: no newline
    EXPECT_EQ(e[3].time_ns, kT0 + 4);
}

TEST(LogfileWriter, CarriageReturnsAreKept) {
    TempDir d;
    const std::string p = d.file("x.log");
    Writer w = open_writer(p);
    ASSERT_TRUE(w.write(Stream::Stdout, "a\r\n10%\r50%\r100%\n\r", kT0));
    ASSERT_TRUE(w.close());
    const auto lines = file_lines(p);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_NE(lines[0].find(R"("log":"a\r\n")"), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find(R"("log":"10%\r50%\r100%\n")"), std::string::npos) << lines[1];
    EXPECT_NE(lines[2].find(R"("log":"\r")"), std::string::npos) << lines[2];
}

TEST(LogfileWriter, EmptyWritesWriteNothing) {
    TempDir d;
    const std::string p = d.file("x.log");
    Writer w = open_writer(p);
    ASSERT_TRUE(w.write(Stream::Stdout, "", kT0));
    ASSERT_TRUE(w.write(Stream::Stderr, "", kT0));
    ASSERT_TRUE(w.flush_partial());
    ASSERT_TRUE(w.close());
    EXPECT_EQ(read_file(p).value(), "");
    EXPECT_FALSE(w.write(Stream::Stdout, "late\n", kT0));
}

TEST(LogfileWriter, SplitsAt16KiB) {
    TempDir d;
    const std::string p = d.file("x.log");
    Writer w = open_writer(p);
    // Exactly 16 KiB then '\n': a 16 KiB partial and a lone "\n", as moby's copier.
    ASSERT_TRUE(w.write(Stream::Stdout, std::string(16384, 'x') + "\n", kT0));
    // 40000 bytes: 16384 + 16384 + 7232 with the newline.
    ASSERT_TRUE(w.write(Stream::Stdout, std::string(40000, 'y') + "\n", kT0));
    // Across writes: the 16 KiB piece is cut when the buffered line reaches it.
    ASSERT_TRUE(w.write(Stream::Stderr, std::string(10000, 'z'), kT0));
    EXPECT_EQ(decode_file(p).size(), 5u);
    ASSERT_TRUE(w.write(Stream::Stderr, std::string(10000, 'z'), kT0));
    EXPECT_EQ(decode_file(p).size(), 6u);
    ASSERT_TRUE(w.write(Stream::Stderr, "\n", kT0));
    auto e = decode_file(p);
    ASSERT_EQ(e.size(), 7u);
    EXPECT_EQ(e[0].log, std::string(16384, 'x'));
    EXPECT_EQ(e[1].log, "\n");
    EXPECT_EQ(e[2].log, std::string(16384, 'y'));
    EXPECT_EQ(e[3].log, std::string(16384, 'y'));
    EXPECT_EQ(e[4].log, std::string(7232, 'y') + "\n");
    EXPECT_EQ(e[5].log, std::string(16384, 'z'));
    EXPECT_EQ(e[5].stream, Stream::Stderr);
    EXPECT_EQ(e[6].log, std::string(3616, 'z') + "\n");
}

TEST(LogfileWriter, StreamsKeepTheirOwnPartialLines) {
    TempDir d;
    const std::string p = d.file("x.log");
    Writer w = open_writer(p);
    ASSERT_TRUE(w.write(Stream::Stdout, "o1", kT0 + 1));
    ASSERT_TRUE(w.write(Stream::Stderr, "e1\ne2", kT0 + 2));
    ASSERT_TRUE(w.write(Stream::Stdout, "o2\n", kT0 + 3));
    ASSERT_TRUE(w.write(Stream::Stdout, "o3", kT0 + 4));
    ASSERT_TRUE(w.close());  // flushes both partial lines
    auto e = decode_file(p);
    ASSERT_EQ(e.size(), 4u);
    EXPECT_EQ(e[0].stream, Stream::Stderr);
    EXPECT_EQ(e[0].log, "e1\n");
    EXPECT_EQ(e[1].stream, Stream::Stdout);
    EXPECT_EQ(e[1].log, "o1o2\n");
    EXPECT_EQ(e[2].stream, Stream::Stdout);
    EXPECT_EQ(e[2].log, "o3");
    EXPECT_EQ(e[2].time_ns, kT0 + 4);
    EXPECT_EQ(e[3].stream, Stream::Stderr);
    EXPECT_EQ(e[3].log, "e2");
    EXPECT_EQ(e[3].time_ns, kT0 + 2);
}

TEST(LogfileWriter, ManyLinesInOneWrite) {
    TempDir d;
    const std::string p = d.file("x.log");
    Writer w = open_writer(p);
    std::string big;
    for (int i = 0; i < 20000; ++i) big += std::to_string(i) + "\n";
    ASSERT_TRUE(w.write(Stream::Stdout, big, kT0));
    auto e = decode_file(p);
    ASSERT_EQ(e.size(), 20000u);
    EXPECT_EQ(e[19999].log, "19999\n");
}

TEST(LogfileWriter, RotatesKeepingMaxFiles) {
    TempDir d;
    const std::string p = d.file("x.log");
    Options o;
    o.max_size = 500;
    o.max_file = 3;
    Writer w = open_writer(p, o);
    int64_t entry_size = 0;
    for (int i = 0; i < 100; ++i) {
        ASSERT_TRUE(w.write(Stream::Stdout, fmt::format("line {:03}\n", i), kT0 + i));
        if (i == 0) entry_size = w.size();
    }
    ASSERT_TRUE(w.close());
    EXPECT_TRUE(path_exists(p));
    EXPECT_TRUE(path_exists(p + ".1"));
    EXPECT_TRUE(path_exists(p + ".2"));
    EXPECT_FALSE(path_exists(p + ".3"));
    // Rotated files pass max-size by less than one entry (moby checks before each write).
    for (const std::string& f : {p + ".1", p + ".2"}) {
        const auto size = static_cast<int64_t>(read_file(f).value().size());
        EXPECT_GE(size, 500);
        EXPECT_LT(size, 500 + entry_size);
    }
    // The three files hold the newest lines, in order, with none missing in between.
    std::vector<std::string> logs;
    for (const std::string& f : {p + ".2", p + ".1", p})
        for (const auto& e : decode_file(f)) logs.push_back(e.log);
    ASSERT_FALSE(logs.empty());
    EXPECT_EQ(logs.back(), "line 099\n");
    const int first = 100 - static_cast<int>(logs.size());
    for (size_t i = 0; i < logs.size(); ++i)
        EXPECT_EQ(logs[i], fmt::format("line {:03}\n", first + static_cast<int>(i)));
}

TEST(LogfileWriter, MaxFileOneStartsOver) {
    TempDir d;
    const std::string p = d.file("x.log");
    Options o;
    o.max_size = 200;
    Writer w = open_writer(p, o);
    for (int i = 0; i < 50; ++i)
        ASSERT_TRUE(w.write(Stream::Stdout, fmt::format("line {}\n", i), kT0));
    EXPECT_FALSE(path_exists(p + ".1"));
    auto e = decode_file(p);
    ASSERT_FALSE(e.empty());
    EXPECT_LT(read_file(p).value().size(), 300u);
    EXPECT_EQ(e.back().log, "line 49\n");
}

TEST(LogfileWriter, ReopenAppendsAndEndsABrokenLine) {
    TempDir d;
    const std::string p = d.file("x.log");
    {
        Writer w = open_writer(p);
        ASSERT_TRUE(w.write(Stream::Stdout, "one\n", kT0));
    }
    // A crash cut the next entry short.
    {
        auto data = read_file(p).value();
        data += R"({"log":"tw)";
        ASSERT_TRUE(atomic_write_file(p, data, 0640, Durability::Volatile));
    }
    Writer w = open_writer(p);
    ASSERT_TRUE(w.write(Stream::Stdout, "three\n", kT0));
    const auto lines = file_lines(p);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[1], R"({"log":"tw)");
    EXPECT_TRUE(parse_entry(lines[2], false));
}

TEST(LogfileWriter, Attrs) {
    TempDir d;
    const std::string p = d.file("x.log");
    Options o;
    o.attrs = {{"tag", "web"}, {"env", "a&b"}};
    Writer w = open_writer(p, o);
    ASSERT_TRUE(w.write(Stream::Stderr, "x\n", kT0));
    EXPECT_EQ(
        read_file(p).value(),
        "{\"log\":\"x\\n\",\"stream\":\"stderr\",\"attrs\":{\"env\":\"a\\u0026b\",\"tag\":\"web\"},"
        "\"time\":\"" +
            format_rfc3339_nano(kT0) + "\"}\n");
}

TEST(LogfileWriter, ReportsAFullDisk) {
    auto w = Writer::open("/dev/full", {});
    if (!w) GTEST_SKIP() << "no /dev/full: " << w.error().what();
    auto r = w->write(Stream::Stdout, "lost\n", kT0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().sys_errno, ENOSPC);
    EXPECT_NE(r.error().what().find("/dev/full"), std::string::npos) << r.error().what();
}

TEST(LogfileWriter, RefusesBadOptions) {
    TempDir d;
    Options o;
    o.max_file = 0;
    EXPECT_FALSE(Writer::open(d.file("x.log"), o));
    o.max_file = 2;
    o.compress = true;
    EXPECT_FALSE(Writer::open(d.file("x.log"), o));
    EXPECT_FALSE(Writer::open(d.file("missing-dir/x.log"), {}));
}

}  // namespace
}  // namespace berth::logfile
