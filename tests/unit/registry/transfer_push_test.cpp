// registry::push against the in-memory registry (fake_repository.hpp).

#include <gtest/gtest.h>
#include <sys/mman.h>

#include "berth/registry/pull.hpp"
#include "berth/registry/push.hpp"
#include "transfer_test_util.hpp"

namespace berth::registry::testing {
namespace {

namespace mt = oci::media_type;

using PushTest = StoreFixture;

std::vector<TestLayer> two_layers(const std::string& salt = "") {
    return {
        make_layer({{"bin/sh", "#!shell\n" + salt}, {"etc/passwd", "root:x:0:0::/root:/bin/sh\n"}}),
        make_layer({{"etc/hostname", std::string(200000, 'h') + salt}})};
}

// Imports a one-layer image from a plain tar, tagged `tag`.
image::Image import_image(image::ImageService& s, const std::string& tag) {
    auto l = make_layer({{"hello", "world\n"}, {"dir/file", std::string(100000, 'z')}},
                        archive::Compression::None);
    UniqueFd fd(::memfd_create("tar", MFD_CLOEXEC));
    EXPECT_TRUE(write_all(fd.get(), l.blob, "memfd"));
    ::lseek(fd.get(), 0, SEEK_SET);
    image::ImportOptions o;
    o.reference = tag;
    auto img = s.import(fd.get(), o);
    EXPECT_TRUE(img) << img.error().what();
    return *img;
}

TEST_F(PushTest, UnknownTagIsNotFoundInMobysWords) {
    auto r = repo("nothing");
    auto res = push(*images_, r, ref_of("127.0.0.1:5000/nothing:v1"));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, Errc::NotFound);
    EXPECT_EQ(res.error().msg,
              "An image does not exist locally with the tag: 127.0.0.1:5000/nothing");
}

TEST_F(PushTest, ToAnEmptyRepoThenAgainThenToAnotherRepo) {
    import_image(*images_, "127.0.0.1:5000/x:latest");
    // A second, two-layer image whose layers the registry has never seen (pulled from another
    // registry).
    auto other_reg = std::make_shared<FakeRegistry>();
    other_reg->host = "other.example:5000";
    auto pub = publish(*other_reg, "src", "latest", two_layers());
    FakeRepository src(other_reg, "src");
    ASSERT_TRUE(pull(*images_, src, ref_of("other.example:5000/src")));
    ASSERT_TRUE(images_->tag("other.example:5000/src", "127.0.0.1:5000/two:v1"));

    auto r = repo("two");
    ProgressLog log;
    PushOptions o;
    o.progress = log.fn();
    auto res = push(*images_, r, ref_of("127.0.0.1:5000/two:v1"), o);
    ASSERT_TRUE(res) << res.error().what();
    EXPECT_EQ(res->tag, "v1");
    EXPECT_EQ(reg_->blob_uploads.load(), 2);
    EXPECT_EQ(log.msgs.front().status, "The push refers to repository [127.0.0.1:5000/two]");
    for (auto& l : pub.layers) {
        auto st = log.statuses(short12(l.diff_id));
        ASSERT_FALSE(st.empty());
        EXPECT_EQ(st.front(), "Preparing");
        EXPECT_EQ(st.back(), "Pushed");
        EXPECT_TRUE(log.has(short12(l.diff_id), "Pushing"));
    }
    // Preparing lines top layer first, as moby prints them.
    EXPECT_EQ(log.msgs[1].id, short12(pub.layers[1].diff_id));
    EXPECT_EQ(log.msgs.back().status,
              fmt::format("v1: digest: {} size: {}", res->digest.string(), res->size));

    // What the registry holds: a Docker schema 2 manifest of gzip blobs and the config.
    std::string mbytes, mtype;
    {
        std::lock_guard lk(reg_->mu);
        auto& rr = reg_->repos["two"];
        ASSERT_EQ(rr.tags["v1"], res->digest.string());
        mtype = rr.manifests[res->digest.string()].first;
        mbytes = rr.manifests[res->digest.string()].second;
    }
    EXPECT_EQ(mtype, mt::kDockerManifest);
    EXPECT_EQ(static_cast<int64_t>(mbytes.size()), res->size);
    auto m = oci::parse_manifest(mbytes);
    ASSERT_TRUE(m) << m.error().what();
    EXPECT_EQ(m->config.media_type, mt::kDockerConfig);
    EXPECT_EQ(m->config.digest, pub.config);
    ASSERT_EQ(m->layers.size(), 2u);
    for (auto& l : m->layers) {
        EXPECT_EQ(l.media_type, mt::kDockerLayerGzip);
        std::lock_guard lk(reg_->mu);
        auto& blob = reg_->repos["two"].blobs[l.digest.string()];
        ASSERT_GE(blob.size(), 2u);
        EXPECT_EQ(blob.substr(0, 2), "\x1f\x8b");
        EXPECT_EQ(static_cast<int64_t>(blob.size()), l.size);
    }
    // The new compressed digests are remembered for this registry and repository.
    auto known = images_->layer_blobs(pub.layers[0].diff_id);
    ASSERT_TRUE(known);
    ASSERT_FALSE(known->empty());
    EXPECT_EQ((*known)[0].registry, "127.0.0.1:5000");
    EXPECT_EQ((*known)[0].repository, "two");
    EXPECT_EQ((*known)[0].digest, m->layers[0].digest);

    // Pulling it back into another store gives the same image.
    auto& other = another_store();
    auto back = pull(other, r, ref_of("127.0.0.1:5000/two:v1"));
    ASSERT_TRUE(back) << back.error().what();
    EXPECT_EQ(back->image.record.id, pub.config);
    EXPECT_EQ(back->digest, res->digest);

    // A second push uploads nothing.
    size_t puts = reg_->count("PUT blob");
    ProgressLog log2;
    o.progress = log2.fn();
    auto again = push(*images_, r, ref_of("127.0.0.1:5000/two:v1"), o);
    ASSERT_TRUE(again) << again.error().what();
    EXPECT_EQ(again->digest, res->digest);
    EXPECT_EQ(reg_->count("PUT blob"), puts);
    for (auto& l : pub.layers)
        EXPECT_EQ(log2.statuses(short12(l.diff_id)),
                  (std::vector<std::string>{"Preparing", "Layer already exists"}));

    // Another repository of the same registry mounts.
    ASSERT_TRUE(images_->tag("127.0.0.1:5000/two:v1", "127.0.0.1:5000/three:v1"));
    auto r3 = repo("three");
    ProgressLog log3;
    o.progress = log3.fn();
    auto third = push(*images_, r3, ref_of("127.0.0.1:5000/three:v1"), o);
    ASSERT_TRUE(third) << third.error().what();
    EXPECT_EQ(third->digest, res->digest);
    EXPECT_EQ(reg_->count("PUT blob"), puts + 1);  // the config only
    EXPECT_EQ(reg_->mounts.load(), 2);
    for (auto& l : pub.layers)
        EXPECT_EQ(log3.statuses(short12(l.diff_id)),
                  (std::vector<std::string>{"Preparing", "Mounted from two"}));

    // The imported one-layer image too.
    auto rx = repo("x");
    auto x = push(*images_, rx, ref_of("127.0.0.1:5000/x"), o);
    ASSERT_TRUE(x) << x.error().what();
    EXPECT_EQ(x->tag, "latest");
    auto& other2 = another_store();
    auto xb = pull(other2, rx, ref_of("127.0.0.1:5000/x"));
    ASSERT_TRUE(xb) << xb.error().what();
    EXPECT_EQ(xb->image.record.id, images_->get("127.0.0.1:5000/x")->record.id);
}

TEST_F(PushTest, PulledImageReusesItsBlobsAndManifest) {
    for (bool oci : {false, true}) {
        SCOPED_TRACE(oci ? "oci" : "docker");
        std::string src = oci ? "src-oci" : "src";
        auto pub = publish(*reg_, src, "latest", two_layers(src), oci);
        auto rs = repo(src);
        ASSERT_TRUE(pull(*images_, rs, ref_of("127.0.0.1:5000/" + src)));
        std::string dst = "127.0.0.1:5000/copy-" + src + ":v2";
        ASSERT_TRUE(images_->tag("127.0.0.1:5000/" + src, dst));
        auto rc = repo("copy-" + src);
        int uploads = reg_->blob_uploads.load();
        ProgressLog log;
        PushOptions o;
        o.progress = log.fn();
        auto res = push(*images_, rc, ref_of(dst), o);
        ASSERT_TRUE(res) << res.error().what();
        EXPECT_EQ(reg_->blob_uploads.load(), uploads);
        EXPECT_EQ(res->digest, pub.manifest);
        for (auto& l : pub.layers) EXPECT_TRUE(log.has(short12(l.diff_id), "Mounted from " + src));
        {
            std::lock_guard lk(reg_->mu);
            EXPECT_EQ(reg_->repos["copy-" + src].manifests[res->digest.string()].first,
                      oci ? mt::kOciManifest : mt::kDockerManifest);
        }

        // Back to the same repository under another tag: the blobs exist, same digest.
        std::string same = "127.0.0.1:5000/" + src + ":again";
        ASSERT_TRUE(images_->tag("127.0.0.1:5000/" + src, same));
        auto res2 = push(*images_, rs, ref_of(same), o);
        ASSERT_TRUE(res2) << res2.error().what();
        EXPECT_EQ(res2->digest, pub.manifest);
    }
}

TEST_F(PushTest, RefusedMountFallsBackToUpload) {
    auto pub = publish(*reg_, "src", "latest", two_layers());
    auto rs = repo("src");
    ASSERT_TRUE(pull(*images_, rs, ref_of("127.0.0.1:5000/src")));
    ASSERT_TRUE(images_->tag("127.0.0.1:5000/src", "127.0.0.1:5000/dst"));
    reg_->allow_mount = false;
    auto rd = repo("dst");
    ProgressLog log;
    PushOptions o;
    o.progress = log.fn();
    auto res = push(*images_, rd, ref_of("127.0.0.1:5000/dst"), o);
    ASSERT_TRUE(res) << res.error().what();
    EXPECT_EQ(reg_->blob_uploads.load(), 2);
    for (auto& l : pub.layers) EXPECT_TRUE(log.has(short12(l.diff_id), "Pushed"));
    // New blobs, so a new manifest (same config).
    EXPECT_NE(res->digest, pub.manifest);
    auto& other = another_store();
    auto back = pull(other, rd, ref_of("127.0.0.1:5000/dst"));
    ASSERT_TRUE(back) << back.error().what();
    EXPECT_EQ(back->image.record.id, pub.config);
}

}  // namespace
}  // namespace berth::registry::testing
