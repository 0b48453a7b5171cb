// ImageService's registry support (registry_support.cpp): layer holds of a pull, committing a
// pulled image ("up to date" or not), rollback of what a failed pull unpacked, layer blob
// records, layer tars for push, staging directories.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <map>
#include <string>

#include "berth/archive/tar.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/image/image_service.hpp"
#include "berth/oci/image_spec.hpp"

#include "service_fixture.hpp"

namespace berth::image {
namespace {

class RegistrySupportTest : public test::ImageServiceFixture {
protected:
    /// A memfd with a layer tar of `files`, and the tar's digest (its diff ID).
    std::pair<UniqueFd, Digest> tar_of(const std::map<std::string, std::string>& files,
                                       bool gzip = false) {
        std::string dir = tmp_ + "/src-" + std::to_string(counter_++);
        EXPECT_TRUE(mkdir_all(dir));
        for (const auto& [p, data] : files)
            EXPECT_TRUE(atomic_write_file(dir + "/" + p, data, 0644, Durability::Volatile));
        UniqueFd fd(::memfd_create("layer", MFD_CLOEXEC));
        Sha256 h;
        archive::DiffOptions o;
        o.compression = gzip ? archive::Compression::Gzip : archive::Compression::None;
        o.on_uncompressed = [&](std::string_view b) -> Result<void> {
            h.update(b);
            return {};
        };
        EXPECT_TRUE(archive::write_layer(dir, fd.get(), o));
        ::lseek(fd.get(), 0, SEEK_SET);
        return {std::move(fd), h.finish()};
    }

    std::string config_of(const std::vector<Digest>& diff_ids) {
        oci::ImageConfig c;
        c.architecture = "amd64";
        c.os = "linux";
        c.rootfs.diff_ids = diff_ids;
        return oci::to_json(c);
    }
};

TEST_F(RegistrySupportTest, HoldApplyCommitRelease) {
    auto [fd1, diff1] = tar_of({{"a", "1"}}, /*gzip=*/true);
    auto [fd2, diff2] = tar_of({{"b", "2"}});
    EXPECT_EQ(svc_->hold_layer(std::nullopt, diff1).error().code, Errc::NotFound);

    auto l1 = svc_->apply_and_hold_layer(std::nullopt, fd1.get(), diff1);
    ASSERT_TRUE(l1) << l1.error().what();
    EXPECT_TRUE(l1->created);
    EXPECT_EQ(l1->info.refs, 1u);
    auto l2 = svc_->apply_and_hold_layer(l1->info.chain_id, fd2.get(), diff2);
    ASSERT_TRUE(l2) << l2.error().what();
    EXPECT_TRUE(l2->created);
    EXPECT_EQ(*l2->info.parent, l1->info.chain_id);

    // A second pull finds and holds them.
    auto h1 = svc_->hold_layer(std::nullopt, diff1);
    ASSERT_TRUE(h1);
    EXPECT_EQ(h1->refs, 2u);
    ASSERT_TRUE(svc_->release_layer(h1->chain_id, true));  // still held: stays
    EXPECT_EQ(svc_->layer_info(h1->chain_id)->refs, 1u);

    auto tag = *Reference::parse_normalized("127.0.0.1:5000/a:1");
    std::string manifest = R"({"schemaVersion":2})";
    PulledImageSpec spec;
    spec.raw_config = config_of({diff1, diff2});
    spec.raw_manifest = manifest;
    spec.chain_ids = {l1->info.chain_id, l2->info.chain_id};
    spec.tag = tag;
    spec.repo_digest = tag.name_reference().with_digest(digest_of(manifest));
    auto done = svc_->commit_pulled_image(spec);
    ASSERT_TRUE(done) << done.error().what();
    EXPECT_TRUE(done->updated);
    EXPECT_EQ(done->image.record.tags, std::vector<std::string>{"127.0.0.1:5000/a:1"});
    EXPECT_EQ(done->image.record.repo_digests,
              std::vector<std::string>{"127.0.0.1:5000/a@" + digest_of(manifest).string()});
    EXPECT_EQ(done->image.record.manifest, digest_of(manifest));
    EXPECT_EQ(*svc_->read_blob(digest_of(manifest)), manifest);
    // The pull drops its holds; the image keeps one reference each.
    ASSERT_TRUE(svc_->release_layer(l2->info.chain_id, false));
    ASSERT_TRUE(svc_->release_layer(l1->info.chain_id, false));
    EXPECT_EQ(svc_->layer_info(l1->info.chain_id)->refs, 1u);
    EXPECT_EQ(svc_->layer_info(l2->info.chain_id)->refs, 1u);

    // The same pull again is "up to date"; by digest only, too.
    auto again = svc_->commit_pulled_image(spec);
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->updated);
    spec.tag.reset();
    auto by_digest = svc_->commit_pulled_image(spec);
    ASSERT_TRUE(by_digest);
    EXPECT_FALSE(by_digest->updated);

    // The layer tar for push comes back byte for byte (digest = diff ID).
    UniqueFd out(::memfd_create("out", MFD_CLOEXEC));
    auto w = svc_->write_layer_tar(l2->info.chain_id, out.get());
    ASSERT_TRUE(w) << w.error().what();
    EXPECT_EQ(*w, diff2);
}

TEST_F(RegistrySupportTest, WrongDiffIdAndRollbackLeaveNoLayer) {
    auto [fd, diff] = tar_of({{"x", "y"}});
    auto bad = svc_->apply_and_hold_layer(std::nullopt, fd.get(), digest_of("other"));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::InvalidArgument);
    EXPECT_FALSE(svc_->layer_info(diff));
    ::lseek(fd.get(), 0, SEEK_SET);
    auto l = svc_->apply_and_hold_layer(std::nullopt, fd.get(), diff);
    ASSERT_TRUE(l);
    // A failed pull: release with removal.
    ASSERT_TRUE(svc_->release_layer(l->info.chain_id, true));
    EXPECT_EQ(svc_->layer_info(l->info.chain_id).error().code, Errc::NotFound);
    EXPECT_EQ(svc_->release_layer(l->info.chain_id, true).error().code, Errc::NotFound);
}

TEST_F(RegistrySupportTest, LayerBlobRecordsAndStagingDirs) {
    store::LayerBlobRecord r{digest_of("diff"),
                             digest_of("blob"),
                             "application/vnd.docker.image.rootfs.diff.tar.gzip",
                             3,
                             "127.0.0.1:5000",
                             "a"};
    ASSERT_TRUE(svc_->record_layer_blobs({r}));
    auto got = svc_->layer_blobs(digest_of("diff"));
    ASSERT_TRUE(got);
    ASSERT_EQ(got->size(), 1u);
    EXPECT_EQ((*got)[0].digest, digest_of("blob"));

    std::string path;
    {
        auto d = svc_->make_staging_dir("pull");
        ASSERT_TRUE(d) << d.error().what();
        path = d->path();
        EXPECT_EQ(path.rfind(root_ + "/tmp/pull-", 0), 0u) << path;
        ASSERT_TRUE(atomic_write_file(path + "/f", "x", 0600, Durability::Volatile));
        // Another service opening the same root leaves a live staging dir alone.
        ImageServiceOptions o;
        o.durable = false;
        o.preserve_ownership = false;
        auto other = ImageService::open(root_, o);
        ASSERT_TRUE(other);
        EXPECT_TRUE(path_exists(path + "/f"));
    }
    EXPECT_FALSE(path_exists(path));
}

}  // namespace
}  // namespace berth::image
