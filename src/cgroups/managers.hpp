#pragma once
// The two Manager implementations. Private: the runtime gets them through make_manager().

#include <map>
#include <set>
#include <string>

#include "berth/cgroups/manager.hpp"

namespace berth::cgroups::detail {

/// cgroup v1: one directory per mounted controller. On a hybrid host it also owns a directory
/// in the unified tree (paths()[""]): processes join it too, and the controllers that only
/// the unified tree has (hugetlb on our machines) are driven there.
class V1Manager final : public Manager {
public:
    /// `paths`: controller -> directory ("" = unified directory on a hybrid host); `layout`
    /// gives the mount points (the upper limit of directory creation and of the cpuset walk).
    V1Manager(const Layout& layout, std::map<std::string, std::string> paths);

    Result<void> create() override;
    Result<void> apply(const oci::Resources& r) override { return set(r, false); }
    Result<void> update(const oci::Resources& r) override { return set(r, true); }
    Result<void> add_process(pid_t pid) override;
    Result<SelfJoin> self_join_plan() override;
    Result<void> freeze() override;
    Result<void> thaw() override;
    Result<bool> frozen() override;
    Result<std::vector<pid_t>> pids() override;
    Result<void> kill_all(int sig) override;
    Result<Stats> stats() override;
    Result<void> destroy() override;
    std::map<std::string, std::string> paths() const override { return paths_; }
    bool is_v2() const noexcept override { return false; }

private:
    [[nodiscard]] Result<void> set(const oci::Resources& r, bool update);
    [[nodiscard]] Result<void> set_memory(const oci::MemoryResources& m, bool update);
    [[nodiscard]] Result<void> set_cpu(const oci::CpuResources& c);
    [[nodiscard]] Result<void> set_blkio(const oci::BlockIoResources& b);
    [[nodiscard]] Result<void> set_hugetlb(const std::vector<oci::HugepageLimit>& limits);
    [[nodiscard]] Result<void> set_network(const oci::NetworkResources& n);
    [[nodiscard]] Result<void> set_devices(const std::vector<oci::DeviceCgroupRule>& rules,
                                           bool update);
    [[nodiscard]] Result<void> set_unified(const std::map<std::string, std::string>& unified);
    [[nodiscard]] Result<void> set_freezer(bool frozen);
    /// Gives a cpuset directory cpus and mems (copied from the nearest ancestor that has them).
    [[nodiscard]] Result<void> init_cpuset(const std::string& dir, bool known_empty);
    /// The unified directory with `ctrl` enabled in it, or Unsupported.
    [[nodiscard]] Result<std::string> unified_dir_with(const std::string& ctrl, const char* field);
    /// Directory of a controller, or nullptr if it is not mounted.
    [[nodiscard]] const std::string* dir(const std::string& ctrl) const;
    /// Same, or Unsupported naming the spec field that needs it.
    [[nodiscard]] Result<std::string> need(const std::string& ctrl, const char* field) const;
    /// Every distinct directory (co-mounted controllers share one), unified last.
    [[nodiscard]] std::vector<std::string> unique_dirs() const;

    std::map<std::string, std::string> paths_;
    std::map<std::string, std::string> mounts_;  // controller -> mount point ("" = unified)
    std::set<std::string> fresh_;                // directories create() made
    std::set<std::string> unified_enabled_;      // controllers known enabled for paths_[""]
    bool cpuset_pending_ = false;                // leaf cpuset not yet given cpus/mems
};

/// cgroup v2 (pure v2 host): one directory.
class V2Manager final : public Manager {
public:
    V2Manager(std::string mount, std::string dir);

    Result<void> create() override;
    Result<void> apply(const oci::Resources& r) override { return set(r, false); }
    Result<void> update(const oci::Resources& r) override { return set(r, true); }
    Result<void> add_process(pid_t pid) override;
    Result<SelfJoin> self_join_plan() override;
    Result<void> freeze() override;
    Result<void> thaw() override;
    Result<bool> frozen() override;
    Result<std::vector<pid_t>> pids() override;
    Result<void> kill_all(int sig) override;
    Result<Stats> stats() override;
    Result<void> destroy() override;
    std::map<std::string, std::string> paths() const override { return {{"", dir_}}; }
    bool is_v2() const noexcept override { return true; }

private:
    [[nodiscard]] Result<void> set(const oci::Resources& r, bool update);
    [[nodiscard]] Result<void> set_memory(const oci::MemoryResources& m, bool update);
    [[nodiscard]] Result<void> set_cpu(const oci::CpuResources& c, bool update);
    [[nodiscard]] Result<void> set_io(const oci::BlockIoResources& b);

    std::string mount_;
    std::string dir_;
};

/// Signals every pid of a manager, freezing around it so that no process escapes by forking
/// (runc's signalAllProcesses). A freeze failure is logged and the signals are sent anyway.
[[nodiscard]] Result<void> signal_all(Manager& m, int sig, bool can_freeze);

/// runc's conversions between the v1-shaped spec and v2 files.
[[nodiscard]] uint64_t shares_to_weight(uint64_t shares) noexcept;
[[nodiscard]] uint64_t blkio_weight_to_io_weight(uint64_t weight) noexcept;
/// memory.swap.max from the spec's memory+swap; InvalidArgument as runc's messages.
[[nodiscard]] Result<int64_t> swap_to_v2(int64_t memory_swap, int64_t memory);

}  // namespace berth::cgroups::detail
