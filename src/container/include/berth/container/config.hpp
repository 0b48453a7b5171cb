#pragma once
// A container's configuration as the Engine API carries it (moby api/types/container: Config,
// HostConfig, NetworkingConfig), shared by the API server (create bodies, inspect answers), the
// engine (stored with each container) and the spec builder. One set of types, as in moby, so a
// field the user sent survives create -> store -> inspect without three hand-written copies.
//
// JSON: parse_* accept what docker CLI 28, docker-py 5 and compose 1.29 send (sparse bodies,
// null for "unset", Cmd/Entrypoint as a string or an array, both ConsoleSize forms); errors are
// InvalidArgument naming the field ("HostConfig.Memory: expected a number, got string").
// to_json writes moby's full shape with zero values, which inspect answers need.
//
// Optional fields: std::optional where Docker distinguishes "absent" from a zero value (Cmd and
// Entrypoint: null = the image's, [] or [""] = cleared; OomKillDisable, MemorySwappiness, ...).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "berth/common/result.hpp"
#include "berth/oci/image_spec.hpp"

namespace berth::container {

/// "Config": what the container runs (most fields can also come from the image).
struct Config {
    std::string hostname;
    std::string domainname;
    std::string user;
    bool attach_stdin = false;
    bool attach_stdout = false;
    bool attach_stderr = false;
    std::vector<std::string> exposed_ports;  ///< "80/tcp", sorted, unique ("ExposedPorts" set)
    bool tty = false;
    bool open_stdin = false;
    bool stdin_once = false;
    std::vector<std::string> env;                       ///< "KEY=value" (or "KEY" to unset)
    std::optional<std::vector<std::string>> cmd;        ///< nullopt: the image's
    std::optional<oci::HealthConfig> healthcheck;       ///< nullopt: the image's
    bool args_escaped = false;
    std::string image;                                  ///< as the user wrote it
    std::vector<std::string> volumes;                   ///< sorted, unique ("Volumes" set)
    std::string working_dir;
    std::optional<std::vector<std::string>> entrypoint; ///< nullopt: the image's; {""}: none
    bool network_disabled = false;
    std::string mac_address;                            ///< deprecated at 1.44, kept
    std::vector<std::string> on_build;
    std::map<std::string, std::string> labels;
    std::string stop_signal;                            ///< "" = SIGTERM
    std::optional<int> stop_timeout;                    ///< seconds; nullopt = 10
    std::vector<std::string> shell;
    friend bool operator==(const Config&, const Config&) = default;
};

struct RestartPolicy {
    std::string name;  ///< "", "no", "always", "unless-stopped", "on-failure"
    int maximum_retry_count = 0;
    friend bool operator==(const RestartPolicy&, const RestartPolicy&) = default;
};

/// The log driver a container gets when LogConfig.Type is "" (dockerd's default); Berth has it
/// and "none".
inline constexpr std::string_view kDefaultLogDriver = "json-file";

struct LogConfig {
    std::string type;                           ///< "" = daemon default ("json-file")
    std::map<std::string, std::string> config;  ///< max-size, max-file, compress, labels, env...
    friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

struct PortBinding {
    std::string host_ip;
    std::string host_port;
    friend bool operator==(const PortBinding&, const PortBinding&) = default;
};

struct DeviceMapping {
    std::string path_on_host;
    std::string path_in_container;
    std::string cgroup_permissions;  ///< "rwm"
    friend bool operator==(const DeviceMapping&, const DeviceMapping&) = default;
};

struct Ulimit {
    std::string name;  ///< "nofile"
    int64_t soft = 0;
    int64_t hard = 0;
    friend bool operator==(const Ulimit&, const Ulimit&) = default;
};

struct WeightDevice {
    std::string path;
    uint16_t weight = 0;
    friend bool operator==(const WeightDevice&, const WeightDevice&) = default;
};

struct ThrottleDevice {
    std::string path;
    uint64_t rate = 0;
    friend bool operator==(const ThrottleDevice&, const ThrottleDevice&) = default;
};

/// HostConfig.Mounts[] (`--mount`).
struct Mount {
    std::string type;  ///< "bind", "volume", "tmpfs", "npipe", "cluster"
    std::string source;
    std::string target;
    bool read_only = false;
    std::string consistency;
    struct BindOptions {
        std::string propagation;  ///< "", "private", "rprivate", "shared", "rshared", "slave", "rslave"
        bool non_recursive = false;
        bool create_mountpoint = false;
        bool read_only_non_recursive = false;
        bool read_only_force_recursive = false;
        friend bool operator==(const BindOptions&, const BindOptions&) = default;
    };
    std::optional<BindOptions> bind_options;
    struct VolumeOptions {
        bool no_copy = false;
        std::map<std::string, std::string> labels;
        std::string driver_name;
        std::map<std::string, std::string> driver_options;
        std::string subpath;
        friend bool operator==(const VolumeOptions&, const VolumeOptions&) = default;
    };
    std::optional<VolumeOptions> volume_options;
    struct TmpfsOptions {
        int64_t size_bytes = 0;
        uint32_t mode = 0;  ///< 0 = 01777
        std::vector<std::vector<std::string>> options;  ///< [["noexec"], ["exec"]] (API 1.46)
        friend bool operator==(const TmpfsOptions&, const TmpfsOptions&) = default;
    };
    std::optional<TmpfsOptions> tmpfs_options;
    friend bool operator==(const Mount&, const Mount&) = default;
};

/// "HostConfig": how the host runs it. Resources are flattened in, as in moby's JSON.
struct HostConfig {
    std::vector<std::string> binds;  ///< "/h:/c[:ro,z,rshared...]", "vol:/c"
    std::string container_id_file;
    LogConfig log_config;
    std::string network_mode;  ///< "", "default", "bridge", "none", "host", "container:<id>", name
    std::map<std::string, std::vector<PortBinding>> port_bindings;  ///< "80/tcp" -> bindings
    RestartPolicy restart_policy;
    bool auto_remove = false;
    std::string volume_driver;
    std::vector<std::string> volumes_from;
    std::vector<int> console_size = {0, 0};  ///< [height, width]
    std::map<std::string, std::string> annotations;
    std::vector<std::string> cap_add;
    std::vector<std::string> cap_drop;
    std::string cgroupns_mode;  ///< "", "private", "host"
    std::vector<std::string> dns;
    std::vector<std::string> dns_options;
    std::vector<std::string> dns_search;
    std::vector<std::string> extra_hosts;  ///< "name:ip" (also "name=ip")
    std::vector<std::string> group_add;
    std::string ipc_mode;  ///< "", "private", "shareable", "host", "none", "container:<id>"
    std::string cgroup;
    std::vector<std::string> links;
    std::optional<int> oom_score_adj;
    std::string pid_mode;  ///< "", "host", "container:<id>"
    bool privileged = false;
    bool publish_all_ports = false;
    bool readonly_rootfs = false;
    std::vector<std::string> security_opt;  ///< "no-new-privileges[:true]", "seccomp=...", ...
    std::map<std::string, std::string> storage_opt;
    std::map<std::string, std::string> tmpfs;  ///< "/run" -> "rw,size=64m"
    std::string uts_mode;                      ///< "", "host"
    std::string userns_mode;
    int64_t shm_size = 0;  ///< bytes; 0 = 64 MiB
    std::map<std::string, std::string> sysctls;
    std::string runtime;
    std::string isolation;
    /// nullopt: Docker's defaults; [] (`--security-opt systempaths=unconfined`): none.
    std::optional<std::vector<std::string>> masked_paths;
    std::optional<std::vector<std::string>> readonly_paths;
    std::vector<Mount> mounts;
    std::optional<bool> init;

    // Resources (moby's container.Resources, inlined in the JSON).
    int64_t cpu_shares = 0;
    int64_t memory = 0;
    int64_t nano_cpus = 0;
    std::string cgroup_parent;
    uint16_t blkio_weight = 0;
    std::vector<WeightDevice> blkio_weight_device;
    std::vector<ThrottleDevice> blkio_device_read_bps;
    std::vector<ThrottleDevice> blkio_device_write_bps;
    std::vector<ThrottleDevice> blkio_device_read_iops;
    std::vector<ThrottleDevice> blkio_device_write_iops;
    int64_t cpu_period = 0;
    int64_t cpu_quota = 0;
    int64_t cpu_realtime_period = 0;
    int64_t cpu_realtime_runtime = 0;
    std::string cpuset_cpus;
    std::string cpuset_mems;
    std::vector<DeviceMapping> devices;
    std::vector<std::string> device_cgroup_rules;
    int64_t kernel_memory_tcp = 0;
    int64_t memory_reservation = 0;
    int64_t memory_swap = 0;  ///< 0 = twice Memory (when Memory is set); -1 = unlimited
    std::optional<int64_t> memory_swappiness;  ///< nullopt (-1 on the wire) = unset
    std::optional<bool> oom_kill_disable;
    std::optional<int64_t> pids_limit;  ///< nullopt, 0 or -1 = unlimited
    std::vector<Ulimit> ulimits;
    friend bool operator==(const HostConfig&, const HostConfig&) = default;
};

/// One network's settings in a create body (NetworkingConfig.EndpointsConfig[name]).
struct EndpointSettings {
    std::vector<std::string> aliases;
    std::vector<std::string> links;
    std::string ipv4_address;  ///< IPAMConfig.IPv4Address
    std::string ipv6_address;  ///< IPAMConfig.IPv6Address
    std::vector<std::string> link_local_ips;  ///< IPAMConfig.LinkLocalIPs
    std::string mac_address;
    std::map<std::string, std::string> driver_opts;
    int gw_priority = 0;  ///< GwPriority (API 1.48, sent by CLI 28)
    friend bool operator==(const EndpointSettings&, const EndpointSettings&) = default;
};

struct NetworkingConfig {
    std::map<std::string, EndpointSettings> endpoints_config;
    friend bool operator==(const NetworkingConfig&, const NetworkingConfig&) = default;
};

/// A `POST /containers/create` body: Config with HostConfig and NetworkingConfig inside it.
struct CreateRequest {
    Config config;
    HostConfig host_config;
    NetworkingConfig networking_config;
    friend bool operator==(const CreateRequest&, const CreateRequest&) = default;
};

/// Parses a create body. Unknown members are ignored; null is "absent". InvalidArgument names
/// the field and what was wrong ("HostConfig.PortBindings[\"80/tcp\"][0].HostPort: ...").
[[nodiscard]] Result<CreateRequest> parse_create_request(std::string_view json);

[[nodiscard]] Result<Config> parse_config(const nlohmann::json& j, std::string_view origin);
[[nodiscard]] Result<HostConfig> parse_host_config(const nlohmann::json& j,
                                                   std::string_view origin);

/// The checks moby makes on a create request before it looks at the image (runconfig's decoder,
/// daemon.verifyContainerSettings, the log driver check), with moby's messages, which docker CLI
/// users read after "Error response from daemon: ". InvalidArgument. Checks that need the host
/// (CPU count for NanoCpus) read it here; checks that need other objects (networks, containers,
/// bind sources, capabilities) are the engine's.
[[nodiscard]] Result<void> validate(const CreateRequest& req);

/// moby's JSON shape, every member present (zero values, null for absent optionals, as Go's
/// encoding/json writes them), so inspect answers can embed them as they are.
void to_json(nlohmann::json& j, const Config& c);
void to_json(nlohmann::json& j, const HostConfig& h);
void to_json(nlohmann::json& j, const NetworkingConfig& n);

}  // namespace berth::container
