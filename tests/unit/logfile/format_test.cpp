// The json-file format byte for byte as moby (Go) writes it, and the log-opts parsing.

#include <gtest/gtest.h>

#include "berth/common/time.hpp"
#include "berth/logfile/format.hpp"
#include "berth/logfile/reader.hpp"
#include "berth/logfile/writer.hpp"

namespace berth::logfile {
namespace {

std::string go_quote(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

int64_t t(const char* rfc3339) {
    return parse_rfc3339(rfc3339).value();
}

TEST(LogfileFormat, EscapesLikeGo) {
    // Expected values follow moby's ffjsonWriteJSONBytesAsString (Go encoding/json with HTML
    // escaping; '\n' and '\r' short, other control bytes \u00XX, bad UTF-8 byte-wise \ufffd).
    struct Case {
        std::string in, out;
    };
    const Case cases[] = {
        {"hello\n", R"("hello\n")"},
        {"", R"("")"},
        {"a\r\n", R"("a\r\n")"},
        {"\t", R"("\u0009")"},
        {std::string("\0", 1), R"("\u0000")"},
        {"\b\f\x1f", R"("\u0008\u000c\u001f")"},
        {"\x1b[31mred\x1b[0m", R"("\u001b[31mred\u001b[0m")"},
        {"\x7f", "\"\x7f\""},
        {R"(say "hi" \o/)", R"("say \"hi\" \\o/")"},
        {R"(<a href="x">&amp;</a>)", R"("\u003ca href=\"x\"\u003e\u0026amp;\u003c/a\u003e")"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
         "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
        {"\xef\xbf\xbd", "\"\xef\xbf\xbd\""},  // a real U+FFFD stays as it is
        {"\xff", R"("\ufffd")"},
        {"a\xe2\x82"
         "b",
         R"("a\ufffd\ufffdb")"},                                // truncated sequence
        {"\xc0\x80", R"("\ufffd\ufffd")"},                      // overlong NUL
        {"\xe0\x80\xaf", R"("\ufffd\ufffd\ufffd")"},            // overlong '/'
        {"\xed\xa0\x80", R"("\ufffd\ufffd\ufffd")"},            // surrogate U+D800
        {"\xf4\x90\x80\x80", R"("\ufffd\ufffd\ufffd\ufffd")"},  // above U+10FFFF
        {"\xf0\x9f\x98", R"("\ufffd\ufffd\ufffd")"},            // cut emoji at the end
        {"x\xe2\x80\xa8y\xe2\x80\xa9z", R"("x\u2028y\u2029z")"},
        {"\xe2\x80\xaa", "\"\xe2\x80\xaa\""},  // U+202A is not escaped
    };
    for (const auto& c : cases) EXPECT_EQ(go_quote(c.in), c.out) << "input: " << c.in;
}

TEST(LogfileFormat, EntryBytes) {
    std::string out;
    append_entry(out, "hello", true, Stream::Stdout, t("2026-11-24T05:00:00.123456789Z"), "");
    EXPECT_EQ(out,
              "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T05:00:00."
              "123456789Z\"}\n");
    out.clear();
    append_entry(out, "part", false, Stream::Stderr, t("2026-11-24T05:00:00Z"), "");
    EXPECT_EQ(out, "{\"log\":\"part\",\"stream\":\"stderr\",\"time\":\"2026-11-24T05:00:00Z\"}\n");
    out.clear();
    append_entry(out, "", true, Stream::Stdout, t("2026-11-24T05:00:00.1Z"), "");
    EXPECT_EQ(out, "{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T05:00:00.1Z\"}\n");
    out.clear();
    // An empty partial has no "log" (omitempty); attrs sit between stream and time.
    append_entry(out, "", false, Stream::Stdout, t("2026-11-24T05:00:00.12Z"),
                 encode_attrs({{"b", "2"}, {"a", "<1>"}}));
    EXPECT_EQ(out,
              "{\"stream\":\"stdout\",\"attrs\":{\"a\":\"\\u003c1\\u003e\",\"b\":\"2\"},"
              "\"time\":\"2026-11-24T05:00:00.12Z\"}\n");
}

TEST(LogfileFormat, TimesTrimAndPad) {
    EXPECT_EQ(format_rfc3339_nano(t("2026-11-24T05:00:00.100000000Z")), "2026-11-24T05:00:00.1Z");
    EXPECT_EQ(format_rfc3339_nano(t("2026-11-24T05:00:00.000000010Z")),
              "2026-11-24T05:00:00.00000001Z");
    EXPECT_EQ(format_rfc3339_nano(t("2026-11-24T05:00:00Z")), "2026-11-24T05:00:00Z");
    EXPECT_EQ(format_timestamp(t("2026-11-24T05:00:00.1Z")), "2026-11-24T05:00:00.100000000Z");
    EXPECT_EQ(format_timestamp(t("2026-11-24T05:00:00Z")), "2026-11-24T05:00:00.000000000Z");
    EXPECT_EQ(format_timestamp(t("2026-11-24T05:00:00.123456789Z")),
              "2026-11-24T05:00:00.123456789Z");
    EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00.000000000Z");
}

TEST(LogfileFormat, ParseEntry) {
    auto e = parse_entry(R"({"log":"a\u003cb\n","stream":"stderr","attrs":{"k":"v"},)"
                         R"("time":"2026-11-24T05:00:00.5Z"})",
                         true);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->line, "a<b\n");
    EXPECT_EQ(e->stream, Stream::Stderr);
    EXPECT_EQ(e->time_ns, t("2026-11-24T05:00:00.5Z"));
    EXPECT_FALSE(e->partial);
    ASSERT_EQ(e->attrs.size(), 1u);
    EXPECT_EQ(e->attrs[0].first, "k");
    e = parse_entry(R"({"stream":"stdout","time":"2026-11-24T05:00:00Z"})", false);
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->partial);
    EXPECT_EQ(e->line, "");
    EXPECT_FALSE(parse_entry(R"({"log":"x\n","stream":"stdout","time":"2026-11-24T05:0)", false));
    EXPECT_FALSE(
        parse_entry(R"({"log":"x\n","stream":"stdin","time":"2026-11-24T05:00:00Z"})", false));
    EXPECT_FALSE(parse_entry(R"({"log":"x\n","stream":"stdout","time":"yesterday"})", false));
    EXPECT_FALSE(parse_entry("garbage", false));
    EXPECT_FALSE(parse_entry("", false));
}

TEST(LogfileFormat, RoundTrip) {
    // Whatever the writer encodes decodes to the same bytes (bad UTF-8 to U+FFFD), on the fast
    // path and on the nlohmann one (which " attrs" and spaces force).
    const std::string inputs[] = {"plain",
                                  "tab\there",
                                  "<&>\"\\",
                                  std::string("nul\0x", 5),
                                  "caf\xc3\xa9 \xf0\x9f\x98\x80",
                                  "x\xe2\x80\xa8y",
                                  "\x1b[0m\r"};
    for (const std::string& in : inputs) {
        std::string line;
        append_entry(line, in, true, Stream::Stderr, t("2026-11-24T05:00:00.5Z"), "");
        line.pop_back();
        auto fast = parse_entry(line, false);
        ASSERT_TRUE(fast) << line;
        EXPECT_EQ(fast->line, in + "\n");
        std::string spaced = line;
        spaced.insert(1, " ");
        auto slow = parse_entry(spaced, false);
        ASSERT_TRUE(slow) << spaced;
        EXPECT_EQ(slow->line, fast->line);
        EXPECT_EQ(slow->time_ns, fast->time_ns);
        EXPECT_EQ(slow->stream, Stream::Stderr);
    }
    std::string line;
    append_entry(line,
                 "a\xff"
                 "b",
                 false, Stream::Stdout, t("2026-11-24T05:00:00Z"), "");
    line.pop_back();
    EXPECT_EQ(parse_entry(line, false)->line,
              "a\xef\xbf\xbd"
              "b");
    // Escapes Go never writes but JSON allows.
    auto e = parse_entry(
        R"({"log":"\/\t\ud83d\ude00\u00e9","stream":"stdout","time":"2026-11-24T05:00:00Z"})",
        false);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->line, "/\t\xf0\x9f\x98\x80\xc3\xa9");
    EXPECT_FALSE(
        parse_entry(R"({"log":"\ud83d","stream":"stdout","time":"2026-11-24T05:00:00Z"})", false));
}

TEST(LogfileOptions, HumanSizes) {
    EXPECT_EQ(parse_human_size("10m").value(), 10'000'000);
    EXPECT_EQ(parse_human_size("1g").value(), 1'000'000'000);
    EXPECT_EQ(parse_human_size("100k").value(), 100'000);
    EXPECT_EQ(parse_human_size("100KB").value(), 100'000);
    EXPECT_EQ(parse_human_size("2 MiB").value(), 2'000'000);  // FromHumanSize is decimal
    EXPECT_EQ(parse_human_size("1.5m").value(), 1'500'000);
    EXPECT_EQ(parse_human_size("512").value(), 512);
    EXPECT_EQ(parse_human_size("7b").value(), 7);
    EXPECT_EQ(parse_human_size("abc").error().msg, "invalid size: 'abc'");
    EXPECT_EQ(parse_human_size("-1m").error().msg, "invalid size: '-1m'");
    EXPECT_EQ(parse_human_size("10x").error().msg, "invalid size: '10x'");
    EXPECT_EQ(parse_human_size("").error().msg, "invalid size: ''");
    EXPECT_EQ(parse_human_size("1.2.3k").error().msg,
              "strconv.ParseFloat: parsing \"1.2.3\": invalid syntax");
}

TEST(LogfileOptions, ParseOptions) {
    auto o = parse_options({{"max-size", "10m"},
                            {"max-file", "3"},
                            {"labels", "a,b"},
                            {"env", "X"},
                            {"tag", "{{.Name}}"},
                            {"compress", "false"}});
    ASSERT_TRUE(o) << o.error().what();
    EXPECT_EQ(o->max_size, 10'000'000);
    EXPECT_EQ(o->max_file, 3);
    EXPECT_FALSE(o->compress);
    o = parse_options({});
    ASSERT_TRUE(o);
    EXPECT_EQ(o->max_size, 0);
    EXPECT_EQ(o->max_file, 1);

    const auto err = [](std::map<std::string, std::string> m) {
        auto r = parse_options(m);
        return r ? std::string("ok") : r.error().msg;
    };
    EXPECT_EQ(err({{"max-buffer-size", "1m"}}),
              "unknown log opt 'max-buffer-size' for json-file log driver");
    EXPECT_EQ(err({{"max-size", "0"}}), "max-size must be a positive number");
    EXPECT_EQ(err({{"max-size", "lots"}}), "invalid size: 'lots'");
    EXPECT_EQ(err({{"max-file", "0"}}), "max-file cannot be less than 1");
    EXPECT_EQ(err({{"max-file", "x"}}), "strconv.Atoi: parsing \"x\": invalid syntax");
    EXPECT_EQ(err({{"compress", "maybe"}}), "strconv.ParseBool: parsing \"maybe\": invalid syntax");
    EXPECT_EQ(err({{"compress", "true"}}),
              "compress cannot be true when max-file is less than 2 or max-size is not set");
    auto r = parse_options({{"compress", "1"}, {"max-file", "2"}, {"max-size", "1m"}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Unsupported);
    EXPECT_EQ(parse_options({{"env-regex", "("}}).error().code, Errc::InvalidArgument);
}

TEST(LogfileOptions, ExtraAttributes) {
    ContainerInfo info;
    info.id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    info.name = "/web";
    info.image_id = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    info.image_name = "nginx:latest";
    info.labels = {{"com.example.team", "a"}, {"com.example.tier", "b"}, {"other", "c"}};
    info.env = {"FOO=1", "BAR=x=y", "NOVALUE", "FOOBAR=2"};
    auto a = extra_attributes({{"labels", "other,missing"},
                               {"labels-regex", "^com\\.example\\.te"},
                               {"env", "BAR"},
                               {"env-regex", "^FOO"},
                               {"tag", "{{.Name}}/{{.ID}}/{{ .ImageID }}/{{.ImageName}}"}},
                              info);
    ASSERT_TRUE(a) << a.error().what();
    const std::map<std::string, std::string> want = {
        {"other", "c"},  {"com.example.team", "a"},
        {"BAR", "x=y"},  {"FOO", "1"},
        {"FOOBAR", "2"}, {"tag", "web/0123456789ab/fedcba987654/nginx:latest"}};
    EXPECT_EQ(*a, want);
    EXPECT_TRUE(extra_attributes({}, info).value().empty());
    EXPECT_FALSE(extra_attributes({{"tag", "{{.Nope}}"}}, info));
}

}  // namespace
}  // namespace berth::logfile
