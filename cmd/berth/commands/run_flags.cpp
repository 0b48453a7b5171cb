// create/run flags → the create body, as docker/cli's cli/command/container/opts.go parse().

#include "run_flags.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>

#include "berth/common/strings.hpp"
#include "berth/common/time.hpp"

namespace berth::cli {

using ojson = nlohmann::ordered_json;

namespace {

Unexpected bad_flag(std::string_view value, std::string_view flag, std::string_view why) {
    return make_error(Errc::InvalidArgument, "invalid argument \"{}\" for \"{}\" flag: {}", value,
                      flag, why);
}

// "k=v" list → object (a bare "k" maps to "").
ojson kv_map(const std::vector<std::string>& items) {
    std::map<std::string, std::string> m;
    for (const auto& it : items) {
        auto eq = it.find('=');
        if (eq == std::string::npos)
            m[it] = "";
        else
            m[it.substr(0, eq)] = it.substr(eq + 1);
    }
    ojson out = ojson::object();
    for (auto& [k, v] : m) out[k] = v;
    return out;
}

// Go marshals maps with their keys sorted.
ojson sorted(const ojson& m) {
    if (!m.is_object()) return m;
    std::map<std::string, ojson> keys;
    for (auto& [k, v] : m.items()) keys.emplace(k, v);
    ojson out = ojson::object();
    for (auto& [k, v] : keys) out[k] = v;
    return out;
}

ojson string_array_or_null(const std::vector<std::string>& v) {
    if (v.empty()) return nullptr;
    return ojson(v);
}

std::string env_value(const std::string& item) {
    auto eq = item.find('=');
    if (eq != std::string::npos) return item;
    if (const char* v = std::getenv(item.c_str())) return item + "=" + v;
    return item;
}

Result<int64_t> mem_flag(const std::string& value, std::string_view flag) {
    auto r = ram_in_bytes(value);
    if (!r) return bad_flag(value, flag, r.error().msg);
    return *r;
}

// "8080-8081" → {8080, 8081}; "" → {0, 0}.
Result<std::pair<int, int>> port_range(std::string_view s, std::string_view whole) {
    if (s.empty()) return std::pair<int, int>{0, 0};
    auto dash = s.find('-');
    auto a = parse_uint(s.substr(0, dash));
    auto b = dash == std::string_view::npos ? a : parse_uint(s.substr(dash + 1));
    if (!a || !b || *a > 65535 || *b > 65535 || *b < *a)
        return make_error(Errc::InvalidArgument, "invalid containerPort: {}", whole);
    return std::pair<int, int>{static_cast<int>(*a), static_cast<int>(*b)};
}

// One -p value: [ip:][hostPort:]containerPort[/proto].
Result<void> add_publish(const std::string& spec, ojson& exposed, ojson& bindings) {
    std::string rest = spec, proto = "tcp";
    if (auto slash = rest.rfind('/'); slash != std::string::npos) {
        proto = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    std::string ip, host, container;
    if (!rest.empty() && rest[0] == '[') {  // [::1]:8080:80
        auto close = rest.find(']');
        if (close == std::string::npos)
            return make_error(Errc::InvalidArgument, "invalid IP address: {}", spec);
        ip = rest.substr(1, close - 1);
        rest = rest.substr(std::min(rest.size(), close + 2));
        auto colon = rest.find(':');
        host = colon == std::string::npos ? "" : rest.substr(0, colon);
        container = colon == std::string::npos ? rest : rest.substr(colon + 1);
    } else {
        auto parts = split(rest, ':');
        if (parts.size() == 1)
            container = parts[0];
        else if (parts.size() == 2)
            host = parts[0], container = parts[1];
        else if (parts.size() == 3)
            ip = parts[0], host = parts[1], container = parts[2];
        else
            return make_error(Errc::InvalidArgument,
                              "invalid publish opts format (should be name=value but got '{}')",
                              spec);
    }
    if (container.empty())
        return make_error(Errc::InvalidArgument, "no port specified: {}<empty>", spec);
    auto cr = BERTH_TRY(port_range(container, container));
    auto hr = BERTH_TRY(port_range(host, host));
    if (!host.empty() && hr.second - hr.first != cr.second - cr.first && hr.first != hr.second)
        return make_error(Errc::InvalidArgument,
                          "invalid ranges specified for container and host Ports: {} and {}",
                          container, host);
    for (int p = cr.first; p <= cr.second; ++p) {
        std::string key = std::to_string(p) + "/" + proto;
        exposed[key] = ojson::object();
        std::string hp;
        if (!host.empty()) {
            if (hr.first == hr.second && cr.first != cr.second)
                hp = host;  // a host range for one
            else
                hp = std::to_string(hr.first + (p - cr.first));
        }
        if (!bindings.contains(key)) bindings[key] = ojson::array();
        bindings[key].push_back(ojson{{"HostIp", ip}, {"HostPort", hp}});
    }
    return {};
}

Result<ojson> parse_mount(const std::string& spec) {
    ojson m;
    std::string type = "volume", source, target;
    bool ro = false;
    ojson bind_opts, vol_opts, tmpfs_opts;
    for (const auto& field : split(spec, ',')) {
        auto eq = field.find('=');
        std::string key = std::string(trim(field.substr(0, eq)));
        std::string val = eq == std::string::npos ? "" : field.substr(eq + 1);
        std::string lkey = key;
        for (auto& ch : lkey) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (lkey == "type")
            type = val;
        else if (lkey == "source" || lkey == "src")
            source = val;
        else if (lkey == "target" || lkey == "destination" || lkey == "dst")
            target = val;
        else if (lkey == "readonly" || lkey == "ro")
            ro = eq == std::string::npos || val == "true" || val == "1";
        else if (lkey == "bind-propagation")
            bind_opts["Propagation"] = val;
        else if (lkey == "volume-nocopy")
            vol_opts["NoCopy"] = eq == std::string::npos || val == "true" || val == "1";
        else if (lkey == "volume-driver")
            vol_opts["DriverConfig"]["Name"] = val;
        else if (lkey == "tmpfs-size")
            tmpfs_opts["SizeBytes"] = BERTH_TRY(ram_in_bytes(val));
        else if (lkey == "tmpfs-mode") {
            char* end = nullptr;
            long mode = std::strtol(val.c_str(), &end, 8);
            if (val.empty() || *end)
                return make_error(Errc::InvalidArgument, "invalid value for {}: {}", key, val);
            tmpfs_opts["Mode"] = mode;
        } else if (lkey == "volume-label" || lkey == "consistency" || lkey == "volume-opt") {
            // accepted, not used by Berth
        } else {
            return make_error(Errc::InvalidArgument, "unexpected key '{}' in '{}'", key, field);
        }
    }
    m["Type"] = type;
    if (!source.empty()) m["Source"] = source;
    m["Target"] = target;
    if (ro) m["ReadOnly"] = true;
    if (!bind_opts.is_null()) m["BindOptions"] = bind_opts;
    if (!vol_opts.is_null()) m["VolumeOptions"] = vol_opts;
    if (!tmpfs_opts.is_null()) m["TmpfsOptions"] = tmpfs_opts;
    return m;
}

Result<ojson> parse_device(const std::string& spec) {
    auto parts = split(spec, ':');
    std::string src = parts[0], dst, perms = "rwm";
    auto is_perms = [](const std::string& s) {
        if (s.empty()) return false;
        for (char ch : s)
            if (ch != 'r' && ch != 'w' && ch != 'm') return false;
        return true;
    };
    if (parts.size() == 3) {
        dst = parts[1];
        perms = parts[2];
        if (!is_perms(perms))
            return make_error(Errc::InvalidArgument, "bad mode specified: {}", perms);
    } else if (parts.size() == 2) {
        if (is_perms(parts[1]))
            perms = parts[1];
        else
            dst = parts[1];
    } else if (parts.size() != 1) {
        return make_error(Errc::InvalidArgument, "invalid device specification: {}", spec);
    }
    if (dst.empty()) dst = src;
    return ojson{{"PathOnHost", src}, {"PathInContainer", dst}, {"CgroupPermissions", perms}};
}

Result<ojson> parse_ulimit(const std::string& spec) {
    auto eq = spec.find('=');
    if (eq == std::string::npos)
        return make_error(Errc::InvalidArgument, "invalid ulimit argument: {}", spec);
    std::string name = spec.substr(0, eq), vals = spec.substr(eq + 1);
    auto colon = vals.find(':');
    auto soft = parse_int(vals.substr(0, colon));
    auto hard = colon == std::string::npos ? soft : parse_int(vals.substr(colon + 1));
    if (!soft || !hard)
        return make_error(Errc::InvalidArgument, "invalid ulimit argument: {}", spec);
    if (*soft > *hard)
        return make_error(Errc::InvalidArgument,
                          "ulimit soft limit must be less than or equal to hard limit: {} > {}",
                          *soft, *hard);
    return ojson{{"Name", name}, {"Hard", *hard}, {"Soft", *soft}};
}

Result<ojson> parse_restart(const std::string& spec) {
    auto colon = spec.find(':');
    std::string name = spec.substr(0, colon);
    int64_t count = 0;
    if (colon != std::string::npos) {
        auto n = parse_int(spec.substr(colon + 1));
        if (!n)
            return make_error(
                Errc::InvalidArgument,
                "invalid restart policy format: maximum retry count must be an integer");
        count = *n;
    }
    if (name != "no" && name != "always" && name != "unless-stopped" && name != "on-failure")
        return make_error(Errc::InvalidArgument,
                          "invalid restart policy format: unknown policy '{}'; use one of 'no', "
                          "'always', 'on-failure', or 'unless-stopped'",
                          name);
    if (count && name != "on-failure")
        return make_error(Errc::InvalidArgument,
                          "invalid restart policy format: maximum retry count can only be used "
                          "with 'on-failure'");
    return ojson{{"Name", name}, {"MaximumRetryCount", count}};
}

Result<int64_t> duration_flag(const std::string& v, std::string_view flag) {
    if (v.empty()) return int64_t{0};
    auto d = parse_go_duration(v);
    if (!d) return bad_flag(v, flag, d.error().msg);
    return *d;
}

std::string normalize_cap(std::string c) {
    for (auto& ch : c) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (c == "ALL" || c.rfind("CAP_", 0) == 0) return c;
    return "CAP_" + c;
}

ojson zero_endpoint() {
    return ojson{{"IPAMConfig", nullptr},   {"Links", nullptr},         {"Aliases", nullptr},
                 {"MacAddress", ""},        {"DriverOpts", nullptr},    {"GwPriority", 0},
                 {"NetworkID", ""},         {"EndpointID", ""},         {"Gateway", ""},
                 {"IPAddress", ""},         {"IPPrefixLen", 0},         {"IPv6Gateway", ""},
                 {"GlobalIPv6Address", ""}, {"GlobalIPv6PrefixLen", 0}, {"DNSNames", nullptr}};
}

}  // namespace

Result<int64_t> ram_in_bytes(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == 0) return make_error(Errc::InvalidArgument, "invalid size: '{}'", s);
    double num = std::strtod(std::string(s.substr(0, i)).c_str(), nullptr);
    std::string_view rest = s.substr(i);
    if (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
    double mult = 1;
    std::string_view suffix = rest;
    if (!rest.empty()) {
        switch (std::tolower(static_cast<unsigned char>(rest[0]))) {
            case 'k':
                mult = 1024.0;
                break;
            case 'm':
                mult = 1024.0 * 1024;
                break;
            case 'g':
                mult = 1024.0 * 1024 * 1024;
                break;
            case 't':
                mult = 1024.0 * 1024 * 1024 * 1024;
                break;
            case 'p':
                mult = 1024.0 * 1024 * 1024 * 1024 * 1024;
                break;
            case 'b':
                mult = 1;
                break;
            default:
                return make_error(Errc::InvalidArgument, "invalid suffix: '{}'", suffix);
        }
        bool was_b = std::tolower(static_cast<unsigned char>(rest[0])) == 'b';
        rest.remove_prefix(1);
        if (!was_b && !rest.empty() && (rest[0] == 'i' || rest[0] == 'I')) rest.remove_prefix(1);
        if (!was_b && !rest.empty() && (rest[0] == 'b' || rest[0] == 'B')) rest.remove_prefix(1);
        if (!rest.empty()) return make_error(Errc::InvalidArgument, "invalid suffix: '{}'", suffix);
    }
    return static_cast<int64_t>(num * mult);
}

Result<std::vector<std::string>> read_kv_file(const std::string& path, bool lookup_env) {
    std::ifstream in(path);
    if (!in) return BERTH_SYS_ERROR("open {}", path);
    std::vector<std::string> lines;
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        std::string_view l = line;
        while (!l.empty() && (l.front() == ' ' || l.front() == '\t')) l.remove_prefix(1);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        if (l.empty() || l.front() == '#') continue;
        auto eq = l.find('=');
        std::string_view key = l.substr(0, eq);
        if (key.empty())
            return make_error(Errc::InvalidArgument, "no variable name on line '{}'", l);
        if (key.find_first_of(" \t") != std::string_view::npos)
            return make_error(Errc::InvalidArgument, "variable '{}' contains whitespaces", key);
        if (eq != std::string_view::npos) {
            lines.emplace_back(l);
        } else if (lookup_env) {
            const char* v = std::getenv(std::string(key).c_str());
            lines.push_back(v ? std::string(key) + "=" + v : std::string(key));
        } else {
            lines.emplace_back(key);
        }
    }
    return lines;
}

namespace {

// The help of a command whose flags are spread over unnamed option groups (see
// add_container_flags): one list, as if they were the command's own. CLI11 2.1 would hide them.
class FlatGroupsFormatter : public CLI::Formatter {
public:
    // Formatter::make_help, with flat_groups for make_groups (not virtual in CLI11 2.1).
    std::string make_help(const CLI::App* app, std::string name,
                          CLI::AppFormatMode mode) const override {
        if (mode == CLI::AppFormatMode::Sub) return make_expanded(app);
        return make_description(app) + make_usage(app, std::move(name)) + make_positionals(app) +
               flat_groups(app, mode) + make_subcommands(app, mode) + "\n" + make_footer(app);
    }

private:
    std::string flat_groups(const CLI::App* app, CLI::AppFormatMode mode) const {
        std::vector<const CLI::App*> apps{app};
        for (const CLI::App* g : app->get_subcommands({}))
            if (g->get_name().empty() && g->get_group().empty()) apps.push_back(g);
        std::vector<std::string> labels;
        for (const CLI::App* a : apps)
            for (const auto& l : a->get_groups())
                if (std::find(labels.begin(), labels.end(), l) == labels.end()) labels.push_back(l);
        std::string out;
        for (const auto& label : labels) {
            std::vector<const CLI::Option*> opts;
            for (const CLI::App* a : apps)
                for (const CLI::Option* opt : a->get_options({}))
                    if (opt->get_group() == label && opt->nonpositional() &&
                        (mode != CLI::AppFormatMode::Sub ||
                         (app->get_help_ptr() != opt && app->get_help_all_ptr() != opt)))
                        opts.push_back(opt);
            if (label.empty() || opts.empty()) continue;
            if (!out.empty()) out += "\n";
            out += make_group(label, false, opts);
        }
        return out;
    }
};

}  // namespace

void add_container_flags(CLI::App* app, ContainerOptions& o, bool run) {
    app->set_help_flag("--help", "Print usage");
    // CLI11 checks each option it adds against every other option of its App, by name, copying
    // their name lists as it goes: the ~100 flags took ~0.2 ms of every `berth run`, most of the
    // CLI's own work before it connects. In unnamed option groups of 16 (parsed as the
    // command's own options, and listed so by FlatGroupsFormatter), each is checked against
    // its group's only.
    app->formatter(std::make_shared<FlatGroupsFormatter>());
    CLI::App* group = nullptr;
    int in_group = 0;
    auto c = [&]() {
        if (!group || in_group == 16) {
            group = app->add_option_group("");
            group->set_help_flag();  // it inherits the command's --help otherwise
            in_group = 0;
        }
        ++in_group;
        return group;
    };
    if (run) {
        c()->add_flag("-d,--detach", o.detach, "Run container in background and print container ID");
        c()->add_flag("--sig-proxy{true}", o.sig_proxy, "Proxy received signals to the process");
        c()->add_option("--detach-keys", o.detach_keys,
                      "Override the key sequence for detaching a container");
    }
    auto list = [&](const char* name, std::vector<std::string>& v, const char* help) {
        c()->add_option(name, v, help)->allow_extra_args(false)->type_size(1);
    };
    c()->add_option("--name", o.name, "Assign a name to the container");
    c()->add_option("--pull", o.pull,
                  "Pull image before running (\"always\", \"missing\", \"never\")");
    c()->add_flag("-q,--quiet", o.quiet, "Suppress the pull output");
    c()->add_option("--platform", o.platform, "Set platform if server is multi-platform capable");
    c()->add_option("--cidfile", o.cidfile, "Write the container ID to the file");
    list("--add-host", o.add_host, "Add a custom host-to-IP mapping (host:ip)");
    list("-a,--attach", o.attach, "Attach to STDIN, STDOUT or STDERR");
    list("--cap-add", o.cap_add, "Add Linux capabilities");
    list("--cap-drop", o.cap_drop, "Drop Linux capabilities");
    c()->add_option("--cgroup-parent", o.cgroup_parent, "Optional parent cgroup for the container");
    c()->add_option("--cgroupns", o.cgroupns, "Cgroup namespace to use (host|private)");
    c()->add_option("--cpu-period", o.cpu_period, "Limit CPU CFS (Completely Fair Scheduler) period");
    c()->add_option("--cpu-quota", o.cpu_quota, "Limit CPU CFS (Completely Fair Scheduler) quota");
    c()->add_option("-c,--cpu-shares", o.cpu_shares, "CPU shares (relative weight)");
    c()->add_option("--cpus", o.cpus, "Number of CPUs");
    c()->add_option("--cpuset-cpus", o.cpuset_cpus, "CPUs in which to allow execution (0-3, 0,1)");
    c()->add_option("--cpuset-mems", o.cpuset_mems, "MEMs in which to allow execution (0-3, 0,1)");
    list("--device", o.device, "Add a host device to the container");
    list("--device-cgroup-rule", o.device_cgroup_rule,
         "Add a rule to the cgroup allowed devices list");
    list("--dns", o.dns, "Set custom DNS servers");
    list("--dns-option", o.dns_option, "Set DNS options");
    list("--dns-search", o.dns_search, "Set custom DNS search domains");
    c()->add_option("--domainname", o.domainname, "Container NIS domain name");
    c()->add_option("--entrypoint", o.entrypoint, "Overwrite the default ENTRYPOINT of the image")
        ->each([&o](const std::string&) { o.entrypoint_set = true; });
    list("-e,--env", o.env, "Set environment variables");
    list("--env-file", o.env_file, "Read in a file of environment variables");
    list("--expose", o.expose, "Expose a port or a range of ports");
    list("--group-add", o.group_add, "Add additional groups to join");
    c()->add_option("--health-cmd", o.health_cmd, "Command to run to check health");
    c()->add_option("--health-interval", o.health_interval,
                  "Time between running the check (ms|s|m|h) (default 0s)");
    c()->add_option("--health-retries", o.health_retries,
                  "Consecutive failures needed to report unhealthy");
    c()->add_option("--health-start-interval", o.health_start_interval,
                  "Time between running the check during the start period (ms|s|m|h) (default 0s)");
    c()->add_option("--health-start-period", o.health_start_period,
                  "Start period for the container to initialize before starting health-retries "
                  "countdown (ms|s|m|h) (default 0s)");
    c()->add_option("--health-timeout", o.health_timeout,
                  "Maximum time to allow one check to run (ms|s|m|h) (default 0s)");
    c()->add_option("-h,--hostname", o.hostname, "Container host name");
    c()->add_flag("--init", o.init,
                "Run an init inside the container that forwards signals and reaps processes");
    c()->add_flag("-i,--interactive", o.interactive, "Keep STDIN open even if not attached");
    c()->add_option("--ipc", o.ipc, "IPC mode to use");
    list("-l,--label", o.labels, "Set meta data on a container");
    list("--label-file", o.label_file, "Read in a line delimited file of labels");
    c()->add_option("--log-driver", o.log_driver, "Logging driver for the container");
    list("--log-opt", o.log_opt, "Log driver options");
    c()->add_option("--mac-address", o.mac_address,
                  "Container MAC address (e.g., 92:d0:c6:0a:29:33)");
    c()->add_option("-m,--memory", o.memory, "Memory limit");
    c()->add_option("--memory-reservation", o.memory_reservation, "Memory soft limit");
    c()->add_option("--memory-swap", o.memory_swap,
                  "Swap limit equal to memory plus swap: '-1' to enable unlimited swap");
    c()->add_option("--memory-swappiness", o.memory_swappiness,
                  "Tune container memory swappiness (0 to 100) (default -1)");
    list("--mount", o.mounts, "Attach a filesystem mount to the container");
    c()->add_option("--network,--net", o.network, "Connect a container to a network");
    list("--network-alias,--net-alias", o.network_alias,
         "Add network-scoped alias for the container");
    c()->add_flag("--no-healthcheck", o.no_healthcheck,
                "Disable any container-specified HEALTHCHECK");
    c()->add_flag("--oom-kill-disable", o.oom_kill_disable, "Disable OOM Killer");
    c()->add_option("--oom-score-adj", o.oom_score_adj,
                  "Tune host's OOM preferences (-1000 to 1000)");
    c()->add_option("--pid", o.pid, "PID namespace to use");
    c()->add_option("--pids-limit", o.pids_limit, "Tune container pids limit (set -1 for unlimited)")
        ->each([&o](const std::string&) { o.pids_limit_set = true; });
    c()->add_flag("--privileged", o.privileged, "Give extended privileges to this container");
    list("-p,--publish", o.publish, "Publish a container's port(s) to the host");
    c()->add_flag("-P,--publish-all", o.publish_all, "Publish all exposed ports to random ports");
    c()->add_flag("--read-only", o.read_only, "Mount the container's root filesystem as read only");
    c()->add_option("--restart", o.restart,
                  "Restart policy to apply when a container exits (default \"no\")");
    c()->add_flag(
        "--rm", o.rm,
        "Automatically remove the container and its associated anonymous volumes when it exits");
    list("--security-opt", o.security_opt, "Security Options");
    c()->add_option("--shm-size", o.shm_size, "Size of /dev/shm");
    c()->add_option("--stop-signal", o.stop_signal, "Signal to stop the container");
    c()->add_option("--stop-timeout", o.stop_timeout, "Timeout (in seconds) to stop a container")
        ->each([&o](const std::string&) { o.stop_timeout_set = true; });
    list("--sysctl", o.sysctl, "Sysctl options");
    list("--tmpfs", o.tmpfs, "Mount a tmpfs directory");
    c()->add_flag("-t,--tty", o.tty, "Allocate a pseudo-TTY");
    list("--ulimit", o.ulimit, "Ulimit options");
    c()->add_option("-u,--user", o.user, "Username or UID (format: <name|uid>[:<group|gid>])");
    c()->add_option("--userns", o.userns, "User namespace to use");
    c()->add_option("--uts", o.uts, "UTS namespace to use");
    list("-v,--volume", o.volumes, "Bind mount a volume");
    c()->add_option("-w,--workdir", o.workdir, "Working directory inside the container");
}

Result<CreateRequest> build_create_request(const ContainerOptions& o, const std::string& image,
                                           const std::vector<std::string>& args,
                                           unsigned console_rows, unsigned console_cols) {
    if (o.rm && o.restart != "no" && !o.restart.empty())
        return make_error(Errc::InvalidArgument,
                          "conflicting options: cannot specify both --restart and --rm");
    bool attach_stdin = false, attach_stdout = false, attach_stderr = false;
    for (const auto& a : o.attach) {
        std::string l = a;
        for (auto& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (l == "stdin")
            attach_stdin = true;
        else if (l == "stdout")
            attach_stdout = true;
        else if (l == "stderr")
            attach_stderr = true;
        else
            return bad_flag(a, "-a, --attach", "valid streams are STDIN, STDOUT and STDERR");
    }
    if (o.interactive) attach_stdin = true;
    if (o.attach.empty()) attach_stdout = attach_stderr = true;
    if (o.detach) {
        if (!o.attach.empty())
            return make_error(Errc::InvalidArgument, "Conflicting options: -a and -d");
        attach_stdin = attach_stdout = attach_stderr = false;
    }
    bool stdin_once = o.interactive && attach_stdin && !o.detach;

    // Environment: env files first, then -e.
    std::vector<std::string> env;
    for (const auto& f : o.env_file) {
        auto lines = BERTH_TRY(read_kv_file(f, true));
        env.insert(env.end(), lines.begin(), lines.end());
    }
    for (const auto& e : o.env) {
        if (e.empty() || e[0] == '=')
            return bad_flag(e, "-e, --env", "invalid environment variable: " + e);
        env.push_back(env_value(e));
    }
    std::vector<std::string> labels;
    for (const auto& f : o.label_file) {
        auto lines = BERTH_TRY(read_kv_file(f, false));
        labels.insert(labels.end(), lines.begin(), lines.end());
    }
    labels.insert(labels.end(), o.labels.begin(), o.labels.end());

    ojson exposed = ojson::object(), bindings = ojson::object();
    for (const auto& p : o.publish) {
        auto r = add_publish(p, exposed, bindings);
        if (!r) return bad_flag(p, "-p, --publish", r.error().msg);
    }
    for (const auto& e : o.expose) {
        std::string rest = e, proto = "tcp";
        if (auto slash = rest.rfind('/'); slash != std::string::npos) {
            proto = rest.substr(slash + 1);
            rest = rest.substr(0, slash);
        }
        auto r = port_range(rest, e);
        if (!r)
            return make_error(Errc::InvalidArgument,
                              "invalid range format for --expose: {}, error: {}", e, r.error().msg);
        for (int port = r->first; port <= r->second; ++port)
            exposed[std::to_string(port) + "/" + proto] = ojson::object();
    }

    std::vector<std::string> binds;
    ojson volumes = ojson::object();
    for (const auto& v : o.volumes) {
        if (v.find(':') == std::string::npos)
            volumes[v] = ojson::object();
        else
            binds.push_back(v);
    }
    ojson mounts = ojson::array();
    for (const auto& m : o.mounts) {
        auto r = parse_mount(m);
        if (!r) return bad_flag(m, "--mount", r.error().msg);
        mounts.push_back(std::move(*r));
    }
    ojson tmpfs = ojson::object();
    for (const auto& t : o.tmpfs) {
        auto colon = t.find(':');
        tmpfs[t.substr(0, colon)] = colon == std::string::npos ? "" : t.substr(colon + 1);
    }
    ojson devices = ojson::array();
    for (const auto& d : o.device) {
        auto r = parse_device(d);
        if (!r) return bad_flag(d, "--device", r.error().msg);
        devices.push_back(std::move(*r));
    }
    ojson ulimits = ojson::array();
    for (const auto& u : o.ulimit) {
        auto r = parse_ulimit(u);
        if (!r) return bad_flag(u, "--ulimit", r.error().msg);
        ulimits.push_back(std::move(*r));
    }
    std::vector<std::string> cap_add, cap_drop;
    for (const auto& c : o.cap_add) cap_add.push_back(normalize_cap(c));
    for (const auto& c : o.cap_drop) cap_drop.push_back(normalize_cap(c));

    int64_t memory = o.memory.empty() ? 0 : BERTH_TRY(mem_flag(o.memory, "-m, --memory"));
    int64_t memory_reservation =
        o.memory_reservation.empty()
            ? 0
            : BERTH_TRY(mem_flag(o.memory_reservation, "--memory-reservation"));
    int64_t memory_swap = 0;
    if (o.memory_swap == "-1")
        memory_swap = -1;
    else if (!o.memory_swap.empty())
        memory_swap = BERTH_TRY(mem_flag(o.memory_swap, "--memory-swap"));
    int64_t shm = o.shm_size.empty() ? 0 : BERTH_TRY(mem_flag(o.shm_size, "--shm-size"));
    if (o.memory_swappiness != -1 && (o.memory_swappiness < 0 || o.memory_swappiness > 100))
        return make_error(Errc::InvalidArgument,
                          "invalid value: {}. Valid memory swappiness range is 0-100",
                          o.memory_swappiness);
    int64_t nano_cpus = 0;
    if (!o.cpus.empty()) {
        char* end = nullptr;
        double v = std::strtod(o.cpus.c_str(), &end);
        if (*end || end == o.cpus.c_str())
            return bad_flag(o.cpus, "--cpus",
                            "failed to parse " + o.cpus + " as a rational number");
        nano_cpus = static_cast<int64_t>(std::llround(v * 1e9));
    }
    ojson restart = BERTH_TRY(parse_restart(o.restart.empty() ? "no" : o.restart));

    ojson health;
    bool health_opts = !o.health_cmd.empty() || !o.health_interval.empty() ||
                       !o.health_timeout.empty() || !o.health_start_period.empty() ||
                       !o.health_start_interval.empty() || o.health_retries != 0;
    if (o.no_healthcheck) {
        if (health_opts)
            return make_error(Errc::InvalidArgument,
                              "--no-healthcheck conflicts with --health-* options");
        health = ojson{{"Test", {"NONE"}}};
    } else if (health_opts) {
        health = ojson::object();
        if (!o.health_cmd.empty()) health["Test"] = {"CMD-SHELL", o.health_cmd};
        int64_t interval = BERTH_TRY(duration_flag(o.health_interval, "--health-interval"));
        int64_t timeout = BERTH_TRY(duration_flag(o.health_timeout, "--health-timeout"));
        int64_t start = BERTH_TRY(duration_flag(o.health_start_period, "--health-start-period"));
        int64_t start_interval =
            BERTH_TRY(duration_flag(o.health_start_interval, "--health-start-interval"));
        if (interval < 0)
            return make_error(Errc::InvalidArgument, "--health-interval cannot be negative");
        if (timeout < 0)
            return make_error(Errc::InvalidArgument, "--health-timeout cannot be negative");
        if (o.health_retries < 0)
            return make_error(Errc::InvalidArgument, "--health-retries cannot be negative");
        if (interval) health["Interval"] = interval;
        if (timeout) health["Timeout"] = timeout;
        if (start) health["StartPeriod"] = start;
        if (start_interval) health["StartInterval"] = start_interval;
        if (o.health_retries) health["Retries"] = o.health_retries;
    }

    ojson b;
    b["Hostname"] = o.hostname;
    b["Domainname"] = o.domainname;
    b["User"] = o.user;
    b["AttachStdin"] = attach_stdin;
    b["AttachStdout"] = attach_stdout;
    b["AttachStderr"] = attach_stderr;
    if (!exposed.empty()) b["ExposedPorts"] = sorted(exposed);
    b["Tty"] = o.tty;
    b["OpenStdin"] = o.interactive;
    b["StdinOnce"] = stdin_once;
    b["Env"] = string_array_or_null(env);
    b["Cmd"] = string_array_or_null(args);
    if (!health.is_null()) b["Healthcheck"] = health;
    b["Image"] = image;
    b["Volumes"] = sorted(volumes);
    b["WorkingDir"] = o.workdir;
    b["Entrypoint"] = o.entrypoint_set ? ojson::array({o.entrypoint}) : ojson(nullptr);
    if (!o.mac_address.empty()) b["MacAddress"] = o.mac_address;
    b["OnBuild"] = nullptr;
    b["Labels"] = kv_map(labels);
    if (!o.stop_signal.empty()) b["StopSignal"] = o.stop_signal;
    if (o.stop_timeout_set) b["StopTimeout"] = o.stop_timeout;

    ojson h;
    h["Binds"] = string_array_or_null(binds);
    h["ContainerIDFile"] = o.cidfile;
    h["LogConfig"] = ojson{{"Type", o.log_driver}, {"Config", kv_map(o.log_opt)}};
    h["NetworkMode"] = o.network;
    h["PortBindings"] = sorted(bindings);
    h["RestartPolicy"] = restart;
    h["AutoRemove"] = o.rm;
    h["VolumeDriver"] = "";
    h["VolumesFrom"] = nullptr;
    h["ConsoleSize"] = {o.tty ? console_rows : 0u, o.tty ? console_cols : 0u};
    h["CapAdd"] = string_array_or_null(cap_add);
    h["CapDrop"] = string_array_or_null(cap_drop);
    h["CgroupnsMode"] = o.cgroupns;
    h["Dns"] = ojson(o.dns);
    h["DnsOptions"] = ojson(o.dns_option);
    h["DnsSearch"] = ojson(o.dns_search);
    h["ExtraHosts"] = string_array_or_null(o.add_host);
    h["GroupAdd"] = string_array_or_null(o.group_add);
    h["IpcMode"] = o.ipc;
    h["Cgroup"] = "";
    h["Links"] = nullptr;
    h["OomScoreAdj"] = o.oom_score_adj;
    h["PidMode"] = o.pid;
    h["Privileged"] = o.privileged;
    h["PublishAllPorts"] = o.publish_all;
    h["ReadonlyRootfs"] = o.read_only;
    h["SecurityOpt"] = string_array_or_null(o.security_opt);
    if (!tmpfs.empty()) h["Tmpfs"] = sorted(tmpfs);
    h["UTSMode"] = o.uts;
    h["UsernsMode"] = o.userns;
    h["ShmSize"] = shm;
    if (!o.sysctl.empty()) h["Sysctls"] = kv_map(o.sysctl);
    h["Isolation"] = "";
    h["CpuShares"] = o.cpu_shares;
    h["Memory"] = memory;
    h["NanoCpus"] = nano_cpus;
    h["CgroupParent"] = o.cgroup_parent;
    h["BlkioWeight"] = 0;
    for (const char* k : {"BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
                          "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps"})
        h[k] = ojson::array();
    h["CpuPeriod"] = o.cpu_period;
    h["CpuQuota"] = o.cpu_quota;
    h["CpuRealtimePeriod"] = 0;
    h["CpuRealtimeRuntime"] = 0;
    h["CpusetCpus"] = o.cpuset_cpus;
    h["CpusetMems"] = o.cpuset_mems;
    h["Devices"] = devices;
    h["DeviceCgroupRules"] = string_array_or_null(o.device_cgroup_rule);
    h["DeviceRequests"] = nullptr;
    h["MemoryReservation"] = memory_reservation;
    h["MemorySwap"] = memory_swap;
    h["MemorySwappiness"] = o.memory_swappiness;
    h["OomKillDisable"] = o.oom_kill_disable;
    h["PidsLimit"] = o.pids_limit;
    h["Ulimits"] = ulimits;
    h["CpuCount"] = 0;
    h["CpuPercent"] = 0;
    h["IOMaximumIOps"] = 0;
    h["IOMaximumBandwidth"] = 0;
    if (!mounts.empty()) h["Mounts"] = mounts;
    h["MaskedPaths"] = nullptr;
    h["ReadonlyPaths"] = nullptr;
    if (o.init) h["Init"] = true;
    b["HostConfig"] = h;

    ojson endpoints = ojson::object();
    if (!o.network_alias.empty()) {
        ojson ep = zero_endpoint();
        ep["Aliases"] = o.network_alias;
        endpoints[o.network] = ep;
    } else if (o.network == "default") {
        endpoints["default"] = zero_endpoint();
    }
    b["NetworkingConfig"] = ojson{{"EndpointsConfig", endpoints}};

    CreateRequest req;
    req.body = std::move(b);
    req.name = o.name;
    req.platform = o.platform;
    return req;
}

}  // namespace berth::cli
