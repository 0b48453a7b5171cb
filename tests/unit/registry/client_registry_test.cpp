// The libcurl Repository against Debian's docker-registry (distribution 2.8) without auth:
// uploads (monolithic, chunked, streaming), stat/fetch, mounts, manifests, tags, errors.

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "berth/oci/image_spec.hpp"
#include "berth/registry/client.hpp"
#include "blob_util.hpp"
#include "client_fixture.hpp"

namespace berth::registry {
namespace {

using test::registry::random_bytes;
using test::registry::RegistryEnv;
using test::registry::sink_to;
using test::registry::source_of;

ClientOptions test_options() {
    return test::registry::fast_client_options();
}

class RegistryClientPlain : public test::registry::PlainRegistryTest {
protected:
    std::unique_ptr<Repository> open(const std::string& name, Access a = Access::Push) {
        auto r = open_repository(env_->host(), name, a, test_options());
        EXPECT_TRUE(r) << r.error().msg;
        return r ? std::move(*r) : nullptr;
    }
};

TEST_F(RegistryClientPlain, PushMonolithicStatFetch) {
    auto repo = open("berth/mono");
    std::string data = random_bytes(1000);
    Digest d = digest_of(data);
    ASSERT_TRUE(repo->push_blob(d, data.size(), source_of(data)));
    auto st = repo->stat_blob(d);
    ASSERT_TRUE(st) << st.error().msg;
    ASSERT_TRUE(st->has_value());
    EXPECT_EQ((*st)->size, 1000);
    EXPECT_EQ((*st)->digest, d);
    std::string got;
    auto f = repo->fetch_blob(d, data.size(), sink_to(got));
    ASSERT_TRUE(f) << f.error().msg;
    EXPECT_EQ(got, data);
}

TEST_F(RegistryClientPlain, PushChunkedAndFetchLarge) {
    auto repo = open("berth/chunked");
    // Five 64 KiB chunks and a tail, handed out in odd pieces.
    std::string data = random_bytes(5 * (64 << 10) + 1234, 7);
    Digest d = digest_of(data);
    auto p = repo->push_blob(d, data.size(), source_of(data, 10007));
    ASSERT_TRUE(p) << p.error().msg;
    auto st = repo->stat_blob(d);
    ASSERT_TRUE(st && st->has_value());
    EXPECT_EQ((*st)->size, static_cast<int64_t>(data.size()));
    std::string got;
    ASSERT_TRUE(repo->fetch_blob(d, -1, sink_to(got)));
    EXPECT_EQ(digest_of(got), d);
    // A wrong expected size is an error.
    std::string small;
    auto bad = repo->fetch_blob(d, 100, sink_to(small));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::InvalidArgument);
}

TEST_F(RegistryClientPlain, PushStreaming) {
    auto repo = open("berth/stream");
    std::string data = random_bytes(200 << 10, 3);
    auto st = repo->push_blob_streaming(source_of(data, 7000), [&] { return digest_of(data); });
    ASSERT_TRUE(st) << st.error().msg;
    EXPECT_EQ(st->digest, digest_of(data));
    EXPECT_EQ(st->size, static_cast<int64_t>(data.size()));
    std::string got;
    ASSERT_TRUE(repo->fetch_blob(st->digest, st->size, sink_to(got)));
    EXPECT_EQ(got, data);
}

TEST_F(RegistryClientPlain, WrongDigestIsRefused) {
    auto repo = open("berth/bad");
    std::string data = random_bytes(5000, 9);
    Digest wrong = digest_of("something else");
    auto p = repo->push_blob(wrong, data.size(), source_of(data));
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, Errc::InvalidArgument) << p.error().msg;
    EXPECT_NE(p.error().msg.find(env_->host() + "/berth/bad: push blob " + wrong.string()),
              std::string::npos)
        << p.error().msg;
    EXPECT_NE(p.error().msg.find("DIGEST_INVALID"), std::string::npos) << p.error().msg;
    // A source shorter than announced.
    auto q = repo->push_blob(digest_of(data), data.size() + 10, source_of(data));
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error().code, Errc::InvalidArgument);
}

TEST_F(RegistryClientPlain, NotFound) {
    auto repo = open("berth/nothing", Access::Pull);
    Digest d = digest_of("absent");
    auto st = repo->stat_blob(d);
    ASSERT_TRUE(st) << st.error().msg;
    EXPECT_FALSE(st->has_value());
    std::string got;
    auto f = repo->fetch_blob(d, -1, sink_to(got));
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, Errc::NotFound) << f.error().msg;
    EXPECT_NE(f.error().msg.find("blob " + d.string()), std::string::npos) << f.error().msg;
    auto m = repo->get_manifest("latest");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, Errc::NotFound);
    EXPECT_NE(m.error().msg.find("manifest latest"), std::string::npos) << m.error().msg;
    auto sm = repo->stat_manifest("latest");
    ASSERT_TRUE(sm) << sm.error().msg;
    EXPECT_FALSE(sm->has_value());
    auto t = repo->tags();
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, Errc::NotFound) << t.error().msg;
}

TEST_F(RegistryClientPlain, MountBetweenRepositories) {
    auto a = open("berth/src");
    auto b = open("berth/dst");
    std::string data = random_bytes(3000, 5);
    Digest d = digest_of(data);
    ASSERT_TRUE(a->push_blob(d, data.size(), source_of(data)));
    auto m = b->mount_blob(d, "berth/src");
    ASSERT_TRUE(m) << m.error().msg;
    EXPECT_TRUE(*m);
    auto st = b->stat_blob(d);
    ASSERT_TRUE(st && st->has_value());
    // Not there to mount: the registry opens an upload instead, which is cancelled.
    Digest other = digest_of("not pushed");
    auto m2 = b->mount_blob(other, "berth/src");
    ASSERT_TRUE(m2) << m2.error().msg;
    EXPECT_FALSE(*m2);
}

// Pushes a config and a layer and returns a manifest of `media_type` over them.
std::string make_manifest(Repository& repo, std::string_view media_type, unsigned seed) {
    std::string config =
        R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
    std::string layer = random_bytes(2000, seed);
    EXPECT_TRUE(repo.push_blob(digest_of(config), config.size(), source_of(config)));
    EXPECT_TRUE(repo.push_blob(digest_of(layer), layer.size(), source_of(layer)));
    bool oci = media_type == oci::media_type::kOciManifest;
    return fmt::format(
        R"({{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","size":{},"digest":"{}"}},"layers":[{{"mediaType":"{}","size":{},"digest":"{}"}}]}})",
        media_type, oci ? oci::media_type::kOciConfig : oci::media_type::kDockerConfig,
        config.size(), digest_of(config).string(),
        oci ? oci::media_type::kOciLayerGzip : oci::media_type::kDockerLayerGzip, layer.size(),
        digest_of(layer).string());
}

TEST_F(RegistryClientPlain, ManifestsByTagAndDigest) {
    auto repo = open("berth/img");
    std::string docker = make_manifest(*repo, oci::media_type::kDockerManifest, 11);
    auto put = repo->put_manifest("v1", oci::media_type::kDockerManifest, docker);
    ASSERT_TRUE(put) << put.error().msg;
    EXPECT_EQ(*put, digest_of(docker));

    auto got = repo->get_manifest("v1");
    ASSERT_TRUE(got) << got.error().msg;
    EXPECT_EQ(got->bytes, docker);
    EXPECT_EQ(got->media_type, oci::media_type::kDockerManifest);
    EXPECT_EQ(got->digest, digest_of(docker));
    auto by_digest = repo->get_manifest(digest_of(docker).string());
    ASSERT_TRUE(by_digest) << by_digest.error().msg;
    EXPECT_EQ(by_digest->bytes, docker);
    auto st = repo->stat_manifest("v1");
    ASSERT_TRUE(st && st->has_value());
    EXPECT_EQ((*st)->digest, digest_of(docker));
    EXPECT_EQ((*st)->size, static_cast<int64_t>(docker.size()));
    EXPECT_EQ((*st)->media_type, oci::media_type::kDockerManifest);

    // OCI, pushed by digest, then tagged.
    std::string ocim = make_manifest(*repo, oci::media_type::kOciManifest, 12);
    auto put2 = repo->put_manifest(digest_of(ocim).string(), oci::media_type::kOciManifest, ocim);
    ASSERT_TRUE(put2) << put2.error().msg;
    ASSERT_TRUE(repo->put_manifest("oci", oci::media_type::kOciManifest, ocim));
    auto got2 = repo->get_manifest("oci");
    ASSERT_TRUE(got2) << got2.error().msg;
    EXPECT_EQ(got2->media_type, oci::media_type::kOciManifest);
    EXPECT_EQ(got2->digest, digest_of(ocim));

    // Bytes that do not match the digest reference are refused before sending.
    auto bad = repo->put_manifest(digest_of("x").string(), oci::media_type::kOciManifest, ocim);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::InvalidArgument);
    // A manifest pointing at a missing blob: the registry's error comes through.
    std::string dangling = docker;
    auto pos = dangling.rfind("sha256:");
    dangling.replace(pos, 71, digest_of("missing layer").string());
    auto bad2 = repo->put_manifest("dangling", oci::media_type::kDockerManifest, dangling);
    ASSERT_FALSE(bad2);
    EXPECT_NE(bad2.error().msg.find("MANIFEST_BLOB_UNKNOWN"), std::string::npos)
        << bad2.error().msg;

    auto tags = repo->tags();
    ASSERT_TRUE(tags) << tags.error().msg;
    std::sort(tags->begin(), tags->end());
    EXPECT_EQ(*tags, (std::vector<std::string>{"oci", "v1"}));
}

TEST_F(RegistryClientPlain, ClonesFetchInParallel) {
    auto repo = open("berth/par");
    std::vector<std::string> blobs;
    for (unsigned i = 0; i < 3; ++i) {
        blobs.push_back(random_bytes(150000 + i, 20 + i));
        ASSERT_TRUE(repo->push_blob(digest_of(blobs[i]), blobs[i].size(), source_of(blobs[i])));
    }
    std::vector<std::string> got(3);
    std::vector<bool> ok(3);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < 3; ++i) {
        auto c = repo->clone();
        ASSERT_TRUE(c);
        threads.emplace_back([&, i, r = std::shared_ptr<Repository>(std::move(*c))] {
            ok[i] = static_cast<bool>(
                r->fetch_blob(digest_of(blobs[i]), blobs[i].size(), sink_to(got[i])));
        });
    }
    for (auto& t : threads) t.join();
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_TRUE(ok[i]);
        EXPECT_EQ(got[i], blobs[i]);
    }
}

TEST_F(RegistryClientPlain, UnreachableRegistryIsUnavailable) {
    int port = test::registry::free_port();
    std::vector<std::chrono::milliseconds> waits;
    auto o = test_options();
    o.retry.sleep = [&](std::chrono::milliseconds d) { waits.push_back(d); };
    auto repo = open_repository("127.0.0.1:" + std::to_string(port), "x", Access::Pull, o);
    ASSERT_TRUE(repo);
    auto st = (*repo)->stat_blob(digest_of("x"));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::Unavailable) << st.error().msg;
    // Back-off between attempts (https then http, three tries on the second).
    EXPECT_GE(waits.size(), 2u);
}

}  // namespace
}  // namespace berth::registry
