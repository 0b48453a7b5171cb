// The client against misbehaving fronts (tests/support/registry/proxy.py): a proxy that cuts
// blob downloads (fetch_blob resumes with Range, the bytes arrive intact), and a front that
// demands Basic auth, redirects blob GETs to another port (the "CDN", which must not see the
// Authorization header) and gives relative upload Locations.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "berth/registry/client.hpp"
#include "blob_util.hpp"
#include "client_fixture.hpp"

namespace berth::registry {
namespace {

using test::registry::ProxyEnv;
using test::registry::random_bytes;
using test::registry::RegistryEnv;
using test::registry::sink_to;
using test::registry::source_of;

ClientOptions proxy_options() {
    return test::registry::fast_client_options(256 << 10);
}

using RegistryClientProxy = test::registry::PlainRegistryTest;

TEST_F(RegistryClientProxy, CutDownloadResumes) {
    std::string data = random_bytes(3 << 20, 42);
    Digest d = digest_of(data);
    {
        auto direct = open_repository(env_->host(), "berth/cut", Access::Push, proxy_options());
        ASSERT_TRUE(direct);
        auto p = (*direct)->push_blob(d, data.size(), source_of(data));
        ASSERT_TRUE(p) << p.error().msg;
    }
    // Cut after 100000 bytes; the resume's Range is dropped once, so a full answer comes back
    // (its first 100000 bytes must be skipped) and is cut at 200000; then a 206 finishes.
    auto proxy = ProxyEnv::start("cut", env_->host(),
                                 {"--cut-after", "100000", "--cuts", "2", "--ignore-range-once"});
    ASSERT_TRUE(proxy) << proxy.error().msg;
    auto repo = open_repository((*proxy)->host(), "berth/cut", Access::Pull, proxy_options());
    ASSERT_TRUE(repo);
    std::string got;
    size_t calls = 0;
    auto f = (*repo)->fetch_blob(d, data.size(), [&](std::string_view c) -> Result<void> {
        ++calls;
        got.append(c);
        return {};
    });
    ASSERT_TRUE(f) << f.error().msg;
    EXPECT_EQ(got.size(), data.size());
    EXPECT_EQ(digest_of(got), d);
    auto stats = (*proxy)->stats();
    ASSERT_TRUE(stats) << stats.error().msg;
    auto j = nlohmann::json::parse(*stats);
    EXPECT_EQ(j["cuts"].get<int>(), 2) << *stats;
    ASSERT_EQ(j["ranges"].size(), 2u) << *stats;
    EXPECT_EQ(j["ranges"][0], "bytes=100000-") << *stats;
    EXPECT_EQ(j["ranges"][1], "bytes=200000-") << *stats;

    // A sink error stops the transfer and comes back as is.
    std::string part;
    auto e = (*repo)->fetch_blob(d, data.size(), [&](std::string_view c) -> Result<void> {
        part.append(c);
        if (part.size() > 50000) return make_error(Errc::Conflict, "sink says stop");
        return {};
    });
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().code, Errc::Conflict);
}

TEST_F(RegistryClientProxy, RedirectDropsAuthorizationAndRelativeLocations) {
    auto front = ProxyEnv::start("redirect", env_->host(), {"--basic", "user:pass"});
    ASSERT_TRUE(front) << front.error().msg;
    auto o = proxy_options();
    AuthConfig a;
    a.username = "user";
    a.password = "pass";
    o.auth = a;
    auto repo = open_repository((*front)->host(), "berth/cdn", Access::Push, o);
    ASSERT_TRUE(repo);
    // Chunked through the front: every Location it gives is relative.
    std::string data = random_bytes(700 << 10, 8);
    Digest d = digest_of(data);
    auto p = (*repo)->push_blob(d, data.size(), source_of(data));
    ASSERT_TRUE(p) << p.error().msg;
    std::string small = "tiny blob";
    ASSERT_TRUE((*repo)->push_blob(digest_of(small), small.size(), source_of(small)));

    auto st = (*repo)->stat_blob(d);
    ASSERT_TRUE(st) << st.error().msg;
    ASSERT_TRUE(st->has_value());
    EXPECT_EQ((*st)->size, static_cast<int64_t>(data.size()));
    std::string got;
    auto f = (*repo)->fetch_blob(d, data.size(), sink_to(got));
    ASSERT_TRUE(f) << f.error().msg;
    EXPECT_EQ(got, data);

    auto stats = (*front)->stats();
    ASSERT_TRUE(stats) << stats.error().msg;
    auto j = nlohmann::json::parse(*stats);
    EXPECT_GE(j["cdn_requests"].get<int>(), 2) << *stats;
    EXPECT_EQ(j["cdn_auth_headers"].get<int>(), 0) << *stats;
}

}  // namespace
}  // namespace berth::registry

namespace berth::registry {
namespace {

TEST_F(RegistryClientProxy, RetriesHonourRetryAfter) {
    auto proxy = ProxyEnv::start(
        "cut", env_->host(), {"--fail-first", "3", "--fail-status", "429", "--retry-after", "2"});
    ASSERT_TRUE(proxy) << proxy.error().msg;
    std::vector<std::chrono::milliseconds> waits;
    auto o = proxy_options();
    o.retry.attempts = 5;
    o.retry.sleep = [&](std::chrono::milliseconds d) { waits.push_back(d); };
    auto repo = open_repository((*proxy)->host(), "berth/retry", Access::Pull, o);
    ASSERT_TRUE(repo);
    auto st = (*repo)->stat_blob(digest_of("x"));
    ASSERT_TRUE(st) << st.error().msg;
    EXPECT_FALSE(st->has_value());
    EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>(3, std::chrono::seconds(2))));

    // Out of attempts: the registry's message comes through as Unavailable.
    auto proxy2 = ProxyEnv::start("cut", env_->host(), {"--fail-first", "100"});
    ASSERT_TRUE(proxy2) << proxy2.error().msg;
    o.retry.attempts = 2;
    waits.clear();
    auto repo2 = open_repository((*proxy2)->host(), "berth/retry", Access::Pull, o);
    ASSERT_TRUE(repo2);
    std::string got;
    auto f = (*repo2)->fetch_blob(digest_of("x"), -1, sink_to(got));
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, Errc::Unavailable) << f.error().msg;
    EXPECT_NE(f.error().msg.find("TOOMANYREQUESTS"), std::string::npos) << f.error().msg;
}

}  // namespace
}  // namespace berth::registry

namespace berth::registry {
namespace {

TEST_F(RegistryClientProxy, ManifestDigestMismatchIsRefused) {
    auto direct = open_repository(env_->host(), "berth/lie", Access::Push, proxy_options());
    ASSERT_TRUE(direct);
    std::string config = "{}";
    ASSERT_TRUE((*direct)->push_blob(digest_of(config), config.size(), source_of(config)));
    std::string manifest = fmt::format(
        R"({{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
        R"("config":{{"mediaType":"application/vnd.oci.empty.v1+json","size":2,)"
        R"("digest":"{}"}},"layers":[]}})",
        digest_of(config).string());
    ASSERT_TRUE(
        (*direct)->put_manifest("v1", "application/vnd.oci.image.manifest.v1+json", manifest));

    auto proxy = ProxyEnv::start("cut", env_->host(), {"--corrupt-manifests"});
    ASSERT_TRUE(proxy) << proxy.error().msg;
    auto repo = open_repository((*proxy)->host(), "berth/lie", Access::Pull, proxy_options());
    ASSERT_TRUE(repo);
    // By tag: the Docker-Content-Digest header no longer matches the bytes.
    auto m = (*repo)->get_manifest("v1");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, Errc::InvalidArgument) << m.error().msg;
    EXPECT_NE(m.error().msg.find((*proxy)->host() + "/berth/lie: manifest v1"), std::string::npos)
        << m.error().msg;
    // By digest: the bytes do not hash to the digest asked for.
    auto d = (*repo)->get_manifest(digest_of(manifest).string());
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, Errc::InvalidArgument) << d.error().msg;
}

}  // namespace
}  // namespace berth::registry
