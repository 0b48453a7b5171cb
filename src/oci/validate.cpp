#include "berth/oci/validate.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "berth/common/strings.hpp"
#include "json_path.hpp"

// The rules are runc 1.1's (libcontainer/configs/validate, specconv, validateProcessSpec) plus
// the runtime-spec MUSTs that a runtime can check without touching the host. Where runc only
// warns (relative mount destinations, unknown capability names) we accept too, so that every
// bundle runc runs also runs here. The first violation found, in document order, is returned.

namespace berth::oci {
namespace {

using detail::path_index;
using detail::path_key;

/// Collects the first violation; later checks are skipped once one is found.
class Checker {
public:
    explicit Checker(std::string_view origin) : origin_(origin) {}

    template <class... A>
    void fail(std::string_view path, fmt::format_string<A...> f, A&&... args) {
        if (failed_) return;
        failed_ = true;
        msg_ = detail::field_message(origin_, path, fmt::format(f, std::forward<A>(args)...));
    }
    bool failed() const { return failed_; }
    Result<void> result() const {
        if (failed_) return make_error(Errc::InvalidArgument, "{}", msg_);
        return {};
    }

private:
    std::string_view origin_;
    bool failed_ = false;
    std::string msg_;
};

bool is_abs(std::string_view p) {
    return !p.empty() && p.front() == '/';
}

std::string quoted(std::string_view s) {
    return fmt::format("\"{}\"", json_escape(s));
}

template <size_t N>
bool one_of(std::string_view v, const std::array<std::string_view, N>& set) {
    return std::find(set.begin(), set.end(), v) != set.end();
}

constexpr std::array<std::string_view, 8> kNamespaceTypes = {"pid", "network", "mount",  "ipc",
                                                             "uts", "user",    "cgroup", "time"};

constexpr std::array<std::string_view, 16> kRlimits = {
    "RLIMIT_AS",     "RLIMIT_CORE",   "RLIMIT_CPU",        "RLIMIT_DATA",
    "RLIMIT_FSIZE",  "RLIMIT_LOCKS",  "RLIMIT_MEMLOCK",    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",   "RLIMIT_NOFILE", "RLIMIT_NPROC",      "RLIMIT_RSS",
    "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"};

constexpr std::array<std::string_view, 9> kSeccompActions = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY"};

constexpr std::array<std::string_view, 7> kSeccompOps = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",       "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};

// libseccomp 2.5's architecture names (the spec's list plus the ones libseccomp added since).
constexpr std::array<std::string_view, 25> kSeccompArchs = {
    "SCMP_ARCH_NATIVE",    "SCMP_ARCH_X86",         "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",       "SCMP_ARCH_AARCH64",     "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",      "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",       "SCMP_ARCH_PPC64",       "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",     "SCMP_ARCH_PARISC",      "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_RISCV32",   "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",     "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB"};

constexpr std::array<std::string_view, 6> kSeccompFlags = {
    "SECCOMP_FILTER_FLAG_TSYNC",       "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",  "SECCOMP_FILTER_FLAG_NEW_LISTENER",
    "SECCOMP_FILTER_FLAG_TSYNC_ESRCH", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};

// runc's specconv accepts the recursive forms too.
constexpr std::array<std::string_view, 8> kPropagations = {
    "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable"};

// sysctls namespaced by the ipc namespace, besides fs.mqueue.* (runc's list).
constexpr std::array<std::string_view, 8> kIpcSysctls = {
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
    "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};

/// The namespaces of a spec by type, for the "needs a namespace" rules.
struct NamespaceSet {
    std::set<std::string> types;
    std::set<std::string> with_path;
    bool has(std::string_view t) const { return types.count(std::string(t)) != 0; }
    bool joined(std::string_view t) const { return with_path.count(std::string(t)) != 0; }
};

void check_version(Checker& c, const Spec& s) {
    if (s.oci_version.empty()) return c.fail("ociVersion", "required, must not be empty");
    // Same major version only: the spec keeps compatibility within a major release.
    if (s.oci_version.rfind("1.", 0) != 0)
        c.fail("ociVersion", "unsupported version {}, expected 1.x", quoted(s.oci_version));
}

void check_root(Checker& c, const Spec& s) {
    if (!s.root) return c.fail("root", "required, must be an object with a path");
    if (s.root->path.empty()) c.fail("root.path", "required, must not be empty");
}

bool valid_capability(std::string_view name) {
    if (name.size() <= 4 || name.substr(0, 4) != "CAP_") return false;
    return std::all_of(name.begin() + 4, name.end(), [](char ch) {
        return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
    });
}

void check_process(Checker& c, const Process& p) {
    if (p.args.empty()) return c.fail("process.args", "must not be empty");
    if (p.cwd.empty()) return c.fail("process.cwd", "required, must be an absolute path");
    if (!is_abs(p.cwd))
        return c.fail("process.cwd", "must be an absolute path, got {}", quoted(p.cwd));
    for (size_t i = 0; i < p.env.size() && !c.failed(); ++i) {
        const std::string& e = p.env[i];
        size_t eq = e.find('=');
        std::string path = path_index("process.env", i);
        // Same rules as runc's init when it builds the environment.
        if (eq == std::string::npos)
            c.fail(path, "invalid environment variable {}: missing '='", quoted(e));
        else if (eq == 0)
            c.fail(path, "invalid environment variable {}: empty name", quoted(e));
        else if (e.find('\0') < eq)
            c.fail(path, "invalid environment variable {}: name contains NUL", quoted(e));
    }
    if (p.capabilities) {
        const Capabilities& caps = *p.capabilities;
        const std::pair<const char*, const std::vector<std::string>*> sets[] = {
            {"bounding", &caps.bounding},
            {"effective", &caps.effective},
            {"inheritable", &caps.inheritable},
            {"permitted", &caps.permitted},
            {"ambient", &caps.ambient}};
        for (const auto& [name, list] : sets) {
            for (size_t i = 0; i < list->size() && !c.failed(); ++i) {
                if (!valid_capability((*list)[i]))
                    c.fail(path_index(path_key("process.capabilities", name), i),
                           "invalid capability name {}, expected CAP_*", quoted((*list)[i]));
            }
        }
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < p.rlimits.size() && !c.failed(); ++i) {
        const Rlimit& r = p.rlimits[i];
        std::string path = path_index("process.rlimits", i);
        if (!one_of(r.type, kRlimits))
            c.fail(path + ".type", "unknown rlimit type {}", quoted(r.type));
        else if (!seen.insert(r.type).second)
            c.fail(path + ".type", "duplicate rlimit type {}", quoted(r.type));
        else if (r.soft > r.hard)
            c.fail(path, "soft limit {} is greater than hard limit {}", r.soft, r.hard);
    }
}

void check_mounts(Checker& c, const Spec& s) {
    for (size_t i = 0; i < s.mounts.size() && !c.failed(); ++i) {
        // A relative destination is deprecated but accepted (relative to "/"), as runc does.
        if (s.mounts[i].destination.empty())
            c.fail(path_index("mounts", i) + ".destination", "required, must not be empty");
    }
}

void check_hooks(Checker& c, const Hooks& h) {
    const std::pair<const char*, const std::vector<Hook>*> lists[] = {
        {"prestart", &h.prestart},
        {"createRuntime", &h.create_runtime},
        {"createContainer", &h.create_container},
        {"startContainer", &h.start_container},
        {"poststart", &h.poststart},
        {"poststop", &h.poststop}};
    for (const auto& [name, hooks] : lists) {
        for (size_t i = 0; i < hooks->size() && !c.failed(); ++i) {
            const Hook& hook = (*hooks)[i];
            std::string path = path_index(path_key("hooks", name), i);
            if (!is_abs(hook.path))
                c.fail(path + ".path", "must be an absolute path, got {}", quoted(hook.path));
            else if (hook.timeout && *hook.timeout <= 0)
                c.fail(path + ".timeout", "must be greater than zero, got {}", *hook.timeout);
        }
    }
}

NamespaceSet check_namespaces(Checker& c, const Linux& l) {
    NamespaceSet ns;
    for (size_t i = 0; i < l.namespaces.size() && !c.failed(); ++i) {
        const Namespace& n = l.namespaces[i];
        std::string path = path_index("linux.namespaces", i);
        if (!one_of(n.type, kNamespaceTypes))
            c.fail(path + ".type", "unknown namespace type {}", quoted(n.type));
        else if (!ns.types.insert(n.type).second)
            c.fail(path + ".type", "duplicate namespace type {}", quoted(n.type));
        else if (!n.path.empty() && !is_abs(n.path))
            c.fail(path + ".path", "must be an absolute path, got {}", quoted(n.path));
        else if (!n.path.empty())
            ns.with_path.insert(n.type);
    }
    return ns;
}

void check_user_namespace(Checker& c, const Linux& l, const NamespaceSet& ns) {
    bool mapped = !l.uid_mappings.empty() || !l.gid_mappings.empty();
    if (!ns.has("user")) {
        if (!l.uid_mappings.empty())
            c.fail("linux.uidMappings", "user namespace mappings given without a user namespace");
        else if (!l.gid_mappings.empty())
            c.fail("linux.gidMappings", "user namespace mappings given without a user namespace");
        return;
    }
    if (ns.joined("user")) return;  // an existing namespace brings its own mappings
    if (!mapped)
        c.fail("linux.uidMappings", "a new user namespace needs uidMappings and gidMappings");
    else if (l.uid_mappings.empty())
        c.fail("linux.uidMappings", "a new user namespace needs uidMappings too");
    else if (l.gid_mappings.empty())
        c.fail("linux.gidMappings", "a new user namespace needs gidMappings too");
}

/// runc accepts "net/ipv4/ip_forward" for "net.ipv4.ip_forward" (sysctl.d(5)): when the first
/// separator is '/', '.' and '/' swap roles.
std::string sysctl_dotted(std::string_view key) {
    size_t first = key.find_first_of("./");
    std::string out(key);
    if (first == std::string::npos || key[first] == '.') return out;
    for (char& ch : out) {
        if (ch == '.')
            ch = '/';
        else if (ch == '/')
            ch = '.';
    }
    return out;
}

void check_sysctl(Checker& c, const Linux& l, const NamespaceSet& ns) {
    for (const auto& [key, value] : l.sysctl) {
        if (c.failed()) return;
        std::string name = sysctl_dotted(key);
        std::string path = path_key("linux.sysctl", key);
        if (one_of(name, kIpcSysctls) || name.rfind("fs.mqueue.", 0) == 0) {
            if (!ns.has("ipc"))
                c.fail(path, "sysctl {} needs an ipc namespace in linux.namespaces", quoted(name));
            continue;
        }
        if (name.rfind("net.", 0) == 0) {
            if (!ns.has("network"))
                c.fail(path, "sysctl {} needs a network namespace in linux.namespaces",
                       quoted(name));
            continue;
        }
        if (ns.has("uts") && name == "kernel.domainname") continue;
        if (ns.has("uts") && name == "kernel.hostname") {
            c.fail(path, "sysctl {} conflicts with the hostname field; set that instead",
                   quoted(name));
            continue;
        }
        c.fail(path, "sysctl {} is not in a separate kernel namespace", quoted(name));
    }
}

void check_devices(Checker& c, const Linux& l) {
    for (size_t i = 0; i < l.devices.size() && !c.failed(); ++i) {
        const Device& d = l.devices[i];
        std::string path = path_index("linux.devices", i);
        if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p")
            c.fail(path + ".type", "unknown device type {}, expected c, b, u or p", quoted(d.type));
        else if (!is_abs(d.path))
            c.fail(path + ".path", "must be an absolute path, got {}", quoted(d.path));
    }
}

bool valid_page_size(std::string_view s) {
    // "<size><unit-prefix>B": 64KB, 2MB, 1GB.
    if (s.size() < 3 || s.back() != 'B') return false;
    char unit = s[s.size() - 2];
    if (unit != 'K' && unit != 'M' && unit != 'G' && unit != 'T' && unit != 'P') return false;
    std::string_view digits = s.substr(0, s.size() - 2);
    return std::all_of(digits.begin(), digits.end(),
                       [](char ch) { return ch >= '0' && ch <= '9'; });
}

void check_resources(Checker& c, const Resources& r, const std::string& base) {
    for (size_t i = 0; i < r.devices.size() && !c.failed(); ++i) {
        const DeviceCgroupRule& d = r.devices[i];
        std::string path = path_index(path_key(base, "devices"), i);
        if (!d.type.empty() && d.type != "a" && d.type != "c" && d.type != "b")
            c.fail(path + ".type", "unknown device type {}, expected a, c or b", quoted(d.type));
        else if (d.access.find_first_not_of("rwm") != std::string::npos)
            c.fail(path + ".access", "invalid access {}, expected letters of \"rwm\"",
                   quoted(d.access));
    }
    if (!c.failed() && r.memory && r.memory->limit && r.memory->swap && *r.memory->limit > 0 &&
        *r.memory->swap > 0 && *r.memory->swap < *r.memory->limit) {
        // Both cgroup versions refuse it: v1's memsw must cover memory, v2 has no negative swap.
        c.fail(path_key(path_key(base, "memory"), "swap"),
               "memory+swap limit {} is less than the memory limit {}", *r.memory->swap,
               *r.memory->limit);
    }
    if (!c.failed() && r.block_io) {
        const auto& wd = r.block_io->weight_device;
        for (size_t i = 0; i < wd.size() && !c.failed(); ++i) {
            if (!wd[i].weight && !wd[i].leaf_weight)
                c.fail(path_index(path_key(path_key(base, "blockIO"), "weightDevice"), i),
                       "needs weight or leafWeight");
        }
    }
    for (size_t i = 0; i < r.hugepage_limits.size() && !c.failed(); ++i) {
        const std::string& ps = r.hugepage_limits[i].page_size;
        if (!valid_page_size(ps))
            c.fail(path_index(path_key(base, "hugepageLimits"), i) + ".pageSize",
                   "invalid page size {}, expected <size><unit>B such as 2MB", quoted(ps));
    }
    for (const auto& [key, value] : r.unified) {
        if (c.failed()) return;
        std::string path = path_key(path_key(base, "unified"), key);
        // Keys are file names in the container's cgroup directory: nothing that walks out of it.
        if (key.find('/') != std::string::npos || key.find('.') == std::string::npos ||
            key.front() == '.')
            c.fail(path, "invalid cgroup v2 file name {}, expected <controller>.<file>",
                   quoted(key));
    }
}

void check_seccomp(Checker& c, const Seccomp& s) {
    const std::string base = "linux.seccomp";
    auto errno_ok = [](std::string_view action) {
        return action == "SCMP_ACT_ERRNO" || action == "SCMP_ACT_TRACE";
    };
    if (!one_of(s.default_action, kSeccompActions))
        return c.fail(base + ".defaultAction", "unknown seccomp action {}",
                      quoted(s.default_action));
    // runc: the notify fd has to be written to the runtime after the filter is installed.
    if (s.default_action == "SCMP_ACT_NOTIFY")
        return c.fail(base + ".defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");
    if (s.default_errno_ret && !errno_ok(s.default_action))
        return c.fail(base + ".defaultErrnoRet", "not allowed with default action {}",
                      quoted(s.default_action));
    for (size_t i = 0; i < s.architectures.size() && !c.failed(); ++i) {
        if (!one_of(s.architectures[i], kSeccompArchs))
            c.fail(path_index(base + ".architectures", i), "unknown seccomp architecture {}",
                   quoted(s.architectures[i]));
    }
    for (size_t i = 0; i < s.flags.size() && !c.failed(); ++i) {
        if (!one_of(s.flags[i], kSeccompFlags))
            c.fail(path_index(base + ".flags", i), "unknown seccomp flag {}", quoted(s.flags[i]));
    }
    if (c.failed()) return;
    if (!s.listener_metadata.empty() && s.listener_path.empty())
        return c.fail(base + ".listenerMetadata", "must not be set without listenerPath");
    for (size_t i = 0; i < s.syscalls.size() && !c.failed(); ++i) {
        const SeccompSyscall& sc = s.syscalls[i];
        std::string path = path_index(base + ".syscalls", i);
        if (sc.names.empty()) {
            c.fail(path + ".names", "must contain at least one syscall name");
        } else if (!one_of(sc.action, kSeccompActions)) {
            c.fail(path + ".action", "unknown seccomp action {}", quoted(sc.action));
        } else if (sc.errno_ret && !errno_ok(sc.action)) {
            c.fail(path + ".errnoRet", "not allowed with action {}", quoted(sc.action));
        } else if (sc.action == "SCMP_ACT_NOTIFY" &&
                   std::find(sc.names.begin(), sc.names.end(), "write") != sc.names.end()) {
            c.fail(path + ".names", "SCMP_ACT_NOTIFY cannot be used for the write syscall");
        }
        for (size_t j = 0; j < sc.args.size() && !c.failed(); ++j) {
            const SeccompArg& a = sc.args[j];
            std::string apath = path_index(path + ".args", j);
            if (a.index > 5)
                c.fail(apath + ".index", "syscall argument index {} out of range 0-5", a.index);
            else if (!one_of(a.op, kSeccompOps))
                c.fail(apath + ".op", "unknown seccomp operator {}", quoted(a.op));
        }
    }
}

void check_linux(Checker& c, const Linux& l, const NamespaceSet& ns) {
    check_user_namespace(c, l, ns);
    if (c.failed()) return;
    check_sysctl(c, l, ns);
    if (c.failed()) return;
    if (l.resources) check_resources(c, *l.resources, "linux.resources");
    if (c.failed()) return;
    // cgroupsPath is "/a/b", "a/b", or systemd's "slice:prefix:name": never a ".." step.
    for (const std::string& part : split(l.cgroups_path, '/')) {
        for (const std::string& piece : split(part, ':')) {
            if (piece == "..")
                return c.fail("linux.cgroupsPath", "must not contain \"..\", got {}",
                              quoted(l.cgroups_path));
        }
    }
    check_devices(c, l);
    if (c.failed()) return;
    if (!l.rootfs_propagation.empty() && !one_of(l.rootfs_propagation, kPropagations))
        return c.fail("linux.rootfsPropagation", "unknown propagation {}",
                      quoted(l.rootfs_propagation));
    if (l.seccomp) check_seccomp(c, *l.seccomp);
    if (c.failed()) return;
    const std::pair<const char*, const std::vector<std::string>*> path_lists[] = {
        {"maskedPaths", &l.masked_paths}, {"readonlyPaths", &l.readonly_paths}};
    for (const auto& [name, list] : path_lists) {
        std::string base = path_key("linux", name);
        // runc: masking /proc and /sys entries means mounting over them, in our own mount ns.
        if (!list->empty() && !ns.has("mount"))
            return c.fail(base, "needs a mount namespace in linux.namespaces");
        for (size_t i = 0; i < list->size(); ++i) {
            if (!is_abs((*list)[i]))
                return c.fail(path_index(base, i), "must be an absolute path, got {}",
                              quoted((*list)[i]));
        }
    }
    if (l.personality && l.personality->domain != "LINUX" && l.personality->domain != "LINUX32")
        return c.fail("linux.personality.domain", "unknown domain {}, expected LINUX or LINUX32",
                      quoted(l.personality->domain));
    if (!l.time_offsets.empty()) {
        if (!ns.has("time"))
            return c.fail("linux.timeOffsets", "time offsets given without a time namespace");
        for (const auto& [clock, off] : l.time_offsets) {
            if (clock != "monotonic" && clock != "boottime")
                return c.fail(path_key("linux.timeOffsets", clock),
                              "unknown clock {}, expected monotonic or boottime", quoted(clock));
        }
    }
}

}  // namespace

Result<void> validate(const Spec& spec, std::string_view origin) {
    Checker c(origin);
    check_version(c, spec);
    if (!c.failed()) check_root(c, spec);
    if (!c.failed() && spec.process) check_process(c, *spec.process);
    if (!c.failed()) check_mounts(c, spec);
    if (!c.failed() && spec.hooks) check_hooks(c, *spec.hooks);
    if (c.failed()) return c.result();

    static const Linux kNoLinux;
    const Linux& l = spec.linux ? *spec.linux : kNoLinux;
    NamespaceSet ns = check_namespaces(c, l);
    if (c.failed()) return c.result();
    if (!spec.hostname.empty() && !ns.has("uts"))
        c.fail("hostname", "setting a hostname needs a uts namespace in linux.namespaces");
    else if (!spec.domainname.empty() && !ns.has("uts"))
        c.fail("domainname", "setting a domainname needs a uts namespace in linux.namespaces");
    if (!c.failed() && spec.linux) check_linux(c, *spec.linux, ns);
    return c.result();
}

}  // namespace berth::oci
