// The json-file reader: order across rotated files, tail, since/until, filters, bad lines,
// follow while a writer appends and rotates, and draining after the stop condition.

#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "berth/common/fs.hpp"
#include "berth/common/time.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/logfile/reader.hpp"
#include "berth/logfile/writer.hpp"
#include "test_util.hpp"

namespace berth::logfile {
namespace {

using test::TempDir;

constexpr int64_t kT0 = 1'795'000'000'000'000'000;
constexpr int64_t kSec = 1'000'000'000;

std::string line(int i) {
    return fmt::format("line {:05}\n", i);
}

// Writes lines 0..n-1, line i at kT0 + i seconds, on stdout (even) and stderr (odd).
void write_lines(Writer& w, int from, int to) {
    for (int i = from; i < to; ++i) {
        auto r = w.write(i % 2 ? Stream::Stderr : Stream::Stdout, line(i), kT0 + i * kSec);
        ASSERT_TRUE(r) << r.error().what();
    }
}

std::vector<Entry> read_all(const std::string& path, const ReadOptions& o,
                            const std::function<bool()>& stop = {}) {
    std::vector<Entry> out;
    auto r = read_logs(
        path, o,
        [&](const Entry& e) -> Result<bool> {
            out.push_back(e);
            return true;
        },
        stop);
    EXPECT_TRUE(r) << r.error().what();
    return out;
}

// Checks that `got` is exactly lines from..to-1 in order.
void expect_lines(const std::vector<Entry>& got, int from, int to) {
    ASSERT_EQ(got.size(), static_cast<size_t>(to - from));
    for (int i = from; i < to; ++i) {
        EXPECT_EQ(got[static_cast<size_t>(i - from)].line, line(i));
        EXPECT_EQ(got[static_cast<size_t>(i - from)].time_ns, kT0 + i * kSec);
    }
}

// A log of 100 lines over x.log.2, x.log.1 and x.log.
struct RotatedLog {
    TempDir dir;
    std::string path = dir.file("x.log");
    RotatedLog() {
        Options o;
        o.max_size = 1000;
        o.max_file = 3;
        auto w = Writer::open(path, o);
        EXPECT_TRUE(w);
        write_lines(*w, 0, 100);
        EXPECT_TRUE(w->close());
    }
    // The first line still in the files (older ones were rotated out).
    int first() const {
        size_t n = 0;
        for (const std::string& f : {path + ".2", path + ".1", path})
            n += test::file_lines(f).size();
        return 100 - static_cast<int>(n);
    }
};

TEST(LogfileReader, ReadsRotatedFilesOldestFirst) {
    RotatedLog log;
    ASSERT_TRUE(path_exists(log.path + ".2"));
    ASSERT_FALSE(path_exists(log.path + ".3"));
    expect_lines(read_all(log.path, {}), log.first(), 100);
}

TEST(LogfileReader, TailAcrossRotatedFiles) {
    RotatedLog log;
    const auto lines_in = [&](const std::string& f) {
        return static_cast<int>(test::file_lines(f).size());
    };
    const int cur = lines_in(log.path), one = lines_in(log.path + ".1");
    for (int n : {1, 5, cur, cur + 1, cur + one + 2}) {
        ReadOptions o;
        o.tail = n;
        expect_lines(read_all(log.path, o), 100 - n, 100);
    }
    ReadOptions o;
    o.tail = 0;
    EXPECT_TRUE(read_all(log.path, o).empty());
    o.tail = 100000;
    expect_lines(read_all(log.path, o), log.first(), 100);
}

TEST(LogfileReader, TailOfABigFileReadsOnlyItsEnd) {
    TempDir d;
    const std::string p = d.file("x.log");
    auto w = Writer::open(p, {});
    ASSERT_TRUE(w);
    std::string chunk;
    for (int i = 0; i < 200000; ++i) chunk += "some output of a busy container\n";
    ASSERT_TRUE(w->write(Stream::Stdout, chunk, kT0));  // ~14 MB of entries
    write_lines(*w, 0, 10);
    ReadOptions o;
    o.tail = 10;
    // rchar in /proc/self/io counts the bytes this process got from read(2) and pread(2).
    const auto rchar = [] {
        const std::string io = read_file("/proc/self/io").value();
        return std::stoll(io.substr(io.find("rchar: ") + 7));
    };
    const long long before = rchar();
    auto got = read_all(p, o);
    const long long read_bytes = rchar() - before;
    expect_lines(got, 0, 10);
    EXPECT_GT(read_file(p).value().size(), 10'000'000u);
    EXPECT_LT(read_bytes, 300'000) << "tail read most of the file";
}

TEST(LogfileReader, FollowWaitsForAnUnfinishedEntry) {
    TempDir d;
    const std::string p = d.file("x.log");
    std::string e0, e1;
    append_entry(e0, "zero", true, Stream::Stdout, kT0, "");
    append_entry(e1, "one", true, Stream::Stdout, kT0 + kSec, "");
    // The writer is in the middle of writing entry 1.
    ASSERT_TRUE(atomic_write_file(p, e0 + e1.substr(0, 10), 0640, Durability::Volatile));
    ReadOptions o;
    o.follow = true;
    int calls = 0;
    auto got = read_all(p, o, [&] {
        if (++calls == 2) {
            UniqueFd fd(::open(p.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
            EXPECT_TRUE(write_all(fd.get(), std::string_view(e1).substr(10), p));
        }
        return calls >= 2;
    });
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].line, "zero\n");
    EXPECT_EQ(got[1].line, "one\n");
}

TEST(LogfileReader, SinceUntilAndStreams) {
    RotatedLog log;
    ReadOptions o;
    o.since_ns = kT0 + 90 * kSec;
    expect_lines(read_all(log.path, o), 90, 100);
    o.until_ns = kT0 + 95 * kSec;  // inclusive, as moby (After(until) ends)
    expect_lines(read_all(log.path, o), 90, 96);
    o = {};
    o.tail = 10;
    o.since_ns = kT0 + 95 * kSec;  // tail first, then since
    expect_lines(read_all(log.path, o), 95, 100);

    o = {};
    o.since_ns = kT0 + 99 * kSec;  // the rotated files are skipped, the result is the same
    expect_lines(read_all(log.path, o), 99, 100);
    o.since_ns = kT0;
    expect_lines(read_all(log.path, o), log.first(), 100);

    o = {};
    o.stderr = false;
    o.since_ns = kT0 + 90 * kSec;
    auto got = read_all(log.path, o);
    ASSERT_EQ(got.size(), 5u);
    for (const auto& e : got) EXPECT_EQ(e.stream, Stream::Stdout);
    EXPECT_EQ(got[0].line, line(90));
    o.stderr = true;
    o.stdout = false;
    got = read_all(log.path, o);
    ASSERT_EQ(got.size(), 5u);
    EXPECT_EQ(got[0].line, line(91));
}

TEST(LogfileReader, SkipsBadLines) {
    TempDir d;
    const std::string p = d.file("x.log");
    std::string data;
    const auto entry = [](int i) {
        std::string s;
        append_entry(s, fmt::format("ok {}", i), true, Stream::Stdout, kT0 + i * kSec, "");
        return s;
    };
    data += entry(0);
    data += "garbage\n";
    data += R"({"log":"cut sh)"
            "\n";
    data += "\n";
    data += entry(1);
    data += R"({"log":"x\n","stream":"stdout","time":"not a time"})"
            "\n";
    data += std::string(3 * 1024 * 1024, 'g') + "\n";  // an overlong line
    data += entry(2);
    data += R"({"log":"being wri)";  // unfinished last line
    ASSERT_TRUE(atomic_write_file(p, data, 0640, Durability::Volatile));
    auto got = read_all(p, {});
    ASSERT_EQ(got.size(), 3u);
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(got[static_cast<size_t>(i)].line, fmt::format("ok {}\n", i));
    ReadOptions o;
    o.tail = 2;
    got = read_all(p, o);
    ASSERT_EQ(got.size(), 1u);  // the last two lines are the overlong one and entry 2
    EXPECT_EQ(got[0].line, "ok 2\n");
}

TEST(LogfileReader, MissingLogIsEmpty) {
    TempDir d;
    EXPECT_TRUE(read_all(d.file("x.log"), {}).empty());
    EXPECT_TRUE(read_all(d.file("no/such/dir/x.log"), {}).empty());
}

TEST(LogfileReader, CallbackCanStopAndFail) {
    RotatedLog log;
    int n = 0;
    auto r = read_logs(log.path, {}, [&](const Entry&) -> Result<bool> { return ++n < 3; });
    ASSERT_TRUE(r);
    EXPECT_EQ(n, 3);
    r = read_logs(log.path, {}, [&](const Entry&) -> Result<bool> {
        return make_error(Errc::Unavailable, "client gone");
    });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Unavailable);
}

TEST(LogfileReader, PartialsAndDetails) {
    TempDir d;
    const std::string p = d.file("x.log");
    Options wo;
    wo.attrs = {{"tag", "web"}};
    auto w = Writer::open(p, wo);
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write(Stream::Stdout, "no newline", kT0));
    ASSERT_TRUE(w->close());
    ReadOptions o;
    auto got = read_all(p, o);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(got[0].partial);
    EXPECT_EQ(got[0].line, "no newline");
    EXPECT_TRUE(got[0].attrs.empty());
    o.details = true;
    got = read_all(p, o);
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(got[0].attrs.size(), 1u);
    EXPECT_EQ(got[0].attrs[0], (std::pair<std::string, std::string>{"tag", "web"}));
}

// Follows while another thread writes `total` lines with rotations, then stops once the
// writer is done; every line must arrive exactly once and in order.
void follow_while_writing(int total, int64_t max_size, int max_file, int pause_every,
                          int64_t tail) {
    TempDir d;
    const std::string p = d.file("x.log");
    Options wo;
    wo.max_size = max_size;
    wo.max_file = max_file;
    auto w = Writer::open(p, wo);
    ASSERT_TRUE(w);
    write_lines(*w, 0, 10);  // before the reader starts
    std::atomic<bool> done{false};
    std::atomic<bool> reader_started{false};
    std::thread writer([&] {
        while (!reader_started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        for (int i = 10; i < total; ++i) {
            ASSERT_TRUE(w->write(i % 2 ? Stream::Stderr : Stream::Stdout, line(i), kT0 + i * kSec));
            if (pause_every > 0 && i % pause_every == 0)
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        ASSERT_TRUE(w->close());
        done = true;
    });
    ReadOptions o;
    o.follow = true;
    o.tail = tail;
    std::vector<Entry> got;
    auto r = read_logs(
        p, o,
        [&](const Entry& e) -> Result<bool> {
            reader_started = true;
            got.push_back(e);
            return true;
        },
        [&] {
            reader_started = true;
            return done.load();
        });
    writer.join();
    ASSERT_TRUE(r) << r.error().what();
    const int first = tail < 0 ? 0 : 10 - static_cast<int>(tail);
    expect_lines(got, first, total);
}

TEST(LogfileReader, FollowAcrossRotations) {
    follow_while_writing(2000, 2000, 1000, 10, -1);
}

TEST(LogfileReader, FollowFastRotationsWithoutPauses) {
    follow_while_writing(1000, 300, 1000, 0, -1);
}

TEST(LogfileReader, FollowWithTail) {
    follow_while_writing(500, 2000, 1000, 5, 3);
    follow_while_writing(500, 0, 1, 5, 0);
}

TEST(LogfileReader, FollowDrainsAfterStop) {
    TempDir d;
    const std::string p = d.file("x.log");
    auto w = Writer::open(p, {});
    ASSERT_TRUE(w);
    write_lines(*w, 0, 5);
    // The stop condition is already true at the first check: the reader still delivers what
    // the writer wrote before it, including lines added while it was reading.
    bool wrote_more = false;
    ReadOptions o;
    o.follow = true;
    std::vector<Entry> got;
    auto r = read_logs(
        p, o,
        [&](const Entry& e) -> Result<bool> {
            got.push_back(e);
            if (!wrote_more) {
                wrote_more = true;
                write_lines(*w, 5, 8);
            }
            return true;
        },
        [&] {
            write_lines(*w, 8, 12);  // the container's last words, then it is gone
            return true;
        });
    ASSERT_TRUE(r) << r.error().what();
    expect_lines(got, 0, 12);
}

TEST(LogfileReader, FollowWaitsForTheLogToAppear) {
    TempDir d;
    const std::string p = d.file("x.log");
    std::atomic<bool> done{false};
    std::thread writer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        auto w = Writer::open(p, {});
        ASSERT_TRUE(w);
        write_lines(*w, 0, 3);
        done = true;
    });
    ReadOptions o;
    o.follow = true;
    auto got = read_all(p, o, [&] { return done.load(); });
    writer.join();
    expect_lines(got, 0, 3);
}

TEST(LogfileReader, FollowEndsAtUntil) {
    TempDir d;
    const std::string p = d.file("x.log");
    auto w = Writer::open(p, {});
    ASSERT_TRUE(w);
    write_lines(*w, 0, 3);
    ReadOptions o;
    o.follow = true;
    o.until_ns = now_unix_nanos() + 300'000'000;  // the lines are from 2026-11-18: all before
    const auto start = std::chrono::steady_clock::now();
    auto got = read_all(p, o);  // no stop condition: until ends it
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
    expect_lines(got, 0, 3);
}

}  // namespace
}  // namespace berth::logfile
