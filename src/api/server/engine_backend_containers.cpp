// ContainerBackend over engine::ContainerService: engine records into the Engine API's types
// (moby daemon/inspect.go, list.go, state.go's String()), hijacked sockets handed to the
// container's shim, log reads through the json-file reader.

#include <signal.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <regex>
#include <thread>

#include "berth/api/server/engine_backend.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/process.hpp"
#include "berth/common/strings.hpp"
#include "berth/common/time.hpp"
#include "berth/common/units.hpp"
#include "berth/engine/container_fs.hpp"
#include "berth/engine/daemon.hpp"
#include "berth/logfile/reader.hpp"

namespace berth::api {
namespace {

using engine::Container;
using engine::RunState;

/// moby's State.String(): the Status column of `docker ps`.
std::string status_text(const Container& c, int64_t now) {
    const auto& s = c.state;
    switch (s.status) {
        case RunState::Paused:
            return "Up " + human_duration(now - s.started_at) + " (Paused)";
        case RunState::Restarting:
            return fmt::format("Restarting ({}) {} ago", s.exit_code,
                               human_duration(now - s.finished_at));
        case RunState::Running: {
            // moby's health suffix: "(health: starting)", "(healthy)", "(unhealthy)".
            std::string up = "Up " + human_duration(now - s.started_at);
            if (s.health)
                up += s.health->status == "starting" ? " (health: starting)" : " (" + s.health->status + ")";
            return up;
        }
        case RunState::Removing: return "Removal In Progress";
        case RunState::Dead: return "Dead";
        case RunState::Created:
        case RunState::Exited:
            if (s.started_at == 0) return "Created";
            if (s.finished_at == 0) return "";
            return fmt::format("Exited ({}) {} ago", s.exit_code, human_duration(now - s.finished_at));
    }
    return "";
}

std::vector<types::MountPoint> mounts_of(const Container& c) {
    std::vector<types::MountPoint> out;
    for (const auto& b : c.host_config.binds) {
        // "/h:/c[:opts]"
        auto parts = split(b, ':');
        if (parts.size() < 2 || parts[0].empty() || parts[0][0] != '/') continue;
        types::MountPoint m;
        m.type = "bind";
        m.source = parts[0];
        m.destination = parts[1];
        m.mode = parts.size() > 2 ? parts[2] : "";
        m.rw = m.mode.find("ro") == std::string::npos;
        m.propagation = "rprivate";
        for (const char* p : {"rshared", "shared", "rslave", "slave", "private"})
            if (m.mode.find(p) != std::string::npos) {
                m.propagation = p;
                break;
            }
        out.push_back(std::move(m));
    }
    for (const auto& mt : c.host_config.mounts) {
        types::MountPoint m;
        m.type = mt.type;
        m.source = mt.source;
        m.destination = mt.target;
        m.rw = !mt.read_only;
        if (mt.type == "bind")
            m.propagation = mt.bind_options && !mt.bind_options->propagation.empty()
                                ? mt.bind_options->propagation
                                : "rprivate";
        out.push_back(std::move(m));
    }
    for (const auto& [dst, opts] : c.host_config.tmpfs) {
        (void)opts;
        types::MountPoint m;
        m.type = "tmpfs";
        m.destination = dst;
        out.push_back(std::move(m));
    }
    return out;
}

types::NetworkSettings network_settings_of(const Container& c) {
    types::NetworkSettings n;
    n.sandbox_key = c.sandbox_key;
    const auto& mode = c.host_config.network_mode;
    std::string net = mode == "default" || mode.empty() ? "bridge" : mode;
    if (net.rfind("container:", 0) == 0) return n;  // shares another's: no endpoints (moby)
    types::EndpointSettings ep;
    if (net != "host" && net != "none") {
        ep.aliases = {};
    }
    n.networks[net] = std::move(ep);
    return n;
}

types::ContainerInspect inspect_of(const Container& c) {
    types::ContainerInspect i;
    i.id = c.id;
    i.created_ns = c.created;
    i.path = c.path;
    i.args = c.args;
    const auto& s = c.state;
    i.state.status = std::string(engine::to_string(s.status));
    i.state.running = s.status == RunState::Running || s.status == RunState::Paused ||
                      s.status == RunState::Restarting;
    i.state.paused = s.status == RunState::Paused;
    i.state.restarting = s.status == RunState::Restarting;
    i.state.dead = s.status == RunState::Dead;
    i.state.oom_killed = s.oom_killed;
    i.state.pid = s.pid;
    i.state.exit_code = s.exit_code;
    i.state.error = s.error;
    i.state.started_at_ns = s.started_at;
    i.state.finished_at_ns = s.finished_at;
    if (s.health) {
        types::Health h;
        h.status = s.health->status;
        h.failing_streak = s.health->failing_streak;
        for (const auto& r : s.health->log)
            h.log.push_back(types::HealthcheckResult{r.start, r.end, r.exit_code, r.output});
        i.state.health = std::move(h);
    }
    i.image = c.image_id;
    i.resolv_conf_path = c.resolv_conf_path;
    i.hostname_path = c.hostname_path;
    i.hosts_path = c.hosts_path;
    i.log_path = c.log_path;
    i.name = c.name;
    i.restart_count = c.restart_count;
    i.platform = c.platform;
    i.exec_ids = c.exec_ids;
    i.host_config = c.host_config;
    i.mounts = mounts_of(c);
    i.config = c.config;
    i.network_settings = network_settings_of(c);
    return i;
}

types::ContainerSummary summary_of(const Container& c, int64_t now) {
    types::ContainerSummary s;
    s.id = c.id;
    s.names = {c.name};
    s.image = c.config.image;
    s.image_id = c.image_id;
    // moby's list.go: arguments with a space are single-quoted.
    std::string cmd = c.path;
    for (const auto& a : c.args) cmd += a.find(' ') != std::string::npos ? " '" + a + "'" : " " + a;
    s.command = cmd;
    s.created = c.created / 1'000'000'000;
    s.labels = c.config.labels;
    s.state = std::string(engine::to_string(c.state.status));
    s.status = status_text(c, now);
    s.network_mode = c.host_config.network_mode;
    s.networks = network_settings_of(c).networks;
    s.mounts = mounts_of(c);
    return s;
}

/// A label filter value over a container: "k" (the label is set) or "k=v" (set to v).
bool has_label(const Container& c, const std::string& filter) {
    auto eq = filter.find('=');
    auto it = c.config.labels.find(filter.substr(0, eq));
    return it != c.config.labels.end() &&
           (eq == std::string::npos || it->second == filter.substr(eq + 1));
}

/// `filters` for GET /containers/json (moby daemon/list.go), over one container.
bool matches(const Container& c, const Filters& f, const std::function<int64_t(const std::string&)>& created_of) {
    auto any = [&](const char* key, const std::function<bool(const std::string&)>& pred) {
        auto vals = f.get(key);
        if (vals.empty()) return true;
        return std::any_of(vals.begin(), vals.end(), pred);
    };
    std::string state(engine::to_string(c.state.status));
    if (!any("status", [&](const std::string& v) { return v == state; })) return false;
    if (!any("id", [&](const std::string& v) { return c.id.rfind(v, 0) == 0; })) return false;
    if (!any("name", [&](const std::string& v) {
            try {
                return std::regex_search(c.name.substr(1), std::regex(v)) ||
                       std::regex_search(c.name, std::regex(v));
            } catch (const std::regex_error&) {
                return c.name.find(v) != std::string::npos;
            }
        }))
        return false;
    for (const auto& l : f.get("label"))
        if (!has_label(c, l)) return false;
    if (!any("exited", [&](const std::string& v) {
            return c.state.status == RunState::Exited && c.state.has_been_started &&
                   std::to_string(c.state.exit_code) == v;
        }))
        return false;
    if (!any("ancestor", [&](const std::string& v) {
            return c.config.image == v || c.image_id == v || c.image_id == "sha256:" + v ||
                   (v.size() >= 4 && c.image_id.rfind("sha256:" + v, 0) == 0);
        }))
        return false;
    if (!any("network", [&](const std::string& v) {
            std::string m = c.host_config.network_mode;
            if (m == "default") m = "bridge";
            return m == v;
        }))
        return false;
    if (!any("volume", [&](const std::string& v) {
            for (const auto& m : mounts_of(c))
                if (m.source == v || m.destination == v || m.name == v) return true;
            return false;
        }))
        return false;
    if (!any("expose", [&](const std::string& v) {
            std::string p = v.find('/') == std::string::npos ? v + "/tcp" : v;
            return std::find(c.config.exposed_ports.begin(), c.config.exposed_ports.end(), p) !=
                   c.config.exposed_ports.end();
        }))
        return false;
    if (!any("publish", [&](const std::string& v) {
            std::string p = v.find('/') == std::string::npos ? v + "/tcp" : v;
            return c.host_config.port_bindings.count(p) > 0;
        }))
        return false;
    if (!any("health", [&](const std::string& v) {
            return c.state.health ? c.state.health->status == v : v == "none";
        }))
        return false;
    if (!any("is-task", [&](const std::string& v) { return v == "false" || v == "0"; })) return false;
    for (const auto& b : f.get("before"))
        if (c.created >= created_of(b)) return false;
    for (const auto& s : f.get("since"))
        if (c.created <= created_of(s)) return false;
    return true;
}

class Session final : public AttachSession {
public:
    Session(bool tty, engine::ContainerService::RelayFn relay, std::function<Result<void>(HijackedStream&)> before = {})
        : tty_(tty), relay_(std::move(relay)), before_(std::move(before)) {}
    bool tty() const override { return tty_; }
    Result<void> run(HijackedStream& conn) override {
        if (before_) BERTH_TRY(before_(conn));
        if (!relay_) return {};
        engine::ClientStream cs;
        cs.fd = conn.fd();
        size_t n = conn.buffered_size();
        if (n > 0) {
            cs.leftover.resize(n);
            auto r = conn.read(std::span<char>(cs.leftover.data(), n));
            cs.leftover.resize(r ? *r : 0);
        }
        return relay_(cs);
    }

private:
    bool tty_;
    engine::ContainerService::RelayFn relay_;
    std::function<Result<void>(HijackedStream&)> before_;
};

class Logs final : public LogsReader {
public:
    Logs(engine::ContainerService& svc, Container c, LogsOptions o)
        : svc_(svc), c_(std::move(c)), o_(std::move(o)) {}
    bool tty() const override { return c_.config.tty; }
    Result<void> run(const std::function<Result<void>(const LogEntry&)>& emit,
                     const CancelledFn& cancelled) override {
        logfile::ReadOptions ro;
        ro.stdout = o_.stdout_;
        ro.stderr = o_.stderr_;
        ro.since_ns = o_.since_ns;
        ro.until_ns = o_.until_ns;
        ro.tail = o_.tail;
        ro.follow = o_.follow;
        std::string id = c_.id;
        auto stop = [&]() {
            if (cancelled && cancelled()) return true;
            auto c = svc_.get(id);
            return !c || (c->state.status != RunState::Running &&
                          c->state.status != RunState::Paused &&
                          c->state.status != RunState::Restarting);
        };
        return logfile::read_logs(c_.log_path, ro, [&](const logfile::Entry& e) -> Result<bool> {
            LogEntry le;
            le.stream = e.stream == logfile::Stream::Stderr ? MuxStream::Stderr : MuxStream::Stdout;
            le.line = e.line;
            le.time_ns = e.time_ns;
            BERTH_TRY(emit(le));
            return true;
        }, stop);
    }

private:
    engine::ContainerService& svc_;
    Container c_;
    LogsOptions o_;
};

class Stats final : public StatsReader {
public:
    Stats(engine::ContainerService& svc, Container c, StatsOptions o)
        : svc_(svc), c_(std::move(c)), o_(o) {}
    Result<void> run(const std::function<Result<void>(const nlohmann::json&)>& emit,
                     const CancelledFn& cancelled) override;

private:
    nlohmann::json sample(nlohmann::json& pre);
    engine::ContainerService& svc_;
    Container c_;
    StatsOptions o_;
};

uint64_t system_cpu_usage_ns() {
    // /proc/stat's first line, in USER_HZ ticks, as moby's getSystemCPUUsage.
    auto text = read_file("/proc/stat");
    if (!text) return 0;
    std::istringstream in(text->substr(0, text->find('\n')));
    std::string cpu;
    in >> cpu;
    uint64_t total = 0, v;
    for (int i = 0; i < 7 && (in >> v); ++i) total += v;
    return total * (1'000'000'000ULL / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK)));
}

nlohmann::json Stats::sample(nlohmann::json& pre) {
    nlohmann::json j;
    j["read"] = format_rfc3339_nano(now_unix_nanos());
    j["preread"] = pre.is_null() ? "0001-01-01T00:00:00Z" : pre.value("read", "0001-01-01T00:00:00Z");
    j["name"] = c_.name;
    j["id"] = c_.id;
    long ncpu = ::sysconf(_SC_NPROCESSORS_ONLN);
    nlohmann::json cpu = {{"cpu_usage", {{"total_usage", 0}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}}},
                          {"system_cpu_usage", system_cpu_usage_ns()},
                          {"online_cpus", ncpu},
                          {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
    nlohmann::json mem = nlohmann::json::object();
    nlohmann::json pids = nlohmann::json::object();
    nlohmann::json blkio = {{"io_service_bytes_recursive", nullptr}};
    auto st = svc_.stats(c_.id);
    if (st) {
        cpu["cpu_usage"]["total_usage"] = st->cpu.usage_total;
        cpu["cpu_usage"]["usage_in_kernelmode"] = st->cpu.usage_kernel;
        cpu["cpu_usage"]["usage_in_usermode"] = st->cpu.usage_user;
        if (!st->cpu.percpu.empty()) cpu["cpu_usage"]["percpu_usage"] = st->cpu.percpu;
        cpu["throttling_data"] = nlohmann::json{{"periods", st->cpu.periods},
                                                {"throttled_periods", st->cpu.throttled_periods},
                                                {"throttled_time", st->cpu.throttled_time}};
        // moby's collector: an unlimited (or larger than the host) limit shows as the
        // host's memory, which `docker stats` prints as the LIMIT.
        uint64_t limit = st->memory.limit;
        struct sysinfo si {};
        if (::sysinfo(&si) == 0) {
            uint64_t host = static_cast<uint64_t>(si.totalram) * si.mem_unit;
            if (limit == 0 || limit > host) limit = host;
        }
        mem = {{"usage", st->memory.usage},
               {"max_usage", st->memory.max_usage},
               {"limit", limit},
               {"stats", st->memory.raw}};
        pids = {{"current", st->pids.current}};
        if (st->pids.limit) pids["limit"] = st->pids.limit;
        nlohmann::json io = nlohmann::json::array();
        for (const auto& e : st->blkio_io_service_bytes_recursive)
            io.push_back(nlohmann::json{{"major", e.major}, {"minor", e.minor}, {"op", e.op}, {"value", e.value}});
        if (!io.empty()) blkio["io_service_bytes_recursive"] = io;
    }
    j["cpu_stats"] = cpu;
    j["precpu_stats"] = pre.is_null() ? nlohmann::json{{"cpu_usage", {{"total_usage", 0}}}, {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}}
                                      : pre["cpu_stats"];
    j["memory_stats"] = mem;
    j["pids_stats"] = pids;
    j["blkio_stats"] = blkio;
    j["num_procs"] = 0;
    j["storage_stats"] = nlohmann::json::object();
    pre = j;
    return j;
}

Result<void> Stats::run(const std::function<Result<void>(const nlohmann::json&)>& emit,
                        const CancelledFn& cancelled) {
    nlohmann::json pre;
    if (!o_.stream) {
        if (!o_.one_shot) {
            (void)sample(pre);
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
        return emit(sample(pre));
    }
    for (;;) {
        BERTH_TRY(emit(sample(pre)));
        for (int i = 0; i < 10; ++i) {
            if (cancelled && cancelled()) return {};
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
}

class EngineContainerBackend final : public ContainerBackend {
public:
    explicit EngineContainerBackend(engine::Daemon& d) : d_(d), svc_(d.containers()) {}

    Result<CreateResult> create(const CreateParams& p) override {
        engine::CreateOptions o;
        o.name = p.name;
        o.platform = p.platform;
        o.request = p.request;
        CreateResult r;
        auto c = BERTH_TRY(svc_.create(o, &r.warnings));
        r.id = c.id;
        return r;
    }
    Result<bool> start(const std::string& id) override { return svc_.start(id); }
    Result<bool> stop(const std::string& id, std::optional<int> t, const std::string& sig) override {
        return svc_.stop(id, t, sig);
    }
    Result<void> restart(const std::string& id, std::optional<int> t, const std::string& sig) override {
        return svc_.restart(id, t, sig);
    }
    Result<void> kill(const std::string& id, const std::string& sig) override {
        return svc_.kill(id, sig);
    }
    Result<std::unique_ptr<Waiter>> prepare_wait(const std::string& id, WaitCondition c) override {
        engine::WaitCondition ec = c == WaitCondition::NextExit  ? engine::WaitCondition::NextExit
                                   : c == WaitCondition::Removed ? engine::WaitCondition::Removed
                                                                 : engine::WaitCondition::NotRunning;
        auto fn = BERTH_TRY(svc_.prepare_wait(id, ec));
        class W final : public Waiter {
        public:
            explicit W(engine::ContainerService::WaitFn f) : f_(std::move(f)) {}
            Result<types::WaitResponse> wait(const CancelledFn& cancelled) override {
                auto r = BERTH_TRY(f_(cancelled));
                types::WaitResponse w;
                w.status_code = r.first;
                if (!r.second.empty()) w.error = r.second;
                return w;
            }

        private:
            engine::ContainerService::WaitFn f_;
        };
        return std::unique_ptr<Waiter>(new W(std::move(fn)));
    }
    Result<void> remove(const std::string& id, bool force, bool volumes, bool) override {
        return svc_.remove(id, force, volumes);
    }
    Result<std::vector<types::ContainerSummary>> list(const ListOptions& o) override {
        engine::ListOptions lo;
        lo.all = o.all || o.limit > 0 || !o.before.empty() || !o.since.empty() ||
                 !o.filters.get("status").empty() || !o.filters.get("exited").empty() ||
                 !o.filters.get("before").empty() || !o.filters.get("since").empty();
        auto all = svc_.list(lo);
        auto created_of = [&](const std::string& name) -> int64_t {
            auto c = svc_.get(name);
            return c ? c->created : 0;
        };
        Filters f = o.filters;
        if (!o.before.empty()) f.add("before", o.before);
        if (!o.since.empty()) f.add("since", o.since);
        int64_t now = now_unix_nanos();
        std::vector<types::ContainerSummary> out;
        for (const auto& c : all) {
            if (!matches(c, f, created_of)) continue;
            out.push_back(summary_of(c, now));
            if (o.limit > 0 && static_cast<int>(out.size()) >= o.limit) break;
        }
        return out;
    }
    Result<types::ContainerInspect> inspect(const std::string& id, bool) override {
        return inspect_of(BERTH_TRY(svc_.get(id)));
    }
    Result<std::unique_ptr<AttachSession>> prepare_attach(const std::string& id,
                                                          const AttachOptions& o) override {
        auto c = BERTH_TRY(svc_.get(id));
        engine::ContainerService::RelayFn relay;
        if (o.stream) {
            engine::AttachRequest r;
            r.stdin_ = o.stdin_ && c.config.open_stdin;
            r.stdout_ = o.stdout_;
            r.stderr_ = o.stderr_;
            r.detach_keys = o.detach_keys;
            relay = BERTH_TRY(svc_.prepare_attach(id, r));
        }
        std::function<Result<void>(HijackedStream&)> before;
        if (o.logs && !c.log_path.empty()) {
            bool tty = c.config.tty;
            std::string path = c.log_path;
            bool out = o.stdout_, err = o.stderr_;
            before = [path, tty, out, err](HijackedStream& conn) -> Result<void> {
                logfile::ReadOptions ro;
                ro.stdout = out;
                ro.stderr = err;
                return logfile::read_logs(path, ro, [&](const logfile::Entry& e) -> Result<bool> {
                    MuxStream s = e.stream == logfile::Stream::Stderr ? MuxStream::Stderr : MuxStream::Stdout;
                    if (tty) BERTH_TRY(conn.write(e.line));
                    else BERTH_TRY(write_mux_frame(conn, s, e.line));
                    return true;
                }, [] { return true; });
            };
        }
        return std::unique_ptr<AttachSession>(new Session(c.config.tty, std::move(relay), std::move(before)));
    }
    Result<void> resize(const std::string& id, int h, int w) override { return svc_.resize(id, h, w); }
    Result<std::unique_ptr<LogsReader>> prepare_logs(const std::string& id, const LogsOptions& o) override {
        auto c = BERTH_TRY(svc_.get(id));
        if (c.log_path.empty())
            return make_error(Errc::Unsupported,
                              "configured logging driver does not support reading");
        return std::unique_ptr<LogsReader>(new Logs(svc_, std::move(c), o));
    }
    Result<types::ContainerTop> top(const std::string& id, const std::string& ps_args) override {
        auto pids = BERTH_TRY(svc_.pids(id));
        // moby's ContainerTop: run ps on the host, keep the rows whose PID is the container's.
        Command cmd;
        cmd.path = "ps";
        cmd.args = {"ps"};
        for (const auto& a : split(ps_args.empty() ? "-ef" : ps_args, ' '))
            if (!a.empty()) cmd.args.push_back(a);
        cmd.capture_stdout = true;
        cmd.timeout = std::chrono::seconds(30);
        auto r = BERTH_TRY(run_command(cmd));
        if (!r.status.ok())
            return make_error(Errc::Internal, "Error running ps: exit status {}", r.status.code);
        auto lines = split(r.out, '\n');
        types::ContainerTop top;
        if (lines.empty()) return top;
        auto fields = [](const std::string& l) {
            std::vector<std::string> f;
            std::istringstream in(l);
            std::string w;
            while (in >> w) f.push_back(w);
            return f;
        };
        top.titles = fields(lines[0]);
        auto pid_col = std::find(top.titles.begin(), top.titles.end(), "PID");
        if (pid_col == top.titles.end())
            return make_error(Errc::Internal, "Couldn't find PID field in ps output");
        size_t pc = static_cast<size_t>(pid_col - top.titles.begin());
        for (size_t i = 1; i < lines.size(); ++i) {
            auto f = fields(lines[i]);
            if (f.size() <= pc) continue;
            pid_t p = static_cast<pid_t>(std::atoi(f[pc].c_str()));
            if (std::find(pids.begin(), pids.end(), p) == pids.end()) continue;
            // The last column (CMD) may contain spaces: join the rest.
            if (f.size() > top.titles.size()) {
                std::string rest;
                for (size_t k = top.titles.size() - 1; k < f.size(); ++k) rest += (rest.empty() ? "" : " ") + f[k];
                f.resize(top.titles.size() - 1);
                f.push_back(rest);
            }
            top.processes.push_back(std::move(f));
        }
        return top;
    }
    Result<void> rename(const std::string& id, const std::string& n) override { return svc_.rename(id, n); }
    Result<void> pause(const std::string& id) override { return svc_.pause(id); }
    Result<void> unpause(const std::string& id) override { return svc_.unpause(id); }
    Result<types::UpdateResponse> update(const std::string& id, const UpdateConfig& u) override {
        BERTH_TRY(svc_.update(id, u));
        return types::UpdateResponse{};
    }
    Result<std::unique_ptr<StatsReader>> prepare_stats(const std::string& id, const StatsOptions& o) override {
        auto c = BERTH_TRY(svc_.get(id));
        return std::unique_ptr<StatsReader>(new Stats(svc_, std::move(c), o));
    }
    Result<void> export_container(const std::string& id, Writer& out) override {
        // with_rootfs resolves the container before the first byte reaches `out`.
        engine::ContainerFs fs(svc_, d_.images());
        return fs.export_rootfs(id, [&out](std::string_view b) { return out.write(b); });
    }
    Result<std::vector<types::ContainerChange>> changes(const std::string& id) override {
        engine::ContainerFs fs(svc_, d_.images());
        auto found = BERTH_TRY(fs.changes(id));
        std::vector<types::ContainerChange> out;
        out.reserve(found.size());
        for (auto& c : found) out.push_back({std::move(c.path), static_cast<int>(c.kind)});
        return out;
    }
    Result<types::ContainersPruneReport> prune(const Filters& f) override {
        types::ContainersPruneReport rep;
        auto ids = BERTH_TRY(svc_.prune([&](const Container& c) {
            for (const auto& l : f.get("label"))
                if (!has_label(c, l)) return false;
            for (const auto& l : f.get("label!"))
                if (has_label(c, l)) return false;
            for (const auto& u : f.get("until")) {
                auto t = parse_timestamp(u, now_unix_nanos());
                if (t && c.created >= *t) return false;
            }
            return true;
        }));
        rep.containers_deleted = ids;
        return rep;
    }
    Result<types::PathStat> archive_stat(const std::string& id, const std::string& path) override {
        engine::ContainerFs fs(svc_, d_.images());
        auto st = BERTH_TRY(fs.stat(id, path));
        return types::PathStat{st.name, st.size, types::go_file_mode(st.mode), st.mtime_ns,
                               st.link_target};
    }
    Result<std::unique_ptr<ArchiveSource>> prepare_archive_get(const std::string& id,
                                                               const std::string& path) override {
        // The stat is taken now (its errors are still HTTP errors); the tar is written after
        // the headers, under a second with_rootfs (moby also stats, then tars).
        class Source final : public ArchiveSource {
        public:
            Source(engine::ContainerFs fs, std::string id, std::string path, types::PathStat st)
                : fs_(fs), id_(std::move(id)), path_(std::move(path)), st_(std::move(st)) {}
            const types::PathStat& stat() const override { return st_; }
            Result<void> write_to(Writer& out) override {
                return fs_.archive_get(id_, path_,
                                       [&out](std::string_view b) { return out.write(b); });
            }

        private:
            engine::ContainerFs fs_;
            std::string id_, path_;
            types::PathStat st_;
        };
        engine::ContainerFs fs(svc_, d_.images());
        auto st = BERTH_TRY(fs.stat(id, path));
        types::PathStat ps{st.name, st.size, types::go_file_mode(st.mode), st.mtime_ns,
                           st.link_target};
        return std::unique_ptr<ArchiveSource>(new Source(fs, id, path, std::move(ps)));
    }
    Result<void> archive_put(const std::string& id, const std::string& path, BodyReader& body,
                             bool no_overwrite_dir_non_dir, bool copy_uid_gid) override {
        engine::ContainerFs fs(svc_, d_.images());
        std::vector<char> buf(256 * 1024);
        archive::ReadBlockFn next = [&]() -> Result<std::string_view> {
            size_t n = BERTH_TRY(body.read(std::span<char>(buf.data(), buf.size())));
            return std::string_view(buf.data(), n);
        };
        return fs.archive_put(id, path, next, {no_overwrite_dir_non_dir, copy_uid_gid});
    }
    Result<std::string> exec_create(const std::string& id, const ExecCreateParams& p) override {
        engine::ExecInstance e;
        e.cmd = p.cmd;
        e.env = p.env;
        e.user = p.user;
        e.working_dir = p.working_dir;
        e.detach_keys = p.detach_keys;
        e.tty = p.tty;
        e.privileged = p.privileged;
        e.attach_stdin = p.attach_stdin;
        e.attach_stdout = p.attach_stdout;
        e.attach_stderr = p.attach_stderr;
        e.console_size = p.console_size;
        return svc_.exec_create(id, std::move(e));
    }
    Result<std::unique_ptr<AttachSession>> prepare_exec_start(const std::string& exec_id,
                                                              const ExecStartParams& p) override {
        auto x = BERTH_TRY(svc_.exec_get(exec_id));
        auto relay = BERTH_TRY(svc_.prepare_exec_start(exec_id, p.detach));
        if (p.detach) return std::unique_ptr<AttachSession>();
        return std::unique_ptr<AttachSession>(new Session(p.tty || x.tty, std::move(relay)));
    }
    Result<void> exec_resize(const std::string& exec_id, int h, int w) override {
        return svc_.exec_resize(exec_id, h, w);
    }
    Result<types::ExecInspect> exec_inspect(const std::string& exec_id) override {
        auto x = BERTH_TRY(svc_.exec_get(exec_id));
        types::ExecInspect i;
        i.id = x.id;
        i.running = x.running;
        i.exit_code = x.exit_code;
        i.process_config.tty = x.tty;
        i.process_config.entrypoint = x.cmd.empty() ? "" : x.cmd[0];
        i.process_config.arguments.assign(x.cmd.begin() + (x.cmd.empty() ? 0 : 1), x.cmd.end());
        i.process_config.privileged = x.privileged;
        i.process_config.user = x.user;
        i.open_stdin = x.attach_stdin;
        i.open_stdout = x.attach_stdout;
        i.open_stderr = x.attach_stderr;
        i.container_id = x.container_id;
        i.detach_keys = x.detach_keys;
        i.pid = x.pid;
        return i;
    }

private:
    engine::Daemon& d_;
    engine::ContainerService& svc_;
};

}  // namespace

std::unique_ptr<ContainerBackend> make_engine_container_backend(engine::Daemon& daemon) {
    return std::make_unique<EngineContainerBackend>(daemon);
}

}  // namespace berth::api
