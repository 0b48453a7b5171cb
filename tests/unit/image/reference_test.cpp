// Cases ported from github.com/distribution/reference reference_test.go and normalize_test.go.
#include "berth/image/reference.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace berth::image {
namespace {

std::string repeat(std::string_view s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
}

const std::string kF64(64, 'f');

// TestReferenceParse: strict Parse, no normalization. err is a substring of the expected
// message ("" = success).
struct ParseCase {
    std::string input;
    std::string err;
    std::string repository;
    std::string domain;
    std::string tag;
    std::string digest;
};

TEST(ReferenceParse, DistributionTable) {
    const std::vector<ParseCase> cases = {
        {"test_com", "", "test_com", "", "", ""},
        {"test.com:tag", "", "test.com", "", "tag", ""},
        {"test.com:5000", "", "test.com", "", "5000", ""},
        {"test.com/repo:tag", "", "test.com/repo", "test.com", "tag", ""},
        {"test:5000/repo", "", "test:5000/repo", "test:5000", "", ""},
        {"test:5000/repo:tag", "", "test:5000/repo", "test:5000", "tag", ""},
        {"test:5000/repo@sha256:" + kF64, "", "test:5000/repo", "test:5000", "", "sha256:" + kF64},
        {"test:5000/repo:tag@sha256:" + kF64, "", "test:5000/repo", "test:5000", "tag",
         "sha256:" + kF64},
        {"", "must have at least one component", "", "", "", ""},
        {":justtag", "invalid reference format", "", "", "", ""},
        {"@sha256:" + kF64, "invalid reference format", "", "", "", ""},
        {"repo@sha256:" + std::string(34, 'f'), "invalid digest", "", "", "", ""},
        {"validname@invaliddigest:" + kF64, "unsupported algorithm", "", "", "", ""},
        {"Uppercase:tag", "repository name must be lowercase", "", "", "", ""},
        {"test:5000/Uppercase/lowercase:tag", "repository name must be lowercase", "", "", "", ""},
        {"lowercase:Uppercase", "", "lowercase", "", "Uppercase", ""},
        {repeat("a/", 128) + "a:tag", "must not be more than 255 characters", "", "", "", ""},
        {repeat("a/", 127) + "a:tag-puts-this-over-max", "", repeat("a/", 127) + "a", "a",
         "tag-puts-this-over-max", ""},
        {"aa/asdf$$^/aa", "invalid reference format", "", "", "", ""},
        {"sub-dom1.foo.com/bar/baz/quux", "", "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com",
         "", ""},
        {"sub-dom1.foo.com/bar/baz/quux:some-long-tag", "", "sub-dom1.foo.com/bar/baz/quux",
         "sub-dom1.foo.com", "some-long-tag", ""},
        {"b.gcr.io/test.example.com/my-app:test.example.com", "",
         "b.gcr.io/test.example.com/my-app", "b.gcr.io", "test.example.com", ""},
        {"xn--n3h.com/myimage:xn--n3h.com", "", "xn--n3h.com/myimage", "xn--n3h.com", "xn--n3h.com",
         ""},
        {"xn--7o8h.com/myimage:xn--7o8h.com@sha512:" + repeat("f", 128), "",
         "xn--7o8h.com/myimage", "xn--7o8h.com", "xn--7o8h.com", "sha512:" + repeat("f", 128)},
        {"foo_bar.com:8080", "", "foo_bar.com", "", "8080", ""},
        {"foo/foo_bar.com:8080", "", "foo/foo_bar.com", "foo", "8080", ""},
        {"192.168.1.1", "", "192.168.1.1", "", "", ""},
        {"192.168.1.1:tag", "", "192.168.1.1", "", "tag", ""},
        {"192.168.1.1:5000", "", "192.168.1.1", "", "5000", ""},
        {"192.168.1.1/repo", "", "192.168.1.1/repo", "192.168.1.1", "", ""},
        {"192.168.1.1:5000/repo", "", "192.168.1.1:5000/repo", "192.168.1.1:5000", "", ""},
        {"192.168.1.1:5000/repo:5050", "", "192.168.1.1:5000/repo", "192.168.1.1:5000", "5050", ""},
        {"[2001:db8::1]", "invalid reference format", "", "", "", ""},
        {"[2001:db8::1]:5000", "invalid reference format", "", "", "", ""},
        {"[2001:db8::1]:tag", "invalid reference format", "", "", "", ""},
        {"[2001:db8::1]/repo", "", "[2001:db8::1]/repo", "[2001:db8::1]", "", ""},
        {"[2001:db8:1:2:3:4:5:6]/repo:tag", "", "[2001:db8:1:2:3:4:5:6]/repo",
         "[2001:db8:1:2:3:4:5:6]", "tag", ""},
        {"[2001:db8::1]:5000/repo", "", "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "", ""},
        {"[2001:db8::1]:5000/repo:tag", "", "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "tag",
         ""},
        {"[2001:db8::1]:5000/repo@sha256:" + kF64, "", "[2001:db8::1]:5000/repo",
         "[2001:db8::1]:5000", "", "sha256:" + kF64},
        {"[2001:db8::1]:5000/repo:tag@sha256:" + kF64, "", "[2001:db8::1]:5000/repo",
         "[2001:db8::1]:5000", "tag", "sha256:" + kF64},
        {"[2001:db8::]:5000/repo", "", "[2001:db8::]:5000/repo", "[2001:db8::]:5000", "", ""},
        {"[::1]:5000/repo", "", "[::1]:5000/repo", "[::1]:5000", "", ""},
        {"[fe80::1%eth0]:5000/repo", "invalid reference format", "", "", "", ""},
        {"[fe80::1%@invalidzone]:5000/repo", "invalid reference format", "", "", "", ""},
        // Berth additions.
        {std::string(5000, 'a'), "invalid reference format", "", "", "", ""},
        {"repo:" + std::string(129, 't'), "invalid reference format", "", "", "", ""},
        {"repo:" + std::string(128, 't'), "", "repo", "", std::string(128, 't'), ""},
        {"repo:-tag", "invalid reference format", "", "", "", ""},
        {"repo@sha256:" + repeat("F", 64), "invalid digest", "", "", "", ""},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.input);
        auto r = Reference::parse(c.input);
        if (!c.err.empty()) {
            ASSERT_FALSE(r) << r->string();
            EXPECT_NE(r.error().msg.find(c.err), std::string::npos) << r.error().msg;
            continue;
        }
        ASSERT_TRUE(r) << r.error().what();
        EXPECT_EQ(r->string(), c.input);
        EXPECT_EQ(r->name(), c.repository);
        EXPECT_EQ(r->domain(), c.domain);
        EXPECT_EQ(r->tag().value_or(""), c.tag);
        EXPECT_EQ(r->digest() ? r->digest()->string() : "", c.digest);
    }
}

// std::regex recurses per input character: the longest accepted inputs must parse without
// exhausting the stack, whatever their shape.
TEST(ReferenceParse, LongInputsDoNotOverflow) {
    const std::string shapes[] = {std::string(1024, 'a'),
                                  repeat("a/", 512),
                                  repeat("a-", 512),
                                  repeat("a.", 512),
                                  repeat("a__", 341) + "a",
                                  "a:" + std::string(1022, 'b'),
                                  "a@sha256:" + std::string(1015, 'f')};
    for (const auto& s : shapes) {
        for (size_t len : {size_t{512}, size_t{513}, s.size()}) {
            auto r = Reference::parse(s.substr(0, len));
            EXPECT_FALSE(r) << s.substr(0, 20);
            auto n = Reference::parse_normalized(s.substr(0, len));
            EXPECT_FALSE(n) << s.substr(0, 20);
        }
    }
}

TEST(ReferenceParse, DomainAndPath) {
    const std::vector<std::array<std::string, 3>> cases = {
        {"test.com/foo", "test.com", "foo"},
        {"test_com/foo", "", "test_com/foo"},
        {"test:8080/foo", "test:8080", "foo"},
        {"test.com:8080/foo", "test.com:8080", "foo"},
        {"test-com:8080/foo", "test-com:8080", "foo"},
        {"xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo"},
    };
    for (const auto& [in, domain, path] : cases) {
        auto r = Reference::parse(in);
        ASSERT_TRUE(r) << in;
        EXPECT_EQ(r->domain(), domain) << in;
        EXPECT_EQ(r->path(), path) << in;
    }
}

TEST(ReferenceNormalized, ValidateReferenceName) {
    const char* valid[] = {
        "docker/docker",
        "library/debian",
        "debian",
        "docker.io/docker/docker",
        "docker.io/library/debian",
        "docker.io/debian",
        "index.docker.io/docker/docker",
        "index.docker.io/library/debian",
        "index.docker.io/debian",
        "127.0.0.1:5000/docker/docker",
        "127.0.0.1:5000/library/debian",
        "127.0.0.1:5000/debian",
        "192.168.0.1",
        "192.168.0.1:80",
        "192.168.0.1:8/debian",
        "192.168.0.2:25000/debian",
        "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
        "[fc00::1]:5000/docker",
        "[fc00::1]:5000/docker/docker",
        "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
        "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
        "Docker/docker",
        "DOCKER/docker",
        // TestValidateRemoteName
        "docker-rules/docker",
        "docker---rules/docker",
        "doc/docker",
        "d/docker",
        "jess/t",
        "dock__er/docker",
    };
    const char* invalid[] = {
        "https://github.com/docker/docker",
        "docker/Docker",
        "-docker",
        "-docker/docker",
        "-docker.io/docker/docker",
        "docker///docker",
        "docker.io/docker/Docker",
        "docker.io/docker///docker",
        "[fc00::1]",
        "[fc00::1]:5000",
        "fc00::1:5000/debian",
        "[fe80::1%eth0]:5000/debian",
        "[2001:db8:3:4::192.0.2.33]:5000/debian",
        "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
        // TestValidateRemoteName
        "docker-/docker",
        "-docker-/docker",
        "____/____",
        "_docker/_docker",
        "dock..er/docker",
        "dock_.er/docker",
        "dock-.er/docker",
        "docker/",
        "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_"
        "namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_"
        "lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_"
        "255/docker",
        // Berth additions: characters Docker never allows in names.
        "busy box",
        "busybox!",
        "büsybox",
        "a/b:",
        "a@",
    };
    for (const char* v : valid) {
        auto r = Reference::parse_normalized(v);
        EXPECT_TRUE(r) << v << ": " << r.error().what();
    }
    for (const char* v : invalid) {
        auto r = Reference::parse_normalized(v);
        EXPECT_FALSE(r) << v << " parsed as " << r->string();
        if (!r) {
            EXPECT_EQ(r.error().code, Errc::InvalidArgument) << v;
        }
    }
}

TEST(ReferenceNormalized, HexIdIsNotAName) {
    auto r = Reference::parse_normalized(
        "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().msg.find("cannot specify 64-byte hexadecimal strings"), std::string::npos);
    auto up = Reference::parse_normalized("library/Busybox");
    ASSERT_FALSE(up);
    EXPECT_EQ(up.error().msg,
              "invalid reference format: repository name (library/Busybox) must be lowercase");
}

// TestParseRepositoryInfo.
TEST(ReferenceNormalized, RepositoryInfo) {
    struct Case {
        std::string remote, familiar, full, ambiguous, domain;
    };
    const std::vector<Case> cases = {
        {"fooo/bar", "fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar", "docker.io"},
        {"library/ubuntu", "ubuntu", "docker.io/library/ubuntu", "library/ubuntu", "docker.io"},
        {"nonlibrary/ubuntu", "nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", "", "docker.io"},
        {"other/library", "other/library", "docker.io/other/library", "", "docker.io"},
        {"private/moonbase", "127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase",
         "", "127.0.0.1:8000"},
        {"privatebase", "127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase", "",
         "127.0.0.1:8000"},
        {"private/moonbase", "example.com/private/moonbase", "example.com/private/moonbase", "",
         "example.com"},
        {"privatebase", "example.com/privatebase", "example.com/privatebase", "", "example.com"},
        {"private/moonbase", "example.com:8000/private/moonbase",
         "example.com:8000/private/moonbase", "", "example.com:8000"},
        {"privatebasee", "example.com:8000/privatebasee", "example.com:8000/privatebasee", "",
         "example.com:8000"},
        {"library/ubuntu-12.04-base", "ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base",
         "index.docker.io/library/ubuntu-12.04-base", "docker.io"},
        {"library/foo", "foo", "docker.io/library/foo", "docker.io/foo", "docker.io"},
        {"library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar", "", "docker.io"},
        {"store/foo/bar", "store/foo/bar", "docker.io/store/foo/bar", "", "docker.io"},
        {"bar", "Foo/bar", "Foo/bar", "", "Foo"},
        {"bar", "FOO/bar", "FOO/bar", "", "FOO"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> inputs = {c.familiar, c.full};
        if (!c.ambiguous.empty()) inputs.push_back(c.ambiguous);
        for (const auto& in : inputs) {
            SCOPED_TRACE(in);
            auto r = Reference::parse_normalized(in);
            ASSERT_TRUE(r) << r.error().what();
            EXPECT_EQ(r->familiar_name(), c.familiar);
            EXPECT_EQ(r->string(), c.full);
            EXPECT_EQ(r->domain(), c.domain);
            EXPECT_EQ(r->path(), c.remote);
        }
    }
}

TEST(ReferenceNormalized, TagAndDigest) {
    const std::string short_ref =
        "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa";
    auto r = Reference::parse_normalized(short_ref);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->string(), "docker.io/library/" + short_ref);
    EXPECT_TRUE(r->tag());
    EXPECT_TRUE(r->digest());
    EXPECT_EQ(r->familiar_string(), short_ref);

    // ParseDockerRef: tag dropped when a digest is present; "latest" added to bare names.
    auto d = Reference::parse_docker(short_ref);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->string(),
              "docker.io/library/busybox@sha256:"
              "86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa");
    auto b = Reference::parse_docker("busybox");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->string(), "docker.io/library/busybox:latest");
    EXPECT_EQ(b->familiar_string(), "busybox:latest");
    EXPECT_EQ(b->familiar_name(), "busybox");
    EXPECT_EQ(b->name(), "docker.io/library/busybox");
    auto l = Reference::parse_docker("localhost:5000/a/b:tag");
    ASSERT_TRUE(l);
    EXPECT_EQ(l->domain(), "localhost:5000");
    EXPECT_EQ(l->path(), "a/b");
    EXPECT_EQ(l->familiar_name(), "localhost:5000/a/b");
    EXPECT_EQ(l->string(), "localhost:5000/a/b:tag");
    auto lh = Reference::parse_normalized("localhost/foo");
    ASSERT_TRUE(lh);
    EXPECT_EQ(lh->domain(), "localhost");
    EXPECT_EQ(lh->string(), "localhost/foo");
}

TEST(ReferenceNormalized, WithTagAndDigest) {
    auto r = Reference::parse_normalized("busybox");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->name_only());
    EXPECT_FALSE(r->with_tag("-foo"));
    EXPECT_FALSE(r->with_tag(""));
    auto t = r->with_tag("TAG5");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->string(), "docker.io/library/busybox:TAG5");
    auto d = t->with_digest(digest_of("x"));
    EXPECT_EQ(d.string(), "docker.io/library/busybox:TAG5@" + digest_of("x").string());
    EXPECT_EQ(d.name_reference(), *r);
    EXPECT_EQ(r->with_default_tag().tag().value_or(""), "latest");
}

// TestNormalizedSplitHostname.
TEST(ReferenceNormalized, SplitHostname) {
    const std::vector<std::array<std::string, 3>> cases = {
        {"test.com/foo", "test.com", "foo"},
        {"test_com/foo", "docker.io", "test_com/foo"},
        {"docker/migrator", "docker.io", "docker/migrator"},
        {"test.com:8080/foo", "test.com:8080", "foo"},
        {"test-com:8080/foo", "test-com:8080", "foo"},
        {"foo", "docker.io", "library/foo"},
        {"xn--n3h.com/foo", "xn--n3h.com", "foo"},
        {"xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo"},
        {"docker.io/foo", "docker.io", "library/foo"},
        {"docker.io/library/foo", "docker.io", "library/foo"},
        {"docker.io/library/foo/bar", "docker.io", "library/foo/bar"},
    };
    for (const auto& [in, domain, path] : cases) {
        auto r = Reference::parse_normalized(in);
        ASSERT_TRUE(r) << in;
        EXPECT_EQ(r->domain(), domain) << in;
        EXPECT_EQ(r->path(), path) << in;
    }
}

// TestParseAnyReference.
TEST(ReferenceAny, DistributionTable) {
    const std::string h = "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
    const std::vector<std::pair<std::string, std::string>> named = {
        {"redis", "docker.io/library/redis"},
        {"redis:latest", "docker.io/library/redis:latest"},
        {"docker.io/library/redis:latest", "docker.io/library/redis:latest"},
        {"redis@sha256:" + h, "docker.io/library/redis@sha256:" + h},
        {"docker.io/library/redis@sha256:" + h, "docker.io/library/redis@sha256:" + h},
        {"dmcgowan/myapp", "docker.io/dmcgowan/myapp"},
        {"dmcgowan/myapp:latest", "docker.io/dmcgowan/myapp:latest"},
        {"docker.io/mcgowan/myapp:latest", "docker.io/mcgowan/myapp:latest"},
        {"dmcgowan/myapp@sha256:" + h, "docker.io/dmcgowan/myapp@sha256:" + h},
        {"docker.io/dmcgowan/myapp@sha256:" + h, "docker.io/dmcgowan/myapp@sha256:" + h},
        {h.substr(0, 63), "docker.io/library/" + h.substr(0, 63)},
        {"dbcc1", "docker.io/library/dbcc1"},
    };
    for (const auto& [in, want] : named) {
        auto r = parse_any_reference(in);
        ASSERT_TRUE(r) << in << ": " << r.error().what();
        ASSERT_TRUE(std::holds_alternative<Reference>(*r)) << in;
        EXPECT_EQ(std::get<Reference>(*r).string(), want);
    }
    for (const std::string& in : {h, "sha256:" + h}) {
        auto r = parse_any_reference(in);
        ASSERT_TRUE(r) << in;
        ASSERT_TRUE(std::holds_alternative<Digest>(*r)) << in;
        EXPECT_EQ(std::get<Digest>(*r).string(), "sha256:" + h);
    }
}

TEST(ReferenceAny, IdRules) {
    const std::string h = "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
    EXPECT_TRUE(is_full_id(h));
    EXPECT_FALSE(is_full_id(h.substr(1)));
    EXPECT_FALSE(is_full_id("sha256:" + h));
    std::string upper = h;
    upper[0] = 'D';
    EXPECT_FALSE(is_full_id(upper));
    EXPECT_TRUE(is_id_prefix("dbcc1c35ac38"));
    EXPECT_TRUE(is_id_prefix("sha256:dbcc"));
    EXPECT_TRUE(is_id_prefix(h));
    EXPECT_FALSE(is_id_prefix(""));
    EXPECT_FALSE(is_id_prefix("sha256:"));
    EXPECT_FALSE(is_id_prefix("busybox"));
    EXPECT_FALSE(is_id_prefix(h + "0"));
}

}  // namespace
}  // namespace berth::image
