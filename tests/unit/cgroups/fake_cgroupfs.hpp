#pragma once
// A fake cgroup filesystem for unit tests: a temporary directory with one "mount point" per
// v1 controller and/or a unified one, holding regular files where the kernel would have its
// knobs. New cgroup directories get their knobs through the managers' after_mkdir test hook,
// as the kernel populates them; tests then read what the managers wrote.

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "berth/cgroups/manager.hpp"
#include "berth/common/fs.hpp"
#include "cgroup_fs.hpp"

namespace berth::cgroups::testing {

enum class FakeMode { V1, Hybrid, V2 };

class FakeCgroupFs {
public:
    explicit FakeCgroupFs(FakeMode mode, std::string own_path = "/") : mode_(mode) {
        // tmpfs when there is one: the fake makes hundreds of small files per test, which
        // a virtual disk makes slow.
        std::string tmpl = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm/berth-cgfake-XXXXXX"
                                                           : "/tmp/berth-cgfake-XXXXXX";
        root_ = ::mkdtemp(tmpl.data());
        if (mode != FakeMode::V2) {
            for (const char* c : {"cpu,cpuacct", "cpuset", "memory", "devices", "freezer", "blkio",
                                  "pids", "hugetlb", "net_cls,net_prio", "systemd"}) {
                std::string dir = root_ + "/" + c;
                ::mkdir(dir.c_str(), 0755);
                std::string ctrls = c;
                if (ctrls == "hugetlb" && mode == FakeMode::Hybrid) continue;
                if (ctrls == "systemd") ctrls = "name=systemd";
                std::stringstream ss(ctrls);
                for (std::string x; std::getline(ss, x, ',');) {
                    layout_.v1_mounts[x] = dir;
                    layout_.own_paths[x] = own_path;
                    mount_ctrls_[dir].push_back(x);
                }
                populate(dir, true);
            }
        }
        if (mode != FakeMode::V1) {
            std::string dir = root_ + (mode == FakeMode::V2 ? "/unified2" : "/unified");
            ::mkdir(dir.c_str(), 0755);
            layout_.v2_mount = dir;
            layout_.own_paths[""] = own_path;
            populate(dir, true);
        }
        auto& hooks = detail::test_hooks();
        hooks.after_mkdir = [this](const std::string& d) { populate(d, false); };
        hooks.attach_device_program = [this](const std::string& d,
                                             const std::vector<BpfInsn>& prog) -> Result<void> {
            programs_[d] = prog;
            return {};
        };
        // The own cgroup (relative paths are joined to it) exists, as on a real host.
        for (const auto& [c, m] : layout_.v1_mounts) make_existing(m + own_path);
        if (!layout_.v2_mount.empty()) make_existing(layout_.v2_mount + own_path);
    }

    ~FakeCgroupFs() {
        detail::test_hooks() = {};
        (void)remove_all(root_);
    }
    FakeCgroupFs(const FakeCgroupFs&) = delete;
    FakeCgroupFs& operator=(const FakeCgroupFs&) = delete;

    [[nodiscard]] const Layout& layout() const { return layout_; }
    [[nodiscard]] const std::string& root() const { return root_; }
    [[nodiscard]] FakeMode mode() const { return mode_; }

    /// Files populate() leaves out, by name ("memory.memsw.limit_in_bytes"): a missing
    /// kernel feature.
    std::set<std::string> missing;

    /// Device programs "attached" per directory.
    std::map<std::string, std::vector<BpfInsn>> programs_;

    static std::string read(const std::string& path) {
        std::ifstream f(path);
        std::stringstream ss;
        ss << f.rdbuf();
        return ss.str();
    }
    static void write(const std::string& path, const std::string& data) {
        std::ofstream f(path, std::ios::trunc);
        f << data;
    }
    static bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

    /// Creates a cgroup directory (and parents) as if it had existed before the test.
    void make_existing(const std::string& dir) {
        if (exists(dir)) return;
        make_existing(dirname_of(dir));
        ::mkdir(dir.c_str(), 0755);
        populate(dir, false);
        // Pre-existing cpusets are initialised, as the kernel would require of a used one.
        if (exists(dir + "/cpuset.cpus") && mode_ != FakeMode::V2) {
            write(dir + "/cpuset.cpus", "0-1\n");
            write(dir + "/cpuset.mems", "0\n");
        }
    }

    /// Sets every file's mtime to the epoch, so untouched() can tell what was written since.
    void reset_mtimes() {
        walk(root_, [](const std::string& p) { set_epoch(p); });
    }
    /// Files written since reset_mtimes().
    std::vector<std::string> touched() const {
        std::vector<std::string> out;
        walk(root_, [&](const std::string& p) {
            struct stat st {};
            if (::stat(p.c_str(), &st) == 0 && st.st_mtim.tv_sec != 0) out.push_back(p);
        });
        return out;
    }

private:
    template <class F>
    static void walk(const std::string& dir, F&& f) {
        DIR* d = ::opendir(dir.c_str());
        if (!d) return;
        std::vector<std::string> subs;
        while (struct dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n == "." || n == "..") continue;
            if (e->d_type == DT_DIR)
                subs.push_back(dir + "/" + n);
            else
                f(dir + "/" + n);
        }
        ::closedir(d);
        for (const auto& s : subs) walk(s, f);
    }
    static void set_epoch(const std::string& p) {
        struct timespec ts[2] = {{0, 0}, {0, 0}};
        ::utimensat(AT_FDCWD, p.c_str(), ts, 0);
    }

    // Which mount a directory is under.
    std::string mount_of(const std::string& dir) const {
        std::string best;
        auto consider = [&](const std::string& m) {
            if (dir.compare(0, m.size(), m) == 0 &&
                (dir.size() == m.size() || dir[m.size()] == '/') && m.size() > best.size())
                best = m;
        };
        for (const auto& [m, c] : mount_ctrls_) consider(m);
        if (!layout_.v2_mount.empty()) consider(layout_.v2_mount);
        return best;
    }

    void put(const std::string& dir, const std::string& name, const std::string& content) {
        if (missing.count(name)) return;
        write(dir + "/" + name, content);
    }

    void populate(const std::string& dir, bool is_root) {
        std::string m = mount_of(dir);
        if (m.empty()) return;
        put(dir, "cgroup.procs", "");
        if (m == layout_.v2_mount) {
            populate_v2(dir, is_root);
            return;
        }
        put(dir, "tasks", "");
        put(dir, "notify_on_release", "0\n");
        for (const auto& c : mount_ctrls_.at(m)) populate_v1(dir, c, is_root);
    }

    void populate_v1(const std::string& d, const std::string& c, bool is_root) {
        const std::string unlimited = "9223372036854771712\n";
        if (c == "memory") {
            put(d, "memory.limit_in_bytes", unlimited);
            put(d, "memory.memsw.limit_in_bytes", unlimited);
            put(d, "memory.soft_limit_in_bytes", unlimited);
            put(d, "memory.swappiness", "60\n");
            put(d, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
            put(d, "memory.usage_in_bytes", "0\n");
            put(d, "memory.max_usage_in_bytes", "0\n");
            put(d, "memory.failcnt", "0\n");
            put(d, "memory.memsw.usage_in_bytes", "0\n");
            put(d, "memory.stat", "cache 0\nrss 0\n");
        } else if (c == "cpu") {
            put(d, "cpu.shares", "1024\n");
            put(d, "cpu.cfs_quota_us", "-1\n");
            put(d, "cpu.cfs_period_us", "100000\n");
            put(d, "cpu.cfs_burst_us", "0\n");
            put(d, "cpu.idle", "0\n");
            put(d, "cpu.rt_runtime_us", "0\n");
            put(d, "cpu.rt_period_us", "1000000\n");
            put(d, "cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n");
        } else if (c == "cpuacct") {
            put(d, "cpuacct.usage", "0\n");
            put(d, "cpuacct.usage_percpu", "0 0 \n");
            put(d, "cpuacct.stat", "user 0\nsystem 0\n");
        } else if (c == "cpuset") {
            put(d, "cpuset.cpus", is_root ? "0-1\n" : "\n");
            put(d, "cpuset.mems", is_root ? "0\n" : "\n");
        } else if (c == "devices") {
            put(d, "devices.allow", "");
            put(d, "devices.deny", "");
            put(d, "devices.list", "a *:* rwm\n");
        } else if (c == "freezer") {
            // No freezer.self_freezing: a plain file could not follow freezer.state, and
            // without it the manager trusts freezer.state (as on old kernels).
            if (!is_root) put(d, "freezer.state", "THAWED\n");
        } else if (c == "blkio") {
            put(d, "blkio.weight", "500\n");
            put(d, "blkio.weight_device", "");
            put(d, "blkio.leaf_weight", "500\n");
            put(d, "blkio.leaf_weight_device", "");
            put(d, "blkio.bfq.weight", "100\n");
            put(d, "blkio.bfq.weight_device", "");
            for (const char* t :
                 {"read_bps_device", "write_bps_device", "read_iops_device", "write_iops_device"})
                put(d, std::string("blkio.throttle.") + t, "");
            put(d, "blkio.io_serviced_recursive", "Total 0\n");
            put(d, "blkio.io_service_bytes_recursive", "Total 0\n");
            put(d, "blkio.throttle.io_serviced_recursive", "Total 0\n");
            put(d, "blkio.throttle.io_service_bytes_recursive", "Total 0\n");
        } else if (c == "pids") {
            put(d, "pids.max", "max\n");
            put(d, "pids.current", "0\n");
        } else if (c == "hugetlb") {
            put(d, "hugetlb.2MB.limit_in_bytes", unlimited);
            put(d, "hugetlb.2MB.usage_in_bytes", "0\n");
            put(d, "hugetlb.2MB.max_usage_in_bytes", "0\n");
            put(d, "hugetlb.2MB.failcnt", "0\n");
        } else if (c == "net_cls") {
            put(d, "net_cls.classid", "0\n");
        } else if (c == "net_prio") {
            put(d, "net_prio.ifpriomap", "lo 0\n");
        }
    }

    void populate_v2(const std::string& d, bool is_root) {
        bool hybrid = mode_ == FakeMode::Hybrid;
        put(d, "cgroup.controllers", hybrid ? "hugetlb\n" : "cpuset cpu io memory hugetlb pids\n");
        put(d, "cgroup.subtree_control", "");
        put(d, "cgroup.threads", "");
        if (!is_root) {
            put(d, "cgroup.freeze", "0\n");
            put(d, "cgroup.events", "populated 0\nfrozen 0\n");
            put(d, "cgroup.kill", "");
        }
        put(d, "hugetlb.2MB.max", "max\n");
        put(d, "hugetlb.2MB.current", "0\n");
        put(d, "hugetlb.2MB.events", "max 0\n");
        if (hybrid || is_root) return;
        put(d, "memory.max", "max\n");
        put(d, "memory.low", "0\n");
        put(d, "memory.swap.max", "max\n");
        put(d, "memory.current", "0\n");
        put(d, "memory.peak", "0\n");
        put(d, "memory.swap.current", "0\n");
        put(d, "memory.stat", "anon 0\nfile 0\n");
        put(d, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
        put(d, "cpu.weight", "100\n");
        put(d, "cpu.max", "max 100000\n");
        put(d, "cpu.max.burst", "0\n");
        put(d, "cpu.idle", "0\n");
        put(d, "cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\n");
        put(d, "cpuset.cpus", "");
        put(d, "cpuset.mems", "");
        put(d, "pids.max", "max\n");
        put(d, "pids.current", "0\n");
        put(d, "io.max", "");
        put(d, "io.weight", "default 100\n");
        put(d, "io.stat", "");
    }

    FakeMode mode_;
    std::string root_;
    Layout layout_;
    std::map<std::string, std::vector<std::string>> mount_ctrls_;  // mount -> controllers
};

/// Records, through inotify, which files of some directories were opened and written, in
/// order: lets tests check the order of writes and that nothing else was touched.
class WriteLog {
public:
    explicit WriteLog(const std::vector<std::string>& dirs)
        : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
        for (const auto& d : dirs) {
            int wd = ::inotify_add_watch(fd_, d.c_str(), IN_MODIFY | IN_OPEN);
            if (wd >= 0) dirs_[wd] = d;
        }
    }
    ~WriteLog() { ::close(fd_); }
    WriteLog(const WriteLog&) = delete;
    WriteLog& operator=(const WriteLog&) = delete;

    /// Paths written since construction (or the last call), consecutive repeats collapsed.
    std::vector<std::string> writes() {
        drain();
        return std::exchange(writes_, {});
    }
    /// Number of files opened since construction (or the last call).
    int opens() {
        drain();
        return std::exchange(opens_, 0);
    }

private:
    void drain() {
        alignas(struct inotify_event) char buf[65536];
        for (;;) {
            ssize_t n = ::read(fd_, buf, sizeof buf);
            if (n <= 0) return;
            for (char* p = buf; p < buf + n;) {
                auto* ev = reinterpret_cast<struct inotify_event*>(p);
                p += sizeof(struct inotify_event) + ev->len;
                if (ev->len == 0 || (ev->mask & IN_ISDIR)) continue;
                std::string path = dirs_[ev->wd] + "/" + ev->name;
                if (ev->mask & IN_OPEN) ++opens_;
                if ((ev->mask & IN_MODIFY) && (writes_.empty() || writes_.back() != path))
                    writes_.push_back(path);
            }
        }
    }

    int fd_;
    std::map<int, std::string> dirs_;
    std::vector<std::string> writes_;
    int opens_ = 0;
};

/// Plays the kernel's part of the v2 freezer for a fake directory: mirrors cgroup.freeze into
/// cgroup.events until destroyed.
class FreezerEmulator {
public:
    explicit FreezerEmulator(std::string dir) : dir_(std::move(dir)) {
        thread_ = std::thread([this] {
            while (!stop_) {
                std::string f = FakeCgroupFs::read(dir_ + "/cgroup.freeze");
                if (!f.empty()) {
                    std::string want = std::string("populated 0\nfrozen ") + f[0] + "\n";
                    if (FakeCgroupFs::read(dir_ + "/cgroup.events") != want)
                        FakeCgroupFs::write(dir_ + "/cgroup.events", want);
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        });
    }
    ~FreezerEmulator() {
        stop_ = true;
        thread_.join();
    }

private:
    std::string dir_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace berth::cgroups::testing
