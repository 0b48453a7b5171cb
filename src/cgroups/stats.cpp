#include "stats.hpp"

#include <dirent.h>
#include <unistd.h>

#include <limits>
#include <optional>

#include "berth/common/strings.hpp"
#include "cgroup_fs.hpp"

namespace berth::cgroups::detail {
namespace {

// A file that may legitimately be missing: nullopt then.
Result<std::optional<std::string>> read_opt(const std::string& dir, std::string_view name) {
    auto r = read_knob(dir, name);
    if (r) return std::optional<std::string>(std::move(*r));
    if (is_enoent(r.error()) || r.error().sys_errno == ENODEV || r.error().sys_errno == EOPNOTSUPP)
        return std::optional<std::string>();
    return Unexpected(std::move(r).error());
}

// Reads an optional single-number file into `out` (left unchanged when absent).
Result<void> read_opt_uint(const std::string& dir, std::string_view name, uint64_t& out) {
    auto text = BERTH_TRY(read_opt(dir, name));
    if (!text) return {};
    auto v = parse_uint_or_max(*text);
    if (!v)
        return make_error(Errc::Internal, "parse {}: {:?} is not a number", knob_path(dir, name),
                          std::string(trim(*text)));
    out = *v;
    return {};
}

std::optional<std::pair<uint64_t, uint64_t>> parse_dev(std::string_view s) {
    size_t c = s.find(':');
    if (c == std::string_view::npos) return std::nullopt;
    auto ma = parse_uint(s.substr(0, c));
    auto mi = parse_uint(s.substr(c + 1));
    if (!ma || !mi) return std::nullopt;
    return std::make_pair(*ma, *mi);
}

}  // namespace

std::vector<BlkioEntry> parse_blkio_v1(std::string_view text) {
    std::vector<BlkioEntry> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        auto f = fields(text.substr(pos, nl - pos));
        pos = nl + 1;
        if (f.size() != 3) continue;  // "Total 123"
        auto dev = parse_dev(f[0]);
        auto v = parse_uint(f[2]);
        if (!dev || !v) continue;
        out.push_back(BlkioEntry{dev->first, dev->second, std::string(f[1]), *v});
    }
    return out;
}

void parse_io_stat(std::string_view text, Stats& s) {
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        auto f = fields(text.substr(pos, nl - pos));
        pos = nl + 1;
        if (f.empty()) continue;
        auto dev = parse_dev(f[0]);
        if (!dev) continue;
        for (size_t i = 1; i < f.size(); ++i) {
            size_t eq = f[i].find('=');
            if (eq == std::string_view::npos) continue;
            auto key = f[i].substr(0, eq);
            auto v = parse_uint(f[i].substr(eq + 1));
            if (!v) continue;
            BlkioEntry e{dev->first, dev->second, "", *v};
            if (key == "rbytes" || key == "rios") e.op = "Read";
            if (key == "wbytes" || key == "wios") e.op = "Write";
            if (e.op.empty()) continue;
            if (key == "rbytes" || key == "wbytes")
                s.blkio_io_service_bytes_recursive.push_back(e);
            else
                s.blkio_io_serviced_recursive.push_back(e);
        }
    }
}

Result<void> v1_memory_stats(const std::string& dir, Stats& s) {
    auto& m = s.memory;
    if (auto st = BERTH_TRY(read_opt(dir, "memory.stat"))) {
        for_each_kv(*st, [&](std::string_view k, uint64_t v) { m.raw.emplace(std::string(k), v); });
        if (auto it = m.raw.find("cache"); it != m.raw.end()) m.cache = it->second;
    }
    BERTH_TRY(read_opt_uint(dir, "memory.usage_in_bytes", m.usage));
    BERTH_TRY(read_opt_uint(dir, "memory.max_usage_in_bytes", m.max_usage));
    BERTH_TRY(read_opt_uint(dir, "memory.limit_in_bytes", m.limit));
    BERTH_TRY(read_opt_uint(dir, "memory.failcnt", m.failcnt));
    // memsw is memory+swap, which is what runc reports as swap usage on v1 as well.
    BERTH_TRY(read_opt_uint(dir, "memory.memsw.usage_in_bytes", m.swap_usage));
    BERTH_TRY(read_opt_uint(dir, "memory.memsw.limit_in_bytes", m.swap_limit));
    if (auto oc = BERTH_TRY(read_opt(dir, "memory.oom_control"))) {
        for_each_kv(*oc, [&](std::string_view k, uint64_t v) {
            if (k == "oom_kill") s.oom_kill_count = v;
        });
    }
    return {};
}

Result<void> v1_cpu_stats(const std::string& cpu_dir, const std::string& cpuacct_dir, Stats& s) {
    auto& c = s.cpu;
    if (!cpuacct_dir.empty()) {
        BERTH_TRY(read_opt_uint(cpuacct_dir, "cpuacct.usage", c.usage_total));
        if (auto pc = BERTH_TRY(read_opt(cpuacct_dir, "cpuacct.usage_percpu"))) {
            for (auto f : fields(*pc)) {
                if (auto v = parse_uint(f)) c.percpu.push_back(*v);
            }
        }
        if (auto st = BERTH_TRY(read_opt(cpuacct_dir, "cpuacct.stat"))) {
            // USER_HZ ticks; runc converts them to nanoseconds the same way.
            long hz = ::sysconf(_SC_CLK_TCK);
            uint64_t ns_per_tick = hz > 0 ? 1000000000ULL / static_cast<uint64_t>(hz) : 10000000ULL;
            for_each_kv(*st, [&](std::string_view k, uint64_t v) {
                if (k == "user") c.usage_user = v * ns_per_tick;
                if (k == "system") c.usage_kernel = v * ns_per_tick;
            });
        }
    }
    if (!cpu_dir.empty()) {
        if (auto st = BERTH_TRY(read_opt(cpu_dir, "cpu.stat"))) {
            for_each_kv(*st, [&](std::string_view k, uint64_t v) {
                if (k == "nr_periods") c.periods = v;
                if (k == "nr_throttled") c.throttled_periods = v;
                if (k == "throttled_time") c.throttled_time = v;
            });
        }
    }
    return {};
}

Result<void> v1_blkio_stats(const std::string& dir, Stats& s) {
    // CFQ's files, else BFQ's, else the throttle layer's (always there): runc's order.
    static constexpr std::string_view kPrefixes[] = {"blkio.", "blkio.bfq.", "blkio.throttle."};
    for (auto prefix : kPrefixes) {
        std::string p(prefix);
        auto serviced = BERTH_TRY(read_opt(dir, p + "io_serviced_recursive"));
        if (!serviced || trim(*serviced).empty() || trim(*serviced).substr(0, 5) == "Total") {
            if (prefix != kPrefixes[2]) continue;
        }
        auto bytes = BERTH_TRY(read_opt(dir, p + "io_service_bytes_recursive"));
        if (serviced) s.blkio_io_serviced_recursive = parse_blkio_v1(*serviced);
        if (bytes) s.blkio_io_service_bytes_recursive = parse_blkio_v1(*bytes);
        break;
    }
    return {};
}

namespace {

// Hugetlb page sizes present in a directory: the "<size>" of every "hugetlb.<size>.<suffix>".
Result<std::vector<std::string>> hugetlb_sizes(const std::string& dir, std::string_view suffix) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
        if (errno == ENOENT) return out;
        return BERTH_SYS_ERROR("list cgroup {}", dir);
    }
    while (struct dirent* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n.substr(0, 8) != "hugetlb." || n.size() <= 8 + suffix.size()) continue;
        if (n.substr(n.size() - suffix.size()) != suffix) continue;
        auto size = n.substr(8, n.size() - 8 - suffix.size());
        if (size.find('.') != std::string_view::npos) continue;  // hugetlb.2MB.rsvd.*
        out.emplace_back(size);
    }
    ::closedir(d);
    return out;
}

}  // namespace

Result<void> v1_hugetlb_stats(const std::string& dir, Stats& s) {
    for (const auto& size : BERTH_TRY(hugetlb_sizes(dir, ".usage_in_bytes"))) {
        HugetlbStats h;
        std::string p = "hugetlb." + size + ".";
        BERTH_TRY(read_opt_uint(dir, p + "usage_in_bytes", h.usage));
        BERTH_TRY(read_opt_uint(dir, p + "max_usage_in_bytes", h.max_usage));
        BERTH_TRY(read_opt_uint(dir, p + "failcnt", h.failcnt));
        s.hugetlb[size] = h;
    }
    return {};
}

Result<void> pids_stats(const std::string& dir, Stats& s) {
    BERTH_TRY(read_opt_uint(dir, "pids.current", s.pids.current));
    BERTH_TRY(read_opt_uint(dir, "pids.max", s.pids.limit));
    if (s.pids.limit == std::numeric_limits<uint64_t>::max()) s.pids.limit = 0;
    return {};
}

Result<void> v2_memory_stats(const std::string& dir, Stats& s) {
    auto& m = s.memory;
    if (auto st = BERTH_TRY(read_opt(dir, "memory.stat"))) {
        for_each_kv(*st, [&](std::string_view k, uint64_t v) { m.raw.emplace(std::string(k), v); });
        if (auto it = m.raw.find("file"); it != m.raw.end()) m.cache = it->second;
    }
    BERTH_TRY(read_opt_uint(dir, "memory.current", m.usage));
    BERTH_TRY(read_opt_uint(dir, "memory.peak", m.max_usage));  // Linux 5.19+
    BERTH_TRY(read_opt_uint(dir, "memory.max", m.limit));
    uint64_t swap = 0, swap_max = 0;
    bool have_swap = false;
    if (auto cur = BERTH_TRY(read_opt(dir, "memory.swap.current"))) {
        have_swap = true;
        swap = parse_uint_or_max(*cur).value_or(0);
        BERTH_TRY(read_opt_uint(dir, "memory.swap.max", swap_max));
    }
    if (have_swap) {
        // Reported as memory+swap, like v1's memsw (runc does the same for compatibility).
        constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
        m.swap_usage = swap + m.usage;
        m.swap_limit = (swap_max == kMax || m.limit == kMax) ? kMax : swap_max + m.limit;
    }
    if (auto ev = BERTH_TRY(read_opt(dir, "memory.events"))) {
        for_each_kv(*ev, [&](std::string_view k, uint64_t v) {
            if (k == "max") m.failcnt = v;
            if (k == "oom_kill") s.oom_kill_count = v;
        });
    }
    return {};
}

Result<void> v2_cpu_stats(const std::string& dir, Stats& s) {
    auto& c = s.cpu;
    if (auto st = BERTH_TRY(read_opt(dir, "cpu.stat"))) {
        for_each_kv(*st, [&](std::string_view k, uint64_t v) {
            if (k == "usage_usec") c.usage_total = v * 1000;
            if (k == "user_usec") c.usage_user = v * 1000;
            if (k == "system_usec") c.usage_kernel = v * 1000;
            if (k == "nr_periods") c.periods = v;
            if (k == "nr_throttled") c.throttled_periods = v;
            if (k == "throttled_usec") c.throttled_time = v * 1000;
        });
    }
    return {};
}

Result<void> v2_io_stats(const std::string& dir, Stats& s) {
    if (auto st = BERTH_TRY(read_opt(dir, "io.stat"))) parse_io_stat(*st, s);
    return {};
}

Result<void> v2_hugetlb_stats(const std::string& dir, Stats& s) {
    for (const auto& size : BERTH_TRY(hugetlb_sizes(dir, ".current"))) {
        HugetlbStats h;
        std::string p = "hugetlb." + size + ".";
        BERTH_TRY(read_opt_uint(dir, p + "current", h.usage));
        if (auto ev = BERTH_TRY(read_opt(dir, p + "events"))) {
            for_each_kv(*ev, [&](std::string_view k, uint64_t v) {
                if (k == "max") h.failcnt = v;
            });
        }
        s.hugetlb[size] = h;
    }
    return {};
}

}  // namespace berth::cgroups::detail
