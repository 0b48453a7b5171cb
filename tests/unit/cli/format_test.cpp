// Sizes, durations, the tabwriter, JSON indentation, references and daemon addresses.

#include <cstdlib>
#include <ctime>

#include <gtest/gtest.h>

#include "berth/api/client/client.hpp"
#include "berth/api/client/host.hpp"
#include "format/json_text.hpp"
#include "format/output.hpp"
#include "format/reference.hpp"
#include "format/table_writer.hpp"
#include "format/units.hpp"

namespace berth::cli::format {
namespace {

constexpr int64_t kSec = 1000000000LL;

TEST(Units, HumanSize) {
    EXPECT_EQ(human_size(0), "0B");
    EXPECT_EQ(human_size(999), "999B");
    EXPECT_EQ(human_size(1000), "1kB");
    EXPECT_EQ(human_size(4261550), "4.26MB");
    EXPECT_EQ(human_size(123456789), "123MB");
    EXPECT_EQ(human_size(123455789, 4), "123.5MB");
    EXPECT_EQ(human_size(1234567, 4), "1.235MB");
    EXPECT_EQ(human_size(999999), "1e+03kB");  // go-units really prints this
    EXPECT_EQ(human_size(1.5e12), "1.5TB");
    EXPECT_EQ(bytes_size(25201201152), "23.47GiB");
    EXPECT_EQ(bytes_size(1024), "1KiB");
}

TEST(Units, HumanDuration) {
    EXPECT_EQ(human_duration(kSec / 2), "Less than a second");
    EXPECT_EQ(human_duration(1 * kSec), "1 second");
    EXPECT_EQ(human_duration(59 * kSec), "59 seconds");
    EXPECT_EQ(human_duration(60 * kSec), "About a minute");
    EXPECT_EQ(human_duration(119 * kSec), "About a minute");
    EXPECT_EQ(human_duration(120 * kSec), "2 minutes");
    EXPECT_EQ(human_duration(59 * 60 * kSec), "59 minutes");
    EXPECT_EQ(human_duration(60 * 60 * kSec), "About an hour");
    EXPECT_EQ(human_duration(89 * 60 * kSec), "About an hour");
    EXPECT_EQ(human_duration(90 * 60 * kSec), "2 hours");
    EXPECT_EQ(human_duration(47 * 3600 * kSec), "47 hours");
    EXPECT_EQ(human_duration(48 * 3600 * kSec), "2 days");
    EXPECT_EQ(human_duration(14 * 24 * 3600 * kSec), "2 weeks");
    EXPECT_EQ(human_duration(60LL * 24 * 3600 * kSec), "2 months");
    EXPECT_EQ(human_duration(800LL * 24 * 3600 * kSec), "2 years");
    EXPECT_EQ(created_since(0, 1000), "N/A");
    EXPECT_EQ(created_since(1000, 1000 + 7200), "2 hours ago");
}

TEST(Units, Times) {
    setenv("TZ", "UTC", 1);
    tzset();
    EXPECT_EQ(go_time_string(1704164645), "2024-01-02 03:04:05 +0000 UTC");
}

TEST(TableWriter, ColumnsLikeGoTabwriter) {
    TableWriter tw;
    tw.write("a\tbb\tc\nxxx\ty\tz\n");
    EXPECT_EQ(tw.flush(), "a         bb        c\nxxx       y         z\n");
    tw.write("REPOSITORY\tTAG\nlocalhost:5000/my/app\tv1\n");
    EXPECT_EQ(tw.flush(), "REPOSITORY              TAG\nlocalhost:5000/my/app   v1\n");
    // An empty last cell is still padded (docker's history has trailing spaces).
    tw.write("SIZE\tCOMMENT\n0B\t\n");
    EXPECT_EQ(tw.flush(), "SIZE      COMMENT\n0B        \n");
    // A line with fewer cells ends the column block.
    tw.write("a\tb\n\ncccccccccccccc\td\n");
    EXPECT_EQ(tw.flush(), "a         b\n\ncccccccccccccc   d\n");
    // Widths count characters, not bytes.
    tw.write("é\tx\nab\ty\n");
    EXPECT_EQ(tw.flush(), "é         x\nab        y\n");
    TableWriter narrow(20, 1);
    narrow.write(" Version:\t0.1.0\n API version:\t1.44");
    EXPECT_EQ(narrow.flush(), " Version:           0.1.0\n API version:       1.44");
}

TEST(JsonText, IndentLikeGo) {
    EXPECT_EQ(json_indent(R"([{"a":[],"b":{},"c":[1,{"d":"x\"y, z"}]}])"),
              "[\n    {\n        \"a\": [],\n        \"b\": {},\n        \"c\": [\n            1,\n"
              "            {\n                \"d\": \"x\\\"y, z\"\n            }\n        ]\n    }\n]");
    EXPECT_EQ(json_indent("[]"), "[]");
    EXPECT_EQ(json_indent("{ \"k\" : \"\\u003c\" }\n"), "{\n    \"k\": \"\\u003c\"\n}");
}

TEST(Output, EllipsisAndTruncateId) {
    EXPECT_EQ(ellipsis("short", 45), "short");
    EXPECT_EQ(ellipsis("abcdef", 4), "abc…");
    EXPECT_EQ(truncate_id("sha256:0123456789abcdef"), "0123456789ab");
    EXPECT_EQ(truncate_id("<missing>"), "<missing>");
}

TEST(Reference, Normalize) {
    auto r = parse_normalized_named("busybox");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->name, "docker.io/library/busybox");
    EXPECT_EQ(r->tag, "");
    EXPECT_EQ(r->familiar_name(), "busybox");
    r = parse_normalized_named("busybox:1.36");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->tag, "1.36");
    EXPECT_EQ(r->familiar_string(), "busybox:1.36");
    r = parse_normalized_named("localhost:5000/my/app:v1");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->name, "localhost:5000/my/app");
    EXPECT_EQ(r->tag, "v1");
    EXPECT_EQ(r->familiar_name(), "localhost:5000/my/app");
    r = parse_normalized_named("user/app");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->name, "docker.io/user/app");
    EXPECT_EQ(r->familiar_name(), "user/app");
    r = parse_normalized_named("docker.io/library/debian:12");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->familiar_string(), "debian:12");
    r = parse_normalized_named("index.docker.io/library/x");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->name, "docker.io/library/x");
    std::string digest = "sha256:" + std::string(64, 'd');
    r = parse_normalized_named("busybox@" + digest);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->digest, digest);
    EXPECT_EQ(r->tag, "");
}

TEST(Reference, Invalid) {
    auto r = parse_normalized_named("Foo");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "invalid reference format: repository name (library/Foo) must be lowercase");
    for (const char* bad : {"", "a::b", ":x", "a/", "a//b", "-a", "a:b/c:d:e", "busybox@sha256:12"}) {
        EXPECT_FALSE(parse_normalized_named(bad)) << bad;
    }
    EXPECT_TRUE(parse_normalized_named("a:" + std::string(128, 't')));
    EXPECT_FALSE(parse_normalized_named("a:" + std::string(129, 't')));
    EXPECT_EQ(familiarize_name("docker.io/library/a/b"), "library/a/b");
}

}  // namespace
}  // namespace berth::cli::format

namespace berth::api::client {
namespace {

TEST(Host, Parse) {
    auto h = parse_host("");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->kind, Host::Kind::Unix);
    EXPECT_EQ(h->path, "/run/berth/berth.sock");
    EXPECT_EQ(h->url, "unix:///run/berth/berth.sock");
    h = parse_host("unix:///tmp/x.sock");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->path, "/tmp/x.sock");
    h = parse_host("/tmp/y.sock");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->kind, Host::Kind::Unix);
    EXPECT_EQ(h->url, "unix:///tmp/y.sock");
    h = parse_host("tcp://1.2.3.4:2376");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->kind, Host::Kind::Tcp);
    EXPECT_EQ(h->address, "1.2.3.4");
    EXPECT_EQ(h->port, 2376);
    h = parse_host("tcp://example");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->port, 2375);
    EXPECT_EQ(h->url, "tcp://example:2375");
    h = parse_host("tcp://[::1]:1234");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->address, "::1");
    EXPECT_EQ(h->url, "tcp://[::1]:1234");
    h = parse_host("localhost:99");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->kind, Host::Kind::Tcp);
    EXPECT_EQ(h->port, 99);
    auto bad = parse_host("foo://x");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().what(), "Invalid bind address format: foo://x");
    EXPECT_EQ(parse_host("ssh://me@host").error().code, Errc::Unsupported);
    EXPECT_FALSE(parse_host("tcp://h:99999"));
    EXPECT_FALSE(parse_host("tcp://h:1/path"));
}

TEST(Host, SelectFromFlagAndEnvironment) {
    unsetenv("BERTH_HOST");
    unsetenv("DOCKER_HOST");
    EXPECT_EQ(select_host(""), "unix:///run/berth/berth.sock");
    setenv("DOCKER_HOST", "unix:///d.sock", 1);
    EXPECT_EQ(select_host(""), "unix:///d.sock");
    setenv("BERTH_HOST", "unix:///b.sock", 1);
    EXPECT_EQ(select_host(""), "unix:///b.sock");
    EXPECT_EQ(select_host("tcp://x:1"), "tcp://x:1");
    unsetenv("BERTH_HOST");
    unsetenv("DOCKER_HOST");
}

TEST(Query, EncodeLikeGo) {
    EXPECT_EQ(encode_query({{"names", "b"}, {"all", "1"}, {"names", "a"}}), "all=1&names=b&names=a");
    EXPECT_EQ(encode_query({{"filters", R"({"dangling":{"true":true}})"}}),
              "filters=%7B%22dangling%22%3A%7B%22true%22%3Atrue%7D%7D");
    EXPECT_EQ(encode_query({{"m", "a b/c~"}}), "m=a+b%2Fc~");
    EXPECT_EQ(compare_versions("1.44", "1.9"), 1);
    EXPECT_EQ(compare_versions("1.24", "1.44"), -1);
    EXPECT_EQ(compare_versions("1.44", "1.44"), 0);
}

}  // namespace
}  // namespace berth::api::client
