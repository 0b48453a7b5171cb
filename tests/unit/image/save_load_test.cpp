// ImageService::save() and load(): docker-archive and OCI layout tarballs, both ways, against
// archives built here (legacy "<id>/layer.tar" docker-archives with gzip layers, OCI layouts
// with nested indexes), malformed ones, and skopeo's readers and writers.

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/common/digest.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/process.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/image/image_service.hpp"
#include "berth/oci/image_spec.hpp"
#include "berth/store/content_store.hpp"
#include "berth/store/layer_store.hpp"

namespace berth::image {
namespace {

using nlohmann::json;
namespace mt = oci::media_type;

#if defined(__aarch64__)
constexpr const char* kArch = "arm64";
constexpr const char* kOtherArch = "amd64";
#else
constexpr const char* kArch = "amd64";
constexpr const char* kOtherArch = "s390x";
#endif

// ---- tar helpers (libarchive) ------------------------------------------------------------------

struct Entry {
    std::string name;
    std::string data;
    char type = '0';  // '0' file, '5' dir, '2' symlink
    std::string link;
    unsigned mode = 0644;
    int64_t mtime = 0;
    int64_t size = 0;  // when read back
};

Entry file(std::string name, std::string data, unsigned mode = 0644) {
    return Entry{std::move(name), std::move(data), '0', {}, mode};
}
Entry dir(std::string name) {
    return Entry{std::move(name), {}, '5', {}, 0755};
}
Entry symlink(std::string name, std::string target) {
    return Entry{std::move(name), {}, '2', std::move(target), 0777};
}

la_ssize_t append_cb(struct archive*, void* out, const void* buf, size_t n) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
}

std::string make_tar(const std::vector<Entry>& entries) {
    std::string out;
    struct archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    EXPECT_EQ(archive_write_open(a, &out, nullptr, append_cb, nullptr), ARCHIVE_OK);
    for (const Entry& e : entries) {
        struct archive_entry* ae = archive_entry_new();
        archive_entry_set_pathname(ae, e.name.c_str());
        archive_entry_set_perm(ae, e.mode);
        archive_entry_set_mtime(ae, 1700000000, 0);
        if (e.type == '5') {
            archive_entry_set_filetype(ae, AE_IFDIR);
        } else if (e.type == '2') {
            archive_entry_set_filetype(ae, AE_IFLNK);
            archive_entry_set_symlink(ae, e.link.c_str());
        } else {
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_size(ae, static_cast<la_int64_t>(e.data.size()));
        }
        EXPECT_EQ(archive_write_header(a, ae), ARCHIVE_OK);
        if (e.type == '0' && !e.data.empty()) {
            EXPECT_EQ(archive_write_data(a, e.data.data(), e.data.size()),
                      static_cast<la_ssize_t>(e.data.size()));
        }
        archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
    return out;
}

std::string gzip(const std::string& data) {
    std::string out;
    struct archive* a = archive_write_new();
    archive_write_add_filter_gzip(a);
    archive_write_set_format_raw(a);
    archive_write_set_bytes_in_last_block(a, 1);
    EXPECT_EQ(archive_write_open(a, &out, nullptr, append_cb, nullptr), ARCHIVE_OK);
    struct archive_entry* ae = archive_entry_new();
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_pathname(ae, "x");
    EXPECT_EQ(archive_write_header(a, ae), ARCHIVE_OK);
    EXPECT_EQ(archive_write_data(a, data.data(), data.size()),
              static_cast<la_ssize_t>(data.size()));
    archive_entry_free(ae);
    archive_write_close(a);
    archive_write_free(a);
    return out;
}

std::vector<Entry> read_tar(const std::string& bytes) {
    std::vector<Entry> out;
    struct archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    EXPECT_EQ(archive_read_open_memory(a, bytes.data(), bytes.size()), ARCHIVE_OK);
    struct archive_entry* ae = nullptr;
    int r;
    while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
        Entry e;
        e.name = archive_entry_pathname(ae);
        e.type = archive_entry_filetype(ae) == AE_IFDIR ? '5' : '0';
        e.mode = archive_entry_perm(ae);
        e.mtime = archive_entry_mtime(ae);
        e.size = archive_entry_size(ae);
        char buf[65536];
        la_ssize_t n;
        while ((n = archive_read_data(a, buf, sizeof buf)) > 0) e.data.append(buf, n);
        EXPECT_GE(n, 0) << archive_error_string(a);
        out.push_back(std::move(e));
    }
    EXPECT_EQ(r, ARCHIVE_EOF) << archive_error_string(a);
    archive_read_free(a);
    return out;
}

std::vector<std::string> names_of(const std::vector<Entry>& es) {
    std::vector<std::string> out;
    for (const auto& e : es) out.push_back(e.name);
    return out;
}

const Entry* find_entry(const std::vector<Entry>& es, const std::string& name) {
    for (const auto& e : es) {
        if (e.name == name) return &e;
    }
    return nullptr;
}

std::string hex_of(const std::string& data) {
    return digest_of(data).hex();
}

// ---- images ------------------------------------------------------------------------------------

const std::string kCreated = "2024-05-06T07:08:09Z";
constexpr int64_t kCreatedSecs = 1714979289;

std::string make_config(const std::vector<std::string>& layer_tars, const std::string& cmd = "sh",
                        const std::string& os = "linux", const std::string& arch = kArch) {
    json diff_ids = json::array();
    json history = json::array();
    for (const auto& t : layer_tars) {
        diff_ids.push_back(digest_of(t).string());
        history.push_back(
            {{"created", kCreated}, {"created_by", "layer " + hex_of(t).substr(0, 8)}});
    }
    json c = {{"architecture", arch},
              {"os", os},
              {"created", kCreated},
              {"config", {{"Cmd", json::array({cmd})}}},
              {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}},
              {"history", history}};
    return c.dump();
}

std::string base_layer() {
    return make_tar({dir("bin/"), file("bin/hello", "#!/bin/sh\necho hi\n", 0755), dir("etc/"),
                     file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")});
}
std::string top_layer() {
    return make_tar({dir("etc/"), file("etc/motd", "hello\n")});
}
std::string top2_layer() {
    return make_tar({dir("etc/"), file("etc/motd", "another\n"), file("etc/issue", "x\n")});
}

/// A docker-archive as docker before 25 wrote it: "<v1 id>/layer.tar" (here gzip-compressed,
/// which docker load accepts too) and "<config hex>.json".
struct LegacyImage {
    std::vector<std::string> layers;  // uncompressed tars
    std::vector<std::string> tags;
    bool gzip_layers = true;
    std::string cmd = "sh";
};

std::string legacy_archive(const std::vector<LegacyImage>& images, std::vector<Entry> extra = {}) {
    std::vector<Entry> entries;
    json manifest = json::array();
    std::set<std::string> written;
    for (const auto& img : images) {
        std::string cfg = make_config(img.layers, img.cmd);
        json layers = json::array();
        for (const auto& l : img.layers) {
            std::string id = hex_of("v1" + l);
            if (written.insert(id).second) {
                entries.push_back(dir(id + "/"));
                entries.push_back(file(id + "/VERSION", "1.0"));
                entries.push_back(file(id + "/json", "{\"id\":\"" + id + "\"}"));
                entries.push_back(file(id + "/layer.tar", img.gzip_layers ? gzip(l) : l));
            }
            layers.push_back(id + "/layer.tar");
        }
        entries.push_back(file(hex_of(cfg) + ".json", cfg));
        json item = {{"Config", hex_of(cfg) + ".json"},
                     {"RepoTags", img.tags.empty() ? json(nullptr) : json(img.tags)},
                     {"Layers", layers}};
        manifest.push_back(item);
    }
    entries.push_back(file("manifest.json", manifest.dump()));
    for (auto& e : extra) entries.push_back(std::move(e));
    return make_tar(entries);
}

// ---- fixture -----------------------------------------------------------------------------------

class SaveLoadTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-test-saveload-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        tmp_ = tmpl;
    }
    void TearDown() override { ASSERT_TRUE(remove_all(tmp_)); }

    std::string root(const std::string& name) { return tmp_ + "/" + name; }

    std::unique_ptr<ImageService> open(const std::string& name) {
        ImageServiceOptions o;
        o.durable = false;
        o.preserve_ownership = ::geteuid() == 0;
        auto s = ImageService::open(root(name), o);
        EXPECT_TRUE(s) << s.error().what();
        return s ? std::move(*s) : nullptr;
    }

    std::string write_temp(const std::string& data) {
        std::string path = tmp_ + "/in-" + std::to_string(counter_++) + ".tar";
        EXPECT_TRUE(atomic_write_file(path, data, 0644, Durability::Volatile));
        return path;
    }

    Result<LoadResult> load_bytes(ImageService& s, const std::string& data,
                                  std::vector<Progress>* progress = nullptr) {
        std::string path = write_temp(data);
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        EXPECT_TRUE(fd.valid());
        return s.load(fd.get(), [&](const Progress& p) {
            if (progress) progress->push_back(p);
        });
    }

    /// Loads through a pipe fed by another thread: load must read its input once, in order.
    Result<LoadResult> load_pipe(ImageService& s, const std::string& data) {
        int p[2];
        EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
        UniqueFd rd(p[0]);
        UniqueFd wr(p[1]);
        std::thread feeder([&] {
            std::string_view rest = data;
            while (!rest.empty()) {
                ssize_t n = ::write(wr.get(), rest.data(), rest.size());
                if (n <= 0) break;
                rest.remove_prefix(static_cast<size_t>(n));
            }
            wr.reset();
        });
        auto r = s.load(rd.get());
        rd.reset();
        feeder.join();
        return r;
    }

    /// Saves into a file and returns its bytes (and the save's result through `res`).
    std::string save(ImageService& s, const std::vector<std::string>& names,
                     Result<void>* res = nullptr) {
        std::string path = tmp_ + "/out-" + std::to_string(counter_++) + ".tar";
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        EXPECT_TRUE(fd.valid());
        auto r = s.save(names, fd.get());
        if (res) {
            *res = r;
        } else {
            EXPECT_TRUE(r) << r.error().what();
        }
        fd.reset();
        auto data = read_file(path);
        EXPECT_TRUE(data);
        last_saved_ = path;
        return data ? *data : std::string();
    }

    /// Asserts that a root holds no image, no layer, no blob and nothing in tmp/.
    void expect_empty(ImageService& s, const std::string& name) {
        auto imgs = s.list();
        ASSERT_TRUE(imgs) << imgs.error().what();
        EXPECT_TRUE(imgs->empty());
        auto layers = store::LayerStore::open_root(root(name));
        ASSERT_TRUE(layers);
        auto ll = layers->list();
        ASSERT_TRUE(ll);
        EXPECT_TRUE(ll->empty()) << ll->size() << " layers left";
        auto content = store::ContentStore::open_root(root(name));
        ASSERT_TRUE(content);
        auto cl = content->list();
        ASSERT_TRUE(cl);
        EXPECT_TRUE(cl->empty()) << cl->size() << " blobs left";
        auto tmp = list_dir(root(name) + "/tmp");
        if (tmp) {
            EXPECT_TRUE(tmp->empty()) << (*tmp)[0];
        }
    }

    std::string tmp_;
    std::string last_saved_;
    int counter_ = 0;
};

// ---- load: docker-archive ----------------------------------------------------------------------

TEST_F(SaveLoadTest, LoadsLegacyDockerArchiveWithGzipLayersFromAPipe) {
    auto s = open("a");
    ASSERT_TRUE(s);
    std::string base = base_layer(), top = top_layer();
    std::string archive =
        legacy_archive({{{base, top}, {"busybox:latest", "example.com/team/app:1.0"}}});
    std::vector<Progress> progress;
    auto r = load_bytes(*s, archive, &progress);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->loaded_tags,
              (std::vector<std::string>{"busybox:latest", "example.com/team/app:1.0"}));
    EXPECT_TRUE(r->loaded_ids.empty());

    auto img = s->get("busybox");
    ASSERT_TRUE(img) << img.error().what();
    EXPECT_EQ(img->record.id, digest_of(make_config({base, top})));
    Digest c0 = store::LayerStore::chain_id(std::nullopt, digest_of(base));
    Digest c1 = store::LayerStore::chain_id(c0, digest_of(top));
    EXPECT_EQ(img->record.chain_ids, (std::vector<Digest>{c0, c1}));
    auto other = s->get("example.com/team/app:1.0");
    ASSERT_TRUE(other);
    EXPECT_EQ(other->record.id, img->record.id);

    auto layers = store::LayerStore::open_root(root("a"));
    ASSERT_TRUE(layers);
    EXPECT_EQ(*read_file(layers->diff_path(c1) + "/etc/motd"), "hello\n");
    EXPECT_EQ(*read_file(layers->diff_path(c0) + "/etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");

    std::set<std::string> ids;
    for (const auto& p : progress) {
        EXPECT_EQ(p.status, "Loading layer");
        ids.insert(p.id);
    }
    EXPECT_EQ(ids, (std::set<std::string>{digest_of(base).hex().substr(0, 12),
                                          digest_of(top).hex().substr(0, 12)}));
    auto tmp = list_dir(root("a") + "/tmp");
    ASSERT_TRUE(tmp);
    EXPECT_TRUE(tmp->empty());

    // The same archive again, through a pipe: layers and image are already there.
    auto b = open("b");
    ASSERT_TRUE(b);
    auto rp = load_pipe(*b, archive);
    ASSERT_TRUE(rp) << rp.error().what();
    EXPECT_EQ(b->get("busybox:latest")->record.id, img->record.id);
    auto again = load_bytes(*s, archive);
    ASSERT_TRUE(again) << again.error().what();
    EXPECT_EQ(s->list()->size(), 1u);
}

TEST_F(SaveLoadTest, LoadsCompressedTarball) {
    auto s = open("a");
    ASSERT_TRUE(s);
    std::string archive = legacy_archive({{{base_layer()}, {"gz:1"}, false}});
    auto r = load_bytes(*s, gzip(archive));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->loaded_tags, std::vector<std::string>{"gz:1"});
}

// ---- save --------------------------------------------------------------------------------------

TEST_F(SaveLoadTest, SaveWritesWhatDockerWritesAndLoadsBack) {
    auto a = open("a");
    ASSERT_TRUE(a);
    std::string base = base_layer(), top = top_layer();
    std::string cfg = make_config({base, top});
    ASSERT_TRUE(load_bytes(*a, legacy_archive({{{base, top}, {"busybox:latest"}}})));
    Image img = *a->get("busybox:latest");

    std::string out = save(*a, {"busybox:latest"});
    auto entries = read_tar(out);

    // What moby's sorted directory walk gives.
    std::string man_hex;
    for (const auto& e : entries) {
        if (e.name.rfind("blobs/sha256/", 0) == 0 && e.name.size() > 13) {
            std::string h = e.name.substr(13);
            if (h != hex_of(cfg) && h != hex_of(base) && h != hex_of(top)) man_hex = h;
        }
    }
    ASSERT_FALSE(man_hex.empty());
    std::vector<std::string> blobs = {hex_of(cfg), hex_of(base), hex_of(top), man_hex};
    std::sort(blobs.begin(), blobs.end());
    std::vector<std::string> want = {"blobs/", "blobs/sha256/"};
    for (const auto& b : blobs) want.push_back("blobs/sha256/" + b);
    for (const char* n : {"index.json", "manifest.json", "oci-layout", "repositories"}) {
        want.push_back(n);
    }
    EXPECT_EQ(names_of(entries), want);

    // Every blob matches its name; layers are the exact tars the image was loaded from.
    for (const auto& e : entries) {
        if (e.type == '5') {
            EXPECT_EQ(e.mtime, 0);
            continue;
        }
        if (e.name.rfind("blobs/sha256/", 0) == 0) {
            EXPECT_EQ(hex_of(e.data), e.name.substr(13)) << e.name;
        }
        EXPECT_EQ(e.mode, 0644u) << e.name;
    }
    EXPECT_EQ(find_entry(entries, "blobs/sha256/" + hex_of(base))->data, base);
    EXPECT_EQ(find_entry(entries, "blobs/sha256/" + hex_of(top))->data, top);
    EXPECT_EQ(find_entry(entries, "blobs/sha256/" + hex_of(cfg))->data, cfg);
    EXPECT_EQ(find_entry(entries, "blobs/sha256/" + hex_of(cfg))->mtime, kCreatedSecs);
    EXPECT_EQ(find_entry(entries, "blobs/sha256/" + hex_of(top))->mtime, kCreatedSecs);
    EXPECT_EQ(find_entry(entries, "blobs/sha256/" + man_hex)->mtime, 0);
    EXPECT_EQ(find_entry(entries, "index.json")->mtime, 0);
    EXPECT_EQ(find_entry(entries, "oci-layout")->data, R"({"imageLayoutVersion": "1.0.0"})");

    // manifest.json (docker-archive view).
    auto mj = json::parse(find_entry(entries, "manifest.json")->data);
    ASSERT_EQ(mj.size(), 1u);
    EXPECT_EQ(mj[0]["Config"], "blobs/sha256/" + hex_of(cfg));
    EXPECT_EQ(mj[0]["RepoTags"], json::array({"busybox:latest"}));
    EXPECT_EQ(mj[0]["Layers"],
              json::array({"blobs/sha256/" + hex_of(base), "blobs/sha256/" + hex_of(top)}));
    EXPECT_EQ(mj[0]["LayerSources"][digest_of(top).string()]["size"], top.size());
    EXPECT_EQ(mj[0]["LayerSources"][digest_of(top).string()]["mediaType"], mt::kOciLayer);
    auto repos = json::parse(find_entry(entries, "repositories")->data);
    EXPECT_EQ(repos, json({{"busybox", {{"latest", hex_of(top)}}}}));

    // index.json and the manifest (OCI view).
    auto index = oci::parse_index(find_entry(entries, "index.json")->data);
    ASSERT_TRUE(index) << index.error().what();
    EXPECT_EQ(index->media_type, mt::kOciIndex);
    ASSERT_EQ(index->manifests.size(), 1u);
    const auto& d = index->manifests[0];
    EXPECT_EQ(d.media_type, mt::kOciManifest);
    EXPECT_EQ(d.digest.hex(), man_hex);
    EXPECT_EQ(d.annotations.at("io.containerd.image.name"), "docker.io/library/busybox:latest");
    EXPECT_EQ(d.annotations.at("org.opencontainers.image.ref.name"), "latest");
    const std::string& mraw = find_entry(entries, "blobs/sha256/" + man_hex)->data;
    EXPECT_EQ(d.size, static_cast<int64_t>(mraw.size()));
    auto m = oci::parse_manifest(mraw);
    ASSERT_TRUE(m) << m.error().what();
    EXPECT_EQ(m->config.digest, img.record.id);
    EXPECT_EQ(m->config.media_type, mt::kOciConfig);
    ASSERT_EQ(m->layers.size(), 2u);
    EXPECT_EQ(m->layers[0].media_type, mt::kOciLayer);
    EXPECT_EQ(m->layers[0].digest, digest_of(base));
    EXPECT_EQ(m->layers[0].size, static_cast<int64_t>(base.size()));
    EXPECT_EQ(m->layers[1].digest, digest_of(top));

    // GNU tar reads it the same way, and the same save gives the same bytes.
    Command list_cmd;
    list_cmd.path = "tar";
    list_cmd.args = {"tar", "-tf", last_saved_};
    list_cmd.capture_stdout = true;
    auto tar = run_command(list_cmd);
    ASSERT_TRUE(tar) << tar.error().what();
    EXPECT_TRUE(tar->status.ok());
    std::string listed;
    for (const auto& n : want) listed += n + "\n";
    EXPECT_EQ(tar->out, listed);
    EXPECT_EQ(save(*a, {"busybox:latest"}), out);

    // Into an empty root: same image, same tags, same layers.
    auto b = open("b");
    ASSERT_TRUE(b);
    auto r = load_pipe(*b, out);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->loaded_tags, std::vector<std::string>{"busybox:latest"});
    auto loaded = b->get("busybox:latest");
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->record.id, img.record.id);
    EXPECT_EQ(loaded->record.chain_ids, img.record.chain_ids);
    EXPECT_EQ(loaded->raw_config, img.raw_config);
    // And saved from there: byte-identical.
    EXPECT_EQ(save(*b, {"busybox:latest"}), out);
}

TEST_F(SaveLoadTest, SavesAnImportedImage) {
    auto a = open("a");
    ASSERT_TRUE(a);
    std::string rootfs = base_layer();
    std::string path = write_temp(rootfs);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    ImportOptions io;
    io.reference = "imported:1";
    auto img = a->import(fd.get(), io);
    ASSERT_TRUE(img) << img.error().what();

    std::string out = save(*a, {"imported:1"});
    auto entries = read_tar(out);
    ASSERT_NE(find_entry(entries, "blobs/sha256/" + hex_of(rootfs)), nullptr);
    EXPECT_EQ(find_entry(entries, "blobs/sha256/" + hex_of(rootfs))->data, rootfs);

    auto b = open("b");
    ASSERT_TRUE(b);
    auto r = load_bytes(*b, out);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->loaded_tags, std::vector<std::string>{"imported:1"});
    EXPECT_EQ(b->get("imported:1")->record.id, img->record.id);
    EXPECT_EQ(b->get("imported:1")->record.chain_ids, img->record.chain_ids);
}

TEST_F(SaveLoadTest, SavedLayerIsTheImportedTarByteForByteAlsoIntoAPipe) {
    // A rootfs tar as GNU tar writes it (GNU format, symlinks, a hard link, an empty file, a
    // file spanning several blocks), imported, then saved: the layer blob must be that very tar.
    std::string src = tmp_ + "/rootfs";
    ASSERT_TRUE(mkdir_all(src + "/bin"));
    ASSERT_TRUE(mkdir_all(src + "/etc/empty.d"));
    ASSERT_TRUE(
        atomic_write_file(src + "/bin/tool", std::string(70000, 'b'), 0755, Durability::Volatile));
    ASSERT_TRUE(atomic_write_file(src + "/etc/empty", "", 0600, Durability::Volatile));
    ASSERT_EQ(::symlink("tool", (src + "/bin/sh").c_str()), 0);
    ASSERT_EQ(::symlink("/bin/tool", (src + "/bin/abs").c_str()), 0);
    ASSERT_EQ(::link((src + "/bin/tool").c_str(), (src + "/bin/hard").c_str()), 0);
    std::string tar_path = tmp_ + "/rootfs.tar";
    Command c;
    c.path = "tar";
    c.args = {"tar", "--format=gnu", "--sort=name", "-C", src, "-cf", tar_path, "."};
    auto r = run_command(c);
    ASSERT_TRUE(r && r->status.ok());
    std::string rootfs = *read_file(tar_path);

    auto a = open("a");
    ASSERT_TRUE(a);
    UniqueFd fd(::open(tar_path.c_str(), O_RDONLY | O_CLOEXEC));
    ImportOptions io;
    io.reference = "gnu:1";
    ASSERT_TRUE(a->import(fd.get(), io));

    std::string out = save(*a, {"gnu:1"});
    auto entries = read_tar(out);
    const Entry* layer = find_entry(entries, "blobs/sha256/" + hex_of(rootfs));
    ASSERT_NE(layer, nullptr);
    EXPECT_TRUE(layer->data == rootfs);

    // To a pipe (what the API streams to): the same bytes.
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    UniqueFd rd(p[0]), wr(p[1]);
    std::string piped;
    std::thread reader([&] {
        char buf[65536];
        ssize_t n;
        while ((n = ::read(rd.get(), buf, sizeof buf)) > 0) piped.append(buf, n);
    });
    auto res = a->save({"gnu:1"}, wr.get());
    wr.reset();
    reader.join();
    ASSERT_TRUE(res) << res.error().what();
    EXPECT_TRUE(piped == out);
}

TEST_F(SaveLoadTest, SharedLayersAreWrittenOnceAndUntaggedImagesHaveNoTags) {
    auto a = open("a");
    ASSERT_TRUE(a);
    std::string base = base_layer(), top = top_layer(), top2 = top2_layer();
    ASSERT_TRUE(load_bytes(*a, legacy_archive({{{base, top}, {"busybox:latest"}},
                                               {{base, top2}, {}, true, "other"}})));
    Digest id1 = digest_of(make_config({base, top}));
    Digest id2 = digest_of(make_config({base, top2}, "other"));
    ASSERT_TRUE(a->get(id2.hex()));

    std::string out = save(*a, {"busybox:latest", id2.hex().substr(0, 12), id1.string()});
    auto entries = read_tar(out);
    EXPECT_EQ(
        std::count_if(entries.begin(), entries.end(),
                      [&](const Entry& e) { return e.name == "blobs/sha256/" + hex_of(base); }),
        1);
    // config x2, manifest x2, layers x3, plus 2 dirs and 4 files.
    EXPECT_EQ(entries.size(), 13u);
    auto mj = json::parse(find_entry(entries, "manifest.json")->data);
    ASSERT_EQ(mj.size(), 2u);
    EXPECT_EQ(mj[0]["RepoTags"], json::array({"busybox:latest"}));
    EXPECT_TRUE(mj[1]["RepoTags"].is_null());
    auto index = oci::parse_index(find_entry(entries, "index.json")->data);
    ASSERT_TRUE(index);
    ASSERT_EQ(index->manifests.size(), 2u);
    EXPECT_FALSE(index->manifests[0].annotations.empty());
    EXPECT_TRUE(index->manifests[1].annotations.empty());
    auto repos = json::parse(find_entry(entries, "repositories")->data);
    EXPECT_EQ(repos.size(), 1u);

    // Untagged only: no repositories file.
    auto only = read_tar(save(*a, {id2.string()}));
    EXPECT_EQ(find_entry(only, "repositories"), nullptr);

    auto b = open("b");
    ASSERT_TRUE(b);
    auto r = load_bytes(*b, out);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->loaded_tags, std::vector<std::string>{"busybox:latest"});
    EXPECT_EQ(r->loaded_ids, std::vector<Digest>{id2});
    EXPECT_EQ(b->list()->size(), 2u);
}

TEST_F(SaveLoadTest, SaveByRepositoryNameSavesAllItsTags) {
    auto a = open("a");
    ASSERT_TRUE(a);
    std::string base = base_layer(), top = top_layer();
    ASSERT_TRUE(load_bytes(*a, legacy_archive({{{base, top}, {"busybox:latest", "busybox:1.36"}},
                                               {{base}, {"busybox:old", "other:1"}}})));
    auto entries = read_tar(save(*a, {"busybox"}));
    auto mj = json::parse(find_entry(entries, "manifest.json")->data);
    ASSERT_EQ(mj.size(), 2u);
    std::set<std::string> tags;
    for (const auto& e : mj) {
        for (const auto& t : e["RepoTags"]) tags.insert(t.get<std::string>());
    }
    EXPECT_EQ(tags, (std::set<std::string>{"busybox:1.36", "busybox:latest", "busybox:old"}));
    auto repos = json::parse(find_entry(entries, "repositories")->data);
    EXPECT_EQ(repos["busybox"].size(), 3u);
}

TEST_F(SaveLoadTest, SaveOfAnUnknownNameWritesNothing) {
    auto a = open("a");
    ASSERT_TRUE(a);
    ASSERT_TRUE(load_bytes(*a, legacy_archive({{{base_layer()}, {"busybox:latest"}}})));
    Result<void> res;
    std::string out = save(*a, {"busybox:latest", "nope:1"}, &res);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, Errc::NotFound);
    EXPECT_TRUE(out.empty());
}

// ---- load: OCI layouts -------------------------------------------------------------------------

oci::Descriptor desc(std::string_view media_type, const std::string& data) {
    oci::Descriptor d;
    d.media_type = std::string(media_type);
    d.digest = digest_of(data);
    d.size = static_cast<int64_t>(data.size());
    return d;
}

Entry blob(const std::string& data) {
    return file("blobs/sha256/" + hex_of(data), data);
}

std::string oci_manifest(const std::string& config, const std::vector<oci::Descriptor>& layers) {
    oci::Manifest m;
    m.media_type = std::string(mt::kOciManifest);
    m.config = desc(mt::kOciConfig, config);
    m.layers = layers;
    return oci::to_json(m);
}

std::string oci_index(const std::vector<oci::Descriptor>& ds) {
    oci::Index i;
    i.media_type = std::string(mt::kOciIndex);
    i.manifests = ds;
    return oci::to_json(i);
}

TEST_F(SaveLoadTest, LoadsOciLayoutWithNestedIndex) {
    auto a = open("a");
    ASSERT_TRUE(a);
    std::string base = base_layer(), gz = gzip(base);
    std::string cfg = make_config({base});
    std::string man = oci_manifest(cfg, {desc(mt::kOciLayerGzip, gz)});
    std::string other_cfg = make_config({}, "sh", "linux", kOtherArch);
    std::string other_man = oci_manifest(other_cfg, {});
    auto host_d = desc(mt::kOciManifest, man);
    host_d.platform = oci::Platform{kArch, "linux", {}, {}, {}};
    auto other_d = desc(mt::kOciManifest, other_man);
    other_d.platform = oci::Platform{kOtherArch, "linux", {}, {}, {}};
    std::string nested = oci_index({other_d, host_d});
    auto top = desc(mt::kOciIndex, nested);
    top.annotations["io.containerd.image.name"] = "docker.io/library/nested:1";
    top.annotations["org.opencontainers.image.ref.name"] = "1";
    std::string archive =
        make_tar({file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"),
                  file("index.json", oci_index({top})), dir("blobs/"), dir("blobs/sha256/"),
                  blob(gz), blob(cfg), blob(man), blob(other_cfg), blob(other_man), blob(nested)});
    auto r = load_pipe(*a, archive);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->loaded_tags, std::vector<std::string>{"nested:1"});
    auto img = a->get("nested:1");
    ASSERT_TRUE(img);
    EXPECT_EQ(img->record.id, digest_of(cfg));
    ASSERT_TRUE(img->record.manifest);
    EXPECT_EQ(*img->record.manifest, digest_of(man));
    EXPECT_EQ(img->record.chain_ids,
              std::vector<Digest>{store::LayerStore::chain_id(std::nullopt, digest_of(base))});
    EXPECT_EQ(a->list()->size(), 1u);

    // Its manifest has a gzip layer, so save writes a new one with the uncompressed layer.
    auto entries = read_tar(save(*a, {"nested:1"}));
    EXPECT_EQ(find_entry(entries, "blobs/sha256/" + hex_of(man)), nullptr);
    EXPECT_EQ(find_entry(entries, "blobs/sha256/" + hex_of(base))->data, base);
}

TEST_F(SaveLoadTest, LoadsOciLayoutWithoutImageNameUntaggedAndKeepsItsManifest) {
    auto a = open("a");
    ASSERT_TRUE(a);
    std::string base = base_layer();
    std::string cfg = make_config({base});
    std::string man = oci_manifest(cfg, {desc(mt::kOciLayer, base)});
    auto d = desc(mt::kOciManifest, man);
    d.annotations["org.opencontainers.image.ref.name"] = "latest";
    std::string archive =
        make_tar({file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"),
                  file("index.json", oci_index({d})), blob(base), blob(cfg), blob(man)});
    auto r = load_bytes(*a, archive);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_TRUE(r->loaded_tags.empty());
    EXPECT_EQ(r->loaded_ids, std::vector<Digest>{digest_of(cfg)});

    // Its manifest already describes what save writes: it is kept, digest and all.
    auto entries = read_tar(save(*a, {digest_of(cfg).string()}));
    ASSERT_NE(find_entry(entries, "blobs/sha256/" + hex_of(man)), nullptr);
    auto index = oci::parse_index(find_entry(entries, "index.json")->data);
    ASSERT_TRUE(index);
    EXPECT_EQ(index->manifests[0].digest, digest_of(man));

    // A whole reference in ref.name (what skopeo writes for oci-archive:x.tar:name:tag) tags.
    auto b = open("b");
    d.annotations["org.opencontainers.image.ref.name"] = "example.com/x/y:2";
    auto r2 = load_bytes(
        *b, make_tar({file("index.json", oci_index({d})), blob(base), blob(cfg), blob(man)}));
    ASSERT_TRUE(r2) << r2.error().what();
    EXPECT_EQ(r2->loaded_tags, std::vector<std::string>{"example.com/x/y:2"});
}

// ---- malformed archives ------------------------------------------------------------------------

TEST_F(SaveLoadTest, MalformedArchivesAreRefusedAndLeaveNothing) {
    auto s = open("a");
    ASSERT_TRUE(s);
    std::string base = base_layer(), top = top_layer();
    std::string cfg = make_config({base, top});
    std::string id0 = hex_of("v1" + base), id1 = hex_of("v1" + top);
    auto docker = [&](const json& manifest, std::vector<Entry> extra = {}) {
        std::vector<Entry> es = {file(id0 + "/layer.tar", base), file(id1 + "/layer.tar", top),
                                 file("config.json", cfg), file("manifest.json", manifest.dump())};
        for (auto& e : extra) es.push_back(std::move(e));
        return make_tar(es);
    };
    auto item = [&](const std::string& config, const json& layers,
                    const json& tags = json::array({"x:1"})) {
        return json::array({{{"Config", config}, {"RepoTags", tags}, {"Layers", layers}}});
    };
    json good_layers = json::array({id0 + "/layer.tar", id1 + "/layer.tar"});
    std::string bad_top_cfg = make_config({base, "not the top layer"});

    std::string man = oci_manifest(cfg, {desc(mt::kOciLayer, base), desc(mt::kOciLayer, top)});
    std::string corrupt_top = top;
    corrupt_top[corrupt_top.size() / 2] ^= 1;
    std::string oci_corrupt =
        make_tar({file("index.json", oci_index({desc(mt::kOciManifest, man)})), blob(base),
                  file("blobs/sha256/" + hex_of(top), corrupt_top), blob(cfg), blob(man)});

    struct Case {
        std::string name;
        std::string archive;
        std::vector<std::string> want;  // substrings of the message
    };
    std::vector<Case> cases = {
        {"neither manifest.json nor index.json",
         make_tar({file("hello.txt", "hi")}),
         {"manifest.json", "index.json"}},
        {"config outside", docker(item("../evil.json", good_layers)), {"../evil.json", "outside"}},
        {"layer outside",
         docker(item("config.json", json::array({id0 + "/layer.tar", "/etc/passwd"}))),
         {"/etc/passwd", "outside"}},
        {"layer climbing out",
         docker(item("config.json", json::array({id0 + "/layer.tar", "a/../../x/layer.tar"}))),
         {"a/../../x/layer.tar"}},
        {"missing layer",
         docker(item("config.json", json::array({id0 + "/layer.tar", "nope/layer.tar"}))),
         {"nope/layer.tar", "missing"}},
        {"symlink to a host file",
         docker(item("evil.json", good_layers), {symlink("evil.json", "/etc/passwd")}),
         {"evil.json"}},
        {"diff ID mismatch",
         docker(item("bad.json", good_layers), {file("bad.json", bad_top_cfg)}),
         {id1 + "/layer.tar", "diff-id"}},
        {"layer count mismatch",
         docker(item("config.json", json::array({id0 + "/layer.tar"}))),
         {"diff_ids", "Layers"}},
        {"invalid tag",
         docker(item("config.json", good_layers, json::array({"Bad:Tag"}))),
         {"invalid tag", "Bad:Tag"}},
        {"manifest.json not JSON", make_tar({file("manifest.json", "{nope")}), {"manifest.json"}},
        {"OCI blob with wrong content", oci_corrupt, {"blobs/sha256/" + hex_of(top), "digest"}},
        {"OCI missing config",
         make_tar({file("index.json", oci_index({desc(mt::kOciManifest, man)})), blob(man)}),
         {"blobs/sha256/" + hex_of(cfg)}},
        {"not a tar", std::string(4096, 'x'), {}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        auto r = load_bytes(*s, c.archive);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, Errc::InvalidArgument) << r.error().what();
        for (const auto& w : c.want) {
            EXPECT_NE(r.error().what().find(w), std::string::npos)
                << "\"" << w << "\" not in: " << r.error().what();
        }
        expect_empty(*s, "a");
    }
}

// ---- skopeo ------------------------------------------------------------------------------------

TEST_F(SaveLoadTest, SkopeoReadsAndWritesTheSameImages) {
    if (!path_exists("/usr/bin/skopeo")) GTEST_SKIP() << "skopeo is not installed";
    auto a = open("a");
    ASSERT_TRUE(a);
    std::string base = base_layer(), top = top_layer();
    ASSERT_TRUE(load_bytes(*a, legacy_archive({{{base, top}, {"busybox:latest"}}})));
    Image orig = *a->get("busybox:latest");
    Digest id = orig.record.id;
    std::string saved = tmp_ + "/saved.tar";
    ASSERT_TRUE(atomic_write_file(saved, save(*a, {"busybox:latest"}), 0644, Durability::Volatile));

    auto skopeo = [&](const std::string& from, const std::string& to) {
        Command c;
        c.path = "/usr/bin/skopeo";
        c.args = {"skopeo", "--insecure-policy", "--tmpdir", tmp_, "copy", "-q", from, to};
        c.timeout = std::chrono::seconds(60);
        auto r = run_command(c);
        ASSERT_TRUE(r) << r.error().what();
        ASSERT_TRUE(r->status.ok()) << "skopeo copy " << from << " " << to << " failed";
    };
    std::string oci_tar = tmp_ + "/x-oci.tar", docker_tar = tmp_ + "/y-docker.tar";
    skopeo("docker-archive:" + saved, "oci-archive:" + oci_tar + ":busybox:latest");
    skopeo("oci-archive:" + oci_tar, "docker-archive:" + docker_tar + ":busybox:skopeo");
    // skopeo also reads our archive as an OCI layout.
    skopeo("oci-archive:" + saved, "oci-archive:" + tmp_ + "/z-oci.tar");

    int n = 0;
    for (const auto& [path, tag] :
         std::vector<std::pair<std::string, std::string>>{{oci_tar, "busybox:latest"},
                                                          {docker_tar, "busybox:skopeo"},
                                                          {tmp_ + "/z-oci.tar", ""}}) {
        SCOPED_TRACE(path);
        auto b = open("b" + std::to_string(n++));
        ASSERT_TRUE(b);
        auto data = read_file(path);
        ASSERT_TRUE(data);
        auto r = load_bytes(*b, *data);
        ASSERT_TRUE(r) << r.error().what();
        if (!tag.empty()) {
            // skopeo rewrites the config when it turns the docker-archive's schema 2 manifest
            // into an OCI one (containers/image convertToManifestOCI1), so the image ID changes
            // there; the layers and what the config says must not.
            EXPECT_EQ(r->loaded_tags, std::vector<std::string>{tag});
            auto img = b->get(tag);
            ASSERT_TRUE(img) << img.error().what();
            EXPECT_EQ(img->record.chain_ids, orig.record.chain_ids);
            EXPECT_EQ(img->config.rootfs, orig.config.rootfs);
            EXPECT_EQ(img->config.config, orig.config.config);
            EXPECT_EQ(img->config.created, orig.config.created);
        } else {
            // OCI layout to OCI layout: the very same image.
            EXPECT_EQ(r->loaded_ids, std::vector<Digest>{id});
        }
    }
}

}  // namespace
}  // namespace berth::image
