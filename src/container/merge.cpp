// The user's Config merged with the image's, and the defaults dockerd fills at create
// (moby daemon/commit.go merge, daemon/create.go, daemon/daemon_unix.go adaptContainerSettings,
// container.CreateDaemonEnvironment).

#include "berth/container/merge.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "berth/common/fs.hpp"

namespace berth::container {
namespace {

std::string_view env_key(std::string_view entry) {
    return entry.substr(0, entry.find('='));
}

/// Sorted union of two sorted sets.
std::vector<std::string> set_union(const std::vector<std::string>& a,
                                   const std::vector<std::string>& b) {
    std::vector<std::string> out;
    out.reserve(a.size() + b.size());
    std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}

/// A Go slice copied from the image: nil (nullopt) when the image's is empty.
std::optional<std::vector<std::string>> from_image(const std::vector<std::string>& v) {
    if (v.empty()) return std::nullopt;
    return v;
}

void merge_health(Config& user, const oci::HealthConfig& image) {
    if (!user.healthcheck) {
        user.healthcheck = image;
        return;
    }
    auto& h = *user.healthcheck;
    if (h.test.empty()) h.test = image.test;
    if (h.interval == 0) h.interval = image.interval;
    if (h.timeout == 0) h.timeout = image.timeout;
    if (h.start_period == 0) h.start_period = image.start_period;
    if (h.start_interval == 0) h.start_interval = image.start_interval;
    if (h.retries == 0) h.retries = image.retries;
}

}  // namespace

Config merge_image_config(Config user, const oci::ContainerConfig& image) {
    if (user.user.empty()) user.user = image.user;
    user.exposed_ports =
        set_union(sorted(std::move(user.exposed_ports)), sorted(image.exposed_ports));

    if (user.env.empty()) {
        user.env = image.env;
    } else {
        std::vector<std::string> added;
        for (const auto& ie : image.env) {
            auto key = env_key(ie);
            bool set_by_user =
                std::any_of(user.env.begin(), user.env.end(),
                            [&](const std::string& ue) { return env_key(ue) == key; });
            if (!set_by_user) added.push_back(ie);
        }
        user.env.insert(user.env.end(), added.begin(), added.end());
    }

    for (const auto& [k, v] : image.labels) user.labels.emplace(k, v);  // emplace: user wins

    bool user_entrypoint_empty = !user.entrypoint || user.entrypoint->empty();
    if (user_entrypoint_empty) {
        if (!user.cmd || user.cmd->empty()) user.cmd = from_image(image.cmd);
        if (!user.entrypoint) user.entrypoint = from_image(image.entrypoint);
    }

    if (image.healthcheck) merge_health(user, *image.healthcheck);

    if (user.working_dir.empty()) user.working_dir = image.working_dir;
    if (!user.working_dir.empty()) user.working_dir = clean_path(user.working_dir);

    user.volumes = set_union(sorted(std::move(user.volumes)), sorted(image.volumes));
    if (user.stop_signal.empty()) user.stop_signal = image.stop_signal;

    // `--entrypoint ""`: no entrypoint at all (mergeAndVerifyConfig).
    if (user.entrypoint && user.entrypoint->size() == 1 && (*user.entrypoint)[0].empty())
        user.entrypoint.reset();
    return user;
}

Result<Config> merge_and_verify_config(Config user, const oci::ContainerConfig* image) {
    Config c = image ? merge_image_config(std::move(user), *image) : std::move(user);
    if (!image && c.entrypoint && c.entrypoint->size() == 1 && (*c.entrypoint)[0].empty())
        c.entrypoint.reset();
    bool no_entrypoint = !c.entrypoint || c.entrypoint->empty();
    bool no_cmd = !c.cmd || c.cmd->empty();
    if (no_entrypoint && no_cmd) return make_error(Errc::InvalidArgument, "no command specified");
    return c;
}

Config default_config(Config c, std::string_view container_id, const HostConfig& host,
                      std::string_view host_hostname) {
    if (c.hostname.empty()) {
        if (host.network_mode == "host")
            c.hostname = std::string(host_hostname);
        else
            c.hostname = std::string(container_id.substr(0, 12));
    }
    return c;
}

HostConfig default_host_config(HostConfig h, bool cgroup_v2) {
    if (h.restart_policy.name.empty()) h.restart_policy.name = "no";
    if (h.network_mode.empty()) h.network_mode = "default";
    if (h.log_config.type.empty()) h.log_config.type = std::string(kDefaultLogDriver);
    if (h.ipc_mode.empty()) h.ipc_mode = "private";
    if (h.cgroupns_mode.empty()) {
        // adaptContainerSettings: private only where cgroup v2 makes it the norm.
        h.cgroupns_mode = cgroup_v2 ? "private" : "host";
    }
    if (h.shm_size == 0) h.shm_size = kDefaultShmSize;
    if (h.memory > 0 && h.memory_swap == 0) h.memory_swap = h.memory * 2;
    if (!h.oom_kill_disable) h.oom_kill_disable = false;
    if (h.pids_limit && *h.pids_limit <= 0) h.pids_limit.reset();
    if (h.memory_swappiness && *h.memory_swappiness == -1) h.memory_swappiness.reset();
    return h;
}

std::vector<std::string> process_env(const Config& c, std::string_view hostname) {
    std::vector<std::string> env;
    env.push_back(fmt::format("PATH={}", kDefaultPathEnv));
    env.push_back(fmt::format("HOSTNAME={}", hostname));
    if (c.tty) env.emplace_back("TERM=xterm");

    // ReplaceOrAppendEnvValues: an override replaces the entry with its key or is appended; a
    // bare key removes the entry (marked empty here, dropped at the end).
    std::map<std::string, size_t, std::less<>> index;
    for (size_t i = 0; i < env.size(); ++i) index.emplace(std::string(env_key(env[i])), i);
    for (const auto& e : c.env) {
        auto key = env_key(e);
        auto it = index.find(key);
        if (e.find('=') == std::string::npos) {
            if (it != index.end()) env[it->second].clear();
            continue;
        }
        // Appended entries are not indexed, as in moby: a later "K=2" appends again.
        if (it != index.end())
            env[it->second] = e;
        else
            env.push_back(e);
    }
    env.erase(
        std::remove_if(env.begin(), env.end(), [](const std::string& e) { return e.empty(); }),
        env.end());
    return env;
}

std::pair<std::string, std::vector<std::string>> entrypoint_and_args(const Config& c) {
    std::vector<std::string> cmd = c.cmd.value_or(std::vector<std::string>{});
    if (c.entrypoint && !c.entrypoint->empty()) {
        std::vector<std::string> args(c.entrypoint->begin() + 1, c.entrypoint->end());
        args.insert(args.end(), cmd.begin(), cmd.end());
        return {c.entrypoint->front(), std::move(args)};
    }
    if (cmd.empty()) return {"", {}};
    return {cmd.front(), std::vector<std::string>(cmd.begin() + 1, cmd.end())};
}

}  // namespace berth::container
