// Config, HostConfig and NetworkingConfig <-> moby's JSON (api/types/container/config.go,
// hostconfig.go, api/types/network/endpoint.go, api/types/mount/mount.go).
//
// Reading follows Go's encoding/json as dockerd applies it to a create body: unknown members are
// ignored, null is "absent", numbers must be integers that fit the Go field. Errors name the JSON
// path ("HostConfig.PortBindings[\"80/tcp\"][0].HostPort: expected a string, got number").
// Writing produces dockerd's shape: every member Go writes, null where Go's slice or pointer is
// nil, members tagged omitempty left out when empty.

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "berth/common/fs.hpp"
#include "berth/common/strings.hpp"
#include "berth/container/config.hpp"

namespace berth::container {
namespace {

using json = nlohmann::json;

// A bad field, thrown inside the readers and turned into an Error at the entry points, so the
// readers stay flat (one line per field) instead of threading a Result through every member.
struct BadField {
    std::string path;
    std::string what;
};

[[noreturn]] void bad(const std::string& path, std::string what) {
    throw BadField{path, std::move(what)};
}

/// Go's JSON kinds as users know them ("number", not "number_unsigned").
const char* kind(const json& v) {
    switch (v.type()) {
        case json::value_t::string:
            return "string";
        case json::value_t::boolean:
            return "boolean";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
        case json::value_t::number_float:
            return "number";
        case json::value_t::array:
            return "array";
        case json::value_t::object:
            return "object";
        default:
            return "null";
    }
}

bool plain_key(std::string_view key) {
    if (key.empty()) return false;
    for (size_t i = 0; i < key.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(key[i]);
        if (!(std::isalpha(c) || c == '_' || (i > 0 && std::isdigit(c)))) return false;
    }
    return true;
}

bool same_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

/// "base.Key", or `base["key/with.dots"]` for keys that are not identifiers (map keys).
std::string at_key(std::string_view base, std::string_view key) {
    if (plain_key(key)) return base.empty() ? std::string(key) : fmt::format("{}.{}", base, key);
    return fmt::format("{}[\"{}\"]", base, json_escape(key));
}

std::string at_index(std::string_view base, size_t i) {
    return fmt::format("{}[{}]", base, i);
}

template <class T>
T read_int(const json& v, const std::string& path) {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
    if (!v.is_number()) bad(path, fmt::format("expected a number, got {}", kind(v)));
    if (v.is_number_float()) bad(path, fmt::format("expected an integer, got {}", v.dump()));
    using L = std::numeric_limits<T>;
    auto out_of_range = [&] {
        bad(path, fmt::format("number {} out of range [{}, {}]", v.dump(), L::min(), L::max()));
    };
    if (v.is_number_unsigned()) {
        auto u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(L::max())) out_of_range();
        return static_cast<T>(u);
    }
    auto s = v.get<int64_t>();  // negative
    if constexpr (std::is_unsigned_v<T>) {
        out_of_range();
    } else {
        if (s < static_cast<int64_t>(L::min())) out_of_range();
    }
    return static_cast<T>(s);
}

std::string read_string(const json& v, const std::string& path) {
    if (!v.is_string()) bad(path, fmt::format("expected a string, got {}", kind(v)));
    return v.get<std::string>();
}

bool read_bool(const json& v, const std::string& path) {
    if (!v.is_boolean()) bad(path, fmt::format("expected a boolean, got {}", kind(v)));
    return v.get<bool>();
}

void need_array(const json& v, const std::string& path) {
    if (!v.is_array()) bad(path, fmt::format("expected an array, got {}", kind(v)));
}

void need_object(const json& v, const std::string& path) {
    if (!v.is_object()) bad(path, fmt::format("expected an object, got {}", kind(v)));
}

/// One JSON object and its path; each accessor reads one member when present and not null,
/// leaving the destination untouched otherwise (Go leaves a field alone for a null member).
class Fields {
public:
    Fields(const json& j, std::string path) : j_(j), path_(std::move(path)) {
        need_object(j_, path_.empty() ? "request body" : path_);
    }

    /// The member named `key`; like Go's decoder, a member whose name differs only in case
    /// matches when there is no exact one ("hostconfig" fills HostConfig).
    [[nodiscard]] const json* find(std::string_view key) const {
        auto it = j_.find(key);
        if (it == j_.end()) {
            for (it = j_.begin(); it != j_.end(); ++it) {
                if (same_ignoring_case(it.key(), key)) break;
            }
        }
        if (it == j_.end() || it->is_null()) return nullptr;
        return &*it;
    }
    [[nodiscard]] std::string path(std::string_view key) const { return at_key(path_, key); }

    void str(std::string_view key, std::string& out) const {
        if (auto* v = find(key)) out = read_string(*v, path(key));
    }
    void boolean(std::string_view key, bool& out) const {
        if (auto* v = find(key)) out = read_bool(*v, path(key));
    }
    void boolean(std::string_view key, std::optional<bool>& out) const {
        if (auto* v = find(key)) out = read_bool(*v, path(key));
    }
    template <class T>
    void integer(std::string_view key, T& out) const {
        if (auto* v = find(key)) out = read_int<T>(*v, path(key));
    }
    template <class T>
    void integer(std::string_view key, std::optional<T>& out) const {
        if (auto* v = find(key)) out = read_int<T>(*v, path(key));
    }

    /// []T; `one(element, element_path)` converts an element. Null elements are zero values
    /// (Go decodes null into a struct or string as its zero value).
    template <class T, class F>
    void list(std::string_view key, std::vector<T>& out, F one) const {
        const json* v = find(key);
        if (!v) return;
        std::string p = path(key);
        need_array(*v, p);
        out.clear();
        for (size_t i = 0; i < v->size(); ++i) {
            const json& e = (*v)[i];
            out.push_back(e.is_null() ? T{} : one(e, at_index(p, i)));
        }
    }
    void strings(std::string_view key, std::vector<std::string>& out) const {
        list(key, out, read_string);
    }
    /// An array of strings where null/absent and [] differ.
    void opt_strings(std::string_view key, std::optional<std::vector<std::string>>& out) const {
        const json* v = find(key);
        if (!v) return;
        std::vector<std::string> items;
        list(key, items, read_string);
        out = std::move(items);
    }
    /// strslice.StrSlice: an array of strings, or one string meaning a one-element array.
    void strslice(std::string_view key, std::optional<std::vector<std::string>>& out) const {
        const json* v = find(key);
        if (!v) return;
        if (v->is_string()) {
            out = std::vector<std::string>{v->get<std::string>()};
            return;
        }
        if (!v->is_array())
            bad(path(key),
                fmt::format("expected a string or an array of strings, got {}", kind(*v)));
        std::vector<std::string> items;
        list(key, items, read_string);
        out = std::move(items);
    }
    /// map[string]T; `one(value, value_path)` converts a value.
    template <class T, class F>
    void map(std::string_view key, std::map<std::string, T>& out, F one) const {
        const json* v = find(key);
        if (!v) return;
        std::string p = path(key);
        need_object(*v, p);
        out.clear();
        for (auto it = v->begin(); it != v->end(); ++it)
            out[it.key()] = it->is_null() ? T{} : one(*it, at_key(p, it.key()));
    }
    void string_map(std::string_view key, std::map<std::string, std::string>& out) const {
        map(key, out, read_string);
    }
    /// map[string]struct{} (ExposedPorts, Volumes): the keys, sorted and unique.
    void key_set(std::string_view key, std::vector<std::string>& out,
                 std::string (*normalize)(std::string) = nullptr) const {
        const json* v = find(key);
        if (!v) return;
        std::string p = path(key);
        need_object(*v, p);
        out.clear();
        for (auto it = v->begin(); it != v->end(); ++it) {
            if (!it->is_object() && !it->is_null())
                bad(at_key(p, it.key()), fmt::format("expected an object, got {}", kind(*it)));
            out.push_back(normalize ? normalize(it.key()) : it.key());
        }
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
    }
    /// A nested object; `fill(Fields, T&)` reads its members.
    template <class T, class F>
    void object(std::string_view key, T& out, F fill) const {
        if (const json* v = find(key)) fill(Fields(*v, path(key)), out);
    }
    template <class T, class F>
    void object(std::string_view key, std::optional<T>& out, F fill) const {
        if (const json* v = find(key)) {
            T t{};
            fill(Fields(*v, path(key)), t);
            out = std::move(t);
        }
    }

private:
    const json& j_;
    std::string path_;
};

/// Wraps `fill(Fields, T&)` as a list/map element converter for objects.
template <class T, class F>
auto objects(F fill) {
    return [fill](const json& e, const std::string& p) {
        T t{};
        fill(Fields(e, p), t);
        return t;
    };
}

/// "80" -> "80/tcp", as nat.NewPort(nat.SplitProtoPort(...)) names a port without a protocol.
std::string with_proto(std::string port) {
    if (!port.empty() && port.find('/') == std::string::npos) port += "/tcp";
    if (!port.empty() && port.back() == '/') port += "tcp";
    return port;
}

// ---- reading ----------------------------------------------------------------------------------

void read_health(const Fields& f, oci::HealthConfig& h) {
    f.strings("Test", h.test);
    f.integer("Interval", h.interval);
    f.integer("Timeout", h.timeout);
    f.integer("StartPeriod", h.start_period);
    f.integer("StartInterval", h.start_interval);
    f.integer("Retries", h.retries);
}

void read_config(const Fields& f, Config& c) {
    f.str("Hostname", c.hostname);
    f.str("Domainname", c.domainname);
    f.str("User", c.user);
    f.boolean("AttachStdin", c.attach_stdin);
    f.boolean("AttachStdout", c.attach_stdout);
    f.boolean("AttachStderr", c.attach_stderr);
    f.key_set("ExposedPorts", c.exposed_ports, with_proto);
    f.boolean("Tty", c.tty);
    f.boolean("OpenStdin", c.open_stdin);
    f.boolean("StdinOnce", c.stdin_once);
    f.strings("Env", c.env);
    f.strslice("Cmd", c.cmd);
    f.object("Healthcheck", c.healthcheck, read_health);
    f.boolean("ArgsEscaped", c.args_escaped);
    f.str("Image", c.image);
    f.key_set("Volumes", c.volumes);
    f.str("WorkingDir", c.working_dir);
    f.strslice("Entrypoint", c.entrypoint);
    f.boolean("NetworkDisabled", c.network_disabled);
    f.str("MacAddress", c.mac_address);
    f.strings("OnBuild", c.on_build);
    f.string_map("Labels", c.labels);
    f.str("StopSignal", c.stop_signal);
    f.integer("StopTimeout", c.stop_timeout);
    std::optional<std::vector<std::string>> shell;
    f.strslice("Shell", shell);
    if (shell) c.shell = std::move(*shell);
}

void read_throttle(const Fields& f, ThrottleDevice& d) {
    f.str("Path", d.path);
    f.integer("Rate", d.rate);
}

void read_mount(const Fields& f, Mount& m) {
    f.str("Type", m.type);
    f.str("Source", m.source);
    f.str("Target", m.target);
    f.boolean("ReadOnly", m.read_only);
    f.str("Consistency", m.consistency);
    f.object("BindOptions", m.bind_options, [](const Fields& b, Mount::BindOptions& o) {
        b.str("Propagation", o.propagation);
        b.boolean("NonRecursive", o.non_recursive);
        b.boolean("CreateMountpoint", o.create_mountpoint);
        b.boolean("ReadOnlyNonRecursive", o.read_only_non_recursive);
        b.boolean("ReadOnlyForceRecursive", o.read_only_force_recursive);
    });
    f.object("VolumeOptions", m.volume_options, [](const Fields& v, Mount::VolumeOptions& o) {
        v.boolean("NoCopy", o.no_copy);
        v.string_map("Labels", o.labels);
        v.str("Subpath", o.subpath);
        v.object("DriverConfig", o, [](const Fields& d, Mount::VolumeOptions& vo) {
            d.str("Name", vo.driver_name);
            d.string_map("Options", vo.driver_options);
        });
    });
    f.object("TmpfsOptions", m.tmpfs_options, [](const Fields& t, Mount::TmpfsOptions& o) {
        t.integer("SizeBytes", o.size_bytes);
        t.integer("Mode", o.mode);
        t.list("Options", o.options, [](const json& e, const std::string& p) {
            need_array(e, p);
            std::vector<std::string> words;
            for (size_t i = 0; i < e.size(); ++i)
                words.push_back(read_string(e[i], at_index(p, i)));
            return words;
        });
    });
}

void read_host_config(const Fields& f, HostConfig& h) {
    f.strings("Binds", h.binds);
    f.str("ContainerIDFile", h.container_id_file);
    f.object("LogConfig", h.log_config, [](const Fields& l, LogConfig& lc) {
        l.str("Type", lc.type);
        l.string_map("Config", lc.config);
    });
    f.str("NetworkMode", h.network_mode);
    if (const json* pb = f.find("PortBindings")) {
        std::string p = f.path("PortBindings");
        need_object(*pb, p);
        h.port_bindings.clear();
        for (auto it = pb->begin(); it != pb->end(); ++it) {
            std::string kp = at_key(p, it.key());
            std::vector<PortBinding> list;
            if (!it->is_null()) {
                need_array(*it, kp);
                for (size_t i = 0; i < it->size(); ++i) {
                    const json& e = (*it)[i];
                    PortBinding b;
                    if (!e.is_null()) {
                        Fields bf(e, at_index(kp, i));
                        bf.str("HostIp", b.host_ip);
                        bf.str("HostPort", b.host_port);
                    }
                    list.push_back(std::move(b));
                }
            }
            auto& slot = h.port_bindings[with_proto(it.key())];
            slot.insert(slot.end(), list.begin(), list.end());
        }
    }
    f.object("RestartPolicy", h.restart_policy, [](const Fields& r, RestartPolicy& rp) {
        r.str("Name", rp.name);
        r.integer("MaximumRetryCount", rp.maximum_retry_count);
    });
    f.boolean("AutoRemove", h.auto_remove);
    f.str("VolumeDriver", h.volume_driver);
    f.strings("VolumesFrom", h.volumes_from);
    if (const json* cs = f.find("ConsoleSize")) {
        // Go's [2]uint: missing elements stay 0, extra ones are ignored.
        std::string p = f.path("ConsoleSize");
        need_array(*cs, p);
        h.console_size = {0, 0};
        for (size_t i = 0; i < cs->size() && i < 2; ++i) {
            if (!(*cs)[i].is_null())
                h.console_size[i] = static_cast<int>(read_int<uint16_t>((*cs)[i], at_index(p, i)));
        }
    }
    f.string_map("Annotations", h.annotations);
    f.strings("CapAdd", h.cap_add);
    f.strings("CapDrop", h.cap_drop);
    f.str("CgroupnsMode", h.cgroupns_mode);
    f.strings("Dns", h.dns);
    f.strings("DnsOptions", h.dns_options);
    f.strings("DnsSearch", h.dns_search);
    f.strings("ExtraHosts", h.extra_hosts);
    f.strings("GroupAdd", h.group_add);
    f.str("IpcMode", h.ipc_mode);
    f.str("Cgroup", h.cgroup);
    f.strings("Links", h.links);
    f.integer("OomScoreAdj", h.oom_score_adj);
    f.str("PidMode", h.pid_mode);
    f.boolean("Privileged", h.privileged);
    f.boolean("PublishAllPorts", h.publish_all_ports);
    f.boolean("ReadonlyRootfs", h.readonly_rootfs);
    f.strings("SecurityOpt", h.security_opt);
    f.string_map("StorageOpt", h.storage_opt);
    f.string_map("Tmpfs", h.tmpfs);
    f.str("UTSMode", h.uts_mode);
    f.str("UsernsMode", h.userns_mode);
    f.integer("ShmSize", h.shm_size);
    f.string_map("Sysctls", h.sysctls);
    f.str("Runtime", h.runtime);
    f.str("Isolation", h.isolation);
    f.opt_strings("MaskedPaths", h.masked_paths);
    f.opt_strings("ReadonlyPaths", h.readonly_paths);
    f.list("Mounts", h.mounts, objects<Mount>(read_mount));
    f.boolean("Init", h.init);

    f.integer("CpuShares", h.cpu_shares);
    f.integer("Memory", h.memory);
    f.integer("NanoCpus", h.nano_cpus);
    f.str("CgroupParent", h.cgroup_parent);
    f.integer("BlkioWeight", h.blkio_weight);
    f.list("BlkioWeightDevice", h.blkio_weight_device,
           objects<WeightDevice>([](const Fields& w, WeightDevice& d) {
               w.str("Path", d.path);
               w.integer("Weight", d.weight);
           }));
    f.list("BlkioDeviceReadBps", h.blkio_device_read_bps, objects<ThrottleDevice>(read_throttle));
    f.list("BlkioDeviceWriteBps", h.blkio_device_write_bps, objects<ThrottleDevice>(read_throttle));
    f.list("BlkioDeviceReadIOps", h.blkio_device_read_iops, objects<ThrottleDevice>(read_throttle));
    f.list("BlkioDeviceWriteIOps", h.blkio_device_write_iops,
           objects<ThrottleDevice>(read_throttle));
    f.integer("CpuPeriod", h.cpu_period);
    f.integer("CpuQuota", h.cpu_quota);
    f.integer("CpuRealtimePeriod", h.cpu_realtime_period);
    f.integer("CpuRealtimeRuntime", h.cpu_realtime_runtime);
    f.str("CpusetCpus", h.cpuset_cpus);
    f.str("CpusetMems", h.cpuset_mems);
    f.list("Devices", h.devices, objects<DeviceMapping>([](const Fields& d, DeviceMapping& m) {
               d.str("PathOnHost", m.path_on_host);
               d.str("PathInContainer", m.path_in_container);
               d.str("CgroupPermissions", m.cgroup_permissions);
           }));
    f.strings("DeviceCgroupRules", h.device_cgroup_rules);
    f.integer("KernelMemoryTCP", h.kernel_memory_tcp);
    f.integer("MemoryReservation", h.memory_reservation);
    f.integer("MemorySwap", h.memory_swap);
    f.integer("MemorySwappiness", h.memory_swappiness);
    if (h.memory_swappiness == -1) h.memory_swappiness.reset();  // the CLI's "unset"
    f.boolean("OomKillDisable", h.oom_kill_disable);
    f.integer("PidsLimit", h.pids_limit);
    f.list("Ulimits", h.ulimits, objects<Ulimit>([](const Fields& u, Ulimit& l) {
               u.str("Name", l.name);
               u.integer("Soft", l.soft);
               u.integer("Hard", l.hard);
           }));
}

void read_endpoint(const Fields& f, EndpointSettings& e) {
    f.object("IPAMConfig", e, [](const Fields& i, EndpointSettings& es) {
        i.str("IPv4Address", es.ipv4_address);
        i.str("IPv6Address", es.ipv6_address);
        i.strings("LinkLocalIPs", es.link_local_ips);
    });
    f.strings("Links", e.links);
    f.strings("Aliases", e.aliases);
    f.str("MacAddress", e.mac_address);
    f.string_map("DriverOpts", e.driver_opts);
    f.integer("GwPriority", e.gw_priority);
}

void read_networking(const Fields& f, NetworkingConfig& n) {
    f.map("EndpointsConfig", n.endpoints_config, objects<EndpointSettings>(read_endpoint));
}

/// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
std::string without_exception_id(std::string_view what) {
    if (what.rfind("[json.exception.", 0) == 0) {
        size_t end = what.find("] ");
        if (end != std::string_view::npos) what.remove_prefix(end + 2);
    }
    return std::string(what);
}

/// Runs `read` and turns a BadField or a nlohmann exception into InvalidArgument.
template <class T, class F>
Result<T> guarded(F read) {
    try {
        return read();
    } catch (const BadField& e) {
        if (e.path.empty()) return make_error(Errc::InvalidArgument, "{}", e.what);
        return make_error(Errc::InvalidArgument, "{}: {}", e.path, e.what);
    } catch (const json::exception& e) {
        return make_error(Errc::InvalidArgument, "invalid JSON in request body: {}",
                          without_exception_id(e.what()));
    }
}

// ---- writing ----------------------------------------------------------------------------------

/// A Go slice that is nil when empty: null, else the array.
json nil_or(const std::vector<std::string>& v) {
    return v.empty() ? json(nullptr) : json(v);
}

/// A Go map that dockerd always makes: {} when empty.
json object_of(const std::map<std::string, std::string>& m) {
    json o = json::object();
    for (const auto& [k, v] : m) o[k] = v;
    return o;
}

json key_set(const std::vector<std::string>& keys) {
    json o = json::object();
    for (const auto& k : keys) o[k] = json::object();
    return o;
}

json health_json(const oci::HealthConfig& h) {
    json o = json::object();  // every member is omitempty
    if (!h.test.empty()) o["Test"] = h.test;
    if (h.interval != 0) o["Interval"] = h.interval;
    if (h.timeout != 0) o["Timeout"] = h.timeout;
    if (h.start_period != 0) o["StartPeriod"] = h.start_period;
    if (h.start_interval != 0) o["StartInterval"] = h.start_interval;
    if (h.retries != 0) o["Retries"] = h.retries;
    return o;
}

template <class T, class F>
json array_of(const std::vector<T>& v, F one) {
    json a = json::array();
    for (const auto& e : v) a.push_back(one(e));
    return a;
}

json throttle_json(const ThrottleDevice& d) {
    return {{"Path", d.path}, {"Rate", d.rate}};
}

json mount_json(const Mount& m) {
    json o = json::object();  // mount.Mount: every member is omitempty
    if (!m.type.empty()) o["Type"] = m.type;
    if (!m.source.empty()) o["Source"] = m.source;
    if (!m.target.empty()) o["Target"] = m.target;
    if (m.read_only) o["ReadOnly"] = true;
    if (!m.consistency.empty()) o["Consistency"] = m.consistency;
    if (m.bind_options) {
        const auto& b = *m.bind_options;
        json bo = json::object();
        if (!b.propagation.empty()) bo["Propagation"] = b.propagation;
        if (b.non_recursive) bo["NonRecursive"] = true;
        if (b.create_mountpoint) bo["CreateMountpoint"] = true;
        if (b.read_only_non_recursive) bo["ReadOnlyNonRecursive"] = true;
        if (b.read_only_force_recursive) bo["ReadOnlyForceRecursive"] = true;
        o["BindOptions"] = std::move(bo);
    }
    if (m.volume_options) {
        const auto& v = *m.volume_options;
        json vo = json::object();
        if (v.no_copy) vo["NoCopy"] = true;
        if (!v.labels.empty()) vo["Labels"] = object_of(v.labels);
        if (!v.subpath.empty()) vo["Subpath"] = v.subpath;
        if (!v.driver_name.empty() || !v.driver_options.empty()) {
            json d = json::object();
            if (!v.driver_name.empty()) d["Name"] = v.driver_name;
            if (!v.driver_options.empty()) d["Options"] = object_of(v.driver_options);
            vo["DriverConfig"] = std::move(d);
        }
        o["VolumeOptions"] = std::move(vo);
    }
    if (m.tmpfs_options) {
        const auto& t = *m.tmpfs_options;
        json to = json::object();
        if (t.size_bytes != 0) to["SizeBytes"] = t.size_bytes;
        if (t.mode != 0) to["Mode"] = t.mode;
        if (!t.options.empty()) to["Options"] = t.options;
        o["TmpfsOptions"] = std::move(to);
    }
    return o;
}

json endpoint_json(const EndpointSettings& e) {
    json ipam = nullptr;
    if (!e.ipv4_address.empty() || !e.ipv6_address.empty() || !e.link_local_ips.empty()) {
        ipam = json::object();  // EndpointIPAMConfig: omitempty members
        if (!e.ipv4_address.empty()) ipam["IPv4Address"] = e.ipv4_address;
        if (!e.ipv6_address.empty()) ipam["IPv6Address"] = e.ipv6_address;
        if (!e.link_local_ips.empty()) ipam["LinkLocalIPs"] = e.link_local_ips;
    }
    // The operational members (NetworkID, IPAddress, ...) are zero in a configuration; the
    // network code fills them for NetworkSettings.Networks in inspect.
    return {{"IPAMConfig", ipam},
            {"Links", nil_or(e.links)},
            {"Aliases", nil_or(e.aliases)},
            {"MacAddress", e.mac_address},
            {"DriverOpts", e.driver_opts.empty() ? json(nullptr) : object_of(e.driver_opts)},
            {"GwPriority", e.gw_priority},
            {"NetworkID", ""},
            {"EndpointID", ""},
            {"Gateway", ""},
            {"IPAddress", ""},
            {"IPPrefixLen", 0},
            {"IPv6Gateway", ""},
            {"GlobalIPv6Address", ""},
            {"GlobalIPv6PrefixLen", 0},
            {"DNSNames", nullptr}};
}

}  // namespace

Result<CreateRequest> parse_create_request(std::string_view body) {
    json doc;
    try {
        doc = json::parse(body.begin(), body.end());
    } catch (const json::exception& e) {
        if (trim(body).empty())
            return make_error(Errc::InvalidArgument, "invalid JSON in request body: empty body");
        return make_error(Errc::InvalidArgument, "invalid JSON in request body: {}",
                          without_exception_id(e.what()));
    }
    return guarded<CreateRequest>([&] {
        CreateRequest req;
        Fields top(doc, "");
        read_config(top, req.config);
        top.object("HostConfig", req.host_config, read_host_config);
        top.object("NetworkingConfig", req.networking_config, read_networking);
        return req;
    });
}

Result<Config> parse_config(const nlohmann::json& j, std::string_view origin) {
    return guarded<Config>([&] {
        Config c;
        read_config(Fields(j, std::string(origin)), c);
        return c;
    });
}

Result<HostConfig> parse_host_config(const nlohmann::json& j, std::string_view origin) {
    return guarded<HostConfig>([&] {
        HostConfig h;
        read_host_config(Fields(j, std::string(origin)), h);
        return h;
    });
}

void to_json(nlohmann::json& j, const Config& c) {
    j = json::object();
    j["Hostname"] = c.hostname;
    j["Domainname"] = c.domainname;
    j["User"] = c.user;
    j["AttachStdin"] = c.attach_stdin;
    j["AttachStdout"] = c.attach_stdout;
    j["AttachStderr"] = c.attach_stderr;
    if (!c.exposed_ports.empty()) j["ExposedPorts"] = key_set(c.exposed_ports);
    j["Tty"] = c.tty;
    j["OpenStdin"] = c.open_stdin;
    j["StdinOnce"] = c.stdin_once;
    j["Env"] = nil_or(c.env);
    j["Cmd"] = c.cmd ? json(*c.cmd) : json(nullptr);
    if (c.healthcheck) j["Healthcheck"] = health_json(*c.healthcheck);
    if (c.args_escaped) j["ArgsEscaped"] = true;
    j["Image"] = c.image;
    j["Volumes"] = c.volumes.empty() ? json(nullptr) : key_set(c.volumes);
    j["WorkingDir"] = c.working_dir;
    j["Entrypoint"] = c.entrypoint ? json(*c.entrypoint) : json(nullptr);
    if (c.network_disabled) j["NetworkDisabled"] = true;
    if (!c.mac_address.empty()) j["MacAddress"] = c.mac_address;
    j["OnBuild"] = nil_or(c.on_build);
    // moby's merge always makes Labels a map, so inspect shows {} rather than null; compose
    // reads it as a dict.
    j["Labels"] = object_of(c.labels);
    if (!c.stop_signal.empty()) j["StopSignal"] = c.stop_signal;
    if (c.stop_timeout) j["StopTimeout"] = *c.stop_timeout;
    if (!c.shell.empty()) j["Shell"] = c.shell;
}

void to_json(nlohmann::json& j, const HostConfig& h) {
    j = json::object();
    // Slices: null where dockerd's inspect shows null for a CLI-created container (the CLI
    // leaves them nil), [] where the CLI always sends an empty array (Dns*, Blkio*, Devices,
    // Ulimits). Either decodes the same way in every client.
    j["Binds"] = nil_or(h.binds);
    j["ContainerIDFile"] = h.container_id_file;
    j["LogConfig"] = {{"Type", h.log_config.type}, {"Config", object_of(h.log_config.config)}};
    j["NetworkMode"] = h.network_mode;
    json ports = json::object();
    for (const auto& [port, list] : h.port_bindings)
        ports[port] = array_of(list, [](const PortBinding& b) {
            return json{{"HostIp", b.host_ip}, {"HostPort", b.host_port}};
        });
    j["PortBindings"] = std::move(ports);
    j["RestartPolicy"] = {{"Name", h.restart_policy.name},
                          {"MaximumRetryCount", h.restart_policy.maximum_retry_count}};
    j["AutoRemove"] = h.auto_remove;
    j["VolumeDriver"] = h.volume_driver;
    j["VolumesFrom"] = nil_or(h.volumes_from);
    json console = json::array();
    for (size_t i = 0; i < 2; ++i)
        console.push_back(i < h.console_size.size() ? std::max(h.console_size[i], 0) : 0);
    j["ConsoleSize"] = std::move(console);
    if (!h.annotations.empty()) j["Annotations"] = object_of(h.annotations);
    j["CapAdd"] = nil_or(h.cap_add);
    j["CapDrop"] = nil_or(h.cap_drop);
    j["CgroupnsMode"] = h.cgroupns_mode;
    j["Dns"] = h.dns;
    j["DnsOptions"] = h.dns_options;
    j["DnsSearch"] = h.dns_search;
    j["ExtraHosts"] = nil_or(h.extra_hosts);
    j["GroupAdd"] = nil_or(h.group_add);
    j["IpcMode"] = h.ipc_mode;
    j["Cgroup"] = h.cgroup;
    j["Links"] = nil_or(h.links);
    // moby's OomScoreAdj is a plain int; null only where ours is unset, so that "unset" and an
    // explicit 0 survive a store/load round trip. Go clients decode null into an int as 0.
    j["OomScoreAdj"] = h.oom_score_adj ? json(*h.oom_score_adj) : json(nullptr);
    j["PidMode"] = h.pid_mode;
    j["Privileged"] = h.privileged;
    j["PublishAllPorts"] = h.publish_all_ports;
    j["ReadonlyRootfs"] = h.readonly_rootfs;
    j["SecurityOpt"] = nil_or(h.security_opt);
    if (!h.storage_opt.empty()) j["StorageOpt"] = object_of(h.storage_opt);
    if (!h.tmpfs.empty()) j["Tmpfs"] = object_of(h.tmpfs);
    j["UTSMode"] = h.uts_mode;
    j["UsernsMode"] = h.userns_mode;
    j["ShmSize"] = h.shm_size;
    if (!h.sysctls.empty()) j["Sysctls"] = object_of(h.sysctls);
    if (!h.runtime.empty()) j["Runtime"] = h.runtime;
    j["Isolation"] = h.isolation;

    j["CpuShares"] = h.cpu_shares;
    j["Memory"] = h.memory;
    j["NanoCpus"] = h.nano_cpus;
    j["CgroupParent"] = h.cgroup_parent;
    j["BlkioWeight"] = h.blkio_weight;
    j["BlkioWeightDevice"] = array_of(h.blkio_weight_device, [](const WeightDevice& d) {
        return json{{"Path", d.path}, {"Weight", d.weight}};
    });
    j["BlkioDeviceReadBps"] = array_of(h.blkio_device_read_bps, throttle_json);
    j["BlkioDeviceWriteBps"] = array_of(h.blkio_device_write_bps, throttle_json);
    j["BlkioDeviceReadIOps"] = array_of(h.blkio_device_read_iops, throttle_json);
    j["BlkioDeviceWriteIOps"] = array_of(h.blkio_device_write_iops, throttle_json);
    j["CpuPeriod"] = h.cpu_period;
    j["CpuQuota"] = h.cpu_quota;
    j["CpuRealtimePeriod"] = h.cpu_realtime_period;
    j["CpuRealtimeRuntime"] = h.cpu_realtime_runtime;
    j["CpusetCpus"] = h.cpuset_cpus;
    j["CpusetMems"] = h.cpuset_mems;
    j["Devices"] = array_of(h.devices, [](const DeviceMapping& d) {
        return json{{"PathOnHost", d.path_on_host},
                    {"PathInContainer", d.path_in_container},
                    {"CgroupPermissions", d.cgroup_permissions}};
    });
    j["DeviceCgroupRules"] = nil_or(h.device_cgroup_rules);
    j["DeviceRequests"] = nullptr;  // GPUs: not supported, always nil
    if (h.kernel_memory_tcp != 0) j["KernelMemoryTCP"] = h.kernel_memory_tcp;
    j["MemoryReservation"] = h.memory_reservation;
    j["MemorySwap"] = h.memory_swap;
    j["MemorySwappiness"] = h.memory_swappiness ? json(*h.memory_swappiness) : json(nullptr);
    j["OomKillDisable"] = h.oom_kill_disable ? json(*h.oom_kill_disable) : json(nullptr);
    j["PidsLimit"] = h.pids_limit ? json(*h.pids_limit) : json(nullptr);
    j["Ulimits"] = array_of(h.ulimits, [](const Ulimit& u) {
        return json{{"Name", u.name}, {"Hard", u.hard}, {"Soft", u.soft}};
    });
    // Windows-only resources, zero on Linux.
    j["CpuCount"] = 0;
    j["CpuPercent"] = 0;
    j["IOMaximumIOps"] = 0;
    j["IOMaximumBandwidth"] = 0;

    if (!h.mounts.empty()) j["Mounts"] = array_of(h.mounts, mount_json);
    j["MaskedPaths"] = h.masked_paths ? json(*h.masked_paths) : json(nullptr);
    j["ReadonlyPaths"] = h.readonly_paths ? json(*h.readonly_paths) : json(nullptr);
    if (h.init) j["Init"] = *h.init;
}

void to_json(nlohmann::json& j, const NetworkingConfig& n) {
    json eps = json::object();
    for (const auto& [name, e] : n.endpoints_config) eps[name] = endpoint_json(e);
    j = {{"EndpointsConfig", std::move(eps)}};
}

}  // namespace berth::container

// ---- validation (moby's checks at create) -----------------------------------------------------

namespace berth::container {
namespace {

constexpr int64_t kMinMemory = 6 * 1024 * 1024;    // moby's linuxMinMemory
constexpr int64_t kMinimumDurationNs = 1'000'000;  // container.MinimumDuration, 1ms

/// Go's %q for the plain strings these messages quote.
std::string go_quote(std::string_view s) {
    return fmt::format("\"{}\"", json_escape(s));
}

Unexpected invalid(std::string msg) {
    return Unexpected(Error{Errc::InvalidArgument, 0, std::move(msg)});
}

/// "container:<x>": the part after the colon, or nullopt for other modes.
std::optional<std::string_view> container_ref(std::string_view mode) {
    if (mode.rfind("container:", 0) != 0) return std::nullopt;
    return mode.substr(10);
}

bool is_abs(std::string_view p) {
    return !p.empty() && p.front() == '/';
}

/// sysinfo.NumCPU: the CPUs this process may run on.
int usable_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
    long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<int>(n) : 1;
}

bool valid_ip(std::string_view s) {
    std::string z(s);
    unsigned char buf[sizeof(struct in6_addr)];
    return ::inet_pton(AF_INET, z.c_str(), buf) == 1 || ::inet_pton(AF_INET6, z.c_str(), buf) == 1;
}

bool valid_ipv4(std::string_view s) {
    std::string z(s);
    unsigned char buf[sizeof(struct in_addr)];
    return ::inet_pton(AF_INET, z.c_str(), buf) == 1;
}

bool valid_ipv6(std::string_view s) {
    std::string z(s);
    unsigned char buf[sizeof(struct in6_addr)];
    return ::inet_pton(AF_INET6, z.c_str(), buf) == 1;
}

/// opts.ValidateExtraHost: "name:ip" or "name=ip", ip may be "host-gateway" or "[v6]".
Result<void> check_extra_host(const std::string& val) {
    size_t sep = val.find('=');
    if (sep == std::string::npos) sep = val.find(':');
    std::string_view name =
        sep == std::string::npos ? std::string_view{} : std::string_view(val).substr(0, sep);
    if (sep == std::string::npos || name.empty() || name.find(':') != std::string_view::npos)
        return invalid(fmt::format("bad format for add-host: {}", go_quote(val)));
    std::string_view ip = std::string_view(val).substr(sep + 1);
    if (ip == "host-gateway") return {};
    if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    if (!valid_ip(ip))
        return invalid(fmt::format("invalid IP address in add-host: {}", go_quote(ip)));
    return {};
}

/// nat.ParsePort: "" or a decimal number that fits 16 bits.
bool parse_port(std::string_view s) {
    if (s.empty()) return true;
    auto n = parse_uint(s);
    return n && *n <= 65535;
}

/// nat.ParsePortRangeToInt: "", "80" or "8000-8010" (end >= start).
bool parse_port_range(std::string_view s) {
    if (s.empty()) return true;
    size_t dash = s.find('-');
    if (dash == std::string_view::npos) return parse_port(s) && !s.empty();
    auto a = parse_uint(s.substr(0, dash));
    auto b = parse_uint(s.substr(dash + 1));
    return a && b && *a <= 65535 && *b <= 65535 && *b >= *a;
}

/// nat.SplitProtoPort: the port part of "port/proto".
std::string_view port_part(std::string_view raw) {
    size_t slash = raw.find('/');
    return slash == std::string_view::npos ? raw : raw.substr(0, slash);
}

Result<void> check_network_mode(const Config& c, const HostConfig& h) {
    // runconfig validateNetMode / validateNetContainerMode.
    std::string_view mode = h.network_mode;
    bool is_host = mode == "host";
    auto ref = container_ref(mode);
    if (mode == "container" || (ref && ref->empty()))
        return invalid("Invalid network mode: invalid container format container:<name|id>");
    bool is_container = ref.has_value();
    if (is_container && !c.hostname.empty())
        return invalid("conflicting options: hostname and the network mode");
    if (is_container && !h.links.empty())
        return invalid(
            "conflicting options: container type network can't be used with links. This would "
            "result in undefined behavior");
    if (is_container && !h.dns.empty())
        return invalid("conflicting options: dns and the network mode");
    if (is_container && !h.extra_hosts.empty())
        return invalid("conflicting options: custom host-to-IP mapping and the network mode");
    if ((is_container || is_host) && !c.mac_address.empty())
        return invalid("conflicting options: mac-address and the network mode");
    if (is_container && (!h.port_bindings.empty() || h.publish_all_ports))
        return invalid("conflicting options: port publishing and the container type network mode");
    if (is_container && !c.exposed_ports.empty())
        return invalid("conflicting options: port exposing and the container type network mode");
    if (h.uts_mode == "host" && !c.hostname.empty())
        return invalid("conflicting options: hostname and the UTS mode");
    if (is_host && !h.links.empty())
        return invalid(
            "conflicting options: host type networking can't be used with links. This would "
            "result in undefined behavior");
    return {};
}

Result<void> check_config(const Config& c) {
    // daemon validateContainerConfig.
    if (!c.working_dir.empty() && !is_abs(c.working_dir))
        return invalid(
            fmt::format("the working directory '{}' is invalid, it needs to be an absolute path",
                        c.working_dir));
    for (const auto& e : c.env) {
        if (e.empty() || e.front() == '=')
            return invalid(fmt::format("invalid environment variable: {}", e));
    }
    if (c.healthcheck) {
        const auto& hc = *c.healthcheck;
        auto too_short = [](int64_t d) { return d != 0 && d < kMinimumDurationNs; };
        if (too_short(hc.interval))
            return invalid("Interval in Healthcheck cannot be less than 1ms");
        if (too_short(hc.timeout)) return invalid("Timeout in Healthcheck cannot be less than 1ms");
        if (hc.retries < 0) return invalid("Retries in Healthcheck cannot be negative");
        if (too_short(hc.start_period))
            return invalid("StartPeriod in Healthcheck cannot be less than 1ms");
        if (too_short(hc.start_interval))
            return invalid("StartInterval in Healthcheck cannot be less than 1ms");
    }
    for (const auto& p : c.exposed_ports) {
        // moby stores unparsable keys and fails at start; refusing them here keeps a stored
        // container startable. The wording is validatePortBindings'.
        if (!parse_port_range(port_part(p)) || port_part(p).empty())
            return invalid(fmt::format("invalid port specification: {}", go_quote(port_part(p))));
    }
    return {};
}

Result<void> check_restart_policy(const RestartPolicy& rp, bool auto_remove) {
    // create.go turns "" into "no" before these checks, so "" passes both.
    bool none = rp.name.empty() || rp.name == "no";
    if (auto_remove && !none)
        return invalid("can't create 'AutoRemove' container with restart policy");
    if (rp.name == "always" || rp.name == "unless-stopped" || rp.name == "no") {
        if (rp.maximum_retry_count != 0) {
            std::string msg =
                "invalid restart policy: maximum retry count can only be used with 'on-failure'";
            if (rp.maximum_retry_count < 0) msg += " and cannot be negative";
            return invalid(std::move(msg));
        }
    } else if (rp.name == "on-failure") {
        if (rp.maximum_retry_count < 0)
            return invalid("invalid restart policy: maximum retry count cannot be negative");
    } else if (!rp.name.empty()) {
        return invalid(
            fmt::format("invalid restart policy: unknown policy '{}'; use one of 'no', 'always', "
                        "'on-failure', or 'unless-stopped'",
                        rp.name));
    }
    return {};
}

Result<void> check_host_config(const HostConfig& h) {
    // daemon validateHostConfig (mount sources and capabilities are the engine's to check).
    BERTH_TRY(check_restart_policy(h.restart_policy, h.auto_remove));
    for (const auto& eh : h.extra_hosts) BERTH_TRY(check_extra_host(eh));
    for (const auto& [port, bindings] : h.port_bindings) {
        std::string_view p = port_part(port);
        if (!parse_port(p))
            return invalid(fmt::format("invalid port specification: {}", go_quote(p)));
        for (const auto& b : bindings) {
            if (!parse_port_range(port_part(b.host_port)))
                return invalid(
                    fmt::format("invalid port specification: {}", go_quote(b.host_port)));
        }
    }
    std::string iso = h.isolation;
    for (auto& ch : iso) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!iso.empty() && iso != "default")
        return invalid(fmt::format("Invalid isolation: {} - linux only supports 'default'",
                                   go_quote(h.isolation)));
    for (const auto& [k, v] : h.annotations) {
        if (k.empty())
            return invalid(
                "invalid Annotations: the empty string is not permitted as an annotation key");
    }
    return {};
}

Result<void> check_resources(const HostConfig& h) {
    // daemon verifyPlatformContainerResources, in moby's order.
    if (h.memory != 0 && h.memory < kMinMemory)
        return invalid("Minimum memory limit allowed is 6MB");
    if (h.memory > 0 && h.memory_swap > 0 && h.memory_swap < h.memory)
        return invalid("Minimum memoryswap limit should be larger than memory limit, see usage");
    if (h.memory == 0 && h.memory_swap > 0)
        return invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage");
    if (h.memory_swappiness && (*h.memory_swappiness < 0 || *h.memory_swappiness > 100))
        return invalid(fmt::format("Invalid value: {}, valid memory swappiness range is 0-100",
                                   *h.memory_swappiness));
    if (h.memory_reservation > 0 && h.memory_reservation < kMinMemory)
        return invalid("Minimum memory reservation allowed is 6MB");
    if (h.memory > 0 && h.memory_reservation > 0 && h.memory < h.memory_reservation)
        return invalid(
            "Minimum memory limit can not be less than memory reservation limit, see usage");
    if (h.nano_cpus > 0 && h.cpu_period > 0)
        return invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set");
    if (h.nano_cpus > 0 && h.cpu_quota > 0)
        return invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    int ncpu = usable_cpus();
    if (h.nano_cpus < 0 || h.nano_cpus > int64_t{ncpu} * 1'000'000'000)
        return invalid(
            fmt::format("Range of CPUs is from 0.01 to {}.00, as there are only {} CPUs available",
                        ncpu, ncpu));
    if (h.cpu_period != 0 && (h.cpu_period < 1000 || h.cpu_period > 1'000'000))
        return invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
    if (h.cpu_quota > 0 && h.cpu_quota < 1000)
        return invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)");
    if (h.blkio_weight > 0 && (h.blkio_weight < 10 || h.blkio_weight > 1000))
        return invalid("Range of blkio weight is from 10 to 1000");
    // runconfig validateResources.
    if (h.cpu_realtime_period != 0 && h.cpu_realtime_runtime != 0 &&
        h.cpu_realtime_runtime > h.cpu_realtime_period)
        return invalid("cpu real-time runtime cannot be higher than cpu real-time period");
    return {};
}

Result<void> check_namespaces(const HostConfig& h) {
    // daemon verifyPlatformContainerSettings.
    const std::string& ipc = h.ipc_mode;
    bool ipc_ok = ipc.empty() || ipc == "none" || ipc == "private" || ipc == "host" ||
                  ipc == "shareable" || container_ref(ipc).has_value();
    if (!ipc_ok) return invalid(fmt::format("invalid IPC mode: {}", ipc));
    auto pid_ref = container_ref(h.pid_mode);
    if (!(h.pid_mode.empty() || h.pid_mode == "host" || (pid_ref && !pid_ref->empty())))
        return invalid(fmt::format("invalid PID mode: {}", h.pid_mode));
    if (h.shm_size < 0) return invalid("SHM size can not be less than 0");
    if (!(h.uts_mode.empty() || h.uts_mode == "host"))
        return invalid(fmt::format("invalid UTS mode: {}", h.uts_mode));
    if (h.oom_score_adj && (*h.oom_score_adj < -1000 || *h.oom_score_adj > 1000))
        return invalid(fmt::format("Invalid value {}, range for oom score adj is [-1000, 1000]",
                                   *h.oom_score_adj));
    for (const auto& [dest, opts] : h.tmpfs) {
        if (clean_path(dest) == "/")
            return invalid("invalid specification: destination can't be '/'");
        if (!is_abs(dest))
            return invalid(
                fmt::format("invalid mount path: '{}' mount path must be absolute", dest));
    }
    const std::string& cgns = h.cgroupns_mode;
    if (!(cgns.empty() || cgns == "private" || cgns == "host"))
        return invalid(fmt::format("invalid cgroup namespace mode: {}", cgns));
    return {};
}

Result<void> check_networking(const NetworkingConfig& n) {
    // daemon validateEndpointSettings, the parts that need no network object.
    for (const auto& [name, ep] : n.endpoints_config) {
        if (!ep.ipv4_address.empty() && !valid_ipv4(ep.ipv4_address))
            return invalid(fmt::format("invalid config for network {}: invalid IPv4 address: {}",
                                       name, ep.ipv4_address));
        if (!ep.ipv6_address.empty() && !valid_ipv6(ep.ipv6_address))
            return invalid(fmt::format("invalid config for network {}: invalid IPv6 address: {}",
                                       name, ep.ipv6_address));
    }
    return {};
}

Result<void> check_log_config(const LogConfig& lc) {
    // logger.ValidateLogOpts after mergeAndVerifyLogConfig's default ("" = json-file).
    std::string type = lc.type.empty() ? std::string(kDefaultLogDriver) : lc.type;
    if (type == "none") return {};
    auto mode = lc.config.find("mode");
    std::string_view m = mode == lc.config.end() ? "" : std::string_view(mode->second);
    if (!(m.empty() || m == "blocking" || m == "non-blocking"))
        return invalid(fmt::format("logger: logging mode not supported: {}", m));
    if (lc.config.count("max-buffer-size") && m != "non-blocking")
        return invalid("logger: max-buffer-size option is only supported with 'mode=non-blocking'");
    if (type != "json-file")
        return invalid(fmt::format("logger: no log driver named '{}' is registered", type));
    static const char* const kJsonFileOpts[] = {"max-file",     "max-size", "compress",  "labels",
                                                "labels-regex", "env",      "env-regex", "tag"};
    for (const auto& [key, value] : lc.config) {
        if (key == "mode" || key == "max-buffer-size") continue;
        bool known = std::any_of(std::begin(kJsonFileOpts), std::end(kJsonFileOpts),
                                 [&](const char* k) { return key == k; });
        if (!known)
            return invalid(fmt::format("unknown log opt '{}' for json-file log driver", key));
    }
    return {};
}

}  // namespace

Result<void> validate(const CreateRequest& req) {
    const Config& c = req.config;
    const HostConfig& h = req.host_config;
    // The order is moby's: the API decoder's checks, then verifyContainerSettings, then the
    // networking config, then the log driver (create.go).
    BERTH_TRY(check_network_mode(c, h));
    BERTH_TRY(check_config(c));
    BERTH_TRY(check_host_config(h));
    BERTH_TRY(check_resources(h));
    BERTH_TRY(check_namespaces(h));
    BERTH_TRY(check_networking(req.networking_config));
    BERTH_TRY(check_log_config(h.log_config));
    return {};
}

}  // namespace berth::container
