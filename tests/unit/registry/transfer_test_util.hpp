#pragma once
// Shared by the pull and push tests: layers made with archive::write_layer, images published
// into the fake registry, a private image store, and snapshots of everything a failed pull must
// leave as it was.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "berth/archive/tar.hpp"
#include "berth/common/digest.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/image/image_service.hpp"
#include "berth/oci/image_spec.hpp"
#include "berth/store/content_store.hpp"
#include "berth/store/layer_store.hpp"
#include "fake_repository.hpp"

namespace berth::registry::testing {

struct TestLayer {
    std::string blob;  ///< compressed (or plain) bytes as the registry serves them
    Digest diff_id = digest_of("");
    Digest digest = digest_of("");
    std::string media_type;
};

inline std::string make_temp_dir(const char* prefix) {
    std::string t = std::string("/tmp/") + prefix + "XXXXXX";
    if (!::mkdtemp(t.data())) ADD_FAILURE() << "mkdtemp";
    return t;
}

/// A layer with `files` (path -> content), tarred and (unless `compression` is None)
/// compressed by archive::write_layer.
inline TestLayer make_layer(const std::map<std::string, std::string>& files,
                            archive::Compression compression = archive::Compression::Gzip) {
    std::string dir = make_temp_dir("berth-test-layer-");
    for (const auto& [path, content] : files) {
        std::string p = path_join(dir, path);
        EXPECT_TRUE(mkdir_all(dirname_of(p)));
        UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        EXPECT_TRUE(fd);
        EXPECT_TRUE(write_all(fd.get(), content, p));
    }
    UniqueFd out(::memfd_create("layer", MFD_CLOEXEC));
    Sha256 h;
    archive::DiffOptions o;
    o.compression = compression;
    o.on_uncompressed = [&](std::string_view b) -> Result<void> {
        h.update(b);
        return {};
    };
    auto w = archive::write_layer(dir, out.get(), o);
    EXPECT_TRUE(w) << w.error().what();
    (void)remove_all(dir);
    TestLayer l;
    off_t size = ::lseek(out.get(), 0, SEEK_END);
    l.blob.resize(static_cast<size_t>(size));
    EXPECT_EQ(::pread(out.get(), l.blob.data(), l.blob.size(), 0), size);
    l.diff_id = h.finish();
    l.digest = digest_of(l.blob);
    l.media_type = compression == archive::Compression::Gzip
                       ? std::string(oci::media_type::kDockerLayerGzip)
                       : std::string(oci::media_type::kOciLayer);
    return l;
}

/// An image config for `diff_ids` on os/arch.
inline std::string make_config(const std::vector<Digest>& diff_ids, const std::string& arch = "",
                               const std::string& os = "linux", const std::string& cmd = "sh") {
    oci::ImageConfig c;
    c.created = "2024-01-02T03:04:05Z";
    c.architecture = arch.empty() ? oci::host_platform().architecture : arch;
    c.os = os;
    c.config.cmd = {cmd};
    c.rootfs.diff_ids = diff_ids;
    return oci::to_json(c);
}

struct Published {
    Digest manifest = digest_of("");
    std::string manifest_bytes;
    Digest config = digest_of("");
    std::string raw_config;
    std::vector<TestLayer> layers;
};

/// Puts config, layers and a manifest (Docker schema 2, or OCI) into `repo`, tagged `tag`
/// (empty: untagged). `config` defaults to make_config() of the layers' diff IDs.
inline Published publish(FakeRegistry& reg, const std::string& repo, const std::string& tag,
                         std::vector<TestLayer> layers, bool oci = false, std::string config = {}) {
    namespace mt = oci::media_type;
    Published p;
    std::vector<Digest> diff_ids;
    for (auto& l : layers) diff_ids.push_back(l.diff_id);
    p.raw_config = config.empty() ? make_config(diff_ids) : config;
    p.config = reg.add_blob(repo, p.raw_config);
    oci::Manifest m;
    m.media_type = std::string(oci ? mt::kOciManifest : mt::kDockerManifest);
    m.config.media_type = std::string(oci ? mt::kOciConfig : mt::kDockerConfig);
    m.config.digest = p.config;
    m.config.size = static_cast<int64_t>(p.raw_config.size());
    for (auto& l : layers) {
        reg.add_blob(repo, l.blob);
        oci::Descriptor d;
        d.media_type = oci && l.media_type == mt::kDockerLayerGzip ? std::string(mt::kOciLayerGzip)
                                                                   : l.media_type;
        d.digest = l.digest;
        d.size = static_cast<int64_t>(l.blob.size());
        m.layers.push_back(d);
    }
    p.manifest_bytes = oci::to_json(m);
    p.manifest = reg.add_manifest(repo, tag, m.media_type, p.manifest_bytes);
    p.layers = std::move(layers);
    return p;
}

/// Everything a pull may change, to compare before and after a failed one.
struct StoreSnapshot {
    std::vector<std::string> layers;  ///< entries of layers/ (chain hexes, tmp-*)
    std::vector<std::string> blobs;
    std::vector<std::string> images;
    std::vector<std::string> tmp;  ///< entries of <root>/tmp
    friend bool operator==(const StoreSnapshot&, const StoreSnapshot&) = default;
};

inline StoreSnapshot snapshot(image::ImageService& s) {
    StoreSnapshot snap;
    auto l = list_dir(path_join(s.root(), "layers"));
    if (l) snap.layers = *l;
    auto c = store::ContentStore::open_root(s.root());
    if (c) {
        auto list = c->list();
        if (list)
            for (auto& b : *list) snap.blobs.push_back(b.digest.string());
    }
    auto imgs = s.list();
    if (imgs)
        for (auto& i : *imgs) snap.images.push_back(i.record.id.string());
    auto t = list_dir(path_join(s.root(), "tmp"));
    if (t) snap.tmp = *t;
    return snap;
}

/// A private image store in a temporary root.
class StoreFixture : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = make_temp_dir("berth-test-transfer-");
        images_ = open_store(root_);
        reg_ = std::make_shared<FakeRegistry>();
    }
    void TearDown() override {
        images_.reset();
        extra_.clear();
        (void)remove_all(root_);
        for (auto& r : extra_roots_) (void)remove_all(r);
    }
    static std::unique_ptr<image::ImageService> open_store(const std::string& root) {
        image::ImageServiceOptions o;
        o.durable = false;
        o.preserve_ownership = ::geteuid() == 0;
        auto s = image::ImageService::open(root, o);
        EXPECT_TRUE(s) << s.error().what();
        return std::move(*s);
    }
    /// A second, independent store (e.g. to pull back what was pushed).
    image::ImageService& another_store() {
        extra_roots_.push_back(make_temp_dir("berth-test-transfer2-"));
        extra_.push_back(open_store(extra_roots_.back()));
        return *extra_.back();
    }
    FakeRepository repo(const std::string& name) { return FakeRepository(reg_, name); }

    std::string root_;
    std::unique_ptr<image::ImageService> images_;
    std::shared_ptr<FakeRegistry> reg_;
    std::vector<std::string> extra_roots_;
    std::vector<std::unique_ptr<image::ImageService>> extra_;
};

/// Records progress messages.
struct ProgressLog {
    std::mutex mu;
    std::vector<image::Progress> msgs;
    image::ProgressFn fn() {
        return [this](const image::Progress& p) {
            std::lock_guard lk(mu);
            msgs.push_back(p);
        };
    }
    /// Statuses for one id, in order, with "Downloading"/"Extracting"/"Pushing" repeats
    /// collapsed.
    std::vector<std::string> statuses(const std::string& id) {
        std::vector<std::string> out;
        for (auto& m : msgs) {
            if (m.id != id) continue;
            if (!out.empty() && out.back() == m.status) continue;
            out.push_back(m.status);
        }
        return out;
    }
    bool has(const std::string& id, const std::string& status) {
        for (auto& m : msgs)
            if (m.id == id && m.status == status) return true;
        return false;
    }
};

inline image::Reference ref_of(const std::string& s) {
    auto r = image::Reference::parse_normalized(s);
    EXPECT_TRUE(r) << s;
    return *r;
}

inline std::string short12(const Digest& d) {
    return d.hex().substr(0, 12);
}

}  // namespace berth::registry::testing
