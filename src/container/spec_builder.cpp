#include "berth/container/spec_builder.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/strings.hpp"
#include "berth/container/merge.hpp"
#include "berth/container/seccomp_profile.hpp"
#include "berth/container/user.hpp"
#include "berth/oci/capabilities.hpp"

// Follows moby's createSpec (daemon/oci_linux.go) step by step over oci.DefaultLinuxSpec:
// common options (args, env, cwd, hostname, default sysctls), cgroups path, resources,
// sysctls, devices, rlimits, namespaces, capabilities, seccomp, mounts, oom score. The
// comments name the moby function each part mirrors where the behaviour is not obvious.

namespace berth::container {

namespace {

constexpr const char* kInitInContainer = "/sbin/docker-init";

const int kCapCount = static_cast<int>(oci::capability_names().size());

// /proc paths hidden (masked) or made read-only in every unprivileged container.
constexpr const char* kMaskedPaths[] = {
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
};
constexpr const char* kReadonlyPaths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                          "/proc/sysrq-trigger"};

// The devices every container may use (deny all first): mknod of anything, and the standard
// nodes (runc's AllowedDevices plus /dev/console, as moby's default spec).
struct DevRule {
    char type;
    int64_t major, minor;  // -1 = wildcard
    const char* access;
};
constexpr DevRule kAllowedDevices[] = {
    {'c', -1, -1, "m"}, {'b', -1, -1, "m"},    {'c', 1, 3, "rwm"}, {'c', 1, 8, "rwm"},
    {'c', 1, 7, "rwm"}, {'c', 5, 0, "rwm"},    {'c', 1, 5, "rwm"}, {'c', 1, 9, "rwm"},
    {'c', 5, 1, "rwm"}, {'c', 136, -1, "rwm"}, {'c', 5, 2, "rwm"},
};

// Resource limit names `--ulimit` takes (go-units ulimit.go).
constexpr const char* kUlimitNames[] = {
    "as",   "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue",
    "nice", "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack"};

std::string upper(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return r;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

bool starts_with(std::string_view s, std::string_view p) {
    return s.substr(0, p.size()) == p;
}

int kernel_last_cap() {
    static const int last = [] {
        auto text = read_file("/proc/sys/kernel/cap_last_cap");
        if (text) {
            if (auto n = parse_int(trim(*text))) return static_cast<int>(*n);
        }
        return kCapCount - 1;
    }();
    return std::min(last, kCapCount - 1);
}

/// Go's strconv.ParseBool.
std::optional<bool> parse_bool(std::string_view s) {
    for (const char* t : {"1", "t", "T", "TRUE", "true", "True"})
        if (s == t) return true;
    for (const char* f : {"0", "f", "F", "FALSE", "false", "False"})
        if (s == f) return false;
    return std::nullopt;
}

// ---- Security options ---------------------------------------------------------------------

struct SecurityOptions {
    bool no_new_privileges = false;
    std::optional<bool> writable_cgroups;
    std::string seccomp;  ///< "" = default; "unconfined"; a JSON profile; a file path
};

/// moby's parseSecurityOpt, with its error texts.
Result<SecurityOptions> parse_security_opts(const std::vector<std::string>& opts) {
    SecurityOptions s;
    bool logged_ignored = false;
    for (const std::string& opt : opts) {
        if (opt == "no-new-privileges") {
            s.no_new_privileges = true;
            continue;
        }
        if (opt == "disable") continue;  // label=disable's old spelling
        size_t eq = opt.find('=');
        size_t colon = opt.find(':');
        size_t sep = eq != std::string::npos ? eq : colon;
        if (sep == std::string::npos)
            return make_error(Errc::InvalidArgument, "invalid --security-opt 1: \"{}\"", opt);
        std::string k = opt.substr(0, sep), v = opt.substr(sep + 1);
        if (k == "label" || k == "apparmor") {
            // Berth has no SELinux or AppArmor support: accepted so that compose files and
            // scripts written for Docker hosts keep working.
            if (!logged_ignored) BLOG_INFO("security option {} ignored (not supported)", opt);
            logged_ignored = true;
        } else if (k == "seccomp") {
            s.seccomp = v;
        } else if (k == "no-new-privileges") {
            auto b = parse_bool(v);
            if (!b)
                return make_error(Errc::InvalidArgument, "invalid --security-opt 2: \"{}\"", opt);
            s.no_new_privileges = *b;
        } else if (k == "writable-cgroups") {
            auto b = parse_bool(v);
            if (!b)
                return make_error(Errc::InvalidArgument, "invalid --security-opt 2: \"{}\"", opt);
            s.writable_cgroups = *b;
        } else {
            return make_error(Errc::InvalidArgument, "invalid --security-opt 2: \"{}\"", opt);
        }
    }
    return s;
}

/// linux.seccomp per WithSeccomp: none when privileged or unconfined; the default profile;
/// or the user's profile, which the docker CLI sends as the file's JSON (a path also works).
Result<std::optional<oci::Seccomp>> seccomp_for(const SecurityOptions& so, bool privileged,
                                                const std::vector<std::string>& caps) {
    if (privileged || so.seccomp == "unconfined") return std::optional<oci::Seccomp>{};
    if (so.seccomp.empty() || so.seccomp == "builtin" || so.seccomp == "default")
        return std::optional<oci::Seccomp>{default_seccomp_profile(caps)};
    std::string text = so.seccomp;
    if (std::string_view t = trim(text); t.empty() || t.front() != '{') {
        text = BERTH_TRY_CTX(read_file(std::string(t)), "read seccomp profile {}", t);
    }
    oci::Seccomp s = BERTH_TRY(parse_docker_seccomp_profile(text, caps));
    if (s.default_action.empty()) return std::optional<oci::Seccomp>{};
    return std::optional<oci::Seccomp>{std::move(s)};
}

// ---- Namespaces -----------------------------------------------------------------------------

bool is_container_mode(std::string_view mode) {
    return starts_with(mode, "container:");
}

void set_namespace(oci::Linux& l, const std::string& type, const std::string& path) {
    for (oci::Namespace& ns : l.namespaces) {
        if (ns.type == type) {
            ns.path = path;
            return;
        }
    }
    l.namespaces.push_back(oci::Namespace{type, path});
}

void remove_namespace(oci::Linux& l, const std::string& type) {
    l.namespaces.erase(std::remove_if(l.namespaces.begin(), l.namespaces.end(),
                                      [&](const oci::Namespace& n) { return n.type == type; }),
                       l.namespaces.end());
}

Result<void> set_namespaces(const SpecInputs& in, oci::Spec& s) {
    const HostConfig& h = in.host;
    oci::Linux& l = *s.linux;
    l.namespaces = {{"mount", ""}, {"network", ""}, {"uts", ""}, {"pid", ""}, {"ipc", ""}};

    // network
    if (h.network_mode == "host") {
        remove_namespace(l, "network");
    } else if (is_container_mode(h.network_mode)) {
        if (in.netns_path.empty())
            return make_error(Errc::InvalidArgument,
                              "network mode {}: no network namespace to join", h.network_mode);
        set_namespace(l, "network", in.netns_path);
    } else {
        set_namespace(l, "network", in.netns_path);
    }

    // ipc
    const std::string& ipc = h.ipc_mode;
    if (ipc == "host") {
        remove_namespace(l, "ipc");
    } else if (is_container_mode(ipc)) {
        if (in.ipcns_path.empty())
            return make_error(Errc::InvalidArgument, "invalid IPC mode: {}: no namespace to join",
                              ipc);
        set_namespace(l, "ipc", in.ipcns_path);
    } else if (ipc.empty() || ipc == "private" || ipc == "shareable" || ipc == "none") {
        set_namespace(l, "ipc", "");
    } else {
        return make_error(Errc::InvalidArgument, "invalid IPC mode: {}", ipc);
    }

    // pid
    const std::string& pid = h.pid_mode;
    if (pid == "host") {
        remove_namespace(l, "pid");
    } else if (is_container_mode(pid)) {
        if (in.pidns_path.empty())
            return make_error(Errc::InvalidArgument, "invalid PID mode: {}: no namespace to join",
                              pid);
        set_namespace(l, "pid", in.pidns_path);
    } else if (!pid.empty()) {
        return make_error(Errc::InvalidArgument, "invalid PID mode: {}", pid);
    }

    // uts
    const std::string& uts = h.uts_mode;
    if (uts == "host") {
        remove_namespace(l, "uts");
        s.hostname.clear();
        s.domainname.clear();
    } else if (is_container_mode(uts)) {
        if (in.utsns_path.empty())
            return make_error(Errc::InvalidArgument, "invalid UTS mode: {}: no namespace to join",
                              uts);
        set_namespace(l, "uts", in.utsns_path);
        s.hostname.clear();  // the joined namespace has its own
        s.domainname.clear();
    } else if (!uts.empty()) {
        return make_error(Errc::InvalidArgument, "invalid UTS mode: {}", uts);
    }

    // cgroup
    const std::string& cg = h.cgroupns_mode;
    if (cg == "private") {
        set_namespace(l, "cgroup", "");
    } else if (!cg.empty() && cg != "host") {
        return make_error(Errc::InvalidArgument, "invalid cgroup namespace mode: {}", cg);
    }

    // user namespaces (remapping) are not supported; "host" and "" both mean none.
    if (!h.userns_mode.empty() && h.userns_mode != "host")
        return make_error(Errc::Unsupported,
                          "invalid USER mode: {}: user namespace remapping "
                          "is not supported",
                          h.userns_mode);
    return {};
}

// ---- Sysctls --------------------------------------------------------------------------------

bool sysctl_exists(std::string_view name) {
    std::string p = "/proc/sys/";
    for (char c : name) p += c == '.' ? '/' : c;
    return path_exists(p);
}

/// runc's sysctl validation: only namespaced sysctls, and only in a namespace of its own.
Result<void> check_sysctl(const std::string& k, const HostConfig& h) {
    static const std::set<std::string> ipc_names = {
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
        "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
    if (ipc_names.count(k) || starts_with(k, "fs.mqueue.")) {
        if (h.ipc_mode == "host")
            return make_error(Errc::InvalidArgument,
                              "sysctl \"{}\" is not allowed in the hosts ipc namespace", k);
        return {};
    }
    if (starts_with(k, "net.")) {
        if (h.network_mode == "host")
            return make_error(Errc::InvalidArgument,
                              "sysctl \"{}\" not allowed in host network namespace", k);
        return {};
    }
    if (k == "kernel.domainname" || k == "kernel.hostname") {
        if (h.uts_mode == "host")
            return make_error(Errc::InvalidArgument,
                              "sysctl \"{}\" is not allowed in the hosts uts namespace", k);
        return {};
    }
    return make_error(Errc::InvalidArgument, "sysctl \"{}\" is not in a separate kernel namespace",
                      k);
}

// ---- Devices --------------------------------------------------------------------------------

/// runc's DeviceFromPath: a character, block or FIFO node (lstat: links are not devices).
Result<std::optional<oci::Device>> device_from_path(const std::string& path) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) return BERTH_SYS_ERROR("stat device {}", path);
    oci::Device d;
    if (S_ISCHR(st.st_mode))
        d.type = "c";
    else if (S_ISBLK(st.st_mode))
        d.type = "b";
    else if (S_ISFIFO(st.st_mode))
        d.type = "p";
    else
        return std::optional<oci::Device>{};
    d.path = path;
    d.major = major(st.st_rdev);
    d.minor = minor(st.st_rdev);
    d.file_mode = st.st_mode & 07777;
    d.uid = st.st_uid;
    d.gid = st.st_gid;
    return std::optional<oci::Device>{d};
}

oci::DeviceCgroupRule rule_for(const oci::Device& d, const std::string& access) {
    oci::DeviceCgroupRule r;
    r.allow = true;
    r.type = d.type;
    r.major = d.major;
    r.minor = d.minor;
    r.access = access;
    return r;
}

/// Every device node under `dir` (runc's GetDevices, as HostDevices for --privileged).
void host_devices(const std::string& dir, std::vector<oci::Device>& out) {
    auto names = list_dir(dir);
    if (!names) return;
    for (const std::string& n : *names) {
        std::string p = path_join(dir, n);
        struct stat st {};
        if (lstat(p.c_str(), &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            static const std::set<std::string> skip = {"pts",  "shm",         "fd",   "mqueue",
                                                       ".lxc", ".lxd-mounts", ".udev"};
            if (!skip.count(n)) host_devices(p, out);
            continue;
        }
        if (n == "console") continue;
        auto d = device_from_path(p);
        if (!d || !*d || (*d)->type == "p") continue;
        out.push_back(std::move(**d));
    }
}

/// --device: a node, or a directory of nodes (oci.DevicesFromPath).
Result<void> add_device(const DeviceMapping& m, std::vector<oci::Device>& devs,
                        std::vector<oci::DeviceCgroupRule>* rules) {
    std::string perms = m.cgroup_permissions.empty() ? "rwm" : m.cgroup_permissions;
    if (perms.find_first_not_of("rwm") != std::string::npos)
        return make_error(Errc::InvalidArgument, "invalid device mode: {}", perms);
    std::string in_container = m.path_in_container.empty() ? m.path_on_host : m.path_in_container;
    if (in_container.empty() || in_container[0] != '/')
        return make_error(Errc::InvalidArgument, "{} is not an absolute path", in_container);
    std::string host = m.path_on_host;
    char resolved[PATH_MAX];
    if (struct stat st{};
        lstat(host.c_str(), &st) == 0 && S_ISLNK(st.st_mode) && realpath(host.c_str(), resolved))
        host = resolved;

    auto d = device_from_path(host);
    if (d && *d) {
        (*d)->path = in_container;
        if (rules) rules->push_back(rule_for(**d, perms));
        devs.push_back(std::move(**d));
        return {};
    }
    std::string why = d ? "not a device node" : d.error().what();
    if (d) {
        std::vector<oci::Device> found;
        host_devices(host, found);
        for (oci::Device& c : found) {
            c.path = in_container + c.path.substr(host.size());
            if (rules) rules->push_back(rule_for(c, perms));
            devs.push_back(std::move(c));
        }
        if (!found.empty()) return {};
    }
    return make_error(d ? Errc::InvalidArgument : d.error().code,
                      "error gathering device information while adding custom device \"{}\": {}",
                      m.path_on_host, why);
}

/// --device-cgroup-rule "c 1:3 rwm", "a *:* m".
Result<oci::DeviceCgroupRule> parse_device_rule(const std::string& text) {
    auto bad = [&] {
        return make_error(Errc::InvalidArgument, "invalid device cgroup rule format: '{}'", text);
    };
    auto parts = split(text, ' ');
    if (parts.size() != 3 || parts[0].size() != 1 ||
        std::string("acb").find(parts[0]) == std::string::npos)
        return bad();
    auto mm = split(parts[1], ':');
    if (mm.size() != 2) return bad();
    oci::DeviceCgroupRule r;
    r.allow = true;
    r.type = parts[0];
    for (int i = 0; i < 2; ++i) {
        if (mm[i] == "*") continue;
        auto n = parse_uint(mm[i]);
        if (!n) return bad();
        (i == 0 ? r.major : r.minor) = static_cast<int64_t>(*n);
    }
    if (parts[2].empty() || parts[2].size() > 3 ||
        parts[2].find_first_not_of("rwm") != std::string::npos)
        return bad();
    r.access = parts[2];
    return r;
}

Result<std::pair<int64_t, int64_t>> block_device_numbers(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return BERTH_SYS_ERROR("stat {}", path);
    return std::pair<int64_t, int64_t>{major(st.st_rdev), minor(st.st_rdev)};
}

// ---- Resources ------------------------------------------------------------------------------

bool probe_swap_limit() {
    if (path_exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")) return true;
    // cgroup v2: memory.swap.max exists in every non-root cgroup when swap is accounted.
    if (path_exists("/sys/fs/cgroup/cgroup.controllers")) {
        auto names = list_dir("/sys/fs/cgroup");
        if (names) {
            for (const std::string& n : *names)
                if (path_exists("/sys/fs/cgroup/" + n + "/memory.swap.max")) return true;
        }
    }
    return false;
}

Result<oci::Resources> build_resources(const SpecInputs& in) {
    const HostConfig& h = in.host;
    oci::Resources r;

    // verifyPlatformContainerResources, with moby's messages.
    if (h.memory != 0 && h.memory < 6 * 1024 * 1024)
        return make_error(Errc::InvalidArgument, "Minimum memory limit allowed is 6MB");
    int64_t swap = h.memory_swap;
    if (h.memory > 0 && swap == 0) swap = h.memory * 2;  // adaptContainerSettings
    if (swap > 0 && h.memory == 0)
        return make_error(Errc::InvalidArgument,
                          "You should always set the Memory limit when "
                          "using Memoryswap limit, see usage");
    if (h.memory > 0 && swap > 0 && swap < h.memory)
        return make_error(Errc::InvalidArgument,
                          "Minimum memoryswap limit should be larger than "
                          "memory limit, see usage");
    if (swap != 0) {
        static const bool host_supports = probe_swap_limit();
        bool supported = in.swap_limit_supported ? *in.swap_limit_supported : host_supports;
        if (!supported) {
            BLOG_WARN("container={} swap limit ignored: the kernel does not account swap", in.id);
            swap = -1;
        }
    }
    if (h.memory_swappiness && (*h.memory_swappiness < -1 || *h.memory_swappiness > 100))
        return make_error(Errc::InvalidArgument,
                          "Invalid value: {}, valid memory swappiness range is 0-100",
                          *h.memory_swappiness);
    if (h.memory_reservation > 0 && h.memory > 0 && h.memory < h.memory_reservation)
        return make_error(Errc::InvalidArgument,
                          "Minimum memory limit can not be less than "
                          "memory reservation limit, see usage");
    if (h.nano_cpus > 0 && h.cpu_period > 0)
        return make_error(Errc::InvalidArgument,
                          "Conflicting options: Nano CPUs and CPU Period cannot both be set");
    if (h.nano_cpus > 0 && h.cpu_quota > 0)
        return make_error(Errc::InvalidArgument,
                          "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    // sysconf reads /sys for the number: only when there is a limit to check.
    if (long ncpu = h.nano_cpus > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 0;
        h.nano_cpus < 0 || (ncpu > 0 && h.nano_cpus > ncpu * 1000000000LL))
        return make_error(Errc::InvalidArgument,
                          "Range of CPUs is from 0.01 to {}.00, as there are only {} CPUs "
                          "available",
                          ncpu, ncpu);
    if (h.cpu_shares < 0) return make_error(Errc::InvalidArgument, "shares: invalid argument");

    oci::MemoryResources m;
    bool any_memory = false;
    auto set_i = [&](std::optional<int64_t>& f, int64_t v) {
        f = v;
        any_memory = true;
    };
    if (h.memory > 0) set_i(m.limit, h.memory);
    if (h.memory_reservation > 0) set_i(m.reservation, h.memory_reservation);
    if (swap > 0 || (swap == -1 && h.memory > 0)) set_i(m.swap, swap);
    if (h.kernel_memory_tcp != 0) set_i(m.kernel_tcp, h.kernel_memory_tcp);
    if (h.memory_swappiness && *h.memory_swappiness >= 0) {
        m.swappiness = static_cast<uint64_t>(*h.memory_swappiness);
        any_memory = true;
    }
    if (h.oom_kill_disable && *h.oom_kill_disable) {
        m.disable_oom_killer = true;
        any_memory = true;
    }
    if (any_memory) r.memory = m;

    oci::CpuResources c;
    bool any_cpu = false;
    if (h.cpu_shares > 0) {
        c.shares = static_cast<uint64_t>(h.cpu_shares);
        any_cpu = true;
    }
    if (!h.cpuset_cpus.empty()) c.cpus = h.cpuset_cpus, any_cpu = true;
    if (!h.cpuset_mems.empty()) c.mems = h.cpuset_mems, any_cpu = true;
    if (h.nano_cpus > 0) {
        // CFS bandwidth: a 100 ms period and the share of it the CPUs give (getCPUResources).
        constexpr uint64_t period = 100000;
        c.period = period;
        c.quota = h.nano_cpus * static_cast<int64_t>(period) / 1000000000LL;
        any_cpu = true;
    }
    if (h.cpu_period != 0) c.period = static_cast<uint64_t>(h.cpu_period), any_cpu = true;
    if (h.cpu_quota != 0) c.quota = h.cpu_quota, any_cpu = true;
    if (h.cpu_realtime_period != 0)
        c.realtime_period = static_cast<uint64_t>(h.cpu_realtime_period), any_cpu = true;
    if (h.cpu_realtime_runtime != 0) c.realtime_runtime = h.cpu_realtime_runtime, any_cpu = true;
    if (any_cpu) r.cpu = c;

    if (h.pids_limit) r.pids = oci::PidsResources{*h.pids_limit <= 0 ? -1 : *h.pids_limit};

    oci::BlockIoResources b;
    bool any_blkio = false;
    if (h.blkio_weight > 0) b.weight = h.blkio_weight, any_blkio = true;
    for (const WeightDevice& wd : h.blkio_weight_device) {
        auto [maj, min] = BERTH_TRY_CTX(block_device_numbers(wd.path), "blkio weight device");
        oci::WeightDevice w;
        w.major = maj;
        w.minor = min;
        w.weight = wd.weight;
        b.weight_device.push_back(w);
        any_blkio = true;
    }
    auto throttle = [&](const std::vector<ThrottleDevice>& from,
                        std::vector<oci::ThrottleDevice>& to) -> Result<void> {
        for (const ThrottleDevice& t : from) {
            auto [maj, min] = BERTH_TRY_CTX(block_device_numbers(t.path), "blkio throttle device");
            to.push_back(oci::ThrottleDevice{maj, min, t.rate});
            any_blkio = true;
        }
        return {};
    };
    BERTH_TRY(throttle(h.blkio_device_read_bps, b.throttle_read_bps_device));
    BERTH_TRY(throttle(h.blkio_device_write_bps, b.throttle_write_bps_device));
    BERTH_TRY(throttle(h.blkio_device_read_iops, b.throttle_read_iops_device));
    BERTH_TRY(throttle(h.blkio_device_write_iops, b.throttle_write_iops_device));
    if (any_blkio) r.block_io = b;
    return r;
}

// ---- Mounts ---------------------------------------------------------------------------------

oci::Mount make_mount(std::string dest, std::string type, std::string source,
                      std::vector<std::string> options) {
    oci::Mount m;
    m.destination = std::move(dest);
    m.type = std::move(type);
    m.source = std::move(source);
    m.options = std::move(options);
    return m;
}

/// oci.DefaultLinuxSpec's mounts, in its order.
std::vector<oci::Mount> default_mounts() {
    return {
        make_mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
        make_mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
        make_mount("/dev/pts", "devpts", "devpts",
                   {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
        make_mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
        make_mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "ro"}),
        make_mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
        make_mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777"}),
    };
}

bool is_propagation(std::string_view o) {
    return o == "private" || o == "rprivate" || o == "shared" || o == "rshared" || o == "slave" ||
           o == "rslave";
}

/// A mount the user asked for (or the engine's network files), before it becomes an oci::Mount.
struct UserMount {
    std::string destination;
    std::string source;
    bool tmpfs = false;
    std::string tmpfs_data;  ///< tmpfs only: the user's options
    bool writable = true;
    bool non_recursive = false;
    std::string propagation = "rprivate";
    std::string origin;  ///< the -v/--mount text, for errors
};

Result<std::string> clean_destination(const std::string& dest, const std::string& type,
                                      const std::string& origin) {
    if (dest.empty())
        return make_error(Errc::InvalidArgument,
                          "invalid mount config for type \"{}\": field Target must not be empty",
                          type);
    if (dest[0] != '/')
        return make_error(Errc::InvalidArgument,
                          "invalid volume specification: '{}': invalid mount config for type "
                          "\"{}\": invalid mount path: '{}' mount path must be absolute",
                          origin, type, dest);
    std::string clean = clean_path(dest);
    if (clean == "/")
        return make_error(Errc::InvalidArgument,
                          "invalid volume specification: '{}': invalid mount config for type "
                          "\"{}\": invalid specification: destination can't be '/'",
                          origin, type);
    return clean;
}

/// moby's mount mode ("ro,z,rshared,nocopy,cached"): at most one of each kind.
struct BindMode {
    bool read_only = false;
    std::string propagation;
    bool nocopy = false;
};

std::optional<BindMode> parse_bind_mode(const std::string& mode) {
    BindMode b;
    if (mode.empty()) return b;
    int rw = 0, label = 0, prop = 0, copy = 0, consistency = 0;
    for (const std::string& o : split(mode, ',')) {
        if (o == "rw" || o == "ro") {
            ++rw;
            b.read_only = o == "ro";
        } else if (o == "z" || o == "Z") {
            ++label;  // SELinux relabelling: nothing to do without SELinux
        } else if (is_propagation(o)) {
            ++prop;
            b.propagation = o;
        } else if (o == "nocopy") {
            ++copy;
            b.nocopy = true;
        } else if (o == "cached" || o == "delegated" || o == "consistent") {
            ++consistency;
        } else {
            return std::nullopt;
        }
    }
    if (rw > 1 || label > 1 || prop > 1 || copy > 1 || consistency > 1) return std::nullopt;
    return b;
}

/// -v / HostConfig.Binds: "/host:/ctr[:mode]" (moby's linux parser ParseMountRaw).
Result<UserMount> parse_bind(const std::string& raw) {
    auto invalid_spec = [&] {
        return make_error(Errc::InvalidArgument, "invalid volume specification: '{}'", raw);
    };
    std::vector<std::string> arr = split(raw, ':');
    if (arr.empty() || arr[0].empty() || arr.size() > 3) return invalid_spec();
    std::string mode = arr.size() == 3 ? arr[2] : "";
    if (arr.size() == 2 && parse_bind_mode(arr[1]) && !arr[1].empty()) return invalid_spec();
    auto bm = parse_bind_mode(mode);
    if (!bm) return make_error(Errc::InvalidArgument, "invalid mode: {}", mode);
    if (arr.size() == 1 || arr[0][0] != '/')
        return make_error(Errc::InvalidArgument,
                          "{}: named volumes are not supported yet (use an absolute host path)",
                          raw);
    if (bm->nocopy)
        return make_error(Errc::InvalidArgument,
                          "invalid mode: {}: nocopy applies to volumes "
                          "only",
                          mode);
    UserMount m;
    m.origin = raw;
    m.source = clean_path(arr[0]);
    m.destination = BERTH_TRY(clean_destination(arr[1], "bind", raw));
    m.writable = !bm->read_only;
    if (!bm->propagation.empty()) m.propagation = bm->propagation;
    // dockerd creates a missing host directory for -v (never for --mount).
    if (!path_exists(m.source))
        BERTH_TRY_CTX(mkdir_all(m.source, 0755), "create bind source {} for {}", m.source, raw);
    return m;
}

/// tmpfs options from --mount type=tmpfs (moby's ConvertTmpfsOptions).
Result<std::string> tmpfs_data(const Mount& m) {
    std::vector<std::string> o;
    if (m.read_only) o.emplace_back("ro");
    if (m.tmpfs_options && m.tmpfs_options->mode != 0)
        o.push_back(fmt::format("mode={:o}", m.tmpfs_options->mode));
    if (m.tmpfs_options && m.tmpfs_options->size_bytes != 0) {
        int64_t size = m.tmpfs_options->size_bytes;
        std::string suffix;
        for (auto [s, div] : {std::pair{"g", int64_t{1} << 30}, std::pair{"m", int64_t{1} << 20},
                              std::pair{"k", int64_t{1} << 10}}) {
            if (size % div == 0) {
                size /= div;
                suffix = s;
                break;
            }
        }
        o.push_back(fmt::format("size={}{}", size, suffix));
    }
    // API 1.46's raw options: [["exec"], ["nr_inodes", "100"]].
    if (m.tmpfs_options) {
        for (const std::vector<std::string>& kv : m.tmpfs_options->options) {
            if (kv.size() == 1)
                o.push_back(kv[0]);
            else if (kv.size() == 2)
                o.push_back(kv[0] + "=" + kv[1]);
            else
                return make_error(Errc::InvalidArgument, "invalid tmpfs option [{}]",
                                  join(kv, " "));
        }
    }
    return join(o, ",");
}

/// HostConfig.Mounts (--mount), moby's validateMountConfig with its messages.
Result<UserMount> parse_api_mount(const Mount& m) {
    std::string origin = fmt::format("type={},source={},target={}", m.type, m.source, m.target);
    auto config_error = [&](std::string_view what) {
        return make_error(Errc::InvalidArgument, "invalid mount config for type \"{}\": {}", m.type,
                          what);
    };
    if (m.target.empty()) return config_error("field Target must not be empty");
    UserMount u;
    u.origin = origin;
    if (m.type == "bind") {
        if (m.source.empty()) return config_error("field Source must not be empty");
        if (m.tmpfs_options) return config_error("field TmpfsOptions must not be specified");
        if (m.volume_options) return config_error("field VolumeOptions must not be specified");
        if (m.source[0] != '/')
            return config_error(
                fmt::format("invalid mount path: '{}' mount path must be absolute", m.source));
        u.source = clean_path(m.source);
        u.destination = BERTH_TRY(clean_destination(m.target, m.type, origin));
        if (!path_exists(u.source)) {
            if (m.bind_options && m.bind_options->create_mountpoint)
                BERTH_TRY_CTX(mkdir_all(u.source, 0755), "create bind source {}", u.source);
            else
                return config_error(fmt::format("bind source path does not exist: {}", u.source));
        }
        u.writable = !m.read_only;
        if (m.bind_options) {
            if (!m.bind_options->propagation.empty()) {
                if (!is_propagation(m.bind_options->propagation))
                    return config_error(
                        fmt::format("invalid propagation mode: {}", m.bind_options->propagation));
                u.propagation = m.bind_options->propagation;
            }
            u.non_recursive = m.bind_options->non_recursive;
        }
        return u;
    }
    if (m.type == "tmpfs") {
        if (!m.source.empty()) return config_error("field Source must not be specified");
        if (m.bind_options) return config_error("field BindOptions must not be specified");
        if (m.volume_options) return config_error("field VolumeOptions must not be specified");
        u.destination = BERTH_TRY(clean_destination(m.target, m.type, origin));
        u.tmpfs = true;
        u.tmpfs_data = BERTH_TRY(tmpfs_data(m));
        return u;
    }
    if (m.type == "volume")
        return make_error(Errc::InvalidArgument, "{}: named volumes are not supported yet", origin);
    return make_error(Errc::InvalidArgument, "mount type unknown: \"{}\"", m.type);
}

// moby/sys/mount's flag options: the name and a key that collides with its opposite ("exec"
// and "noexec" share one), for MergeTmpfsOptions. Propagation flags share one key.
int flag_key(std::string_view o) {
    static const std::map<std::string_view, int> keys = {
        {"ro", 1},          {"rw", 1},           {"suid", 2},         {"nosuid", 2},
        {"dev", 3},         {"nodev", 3},        {"exec", 4},         {"noexec", 4},
        {"sync", 5},        {"async", 5},        {"dirsync", 6},      {"remount", 7},
        {"mand", 8},        {"nomand", 8},       {"atime", 9},        {"noatime", 9},
        {"diratime", 10},   {"nodiratime", 10},  {"bind", 11},        {"rbind", 12},
        {"relatime", 13},   {"norelatime", 13},  {"strictatime", 14}, {"nostrictatime", 14},
        {"unbindable", -1}, {"runbindable", -1}, {"private", -1},     {"rprivate", -1},
        {"shared", -1},     {"rshared", -1},     {"slave", -1},       {"rslave", -1},
    };
    auto it = keys.find(o);
    return it == keys.end() ? 0 : it->second;
}

/// moby/sys/mount MergeTmpfsOptions: later options win over earlier ones of the same kind.
Result<std::vector<std::string>> merge_tmpfs_options(const std::vector<std::string>& options) {
    static const std::set<std::string_view> data_keys = {"size",      "mode",      "uid", "gid",
                                                         "nr_inodes", "nr_blocks", "mpol"};
    std::set<int> flags_seen;
    std::set<std::string> data_seen;
    std::vector<std::string> out;
    for (auto it = options.rbegin(); it != options.rend(); ++it) {
        const std::string& o = *it;
        if (o == "defaults") continue;
        if (int k = flag_key(o); k != 0) {
            if (flags_seen.insert(k).second) out.insert(out.begin(), o);
            continue;
        }
        size_t eq = o.find('=');
        if (eq == std::string::npos || !data_keys.count(std::string_view(o).substr(0, eq)))
            return make_error(Errc::InvalidArgument, "invalid tmpfs option \"{}\"", o);
        if (data_seen.insert(o.substr(0, eq)).second) out.insert(out.begin(), o);
    }
    return out;
}

size_t path_depth(const std::string& p) {
    return static_cast<size_t>(std::count(p.begin(), p.end(), '/'));
}

void clear_read_only(oci::Mount& m) {
    m.options.erase(std::remove(m.options.begin(), m.options.end(), "ro"), m.options.end());
}

/// WithMounts: the default mounts minus those the user replaces, then the user's mounts
/// (parents first), /dev/shm sized, read-only rootfs and privileged adjustments.
Result<void> set_mounts(const SpecInputs& in, const SecurityOptions& so, oci::Spec& s,
                        std::optional<oci::Mount> init_mount) {
    const HostConfig& h = in.host;
    std::vector<UserMount> user;
    std::set<std::string> bind_targets;

    auto add_checked = [&](UserMount m) -> Result<void> {
        if (!bind_targets.insert(m.destination).second)
            return make_error(Errc::InvalidArgument, "Duplicate mount point: {}", m.destination);
        user.push_back(std::move(m));
        return {};
    };
    for (const std::string& b : h.binds) {
        UserMount m = BERTH_TRY(parse_bind(b));
        BERTH_TRY(add_checked(std::move(m)));
    }
    for (const Mount& api : h.mounts) {
        UserMount m = BERTH_TRY(parse_api_mount(api));
        BERTH_TRY(add_checked(std::move(m)));
    }

    // --tmpfs: a tmpfs wins over a bind at the same place (setupMounts skips those binds).
    for (const auto& [dest, data] : h.tmpfs) {
        UserMount t;
        t.origin = dest;
        t.destination = BERTH_TRY(clean_destination(dest, "tmpfs", dest));
        t.tmpfs = true;
        t.tmpfs_data = data;
        user.erase(
            std::remove_if(user.begin(), user.end(),
                           [&](const UserMount& u) { return u.destination == t.destination; }),
            user.end());
        user.push_back(std::move(t));
    }

    // IpcMounts: a shared /dev/shm for host and container:<id> IPC modes.
    auto has_user_mount = [&](const std::string& d) {
        return std::any_of(user.begin(), user.end(),
                           [&](const UserMount& u) { return u.destination == d; });
    };
    if (!has_user_mount("/dev/shm")) {
        std::string shm_source;
        if (h.ipc_mode == "host") {
            shm_source = "/dev/shm";
        } else if (is_container_mode(h.ipc_mode) && starts_with(in.ipcns_path, "/proc/")) {
            // /proc/<pid>/ns/ipc -> /proc/<pid>/root/dev/shm: the other container's tmpfs.
            std::string base = in.ipcns_path.substr(0, in.ipcns_path.find("/ns/"));
            shm_source = base + "/root/dev/shm";
        }
        if (!shm_source.empty()) {
            UserMount m;
            m.destination = "/dev/shm";
            m.source = shm_source;
            m.origin = "ipc " + h.ipc_mode;
            user.push_back(std::move(m));
        }
    }

    // NetworkMounts: /etc/resolv.conf, /etc/hostname, /etc/hosts (a user mount wins).
    for (const auto& [dest, src] :
         {std::pair{"/etc/resolv.conf", &in.resolv_conf_path},
          std::pair{"/etc/hostname", &in.hostname_path}, std::pair{"/etc/hosts", &in.hosts_path}}) {
        if (src->empty() || has_user_mount(dest)) continue;
        if (!path_exists(*src)) {
            BLOG_WARN("container={} {} source {} missing; not mounted", in.id, dest, *src);
            continue;
        }
        UserMount m;
        m.destination = dest;
        m.source = *src;
        m.writable = !h.readonly_rootfs;
        m.origin = dest;
        user.push_back(std::move(m));
    }

    std::stable_sort(user.begin(), user.end(), [](const UserMount& a, const UserMount& b) {
        return path_depth(a.destination) < path_depth(b.destination);
    });

    std::set<std::string> user_dests;
    for (const UserMount& u : user) user_dests.insert(u.destination);
    bool user_dev = user_dests.count("/dev") > 0;

    std::vector<oci::Mount> defaults = default_mounts();
    if (init_mount) defaults.push_back(std::move(*init_mount));
    std::vector<oci::Mount> mounts;
    for (oci::Mount& m : defaults) {
        if (user_dests.count(m.destination)) continue;
        if (user_dev && starts_with(m.destination, "/dev/")) continue;
        if (m.destination == "/dev/shm") {
            if (h.ipc_mode == "none") continue;
            int64_t shm = h.shm_size > 0 ? h.shm_size : kDefaultShmSize;
            m.options.push_back(fmt::format("size={}", shm));
        }
        mounts.push_back(std::move(m));
    }
    oci::Linux& l = *s.linux;
    for (const UserMount& u : user) {
        if (u.tmpfs) {
            std::vector<std::string> opts = {"noexec", "nosuid", "nodev", "rprivate"};
            if (!u.tmpfs_data.empty()) {
                for (std::string& o : split(u.tmpfs_data, ',')) opts.push_back(std::move(o));
            }
            auto merged = merge_tmpfs_options(opts);
            if (!merged) return Unexpected(std::move(merged).error().wrap("tmpfs {}", u.origin));
            mounts.push_back(make_mount(u.destination, "tmpfs", "tmpfs", std::move(*merged)));
            continue;
        }
        // Shared and slave binds need a rootfs propagation that lets events through.
        const std::string& p = u.propagation;
        if (p == "shared" || p == "rshared") {
            if (l.rootfs_propagation != "shared" && l.rootfs_propagation != "rshared")
                l.rootfs_propagation = "shared";
        } else if (p == "slave" || p == "rslave") {
            if (l.rootfs_propagation.empty() || l.rootfs_propagation == "private" ||
                l.rootfs_propagation == "rprivate")
                l.rootfs_propagation = "rslave";
        }
        std::vector<std::string> opts = {u.non_recursive ? "bind" : "rbind"};
        if (!u.writable) opts.emplace_back("ro");
        if (!p.empty()) opts.push_back(p);
        mounts.push_back(make_mount(u.destination, "bind", u.source, std::move(opts)));
    }

    if (h.readonly_rootfs) {
        for (oci::Mount& m : mounts) {
            const std::string& d = m.destination;
            if (d == "/proc" || d == "/dev/pts" || d == "/dev/shm" || d == "/dev/mqueue" ||
                d == "/dev" || user_dests.count(d))
                continue;
            if (!contains(m.options, "ro")) m.options.emplace_back("ro");
        }
    }
    for (oci::Mount& m : mounts) {
        if (h.privileged && m.destination == "/sys") clear_read_only(m);
        if (m.type == "cgroup" && (h.privileged || so.writable_cgroups.value_or(false)))
            clear_read_only(m);
    }
    s.mounts = std::move(mounts);
    return {};
}

// ---- Process --------------------------------------------------------------------------------

Result<std::vector<oci::Rlimit>> rlimits(const std::vector<Ulimit>& ulimits) {
    std::vector<oci::Rlimit> out;
    for (const Ulimit& u : ulimits) {
        std::string name = u.name;
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (starts_with(name, "rlimit_")) name = name.substr(7);
        if (std::find_if(std::begin(kUlimitNames), std::end(kUlimitNames),
                         [&](const char* n) { return name == n; }) == std::end(kUlimitNames))
            return make_error(Errc::InvalidArgument, "invalid ulimit type: {}", u.name);
        // -1 is "unlimited" (RLIM_INFINITY), as uint64(-1) is in moby.
        if (u.soft >= 0 && u.hard >= 0 && u.soft > u.hard)
            return make_error(Errc::InvalidArgument,
                              "ulimit soft limit must be less than or equal to hard limit: {} > {}",
                              u.soft, u.hard);
        out.push_back(oci::Rlimit{"RLIMIT_" + upper(name), static_cast<uint64_t>(u.soft),
                                  static_cast<uint64_t>(u.hard)});
    }
    return out;
}

bool has_env(const std::vector<std::string>& env, std::string_view key) {
    return std::any_of(env.begin(), env.end(), [&](const std::string& e) {
        return e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=';
    });
}

oci::Capabilities capability_sets(const std::vector<std::string>& caps) {
    oci::Capabilities c;
    c.bounding = caps;
    c.effective = caps;
    c.permitted = caps;
    return c;
}

std::optional<oci::ConsoleSize> console_size(const std::vector<int>& size) {
    if (size.size() != 2 || (size[0] <= 0 && size[1] <= 0)) return std::nullopt;
    return oci::ConsoleSize{static_cast<unsigned>(std::max(size[0], 0)),
                            static_cast<unsigned>(std::max(size[1], 0))};
}

}  // namespace

std::vector<std::string> default_capabilities() {
    return {"CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
            "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
            "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
            "CAP_KILL",    "CAP_AUDIT_WRITE"};
}

std::vector<std::string> all_capabilities() {
    // A daemon that itself runs with a reduced bounding set (in a container, under a systemd
    // CapabilityBoundingSet) can't grant what it lacks: capset would fail in every privileged
    // container. So "all" is what the kernel has and our bounding set still holds.
    static const uint64_t bounding = [] {
        uint64_t mask = ~uint64_t{0};
        if (auto status = read_file("/proc/self/status")) {
            size_t p = status->find("\nCapBnd:");
            if (p != std::string::npos) {
                std::string_view v = trim(std::string_view(*status).substr(p + 8, 32));
                v = v.substr(0, v.find('\n'));
                uint64_t m = 0;
                bool ok = !v.empty();
                for (char c : v) {
                    int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                            : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                                                                        : -1;
                    if (d < 0) {
                        ok = false;
                        break;
                    }
                    m = m << 4 | static_cast<uint64_t>(d);
                }
                if (ok) mask = m;
            }
        }
        return mask;
    }();
    std::vector<std::string> out;
    for (int i = 0; i <= kernel_last_cap(); ++i)
        if (bounding >> i & 1) out.emplace_back(oci::capability_names()[static_cast<size_t>(i)]);
    return out;
}

Result<std::vector<std::string>> tweak_capabilities(const std::vector<std::string>& add,
                                                    const std::vector<std::string>& drop,
                                                    bool privileged) {
    if (privileged) return all_capabilities();
    if (add.empty() && drop.empty()) return default_capabilities();
    std::vector<std::string> known;  // names the kernel has, grantable or not
    for (int i = 0; i <= kernel_last_cap(); ++i) known.emplace_back(oci::capability_names()[static_cast<size_t>(i)]);
    auto normalize = [&](const std::vector<std::string>& in) -> Result<std::vector<std::string>> {
        std::vector<std::string> out;
        for (const std::string& raw : in) {
            std::string c = upper(raw);
            if (c != "ALL") {
                if (!starts_with(c, "CAP_")) c = "CAP_" + c;
                if (!contains(known, c))
                    return make_error(Errc::InvalidArgument, "unknown capability: \"{}\"", c);
            }
            if (!contains(out, c)) out.push_back(std::move(c));
        }
        return out;
    };
    std::vector<std::string> cap_drop = BERTH_TRY(normalize(drop));
    std::vector<std::string> cap_add = BERTH_TRY(normalize(add));
    std::vector<std::string> caps;
    if (contains(cap_add, "ALL")) {
        for (const std::string& c : all_capabilities())
            if (!contains(cap_drop, c)) caps.push_back(c);
    } else if (contains(cap_drop, "ALL")) {
        caps = cap_add;
    } else {
        for (const std::string& c : default_capabilities())
            if (!contains(cap_drop, c)) caps.push_back(c);
        for (const std::string& c : cap_add)
            if (!contains(caps, c)) caps.push_back(c);
    }
    return caps;
}

Result<oci::Spec> build_spec(const SpecInputs& in) {
    const Config& cfg = in.config;
    const HostConfig& h = in.host;
    if (in.rootfs.empty() || in.rootfs[0] != '/')
        return make_error(Errc::InvalidArgument, "rootfs path \"{}\" is not absolute", in.rootfs);

    oci::Spec s;
    s.oci_version = oci::kOciVersion;
    s.root = oci::Root{in.rootfs, h.readonly_rootfs};
    s.linux = oci::Linux{};
    oci::Linux& l = *s.linux;
    oci::Process p;

    // Args: entrypoint + cmd ([""] as entrypoint is "none"), behind docker-init with --init.
    std::vector<std::string> args;
    if (cfg.entrypoint && !(cfg.entrypoint->size() == 1 && (*cfg.entrypoint)[0].empty()))
        args = *cfg.entrypoint;
    if (cfg.cmd) args.insert(args.end(), cfg.cmd->begin(), cfg.cmd->end());
    if (args.empty()) return make_error(Errc::InvalidArgument, "no command specified");
    bool private_pid = h.pid_mode.empty() || h.pid_mode == "private";
    std::optional<oci::Mount> init_mount;
    if (h.init.value_or(false) && private_pid) {
        if (in.init_path.empty())
            return make_error(Errc::Unavailable,
                              "--init: no init binary (docker-init) available on this host");
        args.insert(args.begin(), {kInitInContainer, "--"});
        init_mount = make_mount(kInitInContainer, "bind", in.init_path, {"bind", "ro"});
    }
    p.args = std::move(args);

    // Working directory: absolute, cleaned; "/" when unset.
    if (!cfg.working_dir.empty() && cfg.working_dir[0] != '/')
        return make_error(Errc::InvalidArgument,
                          "the working directory '{}' is invalid, it needs to be an absolute path",
                          cfg.working_dir);
    p.cwd = cfg.working_dir.empty() ? "/" : clean_path(cfg.working_dir);
    p.terminal = cfg.tty;
    if (cfg.tty) p.console_size = console_size(h.console_size);

    s.hostname = cfg.hostname.empty() ? in.id.substr(0, 12) : cfg.hostname;
    s.domainname = cfg.domainname;

    // User and environment.
    ResolvedUser ru = BERTH_TRY(in.user_files ? resolve_user_in(*in.user_files, cfg.user, h.group_add)
                                              : resolve_user(in.rootfs, cfg.user, h.group_add));
    p.user = ru.user;
    p.env = in.process_env.empty() ? process_env(cfg, s.hostname) : in.process_env;
    if (!has_env(p.env, "HOME")) p.env.push_back("HOME=" + ru.home);  // runc sets it likewise

    // Security options, capabilities, seccomp.
    SecurityOptions so = BERTH_TRY(parse_security_opts(h.security_opt));
    p.no_new_privileges = so.no_new_privileges;
    std::vector<std::string> caps =
        BERTH_TRY(tweak_capabilities(h.cap_add, h.cap_drop, h.privileged));
    p.capabilities = capability_sets(caps);
    l.seccomp = BERTH_TRY(seccomp_for(so, h.privileged, caps));
    p.rlimits = BERTH_TRY(rlimits(h.ulimits));
    p.oom_score_adj = h.oom_score_adj.value_or(0);
    if (h.oom_score_adj && (*h.oom_score_adj < -1000 || *h.oom_score_adj > 1000))
        return make_error(Errc::InvalidArgument,
                          "Invalid value {}, range for oom score adj is [-1000, 1000]",
                          *h.oom_score_adj);
    s.process = std::move(p);

    l.cgroups_path = in.cgroups_path;
    BERTH_TRY(set_namespaces(in, s));

    // Sysctls: Docker's defaults for a network namespace of its own, then the user's.
    bool own_net = h.network_mode != "host" && !is_container_mode(h.network_mode);
    if (own_net) {
        // The kernel's, looked up once (two stats of /proc/sys at every start otherwise).
        static const bool ping_range = sysctl_exists("net.ipv4.ping_group_range");
        static const bool port_start = sysctl_exists("net.ipv4.ip_unprivileged_port_start");
        if (ping_range) l.sysctl["net.ipv4.ping_group_range"] = "0 2147483647";
        if (port_start) l.sysctl["net.ipv4.ip_unprivileged_port_start"] = "0";
    }
    for (const auto& [k, v] : h.sysctls) {
        BERTH_TRY(check_sysctl(k, h));
        l.sysctl[k] = v;
    }

    // Resources and devices.
    oci::Resources r = BERTH_TRY(build_resources(in));
    if (h.privileged) {
        host_devices("/dev", l.devices);
        for (const DeviceMapping& d : h.devices) {
            if (d.path_on_host == d.path_in_container || d.path_in_container.empty()) continue;
            BERTH_TRY(add_device(d, l.devices, nullptr));
        }
        oci::DeviceCgroupRule all;
        all.allow = true;
        all.access = "rwm";
        r.devices = {all};
    } else {
        oci::DeviceCgroupRule deny;
        deny.allow = false;
        deny.access = "rwm";
        r.devices.push_back(deny);
        for (const DevRule& d : kAllowedDevices) {
            oci::DeviceCgroupRule a;
            a.allow = true;
            a.type = std::string(1, d.type);
            if (d.major >= 0) a.major = d.major;
            if (d.minor >= 0) a.minor = d.minor;
            a.access = d.access;
            r.devices.push_back(a);
        }
        for (const DeviceMapping& d : h.devices) BERTH_TRY(add_device(d, l.devices, &r.devices));
        for (const std::string& rule : h.device_cgroup_rules)
            r.devices.push_back(BERTH_TRY(parse_device_rule(rule)));
    }
    l.resources = std::move(r);

    // Masked and read-only paths (none when privileged; the API's lists override).
    if (!h.privileged) {
        l.masked_paths = h.masked_paths ? *h.masked_paths
                                        : std::vector<std::string>(std::begin(kMaskedPaths),
                                                                   std::end(kMaskedPaths));
        l.readonly_paths = h.readonly_paths ? *h.readonly_paths
                                            : std::vector<std::string>(std::begin(kReadonlyPaths),
                                                                       std::end(kReadonlyPaths));
    }

    BERTH_TRY(set_mounts(in, so, s, std::move(init_mount)));
    return s;
}

Result<oci::Process> build_exec_process(const oci::Spec& container_spec, const ExecConfig& e,
                                        const std::string& rootfs) {
    if (!container_spec.process)
        return make_error(Errc::InvalidArgument, "container spec has no process");
    if (e.cmd.empty()) return make_error(Errc::InvalidArgument, "No exec command specified");
    if (!e.working_dir.empty() && e.working_dir[0] != '/')
        return make_error(Errc::InvalidArgument,
                          "the working directory '{}' is invalid, it needs to be an absolute path",
                          e.working_dir);
    oci::Process p = *container_spec.process;
    p.args = e.cmd;
    if (!e.working_dir.empty()) p.cwd = clean_path(e.working_dir);
    p.terminal = e.tty;
    p.console_size = e.tty ? console_size(e.console_size) : std::nullopt;

    std::vector<std::string> env = container_spec.process->env;
    std::string new_home;
    if (!e.user.empty()) {
        ResolvedUser ru = BERTH_TRY(resolve_user(rootfs, e.user, e.group_add));
        p.user = ru.user;
        new_home = ru.home;
        // HOME the container got from its own user's passwd entry follows the exec's user.
        auto cu = resolve_user(rootfs, std::to_string(container_spec.process->user.uid));
        std::string old_home = "HOME=" + (cu ? cu->home : std::string("/"));
        env.erase(std::remove(env.begin(), env.end(), old_home), env.end());
    }
    // CreateDaemonEnvironment for the exec (TERM with its TTY), then the exec's own env over
    // it: ReplaceOrAppendEnvValues with every base entry replaceable.
    if (e.tty && !has_env(env, "TERM")) env.emplace_back("TERM=xterm");
    for (const std::string& kv : e.env) {
        size_t eq = kv.find('=');
        std::string_view key = std::string_view(kv).substr(0, eq);
        auto it = std::find_if(env.begin(), env.end(), [&](const std::string& b) {
            return b.size() >= key.size() && b.compare(0, key.size(), key) == 0 &&
                   (b.size() == key.size() || b[key.size()] == '=');
        });
        if (eq == std::string::npos) {
            if (it != env.end()) env.erase(it);
        } else if (it != env.end()) {
            *it = kv;
        } else {
            env.push_back(kv);
        }
    }
    p.env = std::move(env);
    if (!new_home.empty() && !has_env(p.env, "HOME")) p.env.push_back("HOME=" + new_home);

    if (e.privileged) p.capabilities = capability_sets(all_capabilities());
    return p;
}

}  // namespace berth::container
