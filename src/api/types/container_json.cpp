#include <sys/stat.h>

#include "berth/api/types/container.hpp"
#include "berth/common/base64.hpp"
#include "berth/common/time.hpp"

namespace berth::api::types {

namespace {

using json = nlohmann::json;

// Go writes a nil slice or map as null; moby leaves these nil when empty.
json list_or_null(const std::vector<std::string>& v) {
    return v.empty() ? json(nullptr) : json(v);
}

json map_or_null(const std::map<std::string, std::string>& m) {
    return m.empty() ? json(nullptr) : json(m);
}

// Objects clients index into without a nil check: written as {} when empty.
json map_or_object(const std::map<std::string, std::string>& m) {
    return m.empty() ? json::object() : json(m);
}

json networks_json(const std::map<std::string, EndpointSettings>& nets) {
    json out = json::object();
    for (const auto& [name, ep] : nets) out[name] = ep;
    return out;
}

json mounts_json(const std::vector<MountPoint>& mounts) {
    json out = json::array();
    for (const auto& m : mounts) out.push_back(m);
    return out;
}

}  // namespace

uint32_t go_file_mode(mode_t st_mode) noexcept {
    uint32_t m = st_mode & 0777;
    switch (st_mode & S_IFMT) {
        case S_IFBLK:
            m |= 1u << 26;
            break;
        case S_IFCHR:
            m |= (1u << 26) | (1u << 21);
            break;
        case S_IFDIR:
            m |= 1u << 31;
            break;
        case S_IFIFO:
            m |= 1u << 25;
            break;
        case S_IFLNK:
            m |= 1u << 27;
            break;
        case S_IFSOCK:
            m |= 1u << 24;
            break;
        default:
            break;
    }
    if (st_mode & S_ISUID) m |= 1u << 23;
    if (st_mode & S_ISGID) m |= 1u << 22;
    if (st_mode & S_ISVTX) m |= 1u << 20;
    return m;
}

mode_t st_mode_from_go(uint32_t g) noexcept {
    mode_t m = g & 0777;
    if (g & (1u << 31))
        m |= S_IFDIR;
    else if (g & (1u << 27))
        m |= S_IFLNK;
    else if (g & (1u << 26))
        m |= (g & (1u << 21)) ? S_IFCHR : S_IFBLK;
    else if (g & (1u << 25))
        m |= S_IFIFO;
    else if (g & (1u << 24))
        m |= S_IFSOCK;
    else
        m |= S_IFREG;
    if (g & (1u << 23)) m |= S_ISUID;
    if (g & (1u << 22)) m |= S_ISGID;
    if (g & (1u << 20)) m |= S_ISVTX;
    return m;
}

std::string go_time_string(int64_t unix_ns) {
    return unix_ns == 0 ? "0001-01-01T00:00:00Z" : format_rfc3339_nano(unix_ns);
}

std::string path_stat_header(const PathStat& s) {
    return base64_encode(json(s).dump());
}

void to_json(json& j, const Port& p) {
    j = json::object();
    if (!p.ip.empty()) j["IP"] = p.ip;
    j["PrivatePort"] = p.private_port;
    if (p.public_port != 0) j["PublicPort"] = p.public_port;
    j["Type"] = p.type;
}

void to_json(json& j, const MountPoint& m) {
    j = json::object();
    if (!m.type.empty()) j["Type"] = m.type;
    if (!m.name.empty()) j["Name"] = m.name;
    j["Source"] = m.source;
    j["Destination"] = m.destination;
    if (!m.driver.empty()) j["Driver"] = m.driver;
    j["Mode"] = m.mode;
    j["RW"] = m.rw;
    j["Propagation"] = m.propagation;
}

void to_json(json& j, const EndpointSettings& e) {
    json ipam = nullptr;
    if (e.ipam_config) {
        ipam = json::object();
        if (!e.ipam_config->ipv4_address.empty()) ipam["IPv4Address"] = e.ipam_config->ipv4_address;
        if (!e.ipam_config->ipv6_address.empty()) ipam["IPv6Address"] = e.ipam_config->ipv6_address;
        if (!e.ipam_config->link_local_ips.empty())
            ipam["LinkLocalIPs"] = e.ipam_config->link_local_ips;
    }
    j = json{{"IPAMConfig", ipam},
             {"Links", list_or_null(e.links)},
             {"Aliases", list_or_null(e.aliases)},
             {"MacAddress", e.mac_address},
             {"DriverOpts", map_or_null(e.driver_opts)},
             {"NetworkID", e.network_id},
             {"EndpointID", e.endpoint_id},
             {"Gateway", e.gateway},
             {"IPAddress", e.ip_address},
             {"IPPrefixLen", e.ip_prefix_len},
             {"IPv6Gateway", e.ipv6_gateway},
             {"GlobalIPv6Address", e.global_ipv6_address},
             {"GlobalIPv6PrefixLen", e.global_ipv6_prefix_len},
             {"DNSNames", list_or_null(e.dns_names)}};
}

void to_json(json& j, const NetworkSettings& n) {
    json ports = json::object();
    for (const auto& [port, bindings] : n.ports) {
        if (bindings.empty()) {
            ports[port] = nullptr;
            continue;
        }
        json list = json::array();
        for (const auto& b : bindings)
            list.push_back({{"HostIp", b.host_ip}, {"HostPort", b.host_port}});
        ports[port] = std::move(list);
    }
    j = json{{"Bridge", n.bridge},
             {"SandboxID", n.sandbox_id},
             {"SandboxKey", n.sandbox_key},
             {"Ports", std::move(ports)},
             {"HairpinMode", n.hairpin_mode},
             {"LinkLocalIPv6Address", n.link_local_ipv6_address},
             {"LinkLocalIPv6PrefixLen", n.link_local_ipv6_prefix_len},
             {"SecondaryIPAddresses", nullptr},
             {"SecondaryIPv6Addresses", nullptr},
             {"EndpointID", n.endpoint_id},
             {"Gateway", n.gateway},
             {"GlobalIPv6Address", n.global_ipv6_address},
             {"GlobalIPv6PrefixLen", n.global_ipv6_prefix_len},
             {"IPAddress", n.ip_address},
             {"IPPrefixLen", n.ip_prefix_len},
             {"IPv6Gateway", n.ipv6_gateway},
             {"MacAddress", n.mac_address},
             {"Networks", networks_json(n.networks)}};
}

void to_json(json& j, const ContainerState& s) {
    j = json{{"Status", s.status},
             {"Running", s.running},
             {"Paused", s.paused},
             {"Restarting", s.restarting},
             {"OOMKilled", s.oom_killed},
             {"Dead", s.dead},
             {"Pid", s.pid},
             {"ExitCode", s.exit_code},
             {"Error", s.error},
             {"StartedAt", go_time_string(s.started_at_ns)},
             {"FinishedAt", go_time_string(s.finished_at_ns)}};
    if (s.health) {
        json log = json::array();
        for (const auto& r : s.health->log)
            log.push_back({{"Start", go_time_string(r.start_ns)},
                           {"End", go_time_string(r.end_ns)},
                           {"ExitCode", r.exit_code},
                           {"Output", r.output}});
        j["Health"] = {{"Status", s.health->status},
                       {"FailingStreak", s.health->failing_streak},
                       {"Log", std::move(log)}};
    }
}

void to_json(json& j, const ContainerInspect& c) {
    j = json{{"Id", c.id},
             {"Created", go_time_string(c.created_ns)},
             {"Path", c.path},
             {"Args", c.args.empty() ? json::array() : json(c.args)},
             {"State", c.state},
             {"Image", c.image},
             {"ResolvConfPath", c.resolv_conf_path},
             {"HostnamePath", c.hostname_path},
             {"HostsPath", c.hosts_path},
             {"LogPath", c.log_path},
             {"Name", c.name},
             {"RestartCount", c.restart_count},
             {"Driver", c.driver},
             {"Platform", c.platform},
             {"MountLabel", c.mount_label},
             {"ProcessLabel", c.process_label},
             {"AppArmorProfile", c.app_armor_profile},
             {"ExecIDs", list_or_null(c.exec_ids)},
             {"HostConfig", c.host_config},
             {"GraphDriver",
              {{"Name", c.graph_driver_name}, {"Data", map_or_object(c.graph_driver_data)}}},
             {"Mounts", mounts_json(c.mounts)},
             {"Config", c.config},
             {"NetworkSettings", c.network_settings}};
    if (c.size_rw) j["SizeRw"] = *c.size_rw;
    if (c.size_root_fs) j["SizeRootFs"] = *c.size_root_fs;
}

void to_json(json& j, const ContainerSummary& c) {
    json ports = json::array();
    for (const auto& p : c.ports) ports.push_back(p);
    json host_config = json::object();
    if (!c.network_mode.empty()) host_config["NetworkMode"] = c.network_mode;
    j = json{{"Id", c.id},
             {"Names", c.names.empty() ? json::array() : json(c.names)},
             {"Image", c.image},
             {"ImageID", c.image_id},
             {"Command", c.command},
             {"Created", c.created},
             {"Ports", std::move(ports)},
             {"Labels", map_or_object(c.labels)},
             {"State", c.state},
             {"Status", c.status},
             {"HostConfig", std::move(host_config)},
             {"NetworkSettings", {{"Networks", networks_json(c.networks)}}},
             {"Mounts", mounts_json(c.mounts)}};
    if (c.size_rw != 0) j["SizeRw"] = c.size_rw;
    if (c.size_root_fs != 0) j["SizeRootFs"] = c.size_root_fs;
}

void to_json(json& j, const WaitResponse& w) {
    j = json{{"StatusCode", w.status_code},
             {"Error", w.error ? json{{"Message", *w.error}} : json(nullptr)}};
}

void to_json(json& j, const ExecInspect& e) {
    json pc = {
        {"tty", e.process_config.tty},
        {"entrypoint", e.process_config.entrypoint},
        {"arguments",
         e.process_config.arguments.empty() ? json::array() : json(e.process_config.arguments)}};
    if (e.process_config.privileged) pc["privileged"] = *e.process_config.privileged;
    if (!e.process_config.user.empty()) pc["user"] = e.process_config.user;
    j = json{{"ID", e.id},
             {"Running", e.running},
             {"ExitCode", e.exit_code ? json(*e.exit_code) : json(nullptr)},
             {"ProcessConfig", std::move(pc)},
             {"OpenStdin", e.open_stdin},
             {"OpenStderr", e.open_stderr},
             {"OpenStdout", e.open_stdout},
             {"CanRemove", e.can_remove},
             {"ContainerID", e.container_id},
             {"DetachKeys",
              e.detach_keys.empty() ? json(nullptr) : json(base64_encode(e.detach_keys))},
             {"Pid", e.pid}};
}

void to_json(json& j, const ContainerTop& t) {
    json procs = json::array();
    for (const auto& p : t.processes) procs.push_back(p);
    j = json{{"Titles", t.titles.empty() ? json::array() : json(t.titles)},
             {"Processes", std::move(procs)}};
}

void to_json(json& j, const ContainerChange& c) {
    j = json{{"Path", c.path}, {"Kind", c.kind}};
}

void to_json(json& j, const ContainersPruneReport& r) {
    j = json{{"ContainersDeleted",
              r.containers_deleted.empty() ? json::array() : json(r.containers_deleted)},
             {"SpaceReclaimed", r.space_reclaimed}};
}

void to_json(json& j, const UpdateResponse& r) {
    j = json{{"Warnings", r.warnings.empty() ? json::array() : json(r.warnings)}};
}

void to_json(json& j, const PathStat& s) {
    j = json{{"name", s.name},
             {"size", s.size},
             {"mode", s.mode},
             {"mtime", go_time_string(s.mtime_ns)},
             {"linkTarget", s.link_target}};
}

}  // namespace berth::api::types
