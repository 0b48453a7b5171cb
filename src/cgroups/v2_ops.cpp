#include "v2_ops.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "berth/common/fs.hpp"
#include "berth/common/strings.hpp"
#include "cgroup_fs.hpp"

namespace berth::cgroups::detail {

Result<bool> v2_has_controller(const std::string& mount, const std::string& ctrl) {
    auto text = BERTH_TRY(read_knob(mount, "cgroup.controllers"));
    auto all = split_controllers(text);
    return std::find(all.begin(), all.end(), ctrl) != all.end();
}

Result<void> enable_controllers(const std::string& mount, const std::string& dir,
                                const std::vector<std::string>& ctrls) {
    if (ctrls.empty() || dir.size() <= mount.size()) return {};
    std::string parent = dirname_of(dir);
    if (auto have = read_knob(parent, "cgroup.subtree_control")) {
        auto on = split_controllers(*have);
        bool all = std::all_of(ctrls.begin(), ctrls.end(), [&](const std::string& c) {
            return std::find(on.begin(), on.end(), c) != on.end();
        });
        if (all) return {};
    }
    std::string content;
    for (const auto& c : ctrls) content += (content.empty() ? "+" : " +") + c;
    // Levels from the mount point down to the parent, top first.
    std::vector<std::string> levels;
    for (std::string p = parent; p.size() >= mount.size(); p = dirname_of(p)) {
        levels.push_back(p);
        if (p.size() == mount.size()) break;
    }
    std::reverse(levels.begin(), levels.end());
    for (const auto& level : levels) {
        if (write_knob(level, "cgroup.subtree_control", content)) continue;
        // One unavailable controller fails the whole write; enable the others one by one.
        for (const auto& c : ctrls) (void)write_knob(level, "cgroup.subtree_control", "+" + c);
    }
    return {};
}

namespace {

// Waits until cgroup.events says "frozen <want>". The kernel signals changes of this file
// with POLLPRI; the poll has a short timeout so the unit tests' regular files work too.
Result<void> wait_events_frozen(const std::string& dir, bool want) {
    std::string path = knob_path(dir, "cgroup.events");
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return BERTH_SYS_ERROR("read {}", path);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string last;
    for (;;) {
        char buf[512];
        ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
        if (n < 0) return BERTH_SYS_ERROR("read {}", path);
        last.assign(buf, static_cast<size_t>(n));
        bool is_frozen = false;
        for_each_kv(last, [&](std::string_view k, uint64_t v) {
            if (k == "frozen") is_frozen = v == 1;
        });
        if (is_frozen == want) return {};
        if (std::chrono::steady_clock::now() > deadline)
            return make_error(Errc::Unavailable, "{} still says {:?} after 10s, want frozen {}",
                              path, std::string(trim(last)), want ? 1 : 0);
        struct pollfd pfd = {fd.get(), POLLPRI, 0};
        (void)::poll(&pfd, 1, 10);
    }
}

}  // namespace

Result<void> v2_set_frozen(const std::string& dir, bool frozen) {
    auto w = write_knob(dir, "cgroup.freeze", frozen ? "1" : "0");
    if (!w) {
        if (is_enoent(w.error()))
            return make_error(Errc::Unsupported, "{}: no cgroup.freeze (needs Linux 5.2)", dir);
        return w;
    }
    auto r = wait_events_frozen(dir, frozen);
    if (!r && frozen) (void)write_knob(dir, "cgroup.freeze", "0");
    return r;
}

Result<bool> v2_frozen(const std::string& dir) {
    auto f = read_knob(dir, "cgroup.freeze");
    if (!f) {
        if (is_enoent(f.error()))
            return make_error(Errc::Unsupported, "{}: no cgroup.freeze (needs Linux 5.2)", dir);
        return Unexpected(std::move(f).error());
    }
    if (trim(*f) != "1") return false;
    auto ev = BERTH_TRY(read_knob(dir, "cgroup.events"));
    bool is_frozen = false;
    for_each_kv(ev, [&](std::string_view k, uint64_t v) {
        if (k == "frozen") is_frozen = v == 1;
    });
    return is_frozen;
}

Result<void> v2_set_hugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits) {
    for (size_t i = 0; i < limits.size(); ++i) {
        const auto& l = limits[i];
        if (l.page_size.empty() || l.page_size.find('/') != std::string::npos)
            return make_error(Errc::InvalidArgument,
                              "resources.hugepageLimits[{}]: bad pageSize {:?}", i, l.page_size);
        auto r = write_knob(dir, "hugetlb." + l.page_size + ".max", std::to_string(l.limit));
        if (!r && is_enoent(r.error()))
            return make_error(Errc::Unsupported,
                              "resources.hugepageLimits[{}]: page size {} is not available in {} "
                              "(no hugetlb.{}.max)",
                              i, l.page_size, dir, l.page_size);
        BERTH_TRY_CTX(std::move(r), "resources.hugepageLimits[{}]", i);
    }
    return {};
}

Result<void> check_unified_key(const std::string& key) {
    if (key.empty() || key == "." || key == ".." || key.find('/') != std::string::npos ||
        key.find('\0') != std::string::npos)
        return make_error(Errc::InvalidArgument,
                          "resources.unified[{:?}]: not a cgroup file name (no '/' allowed)", key);
    return {};
}

Result<void> v2_set_unified(const std::string& dir,
                            const std::map<std::string, std::string>& unified) {
    for (const auto& [k, v] : unified) BERTH_TRY(check_unified_key(k));
    for (const auto& [k, v] : unified) {
        auto r = write_knob(dir, k, v);
        if (!r && is_enoent(r.error()))
            return make_error(Errc::Unsupported,
                              "resources.unified[{:?}]: {} has no such file (controller not "
                              "available or not enabled?)",
                              k, dir);
        BERTH_TRY_CTX(std::move(r), "resources.unified[{:?}]", k);
    }
    return {};
}

}  // namespace berth::cgroups::detail
