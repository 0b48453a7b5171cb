// Mounts seen from inside: the rootfs, /proc, /sys, /dev, masked and read-only paths, tmpfs and
// bind mounts with options, and mount propagation.

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "runtime_fixture.hpp"

namespace berth::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class MountTest : public RuntimeTest {
protected:
    std::vector<MountInfo> container_mounts() {
        auto r = run_probe({"mounts"});
        EXPECT_TRUE(r.ok()) << r.describe();
        return parse_mountinfo(r.out);
    }
    std::map<std::string, std::string> probe_kv(const std::vector<std::string>& args) {
        auto r = run_probe(args);
        parse_result_ = r;
        return parse_kv(r.out);
    }
    RunResult parse_result_;
};

std::string describe(const std::optional<MountInfo>& m) {
    if (!m) return "(no mount)";
    return m->mount_point + " " + m->fstype + " " + m->options + " - " + m->super_options + " [" +
           m->optional + "]";
}

TEST_F(MountTest, RootIsTheBundleRootfs) {
    auto mounts = container_mounts();
    auto root = find_mount(mounts, "/");
    ASSERT_TRUE(root.has_value());
    // The root mount shows the path of the rootfs within its filesystem.
    std::string suffix = "/bundle/rootfs";
    EXPECT_TRUE(root->root.size() >= suffix.size() &&
                root->root.compare(root->root.size() - suffix.size(), suffix.size(), suffix) == 0)
        << describe(root) << " root=" << root->root;
}

TEST_F(MountTest, ReadonlyRootfs) {
    spec_["root"]["readonly"] = true;
    auto mounts = container_mounts();
    auto root = find_mount(mounts, "/");
    ASSERT_TRUE(root.has_value());
    EXPECT_TRUE(root->has_option("ro")) << describe(root);
    auto kv = probe_kv({"write", "/written", "x"});
    EXPECT_EQ(kv["error"], "EROFS") << parse_result_.describe();
    EXPECT_FALSE(exists(rootfs_ + "/written"));
}

TEST_F(MountTest, WritableRootfs) {
    spec_["root"]["readonly"] = false;
    auto kv = probe_kv({"write", "/written", "from-inside"});
    EXPECT_EQ(kv["write"], "ok") << parse_result_.describe();
    EXPECT_EQ(read_text(rootfs_ + "/written").value_or(""), "from-inside");
}

TEST_F(MountTest, ProcSysDevAreMounted) {
    auto mounts = container_mounts();
    auto proc = find_mount(mounts, "/proc");
    ASSERT_TRUE(proc.has_value());
    EXPECT_EQ(proc->fstype, "proc");
    auto sys = find_mount(mounts, "/sys");
    ASSERT_TRUE(sys.has_value());
    EXPECT_EQ(sys->fstype, "sysfs");
    EXPECT_TRUE(sys->has_option("ro")) << describe(sys);
    EXPECT_TRUE(sys->has_option("nosuid") && sys->has_option("nodev") && sys->has_option("noexec"))
        << describe(sys);
    auto dev = find_mount(mounts, "/dev");
    ASSERT_TRUE(dev.has_value());
    EXPECT_EQ(dev->fstype, "tmpfs");
    EXPECT_TRUE(dev->has_option("nosuid")) << describe(dev);
    EXPECT_TRUE(dev->has_super_option("mode=755")) << describe(dev);
    auto pts = find_mount(mounts, "/dev/pts");
    ASSERT_TRUE(pts.has_value());
    EXPECT_EQ(pts->fstype, "devpts");
    EXPECT_TRUE(pts->has_super_option("ptmxmode=666")) << describe(pts);
    EXPECT_TRUE(pts->has_super_option("mode=620")) << describe(pts);
    EXPECT_TRUE(pts->has_super_option("gid=5")) << describe(pts);
    auto shm = find_mount(mounts, "/dev/shm");
    ASSERT_TRUE(shm.has_value());
    EXPECT_EQ(shm->fstype, "tmpfs");
    EXPECT_TRUE(shm->has_option("nosuid") && shm->has_option("nodev") && shm->has_option("noexec"))
        << describe(shm);
    EXPECT_TRUE(shm->has_super_option("size=65536k")) << describe(shm);
    auto mq = find_mount(mounts, "/dev/mqueue");
    ASSERT_TRUE(mq.has_value());
    EXPECT_EQ(mq->fstype, "mqueue");
    EXPECT_TRUE(find_mount(mounts, "/sys/fs/cgroup").has_value());
    // The spec's cgroup mount is "ro", nosuid, noexec, nodev: so is every mount of it (on a v1
    // host the tmpfs and a bind of each hierarchy's directory).
    int cgroup_mounts = 0;
    for (const auto& m : mounts) {
        if (m.mount_point != "/sys/fs/cgroup" && m.mount_point.rfind("/sys/fs/cgroup/", 0) != 0) continue;
        ++cgroup_mounts;
        EXPECT_TRUE(m.has_option("ro") && m.has_option("nosuid") && m.has_option("nodev") &&
                    m.has_option("noexec"))
            << describe(m);
    }
    EXPECT_GE(cgroup_mounts, 1);
}

TEST_F(MountTest, ProcIsTheContainersPidNamespace) {
    auto kv = probe_kv({"stat", "/proc/1/exe"});
    EXPECT_EQ(kv["target"], "/probe") << parse_result_.describe();
}

TEST_F(MountTest, DevShmIsWritable) {
    auto kv = probe_kv({"seq", "write", "/dev/shm/f", "shm", "--", "read", "/dev/shm/f"});
    EXPECT_EQ(kv["write"], "ok") << parse_result_.describe();
    EXPECT_TRUE(contains(parse_result_.out, "shm")) << parse_result_.out;
}

TEST_F(MountTest, MaskedPathsOfRuncSpec) {
    // Which of the spec's masked paths exist depends on the kernel: check those the host has.
    // A masked file is /dev/null bound over it; a masked directory a read-only empty tmpfs.
    auto mounts = container_mounts();
    int checked = 0;
    for (const auto& p : spec_["linux"]["maskedPaths"]) {
        std::string path = p.get<std::string>();
        struct stat st;
        if (::stat(path.c_str(), &st) != 0) continue;
        ++checked;
        if (S_ISDIR(st.st_mode)) {
            auto m = find_mount(mounts, path);
            ASSERT_TRUE(m.has_value()) << path << " is not masked";
            EXPECT_EQ(m->fstype, "tmpfs") << describe(m);
            EXPECT_TRUE(m->has_option("ro")) << describe(m);
        } else {
            auto kv = probe_kv({"stat", path});
            EXPECT_EQ(kv["type"], "chr") << path << "\n" << parse_result_.describe();
            EXPECT_EQ(kv["major"], "1") << path;
            EXPECT_EQ(kv["minor"], "3") << path;
            auto r = run_probe({"read", path});
            EXPECT_TRUE(r.ok()) << r.describe();
            EXPECT_EQ(r.out, "") << path;
        }
    }
    EXPECT_GT(checked, 0) << "none of the masked paths exists on this host";
}

TEST_F(MountTest, MaskedFileAndDirectoryOfTheRootfs) {
    make_rootfs_dir("/secret");
    ASSERT_TRUE(write_text(rootfs_ + "/secret/key", "hidden"));
    ASSERT_TRUE(write_text(rootfs_ + "/etc/token", "hidden-too"));
    spec_["linux"]["maskedPaths"] = {"/secret", "/etc/token", "/no/such/path"};
    auto dir = run_probe({"read", "/secret/key"});
    EXPECT_EQ(parse_kv(dir.out)["error"], "ENOENT") << dir.describe();
    auto file = run_probe({"read", "/etc/token"});
    EXPECT_TRUE(file.ok()) << file.describe();
    EXPECT_EQ(file.out, "");
}

TEST_F(MountTest, ReadonlyPathsOfRuncSpec) {
    auto mounts = container_mounts();
    for (const char* p :
         {"/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sysrq-trigger"}) {
        auto m = find_mount(mounts, p);
        if (!m && std::string(p) != "/proc/sys") continue;  // absent on some kernels
        ASSERT_TRUE(m.has_value()) << p;
        EXPECT_TRUE(m->has_option("ro")) << describe(m);
    }
    // Safe to try: the UTS namespace is the container's own if the mount were writable.
    auto kv = probe_kv({"write", "/proc/sys/kernel/hostname", "x"});
    EXPECT_EQ(kv["error"], "EROFS") << parse_result_.describe();
}

TEST_F(MountTest, ReadonlyPathInTheRootfs) {
    spec_["root"]["readonly"] = false;
    make_rootfs_dir("/data");
    spec_["linux"]["readonlyPaths"] = {"/data"};
    auto kv = probe_kv({"seq", "write", "/ok", "1", "--", "write", "/data/no", "1"});
    EXPECT_EQ(kv["write"], "ok");
    EXPECT_EQ(kv["error"], "EROFS") << parse_result_.describe();
}

TEST_F(MountTest, TmpfsWithOptionsAndANewMountPoint) {
    spec_["mounts"].push_back({{"destination", "/mnt/tmp"},
                               {"type", "tmpfs"},
                               {"source", "tmpfs"},
                               {"options", {"nosuid", "nodev", "noexec", "mode=1770", "size=1m"}}});
    auto mounts = container_mounts();
    auto m = find_mount(mounts, "/mnt/tmp");
    ASSERT_TRUE(m.has_value()) << "the runtime must create the mount point in a read-only rootfs";
    EXPECT_EQ(m->fstype, "tmpfs");
    EXPECT_TRUE(m->has_option("nosuid") && m->has_option("nodev") && m->has_option("noexec"))
        << describe(m);
    EXPECT_TRUE(m->has_super_option("size=1024k")) << describe(m);
    EXPECT_TRUE(m->has_super_option("mode=1770")) << describe(m);
    // Not checked: the mode of the mounted tmpfs's root. runc 1.1 chmods it back to the mode of
    // the mount point directory it created (0755), ignoring mode=; the spec passes mode= to the
    // kernel.
    auto w = probe_kv({"write", "/mnt/tmp/f", "x"});
    EXPECT_EQ(w["write"], "ok") << parse_result_.describe();
}

TEST_F(MountTest, TmpcopyupKeepsTheImagesFilesInTheTmpfs) {
    make_rootfs_dir("/data/sub");
    ASSERT_TRUE(write_text(rootfs_ + "/data/sub/file", "from-image\n"));
    spec_["root"]["readonly"] = false;
    spec_["mounts"].push_back({{"destination", "/data"},
                               {"type", "tmpfs"},
                               {"source", "tmpfs"},
                               {"options", {"tmpcopyup", "nosuid", "size=64k"}}});
    auto r = run_probe({"seq", "read", "/data/sub/file", "--", "write", "/data/new", "x"});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_TRUE(contains(r.out, "from-image")) << r.out;
    EXPECT_EQ(parse_kv(r.out)["write"], "ok") << r.out;
    // The write went to the tmpfs, not into the image.
    EXPECT_FALSE(std::filesystem::exists(rootfs_ + "/data/new"));
}

TEST_F(MountTest, ReadonlyTmpfs) {
    spec_["mounts"].push_back({{"destination", "/ro-tmp"},
                               {"type", "tmpfs"},
                               {"source", "tmpfs"},
                               {"options", {"ro", "size=64k"}}});
    auto kv = probe_kv({"write", "/ro-tmp/f", "x"});
    EXPECT_EQ(kv["error"], "EROFS") << parse_result_.describe();
}

TEST_F(MountTest, ReadonlyBindMount) {
    std::string src = make_tmp_dir("data");
    ASSERT_TRUE(write_text(src + "/hello", "from-host\n"));
    spec_["mounts"].push_back(bind_mount(src, "/data", {"rbind", "ro", "nosuid", "nodev"}));
    auto r = run_probe({"seq", "read", "/data/hello", "--", "write", "/data/new", "x"});
    EXPECT_TRUE(contains(r.out, "from-host")) << r.describe();
    EXPECT_EQ(parse_kv(r.out)["error"], "EROFS") << r.describe();
    EXPECT_FALSE(exists(src + "/new"));
    auto m = find_mount(container_mounts(), "/data");
    ASSERT_TRUE(m.has_value());
    EXPECT_TRUE(m->has_option("ro") && m->has_option("nosuid") && m->has_option("nodev"))
        << describe(m);
}

TEST_F(MountTest, WritableBindMount) {
    std::string src = make_tmp_dir("data");
    spec_["mounts"].push_back(bind_mount(src, "/data", {"rbind", "rw"}));
    auto kv = probe_kv({"write", "/data/new", "from-container"});
    EXPECT_EQ(kv["write"], "ok") << parse_result_.describe();
    EXPECT_EQ(read_text(src + "/new").value_or(""), "from-container");
}

TEST_F(MountTest, BindMountOfAFile) {
    std::string src = tmp_ + "/file.txt";
    ASSERT_TRUE(write_text(src, "single file"));
    spec_["mounts"].push_back(bind_mount(src, "/etc/bound.txt", {"bind", "ro"}));
    auto r = run_probe({"read", "/etc/bound.txt"});
    EXPECT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.out, "single file");
}

TEST_F(MountTest, NoexecBindMountRefusesExecution) {
    std::string src = make_tmp_dir("bin");
    ASSERT_TRUE(copy_file(probe_path(), src + "/probe2", 0755));
    spec_["mounts"].push_back(bind_mount(src, "/bin2", {"rbind", "ro", "noexec"}));
    auto r = run_probe({"exec", "/bin2/probe2", "exit", "7"});
    EXPECT_EQ(parse_kv(r.out)["error"], "EACCES") << r.describe();
}

TEST_F(MountTest, ExecBindMountAllowsExecution) {
    std::string src = make_tmp_dir("bin");
    ASSERT_TRUE(copy_file(probe_path(), src + "/probe2", 0755));
    spec_["mounts"].push_back(bind_mount(src, "/bin2", {"rbind", "ro"}));
    auto r = run_probe({"exec", "/bin2/probe2", "exit", "7"});
    EXPECT_EQ(r.status, 7) << r.describe();
}

TEST_F(MountTest, RecursiveBindIncludesSubmounts) {
    std::string src = make_tmp_dir("outer");
    std::string sub = make_tmp_dir("outer/inner");
    ASSERT_EQ(::mount("tmpfs", sub.c_str(), "tmpfs", 0, "size=64k"), 0) << strerror(errno);
    ASSERT_TRUE(write_text(sub + "/f", "in-submount"));
    spec_["mounts"].push_back(bind_mount(src, "/outer", {"rbind", "ro"}));
    auto r = run_probe({"read", "/outer/inner/f"});
    EXPECT_EQ(r.out, "in-submount") << r.describe();
}

TEST_F(MountTest, MountsDoNotLeakToTheHost) {
    auto before = mounts_under(tmp_);
    std::string src = make_tmp_dir("data");
    spec_["mounts"].push_back(bind_mount(src, "/data", {"rbind", "rw"}));
    spec_["mounts"].push_back(
        {{"destination", "/scratch"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {}}});
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    EXPECT_EQ(mounts_under(tmp_), before);
}

class PropagationTest : public MountTest {
protected:
    /// Makes `dir` a shared mount point on the host, so that mounts below it propagate.
    void make_shared_mount(const std::string& dir) {
        ASSERT_EQ(::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr), 0)
            << strerror(errno);
        ASSERT_EQ(::mount(nullptr, dir.c_str(), nullptr, MS_SHARED, nullptr), 0) << strerror(errno);
    }

    /// Starts a container with `src` bound at /mnt/x with `propagation`, then mounts a tmpfs at
    /// src/sub on the host with a file in it; returns what an exec'd probe reads of that file.
    RunResult read_after_host_mount(const std::string& propagation) {
        std::string src = make_tmp_dir("shared");
        make_tmp_dir("shared/sub");
        make_shared_mount(src);
        spec_["mounts"].push_back(bind_mount(src, "/mnt/x", {"rbind", propagation}));
        auto id = new_id();
        auto s = start_container(id, {"sleep", "60"});
        EXPECT_TRUE(s.ok()) << s.describe();
        std::string sub = src + "/sub";
        EXPECT_EQ(::mount("tmpfs", sub.c_str(), "tmpfs", 0, "size=64k"), 0) << strerror(errno);
        EXPECT_TRUE(write_text(sub + "/f", "propagated"));
        return rt({"exec", id, "/probe", "read", "/mnt/x/sub/f"});
    }
};

TEST_F(PropagationTest, RslaveReceivesHostMounts) {
    auto r = read_after_host_mount("rslave");
    EXPECT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.out, "propagated") << r.describe();
}

TEST_F(PropagationTest, RprivateDoesNotReceiveHostMounts) {
    auto r = read_after_host_mount("rprivate");
    EXPECT_EQ(parse_kv(r.out)["error"], "ENOENT") << r.describe();
}

TEST_F(PropagationTest, PropagationFlagsShowInMountinfo) {
    std::string src = make_tmp_dir("shared");
    make_shared_mount(src);
    spec_["mounts"].push_back(bind_mount(src, "/mnt/s", {"rbind", "rshared"}));
    spec_["mounts"].push_back(bind_mount(src, "/mnt/l", {"rbind", "rslave"}));
    spec_["mounts"].push_back(bind_mount(src, "/mnt/p", {"rbind", "rprivate"}));
    auto mounts = container_mounts();
    auto s = find_mount(mounts, "/mnt/s");
    auto l = find_mount(mounts, "/mnt/l");
    auto p = find_mount(mounts, "/mnt/p");
    ASSERT_TRUE(s && l && p);
    EXPECT_TRUE(contains(s->optional, "shared:")) << describe(s);
    EXPECT_TRUE(contains(l->optional, "master:")) << describe(l);
    EXPECT_FALSE(contains(l->optional, "shared:")) << describe(l);
    EXPECT_EQ(p->optional, "") << describe(p);
}

}  // namespace
}  // namespace berth::test
