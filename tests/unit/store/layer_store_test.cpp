#include "berth/store/layer_store.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <sys/mman.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "berth/archive/tar.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/unique_fd.hpp"

namespace berth::store {
namespace {

namespace fs = std::filesystem;

class LayerStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-test-layers-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        tmp_ = tmpl;
        root_ = tmp_ + "/root";
    }
    void TearDown() override { ASSERT_TRUE(remove_all(tmp_)); }

    LayerStore open_store(bool durable = true) {
        LayerStoreOptions o;
        o.durable = durable;
        o.apply.preserve_ownership = ::geteuid() == 0;
        auto s = LayerStore::open_root(root_, o);
        EXPECT_TRUE(s) << s.error().what();
        return std::move(*s);
    }

    // A fresh source directory for a layer.
    std::string src_dir(const std::string& name) {
        std::string d = tmp_ + "/src-" + name;
        EXPECT_TRUE(mkdir_all(d));
        return d;
    }
    void put(const std::string& path, const std::string& data) {
        ASSERT_TRUE(mkdir_all(dirname_of(path)));
        ASSERT_TRUE(atomic_write_file(path, data, 0644, Durability::Volatile));
    }

    // Writes the tree at `dir` as a layer tar; returns its path and (out) its diff-id.
    std::string make_tar(const std::string& dir, Digest* diff_id = nullptr,
                         archive::Compression c = archive::Compression::None) {
        std::string path = dir + ".tar";
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        EXPECT_TRUE(fd.valid());
        Sha256 h;
        archive::DiffOptions o;
        o.compression = c;
        o.on_uncompressed = [&](std::string_view b) -> Result<void> {
            h.update(b);
            return {};
        };
        auto r = archive::write_layer(dir, fd.get(), o);
        EXPECT_TRUE(r) << r.error().what();
        if (diff_id) *diff_id = h.finish();
        return path;
    }

    Result<LayerInfo> apply_file(const LayerStore& s, const std::optional<Digest>& parent,
                                 const std::string& tar, std::optional<Digest> expected = {}) {
        UniqueFd fd(::open(tar.c_str(), O_RDONLY | O_CLOEXEC));
        EXPECT_TRUE(fd.valid());
        return s.apply(parent, fd.get(), expected);
    }

    std::vector<std::string> tmp_entries() {
        std::vector<std::string> out;
        for (auto& e : fs::directory_iterator(root_ + "/layers")) {
            std::string n = e.path().filename();
            if (n.rfind("tmp-", 0) == 0) out.push_back(n);
        }
        return out;
    }

    // Applies three small layers (plain, gzip, zstd); returns their chain IDs.
    std::vector<Digest> three_layers(const LayerStore& s) {
        std::string a = src_dir("a"), b = src_dir("b"), c = src_dir("c");
        put(a + "/etc/os-release", "ID=berth\n");
        put(a + "/bin/sh", "#!shell\n");
        put(b + "/etc/hostname", "box\n");
        put(c + "/app/main", "main\n");
        std::vector<Digest> chain;
        std::optional<Digest> parent;
        int i = 0;
        for (const auto& d : {a, b, c}) {
            Digest diff = digest_of("");
            auto comp = i == 1   ? archive::Compression::Gzip
                        : i == 2 ? archive::Compression::Zstd
                                 : archive::Compression::None;
            ++i;
            std::string tar = make_tar(d, &diff, comp);
            auto li = apply_file(s, parent, tar, diff);
            EXPECT_TRUE(li) << li.error().what();
            if (!li) return chain;
            EXPECT_EQ(li->diff_id, diff);
            EXPECT_EQ(li->chain_id, LayerStore::chain_id(parent, diff));
            chain.push_back(li->chain_id);
            parent = li->chain_id;
        }
        return chain;
    }

    std::string tmp_;
    std::string root_;
};

TEST_F(LayerStoreTest, ChainIdFormula) {
    auto a = *Digest::from_sha256_hex(std::string(64, 'a'));
    auto b = *Digest::from_sha256_hex(std::string(64, 'b'));
    EXPECT_EQ(LayerStore::chain_id(std::nullopt, a), a);
    // printf 'sha256:aaa... sha256:bbb...' | sha256sum
    EXPECT_EQ(LayerStore::chain_id(a, b).string(),
              "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c");
}

TEST_F(LayerStoreTest, AppliesThreeLayerChain) {
    auto s = open_store();
    auto chain = three_layers(s);
    ASSERT_EQ(chain.size(), 3u);
    EXPECT_EQ(*read_file(s.diff_path(chain[0]) + "/etc/os-release"), "ID=berth\n");
    EXPECT_EQ(*read_file(s.diff_path(chain[1]) + "/etc/hostname"), "box\n");
    EXPECT_FALSE(path_exists(s.diff_path(chain[1]) + "/bin/sh"));  // diffs are not flattened
    auto top = s.info(chain[2]);
    ASSERT_TRUE(top) << top.error().what();
    ASSERT_TRUE(top->parent);
    EXPECT_EQ(*top->parent, chain[1]);
    EXPECT_EQ(top->size, 5u);
    EXPECT_GT(top->created, 0);
    auto base = s.info(chain[0]);
    ASSERT_TRUE(base);
    EXPECT_FALSE(base->parent);
    EXPECT_EQ(base->chain_id, base->diff_id);
    EXPECT_EQ(base->size, 9u + 8u);
    auto meta = read_file(root_ + "/layers/" + chain[2].hex() + "/meta.json");
    ASSERT_TRUE(meta);
    EXPECT_NE(meta->find(chain[1].string()), std::string::npos);
    auto all = s.list();
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 3u);
    EXPECT_TRUE(tmp_entries().empty());
    auto rep = s.check(false);
    ASSERT_TRUE(rep) << rep.error().what();
    EXPECT_TRUE(rep->clean());
}

TEST_F(LayerStoreTest, SameLayerIsUnpackedOnce) {
    auto s = open_store();
    std::string a = src_dir("a");
    put(a + "/f", "data");
    Digest diff = digest_of("");
    std::string tar = make_tar(a, &diff);
    auto first = apply_file(s, std::nullopt, tar);
    ASSERT_TRUE(first) << first.error().what();
    struct stat before;
    ASSERT_EQ(::stat(s.diff_path(first->chain_id).c_str(), &before), 0);
    struct stat fbefore;
    ASSERT_EQ(::stat((s.diff_path(first->chain_id) + "/f").c_str(), &fbefore), 0);

    // The fast path finds it without reading anything.
    auto hit = s.lookup(std::nullopt, diff);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->chain_id, first->chain_id);
    auto miss = s.lookup(first->chain_id, diff);
    ASSERT_FALSE(miss);
    EXPECT_EQ(miss.error().code, Errc::NotFound);

    // Applying it again keeps the existing tree (same inodes) and leaves no tmp behind.
    auto again = apply_file(s, std::nullopt, tar);
    ASSERT_TRUE(again) << again.error().what();
    EXPECT_EQ(again->chain_id, first->chain_id);
    EXPECT_EQ(again->created, first->created);
    struct stat after, fafter;
    ASSERT_EQ(::stat(s.diff_path(first->chain_id).c_str(), &after), 0);
    ASSERT_EQ(::stat((s.diff_path(first->chain_id) + "/f").c_str(), &fafter), 0);
    EXPECT_EQ(before.st_ino, after.st_ino);
    EXPECT_EQ(fbefore.st_ino, fafter.st_ino);
    EXPECT_TRUE(tmp_entries().empty());
    EXPECT_EQ(s.list()->size(), 1u);
}

TEST_F(LayerStoreTest, DiffIdMismatchIsRefusedWithoutLeftovers) {
    auto s = open_store();
    std::string a = src_dir("a");
    put(a + "/f", "data");
    Digest diff = digest_of("");
    std::string tar = make_tar(a, &diff, archive::Compression::Gzip);
    auto wrong = digest_of("something else");
    auto r = apply_file(s, std::nullopt, tar, wrong);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_NE(r.error().what().find(diff.string()), std::string::npos) << r.error().what();
    EXPECT_TRUE(tmp_entries().empty());
    EXPECT_TRUE(s.list()->empty());
    EXPECT_FALSE(path_exists(root_ + "/layers/" + diff.hex()));
}

TEST_F(LayerStoreTest, GarbageAndMissingParentAreRefused) {
    auto s = open_store();
    std::string junk = tmp_ + "/junk";
    put(junk, std::string(1500, 'x'));
    auto r = apply_file(s, std::nullopt, junk);
    ASSERT_FALSE(r);
    EXPECT_TRUE(tmp_entries().empty());
    std::string a = src_dir("a");
    put(a + "/f", "data");
    auto r2 = apply_file(s, digest_of("no such parent"), make_tar(a));
    ASSERT_FALSE(r2);
    EXPECT_EQ(r2.error().code, Errc::NotFound);
}

TEST_F(LayerStoreTest, EmptyInputIsEmptyLayer) {
    auto s = open_store();
    std::string empty = tmp_ + "/empty";
    put(empty, "");
    auto r = apply_file(s, std::nullopt, empty, digest_of(""));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->size, 0u);
}

TEST_F(LayerStoreTest, RefCountsAndRemoveRules) {
    auto s = open_store();
    auto chain = three_layers(s);
    ASSERT_EQ(chain.size(), 3u);
    EXPECT_EQ(*s.acquire(chain[2]), 1u);
    EXPECT_EQ(*s.acquire(chain[2]), 2u);
    {
        // Persistent: a new handle on the same root sees the count.
        auto s2 = open_store();
        EXPECT_EQ(s2.info(chain[2])->refs, 2u);
    }
    auto busy = s.remove(chain[2]);
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error().code, Errc::Conflict);
    auto parent = s.remove(chain[1]);  // unreferenced, but chain[2] depends on it
    ASSERT_FALSE(parent);
    EXPECT_EQ(parent.error().code, Errc::Conflict);

    EXPECT_EQ(*s.release(chain[2]), 1u);
    EXPECT_EQ(*s.release(chain[2]), 0u);
    auto under = s.release(chain[2]);
    ASSERT_FALSE(under);
    EXPECT_EQ(under.error().code, Errc::Conflict);

    ASSERT_TRUE(s.remove(chain[2]));
    EXPECT_FALSE(s.exists(chain[2]));
    ASSERT_TRUE(s.remove(chain[1]));
    ASSERT_TRUE(s.remove(chain[0]));
    auto gone = s.remove(chain[0]);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, Errc::NotFound);
    EXPECT_FALSE(s.acquire(chain[0]));
    EXPECT_TRUE(s.list()->empty());
    EXPECT_TRUE(tmp_entries().empty());
}

TEST_F(LayerStoreTest, RootfsMountOneAndThreeLayers) {
    auto s = open_store();
    auto chain = three_layers(s);
    ASSERT_EQ(chain.size(), 3u);

    auto one = s.rootfs_mount({chain[0]});
    ASSERT_TRUE(one) << one.error().what();
    EXPECT_EQ(one->type, "bind");
    EXPECT_EQ(one->source, s.diff_path(chain[0]));
    EXPECT_EQ(one->options, (std::vector<std::string>{"rbind", "ro"}));

    auto three = s.rootfs_mount(chain, "/u", "/w");
    ASSERT_TRUE(three) << three.error().what();
    EXPECT_EQ(three->type, "overlay");
    EXPECT_EQ(three->source, "overlay");
    EXPECT_TRUE(three->chdir.empty());
    std::string lower = "lowerdir=" + s.diff_path(chain[2]) + ":" + s.diff_path(chain[1]) + ":" +
                        s.diff_path(chain[0]);
    // A container's view has the image's init layer on top.
    std::string init = root_ + "/layers/" + chain[2].hex() + "/init";
    std::string with_init = "lowerdir=" + init + ":" + lower.substr(9);
    EXPECT_EQ(three->options, (std::vector<std::string>{with_init, "upperdir=/u", "workdir=/w"}));

    auto ro = s.rootfs_mount(chain);  // an image's own view: no init layer
    ASSERT_TRUE(ro);
    EXPECT_EQ(ro->options, (std::vector<std::string>{lower}));

    EXPECT_FALSE(s.rootfs_mount({}));
    EXPECT_FALSE(s.rootfs_mount(chain, "/u", ""));
    auto missing = s.rootfs_mount({chain[0], digest_of("nope")});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::NotFound);
}

// n layers, each an empty tar on the previous one (distinct chains, one diff-id).
std::vector<Digest> stack_of(const LayerStore& s, const std::string& empty_tar, size_t n) {
    std::vector<Digest> chain;
    std::optional<Digest> parent;
    for (size_t i = 0; i < n; ++i) {
        UniqueFd fd(::open(empty_tar.c_str(), O_RDONLY | O_CLOEXEC));
        auto li = s.apply(parent, fd.get(), std::nullopt);
        EXPECT_TRUE(li) << li.error().what();
        if (!li) break;
        chain.push_back(li->chain_id);
        parent = li->chain_id;
    }
    return chain;
}

size_t joined_size(const std::vector<std::string>& opts) {
    size_t n = 0;
    for (const auto& o : opts) n += o.size() + 1;
    return n;
}

TEST_F(LayerStoreTest, RootfsMountLongChains) {
    auto s = open_store(/*durable=*/false);
    std::string e = src_dir("e");
    std::string tar = make_tar(e);
    auto chain = stack_of(s, tar, 200);
    ASSERT_EQ(chain.size(), 200u);

    // 40 layers: absolute paths overflow a page, relative names fit.
    std::vector<Digest> forty(chain.begin(), chain.begin() + 40);
    auto rel = s.rootfs_mount(forty, "/upper", "/work");
    ASSERT_TRUE(rel) << rel.error().what();
    EXPECT_EQ(rel->chdir, s.layers_dir());
    ASSERT_EQ(rel->options.size(), 3u);
    EXPECT_EQ(rel->options[0].rfind("lowerdir=" + forty.back().hex() + "/init:" +
                                        forty.back().hex() + "/diff:", 0),
              0u);
    EXPECT_LE(joined_size(rel->options), 4096u);
    for (const auto& d : forty) {
        EXPECT_TRUE(path_exists(rel->chdir + "/" + d.hex() + "/diff"));
    }

    // 200 layers: only the lowerdir+ form can carry them.
    auto all = s.rootfs_mount(chain, "/upper", "/work");
    ASSERT_TRUE(all) << all.error().what();
    EXPECT_EQ(all->type, "overlay");
    EXPECT_TRUE(all->chdir.empty());
    ASSERT_EQ(all->options.size(), 203u);
    EXPECT_EQ(all->options[0], "lowerdir+=" + root_ + "/layers/" + chain[199].hex() + "/init");
    EXPECT_EQ(all->options[1], "lowerdir+=" + s.diff_path(chain[199]));
    EXPECT_EQ(all->options[200], "lowerdir+=" + s.diff_path(chain[0]));
    EXPECT_EQ(all->options[201], "upperdir=/upper");
    EXPECT_EQ(all->options[202], "workdir=/work");
    for (const auto& o : all->options) EXPECT_LT(o.size(), 4096u);
}

TEST_F(LayerStoreTest, InitLayerHasMobysMountPointsAndKeepsTheImagesDirectories) {
    auto s = open_store();
    // An image whose /etc is 0750 and whose /proc is 0555.
    std::string src = src_dir("img");
    ASSERT_TRUE(mkdir_all(src + "/etc", 0750));
    ASSERT_EQ(::chmod((src + "/etc").c_str(), 0750), 0);
    ASSERT_TRUE(mkdir_all(src + "/proc", 0555));
    ASSERT_EQ(::chmod((src + "/proc").c_str(), 0555), 0);
    put(src + "/etc/hosts", "127.0.0.1 image\n");
    UniqueFd fd(::open(make_tar(src).c_str(), O_RDONLY | O_CLOEXEC));
    auto li = s.apply(std::nullopt, fd.get(), std::nullopt);
    ASSERT_TRUE(li) << li.error().what();

    auto init = s.init_layer({li->chain_id});
    ASSERT_TRUE(init) << init.error().what();
    EXPECT_EQ(*init, root_ + "/layers/" + li->chain_id.hex() + "/init");
    struct stat st {};
    for (const char* f : {"/.dockerenv", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev/console"}) {
        ASSERT_EQ(::lstat((*init + f).c_str(), &st), 0) << f;
        EXPECT_TRUE(S_ISREG(st.st_mode)) << f;
        EXPECT_EQ(st.st_size, 0) << f << ": empty, it is only a mount point";
    }
    for (const char* d : {"/dev/pts", "/dev/shm", "/sys"}) {
        ASSERT_EQ(::lstat((*init + d).c_str(), &st), 0) << d;
        EXPECT_TRUE(S_ISDIR(st.st_mode)) << d;
    }
    ASSERT_EQ(::lstat((*init + "/etc").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0750u) << "the image's /etc mode";
    ASSERT_EQ(::lstat((*init + "/proc").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0555u);
    char target[64] = {};
    ASSERT_GT(::readlink((*init + "/etc/mtab").c_str(), target, sizeof target - 1), 0);
    EXPECT_STREQ(target, "/proc/mounts");
    // Made once: the second call finds it; it goes with the layer.
    auto again = s.init_layer({li->chain_id});
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *init);
    auto removed = s.remove(li->chain_id);
    ASSERT_TRUE(removed) << removed.error().what();
    EXPECT_FALSE(path_exists(*init));
}

TEST_F(LayerStoreTest, CheckFindsAndRepairsDamage) {
    auto s = open_store();
    auto chain = three_layers(s);
    ASSERT_EQ(chain.size(), 3u);
    std::string layers = root_ + "/layers";
    // A layer directory without meta.json (as if half-copied) is absent.
    std::string bogus = layers + "/" + std::string(64, 'e');
    ASSERT_TRUE(mkdir_all(bogus + "/diff"));
    EXPECT_FALSE(s.exists(*Digest::from_sha256_hex(std::string(64, 'e'))));
    // A crashed apply's leftover and a stray file.
    ASSERT_TRUE(mkdir_all(layers + "/tmp-deadbeef/diff"));
    put(layers + "/junk", "x");
    // A modified layer.
    put(s.diff_path(chain[1]) + "/extra", "12345");

    auto rep = s.check(false);
    ASSERT_TRUE(rep) << rep.error().what();
    EXPECT_EQ(rep->invalid, std::vector<std::string>{std::string(64, 'e')});
    EXPECT_EQ(rep->stale_tmps, std::vector<std::string>{"tmp-deadbeef"});
    EXPECT_EQ(rep->stray, std::vector<std::string>{"junk"});
    EXPECT_EQ(rep->size_mismatch, std::vector<std::string>{chain[1].hex()});
    EXPECT_TRUE(path_exists(bogus));

    auto fixed = s.check(true);
    ASSERT_TRUE(fixed);
    EXPECT_TRUE(fixed->repaired);
    EXPECT_FALSE(path_exists(bogus));
    EXPECT_FALSE(path_exists(layers + "/tmp-deadbeef"));
    EXPECT_FALSE(path_exists(layers + "/junk"));
    EXPECT_TRUE(s.exists(chain[1]));  // valid layers are never removed
    EXPECT_EQ(s.list()->size(), 3u);

    // open_root() also drops leftovers whose owner is gone.
    ASSERT_TRUE(mkdir_all(layers + "/tmp-cafe"));
    (void)open_store();
    EXPECT_FALSE(path_exists(layers + "/tmp-cafe"));
}

// --- as root: mount what rootfs_mount() describes in a private mount namespace ---------------

std::string join_opts(const std::vector<std::string>& o) {
    std::string s;
    for (const auto& x : o) s += (s.empty() ? "" : ",") + x;
    return s;
}

// In a child with its own mount namespace: mounts `m` on `target` and runs `probe` on it. The
// mount disappears with the namespace when the child exits. Returns the probe's exit code.
template <class Probe>
int mount_and_probe(const MountSpec& m, const std::string& target, Probe probe) {
    pid_t pid = ::fork();
    if (pid == 0) {
        if (::unshare(CLONE_NEWNS) < 0) _exit(100);
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) _exit(101);
        if (!m.chdir.empty() && ::chdir(m.chdir.c_str()) < 0) _exit(102);
        bool append_form = !m.options.empty() && m.options[0].rfind("lowerdir+=", 0) == 0;
        if (append_form) {
            // The new mount API, one fsconfig() per option, as the mounter must do.
            int fsfd = ::fsopen(m.type.c_str(), FSOPEN_CLOEXEC);
            if (fsfd < 0) _exit(104);
            for (const auto& o : m.options) {
                auto eq = o.find('=');
                std::string key = o.substr(0, eq), val = o.substr(eq + 1);
                if (::fsconfig(fsfd, FSCONFIG_SET_STRING, key.c_str(), val.c_str(), 0) < 0) {
                    _exit(errno == EINVAL && key == "lowerdir+" ? 77 : 105);
                }
            }
            if (::fsconfig(fsfd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) _exit(106);
            int mfd = ::fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
            if (mfd < 0) _exit(107);
            if (::move_mount(mfd, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0) {
                _exit(108);
            }
        } else {
            std::string data = join_opts(m.options);
            if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(), 0, data.c_str()) < 0) {
                _exit(103);
            }
        }
        _exit(probe(target));
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 200;
}

TEST_F(LayerStoreTest, OverlayMountHonoursWhiteoutsAsRoot) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mknod whiteouts, mount)";
    auto s = open_store();
    // Layer 1: two files and a directory with content.
    std::string l1 = src_dir("l1");
    put(l1 + "/keep", "k");
    put(l1 + "/gone", "g");
    put(l1 + "/opq/old", "o");
    // Layer 2 in overlay form (as an upper dir looks): a whiteout and an opaque directory.
    std::string l2 = src_dir("l2");
    ASSERT_EQ(::mknod((l2 + "/gone").c_str(), S_IFCHR | 0000, makedev(0, 0)), 0);
    ASSERT_TRUE(mkdir_all(l2 + "/opq"));
    ASSERT_EQ(::setxattr((l2 + "/opq").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
    put(l2 + "/opq/new", "n");

    auto b = s.apply(std::nullopt, UniqueFd(::open(make_tar(l1).c_str(), O_RDONLY)).get(), {});
    ASSERT_TRUE(b) << b.error().what();
    auto t = s.apply(b->chain_id, UniqueFd(::open(make_tar(l2).c_str(), O_RDONLY)).get(), {});
    ASSERT_TRUE(t) << t.error().what();
    // The layer's diff dir holds the overlay form again.
    struct stat wst;
    ASSERT_EQ(::lstat((s.diff_path(t->chain_id) + "/gone").c_str(), &wst), 0);
    EXPECT_TRUE(S_ISCHR(wst.st_mode));
    EXPECT_EQ(wst.st_rdev, makedev(0, 0));
    char val[4] = {};
    EXPECT_EQ(::getxattr((s.diff_path(t->chain_id) + "/opq").c_str(), "trusted.overlay.opaque", val,
                         sizeof val),
              1);
    EXPECT_EQ(val[0], 'y');

    std::string target = tmp_ + "/mnt", upper = tmp_ + "/upper", work = tmp_ + "/work";
    ASSERT_TRUE(mkdir_all(target));
    ASSERT_TRUE(mkdir_all(upper));
    ASSERT_TRUE(mkdir_all(work));
    auto probe = [](const std::string& root) {
        if (!path_exists(root + "/keep")) return 1;
        if (path_exists(root + "/gone")) return 2;
        if (path_exists(root + "/opq/old")) return 3;
        if (!path_exists(root + "/opq/new")) return 4;
        return 0;
    };
    auto rw = s.rootfs_mount({b->chain_id, t->chain_id}, upper, work);
    ASSERT_TRUE(rw) << rw.error().what();
    EXPECT_EQ(mount_and_probe(*rw, target, probe), 0);
    auto ro = s.rootfs_mount({b->chain_id, t->chain_id});
    ASSERT_TRUE(ro);
    EXPECT_EQ(mount_and_probe(*ro, target, probe), 0);
    // Nothing leaked into our namespace.
    EXPECT_FALSE(path_exists(target + "/keep"));
}

TEST_F(LayerStoreTest, RelativeFormMountsAsRoot) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount)";
    auto s = open_store(/*durable=*/false);
    std::string base = src_dir("base");
    put(base + "/hello", "hi");
    auto b = s.apply(std::nullopt, UniqueFd(::open(make_tar(base).c_str(), O_RDONLY)).get(), {});
    ASSERT_TRUE(b) << b.error().what();
    std::string e = src_dir("e");
    std::vector<Digest> chain{b->chain_id};
    std::optional<Digest> parent = b->chain_id;
    std::string etar = make_tar(e);
    for (int i = 0; i < 44; ++i) {
        auto li = s.apply(parent, UniqueFd(::open(etar.c_str(), O_RDONLY)).get(), {});
        ASSERT_TRUE(li) << li.error().what();
        chain.push_back(li->chain_id);
        parent = li->chain_id;
    }
    std::string target = tmp_ + "/mnt", upper = tmp_ + "/upper", work = tmp_ + "/work";
    ASSERT_TRUE(mkdir_all(target));
    ASSERT_TRUE(mkdir_all(upper));
    ASSERT_TRUE(mkdir_all(work));
    auto m = s.rootfs_mount(chain, upper, work);
    ASSERT_TRUE(m) << m.error().what();
    ASSERT_FALSE(m->chdir.empty());  // the relative form
    EXPECT_EQ(mount_and_probe(*m, target,
                              [](const std::string& r) {
                                  return read_file(r + "/hello").value_or("") == "hi" ? 0 : 1;
                              }),
              0);
}

TEST_F(LayerStoreTest, AppendFormMountsAsRoot) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount)";
    auto s = open_store(/*durable=*/false);
    std::string base = src_dir("base");
    put(base + "/hello", "hi");
    auto b = s.apply(std::nullopt, UniqueFd(::open(make_tar(base).c_str(), O_RDONLY)).get(), {});
    ASSERT_TRUE(b) << b.error().what();
    std::string top = src_dir("top");
    put(top + "/top", "t");
    std::string etar = make_tar(src_dir("e"));
    std::vector<Digest> chain{b->chain_id};
    std::optional<Digest> parent = b->chain_id;
    for (int i = 0; i < 199; ++i) {
        std::string tar = i == 198 ? make_tar(top) : etar;
        auto li = s.apply(parent, UniqueFd(::open(tar.c_str(), O_RDONLY)).get(), {});
        ASSERT_TRUE(li) << li.error().what();
        chain.push_back(li->chain_id);
        parent = li->chain_id;
    }
    std::string target = tmp_ + "/mnt", upper = tmp_ + "/upper", work = tmp_ + "/work";
    ASSERT_TRUE(mkdir_all(target));
    ASSERT_TRUE(mkdir_all(upper));
    ASSERT_TRUE(mkdir_all(work));
    auto m = s.rootfs_mount(chain, upper, work);
    ASSERT_TRUE(m) << m.error().what();
    ASSERT_EQ(m->options.front().rfind("lowerdir+=", 0), 0u);
    int rc = mount_and_probe(*m, target, [](const std::string& r) {
        if (read_file(r + "/hello").value_or("") != "hi") return 1;
        return read_file(r + "/top").value_or("") == "t" ? 0 : 2;
    });
    if (rc == 77) GTEST_SKIP() << "kernel has no lowerdir+ (Linux < 6.8)";
    EXPECT_EQ(rc, 0);
}

// --- write_tar: the exact layer tar back from diff/ and tar-split --------------------------------

std::string fd_contents(int fd) {
    std::string out;
    char buf[65536];
    ::lseek(fd, 0, SEEK_SET);
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

int run_sh(const std::string& cmd) {
    int r = std::system(cmd.c_str());
    return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

// write_tar of `chain` into memory.
Result<Digest> write_tar_to(const LayerStore& s, const Digest& chain, std::string* out) {
    UniqueFd fd(::memfd_create("berth-test-tar", MFD_CLOEXEC));
    EXPECT_TRUE(fd.valid());
    auto r = s.write_tar(chain, fd.get());
    *out = fd_contents(fd.get());
    return r;
}

TEST_F(LayerStoreTest, WriteTarGivesBackTheAppliedTar) {
    auto s = open_store(false);
    auto chain = three_layers(s);  // plain, gzip and zstd inputs
    ASSERT_EQ(chain.size(), 3u);
    for (const auto& c : chain) {
        auto li = s.info(c);
        ASSERT_TRUE(li) << li.error().what();
        EXPECT_TRUE(path_exists(root_ + "/layers/" + c.hex() + "/tar-split"));
        std::string tar;
        auto d = write_tar_to(s, c, &tar);
        ASSERT_TRUE(d) << d.error().what();
        EXPECT_EQ(*d, li->diff_id);
        EXPECT_EQ(digest_of(tar), li->diff_id);
        EXPECT_EQ(tar.size(), li->tar_size);
        EXPECT_GT(li->tar_size, 0u);
    }
    // The first layer was a plain tar: byte for byte the same file.
    std::string tar;
    ASSERT_TRUE(write_tar_to(s, chain[0], &tar));
    EXPECT_EQ(tar, *read_file(tmp_ + "/src-a.tar"));
    // tar_size survives a reopen (meta.json).
    auto s2 = open_store(false);
    EXPECT_EQ(s2.info(chain[0])->tar_size, tar.size());
}

TEST_F(LayerStoreTest, WriteTarOfGnuTarGzipLayer) {
    auto s = open_store(false);
    std::string src = src_dir("gnu");
    std::string deep = src;
    for (int i = 0; i < 3; ++i) deep += "/a-directory-name-of-some-length-" + std::to_string(i);
    put(deep + "/" + std::string(90, 'f'), "deep file\n");
    put(src + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    ASSERT_EQ(::link((src + "/etc/passwd").c_str(), (src + "/etc/passwd-").c_str()), 0);
    ASSERT_EQ(::symlink("passwd", (src + "/etc/pw").c_str()), 0);
    put(src + "/big", std::string(5 << 20, 'b'));
    {
        UniqueFd f(::open((src + "/sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        ASSERT_EQ(::pwrite(f.get(), "x", 1, 3 << 20), 1);
    }
    for (const char* fmt : {"gnu", "pax"}) {
        std::string tgz = tmp_ + "/gnu-" + fmt + ".tgz";
        ASSERT_EQ(run_sh("tar -C " + src + " --format=" + fmt + " -S -czf " + tgz +
                         " . && gzip -dc " + tgz + " > " + tmp_ + "/plain.tar"),
                  0);
        std::string plain = *read_file(tmp_ + "/plain.tar");
        auto li = apply_file(s, std::nullopt, tgz, digest_of(plain));
        ASSERT_TRUE(li) << li.error().what();
        EXPECT_EQ(li->tar_size, plain.size());
        std::string tar;
        auto d = write_tar_to(s, li->chain_id, &tar);
        ASSERT_TRUE(d) << d.error().what();
        EXPECT_EQ(*d, li->diff_id);
        EXPECT_TRUE(tar == plain) << fmt;
        // The split holds headers, not the 5 MiB of data.
        struct stat st {};
        ASSERT_EQ(::stat((root_ + "/layers/" + li->chain_id.hex() + "/tar-split").c_str(), &st), 0);
        EXPECT_LT(st.st_size, 16 * 1024);
        ASSERT_TRUE(s.remove(li->chain_id));
    }
}

// tar --append writes a name twice; the later copy is what diff/ holds.
TEST_F(LayerStoreTest, WriteTarOfTarWithRepeatedNames) {
    auto s = open_store(false);
    std::string src = src_dir("dup");
    put(src + "/f", "first version of f\n");
    put(src + "/g", "g\n");
    std::string tar_path = tmp_ + "/dup.tar";
    ASSERT_EQ(run_sh("tar -C " + src + " -cf " + tar_path + " f g"), 0);
    put(src + "/f", "the second, longer, version of f\n");
    ASSERT_EQ(run_sh("tar -C " + src + " -rf " + tar_path + " f"), 0);
    std::string plain = *read_file(tar_path);

    // From a file: read a second time to keep the overwritten payload inline.
    auto li = apply_file(s, std::nullopt, tar_path);
    ASSERT_TRUE(li) << li.error().what();
    EXPECT_EQ(*read_file(s.diff_path(li->chain_id) + "/f"), "the second, longer, version of f\n");
    std::string tar;
    auto d = write_tar_to(s, li->chain_id, &tar);
    ASSERT_TRUE(d) << d.error().what();
    EXPECT_TRUE(tar == plain);
    ASSERT_TRUE(s.remove(li->chain_id));

    // From a pipe there is no second read: no split is kept, and write_tar says it cannot
    // reproduce the tar rather than writing a different one silently.
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    UniqueFd rd(p[0]), wr(p[1]);
    std::thread writer([&] {
        const char* q = plain.data();
        size_t n = plain.size();
        while (n > 0) {
            ssize_t w = ::write(wr.get(), q, n);
            if (w <= 0) break;
            q += w;
            n -= static_cast<size_t>(w);
        }
        wr.reset();
    });
    auto li2 = s.apply(std::nullopt, rd.get());
    writer.join();
    ASSERT_TRUE(li2) << li2.error().what();
    EXPECT_FALSE(path_exists(root_ + "/layers/" + li2->chain_id.hex() + "/tar-split"));
    auto d2 = write_tar_to(s, li2->chain_id, &tar);
    ASSERT_FALSE(d2);
    EXPECT_EQ(d2.error().code, Errc::Internal);
    EXPECT_NE(d2.error().msg.find("reproduced tar has digest"), std::string::npos)
        << d2.error().what();
}

TEST_F(LayerStoreTest, WriteTarRefusesAChangedLayer) {
    auto s = open_store(false);
    std::string a = src_dir("a");
    put(a + "/etc/config", "key=value\n");
    Digest diff = digest_of("");
    std::string tar_path = make_tar(a, &diff);
    auto li = apply_file(s, std::nullopt, tar_path, diff);
    ASSERT_TRUE(li) << li.error().what();
    std::string target = s.diff_path(li->chain_id) + "/etc/config";
    ASSERT_TRUE(atomic_write_file(target, "key=other value\n", 0644, Durability::Volatile));
    std::string tar;
    auto d = write_tar_to(s, li->chain_id, &tar);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, Errc::Internal);
    EXPECT_NE(d.error().msg.find("etc/config"), std::string::npos) << d.error().what();
    EXPECT_NE(d.error().msg.find(li->chain_id.string()), std::string::npos) << d.error().what();

    auto missing = s.write_tar(digest_of("no such layer"), 1);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::NotFound);
}

TEST_F(LayerStoreTest, WriteTarWithoutSplitFallsBackToWriteLayer) {
    auto s = open_store(false);
    std::string a = src_dir("a");
    put(a + "/bin/tool", "#!/bin/sh\necho hi\n");
    put(a + "/etc/empty", "");
    Digest diff = digest_of("");
    std::string tar_path = make_tar(a, &diff);
    auto li = apply_file(s, std::nullopt, tar_path, diff);
    ASSERT_TRUE(li) << li.error().what();
    std::string ldir = root_ + "/layers/" + li->chain_id.hex();
    ASSERT_EQ(::unlink((ldir + "/tar-split").c_str()), 0);
    // A meta.json from before tar_size existed.
    std::string meta = *read_file(ldir + "/meta.json");
    size_t at = meta.find(",\n  \"tar_size\"");  // the last key: its comma goes too
    ASSERT_NE(at, std::string::npos);
    meta.erase(at, meta.find('\n', at + 2) - at);
    ASSERT_TRUE(atomic_write_file(ldir + "/meta.json", meta, 0644, Durability::Volatile));
    auto old = s.info(li->chain_id);
    ASSERT_TRUE(old) << old.error().what() << "\n" << meta;
    EXPECT_EQ(old->tar_size, 0u);

    std::string tar;
    auto d = write_tar_to(s, li->chain_id, &tar);
    ASSERT_TRUE(d) << d.error().what();
    EXPECT_EQ(*d, diff);
    EXPECT_EQ(tar, *read_file(tar_path));

    // A GNU tar layer without its split cannot be re-created: refused, not silently different.
    std::string g = src_dir("g");
    put(g + "/f", "gnu\n");
    ASSERT_EQ(run_sh("tar -C " + g + " --format=gnu -cf " + tmp_ + "/g.tar ."), 0);
    auto gl = apply_file(s, std::nullopt, tmp_ + "/g.tar");
    ASSERT_TRUE(gl) << gl.error().what();
    ASSERT_EQ(::unlink((root_ + "/layers/" + gl->chain_id.hex() + "/tar-split").c_str()), 0);
    auto gd = write_tar_to(s, gl->chain_id, &tar);
    ASSERT_FALSE(gd);
    EXPECT_EQ(gd.error().code, Errc::Internal);
    EXPECT_NE(gd.error().msg.find("expected diff ID " + gl->diff_id.string()), std::string::npos)
        << gd.error().what();
}

}  // namespace
}  // namespace berth::store
