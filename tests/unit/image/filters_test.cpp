// Image filters: Go's path.Match cases, FamiliarMatch, labels, and matching against records
// (the time formats they read are tested with berth/common/time.hpp).

#include "filters.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "berth/common/time.hpp"

namespace berth::image::detail {
namespace {

struct MatchCase {
    const char* pattern;
    const char* name;
    bool match;
    bool bad;
};

// From Go's path/match_test.go (the ASCII ones: references are ASCII).
TEST(FiltersTest, PathMatchFollowsGo) {
    const MatchCase cases[] = {
        {"abc", "abc", true, false},
        {"*", "abc", true, false},
        {"*c", "abc", true, false},
        {"a*", "a", true, false},
        {"a*", "abc", true, false},
        {"a*", "ab/c", false, false},
        {"a*/b", "abc/b", true, false},
        {"a*/b", "a/c/b", false, false},
        {"a*b*c*d*e*/f", "axbxcxdxe/f", true, false},
        {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false},
        {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false},
        {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false},
        {"a*b?c*x", "abxbbxdbxebxczzx", true, false},
        {"a*b?c*x", "abxbbxdbxebxczzy", false, false},
        {"ab[c]", "abc", true, false},
        {"ab[b-d]", "abc", true, false},
        {"ab[e-g]", "abc", false, false},
        {"ab[^c]", "abc", false, false},
        {"ab[^b-d]", "abc", false, false},
        {"ab[^e-g]", "abc", true, false},
        {"a\\*b", "a*b", true, false},
        {"a\\*b", "ab", false, false},
        {"a?b", "a/b", false, false},
        {"a*b", "a/b", false, false},
        {"[\\]a]", "]", true, false},
        {"[\\-]", "-", true, false},
        {"[x\\-]", "x", true, false},
        {"[x\\-]", "-", true, false},
        {"[x\\-]", "z", false, false},
        {"[\\-x]", "x", true, false},
        {"[\\-x]", "-", true, false},
        {"[\\-x]", "a", false, false},
        {"[]a]", "]", false, true},
        {"[-]", "-", false, true},
        {"[x-]", "x", false, true},
        {"[x-]", "-", false, true},
        {"[x-]", "z", false, true},
        {"[-x]", "x", false, true},
        {"[-x]", "-", false, true},
        {"[-x]", "a", false, true},
        {"\\", "a", false, true},
        {"[a-b-c]", "a", false, true},
        {"[", "a", false, true},
        {"[^", "a", false, true},
        {"[^bc", "a", false, true},
        {"a[", "a", false, true},
        {"a[", "ab", false, true},
        {"a[", "x", false, true},
        {"a/b[", "x", false, true},
        {"*x", "xxx", true, false},
    };
    for (const auto& c : cases) {
        auto r = path_match(c.pattern, c.name);
        if (c.bad) {
            ASSERT_FALSE(r) << c.pattern << " " << c.name;
            EXPECT_EQ(r.error().msg, "syntax error in pattern");
            continue;
        }
        ASSERT_TRUE(r) << c.pattern << " " << c.name << ": " << r.error().what();
        EXPECT_EQ(*r, c.match) << c.pattern << " " << c.name;
    }
}

TEST(FiltersTest, FamiliarMatchTriesStringThenName) {
    EXPECT_TRUE(*familiar_match("busybox", "docker.io/library/busybox:latest"));
    EXPECT_TRUE(*familiar_match("busybox:*", "docker.io/library/busybox:1.36"));
    EXPECT_TRUE(*familiar_match("bus*", "docker.io/library/busybox:latest"));
    EXPECT_FALSE(*familiar_match("busybox:1*", "docker.io/library/busybox:latest"));
    EXPECT_FALSE(*familiar_match("library/busybox", "docker.io/library/busybox:latest"));
    EXPECT_TRUE(*familiar_match("*/app", "docker.io/team/app:v1"));
    EXPECT_FALSE(*familiar_match("*", "docker.io/team/app:v1"));  // '*' stops at '/'
    EXPECT_TRUE(*familiar_match("localhost:5000/*:v*", "localhost:5000/x:v2"));
    EXPECT_TRUE(
        *familiar_match("a@sha256:*", "docker.io/library/a@sha256:" + std::string(64, 'b')));
    EXPECT_FALSE(familiar_match("[", "docker.io/library/a:1"));
}

TEST(FiltersTest, Labels) {
    std::map<std::string, std::string> labels{{"a", "1"}, {"b", ""}};
    EXPECT_TRUE(match_labels({}, labels));
    EXPECT_TRUE(match_labels({"a"}, labels));
    EXPECT_TRUE(match_labels({"a=1", "b"}, labels));
    EXPECT_TRUE(match_labels({"b="}, labels));
    EXPECT_FALSE(match_labels({"a=2"}, labels));
    EXPECT_FALSE(match_labels({"a", "c"}, labels));
}

TEST(FiltersTest, CompileAndMatch) {
    ImageFilters f;
    f.until = {"a", "b"};
    auto bad = compile_filters(f, {}, {}, now_unix_nanos());
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().msg, "more than one until filter specified");
    f.until = {"nonsense"};
    bad = compile_filters(f, {}, {}, now_unix_nanos());
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().msg.rfind("invalid value for 'until' filter: ", 0), 0u);

    Image img{store::ImageRecord{digest_of("x"),
                                 {},
                                 {},
                                 {},
                                 100,
                                 0,
                                 0,
                                 0,
                                 {"docker.io/library/a:1", "docker.io/library/b:2"},
                                 {"docker.io/library/a@sha256:" + std::string(64, 'c')}},
              {},
              {}};
    img.config.config.labels = {{"k", "v"}};
    ImageFilters g;
    g.reference = {"a"};
    g.label = {"k=v"};
    auto set = compile_filters(g, {200, 300}, {50}, now_unix_nanos());
    ASSERT_TRUE(set) << set.error().what();
    EXPECT_EQ(set->before_ns, 200);
    EXPECT_EQ(set->since_ns, 50);
    Image copy = img;
    auto m = matches(*set, copy);
    ASSERT_TRUE(m);
    EXPECT_TRUE(*m);
    // Narrowed to what matched "a" (the name), as moby's RepoTags are.
    EXPECT_EQ(copy.record.tags, std::vector<std::string>{"docker.io/library/a:1"});
    EXPECT_EQ(copy.record.repo_digests.size(), 1u);

    set->before_ns = 100;  // strictly before
    copy = img;
    EXPECT_FALSE(*matches(*set, copy));
    set->before_ns.reset();
    set->since_ns = 100;  // strictly after
    copy = img;
    EXPECT_FALSE(*matches(*set, copy));

    FilterSet d;
    d.dangling = true;
    copy = img;
    EXPECT_FALSE(*matches(d, copy));
    d.dangling = false;
    copy = img;
    EXPECT_TRUE(*matches(d, copy));
}

}  // namespace
}  // namespace berth::image::detail
