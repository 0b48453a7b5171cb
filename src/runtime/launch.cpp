#include "launch.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/oci/spec_json.hpp"
#include "console.hpp"
#include "sync.hpp"

#include <nlohmann/json.hpp>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::runtime {
namespace {

const std::map<std::string, int>& rlimit_table() {
    static const std::map<std::string, int> t = {
        {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
        {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    };
    return t;
}

std::string format_map(const std::vector<oci::IdMapping>& m) {
    std::string s;
    for (const auto& e : m)
        s += std::to_string(e.container_id) + " " + std::to_string(e.host_id) + " " + std::to_string(e.size) + "\n";
    return s;
}

Result<void> write_id_maps(pid_t pid, const oci::Spec& spec) {
    const auto& l = *spec.linux;
    std::string base = "/proc/" + std::to_string(pid);
    if (!l.gid_mappings.empty())
        BERTH_TRY_CTX(write_file(base + "/gid_map", format_map(l.gid_mappings)), "write gid mappings");
    if (!l.uid_mappings.empty())
        BERTH_TRY_CTX(write_file(base + "/uid_map", format_map(l.uid_mappings)), "write uid mappings");
    return {};
}

// The device rules runc adds to every container (libcontainer/specconv AllowedDevices).
std::vector<oci::DeviceCgroupRule> allowed_devices() {
    auto rule = [](const char* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                   const char* access) {
        oci::DeviceCgroupRule r;
        r.allow = true;
        r.type = type;
        r.major = major;
        r.minor = minor;
        r.access = access;
        return r;
    };
    return {
        rule("c", std::nullopt, std::nullopt, "m"), rule("b", std::nullopt, std::nullopt, "m"),
        rule("c", 1, 3, "rwm"),   rule("c", 1, 8, "rwm"),  rule("c", 1, 7, "rwm"),
        rule("c", 5, 0, "rwm"),   rule("c", 1, 5, "rwm"),  rule("c", 1, 9, "rwm"),
        rule("c", 5, 1, "rwm"),   rule("c", 136, std::nullopt, "rwm"), rule("c", 5, 2, "rwm"),
        rule("c", 10, 200, "rwm"),
    };
}

}  // namespace

oci::Resources resources_with_devices(const oci::Spec& spec) {
    oci::Resources r;
    if (spec.linux && spec.linux->resources) r = *spec.linux->resources;
    // Spec rules first, then the defaults appended (runc's order). linux.devices are created
    // but not allowed implicitly: like runc, the spec must allow them in resources.devices.
    // A default the spec already allows after its last deny changes nothing and is left out
    // (Docker's spec lists them all: each is a write to devices.allow on cgroup v1).
    size_t after_last_deny = 0;
    for (size_t i = 0; i < r.devices.size(); ++i)
        if (!r.devices[i].allow) after_last_deny = i + 1;
    auto same = [](const oci::DeviceCgroupRule& a, const oci::DeviceCgroupRule& b) {
        auto type = [](const std::string& t) { return t.empty() ? std::string("a") : t; };
        return a.allow == b.allow && type(a.type) == type(b.type) && a.major == b.major &&
               a.minor == b.minor && a.access == b.access;
    };
    size_t spec_rules = r.devices.size();
    for (auto& d : allowed_devices()) {
        bool allowed = std::any_of(r.devices.begin() + static_cast<ptrdiff_t>(after_last_deny),
                                   r.devices.begin() + static_cast<ptrdiff_t>(spec_rules),
                                   [&](const oci::DeviceCgroupRule& x) { return same(x, d); });
        if (!allowed) r.devices.push_back(std::move(d));
    }
    return r;
}

std::vector<CgroupMountSource> cgroup_mount_sources(const cgroups::Layout& layout,
                                                    const cgroups::Manager& mgr) {
    std::vector<CgroupMountSource> out;
    std::set<std::string> seen;
    for (const auto& [ctrl, path] : mgr.paths()) {
        if (ctrl.empty()) {
            if (seen.insert(layout.v2_mount).second)
                out.push_back({layout.pure_v2() ? "" : "unified", path, true});
            continue;
        }
        auto it = layout.v1_mounts.find(ctrl);
        if (it == layout.v1_mounts.end() || !seen.insert(it->second).second) continue;
        std::string mp = it->second;
        out.push_back({mp.substr(mp.find_last_of('/') + 1), path, false});
    }
    return out;
}

Result<std::optional<SeccompProgram>> seccomp_for(const oci::Spec& spec, const std::string& state_root) {
    if (!spec.linux || !spec.linux->seccomp) return std::nullopt;
    const oci::Seccomp& s = *spec.linux->seccomp;
    if (s.default_action.empty() && s.syscalls.empty()) return std::nullopt;
    // Compiling a Docker-sized profile takes libseccomp ~15 ms; the cache makes it ~0.05 ms.
    // The cache key is the whole profile, so a stale entry is never used.
    return compile_seccomp_cached(s, state_root + "/cache:seccomp");
}

Result<std::vector<Rlim>> translate_rlimits(const oci::Process& p) {
    std::vector<Rlim> out;
    for (size_t i = 0; i < p.rlimits.size(); ++i) {
        const auto& r = p.rlimits[i];
        auto it = rlimit_table().find(r.type);
        if (it == rlimit_table().end())
            return make_error(Errc::InvalidArgument, "process.rlimits[{}].type: unknown rlimit {}", i, r.type);
        out.push_back({it->second, {r.soft, r.hard}});
    }
    return out;
}

Result<void> prepare_init(InitConfig& c, const oci::Spec& spec) {
    c.spec = &spec;
    int new_flags = 0;
    if (spec.linux) {
        // User namespace first: the others are then joined or created inside it.
        std::vector<const oci::Namespace*> order;
        for (const auto& ns : spec.linux->namespaces)
            if (ns.type == "user") order.push_back(&ns);
        for (const auto& ns : spec.linux->namespaces)
            if (ns.type != "user") order.push_back(&ns);
        for (const oci::Namespace* ns : order) {
            int flag = oci::namespace_flag(ns->type);
            if (!flag) return make_error(Errc::InvalidArgument, "linux.namespaces: unknown type {}", ns->type);
            if (ns->path.empty()) {
                new_flags |= flag;
                continue;
            }
            UniqueFd fd(::open(ns->path.c_str(), O_RDONLY | O_CLOEXEC));
            if (!fd) return BERTH_SYS_ERROR("open {} namespace {}", ns->type, ns->path);
            c.joins.push_back({flag, ns->path, std::move(fd)});
        }
    }
    c.new_user_ns = new_flags & CLONE_NEWUSER;
    c.new_mount_ns = new_flags & CLONE_NEWNS;
    c.new_uts_ns = new_flags & CLONE_NEWUTS;
    // Namespaces that setns(2) moves the caller itself into, not only its children (as pid
    // and time), and that need no ordering against a user namespace: the child can join them
    // right after the clone. A network namespace made by the engine beforehand (berthd's, as
    // libnetwork's sandboxes) is the common case.
    bool late_joins_only = c.joins.empty() ||
                           (!(new_flags & CLONE_NEWUSER) &&
                            std::all_of(c.joins.begin(), c.joins.end(), [](const NsJoin& j) {
                                return j.flag == CLONE_NEWNET || j.flag == CLONE_NEWIPC ||
                                       j.flag == CLONE_NEWUTS;
                            }));
    if (late_joins_only) {
        // Fast path: one clone creates everything but the cgroup namespace (which must be made
        // after the cgroup is joined) and the time namespace (clone(2) can't take its flag);
        // the joins, if any, follow in the child.
        c.clone_flags = new_flags & ~(CLONE_NEWCGROUP | CLONE_NEWTIME);
        c.unshare_flags = new_flags & (CLONE_NEWCGROUP | CLONE_NEWTIME);
    } else {
        c.double_fork = true;
        c.unshare_flags = new_flags;
    }

    c.mounts = BERTH_TRY(plan_mounts(spec.mounts, c.bundle));
    for (const auto& m : c.mounts)
        if (m.destination == "/dev" && !m.bind) c.setup_dev = true;
    c.devices = devices_to_create(spec.linux ? &*spec.linux : nullptr);
    const std::string prop = spec.linux ? spec.linux->rootfs_propagation : "";
    unsigned long p = BERTH_TRY(parse_rootfs_propagation(prop));
    c.root_propagation_pre = (p & MS_PRIVATE) ? (MS_PRIVATE | MS_REC) : (MS_SLAVE | MS_REC);
    c.root_propagation_post = prop.empty() ? 0 : p;
    c.readonly_root = spec.root && spec.root->readonly;
    if (spec.linux)
        for (const auto& [k, v] : spec.linux->sysctl) c.sysctl.emplace_back(k, v);

    const oci::Process& proc = *c.process;
    c.rlimits = BERTH_TRY(translate_rlimits(proc));
    if (proc.capabilities) {
        c.has_caps = true;
        c.caps = BERTH_TRY(parse_capabilities(*proc.capabilities));
    }
    if (auto prog = BERTH_TRY(seccomp_for(spec, c.state_root))) {
        c.has_seccomp = true;
        c.seccomp = std::move(*prog);
    }
    if (spec.hooks) {
        c.parent_hooks = !spec.hooks->prestart.empty() || !spec.hooks->create_runtime.empty();
        c.child_hooks = !spec.hooks->create_container.empty() || !spec.hooks->start_container.empty();
    }
    return {};
}

namespace {

// The descriptors of a self-join (see cgroups::SelfJoin), opened by the parent.
struct SelfJoinFds {
    bool active = false;
    std::vector<UniqueFd> thread_files;
    UniqueFd cgroup_dir;  // for clone3(CLONE_INTO_CGROUP)
};

// runtime-spec "Seccomp": the container process state and the listener fd go to listenerPath
// in one message (the fd in SCM_RIGHTS, named by "fds").
Result<void> send_to_seccomp_listener(const InitConfig& c, pid_t pid, int notify_fd) {
    if (notify_fd < 0) return make_error(Errc::Internal, "seccomp listener: no fd from container init");
    const oci::Seccomp& sc = *c.spec->linux->seccomp;
    if (sc.listener_path.empty())
        return make_error(Errc::InvalidArgument,
                          "linux.seccomp.listenerPath: required by an SCMP_ACT_NOTIFY rule");
    oci::State st;
    st.id = c.id;
    st.status = "creating";
    st.pid = pid;
    st.bundle = c.bundle;
    st.annotations = c.spec->annotations;
    nlohmann::ordered_json j;
    j["ociVersion"] = oci::kOciVersion;
    j["fds"] = {"seccompFd"};
    j["pid"] = pid;
    j["metadata"] = sc.listener_metadata;
    j["state"] = nlohmann::ordered_json::parse(oci::to_json(st));
    UniqueFd sock = BERTH_TRY_CTX(connect_unix_socket(sc.listener_path), "seccomp listener");
    std::string text = j.dump();
    if (int e = send_fd(sock.get(), notify_fd, text.c_str()))
        return sys_error(e, "send seccomp fd to {}", sc.listener_path);
    return {};
}

bool self_join_disabled() {
    const char* v = std::getenv("BERTH_TEST_DISABLE");
    return v && std::strstr(v, "selfjoin") != nullptr;
}

// Only a child that keeps our credentials can write the host's cgroup files. The child writes
// first thing after clone, before any setns or unshare: so a user namespace only gets in the way
// when clone itself creates it (the fast path). In the double-fork path the intermediate child
// joins and its CLONE_PARENT'd child inherits the cgroups.
SelfJoinFds open_self_join(const InitConfig& c, cgroups::Manager& mgr) {
    SelfJoinFds s;
    if ((c.new_user_ns && !c.double_fork) || self_join_disabled()) return s;
    auto plan = mgr.self_join_plan();
    if (!plan) return s;
    for (const auto& f : plan->thread_files) {
        UniqueFd fd(::open(f.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd) return {};
        s.thread_files.push_back(std::move(fd));
    }
    if (!plan->clone_into.empty()) {
        s.cgroup_dir.reset(::open(plan->clone_into.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!s.cgroup_dir) return {};
    }
    s.active = true;
    return s;
}

}  // namespace

Result<Launched> launch(InitConfig& c, cgroups::Manager* mgr,
                        const std::function<Result<void>(pid_t)>& on_hooks) {
    SyncPair sp = BERTH_TRY(make_sync_pair());
    c.sync_fd = sp.child.get();
    SelfJoinFds self = mgr ? open_self_join(c, *mgr) : SelfJoinFds{};
    for (const auto& fd : self.thread_files) c.self_join_fds.push_back(fd.get());
    pid_t pid = -1;
    if (self.active && self.cgroup_dir) {
        struct clone_args args {};
        args.flags = static_cast<uint64_t>(c.clone_flags) | CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.cgroup = static_cast<uint64_t>(self.cgroup_dir.get());
        pid = static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
        if (pid < 0) {
            // A kernel without clone3/CLONE_INTO_CGROUP: the parent joins the child instead.
            BLOG_DEBUG("clone3 into cgroup: {}; joining from the parent", std::strerror(errno));
            self = SelfJoinFds{};
            c.self_join_fds.clear();
        }
    }
    if (pid < 0) pid = static_cast<pid_t>(::syscall(SYS_clone, c.clone_flags | SIGCHLD, 0, 0, 0, 0));
    if (pid < 0) return BERTH_SYS_ERROR("clone container init");
    if (pid == 0) {
        sp.parent.reset();
        container_init(c);
    }
    sp.child.reset();
    ChildProcess first(pid);
    ChildProcess init;
    if (!c.double_fork && c.new_user_ns)
        BERTH_TRY_CTX(write_id_maps(pid, *c.spec), "container init");
    if (int e = sync_send(sp.parent.get(), SyncType::Go)) return sys_error(e, "start container init");
    BLOG_DEBUG("launch {}: cloned {}", c.id, pid);
    // Usually the child joined its cgroups itself (see cgroups::SelfJoin). Otherwise moving it
    // from here can wait for an RCU grace period in the kernel (cgroup_threadgroup_rwsem,
    // 10-15 ms here): the child sets up its mounts meanwhile, and waits for CgroupJoined only
    // before it makes its cgroup namespace, forks or execs.
    if (mgr && !self.active) BERTH_TRY(mgr->add_process(pid));
    if (int e = sync_send(sp.parent.get(), SyncType::CgroupJoined)) return sys_error(e, "start container init");
    BLOG_DEBUG("launch {}: cgroup joined", c.id);
    pid_t init_pid = c.double_fork ? 0 : pid;
    // In the double-fork path the grandchild may speak (Hooks, Ready) before its parent's Pid
    // message arrives on the shared socket: hold such a message until the pid is known.
    std::optional<SyncMsg> held;
    UniqueFd passed, held_fd;
    for (;;) {
        Result<SyncMsg> m = SyncMsg{};
        if (held && init_pid) {
            m = *std::exchange(held, std::nullopt);
            passed = std::move(held_fd);
        } else {
            m = sync_recv(sp.parent.get(), &passed);
        }
        if (m && init_pid == 0 &&
            (m->type == SyncType::Hooks || m->type == SyncType::Ready || m->type == SyncType::SeccompFd)) {
            held = *m;
            held_fd = std::move(passed);
            continue;
        }
        if (!m) {
            // The child died without a message: tell how, if we can.
            if (init_pid == 0 || init_pid == first.pid()) {
                auto st = first.wait();
                if (st && st->signal) return make_error(Errc::Internal, "container init killed by signal {} during setup", st->signal);
            }
            return Unexpected(std::move(m).error());
        }
        switch (m->type) {
            case SyncType::MapRequest:
                BERTH_TRY_CTX(write_id_maps(pid, *c.spec), "container init");
                if (int e = sync_send(sp.parent.get(), SyncType::MapDone)) return sys_error(e, "sync");
                break;
            case SyncType::Pid:
                init_pid = m->value;
                init = ChildProcess(init_pid);
                BERTH_TRY(first.wait());
                break;
            case SyncType::SeccompFd:
                BERTH_TRY(send_to_seccomp_listener(c, init_pid, passed.get()));
                passed.reset();
                if (int e = sync_send(sp.parent.get(), SyncType::SeccompDone)) return sys_error(e, "sync");
                break;
            case SyncType::Hooks:
                if (on_hooks) BERTH_TRY(on_hooks(init_pid));
                if (int e = sync_send(sp.parent.get(), SyncType::HooksDone, init_pid)) return sys_error(e, "sync");
                break;
            case SyncType::Ready: {
                Launched l;
                l.init = c.double_fork ? std::move(init) : std::move(first);
                if (c.fifo_fd < 0) {
                    // No start to wait for: the process execs now. The sync socket closes at a
                    // successful execve (it is O_CLOEXEC) or carries the error.
                    auto last = sync_recv(sp.parent.get());
                    if (last && last->type == SyncType::Error) return Unexpected(sync_error(*last));
                }
                return l;
            }
            case SyncType::Error:
                return Unexpected(sync_error(*m));
            default:
                return make_error(Errc::Internal, "unexpected message {} from container init",
                                  static_cast<int>(m->type));
        }
    }
}

}  // namespace berth::runtime
