#pragma once
// Container and exec answers of the Engine API, mirroring moby's api/types/container
// (Summary, InspectResponse, State, MountPoint, NetworkSettings, WaitResponse, ExecInspect,
// TopResponse, FilesystemChange, PruneReport, UpdateResponse, PathStat) at API 1.44. The JSON
// encoders (to_json, found by nlohmann through ADL) write moby's member names, and Go's zero
// values where moby writes them; the objects clients dereference (State, Config, HostConfig,
// NetworkSettings, NetworkSettings.Networks, Ports) are never null (docker-api.md §2.2).
//
// Times are int64 unix nanoseconds here; 0 is Go's zero time and is written
// "0001-01-01T00:00:00Z", as Go prints it.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/container/config.hpp"

namespace berth::api::types {

/// One entry of a summary's Ports: a published (or only exposed) port.
struct Port {
    std::string ip;  ///< "0.0.0.0", "::"; omitted when empty (exposed only)
    uint16_t private_port = 0;
    uint16_t public_port = 0;  ///< omitted when 0
    std::string type = "tcp";  ///< "tcp", "udp", "sctp"
};

/// A mount as inspect and list show it (moby container.MountPoint).
struct MountPoint {
    std::string type;  ///< "bind", "volume", "tmpfs"; omitted when empty
    std::string name;  ///< volume name; omitted when empty
    std::string source;
    std::string destination;
    std::string driver;  ///< volume driver ("local"); omitted when empty
    std::string mode;    ///< "", "z", "ro", ...
    bool rw = true;
    std::string propagation;  ///< "", "rprivate", ...
};

/// IPAMConfig of an endpoint (static addresses the user asked for).
struct EndpointIpamConfig {
    std::string ipv4_address;
    std::string ipv6_address;
    std::vector<std::string> link_local_ips;
};

/// One network of a container (moby network.EndpointSettings).
struct EndpointSettings {
    std::optional<EndpointIpamConfig> ipam_config;  ///< null when none was asked for
    std::vector<std::string> links;                 ///< null when empty (as Go writes it)
    std::vector<std::string> aliases;               ///< null when empty; compose wants the short ID
    std::string mac_address;
    std::map<std::string, std::string> driver_opts;  ///< null when empty
    std::string network_id;
    std::string endpoint_id;
    std::string gateway;
    std::string ip_address;
    int ip_prefix_len = 0;
    std::string ipv6_gateway;
    std::string global_ipv6_address;
    int global_ipv6_prefix_len = 0;
    std::vector<std::string> dns_names;  ///< null when empty
};

/// Inspect's NetworkSettings (never null: `docker port` crashes on null).
struct NetworkSettings {
    std::string bridge;
    std::string sandbox_id;
    std::string sandbox_key;
    /// "80/tcp" -> host bindings; an exposed port that is not published maps to an empty list,
    /// written as null (moby's nat.PortMap). The object itself is always written ({}).
    std::map<std::string, std::vector<container::PortBinding>> ports;
    bool hairpin_mode = false;
    std::string link_local_ipv6_address;
    int link_local_ipv6_prefix_len = 0;
    // The container's default-network address (moby DefaultNetworkSettings).
    std::string endpoint_id;
    std::string gateway;
    std::string global_ipv6_address;
    int global_ipv6_prefix_len = 0;
    std::string ip_address;
    int ip_prefix_len = 0;
    std::string ipv6_gateway;
    std::string mac_address;
    std::map<std::string, EndpointSettings> networks;  ///< always an object (compose)
};

/// One health check run.
struct HealthcheckResult {
    int64_t start_ns = 0;
    int64_t end_ns = 0;
    int exit_code = 0;
    std::string output;
};

/// State.Health (present only for containers with a health check).
struct Health {
    std::string status;  ///< "starting", "healthy", "unhealthy", "none"
    int failing_streak = 0;
    std::vector<HealthcheckResult> log;
};

/// Inspect's State.
struct ContainerState {
    std::string status =
        "created";  ///< created, running, paused, restarting, removing, exited, dead
    bool running = false;
    bool paused = false;
    bool restarting = false;
    bool oom_killed = false;
    bool dead = false;
    int pid = 0;
    int exit_code = 0;
    std::string error;
    int64_t started_at_ns = 0;   ///< 0: never started
    int64_t finished_at_ns = 0;  ///< 0: never exited
    std::optional<Health> health;
};

/// GET /containers/{id}/json.
struct ContainerInspect {
    std::string id;  ///< 64 hex
    int64_t created_ns = 0;
    std::string path;               ///< the process's argv[0] (entrypoint or cmd)
    std::vector<std::string> args;  ///< the rest of argv
    ContainerState state;
    std::string image;  ///< "sha256:<64 hex>", the image's inspect Id
    std::string resolv_conf_path;
    std::string hostname_path;
    std::string hosts_path;
    std::string log_path;
    std::string name;  ///< "/web"
    int restart_count = 0;
    std::string driver = "overlay2";
    std::string platform = "linux";
    std::string mount_label;
    std::string process_label;
    std::string app_armor_profile;
    std::vector<std::string> exec_ids;  ///< written as null when empty, as moby does
    container::HostConfig host_config;
    std::string graph_driver_name = "overlay2";
    std::map<std::string, std::string> graph_driver_data;  ///< LowerDir, UpperDir, ...
    std::optional<int64_t> size_rw;                        ///< only with ?size=1
    std::optional<int64_t> size_root_fs;                   ///< only with ?size=1
    std::vector<MountPoint> mounts;
    container::Config config;
    NetworkSettings network_settings;
};

/// One entry of GET /containers/json.
struct ContainerSummary {
    std::string id;
    std::vector<std::string> names;  ///< "/web" (and link names "/other/alias")
    std::string image;               ///< as the user wrote it (or the ID if the tag moved)
    std::string image_id;            ///< "sha256:..."
    std::string command;             ///< argv joined with spaces
    int64_t created = 0;             ///< unix seconds
    std::vector<Port> ports;
    int64_t size_rw = 0;       ///< omitted when 0 (moby's omitempty)
    int64_t size_root_fs = 0;  ///< omitted when 0
    std::map<std::string, std::string> labels;
    std::string state;         ///< "running", "exited", ...
    std::string status;        ///< "Up 2 minutes", "Exited (0) 3 seconds ago", "Created"
    std::string network_mode;  ///< HostConfig.NetworkMode; omitted when empty
    std::map<std::string, EndpointSettings> networks;
    std::vector<MountPoint> mounts;
};

/// POST /containers/{id}/wait: {"StatusCode":N,"Error":null} or Error {"Message":...}.
struct WaitResponse {
    int64_t status_code = 0;
    std::optional<std::string> error;
};

/// GET /exec/{id}/json's ProcessConfig.
struct ExecProcessConfig {
    bool tty = false;
    std::string entrypoint;
    std::vector<std::string> arguments;
    std::optional<bool> privileged;  ///< omitted when unset
    std::string user;                ///< omitted when empty
};

/// GET /exec/{id}/json.
struct ExecInspect {
    std::string id;
    bool running = false;
    std::optional<int> exit_code;  ///< null until the process has exited
    ExecProcessConfig process_config;
    bool open_stdin = false;
    bool open_stderr = false;
    bool open_stdout = false;
    bool can_remove = false;
    std::string container_id;
    std::string detach_keys;  ///< the raw key bytes; Go writes []byte as base64 (null if empty)
    int pid = 0;
};

/// GET /containers/{id}/top.
struct ContainerTop {
    std::vector<std::string> titles;
    std::vector<std::vector<std::string>> processes;
};

/// One entry of GET /containers/{id}/changes. Kind: 0 modified, 1 added, 2 deleted.
struct ContainerChange {
    std::string path;
    int kind = 0;
};

/// POST /containers/prune.
struct ContainersPruneReport {
    std::vector<std::string> containers_deleted;
    uint64_t space_reclaimed = 0;
};

/// POST /containers/{id}/update.
struct UpdateResponse {
    std::vector<std::string> warnings;
};

/// HEAD/GET /containers/{id}/archive: what X-Docker-Container-Path-Stat carries.
struct PathStat {
    std::string name;  ///< the base name
    int64_t size = 0;
    uint32_t mode = 0;  ///< a Go os.FileMode (go_file_mode()), not st_mode
    int64_t mtime_ns = 0;
    std::string link_target;  ///< for symlinks, the resolved target path
};

/// Go's os.FileMode for a stat(2) st_mode: the permission bits plus ModeDir (1<<31),
/// ModeSymlink (1<<27), ModeDevice (1<<26), ModeNamedPipe (1<<25), ModeSocket (1<<24),
/// ModeSetuid (1<<23), ModeSetgid (1<<22), ModeCharDevice (1<<21), ModeSticky (1<<20), as
/// Go's os.Stat fills them.
[[nodiscard]] uint32_t go_file_mode(mode_t st_mode) noexcept;

/// The inverse of go_file_mode (what `docker cp` clients do with the header's mode).
[[nodiscard]] mode_t st_mode_from_go(uint32_t go_mode) noexcept;

/// A time as Go's encoding/json writes time.Time: RFC3339Nano in UTC, and
/// "0001-01-01T00:00:00Z" for 0 (Go's zero time).
[[nodiscard]] std::string go_time_string(int64_t unix_ns);

/// The X-Docker-Container-Path-Stat header value: standard base64 of the stat's JSON.
[[nodiscard]] std::string path_stat_header(const PathStat& s);

void to_json(nlohmann::json& j, const Port& p);
void to_json(nlohmann::json& j, const MountPoint& m);
void to_json(nlohmann::json& j, const EndpointSettings& e);
void to_json(nlohmann::json& j, const NetworkSettings& n);
void to_json(nlohmann::json& j, const ContainerState& s);
void to_json(nlohmann::json& j, const ContainerInspect& c);
void to_json(nlohmann::json& j, const ContainerSummary& c);
void to_json(nlohmann::json& j, const WaitResponse& w);
void to_json(nlohmann::json& j, const ExecInspect& e);
void to_json(nlohmann::json& j, const ContainerTop& t);
void to_json(nlohmann::json& j, const ContainerChange& c);
void to_json(nlohmann::json& j, const ContainersPruneReport& r);
void to_json(nlohmann::json& j, const UpdateResponse& r);
void to_json(nlohmann::json& j, const PathStat& s);

}  // namespace berth::api::types
