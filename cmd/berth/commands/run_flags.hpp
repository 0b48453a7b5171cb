#pragma once
// The flags of `berth create` and `berth run` and the create request they make: the body of
// POST /containers/create built field for field as docker CLI 28 builds it (opts.go, parse()),
// zero values included, so berthd sees the same request from both clients.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/common/result.hpp"

namespace berth::cli {

/// Values of the container flags, as typed.
struct ContainerOptions {
    // run-only (not in the create body)
    bool detach = false;
    bool sig_proxy = true;
    std::string detach_keys;
    std::string name;
    std::string pull = "missing";
    bool quiet = false;
    std::string platform;
    std::string cidfile;

    bool interactive = false, tty = false, rm = false, privileged = false, read_only = false;
    bool init = false, publish_all = false, oom_kill_disable = false, no_healthcheck = false;
    std::vector<std::string> attach, env, env_file, volumes, mounts, tmpfs, labels, label_file;
    std::vector<std::string> dns, dns_search, dns_option, add_host, publish, expose;
    std::vector<std::string> cap_add, cap_drop, security_opt, group_add, ulimit, sysctl;
    std::vector<std::string> device, device_cgroup_rule, log_opt;
    std::string workdir, user, entrypoint, hostname, domainname, network = "default";
    std::vector<std::string> network_alias;
    std::string restart = "no", memory, memory_swap, memory_reservation, shm_size, cpus;
    std::string cpuset_cpus, cpuset_mems, stop_signal, log_driver, health_cmd;
    std::string health_interval, health_timeout, health_start_period, health_start_interval;
    std::string ipc, pid, uts, cgroupns, userns, cgroup_parent, mac_address;
    int64_t memory_swappiness = -1, pids_limit = 0, cpu_shares = 0, cpu_period = 0, cpu_quota = 0;
    int64_t oom_score_adj = 0, stop_timeout = 0, health_retries = 0;
    bool entrypoint_set = false, stop_timeout_set = false, pids_limit_set = false;
};

/// Adds the flags of `docker create` (and with `run` also run's own: -d, --sig-proxy,
/// --detach-keys) to `c`. Replaces the help flag by --help alone (-h is --hostname).
void add_container_flags(CLI::App* c, ContainerOptions& o, bool run);

/// What POST /containers/create needs.
struct CreateRequest {
    nlohmann::ordered_json body;
    std::string name;      ///< query `name`, "" for none
    std::string platform;  ///< query `platform`, "" for none
};

/// Builds the create request from the flags, the image and the command arguments.
/// `console_rows`/`console_cols`: the terminal size for HostConfig.ConsoleSize (0 when not a
/// terminal). InvalidArgument with docker's wording for malformed values.
[[nodiscard]] Result<CreateRequest> build_create_request(const ContainerOptions& o,
                                                         const std::string& image,
                                                         const std::vector<std::string>& args,
                                                         unsigned console_rows = 0,
                                                         unsigned console_cols = 0);

/// go-units RAMInBytes: "64m" → 67108864 (binary multipliers, b/k/m/g/t/p, optional "b"/"ib").
/// InvalidArgument "invalid size: '<s>'" otherwise.
[[nodiscard]] Result<int64_t> ram_in_bytes(std::string_view s);

/// Reads a docker env or label file: one KEY=VALUE a line, '#' comments and blank lines skipped;
/// with `lookup_env`, a bare KEY takes its value from our environment.
[[nodiscard]] Result<std::vector<std::string>> read_kv_file(const std::string& path,
                                                            bool lookup_env);

}  // namespace berth::cli
