#include "berth/oci/spec_json.hpp"

#include <unistd.h>

#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "berth/common/fs.hpp"
#include "json_reader.hpp"

// Parsing follows Go's encoding/json as runc uses it with the runtime-spec's specs-go types:
// unknown members are ignored, `null` means "absent", numbers must be integers that fit the
// field's Go type. Serialisation follows the same Go types: members in struct order and the
// `omitempty` rules, so `runc spec` and to_json(default_spec(), true) are byte for byte alike.
//
// Inside this file a failed field throws FieldError; the public functions catch it (and every
// nlohmann exception) and return an InvalidArgument Result, so nothing escapes the module.

namespace berth::oci {
namespace {

using namespace detail;

// ---- parsing -------------------------------------------------------------------------------

void read_user(const Obj& o, User& u) {
    o.integer("uid", u.uid);
    o.integer("gid", u.gid);
    o.integer("umask", u.umask);
    o.integers("additionalGids", u.additional_gids);
    o.str("username", u.username);
}

void read_capabilities(const Obj& o, Capabilities& c) {
    o.strings("bounding", c.bounding);
    o.strings("effective", c.effective);
    o.strings("inheritable", c.inheritable);
    o.strings("permitted", c.permitted);
    o.strings("ambient", c.ambient);
}

void read_rlimit(const Obj& o, Rlimit& r) {
    o.str("type", r.type);
    o.integer("soft", r.soft);
    o.integer("hard", r.hard);
}

void read_process(const Obj& o, Process& p) {
    // cwd is REQUIRED; an absent one stays empty so that validate() reports it, as runc does.
    p.cwd.clear();
    o.boolean("terminal", p.terminal);
    o.object("consoleSize", p.console_size, [](const Obj& c, ConsoleSize& cs) {
        c.integer("height", cs.height);
        c.integer("width", cs.width);
    });
    o.object("user", p.user, read_user);
    o.strings("args", p.args);
    o.strings("env", p.env);
    o.str("cwd", p.cwd);
    o.object("capabilities", p.capabilities, read_capabilities);
    o.array("rlimits", p.rlimits, objects<Rlimit>(read_rlimit));
    o.boolean("noNewPrivileges", p.no_new_privileges);
    o.str("apparmorProfile", p.apparmor_profile);
    o.integer("oomScoreAdj", p.oom_score_adj);
    o.str("selinuxLabel", p.selinux_label);
}

void read_mount(const Obj& o, Mount& m) {
    o.str("destination", m.destination);
    o.str("type", m.type);
    o.str("source", m.source);
    o.strings("options", m.options);
}

void read_hook(const Obj& o, Hook& h) {
    o.str("path", h.path);
    o.strings("args", h.args);
    o.strings("env", h.env);
    o.integer("timeout", h.timeout);
}

void read_hooks(const Obj& o, Hooks& h) {
    o.array("prestart", h.prestart, objects<Hook>(read_hook));
    o.array("createRuntime", h.create_runtime, objects<Hook>(read_hook));
    o.array("createContainer", h.create_container, objects<Hook>(read_hook));
    o.array("startContainer", h.start_container, objects<Hook>(read_hook));
    o.array("poststart", h.poststart, objects<Hook>(read_hook));
    o.array("poststop", h.poststop, objects<Hook>(read_hook));
}

void read_id_mapping(const Obj& o, IdMapping& m) {
    o.integer("containerID", m.container_id);
    o.integer("hostID", m.host_id);
    o.integer("size", m.size);
}

void read_device(const Obj& o, Device& d) {
    o.str("path", d.path);
    o.str("type", d.type);
    o.integer("major", d.major);
    o.integer("minor", d.minor);
    o.integer("fileMode", d.file_mode);
    o.integer("uid", d.uid);
    o.integer("gid", d.gid);
}

void read_device_rule(const Obj& o, DeviceCgroupRule& r) {
    o.boolean("allow", r.allow);
    o.str("type", r.type);
    o.integer("major", r.major);
    o.integer("minor", r.minor);
    o.str("access", r.access);
}

void read_memory(const Obj& o, MemoryResources& m) {
    o.integer("limit", m.limit);
    o.integer("reservation", m.reservation);
    o.integer("swap", m.swap);
    o.integer("kernel", m.kernel);
    o.integer("kernelTCP", m.kernel_tcp);
    o.integer("swappiness", m.swappiness);
    o.boolean("disableOOMKiller", m.disable_oom_killer);
    o.boolean("useHierarchy", m.use_hierarchy);
    o.boolean("checkBeforeUpdate", m.check_before_update);
}

void read_cpu(const Obj& o, CpuResources& c) {
    o.integer("shares", c.shares);
    o.integer("quota", c.quota);
    o.integer("burst", c.burst);
    o.integer("period", c.period);
    o.integer("realtimeRuntime", c.realtime_runtime);
    o.integer("realtimePeriod", c.realtime_period);
    o.str("cpus", c.cpus);
    o.str("mems", c.mems);
    o.integer("idle", c.idle);
}

void read_weight_device(const Obj& o, WeightDevice& w) {
    o.integer("major", w.major);
    o.integer("minor", w.minor);
    o.integer("weight", w.weight);
    o.integer("leafWeight", w.leaf_weight);
}

void read_throttle_device(const Obj& o, ThrottleDevice& t) {
    o.integer("major", t.major);
    o.integer("minor", t.minor);
    o.integer("rate", t.rate);
}

void read_block_io(const Obj& o, BlockIoResources& b) {
    o.integer("weight", b.weight);
    o.integer("leafWeight", b.leaf_weight);
    o.array("weightDevice", b.weight_device, objects<WeightDevice>(read_weight_device));
    auto throttle = objects<ThrottleDevice>(read_throttle_device);
    o.array("throttleReadBpsDevice", b.throttle_read_bps_device, throttle);
    o.array("throttleWriteBpsDevice", b.throttle_write_bps_device, throttle);
    o.array("throttleReadIOPSDevice", b.throttle_read_iops_device, throttle);
    o.array("throttleWriteIOPSDevice", b.throttle_write_iops_device, throttle);
}

void read_resources(const Obj& o, Resources& r) {
    o.array("devices", r.devices, objects<DeviceCgroupRule>(read_device_rule));
    o.object("memory", r.memory, read_memory);
    o.object("cpu", r.cpu, read_cpu);
    o.object("pids", r.pids,
             [](const Obj& p, PidsResources& pids) { p.integer("limit", pids.limit); });
    o.object("blockIO", r.block_io, read_block_io);
    o.array("hugepageLimits", r.hugepage_limits,
            objects<HugepageLimit>([](const Obj& h, HugepageLimit& l) {
                h.str("pageSize", l.page_size);
                h.integer("limit", l.limit);
            }));
    o.object("network", r.network, [](const Obj& n, NetworkResources& net) {
        n.integer("classID", net.class_id);
        n.array("priorities", net.priorities,
                objects<NetworkPriority>([](const Obj& p, NetworkPriority& prio) {
                    p.str("name", prio.name);
                    p.integer("priority", prio.priority);
                }));
    });
    o.string_map("unified", r.unified);
}

void read_seccomp_arg(const Obj& o, SeccompArg& a) {
    o.integer("index", a.index);
    o.integer("value", a.value);
    o.integer("valueTwo", a.value_two);
    o.str("op", a.op);
}

void read_syscall(const Obj& o, SeccompSyscall& s) {
    o.strings("names", s.names);
    o.str("action", s.action);
    o.integer("errnoRet", s.errno_ret);
    o.array("args", s.args, objects<SeccompArg>(read_seccomp_arg));
}

void read_seccomp(const Obj& o, Seccomp& s) {
    o.str("defaultAction", s.default_action);
    o.integer("defaultErrnoRet", s.default_errno_ret);
    o.strings("architectures", s.architectures);
    o.strings("flags", s.flags);
    o.str("listenerPath", s.listener_path);
    o.str("listenerMetadata", s.listener_metadata);
    o.array("syscalls", s.syscalls, objects<SeccompSyscall>(read_syscall));
}

void read_linux(const Obj& o, Linux& l) {
    o.array("uidMappings", l.uid_mappings, objects<IdMapping>(read_id_mapping));
    o.array("gidMappings", l.gid_mappings, objects<IdMapping>(read_id_mapping));
    o.string_map("sysctl", l.sysctl);
    o.object("resources", l.resources, read_resources);
    o.str("cgroupsPath", l.cgroups_path);
    o.array("namespaces", l.namespaces, objects<Namespace>([](const Obj& n, Namespace& ns) {
                n.str("type", ns.type);
                n.str("path", ns.path);
            }));
    o.array("devices", l.devices, objects<Device>(read_device));
    o.object("seccomp", l.seccomp, read_seccomp);
    o.str("rootfsPropagation", l.rootfs_propagation);
    o.strings("maskedPaths", l.masked_paths);
    o.strings("readonlyPaths", l.readonly_paths);
    o.str("mountLabel", l.mount_label);
    o.object("personality", l.personality, [](const Obj& p, Personality& pers) {
        p.str("domain", pers.domain);
        p.strings("flags", pers.flags);
    });
    o.map("timeOffsets", l.time_offsets, [](Value e, const Path& p) {
        Obj t(e, p);
        TimeOffset off;
        t.integer("secs", off.secs);
        t.integer("nanosecs", off.nanosecs);
        return off;
    });
}

void read_spec(const Obj& o, Spec& s) {
    o.str("ociVersion", s.oci_version);
    o.object("process", s.process, read_process);
    o.object("root", s.root, [](const Obj& r, Root& root) {
        r.str("path", root.path);
        r.boolean("readonly", root.readonly);
    });
    o.str("hostname", s.hostname);
    o.str("domainname", s.domainname);
    o.array("mounts", s.mounts, objects<Mount>(read_mount));
    o.object("hooks", s.hooks, read_hooks);
    o.string_map("annotations", s.annotations);
    o.object("linux", s.linux, read_linux);
}

// ---- serialisation -------------------------------------------------------------------------

ojson user_json(const User& u) {
    ojson o = ojson::object();
    o["uid"] = u.uid;
    o["gid"] = u.gid;
    put_opt(o, "umask", u.umask);
    if (!u.additional_gids.empty()) o["additionalGids"] = u.additional_gids;
    put_str(o, "username", u.username);
    return o;
}

ojson process_json(const Process& p) {
    ojson o = ojson::object();
    if (p.terminal) o["terminal"] = true;
    if (p.console_size)
        o["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
    o["user"] = user_json(p.user);
    put_strs(o, "args", p.args);
    put_strs(o, "env", p.env);
    o["cwd"] = p.cwd;
    if (p.capabilities) {
        ojson c = ojson::object();
        put_strs(c, "bounding", p.capabilities->bounding);
        put_strs(c, "effective", p.capabilities->effective);
        put_strs(c, "inheritable", p.capabilities->inheritable);
        put_strs(c, "permitted", p.capabilities->permitted);
        put_strs(c, "ambient", p.capabilities->ambient);
        o["capabilities"] = std::move(c);
    }
    put_array(o, "rlimits", p.rlimits, [](const Rlimit& r) {
        return ojson{{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}};
    });
    if (p.no_new_privileges) o["noNewPrivileges"] = true;
    put_str(o, "apparmorProfile", p.apparmor_profile);
    put_opt(o, "oomScoreAdj", p.oom_score_adj);
    put_str(o, "selinuxLabel", p.selinux_label);
    return o;
}

ojson hook_json(const Hook& h) {
    ojson o = ojson::object();
    o["path"] = h.path;
    put_strs(o, "args", h.args);
    put_strs(o, "env", h.env);
    put_opt(o, "timeout", h.timeout);
    return o;
}

ojson id_mapping_json(const IdMapping& m) {
    return ojson{{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}};
}

ojson throttle_json(const ThrottleDevice& t) {
    return ojson{{"major", t.major}, {"minor", t.minor}, {"rate", t.rate}};
}

ojson resources_json(const Resources& r) {
    ojson o = ojson::object();
    put_array(o, "devices", r.devices, [](const DeviceCgroupRule& d) {
        ojson e = ojson::object();
        e["allow"] = d.allow;
        put_str(e, "type", d.type);
        put_opt(e, "major", d.major);
        put_opt(e, "minor", d.minor);
        put_str(e, "access", d.access);
        return e;
    });
    if (r.memory) {
        const MemoryResources& m = *r.memory;
        ojson e = ojson::object();
        put_opt(e, "limit", m.limit);
        put_opt(e, "reservation", m.reservation);
        put_opt(e, "swap", m.swap);
        put_opt(e, "kernel", m.kernel);
        put_opt(e, "kernelTCP", m.kernel_tcp);
        put_opt(e, "swappiness", m.swappiness);
        put_opt(e, "disableOOMKiller", m.disable_oom_killer);
        put_opt(e, "useHierarchy", m.use_hierarchy);
        put_opt(e, "checkBeforeUpdate", m.check_before_update);
        o["memory"] = std::move(e);
    }
    if (r.cpu) {
        const CpuResources& c = *r.cpu;
        ojson e = ojson::object();
        put_opt(e, "shares", c.shares);
        put_opt(e, "quota", c.quota);
        put_opt(e, "burst", c.burst);
        put_opt(e, "period", c.period);
        put_opt(e, "realtimeRuntime", c.realtime_runtime);
        put_opt(e, "realtimePeriod", c.realtime_period);
        put_str(e, "cpus", c.cpus);
        put_str(e, "mems", c.mems);
        put_opt(e, "idle", c.idle);
        o["cpu"] = std::move(e);
    }
    if (r.pids) o["pids"] = ojson{{"limit", r.pids->limit}};
    if (r.block_io) {
        const BlockIoResources& b = *r.block_io;
        ojson e = ojson::object();
        put_opt(e, "weight", b.weight);
        put_opt(e, "leafWeight", b.leaf_weight);
        put_array(e, "weightDevice", b.weight_device, [](const WeightDevice& w) {
            ojson d{{"major", w.major}, {"minor", w.minor}};
            put_opt(d, "weight", w.weight);
            put_opt(d, "leafWeight", w.leaf_weight);
            return d;
        });
        put_array(e, "throttleReadBpsDevice", b.throttle_read_bps_device, throttle_json);
        put_array(e, "throttleWriteBpsDevice", b.throttle_write_bps_device, throttle_json);
        put_array(e, "throttleReadIOPSDevice", b.throttle_read_iops_device, throttle_json);
        put_array(e, "throttleWriteIOPSDevice", b.throttle_write_iops_device, throttle_json);
        o["blockIO"] = std::move(e);
    }
    put_array(o, "hugepageLimits", r.hugepage_limits, [](const HugepageLimit& h) {
        return ojson{{"pageSize", h.page_size}, {"limit", h.limit}};
    });
    if (r.network) {
        ojson e = ojson::object();
        put_opt(e, "classID", r.network->class_id);
        put_array(e, "priorities", r.network->priorities, [](const NetworkPriority& p) {
            return ojson{{"name", p.name}, {"priority", p.priority}};
        });
        o["network"] = std::move(e);
    }
    put_map(o, "unified", r.unified);
    return o;
}

ojson seccomp_json(const Seccomp& s) {
    ojson o = ojson::object();
    o["defaultAction"] = s.default_action;
    put_opt(o, "defaultErrnoRet", s.default_errno_ret);
    put_strs(o, "architectures", s.architectures);
    put_strs(o, "flags", s.flags);
    put_str(o, "listenerPath", s.listener_path);
    put_str(o, "listenerMetadata", s.listener_metadata);
    put_array(o, "syscalls", s.syscalls, [](const SeccompSyscall& c) {
        ojson e = ojson::object();
        e["names"] = c.names;  // REQUIRED: written even when empty
        e["action"] = c.action;
        put_opt(e, "errnoRet", c.errno_ret);
        put_array(e, "args", c.args, [](const SeccompArg& a) {
            ojson arg{{"index", a.index}, {"value", a.value}};
            if (a.value_two != 0) arg["valueTwo"] = a.value_two;
            arg["op"] = a.op;
            return arg;
        });
        return e;
    });
    return o;
}

// `seccomp_marker`, when given, is written where the seccomp object goes: to_json() splices the
// object's text in there.
ojson linux_json(const Linux& l, const std::string* seccomp_marker) {
    ojson o = ojson::object();
    put_array(o, "uidMappings", l.uid_mappings, id_mapping_json);
    put_array(o, "gidMappings", l.gid_mappings, id_mapping_json);
    put_map(o, "sysctl", l.sysctl);
    if (l.resources) o["resources"] = resources_json(*l.resources);
    put_str(o, "cgroupsPath", l.cgroups_path);
    put_array(o, "namespaces", l.namespaces, [](const Namespace& n) {
        ojson e{{"type", n.type}};
        put_str(e, "path", n.path);
        return e;
    });
    put_array(o, "devices", l.devices, [](const Device& d) {
        ojson e{{"path", d.path}, {"type", d.type}, {"major", d.major}, {"minor", d.minor}};
        put_opt(e, "fileMode", d.file_mode);
        put_opt(e, "uid", d.uid);
        put_opt(e, "gid", d.gid);
        return e;
    });
    if (l.seccomp) o["seccomp"] = seccomp_marker ? ojson(*seccomp_marker) : seccomp_json(*l.seccomp);
    put_str(o, "rootfsPropagation", l.rootfs_propagation);
    put_strs(o, "maskedPaths", l.masked_paths);
    put_strs(o, "readonlyPaths", l.readonly_paths);
    put_str(o, "mountLabel", l.mount_label);
    if (l.personality) {
        ojson e{{"domain", l.personality->domain}};
        put_strs(e, "flags", l.personality->flags);
        o["personality"] = std::move(e);
    }
    if (!l.time_offsets.empty()) {
        ojson t = ojson::object();
        for (const auto& [clock, off] : l.time_offsets) {
            ojson e = ojson::object();
            if (off.secs != 0) e["secs"] = off.secs;
            if (off.nanosecs != 0) e["nanosecs"] = off.nanosecs;
            t[clock] = std::move(e);
        }
        o["timeOffsets"] = std::move(t);
    }
    return o;
}

ojson spec_json(const Spec& s, const std::string* seccomp_marker = nullptr) {
    ojson o = ojson::object();
    o["ociVersion"] = s.oci_version;
    if (s.process) o["process"] = process_json(*s.process);
    if (s.root) {
        ojson r{{"path", s.root->path}};
        if (s.root->readonly) r["readonly"] = true;
        o["root"] = std::move(r);
    }
    put_str(o, "hostname", s.hostname);
    put_str(o, "domainname", s.domainname);
    put_array(o, "mounts", s.mounts, [](const Mount& m) {
        ojson e{{"destination", m.destination}};
        put_str(e, "type", m.type);
        put_str(e, "source", m.source);
        put_strs(e, "options", m.options);
        return e;
    });
    if (s.hooks) {
        const Hooks& h = *s.hooks;
        ojson e = ojson::object();
        put_array(e, "prestart", h.prestart, hook_json);
        put_array(e, "createRuntime", h.create_runtime, hook_json);
        put_array(e, "createContainer", h.create_container, hook_json);
        put_array(e, "startContainer", h.start_container, hook_json);
        put_array(e, "poststart", h.poststart, hook_json);
        put_array(e, "poststop", h.poststop, hook_json);
        o["hooks"] = std::move(e);
    }
    put_map(o, "annotations", s.annotations);
    if (s.linux) o["linux"] = linux_json(*s.linux, seccomp_marker);
    return o;
}

/// Tabs like Go's json.MarshalIndent(v, "", "\t") in `runc spec`. Invalid UTF-8 in a string is
/// replaced rather than thrown about: these functions cannot fail.
std::string dump(const ojson& o, bool pretty) {
    return pretty ? o.dump(1, '\t', false, ojson::error_handler_t::replace)
                  : o.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

}  // namespace

Result<Spec> parse_spec(std::string_view text, std::string_view origin) {
    return parse_document<Spec>(text, origin, read_spec, Parser::RapidJsonFirst);
}

Result<Spec> load_spec(const std::string& bundle) {
    std::string path = path_join(bundle, "config.json");
    std::string text = BERTH_TRY(read_file(path));
    return parse_spec(text, path);
}

Result<Resources> parse_resources(std::string_view text, std::string_view origin) {
    return parse_document<Resources>(text, origin, read_resources);
}

Result<Process> parse_process(std::string_view text, std::string_view origin) {
    return parse_document<Process>(text, origin, read_process);
}

std::string to_json(const Spec& spec, bool pretty) {
    if (pretty || !spec.linux || !spec.linux->seccomp) return dump(spec_json(spec), pretty);
    // The seccomp profile is most of a container's config.json (Docker's: ~7 KB of syscall
    // names, a quarter of a millisecond of building and dumping JSON at every start) and the
    // same for most of a daemon's containers: the text of the last one is kept, and spliced
    // into the rest of the document in place of a marker no other value can hold (a random
    // string of this process).
    static const std::string marker = [] {
        auto hex = random_hex(16);
        return "berth-seccomp-" + (hex ? *hex : std::to_string(::getpid()));
    }();
    static std::mutex mu;
    static std::optional<Seccomp> last;
    static std::string last_text;
    std::string text;
    {
        std::lock_guard lk(mu);
        if (!last || !(*last == *spec.linux->seccomp)) {
            last_text = dump(seccomp_json(*spec.linux->seccomp), false);
            last = *spec.linux->seccomp;
        }
        text = last_text;
    }
    std::string out = dump(spec_json(spec, &marker), false);
    std::string quoted = "\"" + marker + "\"";
    size_t at = out.find(quoted);
    if (at == std::string::npos) return dump(spec_json(spec), false);  // cannot happen
    out.replace(at, quoted.size(), text);
    return out;
}

std::string to_json(const Process& p, bool pretty) {
    return dump(process_json(p), pretty);
}

std::string to_json(const Resources& r, bool pretty) {
    return dump(resources_json(r), pretty);
}

std::string to_json(const State& st) {
    ojson o = ojson::object();
    o["ociVersion"] = st.oci_version;
    o["id"] = st.id;
    o["status"] = st.status;
    // runtime-spec: pid is REQUIRED while created or running; runc always writes it.
    o["pid"] = st.pid;
    o["bundle"] = st.bundle;
    put_map(o, "annotations", st.annotations);
    return dump(o, false);
}

}  // namespace berth::oci
