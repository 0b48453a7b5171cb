#include "oci_spec.hpp"

namespace berth::test {

nlohmann::json runc_default_spec() {
    // Same content as `runc spec` of runc 1.1.5 (Debian 12), with "terminal": false so tests can
    // run it without a console socket.
    static const char* const kSpec = R"json({
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": [
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "TERM=xterm"
    ],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "runc",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [
      {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
    ],
    "maskedPaths": [
      "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
    ],
    "readonlyPaths": [
      "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
    ]
  }
})json";
    return nlohmann::json::parse(kSpec);
}

nlohmann::json make_hook(const std::string& path, const std::vector<std::string>& args,
                         const std::vector<std::string>& env, int timeout) {
    nlohmann::json h = {{"path", path}, {"args", args}};
    if (!env.empty()) h["env"] = env;
    if (timeout > 0) h["timeout"] = timeout;
    return h;
}

nlohmann::json bind_mount(const std::string& source, const std::string& destination,
                          std::vector<std::string> options) {
    return {{"destination", destination},
            {"type", "bind"},
            {"source", source},
            {"options", std::move(options)}};
}

void set_namespace(nlohmann::json& spec, const std::string& type, const std::string& path) {
    remove_namespace(spec, type);
    nlohmann::json ns = {{"type", type}};
    if (!path.empty()) ns["path"] = path;
    spec["linux"]["namespaces"].push_back(ns);
}

void remove_namespace(nlohmann::json& spec, const std::string& type) {
    auto& nss = spec["linux"]["namespaces"];
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& ns : nss)
        if (ns.value("type", "") != type) kept.push_back(ns);
    nss = kept;
}

void set_all_caps(nlohmann::json& spec, const std::vector<std::string>& caps) {
    auto& c = spec["process"]["capabilities"];
    for (const char* set : {"bounding", "effective", "permitted", "inheritable", "ambient"})
        c[set] = caps;
}

}  // namespace berth::test
