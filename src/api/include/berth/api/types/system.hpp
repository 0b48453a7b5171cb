#pragma once
// System answers of the Engine API (moby types.Version, system.Info, types.DiskUsage) and the
// Berth extension POST /berth/system/check.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/api/types/image.hpp"

namespace berth::api::types {

/// GET /version. The route fills api_version/min_api_version from the server when empty.
struct Version {
    std::string version;  ///< the engine version, "0.1.0"
    std::string api_version;
    std::string min_api_version;
    std::string git_commit;
    std::string go_version;  ///< the language runtime; Berth writes e.g. "gcc 12.2"
    std::string os = "linux";
    std::string arch = "amd64";  ///< Go's names: amd64, arm64
    std::string kernel_version;
    std::string build_time;  ///< omitted when empty
    std::string platform_name = "Berth Engine";
};

/// GET /info. Fields not listed are written with moby's zero values.
struct Info {
    std::string id;
    std::string name;  ///< host name
    std::string server_version;
    int64_t containers = 0;
    int64_t containers_running = 0;
    int64_t containers_paused = 0;
    int64_t containers_stopped = 0;
    int64_t images = 0;
    std::string driver = "overlay2";
    std::vector<std::pair<std::string, std::string>> driver_status;
    std::vector<std::string> volume_plugins = {"local"};
    std::vector<std::string> network_plugins = {"bridge", "host", "null"};
    std::vector<std::string> log_plugins = {"json-file"};
    bool memory_limit = true;
    bool swap_limit = true;
    bool cpu_cfs_period = true;
    bool cpu_cfs_quota = true;
    bool cpu_shares = true;
    bool cpu_set = true;
    bool pids_limit = true;
    bool ipv4_forwarding = true;
    bool debug = false;
    int64_t nfd = 0;
    int64_t ngoroutines = 0;  ///< threads, for Berth
    std::string system_time;  ///< RFC3339Nano
    std::string logging_driver = "json-file";
    std::string cgroup_driver = "cgroupfs";
    std::string cgroup_version = "1";
    int64_t nevents_listener = 0;
    std::string kernel_version;
    std::string operating_system;
    std::string os_version;
    std::string os_type = "linux";
    std::string architecture;  ///< uname -m: "x86_64"
    int64_t ncpu = 0;
    int64_t mem_total = 0;
    std::string docker_root_dir;
    std::string http_proxy;
    std::string https_proxy;
    std::string no_proxy;
    std::vector<std::string> labels;
    std::map<std::string, std::string> runtimes;  ///< name -> path ("runc" -> "berth-runtime")
    std::string default_runtime = "runc";
    bool live_restore_enabled = false;
    std::string init_binary;
    std::vector<std::string> security_options;  ///< "name=seccomp,profile=builtin"
    std::vector<std::string> warnings;
};

/// Which parts of /system/df are wanted (the `type` query parameter, API >= 1.42).
struct DiskUsageOptions {
    bool containers = true;
    bool images = true;
    bool volumes = true;
    bool build_cache = true;
};

/// GET /system/df. Containers and Volumes are JSON objects (their types come with the
/// container and volume routes). Parts not asked for are written as null, as moby does.
struct DiskUsage {
    int64_t layers_size = 0;
    std::vector<ImageSummary> images;
    std::vector<nlohmann::json> containers;
    std::vector<nlohmann::json> volumes;
    DiskUsageOptions parts;
};

/// POST /berth/system/check: store consistency problems found and repairs made.
struct SystemCheckReport {
    std::vector<std::string> problems;
    std::vector<std::string> repairs;
};

void to_json(nlohmann::json& j, const Version& v);
void to_json(nlohmann::json& j, const Info& i);
void to_json(nlohmann::json& j, const DiskUsage& d);
void to_json(nlohmann::json& j, const SystemCheckReport& r);

}  // namespace berth::api::types
