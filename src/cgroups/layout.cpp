// Reading where the cgroup filesystems are (mountinfo, /proc/self/cgroup) and placing a
// container's cgroupsPath in them.

#include <linux/magic.h>
#include <sys/statfs.h>

#include <mutex>
#include <optional>
#include <set>

#include "berth/cgroups/manager.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/mounts.hpp"
#include "berth/common/strings.hpp"
#include "paths.hpp"

namespace berth::cgroups {
namespace {

// Super options of a v1 cgroup mount that are not controllers.
bool is_v1_flag(std::string_view opt) {
    static const std::set<std::string_view> flags = {"rw",
                                                     "ro",
                                                     "xattr",
                                                     "noprefix",
                                                     "clone_children",
                                                     "cpuset_v2_mode",
                                                     "favordynmods",
                                                     "nofavordynmods",
                                                     "none",
                                                     "all"};
    if (flags.count(opt)) return true;
    return opt.find('=') != std::string_view::npos && opt.substr(0, 5) != "name=";
}

// A path of /proc/self/cgroup made relative to the mount's root (a bind-mounted sub-tree, as
// Docker does without a cgroup namespace, has root "/docker/<id>").
std::string relative_to_root(const std::string& own, const std::string& root) {
    if (root.empty() || root == "/") return own;
    if (own == root) return "/";
    if (own.size() > root.size() && own.compare(0, root.size(), root) == 0 &&
        own[root.size()] == '/')
        return own.substr(root.size());
    return "/";
}

}  // namespace

Result<Layout> parse_layout(const std::string& mountinfo, const std::string& proc_cgroup) {
    Layout l;
    std::map<std::string, std::string> roots;  // controller ("" = v2) -> mount root
    for (const auto& line : split(mountinfo, '\n')) {
        if (trim(line).empty()) continue;
        auto f = split(line, ' ');
        size_t sep = 0;
        for (size_t i = 6; i < f.size(); ++i) {
            if (f[i] == "-") {
                sep = i;
                break;
            }
        }
        if (sep == 0 || sep + 1 >= f.size())
            return make_error(Errc::InvalidArgument, "parse mountinfo line {:?}", line);
        const std::string& fstype = f[sep + 1];
        if (fstype != "cgroup" && fstype != "cgroup2") continue;
        std::string root = unescape_mountinfo(f[3]);
        std::string mnt = unescape_mountinfo(f[4]);
        if (fstype == "cgroup2") {
            if (l.v2_mount.empty()) {
                l.v2_mount = mnt;
                roots[""] = root;
            }
            continue;
        }
        if (sep + 3 >= f.size()) continue;
        for (const auto& opt : split(f[sep + 3], ',')) {
            if (opt.empty() || is_v1_flag(opt)) continue;
            if (l.v1_mounts.emplace(opt, mnt).second) roots[opt] = root;
        }
    }
    for (const auto& line : split(proc_cgroup, '\n')) {
        if (trim(line).empty()) continue;
        size_t c1 = line.find(':');
        size_t c2 = c1 == std::string::npos ? c1 : line.find(':', c1 + 1);
        if (c2 == std::string::npos)
            return make_error(Errc::InvalidArgument, "parse /proc/self/cgroup line {:?}", line);
        std::string ctrls = line.substr(c1 + 1, c2 - c1 - 1);
        std::string path = line.substr(c2 + 1);
        if (ctrls.empty()) {
            if (line.compare(0, c1, "0") == 0) l.own_paths[""] = relative_to_root(path, roots[""]);
            continue;
        }
        for (const auto& c : split(ctrls, ',')) {
            if (!c.empty()) l.own_paths[c] = relative_to_root(path, roots[c]);
        }
    }
    return l;
}

Result<Layout> detect_layout() {
    // Fast path, as crun's: a pure v2 host mounts cgroup2 at /sys/fs/cgroup, and then the
    // (possibly long) mountinfo need not be read at all.
    struct statfs sfs {};
    std::string self = BERTH_TRY(read_file("/proc/self/cgroup"));
    if (::statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
        Layout l = BERTH_TRY(parse_layout("", self));
        l.v2_mount = "/sys/fs/cgroup";
        // Our own cgroup must be visible under the mount; if it is not (a bind-mounted
        // sub-tree), mountinfo's root field is needed to place it.
        const std::string& own = l.own_paths[""];
        if (own.empty() || own == "/" || path_exists(l.v2_mount + own)) return l;
    }
    std::string mi = BERTH_TRY(read_file("/proc/self/mountinfo"));
    return parse_layout(mi, self);
}

Result<Layout> host_layout() {
    static std::mutex mu;
    static std::optional<Layout> known;
    std::lock_guard lk(mu);
    if (!known) known = BERTH_TRY(detect_layout());
    return *known;
}

namespace detail {

Result<std::string> normalize_cgroups_path(const Options& opts) {
    std::string p = opts.cgroups_path;
    if (p.empty()) {
        if (opts.id.empty())
            return make_error(Errc::InvalidArgument, "cgroupsPath: empty, and no container id");
        p = opts.id;
    }
    if (p[0] != '/' && split(p, ':').size() == 3)
        return make_error(Errc::Unsupported,
                          "cgroupsPath {:?}: systemd \"slice:prefix:name\" paths are not supported "
                          "(the systemd cgroup driver is not implemented)",
                          p);
    for (const auto& comp : split(p, '/')) {
        if (comp == "..")
            return make_error(Errc::InvalidArgument, "cgroupsPath {:?}: \"..\" is not allowed", p);
    }
    bool absolute = p[0] == '/';
    std::string clean = clean_path(absolute ? p : "/" + p);
    if (clean == "/")
        return make_error(Errc::InvalidArgument,
                          "cgroupsPath {:?}: names the root cgroup, which a container cannot own",
                          p);
    return absolute ? clean : clean.substr(1);
}

std::string hierarchy_dir(const std::string& mount, const std::string& own,
                          const std::string& path) {
    if (!path.empty() && path[0] == '/') return clean_path(mount + path);
    return clean_path(mount + "/" + (own.empty() ? "/" : own) + "/" + path);
}

}  // namespace detail
}  // namespace berth::cgroups
