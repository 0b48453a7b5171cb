#include "berth/api/types/system.hpp"

namespace berth::api::types {

namespace {
nlohmann::json strings(const std::vector<std::string>& v) {
    return v.empty() ? nlohmann::json::array() : nlohmann::json(v);
}
}  // namespace

void to_json(nlohmann::json& j, const Version& v) {
    nlohmann::json details{{"ApiVersion", v.api_version},
                           {"Arch", v.arch},
                           {"BuildTime", v.build_time},
                           {"Experimental", "false"},
                           {"GitCommit", v.git_commit},
                           {"GoVersion", v.go_version},
                           {"KernelVersion", v.kernel_version},
                           {"MinAPIVersion", v.min_api_version},
                           {"Os", v.os}};
    j = nlohmann::json{
        {"Platform", {{"Name", v.platform_name}}},
        {"Components", nlohmann::json::array(
                           {{{"Name", "Engine"}, {"Version", v.version}, {"Details", details}}})},
        {"Version", v.version},
        {"ApiVersion", v.api_version},
        {"MinAPIVersion", v.min_api_version},
        {"GitCommit", v.git_commit},
        {"GoVersion", v.go_version},
        {"Os", v.os},
        {"Arch", v.arch},
    };
    if (!v.kernel_version.empty()) j["KernelVersion"] = v.kernel_version;
    if (!v.build_time.empty()) j["BuildTime"] = v.build_time;
}

void to_json(nlohmann::json& j, const Info& i) {
    nlohmann::json driver_status = nlohmann::json::array();
    for (const auto& [k, v] : i.driver_status) driver_status.push_back({k, v});
    nlohmann::json runtimes = nlohmann::json::object();
    for (const auto& [name, path] : i.runtimes) runtimes[name] = {{"path", path}};
    j = nlohmann::json{
        {"ID", i.id},
        {"Containers", i.containers},
        {"ContainersRunning", i.containers_running},
        {"ContainersPaused", i.containers_paused},
        {"ContainersStopped", i.containers_stopped},
        {"Images", i.images},
        {"Driver", i.driver},
        {"DriverStatus", driver_status},
        {"Plugins",
         {{"Volume", strings(i.volume_plugins)},
          {"Network", strings(i.network_plugins)},
          {"Authorization", nullptr},
          {"Log", strings(i.log_plugins)}}},
        {"MemoryLimit", i.memory_limit},
        {"SwapLimit", i.swap_limit},
        {"CpuCfsPeriod", i.cpu_cfs_period},
        {"CpuCfsQuota", i.cpu_cfs_quota},
        {"CPUShares", i.cpu_shares},
        {"CPUSet", i.cpu_set},
        {"PidsLimit", i.pids_limit},
        {"IPv4Forwarding", i.ipv4_forwarding},
        {"BridgeNfIptables", false},
        {"BridgeNfIp6tables", false},
        {"Debug", i.debug},
        {"NFd", i.nfd},
        {"OomKillDisable", false},
        {"NGoroutines", i.ngoroutines},
        {"SystemTime", i.system_time},
        {"LoggingDriver", i.logging_driver},
        {"CgroupDriver", i.cgroup_driver},
        {"CgroupVersion", i.cgroup_version},
        {"NEventsListener", i.nevents_listener},
        {"KernelVersion", i.kernel_version},
        {"OperatingSystem", i.operating_system},
        {"OSVersion", i.os_version},
        {"OSType", i.os_type},
        {"Architecture", i.architecture},
        {"IndexServerAddress", "https://index.docker.io/v1/"},
        {"RegistryConfig",
         {{"AllowNondistributableArtifactsCIDRs", nullptr},
          {"AllowNondistributableArtifactsHostnames", nullptr},
          {"InsecureRegistryCIDRs", nlohmann::json::array({"127.0.0.0/8", "::1/128"})},
          {"IndexConfigs",
           {{"docker.io",
             {{"Name", "docker.io"},
              {"Mirrors", nlohmann::json::array()},
              {"Secure", true},
              {"Official", true}}}}},
          {"Mirrors", nlohmann::json::array()}}},
        {"NCPU", i.ncpu},
        {"MemTotal", i.mem_total},
        {"GenericResources", nullptr},
        {"DockerRootDir", i.docker_root_dir},
        {"HttpProxy", i.http_proxy},
        {"HttpsProxy", i.https_proxy},
        {"NoProxy", i.no_proxy},
        {"Name", i.name},
        {"Labels", strings(i.labels)},
        {"ExperimentalBuild", false},
        {"ServerVersion", i.server_version},
        {"Runtimes", runtimes},
        {"DefaultRuntime", i.default_runtime},
        {"Swarm",
         {{"NodeID", ""},
          {"NodeAddr", ""},
          {"LocalNodeState", "inactive"},
          {"ControlAvailable", false},
          {"Error", ""},
          {"RemoteManagers", nullptr}}},
        {"LiveRestoreEnabled", i.live_restore_enabled},
        {"Isolation", ""},
        {"InitBinary", i.init_binary},
        {"ContainerdCommit", {{"ID", ""}}},
        {"RuncCommit", {{"ID", ""}}},
        {"InitCommit", {{"ID", ""}}},
        {"SecurityOptions", strings(i.security_options)},
        {"Warnings", strings(i.warnings)},
    };
}

void to_json(nlohmann::json& j, const DiskUsage& d) {
    auto list = [](bool wanted, const auto& v) -> nlohmann::json {
        if (!wanted) return nullptr;
        nlohmann::json a = nlohmann::json::array();
        for (const auto& x : v) a.push_back(x);
        return a;
    };
    j = nlohmann::json{
        {"LayersSize", d.layers_size},
        {"Images", list(d.parts.images, d.images)},
        {"Containers", list(d.parts.containers, d.containers)},
        {"Volumes", list(d.parts.volumes, d.volumes)},
        {"BuildCache", d.parts.build_cache ? nlohmann::json::array() : nlohmann::json(nullptr)},
    };
}

void to_json(nlohmann::json& j, const SystemCheckReport& r) {
    j = nlohmann::json{{"Problems", strings(r.problems)}, {"Repairs", strings(r.repairs)}};
}

}  // namespace berth::api::types
