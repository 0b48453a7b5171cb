// cgroup v1 manager (runc's libcontainer/cgroups/fs), with the unified directory of a hybrid
// host alongside.

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <thread>

#include "berth/cgroups/device_filter.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/strings.hpp"
#include "cgroup_fs.hpp"
#include "managers.hpp"
#include "stats.hpp"
#include "v2_ops.hpp"

namespace berth::cgroups::detail {
namespace {

constexpr uint64_t kMinShares = 2, kMaxShares = 262144;

Unexpected not_mounted(const std::string& ctrl, const char* field) {
    return make_error(Errc::Unsupported,
                      "cannot set {}: the {} cgroup controller is not mounted on this host", field,
                      ctrl);
}

}  // namespace

V1Manager::V1Manager(const Layout& layout, std::map<std::string, std::string> paths)
    : paths_(std::move(paths)) {
    for (const auto& [c, p] : paths_) {
        if (c.empty()) {
            mounts_[c] = layout.v2_mount;
        } else if (auto it = layout.v1_mounts.find(c); it != layout.v1_mounts.end()) {
            mounts_[c] = it->second;
        }
    }
}

const std::string* V1Manager::dir(const std::string& ctrl) const {
    auto it = paths_.find(ctrl);
    return it == paths_.end() ? nullptr : &it->second;
}

Result<std::string> V1Manager::need(const std::string& ctrl, const char* field) const {
    if (const auto* d = dir(ctrl)) return *d;
    return not_mounted(ctrl, field);
}

std::vector<std::string> V1Manager::unique_dirs() const {
    std::vector<std::string> out;
    for (const auto& [c, p] : paths_) {
        if (c.empty()) continue;
        if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    }
    if (const auto* u = dir("")) out.push_back(*u);
    return out;
}

Result<void> V1Manager::init_cpuset(const std::string& d, bool known_empty) {
    // A new cpuset cgroup has empty cpus and mems, and a task cannot join it until both are
    // set; copy them from the nearest ancestor that has them (runc's ensureParent walk).
    if (!known_empty) {
        auto cpus = BERTH_TRY(read_knob(d, "cpuset.cpus"));
        auto mems = BERTH_TRY(read_knob(d, "cpuset.mems"));
        if (!trim(cpus).empty() && !trim(mems).empty()) return {};
    }
    std::string parent = dirname_of(d);
    auto cpus = BERTH_TRY(read_knob(parent, "cpuset.cpus"));
    auto mems = BERTH_TRY(read_knob(parent, "cpuset.mems"));
    if (trim(cpus).empty() || trim(mems).empty()) {
        if (parent.size() <= mounts_["cpuset"].size())
            return make_error(Errc::Internal, "cpuset root {} has no cpus or mems", parent);
        BERTH_TRY(init_cpuset(parent, true));
        cpus = BERTH_TRY(read_knob(parent, "cpuset.cpus"));
        mems = BERTH_TRY(read_knob(parent, "cpuset.mems"));
    }
    BERTH_TRY(write_knob(d, "cpuset.cpus", trim(cpus)));
    BERTH_TRY(write_knob(d, "cpuset.mems", trim(mems)));
    return {};
}

Result<void> V1Manager::create() {
    for (const auto& d : unique_dirs()) {
        std::string mount;
        for (const auto& [c, p] : paths_) {
            if (p == d) mount = mounts_[c];
        }
        auto created = BERTH_TRY(make_dirs(d, mount));
        if (!created.empty() && created.back() == d) fresh_.insert(d);
        if (const auto* cs = dir("cpuset"); cs && *cs == d) {
            // Ancestors made here need cpus/mems now; the leaf can wait until apply() or
            // add_process(), since apply() often writes its own values anyway.
            for (size_t i = 0; i + 1 < created.size(); ++i)
                BERTH_TRY_CTX(init_cpuset(created[i], true), "create cgroup {}", created[i]);
            if (fresh_.count(d))
                cpuset_pending_ = true;
            else
                BERTH_TRY_CTX(init_cpuset(d, false), "create cgroup {}", d);
        }
    }
    return {};
}

Result<void> V1Manager::set_memory(const oci::MemoryResources& m, bool update) {
    int64_t limit = m.limit.value_or(0);
    int64_t swap = m.swap.value_or(0);
    if (m.swappiness && *m.swappiness != std::numeric_limits<uint64_t>::max() &&
        *m.swappiness > 100)
        return make_error(Errc::InvalidArgument,
                          "resources.memory.swappiness: invalid value {}, valid range is 0-100",
                          *m.swappiness);
    if (limit > 0 && swap > 0 && swap < limit)
        return make_error(
            Errc::InvalidArgument,
            "resources.memory.swap: memory+swap limit {} should be >= memory limit {}", swap,
            limit);
    bool wants = limit != 0 || swap != 0 || m.reservation.value_or(0) != 0 ||
                 (m.disable_oom_killer && (*m.disable_oom_killer || update)) ||
                 (m.swappiness && *m.swappiness != std::numeric_limits<uint64_t>::max());
    if (!wants) return {};
    std::string d = BERTH_TRY(need("memory", "resources.memory"));

    auto write_limit = [&]() -> Result<void> {
        if (limit == 0) return {};
        auto r = write_knob(d, "memory.limit_in_bytes", std::to_string(limit));
        if (!r && r.error().sys_errno == EBUSY) {
            // The new limit is below what the cgroup uses now; say so (runc does too).
            uint64_t usage = read_knob_uint(d, "memory.usage_in_bytes").value_or(0);
            uint64_t peak = read_knob_uint(d, "memory.max_usage_in_bytes").value_or(0);
            return Unexpected(std::move(r).error().wrap(
                "resources.memory.limit: current usage {}, peak usage {}", usage, peak));
        }
        return r.map_error([](Error e) { return std::move(e).wrap("resources.memory.limit"); });
    };
    // Unlimited memory with swap unset means unlimited memory+swap too (runc).
    bool implicit_swap = limit == -1 && swap == 0;
    if (implicit_swap) swap = -1;
    auto write_swap = [&]() -> Result<void> {
        if (swap == 0) return {};
        auto r = write_knob(d, "memory.memsw.limit_in_bytes", std::to_string(swap));
        if (!r && is_enoent(r.error())) {
            if (swap == -1) return {};  // no swap accounting: already unlimited
            return make_error(Errc::Unsupported,
                              "resources.memory.swap: swap limit not supported by this kernel "
                              "({} has no memory.memsw.limit_in_bytes; boot with swapaccount=1)",
                              d);
        }
        return r.map_error([](Error e) { return std::move(e).wrap("resources.memory.swap"); });
    };
    // memsw must stay >= limit after each write: raise memsw first when growing (runc's order).
    bool swap_first = false;
    if (limit != 0 && swap != 0) {
        if (swap == -1) {
            swap_first = true;
        } else if (update || !fresh_.count(d)) {
            uint64_t cur = BERTH_TRY(read_knob_uint(d, "memory.limit_in_bytes"));
            swap_first = cur < static_cast<uint64_t>(swap);
        }
    } else if (swap == -1) {
        swap_first = true;
    }
    if (swap_first) {
        BERTH_TRY(write_swap());
        BERTH_TRY(write_limit());
    } else {
        BERTH_TRY(write_limit());
        BERTH_TRY(write_swap());
    }
    if (int64_t res = m.reservation.value_or(0); res != 0)
        BERTH_TRY_CTX(write_knob(d, "memory.soft_limit_in_bytes", std::to_string(res)),
                      "resources.memory.reservation");
    if (m.disable_oom_killer && (*m.disable_oom_killer || update))
        BERTH_TRY_CTX(write_knob(d, "memory.oom_control", *m.disable_oom_killer ? "1" : "0"),
                      "resources.memory.disableOOMKiller");
    if (m.swappiness && *m.swappiness != std::numeric_limits<uint64_t>::max())
        BERTH_TRY_CTX(write_knob(d, "memory.swappiness", std::to_string(*m.swappiness)),
                      "resources.memory.swappiness");
    // Kernel memory limits are deprecated (Linux 5.4) and gone (6.1); runc 1.1 ignores them.
    if (m.kernel || m.kernel_tcp)
        BLOG_DEBUG("ignoring resources.memory.kernel/kernelTCP for {}", d);
    return {};
}

Result<void> V1Manager::set_cpu(const oci::CpuResources& c) {
    uint64_t shares = c.shares.value_or(0);
    int64_t quota = c.quota.value_or(0);
    uint64_t period = c.period.value_or(0);
    int64_t rt_runtime = c.realtime_runtime.value_or(0);
    uint64_t rt_period = c.realtime_period.value_or(0);
    if (shares != 0 || quota != 0 || period != 0 || rt_runtime != 0 || rt_period != 0 || c.burst ||
        c.idle) {
        std::string d = BERTH_TRY(need("cpu", "resources.cpu"));
        if (shares != 0) {
            // The kernel clamps silently; runc reads the value back to report it. Checking
            // here gives the same message without the extra read.
            if (shares > kMaxShares)
                return make_error(
                    Errc::InvalidArgument,
                    "resources.cpu.shares: {} is above the maximum allowed cpu-shares {}", shares,
                    kMaxShares);
            if (shares < kMinShares)
                return make_error(
                    Errc::InvalidArgument,
                    "resources.cpu.shares: {} is below the minimum allowed cpu-shares {}", shares,
                    kMinShares);
            BERTH_TRY_CTX(write_knob(d, "cpu.shares", std::to_string(shares)),
                          "resources.cpu.shares");
        }
        // A smaller period can be refused (EINVAL) while the old quota would exceed the
        // parent's; then set the quota first and the period again (runc's order).
        bool period_pending = false;
        if (period != 0) {
            auto r = write_knob(d, "cpu.cfs_period_us", std::to_string(period));
            if (!r) {
                if (r.error().sys_errno != EINVAL || quota == 0)
                    return Unexpected(std::move(r).error().wrap("resources.cpu.period"));
                period_pending = true;
            }
        }
        if (quota != 0) {
            BERTH_TRY_CTX(write_knob(d, "cpu.cfs_quota_us", std::to_string(quota)),
                          "resources.cpu.quota");
            if (period_pending)
                BERTH_TRY_CTX(write_knob(d, "cpu.cfs_period_us", std::to_string(period)),
                              "resources.cpu.period");
        }
        auto optional_knob = [&](const char* file, const std::string& v,
                                 const char* field) -> Result<void> {
            auto r = write_knob(d, file, v);
            if (!r && is_enoent(r.error()))
                return make_error(Errc::Unsupported,
                                  "{}: not supported by this kernel ({} has no {})", field, d,
                                  file);
            return r.map_error([&](Error e) { return std::move(e).wrap("{}", field); });
        };
        if (c.burst)
            BERTH_TRY(
                optional_knob("cpu.cfs_burst_us", std::to_string(*c.burst), "resources.cpu.burst"));
        if (c.idle)
            BERTH_TRY(optional_knob("cpu.idle", std::to_string(*c.idle), "resources.cpu.idle"));
        if (rt_period != 0)
            BERTH_TRY(optional_knob("cpu.rt_period_us", std::to_string(rt_period),
                                    "resources.cpu.realtimePeriod"));
        if (rt_runtime != 0)
            BERTH_TRY(optional_knob("cpu.rt_runtime_us", std::to_string(rt_runtime),
                                    "resources.cpu.realtimeRuntime"));
    }
    if (!c.cpus.empty() || !c.mems.empty()) {
        std::string d = BERTH_TRY(need("cpuset", "resources.cpu.cpus/mems"));
        if (cpuset_pending_ && (c.cpus.empty() || c.mems.empty())) {
            BERTH_TRY(init_cpuset(d, true));
            cpuset_pending_ = false;
        }
        if (!c.cpus.empty())
            BERTH_TRY_CTX(write_knob(d, "cpuset.cpus", c.cpus), "resources.cpu.cpus");
        if (!c.mems.empty())
            BERTH_TRY_CTX(write_knob(d, "cpuset.mems", c.mems), "resources.cpu.mems");
        cpuset_pending_ = false;
    }
    return {};
}

Result<void> V1Manager::set_blkio(const oci::BlockIoResources& b) {
    bool any = b.weight.value_or(0) != 0 || b.leaf_weight.value_or(0) != 0 ||
               !b.weight_device.empty() || !b.throttle_read_bps_device.empty() ||
               !b.throttle_write_bps_device.empty() || !b.throttle_read_iops_device.empty() ||
               !b.throttle_write_iops_device.empty();
    if (!any) return {};
    std::string d = BERTH_TRY(need("blkio", "resources.blockIO"));
    // CFQ's blkio.weight, else BFQ's blkio.bfq.weight (runc's detectWeightFilenames), found
    // by trying rather than by stat()ing first.
    bool bfq = false;
    auto no_weight = [&](const char* field) {
        return make_error(Errc::Unsupported,
                          "{}: {} has neither blkio.weight nor blkio.bfq.weight (no CFQ or BFQ "
                          "I/O scheduler)",
                          field, d);
    };
    if (uint16_t w = b.weight.value_or(0); w != 0) {
        auto r = write_knob(d, "blkio.weight", std::to_string(w));
        if (!r && is_enoent(r.error())) {
            bfq = true;
            r = write_knob(d, "blkio.bfq.weight", std::to_string(w));
            if (!r && is_enoent(r.error())) return no_weight("resources.blockIO.weight");
        }
        BERTH_TRY_CTX(std::move(r), "resources.blockIO.weight");
    }
    auto leaf_unsupported = [&]() {
        return make_error(Errc::Unsupported,
                          "resources.blockIO.leafWeight: {} has no blkio.leaf_weight (CFQ only)",
                          d);
    };
    if (uint16_t lw = b.leaf_weight.value_or(0); lw != 0) {
        auto r = write_knob(d, "blkio.leaf_weight", std::to_string(lw));
        if (!r && is_enoent(r.error())) return leaf_unsupported();
        BERTH_TRY_CTX(std::move(r), "resources.blockIO.leafWeight");
    }
    if (!b.weight_device.empty()) {
        KnobWriter cfq(d, "blkio.weight_device"), bfqw(d, "blkio.bfq.weight_device"),
            leaf(d, "blkio.leaf_weight_device");
        for (const auto& wd : b.weight_device) {
            std::string dev = fmt::format("{}:{} ", wd.major, wd.minor);
            if (wd.weight) {
                Result<void> r = make_error(Errc::NotFound, "");
                if (!bfq) {
                    r = cfq.write(dev + std::to_string(*wd.weight));
                    if (!r && is_enoent(r.error())) bfq = true;
                }
                if (bfq) {
                    r = bfqw.write(dev + std::to_string(*wd.weight));
                    if (!r && is_enoent(r.error()))
                        return no_weight("resources.blockIO.weightDevice");
                }
                BERTH_TRY_CTX(std::move(r), "resources.blockIO.weightDevice");
            }
            if (wd.leaf_weight) {
                auto r = leaf.write(dev + std::to_string(*wd.leaf_weight));
                if (!r && is_enoent(r.error())) return leaf_unsupported();
                BERTH_TRY_CTX(std::move(r), "resources.blockIO.weightDevice");
            }
        }
    }
    auto throttle = [&](const std::vector<oci::ThrottleDevice>& devs, const char* file,
                        const char* field) -> Result<void> {
        if (devs.empty()) return {};
        KnobWriter w(d, file);
        for (const auto& t : devs)
            BERTH_TRY_CTX(w.write(fmt::format("{}:{} {}", t.major, t.minor, t.rate)),
                          "resources.blockIO.{}", field);
        return {};
    };
    BERTH_TRY(throttle(b.throttle_read_bps_device, "blkio.throttle.read_bps_device",
                       "throttleReadBpsDevice"));
    BERTH_TRY(throttle(b.throttle_write_bps_device, "blkio.throttle.write_bps_device",
                       "throttleWriteBpsDevice"));
    BERTH_TRY(throttle(b.throttle_read_iops_device, "blkio.throttle.read_iops_device",
                       "throttleReadIOPSDevice"));
    BERTH_TRY(throttle(b.throttle_write_iops_device, "blkio.throttle.write_iops_device",
                       "throttleWriteIOPSDevice"));
    return {};
}

Result<std::string> V1Manager::unified_dir_with(const std::string& ctrl, const char* field) {
    const auto* u = dir("");
    if (!u) return not_mounted(ctrl, field);
    if (unified_enabled_.count(ctrl)) return *u;
    const std::string& mount = mounts_[""];
    if (!BERTH_TRY(v2_has_controller(mount, ctrl))) return not_mounted(ctrl, field);
    BERTH_TRY_CTX(enable_controllers(mount, *u, {ctrl}), "{}", field);
    unified_enabled_.insert(ctrl);
    return *u;
}

Result<void> V1Manager::set_hugetlb(const std::vector<oci::HugepageLimit>& limits) {
    if (limits.empty()) return {};
    const auto* d = dir("hugetlb");
    if (!d) {
        // Hybrid host: hugetlb lives in the unified tree only.
        std::string u = BERTH_TRY(unified_dir_with("hugetlb", "resources.hugepageLimits"));
        return v2_set_hugetlb(u, limits);
    }
    for (size_t i = 0; i < limits.size(); ++i) {
        const auto& l = limits[i];
        if (l.page_size.empty() || l.page_size.find('/') != std::string::npos)
            return make_error(Errc::InvalidArgument,
                              "resources.hugepageLimits[{}]: bad pageSize {:?}", i, l.page_size);
        std::string file = "hugetlb." + l.page_size + ".limit_in_bytes";
        auto r = write_knob(*d, file, std::to_string(l.limit));
        if (!r && is_enoent(r.error()))
            return make_error(Errc::Unsupported,
                              "resources.hugepageLimits[{}]: page size {} is not available ({} has "
                              "no {})",
                              i, l.page_size, *d, file);
        BERTH_TRY_CTX(std::move(r), "resources.hugepageLimits[{}]", i);
    }
    return {};
}

Result<void> V1Manager::set_network(const oci::NetworkResources& n) {
    if (n.class_id) {
        std::string d = BERTH_TRY(need("net_cls", "resources.network.classID"));
        BERTH_TRY_CTX(write_knob(d, "net_cls.classid", std::to_string(*n.class_id)),
                      "resources.network.classID");
    }
    if (!n.priorities.empty()) {
        std::string d = BERTH_TRY(need("net_prio", "resources.network.priorities"));
        KnobWriter w(d, "net_prio.ifpriomap");
        for (const auto& p : n.priorities)
            BERTH_TRY_CTX(w.write(fmt::format("{} {}", p.name, p.priority)),
                          "resources.network.priorities");
    }
    return {};
}

Result<void> V1Manager::set_devices(const std::vector<oci::DeviceCgroupRule>& rules, bool update) {
    // Validate the whole list before writing anything: a bad rule must not leave a cgroup
    // that is half reset.
    DeviceState target = BERTH_TRY(emulate_device_rules(rules));
    std::string d = BERTH_TRY(need("devices", "resources.devices"));

    if (update || !fresh_.count(d)) {
        // An existing cgroup (update): move from what it has to the target with the fewest
        // writes, allowing before denying, so a running container never loses a device it
        // keeps (runc computes the same transition). Possible only if both are allow-lists,
        // since the kernel does not list the exceptions of an allow-all cgroup.
        bool complete = false;
        auto cur = DeviceState::from_list(BERTH_TRY(read_knob(d, "devices.list")), complete);
        if (cur && complete && !target.default_allow()) {
            KnobWriter allow(d, "devices.allow"), deny(d, "devices.deny");
            for (const auto& t : target.exceptions()) {
                uint8_t have = 0;
                for (const auto& c : cur->exceptions())
                    if (c.same_device(t)) have = c.access;
                if (uint8_t add = t.access & ~have; add) {
                    DeviceException e = t;
                    e.access = add;
                    BERTH_TRY_CTX(allow.write(e.str()), "resources.devices");
                }
            }
            for (const auto& c : cur->exceptions()) {
                uint8_t keep = 0;
                for (const auto& t : target.exceptions())
                    if (t.same_device(c)) keep = t.access;
                if (uint8_t drop = c.access & ~keep; drop) {
                    DeviceException e = c;
                    e.access = drop;
                    BERTH_TRY_CTX(deny.write(e.str()), "resources.devices");
                }
            }
            return {};
        }
    }
    // Fresh cgroup: deny everything, then the rules in order (runc's v1 sequence). The rules
    // are written as given, so the kernel's own semantics apply; the emulation above only
    // validated them and expands "a" rules that are not a full reset the same way.
    KnobWriter allow(d, "devices.allow"), deny(d, "devices.deny");
    auto is_reset = [](const oci::DeviceCgroupRule& r) {
        return (r.type.empty() || r.type == "a") && (!r.major || *r.major == -1) &&
               (!r.minor || *r.minor == -1) &&
               parse_device_access(r.access).value_or(0) == kDevAccAll;
    };
    if (rules.empty() || !(is_reset(rules[0]) && !rules[0].allow))
        BERTH_TRY_CTX(deny.write("a"), "resources.devices");
    for (size_t i = 0; i < rules.size(); ++i) {
        const auto& r = rules[i];
        KnobWriter& w = r.allow ? allow : deny;
        if (is_reset(r)) {
            BERTH_TRY_CTX(w.write("a"), "resources.devices[{}]", i);
            continue;
        }
        DeviceException e;
        e.major = r.major.value_or(-1);
        e.minor = r.minor.value_or(-1);
        e.access = parse_device_access(r.access).value_or(kDevAccAll);
        std::vector<uint8_t> types;
        if (r.type == "c")
            types = {kDevChar};
        else if (r.type == "b")
            types = {kDevBlock};
        else
            types = {kDevChar, kDevBlock};
        for (uint8_t t : types) {
            e.type = t;
            BERTH_TRY_CTX(w.write(e.str()), "resources.devices[{}]", i);
        }
    }
    return {};
}

Result<void> V1Manager::set_unified(const std::map<std::string, std::string>& unified) {
    // Keys whose controller only the unified tree has (hybrid) go there, "cgroup.*" too;
    // anything else would be silently meaningless on v1.
    std::map<std::string, std::string> v2;
    for (const auto& [k, v] : unified) {
        BERTH_TRY(check_unified_key(k));
        std::string ctrl = k.substr(0, k.find('.'));
        if (ctrl != "cgroup" && (dir(ctrl) || !dir("")))
            return make_error(Errc::Unsupported,
                              "resources.unified[{:?}]: a cgroup v2 file, but this host drives "
                              "{} through cgroup v1",
                              k, ctrl);
        if (ctrl != "cgroup") BERTH_TRY(unified_dir_with(ctrl, "resources.unified"));
        v2.emplace(k, v);
    }
    return v2_set_unified(*dir(""), v2);
}

Result<void> V1Manager::set(const oci::Resources& r, bool update) {
    if (r.memory) BERTH_TRY(set_memory(*r.memory, update));
    if (r.cpu) BERTH_TRY(set_cpu(*r.cpu));
    if (r.pids) {
        std::string d = BERTH_TRY(need("pids", "resources.pids"));
        std::string v = r.pids->limit > 0 ? std::to_string(r.pids->limit) : "max";
        BERTH_TRY_CTX(write_knob(d, "pids.max", v), "resources.pids.limit");
    }
    if (r.block_io) BERTH_TRY(set_blkio(*r.block_io));
    if (!r.hugepage_limits.empty()) BERTH_TRY(set_hugetlb(r.hugepage_limits));
    if (r.network) BERTH_TRY(set_network(*r.network));
    if (!r.devices.empty()) BERTH_TRY(set_devices(r.devices, update));
    if (!r.unified.empty()) BERTH_TRY(set_unified(r.unified));
    return {};
}

Result<void> V1Manager::add_process(pid_t pid) {
    if (cpuset_pending_) {
        BERTH_TRY(init_cpuset(*dir("cpuset"), true));
        cpuset_pending_ = false;
    }
    for (const auto& d : unique_dirs()) BERTH_TRY(join_cgroup(d, pid));
    return {};
}

Result<SelfJoin> V1Manager::self_join_plan() {
    if (cpuset_pending_) {
        BERTH_TRY(init_cpuset(*dir("cpuset"), true));
        cpuset_pending_ = false;
    }
    SelfJoin plan;
    for (const auto& d : unique_dirs()) {
        auto unified = paths_.find("");
        if (unified != paths_.end() && d == unified->second)
            plan.clone_into = d;
        else
            plan.thread_files.push_back(d + "/tasks");
    }
    return plan;
}

Result<void> V1Manager::set_freezer(bool want) {
    std::string d = BERTH_TRY(need("freezer", "freezer state"));
    if (!want) {
        BERTH_TRY(write_knob(d, "freezer.state", "THAWED"));
        for (int i = 0; i < 1000; ++i) {
            auto st = BERTH_TRY(read_knob(d, "freezer.state"));
            if (trim(st) == "THAWED") return {};
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return make_error(Errc::Unavailable, "thaw {}: freezer.state never became THAWED", d);
    }
    // A v1 freeze can stay in FREEZING while tasks fork; re-writing FROZEN, with an occasional
    // thaw and sleep, gets it through (runc's empirically tuned loop, shortened).
    std::string last;
    for (int i = 0; i < 1000; ++i) {
        if (i % 50 == 49) {
            (void)write_knob(d, "freezer.state", "THAWED");
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        auto w = write_knob(d, "freezer.state", "FROZEN");
        if (!w) {
            (void)write_knob(d, "freezer.state", "THAWED");
            return w;
        }
        if (i % 25 == 24) std::this_thread::sleep_for(std::chrono::microseconds(10));
        auto st = read_knob(d, "freezer.state");
        if (!st) {
            (void)write_knob(d, "freezer.state", "THAWED");
            return Unexpected(std::move(st).error());
        }
        last = std::string(trim(*st));
        if (last == "FROZEN") return {};
        if (last != "FREEZING") {
            (void)write_knob(d, "freezer.state", "THAWED");
            return make_error(Errc::Internal, "freeze {}: unexpected freezer.state {:?}", d, last);
        }
    }
    (void)write_knob(d, "freezer.state", "THAWED");
    return make_error(Errc::Unavailable, "freeze {}: still {} after 1000 attempts", d, last);
}

Result<void> V1Manager::freeze() { return set_freezer(true); }
Result<void> V1Manager::thaw() { return set_freezer(false); }

Result<bool> V1Manager::frozen() {
    std::string d = BERTH_TRY(need("freezer", "freezer state"));
    for (int i = 0;; ++i) {
        auto st = BERTH_TRY(read_knob(d, "freezer.state"));
        auto s = trim(st);
        if (s == "FROZEN") {
            // Frozen itself, or only through a frozen ancestor?
            auto self = read_knob(d, "freezer.self_freezing");
            if (!self) return true;  // old kernel: can't tell
            return trim(*self) == "1";
        }
        if (s != "FREEZING" || i >= 1000) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

Result<std::vector<pid_t>> V1Manager::pids() {
    // Every hierarchy holds the same processes; read one.
    for (const char* c : {"pids", "freezer", "memory", "cpu", "devices", "cpuset", "blkio", ""}) {
        if (const auto* d = dir(c)) {
            std::vector<pid_t> out;
            BERTH_TRY(collect_pids(*d, out));
            return out;
        }
    }
    if (paths_.empty()) return std::vector<pid_t>{};
    std::vector<pid_t> out;
    BERTH_TRY(collect_pids(paths_.begin()->second, out));
    return out;
}

Result<void> V1Manager::kill_all(int sig) {
    if (sig == SIGKILL) {
        if (const auto* u = dir("")) {
            // Hybrid: the processes are in the unified cgroup too, and cgroup.kill (Linux
            // 5.14+) kills all of them, forks included, in one write.
            auto r = write_knob(*u, "cgroup.kill", "1");
            if (r || !is_enoent(r.error())) return r;
        }
    }
    return signal_all(*this, sig, dir("freezer") != nullptr);
}

Result<Stats> V1Manager::stats() {
    Stats s;
    if (const auto* d = dir("memory")) BERTH_TRY(v1_memory_stats(*d, s));
    const auto* cpu = dir("cpu");
    const auto* acct = dir("cpuacct");
    if (cpu || acct) BERTH_TRY(v1_cpu_stats(cpu ? *cpu : "", acct ? *acct : "", s));
    if (const auto* d = dir("pids")) BERTH_TRY(pids_stats(*d, s));
    if (const auto* d = dir("blkio")) BERTH_TRY(v1_blkio_stats(*d, s));
    if (const auto* d = dir("hugetlb"))
        BERTH_TRY(v1_hugetlb_stats(*d, s));
    else if (const auto* u = dir(""))
        BERTH_TRY(v2_hugetlb_stats(*u, s));
    return s;
}

Result<void> V1Manager::destroy() {
    Result<void> res;
    for (const auto& d : unique_dirs()) {
        auto r = remove_cgroup_dir(d);
        if (!r && res) res = std::move(r);
    }
    return res;
}

}  // namespace berth::cgroups::detail
