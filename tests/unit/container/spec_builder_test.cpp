// build_spec and build_exec_process: one test per HostConfig feature, each checking the fields
// of the spec it makes against what dockerd puts in a container's config.json.

#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "berth/common/fs.hpp"
#include "berth/container/spec_builder.hpp"

namespace berth::container {
namespace {

const std::string kId(64, 'a');

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/berth-test-spec-XXXXXX";
        path_ = mkdtemp(tmpl);
    }
    ~TempDir() { (void)remove_all(path_); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

class SpecTest : public ::testing::Test {
protected:
    void SetUp() override {
        rootfs_ = dir_.path() + "/rootfs";
        ASSERT_TRUE(mkdir_all(rootfs_ + "/etc").has_value());
        ASSERT_TRUE(atomic_write_file(rootfs_ + "/etc/passwd",
                                      "root:x:0:0:root:/root:/bin/sh\n"
                                      "app:x:1000:1000::/home/app:/bin/sh\n",
                                      0644, Durability::Volatile)
                        .has_value());
        ASSERT_TRUE(atomic_write_file(rootfs_ + "/etc/group",
                                      "root:x:0:\napp:x:1000:\n"
                                      "wheel:x:10:app\n",
                                      0644, Durability::Volatile)
                        .has_value());
        in_.id = kId;
        in_.rootfs = rootfs_;
        in_.cgroups_path = "/berth/" + kId;
        in_.config.cmd = std::vector<std::string>{"sh", "-c", "true"};
        in_.config.env = {"PATH=/usr/bin:/bin", "A=1"};
        in_.host.network_mode = "default";
        in_.host.ipc_mode = "private";
        in_.host.cgroupns_mode = "host";
        in_.host.shm_size = 64 << 20;
        in_.swap_limit_supported = true;
    }

    oci::Spec build() {
        auto s = build_spec(in_);
        EXPECT_TRUE(s.has_value()) << s.error().what();
        return s ? *s : oci::Spec{};
    }
    std::string error() {
        auto s = build_spec(in_);
        EXPECT_FALSE(s.has_value());
        return s ? "" : s.error().msg;
    }

    TempDir dir_;
    std::string rootfs_;
    SpecInputs in_;
};

const oci::Mount* find_mount(const oci::Spec& s, const std::string& dest) {
    for (const auto& m : s.mounts)
        if (m.destination == dest) return &m;
    return nullptr;
}

std::vector<std::string> destinations(const oci::Spec& s) {
    std::vector<std::string> d;
    for (const auto& m : s.mounts) d.push_back(m.destination);
    return d;
}

std::vector<std::string> ns_types(const oci::Spec& s) {
    std::vector<std::string> t;
    for (const auto& n : s.linux->namespaces) t.push_back(n.type);
    return t;
}

std::string ns_path(const oci::Spec& s, const std::string& type) {
    for (const auto& n : s.linux->namespaces)
        if (n.type == type) return n.path;
    return "<none>";
}

bool has(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

TEST_F(SpecTest, DockerDefaults) {
    oci::Spec s = build();
    EXPECT_EQ(s.oci_version, oci::kOciVersion);
    ASSERT_TRUE(s.root);
    EXPECT_EQ(s.root->path, rootfs_);
    EXPECT_FALSE(s.root->readonly);
    EXPECT_EQ(s.hostname, kId.substr(0, 12));
    ASSERT_TRUE(s.process);
    const oci::Process& p = *s.process;
    EXPECT_EQ(p.args, (std::vector<std::string>{"sh", "-c", "true"}));
    EXPECT_EQ(p.env,
              (std::vector<std::string>{"PATH=/usr/bin:/bin", "HOSTNAME=" + kId.substr(0, 12),
                                        "A=1", "HOME=/root"}));
    EXPECT_EQ(p.cwd, "/");
    EXPECT_FALSE(p.terminal);
    EXPECT_FALSE(p.no_new_privileges);
    EXPECT_EQ(p.oom_score_adj, std::optional<int>(0));
    EXPECT_EQ(p.user.uid, 0u);
    EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{0}));
    ASSERT_TRUE(p.capabilities);
    EXPECT_EQ(p.capabilities->bounding, default_capabilities());
    EXPECT_EQ(p.capabilities->effective, default_capabilities());
    EXPECT_EQ(p.capabilities->permitted, default_capabilities());
    EXPECT_TRUE(p.capabilities->inheritable.empty());
    EXPECT_TRUE(p.capabilities->ambient.empty());
    EXPECT_EQ(default_capabilities().size(), 14u);
    EXPECT_TRUE(p.rlimits.empty());
    EXPECT_TRUE(p.apparmor_profile.empty());

    EXPECT_EQ(destinations(s),
              (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup",
                                        "/dev/mqueue", "/dev/shm"}));
    EXPECT_EQ(
        find_mount(s, "/dev/shm")->options,
        (std::vector<std::string>{"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}));
    EXPECT_TRUE(has(find_mount(s, "/sys")->options, "ro"));
    EXPECT_TRUE(has(find_mount(s, "/sys/fs/cgroup")->options, "ro"));
    EXPECT_EQ(find_mount(s, "/dev")->options,
              (std::vector<std::string>{"nosuid", "strictatime", "mode=755", "size=65536k"}));

    const oci::Linux& l = *s.linux;
    EXPECT_EQ(l.cgroups_path, "/berth/" + kId);
    EXPECT_EQ(ns_types(s), (std::vector<std::string>{"mount", "network", "uts", "pid", "ipc"}));
    EXPECT_TRUE(has(l.masked_paths, "/proc/kcore"));
    EXPECT_TRUE(has(l.masked_paths, "/sys/devices/virtual/powercap"));
    EXPECT_EQ(l.masked_paths.size(), 11u);
    EXPECT_EQ(l.readonly_paths, (std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq",
                                                          "/proc/sys", "/proc/sysrq-trigger"}));
    ASSERT_TRUE(l.resources);
    ASSERT_GE(l.resources->devices.size(), 3u);
    EXPECT_FALSE(l.resources->devices[0].allow);
    EXPECT_EQ(l.resources->devices[0].access, "rwm");
    EXPECT_TRUE(l.resources->devices[1].allow);
    EXPECT_EQ(l.resources->devices[1].type, "c");
    EXPECT_FALSE(l.resources->devices[1].major);
    EXPECT_EQ(l.resources->devices[1].access, "m");
    bool null_ok = false;
    for (const auto& d : l.resources->devices)
        null_ok = null_ok || (d.allow && d.type == "c" && d.major == 1 && d.minor == 3);
    EXPECT_TRUE(null_ok);
    EXPECT_TRUE(l.devices.empty());
    EXPECT_FALSE(l.resources->memory);
    EXPECT_FALSE(l.resources->cpu);
    EXPECT_FALSE(l.resources->pids);
    ASSERT_TRUE(l.seccomp);
    EXPECT_EQ(l.seccomp->default_action, "SCMP_ACT_ERRNO");
    if (path_exists("/proc/sys/net/ipv4/ping_group_range")) {
        EXPECT_EQ(l.sysctl.at("net.ipv4.ping_group_range"), "0 2147483647");
    }
    if (path_exists("/proc/sys/net/ipv4/ip_unprivileged_port_start")) {
        EXPECT_EQ(l.sysctl.at("net.ipv4.ip_unprivileged_port_start"), "0");
    }
}

TEST_F(SpecTest, CommandEntrypointWorkdirTty) {
    in_.config.entrypoint = std::vector<std::string>{"/entry", "x"};
    in_.config.cmd = std::vector<std::string>{"y"};
    in_.config.working_dir = "/srv/./app/";
    in_.config.tty = true;
    in_.host.console_size = {24, 80};
    oci::Spec s = build();
    EXPECT_EQ(s.process->args, (std::vector<std::string>{"/entry", "x", "y"}));
    EXPECT_EQ(s.process->cwd, "/srv/app");
    EXPECT_TRUE(s.process->terminal);
    ASSERT_TRUE(s.process->console_size);
    EXPECT_EQ(s.process->console_size->height, 24u);
    EXPECT_EQ(s.process->console_size->width, 80u);
    EXPECT_TRUE(has(s.process->env, "TERM=xterm"));

    in_.config.entrypoint = std::vector<std::string>{""};
    in_.config.cmd.reset();
    EXPECT_EQ(error(), "no command specified");
    in_.config.cmd = std::vector<std::string>{"ls"};
    EXPECT_EQ(build().process->args, (std::vector<std::string>{"ls"}));
    in_.config.working_dir = "rel";
    EXPECT_EQ(error(), "the working directory 'rel' is invalid, it needs to be an absolute path");
}

TEST_F(SpecTest, Capabilities) {
    struct Case {
        std::vector<std::string> add, drop;
        std::vector<std::string> present, absent;
        const char* err;
    };
    const Case cases[] = {
        {{"NET_ADMIN", "cap_sys_time"},
         {"chown", "CAP_KILL"},
         {"CAP_NET_ADMIN", "CAP_SYS_TIME", "CAP_SETUID"},
         {"CAP_CHOWN", "CAP_KILL"},
         nullptr},
        {{"ALL"}, {"NET_RAW"}, {"CAP_SYS_ADMIN", "CAP_CHOWN", "CAP_BPF"}, {"CAP_NET_RAW"}, nullptr},
        {{"CHOWN", "all"}, {}, {"CAP_SYS_ADMIN"}, {}, nullptr},
        {{"NET_BIND_SERVICE"},
         {"ALL"},
         {"CAP_NET_BIND_SERVICE"},
         {"CAP_CHOWN", "CAP_KILL"},
         nullptr},
        {{"FOO"}, {}, {}, {}, "unknown capability: \"CAP_FOO\""},
        {{}, {"cap_bar"}, {}, {}, "unknown capability: \"CAP_BAR\""},
    };
    for (const Case& c : cases) {
        in_.host.cap_add = c.add;
        in_.host.cap_drop = c.drop;
        if (c.err) {
            EXPECT_EQ(error(), c.err);
            continue;
        }
        oci::Spec s = build();
        const auto& b = s.process->capabilities->bounding;
        for (const auto& p : c.present) EXPECT_TRUE(has(b, p)) << p;
        for (const auto& a : c.absent) EXPECT_FALSE(has(b, a)) << a;
        EXPECT_EQ(s.process->capabilities->effective, b);
        EXPECT_EQ(std::set<std::string>(b.begin(), b.end()).size(), b.size()) << "duplicates";
    }
    // Seccomp follows the capabilities: CAP_SYS_ADMIN unlocks mount.
    in_.host.cap_add = {"SYS_ADMIN"};
    in_.host.cap_drop = {};
    oci::Spec s = build();
    bool mount_allowed = false;
    for (const auto& e : s.linux->seccomp->syscalls)
        mount_allowed = mount_allowed || has(e.names, "mount");
    EXPECT_TRUE(mount_allowed);
}

TEST_F(SpecTest, Privileged) {
    in_.host.privileged = true;
    in_.host.cap_drop = {"CHOWN"};  // ignored: privileged gets everything
    oci::Spec s = build();
    EXPECT_EQ(s.process->capabilities->bounding, all_capabilities());
    auto last = read_file("/proc/sys/kernel/cap_last_cap");
    auto status = read_file("/proc/self/status");
    if (last && status) {
        size_t p = status->find("CapBnd:\t");
        uint64_t bnd = std::stoull(status->substr(p + 8, 16), nullptr, 16);
        size_t expected = 0;
        for (unsigned long i = 0; i <= std::stoul(*last); ++i) expected += (bnd >> i) & 1;
        EXPECT_EQ(all_capabilities().size(), expected);
    }
    EXPECT_FALSE(has(find_mount(s, "/sys")->options, "ro"));
    EXPECT_FALSE(has(find_mount(s, "/sys/fs/cgroup")->options, "ro"));
    EXPECT_TRUE(s.linux->masked_paths.empty());
    EXPECT_TRUE(s.linux->readonly_paths.empty());
    EXPECT_FALSE(s.linux->seccomp);
    ASSERT_EQ(s.linux->resources->devices.size(), 1u);
    EXPECT_TRUE(s.linux->resources->devices[0].allow);
    EXPECT_EQ(s.linux->resources->devices[0].access, "rwm");
    bool null_dev = false;
    for (const auto& d : s.linux->devices) {
        EXPECT_NE(d.path, "/dev/console");
        EXPECT_NE(d.path.rfind("/dev/pts/", 0), 0u);
        null_dev =
            null_dev || (d.path == "/dev/null" && d.type == "c" && d.major == 1 && d.minor == 3);
    }
    EXPECT_TRUE(null_dev);
}

TEST_F(SpecTest, ReadOnlyRootfsAndNetworkFiles) {
    for (const char* f : {"hostname", "hosts", "resolv.conf"})
        ASSERT_TRUE(atomic_write_file(dir_.path() + "/" + f, "x\n", 0644, Durability::Volatile)
                        .has_value());
    in_.hostname_path = dir_.path() + "/hostname";
    in_.hosts_path = dir_.path() + "/hosts";
    in_.resolv_conf_path = dir_.path() + "/resolv.conf";
    in_.host.tmpfs = {{"/run", ""}};
    oci::Spec s = build();
    const oci::Mount* hosts = find_mount(s, "/etc/hosts");
    ASSERT_TRUE(hosts);
    EXPECT_EQ(hosts->type, "bind");
    EXPECT_EQ(hosts->source, in_.hosts_path);
    EXPECT_EQ(hosts->options, (std::vector<std::string>{"rbind", "rprivate"}));
    ASSERT_TRUE(find_mount(s, "/etc/resolv.conf"));
    ASSERT_TRUE(find_mount(s, "/etc/hostname"));

    in_.host.readonly_rootfs = true;
    s = build();
    EXPECT_TRUE(s.root->readonly);
    EXPECT_EQ(find_mount(s, "/etc/hosts")->options,
              (std::vector<std::string>{"rbind", "ro", "rprivate"}));
    EXPECT_FALSE(has(find_mount(s, "/run")->options, "ro"));  // user tmpfs stays writable
    EXPECT_FALSE(has(find_mount(s, "/dev/shm")->options, "ro"));
    EXPECT_FALSE(has(find_mount(s, "/proc")->options, "ro"));

    // A user bind at /etc/hosts wins over the engine's file.
    in_.host.binds = {dir_.path() + "/hosts:/etc/hosts:ro"};
    in_.hosts_path = dir_.path() + "/resolv.conf";
    s = build();
    EXPECT_EQ(find_mount(s, "/etc/hosts")->source, dir_.path() + "/hosts");
    std::vector<std::string> dests = destinations(s);
    EXPECT_EQ(std::count(dests.begin(), dests.end(), "/etc/hosts"), 1);
}

TEST_F(SpecTest, Tmpfs) {
    in_.host.tmpfs = {{"/run", "rw,size=64m,noexec"}, {"/x", "exec,mode=700"}, {"/y", ""}};
    oci::Spec s = build();
    EXPECT_EQ(
        find_mount(s, "/run")->options,
        (std::vector<std::string>{"nosuid", "nodev", "rprivate", "rw", "size=64m", "noexec"}));
    EXPECT_EQ(find_mount(s, "/run")->type, "tmpfs");
    EXPECT_EQ(find_mount(s, "/run")->source, "tmpfs");
    EXPECT_EQ(find_mount(s, "/x")->options,
              (std::vector<std::string>{"nosuid", "nodev", "rprivate", "exec", "mode=700"}));
    EXPECT_EQ(find_mount(s, "/y")->options,
              (std::vector<std::string>{"noexec", "nosuid", "nodev", "rprivate"}));

    Mount m;
    m.type = "tmpfs";
    m.target = "/cache";
    m.tmpfs_options = Mount::TmpfsOptions{};
    m.tmpfs_options->size_bytes = 64 << 20;
    m.tmpfs_options->mode = 01777;
    m.tmpfs_options->options = {{"exec"}, {"nr_inodes", "100"}};
    in_.host.mounts = {m};
    s = build();
    EXPECT_EQ(find_mount(s, "/cache")->options,
              (std::vector<std::string>{"nosuid", "nodev", "rprivate", "mode=1777", "size=64m",
                                        "exec", "nr_inodes=100"}));

    in_.host.tmpfs = {{"/bad", "foo"}};
    EXPECT_EQ(error(), "tmpfs /bad: invalid tmpfs option \"foo\"");
}

TEST_F(SpecTest, Binds) {
    std::string host = dir_.path() + "/data";
    ASSERT_TRUE(mkdir_all(host).has_value());
    std::string missing = dir_.path() + "/created/by/bind";
    in_.host.binds = {host + ":/data:ro,rshared", missing + ":/m", host + ":/z:Z,rw"};
    oci::Spec s = build();
    const oci::Mount* d = find_mount(s, "/data");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->type, "bind");
    EXPECT_EQ(d->source, host);
    EXPECT_EQ(d->options, (std::vector<std::string>{"rbind", "ro", "rshared"}));
    EXPECT_EQ(s.linux->rootfs_propagation, "shared");
    EXPECT_EQ(find_mount(s, "/m")->options, (std::vector<std::string>{"rbind", "rprivate"}));
    EXPECT_TRUE(path_exists(missing));  // -v creates a missing host directory, like dockerd
    EXPECT_EQ(find_mount(s, "/z")->options, (std::vector<std::string>{"rbind", "rprivate"}));

    in_.host.binds = {host + ":/s:rslave"};
    EXPECT_EQ(build().linux->rootfs_propagation, "rslave");

    struct Bad {
        std::string bind;
        std::string err;
    };
    const Bad bad[] = {
        {host + ":rel", "invalid volume specification: '" + host +
                            ":rel': invalid mount config for type \"bind\": invalid mount path: "
                            "'rel' mount path must be absolute"},
        {host + ":/c:rx", "invalid mode: rx"},
        {host + ":/c:ro,rw", "invalid mode: ro,rw"},
        {host + ":/", "invalid volume specification: '" + host +
                          ":/': invalid mount config for type \"bind\": invalid specification: "
                          "destination can't be '/'"},
        {"myvol:/c", "myvol:/c: named volumes are not supported yet (use an absolute host path)"},
        {"/a:/b:ro:x", "invalid volume specification: '/a:/b:ro:x'"},
    };
    for (const Bad& b : bad) {
        in_.host.binds = {b.bind};
        EXPECT_EQ(error(), b.err) << b.bind;
    }
    in_.host.binds = {host + ":/c", host + ":/c/"};
    EXPECT_EQ(error(), "Duplicate mount point: /c");
}

TEST_F(SpecTest, ApiMounts) {
    Mount m;
    m.type = "bind";
    m.source = dir_.path() + "/nope";
    m.target = "/x";
    in_.host.mounts = {m};
    EXPECT_EQ(error(), "invalid mount config for type \"bind\": bind source path does not exist: " +
                           dir_.path() + "/nope");
    m.bind_options = Mount::BindOptions{};
    m.bind_options->create_mountpoint = true;
    m.bind_options->non_recursive = true;
    m.bind_options->propagation = "rslave";
    m.read_only = true;
    in_.host.mounts = {m};
    oci::Spec s = build();
    EXPECT_EQ(find_mount(s, "/x")->options, (std::vector<std::string>{"bind", "ro", "rslave"}));

    m = Mount{};
    m.type = "volume";
    m.source = "v";
    m.target = "/v";
    in_.host.mounts = {m};
    EXPECT_EQ(error(), "type=volume,source=v,target=/v: named volumes are not supported yet");
    m.type = "tmpfs";
    in_.host.mounts = {m};
    EXPECT_EQ(error(),
              "invalid mount config for type \"tmpfs\": field Source must not be "
              "specified");
}

TEST_F(SpecTest, MountOrderAndShmReplacement) {
    std::string host = dir_.path() + "/h";
    ASSERT_TRUE(mkdir_all(host).has_value());
    in_.host.binds = {host + ":/a/b/c", host + ":/dev/shm", host + ":/a"};
    in_.host.init = true;
    in_.init_path = "/usr/bin/tini";
    oci::Spec s = build();
    EXPECT_EQ(
        destinations(s),
        (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup",
                                  "/dev/mqueue", "/sbin/docker-init", "/a", "/dev/shm", "/a/b/c"}));
    EXPECT_EQ(find_mount(s, "/dev/shm")->type, "bind");
    EXPECT_EQ(find_mount(s, "/sbin/docker-init")->options,
              (std::vector<std::string>{"bind", "ro"}));
    EXPECT_EQ(find_mount(s, "/sbin/docker-init")->source, "/usr/bin/tini");
    EXPECT_EQ(s.process->args,
              (std::vector<std::string>{"/sbin/docker-init", "--", "sh", "-c", "true"}));

    // A user /dev replaces every default mount under it.
    in_.host.binds = {host + ":/dev"};
    in_.host.init = false;
    s = build();
    EXPECT_EQ(destinations(s),
              (std::vector<std::string>{"/proc", "/sys", "/sys/fs/cgroup", "/dev"}));

    in_.host.binds = {};
    in_.host.ipc_mode = "none";
    EXPECT_FALSE(find_mount(build(), "/dev/shm"));
    in_.host.ipc_mode = "private";
    in_.host.shm_size = 1 << 20;
    EXPECT_TRUE(has(find_mount(build(), "/dev/shm")->options, "size=1048576"));

    in_.host.init = true;
    in_.init_path = "";
    auto r = build_spec(in_);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::Unavailable);
    in_.host.pid_mode = "host";  // no init in a shared pid namespace
    EXPECT_EQ(build().process->args.front(), "sh");
}

TEST_F(SpecTest, Devices) {
    in_.host.devices = {DeviceMapping{"/dev/null", "/dev/mynull", "rw"}};
    in_.host.device_cgroup_rules = {"c 42:* rmw", "b *:* m"};
    oci::Spec s = build();
    ASSERT_EQ(s.linux->devices.size(), 1u);
    const oci::Device& d = s.linux->devices[0];
    EXPECT_EQ(d.path, "/dev/mynull");
    EXPECT_EQ(d.type, "c");
    EXPECT_EQ(d.major, 1);
    EXPECT_EQ(d.minor, 3);
    ASSERT_TRUE(d.file_mode);
    const auto& rules = s.linux->resources->devices;
    ASSERT_GE(rules.size(), 3u);
    const auto& r1 = rules[rules.size() - 3];
    EXPECT_TRUE(r1.allow);
    EXPECT_EQ(r1.major, 1);
    EXPECT_EQ(r1.minor, 3);
    EXPECT_EQ(r1.access, "rw");
    const auto& r2 = rules[rules.size() - 2];
    EXPECT_EQ(r2.type, "c");
    EXPECT_EQ(r2.major, 42);
    EXPECT_FALSE(r2.minor);
    EXPECT_EQ(r2.access, "rmw");
    EXPECT_FALSE(rules.back().major);

    in_.host.device_cgroup_rules = {"x 1:2 rwm"};
    EXPECT_EQ(error(), "invalid device cgroup rule format: 'x 1:2 rwm'");
    in_.host.device_cgroup_rules = {};
    in_.host.devices = {DeviceMapping{"/dev/null", "/dev/n", "rwx"}};
    EXPECT_EQ(error(), "invalid device mode: rwx");
    in_.host.devices = {DeviceMapping{rootfs_ + "/etc/passwd", "/dev/p", "rwm"}};
    EXPECT_EQ(error(), "error gathering device information while adding custom device \"" +
                           rootfs_ + "/etc/passwd\": not a device node");
}

TEST_F(SpecTest, Sysctls) {
    in_.host.sysctls = {
        {"net.core.somaxconn", "1024"}, {"kernel.shmmax", "1"}, {"fs.mqueue.msg_max", "20"}};
    oci::Spec s = build();
    EXPECT_EQ(s.linux->sysctl.at("net.core.somaxconn"), "1024");
    EXPECT_EQ(s.linux->sysctl.at("kernel.shmmax"), "1");

    in_.host.sysctls = {{"net.ipv4.ping_group_range", "1 1"}};  // the user's wins
    EXPECT_EQ(build().linux->sysctl.at("net.ipv4.ping_group_range"), "1 1");

    in_.host.network_mode = "host";
    in_.host.sysctls = {{"net.core.somaxconn", "1024"}};
    EXPECT_EQ(error(), "sysctl \"net.core.somaxconn\" not allowed in host network namespace");
    in_.host.sysctls = {};
    EXPECT_EQ(build().linux->sysctl.count("net.ipv4.ping_group_range"), 0u);

    in_.host.network_mode = "default";
    in_.host.ipc_mode = "host";
    in_.host.sysctls = {{"kernel.msgmax", "1"}};
    EXPECT_EQ(error(), "sysctl \"kernel.msgmax\" is not allowed in the hosts ipc namespace");
    in_.host.ipc_mode = "private";
    in_.host.sysctls = {{"vm.swappiness", "1"}};
    EXPECT_EQ(error(), "sysctl \"vm.swappiness\" is not in a separate kernel namespace");
}

TEST_F(SpecTest, Resources) {
    in_.host.memory = 64 << 20;
    in_.host.memory_reservation = 32 << 20;
    in_.host.memory_swappiness = 10;
    in_.host.oom_kill_disable = true;
    in_.host.nano_cpus = 1500000000;
    in_.host.cpu_shares = 512;
    in_.host.cpuset_cpus = "0";
    in_.host.cpuset_mems = "0";
    in_.host.pids_limit = 100;
    in_.host.blkio_weight = 300;
    oci::Spec s = build();
    const oci::Resources& r = *s.linux->resources;
    ASSERT_TRUE(r.memory);
    EXPECT_EQ(r.memory->limit, std::optional<int64_t>(64 << 20));
    EXPECT_EQ(r.memory->swap, std::optional<int64_t>(128 << 20));  // MemorySwap 0 = twice Memory
    EXPECT_EQ(r.memory->reservation, std::optional<int64_t>(32 << 20));
    EXPECT_EQ(r.memory->swappiness, std::optional<uint64_t>(10));
    EXPECT_EQ(r.memory->disable_oom_killer, std::optional<bool>(true));
    ASSERT_TRUE(r.cpu);
    EXPECT_EQ(r.cpu->period, std::optional<uint64_t>(100000));
    EXPECT_EQ(r.cpu->quota, std::optional<int64_t>(150000));
    EXPECT_EQ(r.cpu->shares, std::optional<uint64_t>(512));
    EXPECT_EQ(r.cpu->cpus, "0");
    EXPECT_EQ(r.cpu->mems, "0");
    ASSERT_TRUE(r.pids);
    EXPECT_EQ(r.pids->limit, 100);
    ASSERT_TRUE(r.block_io);
    EXPECT_EQ(r.block_io->weight, std::optional<uint16_t>(300));

    in_.host.memory_swap = -1;
    EXPECT_EQ(build().linux->resources->memory->swap, std::optional<int64_t>(-1));
    in_.host.memory_swap = 100 << 20;
    EXPECT_EQ(build().linux->resources->memory->swap, std::optional<int64_t>(100 << 20));
    in_.swap_limit_supported = false;
    EXPECT_EQ(build().linux->resources->memory->swap, std::optional<int64_t>(-1));
    in_.swap_limit_supported = true;
    in_.host.memory_swap = 32 << 20;
    EXPECT_EQ(error(), "Minimum memoryswap limit should be larger than memory limit, see usage");
    in_.host.memory_swap = 0;
    in_.host.memory = 1 << 20;
    in_.host.memory_reservation = 0;
    EXPECT_EQ(error(), "Minimum memory limit allowed is 6MB");
    in_.host.memory = 0;

    in_.host.pids_limit = 0;
    EXPECT_EQ(build().linux->resources->pids->limit, -1);
    in_.host.pids_limit = -1;
    EXPECT_EQ(build().linux->resources->pids->limit, -1);

    in_.host.cpu_period = 50000;
    EXPECT_EQ(error(), "Conflicting options: Nano CPUs and CPU Period cannot both be set");
    in_.host.nano_cpus = 0;
    in_.host.cpu_quota = 25000;
    s = build();
    EXPECT_EQ(s.linux->resources->cpu->period, std::optional<uint64_t>(50000));
    EXPECT_EQ(s.linux->resources->cpu->quota, std::optional<int64_t>(25000));
    in_.host.nano_cpus = 1000LL * 1000000000LL;
    in_.host.cpu_period = in_.host.cpu_quota = 0;
    EXPECT_NE(error().find("Range of CPUs is from 0.01 to"), std::string::npos);
}

TEST_F(SpecTest, NamespacesPerMode) {
    in_.host.network_mode = "host";
    in_.host.pid_mode = "host";
    in_.host.ipc_mode = "host";
    in_.host.uts_mode = "host";
    oci::Spec s = build();
    EXPECT_EQ(ns_types(s), (std::vector<std::string>{"mount"}));
    EXPECT_EQ(s.hostname, "");
    EXPECT_EQ(find_mount(s, "/dev/shm")->source, "/dev/shm");  // the host's, bound
    EXPECT_EQ(find_mount(s, "/dev/shm")->type, "bind");

    in_.host.network_mode = "container:other";
    in_.host.pid_mode = "container:other";
    in_.host.ipc_mode = "container:other";
    in_.host.uts_mode = "";
    in_.host.cgroupns_mode = "private";
    in_.netns_path = "/proc/42/ns/net";
    in_.pidns_path = "/proc/42/ns/pid";
    in_.ipcns_path = "/proc/42/ns/ipc";
    s = build();
    EXPECT_EQ(ns_path(s, "network"), "/proc/42/ns/net");
    EXPECT_EQ(ns_path(s, "pid"), "/proc/42/ns/pid");
    EXPECT_EQ(ns_path(s, "ipc"), "/proc/42/ns/ipc");
    EXPECT_EQ(ns_path(s, "uts"), "");
    EXPECT_EQ(ns_path(s, "cgroup"), "");
    EXPECT_EQ(find_mount(s, "/dev/shm")->source, "/proc/42/root/dev/shm");
    EXPECT_EQ(s.linux->sysctl.count("net.ipv4.ping_group_range"), 0u);

    in_.host.network_mode = "mynet";
    in_.netns_path = "/run/berth/netns/x";
    EXPECT_EQ(ns_path(build(), "network"), "/run/berth/netns/x");

    in_.pidns_path = "";
    EXPECT_EQ(error(), "invalid PID mode: container:other: no namespace to join");
    in_.host.pid_mode = "bogus";
    EXPECT_EQ(error(), "invalid PID mode: bogus");
    in_.host.pid_mode = "";
    in_.host.ipc_mode = "weird";
    EXPECT_EQ(error(), "invalid IPC mode: weird");
    in_.host.ipc_mode = "shareable";
    in_.host.cgroupns_mode = "bad";
    EXPECT_EQ(error(), "invalid cgroup namespace mode: bad");
}

TEST_F(SpecTest, MaskedAndReadonlyPathsOverride) {
    in_.host.masked_paths = {"/proc/x"};
    in_.host.readonly_paths = {"/proc/y"};
    oci::Spec s = build();
    EXPECT_EQ(s.linux->masked_paths, (std::vector<std::string>{"/proc/x"}));
    EXPECT_EQ(s.linux->readonly_paths, (std::vector<std::string>{"/proc/y"}));
}

TEST_F(SpecTest, SecurityOptions) {
    struct Case {
        std::vector<std::string> opts;
        bool nnp;
        bool seccomp;
        const char* err;
    };
    const Case cases[] = {
        {{"no-new-privileges"}, true, true, nullptr},
        {{"no-new-privileges:true"}, true, true, nullptr},
        {{"no-new-privileges=false"}, false, true, nullptr},
        {{"seccomp=unconfined", "apparmor=docker-default", "label=disable", "label:type:x"},
         false,
         false,
         nullptr},
        {{"foo"}, false, false, "invalid --security-opt 1: \"foo\""},
        {{"foo=bar"}, false, false, "invalid --security-opt 2: \"foo=bar\""},
        {{"no-new-privileges=maybe"},
         false,
         false,
         "invalid --security-opt 2: \"no-new-privileges=maybe\""},
    };
    for (const Case& c : cases) {
        in_.host.security_opt = c.opts;
        if (c.err) {
            EXPECT_EQ(error(), c.err);
            continue;
        }
        oci::Spec s = build();
        EXPECT_EQ(s.process->no_new_privileges, c.nnp) << c.opts[0];
        EXPECT_EQ(s.linux->seccomp.has_value(), c.seccomp) << c.opts[0];
    }

    // The docker CLI sends the profile's JSON; a path works too.
    const std::string profile = R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {"names":["chmod"],"action":"SCMP_ACT_ERRNO"}]})";
    in_.host.security_opt = {"seccomp=" + profile};
    oci::Spec s = build();
    ASSERT_TRUE(s.linux->seccomp);
    EXPECT_EQ(s.linux->seccomp->default_action, "SCMP_ACT_ALLOW");
    ASSERT_EQ(s.linux->seccomp->syscalls.size(), 1u);
    ASSERT_TRUE(atomic_write_file(dir_.path() + "/p.json", profile, 0644, Durability::Volatile)
                    .has_value());
    in_.host.security_opt = {"seccomp=" + dir_.path() + "/p.json"};
    EXPECT_EQ(build().linux->seccomp->default_action, "SCMP_ACT_ALLOW");
    in_.host.security_opt = {"seccomp={bad"};
    EXPECT_NE(error().find("Decoding seccomp profile failed"), std::string::npos);

    in_.host.security_opt = {"writable-cgroups=true"};
    EXPECT_FALSE(has(find_mount(build(), "/sys/fs/cgroup")->options, "ro"));
}

TEST_F(SpecTest, UlimitsOomUserGroups) {
    in_.host.ulimits = {Ulimit{"nofile", 1024, 2048}, Ulimit{"nproc", -1, -1}};
    in_.host.oom_score_adj = 500;
    in_.config.user = "app";
    in_.host.group_add = {"root", "77"};
    oci::Spec s = build();
    ASSERT_EQ(s.process->rlimits.size(), 2u);
    EXPECT_EQ(s.process->rlimits[0].type, "RLIMIT_NOFILE");
    EXPECT_EQ(s.process->rlimits[0].soft, 1024u);
    EXPECT_EQ(s.process->rlimits[0].hard, 2048u);
    EXPECT_EQ(s.process->rlimits[1].type, "RLIMIT_NPROC");
    EXPECT_EQ(s.process->rlimits[1].soft, UINT64_MAX);
    EXPECT_EQ(s.process->oom_score_adj, std::optional<int>(500));
    EXPECT_EQ(s.process->user.uid, 1000u);
    EXPECT_EQ(s.process->user.gid, 1000u);
    EXPECT_EQ(s.process->user.additional_gids, (std::vector<uint32_t>{1000, 10, 0, 77}));
    EXPECT_TRUE(has(s.process->env, "HOME=/home/app"));

    in_.config.env.push_back("HOME=/mine");
    EXPECT_FALSE(has(build().process->env, "HOME=/home/app"));

    in_.host.ulimits = {Ulimit{"bogus", 1, 1}};
    EXPECT_EQ(error(), "invalid ulimit type: bogus");
    in_.host.ulimits = {Ulimit{"nofile", 10, 5}};
    EXPECT_EQ(error(), "ulimit soft limit must be less than or equal to hard limit: 10 > 5");
    in_.host.ulimits = {};
    in_.config.user = "ghost";
    EXPECT_EQ(error(), "unable to find user ghost: no matching entries in passwd file");
}

TEST_F(SpecTest, ExecProcess) {
    in_.config.user = "app";
    oci::Spec s = build();

    ExecConfig e;
    EXPECT_FALSE(build_exec_process(s, e, rootfs_).has_value());
    e.cmd = {"ps", "aux"};
    e.env = {"A=2", "B=3"};
    e.tty = true;
    e.console_size = {30, 100};
    auto p = build_exec_process(s, e, rootfs_);
    ASSERT_TRUE(p.has_value()) << p.error().what();
    EXPECT_EQ(p->args, (std::vector<std::string>{"ps", "aux"}));
    EXPECT_EQ(p->user.uid, 1000u);
    EXPECT_EQ(p->cwd, "/");
    EXPECT_TRUE(p->terminal);
    ASSERT_TRUE(p->console_size);
    EXPECT_EQ(p->console_size->width, 100u);
    EXPECT_TRUE(has(p->env, "A=2"));
    EXPECT_FALSE(has(p->env, "A=1"));
    EXPECT_TRUE(has(p->env, "B=3"));
    EXPECT_TRUE(has(p->env, "TERM=xterm"));
    EXPECT_TRUE(has(p->env, "HOME=/home/app"));
    EXPECT_TRUE(has(p->env, "PATH=/usr/bin:/bin"));
    EXPECT_EQ(p->capabilities->bounding, default_capabilities());

    e.user = "root";
    e.working_dir = "/tmp";
    e.privileged = true;
    e.tty = false;
    p = build_exec_process(s, e, rootfs_);
    ASSERT_TRUE(p.has_value()) << p.error().what();
    EXPECT_EQ(p->user.uid, 0u);
    EXPECT_EQ(p->cwd, "/tmp");
    EXPECT_FALSE(p->terminal);
    EXPECT_FALSE(p->console_size);
    EXPECT_TRUE(has(p->env, "HOME=/root"));
    EXPECT_FALSE(has(p->env, "HOME=/home/app"));
    EXPECT_FALSE(has(p->env, "TERM=xterm"));
    EXPECT_EQ(p->capabilities->bounding, all_capabilities());
    EXPECT_TRUE(p->capabilities->inheritable.empty());

    e.user = "nobody";
    EXPECT_FALSE(build_exec_process(s, e, rootfs_).has_value());
    e.user = "";
    e.working_dir = "tmp";
    EXPECT_FALSE(build_exec_process(s, e, rootfs_).has_value());
}

}  // namespace
}  // namespace berth::container
