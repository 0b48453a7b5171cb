// The cgroup managers on the real cgroup filesystems of this machine (root only):
//  - v1 / hybrid as mounted here (/sys/fs/cgroup/<ctrl> plus the unified tree),
//  - pure v2 in a private mount namespace with a fresh cgroup2 mount (on a hybrid host the
//    unified hierarchy only has the controllers v1 does not hold, so that part tests the core
//    v2 files, hugetlb and the BPF device program).
// Cgroup names are berth-test-<pid>-<n>; everything is removed even when a test fails.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>

#include "berth/cgroups/device_filter.hpp"
#include "berth/cgroups/manager.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/scope_exit.hpp"
#include "berth/common/strings.hpp"
#include "cgroup_fs.hpp"

namespace berth::cgroups {
namespace {

std::atomic<int> g_counter{0};

std::string unique_name(const char* what) {
    return fmt::format("berth-test-{}-{}-{}", ::getpid(), what, g_counter++);
}

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string trimmed(const std::string& path) { return std::string(trim(slurp(path))); }

// A child that waits for a byte on `go`, then tries to open /dev/null and /dev/zero and writes
// one result byte per device ('1' opened, 'P' EPERM, 'E' other error), then sleeps until killed.
struct DeviceProbe {
    pid_t pid = -1;
    int go = -1, result = -1;

    DeviceProbe() {
        int p1[2], p2[2];
        if (::pipe2(p1, O_CLOEXEC) != 0 || ::pipe2(p2, O_CLOEXEC) != 0) return;
        pid = ::fork();
        if (pid == 0) {
            char c;
            if (::read(p1[0], &c, 1) != 1) _exit(1);
            char out[2];
            const char* devs[2] = {"/dev/null", "/dev/zero"};
            for (int i = 0; i < 2; ++i) {
                int fd = ::open(devs[i], O_RDONLY | O_CLOEXEC);
                out[i] = fd >= 0 ? '1' : (errno == EPERM ? 'P' : 'E');
                if (fd >= 0) ::close(fd);
            }
            if (::write(p2[1], out, 2) != 2) _exit(1);
            for (;;) ::pause();
        }
        ::close(p1[0]);
        ::close(p2[1]);
        go = p1[1];
        result = p2[0];
    }
    /// Lets the probe try the devices; returns its two result bytes.
    std::string run() {
        if (::write(go, "g", 1) != 1) return "write failed";
        char out[2];
        if (::read(result, out, 2) != 2) return "read failed";
        return std::string(out, 2);
    }
    /// Waits for it to die on its own; returns the wait status.
    int wait_exit() {
        int st = 0;
        ::waitpid(pid, &st, 0);
        pid = -1;
        return st;
    }
    /// SIGKILLs and reaps it (idempotent); returns the wait status.
    int reap() {
        if (pid <= 0) return -1;
        ::kill(pid, SIGKILL);
        int st = 0;
        ::waitpid(pid, &st, 0);
        pid = -1;
        return st;
    }
    ~DeviceProbe() {
        reap();
        if (go >= 0) ::close(go);
        if (result >= 0) ::close(result);
    }
};

// Tests that change the unified root's cgroup.subtree_control (and put it back) take this
// lock, so that one restoring it cannot pull a controller from under another (ctest -j).
struct UnifiedRootLock {
    int fd = ::open("/tmp/berth-test-cgroup2-root.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    UnifiedRootLock() {
        if (fd >= 0) ::flock(fd, LOCK_EX);
    }
    ~UnifiedRootLock() {
        if (fd >= 0) ::close(fd);
    }
};

// Removes a manager's cgroups whatever happens (after the test's own destroy()).
struct CgroupCleanup {
    std::map<std::string, std::string> paths;
    ~CgroupCleanup() {
        for (const auto& [c, p] : paths) (void)detail::remove_cgroup_dir(p);
    }
};

bool cgroup_line_has(pid_t pid, const std::string& needle) {
    return slurp(fmt::format("/proc/{}/cgroup", pid)).find(needle) != std::string::npos;
}

// The cgroup of `pid` in the hierarchy of `ctrl` ("" = unified), from /proc/<pid>/cgroup.
std::string proc_cgroup(pid_t pid, const std::string& ctrl) {
    std::stringstream ss(slurp(fmt::format("/proc/{}/cgroup", pid)));
    for (std::string line; std::getline(ss, line);) {
        size_t a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        std::string ctrls = line.substr(a + 1, b - a - 1);
        std::stringstream cs(ctrls);
        if (ctrl.empty() && ctrls.empty()) return line.substr(b + 1);
        for (std::string c; std::getline(cs, c, ',');)
            if (c == ctrl) return line.substr(b + 1);
    }
    return "<none>";
}

class HostCgroups : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root";
        auto l = detect_layout();
        ASSERT_TRUE(l) << l.error().what();
        layout_ = *l;
        if (layout_.pure_v2()) GTEST_SKIP() << "this host is pure cgroup v2; the V2 tests cover it";
    }
    std::unique_ptr<Manager> make(const std::string& path, CgroupCleanup& cleanup) {
        auto m = make_manager(layout_, {path, "c"});
        EXPECT_TRUE(m) << m.error().what();
        if (!m) return nullptr;
        cleanup.paths = (*m)->paths();
        return std::move(*m);
    }
    Layout layout_;
};

TEST_F(HostCgroups, LifecycleCreateApplyJoinFreezeStatsKillDestroy) {
    CgroupCleanup cleanup;
    std::string name = "/" + unique_name("life");
    auto m = make(name, cleanup);
    ASSERT_TRUE(m);
    auto c = m->create();
    ASSERT_TRUE(c) << c.error().what();
    for (const auto& [ctrl, p] : m->paths()) EXPECT_TRUE(path_exists(p)) << p;
    EXPECT_EQ(m->paths().count(""), layout_.v2_mount.empty() ? 0u : 1u);

    oci::Resources r;
    r.memory = oci::MemoryResources{};
    r.memory->limit = 64 << 20;
    bool memsw = path_exists(layout_.v1_mounts.count("memory")
                                 ? layout_.v1_mounts.at("memory") + "/memory.memsw.limit_in_bytes"
                                 : "/nonexistent");
    if (memsw) r.memory->swap = 128 << 20;
    r.pids = oci::PidsResources{50};
    r.cpu = oci::CpuResources{};
    r.cpu->shares = 512;
    r.cpu->quota = 50000;
    r.cpu->period = 100000;
    r.cpu->cpus = "0";
    r.cpu->mems = "0";
    r.devices = {{false, "", std::nullopt, std::nullopt, "rwm"},
                 {true, "c", 1, 3, "rwm"},  // /dev/null, but not /dev/zero (1:5)
                 {true, "c", 1, 8, "rwm"},
                 {true, "c", 136, std::nullopt, "rwm"}};
    auto a = m->apply(r);
    ASSERT_TRUE(a) << a.error().what();

    auto p = m->paths();
    if (p.count("memory")) {
        EXPECT_EQ(trimmed(p["memory"] + "/memory.limit_in_bytes"), "67108864");
        if (memsw) {
            EXPECT_EQ(trimmed(p["memory"] + "/memory.memsw.limit_in_bytes"), "134217728");
        }
    }
    if (p.count("pids")) {
        EXPECT_EQ(trimmed(p["pids"] + "/pids.max"), "50");
    }
    if (p.count("cpu")) {
        EXPECT_EQ(trimmed(p["cpu"] + "/cpu.shares"), "512");
        EXPECT_EQ(trimmed(p["cpu"] + "/cpu.cfs_quota_us"), "50000");
    }
    if (p.count("cpuset")) {
        EXPECT_EQ(trimmed(p["cpuset"] + "/cpuset.cpus"), "0");
    }
    if (p.count("devices")) {
        EXPECT_EQ(slurp(p["devices"] + "/devices.list"), "c 1:3 rwm\nc 1:8 rwm\nc 136:* rwm\n");
    }

    DeviceProbe probe;
    ASSERT_GT(probe.pid, 0);
    auto j = m->add_process(probe.pid);
    ASSERT_TRUE(j) << j.error().what();
    for (const auto& [ctrl, dir] : p) EXPECT_EQ(proc_cgroup(probe.pid, ctrl), name) << ctrl;
    if (p.count("devices")) {
        EXPECT_EQ(probe.run(), "1P");  // /dev/null yes, /dev/zero EPERM
    }

    auto pids = m->pids();
    ASSERT_TRUE(pids) << pids.error().what();
    EXPECT_EQ(*pids, std::vector<pid_t>{probe.pid});

    if (p.count("freezer")) {
        auto f = m->freeze();
        ASSERT_TRUE(f) << f.error().what();
        EXPECT_EQ(trimmed(p["freezer"] + "/freezer.state"), "FROZEN");
        EXPECT_TRUE(*m->frozen());
        ASSERT_TRUE(m->thaw());
        EXPECT_FALSE(*m->frozen());
    }

    auto s = m->stats();
    ASSERT_TRUE(s) << s.error().what();
    if (p.count("memory")) {
        EXPECT_GT(s->memory.usage, 0u);
        EXPECT_EQ(s->memory.limit, uint64_t{64} << 20);
        EXPECT_FALSE(s->memory.raw.empty());
    }
    if (p.count("pids")) {
        EXPECT_EQ(s->pids.current, 1u);
        EXPECT_EQ(s->pids.limit, 50u);
    }
    if (p.count("cpuacct")) {
        EXPECT_FALSE(s->cpu.percpu.empty());
    }

    auto k = m->kill_all(SIGKILL);
    ASSERT_TRUE(k) << k.error().what();
    int st = probe.wait_exit();
    EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << st;

    auto d = m->destroy();
    ASSERT_TRUE(d) << d.error().what();
    for (const auto& [ctrl, dir] : p) EXPECT_FALSE(path_exists(dir)) << dir;
    EXPECT_TRUE(m->destroy());
}

TEST_F(HostCgroups, KillAllWithOtherSignalsFreezesAround) {
    CgroupCleanup cleanup;
    auto m = make("/" + unique_name("term"), cleanup);
    ASSERT_TRUE(m);
    ASSERT_TRUE(m->create());
    DeviceProbe probe;
    ASSERT_TRUE(m->add_process(probe.pid));
    auto k = m->kill_all(SIGTERM);
    ASSERT_TRUE(k) << k.error().what();
    int st = probe.wait_exit();
    EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) << st;
    if (m->paths().count("freezer")) {
        EXPECT_FALSE(*m->frozen());
    }
    ASSERT_TRUE(m->destroy());
}

TEST_F(HostCgroups, RelativePathGoesUnderTheOwnCgroup) {
    CgroupCleanup cleanup;
    std::string rel = unique_name("rel");
    auto m = make(rel, cleanup);
    ASSERT_TRUE(m);
    auto c = m->create();
    ASSERT_TRUE(c) << c.error().what();
    for (const auto& [ctrl, dir] : m->paths()) {
        std::string mount = ctrl.empty() ? layout_.v2_mount : layout_.v1_mounts.at(ctrl);
        auto own = layout_.own_paths.count(ctrl) ? layout_.own_paths.at(ctrl) : "/";
        EXPECT_EQ(dir, clean_path(mount + "/" + own + "/" + rel));
        EXPECT_TRUE(path_exists(dir)) << dir;
    }
    ASSERT_TRUE(m->destroy());
}

TEST_F(HostCgroups, UpdateRaisesAndLowersMemoryInTheKernelsOrder) {
    if (!layout_.v1_mounts.count("memory")) GTEST_SKIP() << "no v1 memory controller";
    if (!path_exists(layout_.v1_mounts.at("memory") + "/memory.memsw.limit_in_bytes"))
        GTEST_SKIP() << "no swap accounting (memory.memsw.*)";
    CgroupCleanup cleanup;
    auto m = make("/" + unique_name("mem"), cleanup);
    ASSERT_TRUE(m);
    ASSERT_TRUE(m->create());
    auto set = [&](int64_t limit, int64_t swap, bool update) {
        oci::Resources r;
        r.memory = oci::MemoryResources{};
        r.memory->limit = limit;
        r.memory->swap = swap;
        return update ? m->update(r) : m->apply(r);
    };
    std::string d = m->paths().at("memory");
    auto a = set(64 << 20, 128 << 20, false);
    ASSERT_TRUE(a) << a.error().what();
    auto up = set(256 << 20, 512 << 20, true);  // memsw must be raised first
    ASSERT_TRUE(up) << up.error().what();
    EXPECT_EQ(trimmed(d + "/memory.memsw.limit_in_bytes"), "536870912");
    auto down = set(32 << 20, 48 << 20, true);  // the limit must be lowered first
    ASSERT_TRUE(down) << down.error().what();
    EXPECT_EQ(trimmed(d + "/memory.limit_in_bytes"), "33554432");
    EXPECT_EQ(trimmed(d + "/memory.memsw.limit_in_bytes"), "50331648");
    auto unl = set(-1, 0, true);
    ASSERT_TRUE(unl) << unl.error().what();
    ASSERT_TRUE(m->destroy());
}

TEST_F(HostCgroups, DeviceUpdateMovesToTheNewListWithoutAResetWindow) {
    if (!layout_.v1_mounts.count("devices")) GTEST_SKIP() << "no v1 devices controller";
    CgroupCleanup cleanup;
    auto m = make("/" + unique_name("dev"), cleanup);
    ASSERT_TRUE(m);
    ASSERT_TRUE(m->create());
    oci::Resources r;
    r.devices = {{false, "a", std::nullopt, std::nullopt, "rwm"},
                 {true, "c", 1, 3, "rwm"},
                 {true, "c", 1, 5, "rwm"}};
    ASSERT_TRUE(m->apply(r));
    r.devices = {{false, "a", std::nullopt, std::nullopt, "rwm"},
                 {true, "c", 1, 3, "rw"},
                 {true, "c", 1, 9, "rwm"}};
    auto u = m->update(r);
    ASSERT_TRUE(u) << u.error().what();
    EXPECT_EQ(slurp(m->paths().at("devices") + "/devices.list"), "c 1:3 rw\nc 1:9 rwm\n");
    ASSERT_TRUE(m->destroy());
}

TEST_F(HostCgroups, KernelRejectionsNameFileAndValue) {
    if (!layout_.v1_mounts.count("cpuset")) GTEST_SKIP() << "no v1 cpuset controller";
    CgroupCleanup cleanup;
    auto m = make("/" + unique_name("err"), cleanup);
    ASSERT_TRUE(m);
    ASSERT_TRUE(m->create());
    oci::Resources r;
    r.cpu = oci::CpuResources{};
    r.cpu->cpus = "4095";
    auto bad = m->apply(r);
    ASSERT_FALSE(bad);
    std::string want = "write 4095 to " + m->paths().at("cpuset") + "/cpuset.cpus: ";
    EXPECT_NE(bad.error().what().find(want), std::string::npos) << bad.error().what();
    EXPECT_NE(bad.error().what().find("resources.cpu.cpus"), std::string::npos)
        << bad.error().what();
    ASSERT_TRUE(m->destroy());
}

TEST_F(HostCgroups, HybridHugetlbLivesInTheUnifiedTree) {
    if (layout_.v2_mount.empty() || layout_.v1_mounts.count("hugetlb"))
        GTEST_SKIP() << "not a hybrid host with hugetlb only in the unified tree";
    std::string root_ctrl = slurp(layout_.v2_mount + "/cgroup.controllers");
    if (root_ctrl.find("hugetlb") == std::string::npos) GTEST_SKIP() << "no hugetlb controller";
    if (!path_exists("/sys/kernel/mm/hugepages/hugepages-2048kB")) GTEST_SKIP() << "no 2MB pages";
    UnifiedRootLock lock;
    bool was_enabled =
        slurp(layout_.v2_mount + "/cgroup.subtree_control").find("hugetlb") != std::string::npos;
    CgroupCleanup cleanup;
    {
        auto m = make("/" + unique_name("huge"), cleanup);
        ASSERT_TRUE(m);
        ASSERT_TRUE(m->create());
        oci::Resources r;
        r.hugepage_limits = {{"2MB", 4 << 20}};
        auto a = m->apply(r);
        ASSERT_TRUE(a) << a.error().what();
        EXPECT_EQ(trimmed(m->paths().at("") + "/hugetlb.2MB.max"), "4194304");
        auto s = m->stats();
        ASSERT_TRUE(s) << s.error().what();
        EXPECT_EQ(s->hugetlb.count("2MB"), 1u);
        ASSERT_TRUE(m->destroy());
    }
    // Leave the host's unified root as it was (best effort: another user may need it now).
    if (!was_enabled)
        (void)detail::write_knob(layout_.v2_mount, "cgroup.subtree_control", "-hugetlb");
}

// ---- pure v2, in a private mount namespace ----

// Runs `body` in a forked child with a private mount namespace and a fresh cgroup2 mount;
// `body` returns failure messages (empty = pass) or "SKIP: why". Returns what the child said.
std::string run_in_v2_namespace(
    const std::function<std::vector<std::string>(const Layout&)>& body) {
    UnifiedRootLock lock;
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return "pipe failed";
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(p[0]);
        std::string out;
        auto finish = [&](const std::string& s) {
            (void)!::write(p[1], s.data(), s.size());
            _exit(0);
        };
        if (::unshare(CLONE_NEWNS) != 0)
            finish(std::string("SKIP: unshare(CLONE_NEWNS): ") + strerror(errno));
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
            finish(std::string("SKIP: make / rprivate: ") + strerror(errno));
        char tmpl[] = "/tmp/berth-test-cg2-XXXXXX";
        if (!::mkdtemp(tmpl)) finish("mkdtemp failed");
        std::string mnt = tmpl;
        if (::mount("cgroup2", mnt.c_str(), "cgroup2", 0, nullptr) != 0) {
            int e = errno;
            ::rmdir(mnt.c_str());
            finish(std::string("SKIP: mount cgroup2: ") + strerror(e));
        }
        Layout l;
        l.v2_mount = mnt;
        l.own_paths[""] = "/";
        // The manager enables controllers at the root of this hierarchy, which on a hybrid host
        // is the host's unified tree: put it back as it was afterwards (best effort).
        auto before = detail::split_controllers(slurp(mnt + "/cgroup.subtree_control"));
        std::vector<std::string> fails = body(l);
        for (const auto& c : detail::split_controllers(slurp(mnt + "/cgroup.subtree_control")))
            if (std::find(before.begin(), before.end(), c) == before.end())
                (void)detail::write_knob(mnt, "cgroup.subtree_control", "-" + c);
        ::umount2(mnt.c_str(), MNT_DETACH);
        ::rmdir(mnt.c_str());
        for (const auto& f : fails) out += f + "\n";
        finish(out);
    }
    ::close(p[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    ::close(p[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) out += fmt::format("child died: status {}\n", st);
    return out;
}

#define V2_CHECK(cond, ...)                                                         \
    do {                                                                            \
        if (!(cond))                                                                \
            fails.push_back(fmt::format("{}:{}: {}: ", __FILE__, __LINE__, #cond) + \
                            fmt::format(__VA_ARGS__));                              \
    } while (0)

class PureV2 : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root";
        // Where the same hierarchy shows on the host, to clean up if the child could not.
        auto l = detect_layout();
        if (l) host_v2_ = l->v2_mount;
        name_ = "/" + unique_name("v2");
    }
    void TearDown() override {
        if (!host_v2_.empty()) (void)detail::remove_cgroup_dir(host_v2_ + name_);
    }
    void expect_passed(const std::string& out) {
        if (out.rfind("SKIP: ", 0) == 0) GTEST_SKIP() << out.substr(6);
        EXPECT_EQ(out, "");
    }
    std::string host_v2_;
    std::string name_;
};

TEST_F(PureV2, LifecycleProcsFreezeKillStatsDestroy) {
    std::string name = name_;
    expect_passed(run_in_v2_namespace([&](const Layout& l) {
        std::vector<std::string> fails;
        auto mm = make_manager(l, {name, "c"});
        if (!mm) return std::vector<std::string>{mm.error().what()};
        auto& m = *mm;
        V2_CHECK(m->is_v2(), "not a v2 manager");
        std::string dir = m->paths().at("");
        ScopeExit cleanup([&] { (void)m->destroy(); });
        auto c = m->create();
        if (!c) return std::vector<std::string>{"create: " + c.error().what()};
        V2_CHECK(path_exists(dir + "/cgroup.procs"), "no {}", dir);
        // Every controller the tree offers is enabled for the container.
        std::string avail = trimmed(l.v2_mount + "/cgroup.controllers");
        V2_CHECK(trimmed(dir + "/cgroup.controllers") == avail, "controllers {:?} vs root {:?}",
                 trimmed(dir + "/cgroup.controllers"), avail);

        DeviceProbe probe;
        auto j = m->add_process(probe.pid);
        V2_CHECK(j, "add_process: {}", j ? "" : j.error().what());
        V2_CHECK(cgroup_line_has(probe.pid, "0::" + name + "\n"), "{}",
                 slurp(fmt::format("/proc/{}/cgroup", probe.pid)));
        auto pids = m->pids();
        V2_CHECK(pids && *pids == std::vector<pid_t>{probe.pid}, "pids");

        auto f = m->freeze();
        V2_CHECK(f, "freeze: {}", f ? "" : f.error().what());
        V2_CHECK(slurp(dir + "/cgroup.events").find("frozen 1") != std::string::npos, "events");
        auto fr = m->frozen();
        V2_CHECK(fr && *fr, "frozen() after freeze");
        auto t = m->thaw();
        V2_CHECK(t, "thaw: {}", t ? "" : t.error().what());
        fr = m->frozen();
        V2_CHECK(fr && !*fr, "frozen() after thaw");

        auto s = m->stats();
        V2_CHECK(s, "stats: {}", s ? "" : s.error().what());

        auto k = m->kill_all(SIGKILL);  // cgroup.kill on Linux 5.14+
        V2_CHECK(k, "kill_all: {}", k ? "" : k.error().what());
        int st = probe.wait_exit();
        V2_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "probe status {}", st);

        auto d = m->destroy();
        V2_CHECK(d, "destroy: {}", d ? "" : d.error().what());
        V2_CHECK(!path_exists(dir), "{} still exists", dir);
        return fails;
    }));
}

TEST_F(PureV2, DeviceProgramIsAttachedReplacedAndEnforced) {
    std::string name = name_;
    expect_passed(run_in_v2_namespace([&](const Layout& l) {
        std::vector<std::string> fails;
        auto mm = make_manager(l, {name, "c"});
        if (!mm) return std::vector<std::string>{mm.error().what()};
        auto& m = *mm;
        std::string dir = m->paths().at("");
        ScopeExit cleanup([&] { (void)m->destroy(); });
        auto c = m->create();
        if (!c) return std::vector<std::string>{"create: " + c.error().what()};
        DeviceProbe probe;
        V2_CHECK(m->add_process(probe.pid), "add_process");
        oci::Resources r;
        r.devices = {{false, "", std::nullopt, std::nullopt, "rwm"},
                     {true, "c", 1, 5, "rwm"},
                     {true, "c", 1, 3, "rwm"}};
        auto a = m->apply(r);
        if (!a) return std::vector<std::string>{"apply devices: " + a.error().what()};
        auto n = count_device_programs(dir);
        V2_CHECK(n && *n == 1, "programs after apply: {}",
                 n ? std::to_string(*n) : n.error().what());
        // Same list without /dev/zero: the program is replaced, not added to.
        r.devices = {{false, "", std::nullopt, std::nullopt, "rwm"}, {true, "c", 1, 3, "rwm"}};
        auto u = m->update(r);
        V2_CHECK(u, "update devices: {}", u ? "" : u.error().what());
        n = count_device_programs(dir);
        V2_CHECK(n && *n == 1, "programs after update: {} (old one not replaced)",
                 n ? std::to_string(*n) : n.error().what());
        std::string res = probe.run();
        V2_CHECK(res == "1P", "probe /dev/null,/dev/zero = {:?}, want 1P", res);
        probe.reap();
        auto d = m->destroy();
        V2_CHECK(d, "destroy: {}", d ? "" : d.error().what());
        return fails;
    }));
}

TEST_F(PureV2, HugetlbWhereTheTreeHasIt) {
    std::string name = name_;
    expect_passed(run_in_v2_namespace([&](const Layout& l) -> std::vector<std::string> {
        std::vector<std::string> fails;
        if (slurp(l.v2_mount + "/cgroup.controllers").find("hugetlb") == std::string::npos)
            return {"SKIP: the cgroup2 tree has no hugetlb controller"};
        if (!path_exists("/sys/kernel/mm/hugepages/hugepages-2048kB"))
            return {"SKIP: no 2MB huge pages"};
        {
            auto mm = make_manager(l, {name, "c"});
            if (!mm) return {mm.error().what()};
            auto& m = *mm;
            ScopeExit cleanup([&] { (void)m->destroy(); });
            auto c = m->create();
            if (!c) return {"create: " + c.error().what()};
            oci::Resources r;
            r.hugepage_limits = {{"2MB", 8 << 20}};
            auto a = m->apply(r);
            V2_CHECK(a, "apply: {}", a ? "" : a.error().what());
            V2_CHECK(trimmed(m->paths().at("") + "/hugetlb.2MB.max") == "8388608",
                     "hugetlb.2MB.max");
            auto s = m->stats();
            V2_CHECK(s && s->hugetlb.count("2MB"), "hugetlb stats");
            // What this hybrid host's unified tree lacks is refused with the field's name.
            if (slurp(l.v2_mount + "/cgroup.controllers").find("memory") == std::string::npos) {
                oci::Resources mem;
                mem.memory = oci::MemoryResources{};
                mem.memory->limit = 1 << 30;
                auto bad = m->update(mem);
                V2_CHECK(!bad && bad.error().what().find("memory.max") != std::string::npos,
                         "memory on a tree without the memory controller: {}",
                         bad ? "succeeded" : bad.error().what());
            }
        }
        return fails;
    }));
}

}  // namespace
}  // namespace berth::cgroups
