// The registry client's pure parts: WWW-Authenticate, scope merging, host mapping, insecure
// registries, URL resolution, error bodies.

#include <gtest/gtest.h>

#include "berth/registry/client.hpp"
#include "http.hpp"
#include "session.hpp"

namespace berth::registry {
namespace {

using client::Challenge;
using client::merge_scope;
using client::parse_www_authenticate;

TEST(RegistryClientParse, BearerChallengeWithQuotedCommas) {
    auto cs = parse_www_authenticate(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
        R"(scope="repository:library/busybox:pull,push",error="insufficient_scope")");
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_EQ(cs[0].scheme, "bearer");
    EXPECT_EQ(cs[0].param("realm"), "https://auth.docker.io/token");
    EXPECT_EQ(cs[0].param("service"), "registry.docker.io");
    EXPECT_EQ(cs[0].param("scope"), "repository:library/busybox:pull,push");
    EXPECT_EQ(cs[0].param("error"), "insufficient_scope");
}

TEST(RegistryClientParse, BasicChallengeAndSeveral) {
    auto cs = parse_www_authenticate(R"(Basic realm="Registry Realm")");
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_EQ(cs[0].scheme, "basic");
    EXPECT_EQ(cs[0].param("realm"), "Registry Realm");
    cs = parse_www_authenticate(R"(Basic realm="a", Bearer realm="b",service=s)");
    ASSERT_EQ(cs.size(), 2u);
    EXPECT_EQ(cs[1].scheme, "bearer");
    EXPECT_EQ(cs[1].param("service"), "s");
}

TEST(RegistryClientParse, MergeScope) {
    std::vector<std::string> s{"repository:a:pull"};
    EXPECT_TRUE(merge_scope(s, "repository:a:push,pull"));
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0], "repository:a:pull,push");
    EXPECT_FALSE(merge_scope(s, "repository:a:pull"));
    EXPECT_TRUE(merge_scope(s, "repository:b:pull"));
    EXPECT_EQ(s.size(), 2u);
    // A name containing the other as a prefix is another resource.
    EXPECT_TRUE(merge_scope(s, "repository:a/b:pull"));
    EXPECT_EQ(s.size(), 3u);
}

TEST(RegistryClientParse, HostMapping) {
    EXPECT_EQ(api_host_for("docker.io"), "registry-1.docker.io");
    EXPECT_EQ(api_host_for("index.docker.io"), "registry-1.docker.io");
    EXPECT_EQ(api_host_for("localhost:5000"), "localhost:5000");
    EXPECT_EQ(credentials_key_for("docker.io"), "https://index.docker.io/v1/");
    EXPECT_EQ(credentials_key_for("quay.io"), "quay.io");
}

TEST(RegistryClientParse, InsecureRegistries) {
    std::vector<std::string> none;
    EXPECT_TRUE(is_insecure_registry("localhost:5000", none));
    EXPECT_TRUE(is_insecure_registry("127.0.0.1:5000", none));
    EXPECT_TRUE(is_insecure_registry("127.1.2.3", none));
    EXPECT_TRUE(is_insecure_registry("[::1]:5000", none));
    EXPECT_FALSE(is_insecure_registry("docker.io", none));
    EXPECT_FALSE(is_insecure_registry("10.1.2.3:5000", none));
    std::vector<std::string> list{"10.0.0.0/8", "myreg:5000", "http://other.example"};
    EXPECT_TRUE(is_insecure_registry("10.1.2.3:5000", list));
    EXPECT_FALSE(is_insecure_registry("11.1.2.3:5000", list));
    EXPECT_TRUE(is_insecure_registry("myreg:5000", list));
    EXPECT_FALSE(is_insecure_registry("myreg:5001", list));
    EXPECT_TRUE(is_insecure_registry("other.example", list));
}

TEST(RegistryClientParse, ResolveLocations) {
    auto r =
        client::resolve_url("http://h:5000/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/u1?_state=x");
    ASSERT_TRUE(r) << r.error().msg;
    EXPECT_EQ(*r, "http://h:5000/v2/a/blobs/uploads/u1?_state=x");
    r = client::resolve_url("http://h:5000/v2/a/blobs/uploads/", "u2?x=1");
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "http://h:5000/v2/a/blobs/uploads/u2?x=1");
    r = client::resolve_url("http://h:5000/v2/", "https://cdn.example/b?sig=1");
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "https://cdn.example/b?sig=1");
    EXPECT_EQ(client::url_origin("https://H.example/x"), "https://h.example:443");
    EXPECT_NE(client::url_origin("http://h:5000/x"), client::url_origin("http://h:5001/x"));
    EXPECT_EQ(client::url_host_port("http://h:5000/x"), "h:5000");
}

TEST(RegistryClientParse, RegistryErrorBody) {
    client::HttpResponse r;
    r.status = 404;
    r.body =
        R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]})";
    auto e = client::registry_error(r, "127.0.0.1:5000/a: manifest x");
    EXPECT_EQ(e.code, Errc::NotFound);
    EXPECT_NE(e.msg.find("127.0.0.1:5000/a: manifest x: MANIFEST_UNKNOWN: manifest unknown"),
              std::string::npos)
        << e.msg;
    r.status = 401;
    EXPECT_EQ(client::registry_error(r, "x").code, Errc::PermissionDenied);
    r.status = 503;
    r.body = "";
    e = client::registry_error(r, "x");
    EXPECT_EQ(e.code, Errc::Unavailable);
    EXPECT_NE(e.msg.find("503"), std::string::npos);
}

}  // namespace
}  // namespace berth::registry
