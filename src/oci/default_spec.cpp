#include <string>
#include <vector>

#include "berth/oci/spec_json.hpp"

// What runc 1.1's `runc spec` writes (libcontainer/specconv/example.go: Example and
// ToRootless), so that `berth-runtime spec` gives users and scripts the same starting point.
// Only ociVersion differs: ours is the spec version we implement.

namespace berth::oci {

namespace {

Mount mount(std::string destination, std::string type, std::string source,
            std::vector<std::string> options = {}) {
    Mount m;
    m.destination = std::move(destination);
    m.type = std::move(type);
    m.source = std::move(source);
    m.options = std::move(options);
    return m;
}

/// runc's rootless rewrite: a user namespace mapping the caller to root, no network namespace
/// (an unprivileged user can't configure one), /sys bind-mounted (sysfs can't be mounted without
/// a network namespace), no uid=/gid= mount options (those ids aren't mapped), no cgroup limits.
void make_rootless(Spec& s, uint32_t uid, uint32_t gid) {
    Linux& l = *s.linux;
    std::vector<Namespace> kept;
    for (const Namespace& ns : l.namespaces) {
        if (ns.type != "network" && ns.type != "user") kept.push_back(ns);
    }
    kept.push_back(Namespace{"user", ""});
    l.namespaces = std::move(kept);
    l.uid_mappings = {IdMapping{0, uid, 1}};
    l.gid_mappings = {IdMapping{0, gid, 1}};

    for (Mount& m : s.mounts) {
        if (m.destination == "/sys") {
            m = mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"});
            continue;
        }
        std::vector<std::string> options;
        for (const std::string& o : m.options) {
            if (o.rfind("gid=", 0) != 0 && o.rfind("uid=", 0) != 0) options.push_back(o);
        }
        m.options = std::move(options);
    }
    l.resources.reset();
}

}  // namespace

Spec default_spec(bool rootless, uint32_t uid, uint32_t gid) {
    Spec s;
    s.oci_version = kOciVersion;

    Process p;
    p.terminal = true;
    p.args = {"sh"};
    p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
    p.cwd = "/";
    p.no_new_privileges = true;
    const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    Capabilities c;
    c.bounding = caps;
    c.effective = caps;
    c.permitted = caps;
    c.ambient = caps;
    p.capabilities = std::move(c);
    p.rlimits = {Rlimit{"RLIMIT_NOFILE", 1024, 1024}};
    s.process = std::move(p);

    s.root = Root{"rootfs", true};
    s.hostname = "runc";

    s.mounts = {
        mount("/proc", "proc", "proc"),
        mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
        mount("/dev/pts", "devpts", "devpts",
              {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
        mount("/dev/shm", "tmpfs", "shm",
              {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
        mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
        mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
        mount("/sys/fs/cgroup", "cgroup", "cgroup",
              {"nosuid", "noexec", "nodev", "relatime", "ro"}),
    };

    Linux l;
    Resources r;
    DeviceCgroupRule deny_all;
    deny_all.allow = false;
    deny_all.access = "rwm";
    r.devices = {deny_all};
    l.resources = std::move(r);
    for (const char* t : {"pid", "network", "ipc", "uts", "mount"}) l.namespaces.push_back({t, ""});
    l.masked_paths = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                      "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                      "/proc/timer_stats", "/proc/sched_debug",   "/sys/firmware",
                      "/proc/scsi"};
    l.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
    s.linux = std::move(l);

    if (rootless) make_rootless(s, uid, gid);
    return s;
}

}  // namespace berth::oci
