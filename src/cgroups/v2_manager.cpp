// cgroup v2 manager: one directory in the unified tree (runc's fs2, crun's cgroup-v2 paths).

#include <signal.h>

#include <limits>

#include "berth/cgroups/device_filter.hpp"
#include "berth/common/log.hpp"
#include "berth/common/strings.hpp"
#include "cgroup_fs.hpp"
#include "managers.hpp"
#include "stats.hpp"
#include "v2_ops.hpp"

namespace berth::cgroups::detail {

uint64_t shares_to_weight(uint64_t shares) noexcept {
    if (shares == 0) return 0;
    if (shares < 2) shares = 2;  // the v1 kernel clamps the same way; avoids underflow
    return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) noexcept {
    if (weight == 0) return 0;
    if (weight < 10) weight = 10;
    return 1 + (weight - 10) * 9999 / 990;
}

Result<int64_t> swap_to_v2(int64_t memory_swap, int64_t memory) {
    // The spec's swap is memory+swap (v1's memsw); v2's memory.swap.max is swap alone.
    if (memory == -1 && memory_swap == 0) return -1;  // "unlimited memory" means both
    if (memory_swap == -1 || memory_swap == 0) return memory_swap;
    if (memory == -1) return memory_swap;
    if (memory == 0)
        return make_error(Errc::InvalidArgument,
                          "resources.memory.swap: unable to set swap limit without memory limit");
    if (memory < 0)
        return make_error(Errc::InvalidArgument, "resources.memory.limit: invalid value {}",
                          memory);
    if (memory_swap < memory)
        return make_error(
            Errc::InvalidArgument,
            "resources.memory.swap: memory+swap limit {} should be >= memory limit {}", memory_swap,
            memory);
    return memory_swap - memory;
}

namespace {

// runc's numToStr: 0 = leave alone, -1 = "max".
std::string v2_num(int64_t v) {
    if (v == 0) return "";
    if (v == -1) return "max";
    return std::to_string(v);
}

}  // namespace

Result<void> signal_all(Manager& m, int sig, bool can_freeze) {
    bool frozen = false;
    if (can_freeze) {
        auto f = m.freeze();
        if (f)
            frozen = true;
        else
            BLOG_WARN("kill_all: freeze failed, signalling anyway: {}", f.error().what());
    }
    auto pids = m.pids();
    Result<void> res;
    if (pids) {
        for (pid_t p : *pids) {
            if (::kill(p, sig) != 0 && errno != ESRCH && res)
                res = BERTH_SYS_ERROR("kill({}, {})", p, sig);
        }
    } else {
        res = Unexpected(std::move(pids).error());
    }
    if (frozen) {
        auto t = m.thaw();
        if (!t && res) res = std::move(t);
    }
    return res;
}

V2Manager::V2Manager(std::string mount, std::string dir)
    : mount_(std::move(mount)), dir_(std::move(dir)) {}

Result<void> V2Manager::create() {
    // Enable every controller the tree offers, as runc and crun do: stats and later updates
    // need them, and a parent level can only enable them while it has no processes.
    std::vector<std::string> ctrls;
    if (auto avail = read_knob(mount_, "cgroup.controllers")) ctrls = split_controllers(*avail);
    BERTH_TRY(make_dirs(dir_, mount_));
    BERTH_TRY_CTX(enable_controllers(mount_, dir_, ctrls), "create cgroup {}", dir_);
    return {};
}

Result<void> V2Manager::set_memory(const oci::MemoryResources& m, bool update) {
    int64_t limit = m.limit.value_or(0);
    int64_t swap_spec = m.swap.value_or(0);
    if (update && m.check_before_update.value_or(false) && limit > 0) {
        uint64_t cur = BERTH_TRY(read_knob_uint(dir_, "memory.current"));
        if (cur > static_cast<uint64_t>(limit))
            return make_error(Errc::Conflict,
                              "resources.memory.limit: rejecting memory limit {} below current "
                              "usage {} of {}",
                              limit, cur, dir_);
    }
    int64_t swap = BERTH_TRY(swap_to_v2(swap_spec, limit));
    std::string swap_str = v2_num(swap);
    if (swap_str.empty() && swap == 0 && swap_spec > 0) swap_str = "0";  // memory == memory+swap
    if (!swap_str.empty()) {
        auto r = write_knob(dir_, "memory.swap.max", swap_str);
        if (!r) {
            // No swap accounting: "no swap limit" and "no swap" need nothing (runc too).
            if (!(is_enoent(r.error()) && (swap_str == "max" || swap_str == "0"))) {
                if (is_enoent(r.error()))
                    return make_error(Errc::Unsupported,
                                      "resources.memory.swap: {} has no memory.swap.max (kernel "
                                      "without swap accounting)",
                                      dir_);
                return Unexpected(std::move(r).error().wrap("resources.memory.swap"));
            }
        }
    }
    if (auto v = v2_num(limit); !v.empty())
        BERTH_TRY_CTX(write_knob(dir_, "memory.max", v), "resources.memory.limit");
    if (auto v = v2_num(m.reservation.value_or(0)); !v.empty())
        BERTH_TRY_CTX(write_knob(dir_, "memory.low", v), "resources.memory.reservation");
    // v2 has no per-cgroup swappiness, OOM-killer switch or kernel memory limit; runc ignores
    // these on v2 as well.
    if (m.swappiness && *m.swappiness != std::numeric_limits<uint64_t>::max())
        BLOG_DEBUG("cgroup v2: ignoring resources.memory.swappiness for {}", dir_);
    if (m.disable_oom_killer.value_or(false))
        BLOG_DEBUG("cgroup v2: ignoring resources.memory.disableOOMKiller for {}", dir_);
    return {};
}

Result<void> V2Manager::set_cpu(const oci::CpuResources& c, bool update) {
    if (c.realtime_runtime.value_or(0) != 0 || c.realtime_period.value_or(0) != 0)
        return make_error(Errc::Unsupported,
                          "resources.cpu.realtimeRuntime/realtimePeriod: real-time limits are not "
                          "supported on cgroup v2");
    if (c.idle)
        BERTH_TRY_CTX(write_knob(dir_, "cpu.idle", std::to_string(*c.idle)), "resources.cpu.idle");
    if (uint64_t w = shares_to_weight(c.shares.value_or(0)); w != 0)
        BERTH_TRY_CTX(write_knob(dir_, "cpu.weight", std::to_string(w)), "resources.cpu.shares");
    int64_t quota = c.quota.value_or(0);
    uint64_t period = c.period.value_or(0);
    if (quota != 0 || period != 0) {
        std::string max;
        if (quota > 0) {
            max = std::to_string(quota);
        } else if (quota == 0 && update) {
            // Only the period changes: keep the quota that is there.
            auto cur = BERTH_TRY(read_knob(dir_, "cpu.max"));
            auto f = fields(cur);
            max = f.empty() ? "max" : std::string(f[0]);
        } else {
            max = "max";
        }
        if (period != 0) max += " " + std::to_string(period);
        auto write_burst = [&]() -> Result<void> {
            return write_knob(dir_, "cpu.max.burst", std::to_string(*c.burst));
        };
        // The burst must not exceed the quota: when lowering both, the burst goes first.
        bool burst_done = false;
        if (c.burst && write_burst()) burst_done = true;
        BERTH_TRY_CTX(write_knob(dir_, "cpu.max", max), "resources.cpu.quota/period");
        if (c.burst && !burst_done) BERTH_TRY_CTX(write_burst(), "resources.cpu.burst");
    } else if (c.burst) {
        BERTH_TRY_CTX(write_knob(dir_, "cpu.max.burst", std::to_string(*c.burst)),
                      "resources.cpu.burst");
    }
    if (!c.cpus.empty())
        BERTH_TRY_CTX(write_knob(dir_, "cpuset.cpus", c.cpus), "resources.cpu.cpus");
    if (!c.mems.empty())
        BERTH_TRY_CTX(write_knob(dir_, "cpuset.mems", c.mems), "resources.cpu.mems");
    return {};
}

Result<void> V2Manager::set_io(const oci::BlockIoResources& b) {
    // BFQ takes the v1 weight range directly; without it, io.weight with runc's conversion.
    bool bfq = true;
    if (uint16_t w = b.weight.value_or(0); w != 0) {
        auto r = write_knob(dir_, "io.bfq.weight", std::to_string(w));
        if (!r && is_enoent(r.error())) {
            bfq = false;
            r = write_knob(dir_, "io.weight", std::to_string(blkio_weight_to_io_weight(w)));
        }
        BERTH_TRY_CTX(std::move(r), "resources.blockIO.weight");
    }
    if (b.leaf_weight.value_or(0) != 0)
        BLOG_DEBUG("cgroup v2: ignoring resources.blockIO.leafWeight for {}", dir_);
    if (!b.weight_device.empty()) {
        KnobWriter bfqw(dir_, "io.bfq.weight"), iow(dir_, "io.weight");
        for (const auto& wd : b.weight_device) {
            if (!wd.weight) continue;
            std::string dev = fmt::format("{}:{}", wd.major, wd.minor);
            Result<void> r = make_error(Errc::NotFound, "");
            if (bfq) {
                r = bfqw.write(dev + " " + std::to_string(*wd.weight));
                if (!r && is_enoent(r.error())) bfq = false;
            }
            if (!bfq)
                r = iow.write(dev + " " + std::to_string(blkio_weight_to_io_weight(*wd.weight)));
            BERTH_TRY_CTX(std::move(r), "resources.blockIO.weightDevice");
        }
    }
    KnobWriter io_max(dir_, "io.max");
    auto throttle = [&](const std::vector<oci::ThrottleDevice>& devs, const char* key,
                        const char* field) -> Result<void> {
        for (const auto& d : devs) {
            // 0 means "no limit" in the spec (as in v1); io.max spells that "max".
            std::string rate = d.rate == 0 ? "max" : std::to_string(d.rate);
            BERTH_TRY_CTX(io_max.write(fmt::format("{}:{} {}={}", d.major, d.minor, key, rate)),
                          "resources.blockIO.{}", field);
        }
        return {};
    };
    BERTH_TRY(throttle(b.throttle_read_bps_device, "rbps", "throttleReadBpsDevice"));
    BERTH_TRY(throttle(b.throttle_write_bps_device, "wbps", "throttleWriteBpsDevice"));
    BERTH_TRY(throttle(b.throttle_read_iops_device, "riops", "throttleReadIOPSDevice"));
    BERTH_TRY(throttle(b.throttle_write_iops_device, "wiops", "throttleWriteIOPSDevice"));
    return {};
}

Result<void> V2Manager::set(const oci::Resources& r, bool update) {
    // Check everything that can be checked before writing anything.
    for (const auto& [k, v] : r.unified) BERTH_TRY(check_unified_key(k));
    if (r.network && (r.network->class_id || !r.network->priorities.empty()))
        return make_error(Errc::Unsupported,
                          "resources.network: net_cls/net_prio do not exist on cgroup v2");
    std::optional<DeviceState> devices;
    if (!r.devices.empty()) devices = BERTH_TRY(emulate_device_rules(r.devices));

    if (r.pids) {
        std::string v = r.pids->limit > 0 ? std::to_string(r.pids->limit) : "max";
        BERTH_TRY_CTX(write_knob(dir_, "pids.max", v), "resources.pids.limit");
    }
    if (r.memory) BERTH_TRY(set_memory(*r.memory, update));
    if (r.block_io) BERTH_TRY(set_io(*r.block_io));
    if (r.cpu) BERTH_TRY(set_cpu(*r.cpu, update));
    if (devices)
        BERTH_TRY_CTX(attach_device_program(dir_, build_device_program(*devices)),
                      "resources.devices");
    if (!r.hugepage_limits.empty()) BERTH_TRY(v2_set_hugetlb(dir_, r.hugepage_limits));
    // Last, so that raw values win over the converted ones (runc's order).
    if (!r.unified.empty()) BERTH_TRY(v2_set_unified(dir_, r.unified));
    return {};
}

Result<void> V2Manager::add_process(pid_t pid) { return join_cgroup(dir_, pid); }

Result<SelfJoin> V2Manager::self_join_plan() {
    SelfJoin plan;
    plan.clone_into = dir_;
    return plan;
}

Result<void> V2Manager::freeze() { return v2_set_frozen(dir_, true); }
Result<void> V2Manager::thaw() { return v2_set_frozen(dir_, false); }
Result<bool> V2Manager::frozen() { return v2_frozen(dir_); }

Result<std::vector<pid_t>> V2Manager::pids() {
    std::vector<pid_t> out;
    BERTH_TRY(collect_pids(dir_, out));
    return out;
}

Result<void> V2Manager::kill_all(int sig) {
    if (sig == SIGKILL) {
        // Linux 5.14+: the kernel kills the whole subtree, forks included, in one write.
        auto r = write_knob(dir_, "cgroup.kill", "1");
        if (r || !is_enoent(r.error())) return r;
    }
    return signal_all(*this, sig, true);
}

Result<Stats> V2Manager::stats() {
    Stats s;
    BERTH_TRY(v2_memory_stats(dir_, s));
    BERTH_TRY(v2_cpu_stats(dir_, s));
    BERTH_TRY(pids_stats(dir_, s));
    BERTH_TRY(v2_io_stats(dir_, s));
    BERTH_TRY(v2_hugetlb_stats(dir_, s));
    return s;
}

Result<void> V2Manager::destroy() { return remove_cgroup_dir(dir_); }

}  // namespace berth::cgroups::detail
