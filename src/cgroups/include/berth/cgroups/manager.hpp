#pragma once
// One interface over cgroup v1 (a hierarchy per controller), v2 (unified) and hybrid hosts
// (v1 controllers with a v2 tree beside them: v1 is used for every controller mounted there,
// the unified tree for the ones only it has, e.g. hugetlb on our machines).
//
// A Manager is bound to one container's cgroup. It never knows about containers beyond
// that (youki's libcgroups): the runtime hands it oci::Resources and pids.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/oci/spec.hpp"

namespace berth::cgroups {

/// Where the cgroup filesystems of this host are (read from /proc/self/mountinfo, or made up by
/// tests over a temporary directory).
struct Layout {
    /// v1: controller name ("memory", "cpu", "cpuacct", "name=systemd", ...) -> mount point.
    /// Co-mounted controllers ("cpu,cpuacct") appear once per controller, same mount point.
    std::map<std::string, std::string> v1_mounts;
    /// v2 mount point ("/sys/fs/cgroup" or "/sys/fs/cgroup/unified"), empty if none.
    std::string v2_mount;
    /// This process's own cgroup per v1 controller and for v2 ("" key), from /proc/self/cgroup;
    /// relative cgroupsPath values are joined to it.
    std::map<std::string, std::string> own_paths;

    [[nodiscard]] bool pure_v2() const noexcept { return v1_mounts.empty() && !v2_mount.empty(); }
};

/// Reads the layout of the calling process from /proc/self/mountinfo and /proc/self/cgroup.
[[nodiscard]] Result<Layout> detect_layout();

/// detect_layout() as it was the first time it succeeded in this process (and in the processes
/// forked after that, which share its cgroups): the host's cgroup mounts don't change under a
/// running daemon or its shims (containerd's cgroups.Mode() is read once likewise), and each
/// container's create and removal asked for it.
[[nodiscard]] Result<Layout> host_layout();

/// Parses mountinfo and /proc/<pid>/cgroup text (split out for unit tests).
[[nodiscard]] Result<Layout> parse_layout(const std::string& mountinfo, const std::string& proc_cgroup);

struct MemoryStats {
    uint64_t usage = 0, max_usage = 0, limit = 0, failcnt = 0;
    uint64_t swap_usage = 0, swap_limit = 0;
    uint64_t cache = 0;
    std::map<std::string, uint64_t> raw;  ///< memory.stat
};
struct CpuStats {
    uint64_t usage_total = 0, usage_user = 0, usage_kernel = 0;  ///< nanoseconds
    std::vector<uint64_t> percpu;
    uint64_t periods = 0, throttled_periods = 0, throttled_time = 0;
};
struct PidsStats {
    uint64_t current = 0, limit = 0;  ///< limit 0 = max
};
struct BlkioEntry {
    uint64_t major = 0, minor = 0;
    std::string op;
    uint64_t value = 0;
};
struct HugetlbStats {
    uint64_t usage = 0, max_usage = 0, failcnt = 0;
};
/// What `runc events --stats` reports (its "data" object).
struct Stats {
    CpuStats cpu;
    MemoryStats memory;
    PidsStats pids;
    std::vector<BlkioEntry> blkio_io_service_bytes_recursive;
    std::vector<BlkioEntry> blkio_io_serviced_recursive;
    std::map<std::string, HugetlbStats> hugetlb;  ///< by page size ("2MB")
    uint64_t oom_kill_count = 0;
};

/// How a new, single-threaded child can put itself into the cgroup (see self_join_plan()).
struct SelfJoin {
    /// v1 `tasks` files: writing "0" moves the writing thread. The kernel takes its global
    /// cgroup_threadgroup_rwsem only for whole-process or other-pid moves, and taking that lock
    /// costs an RCU grace period (10-15 ms here) whenever it was idle.
    std::vector<std::string> thread_files;
    /// A v2 directory (pure v2, or the unified one of a hybrid host) to clone3() the child into
    /// with CLONE_INTO_CGROUP, which needs no such lock either. Empty if none.
    std::string clone_into;
};

/// Options that pick and place a container's cgroup.
struct Options {
    std::string cgroups_path;  ///< linux.cgroupsPath; empty = relative "<id>" (runc's default)
    std::string id;            ///< container id
};

/// A container's cgroup across all controllers. Paths are computed at construction; nothing is
/// created until create().
class Manager {
public:
    virtual ~Manager() = default;

    /// Makes the cgroup directories (each controller, or the v2 dir with controllers enabled in
    /// its parents' subtree_control). AlreadyExists-safe. Errors carry the directory.
    [[nodiscard]] virtual Result<void> create() = 0;
    /// Writes every limit in `r` (the create-time set). InvalidArgument names the resource field
    /// and Unsupported a controller the host lacks, when the spec asks for it.
    /// Only controllers with values in `r` are touched. Devices: a non-empty list is applied
    /// from deny-all in order (v1: devices.deny "a", then the rules; v2: a BPF device program);
    /// an empty list leaves the device controller alone, so the caller passes the default
    /// device rules itself (as runc's specconv adds them).
    [[nodiscard]] virtual Result<void> apply(const oci::Resources& r) = 0;
    /// `update`: same as apply, but only the fields present change.
    [[nodiscard]] virtual Result<void> update(const oci::Resources& r) = 0;
    /// Moves a process (or, with threads=false, its whole thread group) into the cgroup.
    [[nodiscard]] virtual Result<void> add_process(pid_t pid) = 0;
    /// Prepares a join by the child itself (after create(); initialises what a join needs,
    /// e.g. cpuset.cpus/mems) and says how to do it. The caller must use it only for a
    /// single-threaded child that still has the creator's credentials when it writes the
    /// thread files; otherwise add_process().
    [[nodiscard]] virtual Result<SelfJoin> self_join_plan() = 0;
    /// Freezer: freeze() returns once the cgroup is FROZEN.
    [[nodiscard]] virtual Result<void> freeze() = 0;
    [[nodiscard]] virtual Result<void> thaw() = 0;
    [[nodiscard]] virtual Result<bool> frozen() = 0;
    /// Every pid in the cgroup (recursively).
    [[nodiscard]] virtual Result<std::vector<pid_t>> pids() = 0;
    /// Sends `sig` to every process in the cgroup (freezing around it so none escapes by forking).
    [[nodiscard]] virtual Result<void> kill_all(int sig) = 0;
    [[nodiscard]] virtual Result<Stats> stats() = 0;
    /// Removes the directories (children first), retrying on EBUSY briefly. NotFound is success.
    [[nodiscard]] virtual Result<void> destroy() = 0;
    /// Directory per controller ("" for the v2 dir), for the state file and for tests.
    [[nodiscard]] virtual std::map<std::string, std::string> paths() const = 0;
    /// True if the manager drives v2 (pure v2 host); false for v1 and hybrid.
    [[nodiscard]] virtual bool is_v2() const noexcept = 0;
};

/// Picks the manager for `layout` (v1/hybrid or v2) and computes the container's cgroup paths.
/// InvalidArgument for a cgroupsPath with ".." components or naming a hierarchy's root;
/// Unsupported for systemd "slice:prefix:name" syntax (no systemd driver yet) and for a host
/// without any cgroup filesystem.
[[nodiscard]] Result<std::unique_ptr<Manager>> make_manager(const Layout& layout, const Options& opts);

/// Re-opens a container's manager from paths() saved earlier (state file).
[[nodiscard]] Result<std::unique_ptr<Manager>> load_manager(const Layout& layout,
                                                            const std::map<std::string, std::string>& paths);

}  // namespace berth::cgroups
