// Picking the manager for a host layout and placing the container's cgroup in it.

#include "berth/cgroups/manager.hpp"
#include "managers.hpp"
#include "paths.hpp"

namespace berth::cgroups {
namespace {

// The v1 controllers a container gets a directory in (runc's subsystem list); others mounted
// on the host (named hierarchies of other tools) are left alone.
constexpr const char* kV1Controllers[] = {
    "cpuset",  "cpu",     "cpuacct",  "memory",     "devices", "freezer", "blkio",       "pids",
    "hugetlb", "net_cls", "net_prio", "perf_event", "rdma",    "misc",    "name=systemd"};

std::string own_path(const Layout& l, const std::string& ctrl) {
    auto it = l.own_paths.find(ctrl);
    return it == l.own_paths.end() ? "/" : it->second;
}

}  // namespace

Result<std::unique_ptr<Manager>> make_manager(const Layout& layout, const Options& opts) {
    std::string path = BERTH_TRY(detail::normalize_cgroups_path(opts));
    if (layout.pure_v2()) {
        std::string dir = detail::hierarchy_dir(layout.v2_mount, own_path(layout, ""), path);
        return std::unique_ptr<Manager>(new detail::V2Manager(layout.v2_mount, dir));
    }
    if (layout.v1_mounts.empty())
        return make_error(Errc::Unsupported, "no cgroup filesystem is mounted");
    std::map<std::string, std::string> paths;
    for (const char* c : kV1Controllers) {
        auto it = layout.v1_mounts.find(c);
        if (it == layout.v1_mounts.end()) continue;
        paths[c] = detail::hierarchy_dir(it->second, own_path(layout, c), path);
    }
    if (!layout.v2_mount.empty())
        paths[""] = detail::hierarchy_dir(layout.v2_mount, own_path(layout, ""), path);
    return std::unique_ptr<Manager>(new detail::V1Manager(layout, std::move(paths)));
}

Result<std::unique_ptr<Manager>> load_manager(const Layout& layout,
                                              const std::map<std::string, std::string>& paths) {
    if (paths.empty())
        return make_error(Errc::InvalidArgument, "load cgroup manager: no cgroup paths saved");
    for (const auto& [c, p] : paths) {
        if (p.empty() || p[0] != '/')
            return make_error(Errc::InvalidArgument,
                              "load cgroup manager: path {:?} of {:?} is not absolute", p, c);
    }
    if (paths.size() == 1 && paths.count("")) {
        // Saved by a v2 manager. The mount only matters for create(), which a loaded
        // manager does not need, but keep it right when the layout knows it.
        std::string mount = layout.v2_mount.empty() ? "/sys/fs/cgroup" : layout.v2_mount;
        return std::unique_ptr<Manager>(new detail::V2Manager(mount, paths.at("")));
    }
    return std::unique_ptr<Manager>(new detail::V1Manager(layout, paths));
}

}  // namespace berth::cgroups
