// Times as Go and moby read and write them: RFC 3339, RFC3339Nano, Go durations and moby's
// timestamps (the cases of the former copies in api, image and the CLI, and Go's own).

#include "berth/common/time.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace berth {
namespace {

constexpr int64_t kSec = kNanosPerSecond;

TEST(Rfc3339, Parses) {
    EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20Z"), 1700000000 * kSec);
    EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20.5Z"), 1700000000 * kSec + 500000000);
    EXPECT_EQ(parse_rfc3339("2023-11-15T00:13:20.000000001+02:00"), 1700000000 * kSec + 1);
    EXPECT_EQ(parse_rfc3339("2024-01-02T03:04:05.123456789Z"), 1704164645 * kSec + 123456789);
    EXPECT_EQ(parse_rfc3339("2024-01-02T04:04:05+01:00"), 1704164645 * kSec);
    EXPECT_EQ(parse_rfc3339("2024-01-02T02:34:05-00:30"), 1704164645 * kSec);
    // Go keeps nine digits of a longer fraction; RFC 3339 allows 't' and 'z'.
    EXPECT_EQ(parse_rfc3339("2024-01-02T03:04:05.1234567891Z"), 1704164645 * kSec + 123456789);
    EXPECT_EQ(parse_rfc3339("2024-01-02t03:04:05z"), 1704164645 * kSec);
    EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59.5Z"), -kSec / 2);
    EXPECT_EQ(parse_rfc3339("2024-02-29T00:00:00Z"), 1709164800 * kSec);
    EXPECT_EQ(parse_rfc3339("2262-04-11T23:47:16.854775807Z"), std::numeric_limits<int64_t>::max());
}

TEST(Rfc3339, RefusesWhatGoRefuses) {
    for (const char* s :
         {"", "yesterday", "2023-11-14", "2023-11-14T22:13:20", "2023-11-14T22:13Z",
          "2023-11-14 22:13:20Z", "2023-11-14T22:13:20+0100", "2023-11-14T22:13:20.Z",
          "2023-11-14T22:13:20Zjunk", "2023-13-14T22:13:20Z", "2023-02-29T00:00:00Z",
          "2023-11-14T24:00:00Z", "2023-11-14T22:60:00Z", "2023-11-14T22:13:60Z",
          "0001-01-01T00:00:00Z", "2262-04-11T23:47:16.854775808Z"}) {
        auto r = parse_rfc3339(s);
        EXPECT_FALSE(r) << s;
        if (!r) {
            EXPECT_EQ(r.error().code, Errc::InvalidArgument);
            EXPECT_NE(r.error().msg.find(s), std::string::npos) << r.error().msg;
        }
    }
}

TEST(Rfc3339, FormatsNanoInUtc) {
    EXPECT_EQ(format_rfc3339_nano(0), "1970-01-01T00:00:00Z");
    EXPECT_EQ(format_rfc3339_nano(1700000000 * kSec), "2023-11-14T22:13:20Z");
    EXPECT_EQ(format_rfc3339_nano(1700000000 * kSec + 120000000), "2023-11-14T22:13:20.12Z");
    EXPECT_EQ(format_rfc3339_nano(1700000000 * kSec + 1), "2023-11-14T22:13:20.000000001Z");
    EXPECT_EQ(format_rfc3339_nano(-1), "1969-12-31T23:59:59.999999999Z");
    EXPECT_EQ(format_rfc3339_nano(1709164800 * kSec), "2024-02-29T00:00:00Z");
    EXPECT_EQ(format_rfc3339_nano(std::numeric_limits<int64_t>::max()),
              "2262-04-11T23:47:16.854775807Z");
    EXPECT_EQ(format_rfc3339_nano(std::numeric_limits<int64_t>::min()),
              "1677-09-21T00:12:43.145224192Z");
    int64_t now = now_unix_nanos();
    EXPECT_EQ(parse_rfc3339(format_rfc3339_nano(now)), now);
}

TEST(Clock, NowIsTheWallClock) {
    const int64_t before = static_cast<int64_t>(::time(nullptr));
    const int64_t now = now_unix_nanos() / kSec;
    EXPECT_GE(now, before);
    EXPECT_LE(now, before + 5);
}

TEST(GoDuration, Parses) {
    EXPECT_EQ(*parse_go_duration("0"), 0);
    EXPECT_EQ(*parse_go_duration("+0"), 0);
    EXPECT_EQ(*parse_go_duration("10m"), 600 * kSec);
    EXPECT_EQ(*parse_go_duration("1h30m"), 5400 * kSec);
    EXPECT_EQ(*parse_go_duration("1.5h"), 5400 * kSec);
    EXPECT_EQ(*parse_go_duration("1.5s"), 1500000000);
    EXPECT_EQ(*parse_go_duration(".5s"), 500000000);
    EXPECT_EQ(*parse_go_duration("5.s"), 5 * kSec);
    EXPECT_EQ(*parse_go_duration("300ms"), 300000000);
    EXPECT_EQ(*parse_go_duration("-2m"), -120 * kSec);
    EXPECT_EQ(*parse_go_duration("5us"), 5000);
    EXPECT_EQ(*parse_go_duration("5\xc2\xb5s"), 5000);
    EXPECT_EQ(*parse_go_duration("5\xce\xbcs"), 5000);
    EXPECT_EQ(*parse_go_duration("7ns"), 7);
    EXPECT_EQ(*parse_go_duration("1h2m3s4ms5us6ns"), 3723004005006);
    // From Go's time_test.go: exact at the int64 bounds.
    EXPECT_EQ(*parse_go_duration("9223372036854775807ns"), std::numeric_limits<int64_t>::max());
    EXPECT_EQ(*parse_go_duration("-9223372036854775808ns"), std::numeric_limits<int64_t>::min());
    EXPECT_EQ(*parse_go_duration("0.100000000000000000000h"), 6 * 60 * kSec);
    EXPECT_EQ(*parse_go_duration("0.9223372036854775807s"), 922337203);
}

TEST(GoDuration, RefusesWithGoMessages) {
    for (const char* s : {"", "-", "10", "10x", "h", ".", ".s", "1..5s", "3000000h",
                          "9223372036854775808ns", "9223372036854775.808us", "1e3s"}) {
        EXPECT_FALSE(parse_go_duration(s)) << s;
    }
    EXPECT_EQ(parse_go_duration("h").error().msg, "time: invalid duration \"h\"");
    EXPECT_EQ(parse_go_duration("10").error().msg, "time: missing unit in duration \"10\"");
    EXPECT_EQ(parse_go_duration("10x").error().msg, "time: unknown unit \"x\" in duration \"10x\"");
    EXPECT_EQ(parse_go_duration("10x").error().code, Errc::InvalidArgument);
}

TEST(Timestamp, MobyForms) {
    const int64_t now = 1700000000 * kSec;
    EXPECT_EQ(*parse_timestamp("1700000000", now), 1700000000 * kSec);
    EXPECT_EQ(*parse_timestamp("1700000000.5", now), 1700000000 * kSec + 500000000);
    EXPECT_EQ(*parse_timestamp("1700000000.25", now), 1700000000 * kSec + 250000000);
    EXPECT_EQ(*parse_timestamp("1700000000.000000001", now), 1700000000 * kSec + 1);
    EXPECT_EQ(*parse_timestamp("0", now), 0);
    EXPECT_EQ(*parse_timestamp("10m", now), now - 600 * kSec);
    EXPECT_EQ(*parse_timestamp("1h30m", now), now - 5400 * kSec);
    EXPECT_EQ(*parse_timestamp("-1m", now), now + 60 * kSec);
    EXPECT_EQ(*parse_timestamp("2023-11-14T22:13:20Z", now), 1700000000 * kSec);
    EXPECT_EQ(*parse_timestamp("2023-11-14T23:13:20+01:00", now), 1700000000 * kSec);
    EXPECT_EQ(*parse_timestamp("2023-11-14T22:13:20.25Z", now), 1700000000 * kSec + 250000000);
    EXPECT_EQ(*parse_timestamp("2023-11-14T22:13:20", now), 1700000000 * kSec);
    EXPECT_EQ(*parse_timestamp("2023-11-14T22:13:20.25", now), 1700000000 * kSec + 250000000);
    EXPECT_EQ(*parse_timestamp("2023-11-14", now), 1699920000 * kSec);
    // The shorter layouts GetTimestamp picks by the colons after 'T', and a zone on a date.
    EXPECT_EQ(*parse_timestamp("2023-11-14T22", now), (1699920000 + 22 * 3600) * kSec);
    EXPECT_EQ(*parse_timestamp("2023-11-14T22:13", now), (1699920000 + 22 * 3600 + 780) * kSec);
    EXPECT_EQ(*parse_timestamp("2023-11-14T23Z", now), (1699920000 + 23 * 3600) * kSec);
    EXPECT_EQ(*parse_timestamp("2023-11-14T23:13+01:00", now),
              (1699920000 + 22 * 3600 + 780) * kSec);
    EXPECT_EQ(*parse_timestamp("2023-11-14Z", now), 1699920000 * kSec);
    EXPECT_EQ(*parse_timestamp("2023-11-14-01:00", now), (1699920000 + 3600) * kSec);
}

TEST(Timestamp, DurationsAreWholeSecondsLikeMoby) {
    // moby sends reference.Add(-d).Unix(): the fraction of `now` is dropped.
    const int64_t now = 1700000000 * kSec + 123;
    EXPECT_EQ(*parse_timestamp("10m", now), (1700000000 - 600) * kSec);
    EXPECT_EQ(*parse_timestamp("1.5s", now), (1700000000 - 2) * kSec);
}

TEST(Timestamp, Refuses) {
    const int64_t now = 1700000000 * kSec;
    for (const char* s : {"", "yesterday", "2023-13-45", "2023-11-14T22:13:20+0100", "-5",
                          "1700000000.", "1700000000.5x", "1.2.3", " 10m", "2023-11-14T25"}) {
        EXPECT_FALSE(parse_timestamp(s, now)) << s;
    }
    EXPECT_EQ(parse_timestamp("yesterday", now).error().msg,
              "failed to parse value as time or duration: \"yesterday\"");
    EXPECT_EQ(parse_timestamp("2023-13-45", now).error().msg,
              "parsing time \"2023-13-45\": month out of range");
}

}  // namespace
}  // namespace berth
