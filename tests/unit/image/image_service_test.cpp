// ImageService: import, lookup by every name form, tag/untag/delete with moby's rules and
// wording, layer sharing and reference counts, prune, list filters, history, check/repair.
// Runs as any user (ownership kept only as root).

#include "berth/image/image_service.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "berth/archive/tar.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/store/content_store.hpp"
#include "berth/store/layer_store.hpp"
#include "berth/store/metadata_store.hpp"

#include "service_fixture.hpp"

namespace berth::image {
namespace {

class ImageServiceTest : public test::ImageServiceFixture {
protected:
    /// A memfd holding a layer tar of `files` (path -> content); empty map: a zero-byte input.
    UniqueFd tar_of(const std::map<std::string, std::string>& files) {
        UniqueFd fd(::memfd_create("layer", MFD_CLOEXEC));
        EXPECT_TRUE(fd.valid());
        if (files.empty()) return fd;
        std::string dir = tmp_ + "/src-" + std::to_string(counter_++);
        EXPECT_TRUE(mkdir_all(dir));
        // Fixed mtimes: the same files make the same tar, so layers can be shared.
        const struct timespec times[2] = {{1600000000, 0}, {1600000000, 0}};
        for (const auto& [p, data] : files) {
            EXPECT_TRUE(mkdir_all(dirname_of(dir + "/" + p)));
            EXPECT_TRUE(atomic_write_file(dir + "/" + p, data, 0644, Durability::Volatile));
        }
        for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
            EXPECT_EQ(::utimensat(AT_FDCWD, e.path().c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
        auto r = archive::write_layer(dir, fd.get());
        EXPECT_TRUE(r) << r.error().what();
        ::lseek(fd.get(), 0, SEEK_SET);
        return fd;
    }

    Image import(const std::map<std::string, std::string>& files, const std::string& ref = {},
                 const std::string& message = {}, std::vector<std::string> changes = {}) {
        UniqueFd fd = tar_of(files);
        ImportOptions o;
        o.reference = ref;
        o.message = message;
        o.changes = std::move(changes);
        auto img = svc_->import(fd.get(), o);
        // Image has no empty value to return; gtest reports the exception as a failure.
        if (!img) throw std::runtime_error("import: " + img.error().what());
        return std::move(*img);
    }

    store::LayerStore layers() {
        auto l = store::LayerStore::open_root(root_);
        EXPECT_TRUE(l) << l.error().what();
        return std::move(*l);
    }
    store::ContentStore content() {
        auto c = store::ContentStore::open_root(root_);
        EXPECT_TRUE(c) << c.error().what();
        return std::move(*c);
    }

    static std::vector<std::string> items(const std::vector<DeleteItem>& v) {
        std::vector<std::string> out;
        for (const auto& d : v)
            out.push_back(d.untagged.empty() ? "Deleted: " + d.deleted : "Untagged: " + d.untagged);
        return out;
    }
};

TEST_F(ImageServiceTest, ImportEmptyTarMakesAOneLayerImage) {
    Image img = import({}, "empty", "from nothing");
    ASSERT_EQ(img.config.rootfs.diff_ids.size(), 1u);
    // The empty tar's diff ID is the digest of zero bytes... or of the layer store's idea of
    // it; either way it is the one layer, with its chain ID.
    EXPECT_EQ(img.record.chain_ids.size(), 1u);
    EXPECT_EQ(img.config.os, "linux");
    EXPECT_FALSE(img.config.architecture.empty());
    ASSERT_EQ(img.config.history.size(), 1u);
    EXPECT_EQ(img.config.history[0].comment, "from nothing");
    EXPECT_EQ(img.config.history[0].created, img.config.created);
    EXPECT_EQ(img.config.extra.at("comment"), "\"from nothing\"");
    EXPECT_EQ(img.record.tags, std::vector<std::string>{"docker.io/library/empty:latest"});
    EXPECT_EQ(img.record.id, digest_of(img.raw_config));
    EXPECT_GT(img.record.created, 0);
}

TEST_F(ImageServiceTest, ImportAppliesChangesPlatformAndRefusesBadInput) {
    UniqueFd fd = tar_of({{"bin/app", "binary"}});
    ImportOptions o;
    o.reference = "localhost:5000/team/app:v1";
    o.changes = {"CMD [\"/bin/app\", \"-v\"]", "ENV A=1 B=\"two words\"", "EXPOSE 80",
                 "LABEL org.example=yes", "WORKDIR /srv"};
    o.platform = "linux/arm64";
    auto img = svc_->import(fd.get(), o);
    ASSERT_TRUE(img) << img.error().what();
    EXPECT_EQ(img->config.architecture, "arm64");
    EXPECT_EQ(img->config.config.cmd, (std::vector<std::string>{"/bin/app", "-v"}));
    EXPECT_EQ(img->config.config.env, (std::vector<std::string>{"A=1", "B=two words"}));
    EXPECT_EQ(img->config.config.exposed_ports, std::vector<std::string>{"80/tcp"});
    EXPECT_EQ(img->config.config.labels.at("org.example"), "yes");
    EXPECT_EQ(img->config.config.working_dir, "/srv");
    EXPECT_TRUE(svc_->get("localhost:5000/team/app:v1"));

    UniqueFd fd2 = tar_of({});
    ImportOptions bad;
    bad.changes = {"RUN echo hi"};
    auto r = svc_->import(fd2.get(), bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_EQ(r.error().msg, "run is not a valid change command");

    bad = {};
    bad.platform = "windows/amd64";
    r = svc_->import(fd2.get(), bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().msg, "operating system is not supported");

    // A lone architecture means the host's OS (containerd's platforms.Parse).
    ImportOptions arch_only;
    arch_only.platform = "aarch64";
    auto a64 = svc_->import(fd2.get(), arch_only);
    ASSERT_TRUE(a64) << a64.error().what();
    EXPECT_EQ(a64->config.os, "linux");
    EXPECT_EQ(a64->config.architecture, "arm64");
    ASSERT_TRUE(svc_->remove(a64->record.id.string(), false));

    bad = {};
    bad.reference = "a@sha256:" + std::string(64, 'a');
    r = svc_->import(fd2.get(), bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().msg, "cannot import digest reference");

    // Nothing of the refused imports is left: one image, one layer.
    auto all = svc_->list();
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 1u);
}

TEST_F(ImageServiceTest, GetByEveryNameForm) {
    Image img = import({{"etc/hostname", "box\n"}}, "busybox");
    const std::string hex = img.record.id.hex();
    for (const std::string& name :
         {hex, "sha256:" + hex, hex.substr(0, 12), "sha256:" + hex.substr(0, 12), hex.substr(0, 1),
          std::string("busybox"), std::string("busybox:latest"),
          std::string("docker.io/library/busybox:latest"), std::string("docker.io/busybox"),
          std::string("index.docker.io/library/busybox"),
          "busybox@sha256:" + hex /* the config digest as a canonical reference */}) {
        auto got = svc_->get(name);
        ASSERT_TRUE(got) << name << ": " << got.error().what();
        EXPECT_EQ(got->record.id, img.record.id) << name;
    }
    auto miss = svc_->get("nope");
    ASSERT_FALSE(miss);
    EXPECT_EQ(miss.error().code, Errc::NotFound);
    EXPECT_EQ(miss.error().msg, "No such image: nope:latest");
    miss = svc_->get("busybox:1.36");
    ASSERT_FALSE(miss);
    EXPECT_EQ(miss.error().msg, "No such image: busybox:1.36");
    miss = svc_->get(std::string(64, 'f'));
    ASSERT_FALSE(miss);
    EXPECT_EQ(miss.error().msg, "No such image: sha256:" + std::string(64, 'f'));
    auto bad = svc_->get("UPPER");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::InvalidArgument);
}

TEST_F(ImageServiceTest, AmbiguousIdPrefixIsNotFound) {
    // 20 images: some first hex digit is shared by two of them (pigeonhole on 16 digits).
    std::map<char, int> first;
    for (int i = 0; i < 20; ++i) {
        Image img = import({}, {}, "image " + std::to_string(i));
        first[img.record.id.hex()[0]]++;
    }
    auto shared = std::find_if(first.begin(), first.end(), [](auto& p) { return p.second > 1; });
    ASSERT_NE(shared, first.end());
    auto r = svc_->get(std::string(1, shared->first));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::NotFound);
    EXPECT_EQ(r.error().msg, "No such image: " + std::string(1, shared->first) + ":latest");
}

TEST_F(ImageServiceTest, TagMovesAndRefusesDigests) {
    Image a = import({{"a", "1"}}, "app:1");
    Image b = import({{"b", "2"}}, "other");
    auto t = svc_->tag("other", "app:1");
    ASSERT_TRUE(t) << t.error().what();
    EXPECT_EQ(svc_->get("app:1")->record.id, b.record.id);
    EXPECT_TRUE(svc_->get(a.record.id.string())->record.tags.empty());
    t = svc_->tag(a.record.id.hex().substr(0, 12), "app");  // name-only: :latest
    ASSERT_TRUE(t) << t.error().what();
    EXPECT_EQ(svc_->get("app:latest")->record.id, a.record.id);
    EXPECT_GT(svc_->get("app")->record.last_tag_time, 0);

    t = svc_->tag("app", "app@sha256:" + std::string(64, 'a'));
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, Errc::InvalidArgument);
    t = svc_->tag("missing", "x");
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, Errc::NotFound);
    t = svc_->tag("app", "Bad");
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, Errc::InvalidArgument);
}

TEST_F(ImageServiceTest, LookupsFollowTagsAndRemovals) {
    // get() keeps its answers while nothing is written: each of these writes must show.
    Image a = import({{"a", "1"}}, "app:1");
    Image b = import({{"b", "2"}}, "other");
    ASSERT_EQ(svc_->get("app:1")->record.id, a.record.id);
    ASSERT_EQ(svc_->get(a.record.id.string())->record.tags,
              std::vector<std::string>{"docker.io/library/app:1"});
    ASSERT_TRUE(svc_->tag("other", "app:1"));
    EXPECT_EQ(svc_->get("app:1")->record.id, b.record.id);
    EXPECT_TRUE(svc_->get(a.record.id.string())->record.tags.empty());
    ASSERT_FALSE(svc_->get("app:2"));
    ASSERT_TRUE(svc_->tag("other", "app:2"));
    EXPECT_EQ(svc_->get("app:2")->record.id, b.record.id);  // a miss is not kept
    ASSERT_TRUE(svc_->remove("app:1", false, false));
    auto gone = svc_->get("app:1");
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, Errc::NotFound);
    ASSERT_TRUE(svc_->remove(a.record.id.string(), true, false));
    EXPECT_FALSE(svc_->get(a.record.id.string()));
}

TEST_F(ImageServiceTest, RemoveFollowsMobyRules) {
    Image img = import({{"f", "data"}}, "a:1");
    ASSERT_TRUE(svc_->tag("a:1", "b:1"));
    const std::string id12 = img.record.id.hex().substr(0, 12);

    // Untag by name while another reference remains.
    auto r = svc_->remove("a:1", false);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(items(*r), std::vector<std::string>{"Untagged: a:1"});
    ASSERT_TRUE(svc_->tag("b:1", "a:1"));

    // By ID with two repositories: must be forced.
    r = svc_->remove(img.record.id.hex(), false);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Conflict);
    EXPECT_EQ(r.error().msg, "conflict: unable to delete " + id12 +
                                 " (must be forced) - image is referenced in multiple "
                                 "repositories");

    // Forced: every tag, the image and its (unshared) layer.
    r = svc_->remove(id12, true);
    ASSERT_TRUE(r) << r.error().what();
    auto v = items(*r);
    ASSERT_EQ(v.size(), 4u);
    EXPECT_EQ(std::set<std::string>(v.begin(), v.begin() + 2),
              (std::set<std::string>{"Untagged: a:1", "Untagged: b:1"}));
    EXPECT_EQ(v[2], "Deleted: " + img.record.id.string());
    EXPECT_EQ(v[3], "Deleted: " + img.record.chain_ids[0].string());
    EXPECT_FALSE(svc_->get(id12));
    EXPECT_FALSE(layers().exists(img.record.chain_ids[0]));
    EXPECT_FALSE(content().exists(img.record.id));

    // The last tag removes the image.
    Image one = import({{"g", "x"}}, "single");
    r = svc_->remove("single", false);
    ASSERT_TRUE(r) << r.error().what();
    v = items(*r);
    ASSERT_GE(v.size(), 2u);
    EXPECT_EQ(v[0], "Untagged: single:latest");
    EXPECT_EQ(v[1], "Deleted: " + one.record.id.string());

    // By ID with one tag: no force needed.
    Image two = import({{"h", "y"}}, "solo:2");
    r = svc_->remove(two.record.id.string(), false);
    ASSERT_TRUE(r) << r.error().what();
    v = items(*r);
    ASSERT_GE(v.size(), 2u);
    EXPECT_EQ(v[0], "Untagged: solo:2");
    EXPECT_EQ(v[1], "Deleted: " + two.record.id.string());

    auto miss = svc_->remove("ghost", false);
    ASSERT_FALSE(miss);
    EXPECT_EQ(miss.error().msg, "No such image: ghost:latest");
}

TEST_F(ImageServiceTest, RemoveRespectsContainersAndChildren) {
    Image img = import({{"f", "1"}}, "used");
    const std::string id12 = img.record.id.hex().substr(0, 12);
    const std::string cid = "c0ffeec0ffee0123456789";
    ImageUseFn in_use = [&](const Digest& d) -> std::optional<std::string> {
        if (d == img.record.id) return cid;
        return std::nullopt;
    };
    auto r = svc_->remove("used", false, true, in_use);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Conflict);
    EXPECT_EQ(r.error().msg,
              "conflict: unable to remove repository reference \"used\" (must "
              "force) - container c0ffeec0ffee is using its referenced image " +
                  id12);

    ASSERT_TRUE(svc_->remove("used", true, true, in_use));  // forced: untagged and deleted
    EXPECT_FALSE(svc_->get(id12));

    Image dang = import({{"f", "2"}});
    ImageUseFn use2 = [&](const Digest&) -> std::optional<std::string> { return cid; };
    r = svc_->remove(dang.record.id.hex(), false, true, use2);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().msg, "conflict: unable to delete " + dang.record.id.hex().substr(0, 12) +
                                 " (must be forced) - image is being used by stopped container "
                                 "c0ffeec0ffee");

    // A child image (moby's Parent, from local builds) blocks even a forced delete.
    auto meta = store::MetadataStore::open_root(root_);
    ASSERT_TRUE(meta) << meta.error().what();
    Digest child_id = digest_of("child config");
    store::ImageRecord child{child_id, {}, {}, dang.record.id, 1, 1, 0, 0, {}, {}};
    ASSERT_TRUE(meta->put_image(child));
    r = svc_->remove(dang.record.id.hex(), true);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().msg, "conflict: unable to delete " + dang.record.id.hex().substr(0, 12) +
                                 " (cannot be forced) - image has dependent child images");
}

TEST_F(ImageServiceTest, DeletingAChildPrunesItsUntaggedParent) {
    Image parent = import({{"p", "1"}}, {}, "parent");
    // A child as a local build makes it: the parent's layers, its own config, Parent set.
    oci::ImageConfig cfg = parent.config;
    cfg.extra["comment"] = "\"child\"";
    const std::string raw = oci::to_json(cfg);
    ASSERT_TRUE(content().put(raw));
    ASSERT_TRUE(layers().acquire(parent.record.chain_ids[0]));
    auto meta = store::MetadataStore::open_root(root_);
    ASSERT_TRUE(meta) << meta.error().what();
    const Digest child_id = digest_of(raw);
    store::ImageRecord child{child_id, {}, parent.record.chain_ids, parent.record.id, 1, 1, 0, 0,
                             {}, {}};
    ASSERT_TRUE(meta->put_image(child));

    auto r = svc_->remove(parent.record.id.hex(), false);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().msg, "conflict: unable to delete " + parent.record.id.hex().substr(0, 12) +
                                 " (cannot be forced) - image has dependent child images");
    auto check = svc_->check(false);
    ASSERT_TRUE(check) << check.error().what();
    EXPECT_TRUE(check->clean()) << ::testing::PrintToString(check->problems);

    r = svc_->remove(child_id.string(), false);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(items(*r), (std::vector<std::string>{"Deleted: " + child_id.string(),
                                                   "Deleted: " + parent.record.id.string(),
                                                   "Deleted: " +
                                                       parent.record.chain_ids[0].string()}));
    EXPECT_FALSE(layers().exists(parent.record.chain_ids[0]));
}

TEST_F(ImageServiceTest, SharedLayerStaysUntilItsLastImageGoes) {
    Image a = import({{"shared", "content"}}, "one", "first");
    Image b = import({{"shared", "content"}}, "two", "second");
    ASSERT_NE(a.record.id, b.record.id);
    ASSERT_EQ(a.record.chain_ids, b.record.chain_ids);
    const Digest chain = a.record.chain_ids[0];
    EXPECT_EQ(layers().info(chain)->refs, 2u);

    auto r = svc_->remove("one", false);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(items(*r), (std::vector<std::string>{"Untagged: one:latest",
                                                   "Deleted: " + a.record.id.string()}));
    ASSERT_TRUE(layers().exists(chain));
    EXPECT_EQ(layers().info(chain)->refs, 1u);

    r = svc_->remove("two", false);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(items(*r),
              (std::vector<std::string>{"Untagged: two:latest", "Deleted: " + b.record.id.string(),
                                        "Deleted: " + chain.string()}));
    EXPECT_FALSE(layers().exists(chain));
    auto check = svc_->check(false);
    ASSERT_TRUE(check) << check.error().what();
    EXPECT_TRUE(check->clean()) << ::testing::PrintToString(check->problems);
}

TEST_F(ImageServiceTest, PruneDanglingThenAllUnused) {
    Image dangling = import({{"d", std::string(1000, 'd')}}, {}, "dangling");
    Image tagged = import({{"t", "tagged"}}, "keep");
    Image used = import({{"u", "used"}}, "used");
    ImageUseFn in_use = [&](const Digest& d) -> std::optional<std::string> {
        if (d == used.record.id) return std::string("abcdefabcdef99");
        return std::nullopt;
    };

    auto rep = svc_->prune({}, in_use);
    ASSERT_TRUE(rep) << rep.error().what();
    EXPECT_EQ(items(rep->deleted),
              (std::vector<std::string>{"Deleted: " + dangling.record.id.string(),
                                        "Deleted: " + dangling.record.chain_ids[0].string()}));
    EXPECT_GE(rep->space_reclaimed, 1000u);
    EXPECT_TRUE(svc_->get("keep"));

    ImageFilters all;
    all.dangling = false;
    rep = svc_->prune(all, in_use);
    ASSERT_TRUE(rep) << rep.error().what();
    auto v = items(rep->deleted);
    EXPECT_NE(std::find(v.begin(), v.end(), "Untagged: keep:latest"), v.end());
    EXPECT_NE(std::find(v.begin(), v.end(), "Deleted: " + tagged.record.id.string()), v.end());
    EXPECT_FALSE(svc_->get("keep"));
    EXPECT_TRUE(svc_->get("used"));  // a container uses it

    ImageFilters badf;
    badf.reference = {"x"};
    auto bad = svc_->prune(badf);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().msg, "invalid filter 'reference'");
}

TEST_F(ImageServiceTest, PruneHonoursLabelsAndUntil) {
    Image old = import({}, {}, "old", {"LABEL keep=no"});
    Image labelled = import({}, {}, "new", {"LABEL keep=yes"});
    ImageFilters f;
    f.label = {"keep=no"};
    auto rep = svc_->prune(f);
    ASSERT_TRUE(rep) << rep.error().what();
    ASSERT_FALSE(rep->deleted.empty());
    EXPECT_EQ(rep->deleted[0].deleted, old.record.id.string());
    EXPECT_TRUE(svc_->get(labelled.record.id.string()));

    f = {};
    f.until = {"1h"};  // only images created more than an hour ago: none
    rep = svc_->prune(f);
    ASSERT_TRUE(rep) << rep.error().what();
    EXPECT_TRUE(rep->deleted.empty());
    f.until = {"1h", "2h"};
    EXPECT_FALSE(svc_->prune(f));
}

TEST_F(ImageServiceTest, ListNewestFirstAndFiltered) {
    Image a = import({{"a", "1"}}, "busybox:1", "a", {"LABEL tier=base"});
    Image b = import({{"b", "2"}}, "localhost:5000/team/app:v2", "b", {"LABEL tier=app"});
    Image c = import({{"c", "3"}}, {}, "c");
    ASSERT_TRUE(svc_->tag("busybox:1", "busybox:musl"));

    auto ids = [](const std::vector<Image>& v) {
        std::vector<Digest> out;
        for (const auto& i : v) out.push_back(i.record.id);
        return out;
    };
    auto l = svc_->list();
    ASSERT_TRUE(l) << l.error().what();
    EXPECT_EQ(ids(*l), (std::vector<Digest>{c.record.id, b.record.id, a.record.id}));

    ImageFilters f;
    f.reference = {"busybox:m*"};
    l = svc_->list(f);
    ASSERT_TRUE(l) << l.error().what();
    ASSERT_EQ(ids(*l), std::vector<Digest>{a.record.id});
    EXPECT_EQ((*l)[0].record.tags, std::vector<std::string>{"docker.io/library/busybox:musl"});

    f.reference = {"localhost:5000/*/app"};
    l = svc_->list(f);
    ASSERT_TRUE(l);
    EXPECT_EQ(ids(*l), std::vector<Digest>{b.record.id});

    f = {};
    f.dangling = true;
    EXPECT_EQ(ids(*svc_->list(f)), std::vector<Digest>{c.record.id});
    f.dangling = false;
    EXPECT_EQ(ids(*svc_->list(f)), (std::vector<Digest>{b.record.id, a.record.id}));

    f = {};
    f.label = {"tier"};
    EXPECT_EQ(ids(*svc_->list(f)), (std::vector<Digest>{b.record.id, a.record.id}));
    f.label = {"tier=app"};
    EXPECT_EQ(ids(*svc_->list(f)), std::vector<Digest>{b.record.id});

    f = {};
    f.before = {c.record.id.hex()};
    EXPECT_EQ(ids(*svc_->list(f)), (std::vector<Digest>{b.record.id, a.record.id}));
    f = {};
    f.since = {"busybox:1"};
    EXPECT_EQ(ids(*svc_->list(f)), (std::vector<Digest>{c.record.id, b.record.id}));
    f.since = {"nope"};
    auto err = svc_->list(f);
    ASSERT_FALSE(err);
    EXPECT_EQ(err.error().code, Errc::NotFound);

    f = {};
    f.until = {"2000-01-01"};
    EXPECT_TRUE(svc_->list(f)->empty());
    f.until = {"-1h"};  // an hour from now
    EXPECT_EQ(svc_->list(f)->size(), 3u);

    f = {};
    f.reference = {"[a-"};
    err = svc_->list(f);
    ASSERT_FALSE(err);
    EXPECT_EQ(err.error().code, Errc::InvalidArgument);
}

TEST_F(ImageServiceTest, HistoryFromConfigAndLayerSizes) {
    Image img = import({{"file", std::string(4096, 'x')}}, "hist:1", "imported by test");
    auto h = svc_->history("hist:1");
    ASSERT_TRUE(h) << h.error().what();
    ASSERT_EQ(h->size(), 1u);
    const auto& e = (*h)[0];
    EXPECT_EQ(e.id, img.record.id.string());
    EXPECT_EQ(e.comment, "imported by test");
    EXPECT_EQ(e.tags, std::vector<std::string>{"hist:1"});
    EXPECT_EQ(e.size, layers().info(img.record.chain_ids[0])->size);
    EXPECT_GE(e.size, 4096u);
    EXPECT_NEAR(static_cast<double>(e.created), static_cast<double>(::time(nullptr)), 60);

    auto total = svc_->layers_size();
    ASSERT_TRUE(total);
    EXPECT_EQ(*total, e.size);
    EXPECT_EQ(*svc_->shared_size(img), 0u);
    Image twin = import({{"file", std::string(4096, 'x')}}, "hist:2", "twin");
    EXPECT_EQ(*svc_->shared_size(twin), e.size);
}

TEST_F(ImageServiceTest, CheckFindsAndRepairsRefsOrphansAndMissingConfigs) {
    Image a = import({{"a", "1"}}, "alpha");  // not hex: no ID-prefix match
    Image b = import({{"b", "2"}}, "beta");
    auto clean = svc_->check(false);
    ASSERT_TRUE(clean) << clean.error().what();
    EXPECT_TRUE(clean->clean()) << ::testing::PrintToString(clean->problems);

    // A reference count off by one.
    auto ls = layers();
    ASSERT_TRUE(ls.acquire(a.record.chain_ids[0]));
    // An orphan layer no image uses.
    UniqueFd fd = tar_of({{"orphan", "o"}});
    auto orphan = ls.apply(std::nullopt, fd.get());
    ASSERT_TRUE(orphan) << orphan.error().what();
    // A missing config blob, and a blob no image uses.
    auto cs = content();
    ASSERT_TRUE(cs.remove(b.record.id));
    auto junk = cs.put("junk");
    ASSERT_TRUE(junk);

    auto rep = svc_->check(false);
    ASSERT_TRUE(rep) << rep.error().what();
    auto has = [&](const std::vector<std::string>& lines, const std::string& s) {
        return std::any_of(lines.begin(), lines.end(),
                           [&](const std::string& l) { return l == s; });
    };
    const auto& p = rep->problems;
    EXPECT_TRUE(has(p, "layer " + a.record.chain_ids[0].string() +
                           ": reference count 2, but 1 image(s) use it"))
        << ::testing::PrintToString(p);
    EXPECT_TRUE(has(p, "layer " + orphan->chain_id.string() + ": not used by any image"))
        << ::testing::PrintToString(p);
    EXPECT_TRUE(has(p, "image " + b.record.id.string() + ": config blob missing"))
        << ::testing::PrintToString(p);
    EXPECT_TRUE(has(p, "blob " + junk->digest.string() + ": not used by any image"))
        << ::testing::PrintToString(p);
    EXPECT_TRUE(rep->repairs.empty());
    // Nothing changed without repair.
    EXPECT_EQ(ls.info(a.record.chain_ids[0])->refs, 2u);

    rep = svc_->check(true);
    ASSERT_TRUE(rep) << rep.error().what();
    EXPECT_FALSE(rep->repairs.empty());
    EXPECT_EQ(ls.info(a.record.chain_ids[0])->refs, 1u);
    EXPECT_FALSE(ls.exists(orphan->chain_id));
    EXPECT_FALSE(cs.exists(junk->digest));
    EXPECT_FALSE(svc_->get("beta"));
    // b's layer lost its only image: removed in the same pass.
    EXPECT_FALSE(ls.exists(b.record.chain_ids[0]));
    EXPECT_TRUE(svc_->get("alpha"));

    rep = svc_->check(false);
    ASSERT_TRUE(rep) << rep.error().what();
    EXPECT_TRUE(rep->clean()) << ::testing::PrintToString(rep->problems);
}

TEST_F(ImageServiceTest, ReopenKeepsImages) {
    Image img = import({{"x", "y"}}, "persist:1");
    ASSERT_NO_FATAL_FAILURE(reopen());
    auto got = svc_->get("persist:1");
    ASSERT_TRUE(got) << got.error().what();
    EXPECT_EQ(got->record.id, img.record.id);
    EXPECT_EQ(got->raw_config, img.raw_config);
}

TEST_F(ImageServiceTest, WhiteoutsBecomeOverlayDevicesAsRoot) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mknod of overlay whiteouts)";
    Image img = import({{"keep", "k"}, {".wh.gone", ""}}, "wh");
    std::string diff = layers().diff_path(img.record.chain_ids[0]);
    struct stat st {};
    ASSERT_EQ(::lstat((diff + "/gone").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(0, 0));
}

}  // namespace
}  // namespace berth::image
