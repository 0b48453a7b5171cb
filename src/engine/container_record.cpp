// config.v2.json: a container's record. Config and HostConfig keep moby's JSON (container
// module), the rest is ours; an unknown member is ignored so a newer record still loads.

#include <nlohmann/json.hpp>

#include "containers_impl.hpp"

namespace berth::engine {

std::string_view to_string(RunState s) noexcept {
    switch (s) {
        case RunState::Created: return "created";
        case RunState::Running: return "running";
        case RunState::Paused: return "paused";
        case RunState::Restarting: return "restarting";
        case RunState::Removing: return "removing";
        case RunState::Exited: return "exited";
        case RunState::Dead: return "dead";
    }
    return "dead";
}

namespace {

nlohmann::json health_to_json(const std::optional<HealthState>& h) {
    if (!h) return nullptr;
    nlohmann::json log = nlohmann::json::array();
    for (const auto& r : h->log)
        log.push_back({{"Start", r.start}, {"End", r.end}, {"ExitCode", r.exit_code}, {"Output", r.output}});
    return {{"Status", h->status}, {"FailingStreak", h->failing_streak}, {"Log", log}};
}

std::optional<HealthState> health_from_json(const nlohmann::json& j) {
    if (!j.is_object()) return std::nullopt;
    HealthState h;
    h.status = j.value("Status", "starting");
    h.failing_streak = j.value("FailingStreak", 0);
    for (const auto& r : j.value("Log", nlohmann::json::array()))
        h.log.push_back({r.value("Start", int64_t{0}), r.value("End", int64_t{0}),
                         r.value("ExitCode", 0), r.value("Output", "")});
    return h;
}

RunState parse_run_state(std::string_view s) {
    for (auto st : {RunState::Created, RunState::Running, RunState::Paused, RunState::Restarting,
                    RunState::Removing, RunState::Exited, RunState::Dead})
        if (to_string(st) == s) return st;
    return RunState::Dead;
}

// All of the record but its settings (container_settings_json).
nlohmann::json record_without_settings(const Container& c) {
    const auto& s = c.state;
    return {{"Id", c.id},
            {"Name", c.name},
            {"Created", c.created},
            {"Image", c.image_id},
            {"Path", c.path},
            {"Args", c.args},
            {"State",
             {{"Status", to_string(s.status)},
              {"Pid", s.pid},
              {"ExitCode", s.exit_code},
              {"Error", s.error},
              {"OOMKilled", s.oom_killed},
              {"StartedAt", s.started_at},
              {"FinishedAt", s.finished_at},
              {"HasBeenStarted", s.has_been_started},
              {"ManuallyStopped", s.manually_stopped},
              {"Health", health_to_json(s.health)}}},
            {"RestartCount", c.restart_count},
            {"LogPath", c.log_path},
            {"HostnamePath", c.hostname_path},
            {"HostsPath", c.hosts_path},
            {"ResolvConfPath", c.resolv_conf_path},
            {"SandboxKey", c.sandbox_key},
            {"Platform", c.platform}};
}

}  // namespace

std::string container_settings_json(const Container& c) {
    nlohmann::json config, host, net;
    container::to_json(config, c.config);
    container::to_json(host, c.host_config);
    container::to_json(net, c.networking);
    return "\"Config\":" + config.dump() + ",\"HostConfig\":" + host.dump() +
           ",\"NetworkingConfig\":" + net.dump();
}

std::string container_record_text(const Container& c, std::string_view settings) {
    // An object's text ends with its closing brace: the settings go in before it.
    std::string text = record_without_settings(c).dump();
    text.pop_back();
    text += ',';
    text += settings;
    text += '}';
    return text;
}

Result<Container> container_from_json(std::string_view text, std::string_view origin) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) return make_error(Errc::InvalidArgument, "{}: not a JSON object", origin);
    try {
        Container c;
        c.id = j.at("Id").get<std::string>();
        c.name = j.at("Name").get<std::string>();
        c.created = j.value("Created", int64_t{0});
        c.image_id = j.value("Image", "");
        c.path = j.value("Path", "");
        c.args = j.value("Args", std::vector<std::string>{});
        c.config = BERTH_TRY(container::parse_config(j.value("Config", nlohmann::json::object()),
                                                     "Config"));
        c.host_config = BERTH_TRY(container::parse_host_config(
            j.value("HostConfig", nlohmann::json::object()), "HostConfig"));
        if (j.contains("NetworkingConfig")) {
            auto req = BERTH_TRY(container::parse_create_request(
                nlohmann::json{{"NetworkingConfig", j["NetworkingConfig"]}}.dump()));
            c.networking = std::move(req.networking_config);
        }
        const auto& s = j.value("State", nlohmann::json::object());
        c.state.status = parse_run_state(s.value("Status", "created"));
        c.state.pid = s.value("Pid", 0);
        c.state.exit_code = s.value("ExitCode", 0);
        c.state.error = s.value("Error", "");
        c.state.oom_killed = s.value("OOMKilled", false);
        c.state.started_at = s.value("StartedAt", int64_t{0});
        c.state.finished_at = s.value("FinishedAt", int64_t{0});
        c.state.has_been_started = s.value("HasBeenStarted", false);
        c.state.manually_stopped = s.value("ManuallyStopped", false);
        if (s.contains("Health")) c.state.health = health_from_json(s["Health"]);
        c.restart_count = j.value("RestartCount", 0);
        c.log_path = j.value("LogPath", "");
        c.hostname_path = j.value("HostnamePath", "");
        c.hosts_path = j.value("HostsPath", "");
        c.resolv_conf_path = j.value("ResolvConfPath", "");
        c.sandbox_key = j.value("SandboxKey", "");
        c.platform = j.value("Platform", "linux");
        return c;
    } catch (const nlohmann::json::exception& e) {
        return make_error(Errc::InvalidArgument, "{}: {}", origin, e.what());
    }
}

}  // namespace berth::engine
