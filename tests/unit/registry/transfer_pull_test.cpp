// registry::pull against the in-memory registry (fake_repository.hpp).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>

#include "berth/registry/pull.hpp"
#include "transfer_test_util.hpp"

namespace berth::registry::testing {
namespace {

namespace mt = oci::media_type;

using PullTest = StoreFixture;

std::vector<TestLayer> two_layers() {
    return {make_layer({{"bin/sh", "#!shell\n"}, {"etc/passwd", "root:x:0:0::/root:/bin/sh\n"}}),
            make_layer({{"etc/hostname", "box\n"}})};
}

TEST_F(PullTest, ByTagRegistersImageTagRepoDigestAndLayerBlobs) {
    auto pub = publish(*reg_, "busybox", "latest", two_layers());
    auto r = repo("busybox");
    ProgressLog log;
    PullOptions o;
    o.progress = log.fn();
    auto res = pull(*images_, r, ref_of("127.0.0.1:5000/busybox"), o);
    ASSERT_TRUE(res) << res.error().what();
    EXPECT_EQ(res->digest, pub.manifest);
    EXPECT_TRUE(res->updated);
    EXPECT_EQ(res->reference, "127.0.0.1:5000/busybox:latest");
    EXPECT_EQ(res->image.record.id, pub.config);
    EXPECT_EQ(res->image.record.tags, std::vector<std::string>{"127.0.0.1:5000/busybox:latest"});
    EXPECT_EQ(res->image.record.repo_digests,
              std::vector<std::string>{"127.0.0.1:5000/busybox@" + pub.manifest.string()});
    EXPECT_EQ(res->image.record.manifest, pub.manifest);

    auto got = images_->get("127.0.0.1:5000/busybox:latest");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->record.chain_ids.size(), 2u);
    for (const auto& c : got->record.chain_ids) {
        auto li = images_->layer_info(c);
        ASSERT_TRUE(li);
        EXPECT_EQ(li->refs, 1u);  // the image's; the pull's own hold was dropped
    }
    std::string hostname;
    auto rd = read_file(path_join(
        store::LayerStore::open_root(root_)->diff_path(got->record.chain_ids[1]), "etc/hostname"));
    ASSERT_TRUE(rd);
    EXPECT_EQ(*rd, "box\n");

    auto blobs = images_->layer_blobs(pub.layers[0].diff_id);
    ASSERT_TRUE(blobs);
    ASSERT_EQ(blobs->size(), 1u);
    EXPECT_EQ((*blobs)[0].digest, pub.layers[0].digest);
    EXPECT_EQ((*blobs)[0].registry, "127.0.0.1:5000");
    EXPECT_EQ((*blobs)[0].repository, "busybox");
    EXPECT_EQ((*blobs)[0].media_type, mt::kDockerLayerGzip);
    EXPECT_EQ((*blobs)[0].size, static_cast<int64_t>(pub.layers[0].blob.size()));
    EXPECT_EQ(snapshot(*images_).tmp, std::vector<std::string>{});

    // Again: nothing downloaded, "up to date".
    size_t gets = reg_->count("GET blob");
    ProgressLog log2;
    o.progress = log2.fn();
    auto again = pull(*images_, r, ref_of("127.0.0.1:5000/busybox:latest"), o);
    ASSERT_TRUE(again) << again.error().what();
    EXPECT_FALSE(again->updated);
    EXPECT_EQ(reg_->count("GET blob"), gets + 1);  // the config only
    EXPECT_EQ(log2.msgs.back().status,
              "Status: Image is up to date for 127.0.0.1:5000/busybox:latest");
}

TEST_F(PullTest, ByDigestSetsOnlyTheRepoDigest) {
    auto pub = publish(*reg_, "busybox", "", two_layers(), /*oci=*/true);
    auto r = repo("busybox");
    ProgressLog log;
    PullOptions o;
    o.progress = log.fn();
    auto ref = ref_of("127.0.0.1:5000/busybox@" + pub.manifest.string());
    auto res = pull(*images_, r, ref, o);
    ASSERT_TRUE(res) << res.error().what();
    EXPECT_TRUE(res->image.record.tags.empty());
    EXPECT_EQ(res->image.record.repo_digests,
              std::vector<std::string>{"127.0.0.1:5000/busybox@" + pub.manifest.string()});
    EXPECT_EQ(log.msgs.front().id, pub.manifest.string());
    EXPECT_EQ(log.msgs.back().status,
              "Status: Downloaded newer image for 127.0.0.1:5000/busybox@" + pub.manifest.string());
    auto blobs = images_->layer_blobs(pub.layers[1].diff_id);
    ASSERT_TRUE(blobs);
    ASSERT_EQ(blobs->size(), 1u);
    EXPECT_EQ((*blobs)[0].media_type, mt::kOciLayerGzip);

    auto again = pull(*images_, r, ref, o);
    ASSERT_TRUE(again) << again.error().what();
    EXPECT_FALSE(again->updated);

    // A wrong digest is refused before anything is stored.
    auto bad = ref_of("127.0.0.1:5000/busybox@sha256:" + std::string(64, 'a'));
    size_t before = log.msgs.size();
    auto missing = pull(*images_, r, bad, o);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::NotFound);
    EXPECT_EQ(missing.error().msg.rfind("manifest for 127.0.0.1:5000/busybox@sha256:aaaa", 0), 0u)
        << missing.error().msg;
    EXPECT_EQ(log.msgs.size(), before);  // nothing reported: the API answers a plain 404
}

// An index with a manifest per platform, including an attestation (unknown/unknown).
struct IndexFixture {
    Published amd64, arm_v7, s390x;
    Digest index = digest_of("");
};

IndexFixture publish_index(FakeRegistry& reg) {
    IndexFixture f;
    auto layer = make_layer({{"a", "1"}});
    f.amd64 = publish(reg, "multi", "", {layer}, true, make_config({layer.diff_id}, "amd64"));
    f.arm_v7 = publish(reg, "multi", "", {layer}, true, make_config({layer.diff_id}, "arm"));
    f.s390x = publish(reg, "multi", "", {layer}, true, make_config({layer.diff_id}, "s390x"));
    oci::Index idx;
    idx.media_type = std::string(mt::kOciIndex);
    auto entry = [](const Published& p, std::string arch, std::string variant) {
        oci::Descriptor d;
        d.media_type = std::string(mt::kOciManifest);
        d.digest = p.manifest;
        d.size = static_cast<int64_t>(p.manifest_bytes.size());
        d.platform = oci::Platform{std::move(arch), "linux", {}, {}, std::move(variant)};
        return d;
    };
    oci::Descriptor att = entry(f.s390x, "unknown", "");
    att.platform->os = "unknown";
    att.annotations["vnd.docker.reference.type"] = "attestation-manifest";
    idx.manifests = {att, entry(f.arm_v7, "arm", "v7"), entry(f.amd64, "amd64", ""),
                     entry(f.s390x, "s390x", "")};
    f.index = reg.add_manifest("multi", "latest", idx.media_type, oci::to_json(idx));
    return f;
}

TEST(ChoosePlatform, FallbacksAndNoMatch) {
    namespace m = oci::media_type;
    auto d = [](std::string arch, std::string variant, std::string os = "linux") {
        oci::Descriptor x;
        x.media_type = std::string(m::kOciManifest);
        x.platform = oci::Platform{std::move(arch), std::move(os), {}, {}, std::move(variant)};
        return x;
    };
    oci::Index idx;
    idx.manifests = {d("unknown", "", "unknown"), d("arm", "v6"), d("arm", "v7"), d("386", "")};
    EXPECT_EQ(*choose_platform_manifest(idx, "linux/arm/v7"), 2u);
    EXPECT_EQ(*choose_platform_manifest(idx, "linux/arm64"), 2u);  // arm64 -> arm/v8 -> v7
    EXPECT_EQ(*choose_platform_manifest(idx, "linux/arm/v6"), 1u);
    EXPECT_EQ(*choose_platform_manifest(idx, "linux/amd64"), 3u);  // amd64 -> 386
    auto none = choose_platform_manifest(idx, "linux/s390x");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, Errc::NotFound);
    EXPECT_EQ(none.error().msg,
              "no matching manifest for linux/s390x in the manifest list entries");
    auto arm5 = choose_platform_manifest(idx, "linux/arm/v5");
    ASSERT_FALSE(arm5);
    EXPECT_EQ(arm5.error().msg,
              "no matching manifest for linux/arm/v5 in the manifest list entries");
    // unknown/unknown never matches, even when asked for.
    EXPECT_FALSE(choose_platform_manifest(idx, "unknown/unknown"));
    // An entry without a platform matches anything, after every real match.
    oci::Index idx2;
    idx2.manifests = {oci::Descriptor{}, d("arm", "v5")};
    EXPECT_EQ(*choose_platform_manifest(idx2, "linux/arm/v7"), 1u);
    EXPECT_EQ(*choose_platform_manifest(idx2, "linux/riscv64"), 0u);
    EXPECT_FALSE(choose_platform_manifest(idx2, "linux//v7"));
    EXPECT_FALSE(choose_platform_manifest(idx2, "a/b/c/d"));
    // containerd's short forms: a lone architecture is linux's, a lone OS the host's arch.
    EXPECT_EQ(*choose_platform_manifest(idx, "arm"), 2u);
    EXPECT_EQ(choose_platform_manifest(idx, "windows").error().msg,
              "no matching manifest for windows/" + oci::host_platform().architecture +
                  (oci::host_platform().variant.empty() ? "" : "/" + oci::host_platform().variant) +
                  " in the manifest list entries");
}

TEST_F(PullTest, IndexPicksThePlatformAndRecordsTheIndexDigest) {
    auto f = publish_index(*reg_);
    auto r = repo("multi");
    ProgressLog log;
    PullOptions o;
    o.progress = log.fn();
    o.platform = "linux/arm/v7";
    auto res = pull(*images_, r, ref_of("127.0.0.1:5000/multi"), o);
    ASSERT_TRUE(res) << res.error().what();
    EXPECT_EQ(res->image.record.id, f.arm_v7.config);
    EXPECT_EQ(res->digest, f.index);
    EXPECT_EQ(res->image.record.manifest, f.arm_v7.manifest);
    EXPECT_EQ(res->image.record.repo_digests,
              std::vector<std::string>{"127.0.0.1:5000/multi@" + f.index.string()});
    bool digest_line = false;
    for (auto& m : log.msgs) digest_line |= m.status == "Digest: " + f.index.string();
    EXPECT_TRUE(digest_line);

    o.platform = "linux/s390x";
    auto s = pull(*images_, r, ref_of("127.0.0.1:5000/multi:latest"), o);
    ASSERT_TRUE(s) << s.error().what();
    EXPECT_EQ(s->image.record.id, f.s390x.config);

    auto before = snapshot(*images_);
    o.platform = "linux/ppc64le";
    auto none = pull(*images_, r, ref_of("127.0.0.1:5000/multi:latest"), o);
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().msg,
              "no matching manifest for linux/ppc64le in the manifest list entries");
    EXPECT_EQ(snapshot(*images_), before);
}

TEST_F(PullTest, SchemaOneIsRefusedWithMobysText) {
    std::string s1 = R"({"schemaVersion":1,"name":"old","tag":"latest","fsLayers":[],)"
                     R"("history":[],"signatures":[]})";
    reg_->add_manifest("old", "latest", std::string(mt::kDockerSchema1SignedManifest), s1);
    auto r = repo("old");
    auto res = pull(*images_, r, ref_of("127.0.0.1:5000/old"));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, Errc::InvalidArgument);
    EXPECT_NE(res.error().msg.find("Docker Image Format v1 and Docker Image manifest version 2, "
                                   "schema 1 support has been removed. Suggest the author of "
                                   "127.0.0.1:5000/old:latest to upgrade"),
              std::string::npos)
        << res.error().msg;
    // Also when the registry labels it generically and only the body says so.
    reg_->manifest_type_override = "application/json";
    auto res2 = pull(*images_, r, ref_of("127.0.0.1:5000/old"));
    ASSERT_FALSE(res2);
    EXPECT_NE(res2.error().msg.find("schema 1 support has been removed"), std::string::npos);
    EXPECT_EQ(reg_->count("GET blob"), 0u);
}

TEST_F(PullTest, LayersAlreadyPresentAreNotRequested) {
    auto layers = two_layers();
    publish(*reg_, "base", "latest", layers);
    auto top = make_layer({{"app", "binary"}});
    auto pub2 = publish(*reg_, "app", "latest", {layers[0], layers[1], top});
    auto rb = repo("base");
    ASSERT_TRUE(pull(*images_, rb, ref_of("127.0.0.1:5000/base")));

    reg_->log.clear();
    auto ra = repo("app");
    ProgressLog log;
    PullOptions o;
    o.progress = log.fn();
    auto res = pull(*images_, ra, ref_of("127.0.0.1:5000/app"), o);
    ASSERT_TRUE(res) << res.error().what();
    EXPECT_EQ(reg_->count("GET blob " + layers[0].digest.string()), 0u);
    EXPECT_EQ(reg_->count("GET blob " + layers[1].digest.string()), 0u);
    EXPECT_EQ(reg_->count("GET blob " + top.digest.string()), 1u);
    EXPECT_EQ(reg_->count("GET blob"), 2u);  // config + top
    EXPECT_EQ(log.statuses(short12(layers[0].digest)), std::vector<std::string>{"Already exists"});
    EXPECT_EQ(log.statuses(short12(layers[1].digest)), std::vector<std::string>{"Already exists"});
    EXPECT_TRUE(log.has(short12(top.digest), "Pull complete"));
    // The shared layers now have two images.
    auto li = images_->layer_info(res->image.record.chain_ids[1]);
    ASSERT_TRUE(li);
    EXPECT_EQ(li->refs, 2u);
    (void)pub2;
}

TEST_F(PullTest, AtMostThreeDownloadsInFlight) {
    std::vector<TestLayer> layers;
    for (int i = 0; i < 7; ++i)
        layers.push_back(make_layer({{"f" + std::to_string(i), std::string(300000, 'a' + i)}}));
    publish(*reg_, "many", "latest", layers);
    reg_->chunk_size = 512;
    reg_->chunk_delay = std::chrono::microseconds(300);
    // Each download waits (a while) for others to start, so a busy machine still gets as many
    // in flight as pull allows.
    reg_->on_chunk = [&](const Digest&, uint64_t off, uint64_t) {
        auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
        while (off == 0 && reg_->active_fetches.load() < 3 &&
               std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    };
    auto r = repo("many");
    ProgressLog log;
    PullOptions o;
    o.progress = log.fn();
    auto res = pull(*images_, r, ref_of("127.0.0.1:5000/many"), o);
    ASSERT_TRUE(res) << res.error().what();
    EXPECT_EQ(reg_->max_active_fetches.load(), 3);
    // Layers 4..7 were queued behind the first three.
    for (size_t i = 0; i < layers.size(); ++i)
        EXPECT_EQ(log.has(short12(layers[i].digest), "Waiting"), i >= 3) << i;

    // The limit is an option.
    auto& other = another_store();
    reg_->max_active_fetches = 0;
    reg_->on_chunk = nullptr;
    o.max_concurrent_downloads = 1;
    ASSERT_TRUE(pull(other, r, ref_of("127.0.0.1:5000/many"), o));
    EXPECT_EQ(reg_->max_active_fetches.load(), 1);
}

class PullFailureTest : public PullTest {
protected:
    // Pulls `ref` expecting a failure that mentions every string of `want`, and checks that
    // the stores are exactly as before.
    void expect_clean_failure(const std::string& name, std::vector<std::string> want, Errc code) {
        // Something already there, so "as before" is not just "empty".
        auto keep = make_layer({{"keep", "me"}});
        publish(*reg_, "keep", "latest", {keep});
        auto rk = repo("keep");
        ASSERT_TRUE(pull(*images_, rk, ref_of("127.0.0.1:5000/keep")));
        auto before = snapshot(*images_);
        auto r = repo(name);
        auto res = pull(*images_, r, ref_of("127.0.0.1:5000/" + name));
        ASSERT_FALSE(res);
        EXPECT_EQ(res.error().code, code) << res.error().what();
        for (auto& w : want)
            EXPECT_NE(res.error().what().find(w), std::string::npos)
                << w << " in " << res.error().what();
        EXPECT_EQ(snapshot(*images_), before);
        auto after = images_->list();
        ASSERT_TRUE(after);
        EXPECT_EQ(after->size(), 1u);
        for (auto& l : layers_) {
            auto b = images_->layer_blobs(l.diff_id);
            ASSERT_TRUE(b);
            EXPECT_TRUE(b->empty());
        }
    }
    std::vector<TestLayer> layers_;
};

TEST_F(PullFailureTest, CorruptBlobLeavesNothing) {
    layers_ = two_layers();
    layers_.push_back(make_layer({{"big", std::string(1 << 20, 'x')}}));
    publish(*reg_, "bad", "latest", layers_);
    reg_->corrupt_blobs.insert(layers_[1].digest.string());
    expect_clean_failure("bad",
                         {"127.0.0.1:5000/bad", layers_[1].digest.string(), "digest mismatch"},
                         Errc::InvalidArgument);
}

TEST_F(PullFailureTest, CorruptLastLayerWhileStreamingLeavesNothing) {
    layers_ = two_layers();
    publish(*reg_, "bad", "latest", layers_);
    reg_->corrupt_blobs.insert(layers_[0].digest.string());
    reg_->chunk_size = 16;
    reg_->chunk_delay = std::chrono::microseconds(200);
    expect_clean_failure("bad", {"127.0.0.1:5000/bad", layers_[0].digest.string()},
                         Errc::InvalidArgument);
}

TEST_F(PullFailureTest, WrongDiffIdLeavesNothing) {
    layers_ = two_layers();
    auto wrong = layers_;
    std::vector<Digest> ids = {layers_[0].diff_id, digest_of("not the layer")};
    publish(*reg_, "bad", "latest", layers_, false, make_config(ids));
    expect_clean_failure("bad", {"127.0.0.1:5000/bad", layers_[1].digest.string(), "diff-id"},
                         Errc::InvalidArgument);
}

TEST_F(PullFailureTest, CutConnectionLeavesNothing) {
    layers_ = two_layers();
    layers_.push_back(make_layer({{"big", std::string(1 << 20, 'y')}}));
    publish(*reg_, "bad", "latest", layers_);
    reg_->cut_blobs.insert(layers_[2].digest.string());
    reg_->chunk_size = 64;
    expect_clean_failure("bad", {"127.0.0.1:5000/bad", layers_[2].digest.string(), "reset"},
                         Errc::Unavailable);
}

TEST_F(PullFailureTest, MissingBlobLeavesNothing) {
    layers_ = two_layers();
    publish(*reg_, "bad", "latest", layers_);
    {
        std::lock_guard lk(reg_->mu);
        reg_->repos["bad"].blobs.erase(layers_[1].digest.string());
    }
    expect_clean_failure("bad", {"127.0.0.1:5000/bad", layers_[1].digest.string()}, Errc::NotFound);
}

// Layer 1 finishes while layer 0 still downloads: it waits in a spill file, is unpacked from
// there, and the file is gone afterwards; a corrupt spilled layer fails cleanly.
TEST_F(PullTest, LayerDownloadedBeforeItsTurnIsUnpackedFromItsSpillFile) {
    auto slow = make_layer({{"slow", std::string(64 * 1024, 's')}}, archive::Compression::None);
    auto fast = make_layer({{"fast", "f"}});
    publish(*reg_, "spill", "latest", {slow, fast});
    std::atomic<bool> spilled{false};
    reg_->chunk_size = 8 * 1024;
    reg_->on_chunk = [&](const Digest& d, uint64_t off, uint64_t total) {
        if (d != slow.digest) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (off + reg_->chunk_size < total) return;
        // The last chunk of the slow layer: the fast one is complete in its spill file.
        auto tmp = list_dir(path_join(root_, "tmp"));
        if (!tmp) return;
        for (auto& n : *tmp) {
            auto files = list_dir(path_join(root_, "tmp/" + n));
            if (files && std::find(files->begin(), files->end(), "layer-1") != files->end())
                spilled = true;
        }
    };
    auto r = repo("spill");
    auto res = pull(*images_, r, ref_of("127.0.0.1:5000/spill"));
    ASSERT_TRUE(res) << res.error().what();
    EXPECT_TRUE(spilled.load());
    EXPECT_EQ(snapshot(*images_).tmp, std::vector<std::string>{});
    auto top = images_->layer_info(res->image.record.chain_ids[1]);
    ASSERT_TRUE(top);
    EXPECT_EQ(top->diff_id, fast.diff_id);

    // The same with the spilled layer corrupt, into a fresh store.
    auto& other = another_store();
    auto before = snapshot(other);
    reg_->corrupt_blobs.insert(fast.digest.string());
    auto bad = pull(other, r, ref_of("127.0.0.1:5000/spill"));
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().msg.find(fast.digest.string()), std::string::npos) << bad.error().msg;
    EXPECT_EQ(snapshot(other), before);
}

TEST_F(PullTest, ProgressOfATwoLayerPull) {
    auto pub = publish(*reg_, "library/busybox", "latest", two_layers());
    auto r = repo("library/busybox");
    ProgressLog log;
    PullOptions o;
    o.progress = log.fn();
    ASSERT_TRUE(pull(*images_, r, ref_of("127.0.0.1:5000/library/busybox:latest"), o));
    ASSERT_FALSE(log.msgs.empty());
    EXPECT_EQ(log.msgs.front().id, "latest");
    EXPECT_EQ(log.msgs.front().status, "Pulling from library/busybox");
    // Every layer's line in moby's order (downloads may interleave across layers).
    for (auto& l : pub.layers) {
        std::string id = short12(l.digest);
        auto st = log.statuses(id);
        std::vector<std::string> want = {"Pulling fs layer",  "Downloading", "Verifying Checksum",
                                         "Download complete", "Extracting",  "Pull complete"};
        EXPECT_EQ(st, want) << id;
        for (auto& m : log.msgs) {
            if (m.id != id) continue;
            if (m.status == "Downloading" || m.status == "Extracting") {
                EXPECT_EQ(m.total, static_cast<int64_t>(l.blob.size()));
            }
        }
    }
    // Both "Pulling fs layer" lines come before any download.
    size_t first_download = log.msgs.size(), last_pulling = 0;
    for (size_t i = 0; i < log.msgs.size(); ++i) {
        if (log.msgs[i].status == "Pulling fs layer") last_pulling = i;
        if (log.msgs[i].status == "Downloading") first_download = std::min(first_download, i);
    }
    EXPECT_LT(last_pulling, first_download);
    // The first layer completes before the second (unpacked in order).
    size_t c0 = 0, c1 = 0;
    for (size_t i = 0; i < log.msgs.size(); ++i) {
        if (log.msgs[i].status != "Pull complete") continue;
        if (log.msgs[i].id == short12(pub.layers[0].digest)) c0 = i;
        if (log.msgs[i].id == short12(pub.layers[1].digest)) c1 = i;
    }
    EXPECT_LT(c0, c1);
    ASSERT_GE(log.msgs.size(), 2u);
    auto n = log.msgs.size();
    EXPECT_EQ(log.msgs[n - 2].id, "");
    EXPECT_EQ(log.msgs[n - 2].status, "Digest: " + pub.manifest.string());
    EXPECT_EQ(log.msgs[n - 1].status,
              "Status: Downloaded newer image for 127.0.0.1:5000/library/busybox:latest");
}

TEST_F(PullTest, BigLayerUnpacksWhileItDownloads) {
    // 64 MiB in 64 files of pseudo-random text (compresses about 2:1, so the blob is big).
    std::map<std::string, std::string> files;
    std::mt19937_64 rng(42);
    for (int f = 0; f < 64; ++f) {
        std::string s(1 << 20, '\0');
        for (size_t i = 0; i < s.size(); i += 8) {
            uint64_t v = rng();
            for (size_t k = 0; k < 8; ++k, v >>= 8) s[i + k] = static_cast<char>('a' + (v & 15));
        }
        files["data/f" + std::to_string(f)] = std::move(s);
    }
    auto layer = make_layer(files);
    files.clear();
    publish(*reg_, "big", "latest", {layer});
    const std::string layers_dir = path_join(root_, "layers");
    std::atomic<bool> unpacking_seen{false};
    std::atomic<uint64_t> seen_at{0};
    reg_->chunk_size = 256 * 1024;
    reg_->on_chunk = [&](const Digest& d, uint64_t off, uint64_t total) {
        if (d != layer.digest || unpacking_seen) return;
        // Look for files already written into the apply's tmp-*/diff before the last chunks.
        if (off + reg_->chunk_size < total) {
            auto names = list_dir(layers_dir);
            if (!names) return;
            for (auto& n : *names) {
                if (n.rfind("tmp-", 0) != 0) continue;
                auto data = list_dir(path_join(layers_dir, n + "/diff/data"));
                if (data && !data->empty()) {
                    unpacking_seen = true;
                    seen_at = off;
                }
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    };
    auto r = repo("big");
    auto res = pull(*images_, r, ref_of("127.0.0.1:5000/big"));
    ASSERT_TRUE(res) << res.error().what();
    EXPECT_TRUE(unpacking_seen.load()) << "no file was unpacked before the download ended";
    RecordProperty("first_unpacked_at_offset", std::to_string(seen_at.load()));
    RecordProperty("blob_size", std::to_string(layer.blob.size()));
    EXPECT_LT(seen_at.load(), layer.blob.size() / 2);
}

}  // namespace
}  // namespace berth::registry::testing
