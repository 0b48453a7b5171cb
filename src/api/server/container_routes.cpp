// The container routes (moby api/server/router/container/container_routes.go, copy.go):
// create, start/stop/restart/kill, wait, delete, list, inspect, attach, resize, logs, top,
// rename, pause/unpause, update, stats, export, changes, prune, archive. The exec routes are in
// exec_routes.cpp; register_container_routes() adds both.

#include <algorithm>
#include <climits>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "berth/api/server/container_backend.hpp"
#include "berth/api/server/routes.hpp"
#include "berth/common/log.hpp"
#include "berth/common/strings.hpp"
#include "berth/common/time.hpp"
#include "container_routes_internal.hpp"

namespace berth::api {

namespace detail {

Result<int> query_int(const Request& req, std::string_view key) {
    std::string v = req.query.get(key);
    auto n = parse_int(v);
    if (!n || *n < INT_MIN || *n > INT_MAX)
        return make_error(Errc::InvalidArgument, "strconv.Atoi: parsing \"{}\": invalid syntax", v);
    return static_cast<int>(*n);
}

Result<void> check_json_content_type(const Request& req) {
    auto ct = req.header("Content-Type");
    if (!ct || ct->empty()) return {};
    std::string_view t = trim(std::string_view(*ct).substr(0, ct->find(';')));
    if (t == "application/json") return {};
    return make_error(Errc::InvalidArgument,
                      "unsupported Content-Type header ({}): must be 'application/json'", *ct);
}

std::string fixed_rfc3339_nano(int64_t unix_ns) {
    // format_rfc3339_nano drops trailing zeros; logs pad the fraction to 9 digits
    // (moby's jsonmessage.RFC3339NanoFixed) so that the lines align.
    std::string s = format_rfc3339_nano(unix_ns);
    if (!s.empty() && s.back() == 'Z') s.pop_back();
    size_t dot = s.find('.');
    if (dot == std::string::npos) {
        s += ".000000000";
    } else {
        size_t digits = s.size() - dot - 1;
        if (digits < 9) s.append(9 - digits, '0');
    }
    return s + "Z";
}

Handler bind_route(ContainerBackend& backend, ContainerRoute fn) {
    return [&backend, fn](Request& req, ResponseWriter& rw) { return fn(backend, req, rw); };
}

Result<void> relay_hijacked(AttachSession& session, ResponseWriter& rw, bool write_error,
                            std::string_view what) {
    HijackedStream* conn = BERTH_TRY(rw.hijack(!session.tty()));
    auto r = session.run(*conn);
    if (!r) {
        BLOG_DEBUG("api: {}: {}", what, r.error().what());
        // moby writes an exec's start failure into the stream for the user to see.
        if (write_error) {
            std::string msg = std::string(r.error().what()) + "\r\n";
            if (session.tty())
                (void)conn->write(msg);
            else
                (void)write_mux_frame(*conn, MuxStream::Stdout, msg);
        }
    }
    // The connection is the answer: whatever happened, it is closed when the handler returns.
    return {};
}

}  // namespace detail

namespace {

using json = nlohmann::json;
using detail::query_int;

constexpr size_t kCreateBodyLimit = 16u << 20;

bool is_host_or_container_mode(const std::string& mode) {
    return mode == "host" || mode.rfind("container:", 0) == 0;
}

bool is_user_defined_network(const std::string& mode) {
    return !mode.empty() && mode != "default" && mode != "bridge" && mode != "none" &&
           !is_host_or_container_mode(mode);
}

// moby's handleMACAddressBC: the container-wide MacAddress (deprecated at 1.44) moves to the
// endpoint of the main network.
Result<void> migrate_mac_address(container::CreateRequest& cr, const Request& req,
                                 std::vector<std::string>& warnings) {
    auto& mac = cr.config.mac_address;
    auto& eps = cr.networking_config.endpoints_config;
    const std::string& mode = cr.host_config.network_mode;
    bool new_api = req.version_at_least("1.44");
    if (mac.empty()) {
        // Older clients could not set a per-endpoint address; whatever they sent is ignored.
        if (!new_api)
            for (auto& [name, ep] : eps) ep.mac_address.clear();
        return {};
    }
    bool migratable = mode == "bridge" || is_user_defined_network(mode);
    if (!migratable && !new_api)
        return make_error(Errc::InvalidArgument,
                          "conflicting options: mac-address and the network mode");
    if (migratable) {
        container::EndpointSettings* ep = nullptr;
        if (eps.empty()) {
            ep = &eps[mode];
        } else if (!new_api) {
            ep = &eps.begin()->second;
        } else if (auto it = eps.find(mode); it != eps.end()) {
            ep = &it->second;
        } else {
            return make_error(Errc::InvalidArgument,
                              "unable to migrate container-wide MAC address to a specific "
                              "network: HostConfig.NetworkMode must match the identity of a "
                              "network in NetworkSettings.Networks");
        }
        if (ep->mac_address.empty())
            ep->mac_address = mac;
        else if (ep->mac_address != mac && new_api)
            return make_error(Errc::InvalidArgument,
                              "the container-wide MAC address must match the endpoint-specific "
                              "MAC address for the main network, or be left empty");
    }
    if (new_api) {
        warnings.push_back(
            "The container-wide MacAddress field is now deprecated. It should be specified in "
            "EndpointsConfig instead.");
        mac.clear();
    }
    return {};
}

// The version-dependent adjustments of moby's postContainersCreate.
Result<void> adjust_create_request(container::CreateRequest& cr, const Request& req,
                                   std::vector<std::string>& warnings) {
    auto& hc = cr.host_config;
    auto& eps = cr.networking_config.endpoints_config;
    // "default" means the daemon's default network; moby resolves it here, once.
    if (hc.network_mode.empty() || hc.network_mode == "default") {
        hc.network_mode = "bridge";
        if (auto it = eps.find("default"); it != eps.end()) {
            auto node = eps.extract(it);
            node.key() = "bridge";
            eps.insert(std::move(node));
        }
    }
    if (!req.version_at_least("1.25")) hc.auto_remove = false;  // the client removes it
    if (!req.version_at_least("1.40")) {
        for (auto& m : hc.mounts)
            if (m.bind_options) m.bind_options->non_recursive = false;
        hc.kernel_memory_tcp = 0;
        if (hc.ipc_mode.empty()) hc.ipc_mode = "shareable";
    }
    if (!req.version_at_least("1.42")) {
        for (auto& m : hc.mounts) {
            if (m.bind_options) m.bind_options->create_mountpoint = false;
            if (m.volume_options && m.type != "volume") m.volume_options.reset();
            if (m.tmpfs_options && m.type != "tmpfs") m.tmpfs_options.reset();
            if (m.bind_options && m.type != "bind") m.bind_options.reset();
        }
        hc.console_size = {0, 0};  // not honoured by Linux daemons before 1.42
    } else {
        for (const auto& m : hc.mounts) {
            if (m.volume_options && m.type != "volume")
                return make_error(Errc::InvalidArgument,
                                  "VolumeOptions must not be specified on mount type \"{}\"",
                                  m.type);
            if (m.bind_options && m.type != "bind")
                return make_error(Errc::InvalidArgument,
                                  "BindOptions must not be specified on mount type \"{}\"", m.type);
            if (m.tmpfs_options && m.type != "tmpfs")
                return make_error(Errc::InvalidArgument,
                                  "TmpfsOptions must not be specified on mount type \"{}\"",
                                  m.type);
        }
    }
    if (!req.version_at_least("1.43")) hc.annotations.clear();
    if (!req.version_at_least("1.44")) {
        for (const auto& m : hc.mounts)
            if (m.type == "bind" && m.bind_options && m.bind_options->read_only_force_recursive)
                return make_error(Errc::InvalidArgument,
                                  "BindOptions.ReadOnlyForceRecursive needs API v1.44 or newer");
        if (eps.size() > 1) {
            std::vector<std::string> names;
            for (const auto& [name, ep] : eps) names.push_back(name);
            return make_error(Errc::InvalidArgument,
                              "Container cannot be created with multiple network endpoints: {}",
                              join(names, ", "));
        }
    }
    if (!req.version_at_least("1.45")) {
        for (const auto& m : hc.mounts)
            if (m.volume_options && !m.volume_options->subpath.empty())
                return make_error(Errc::InvalidArgument,
                                  "VolumeOptions.Subpath needs API v1.45 or newer");
    }
    BERTH_TRY(migrate_mac_address(cr, req, warnings));
    // 0 and -1 (and historically any negative value) mean "unlimited".
    if (hc.pids_limit && *hc.pids_limit <= 0) hc.pids_limit.reset();
    return {};
}

Result<void> post_containers_create(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    BERTH_TRY(detail::check_json_content_type(req));
    std::string text = BERTH_TRY_CTX(read_all(req.body(), kCreateBodyLimit), "read request body");
    std::string_view body = trim(text);
    if (body.empty())
        return make_error(Errc::InvalidArgument,
                          "invalid JSON: got EOF while reading request body");
    if (body == "null")
        return make_error(Errc::InvalidArgument,
                          "config cannot be empty in order to create a container");
    CreateParams p;
    p.name = req.query.get("name");
    if (req.version_at_least("1.41")) p.platform = req.query.get("platform");
    auto cr = container::parse_create_request(body);
    if (!cr) {
        Error e = std::move(cr).error();
        e.code = Errc::InvalidArgument;  // whatever the parser says, it is the client's body
        return Unexpected(std::move(e));
    }
    p.request = std::move(*cr);
    std::vector<std::string> warnings;
    BERTH_TRY(adjust_create_request(p.request, req, warnings));
    CreateResult res = BERTH_TRY(b.create(p));
    res.warnings.insert(res.warnings.end(), warnings.begin(), warnings.end());
    return rw.send_json(
        201, json{{"Id", res.id},
                  {"Warnings", res.warnings.empty() ? json::array() : json(res.warnings)}});
}

Result<void> post_containers_start(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    // A body (a HostConfig) was how start took options before 1.24; moby refuses one now.
    // "A non-nil json object is at least 7 characters."
    auto body = read_all(req.body(), 7);
    if (!body)
        return make_error(Errc::InvalidArgument,
                          "starting container with non-empty request body was deprecated since "
                          "API v1.22 and removed in v1.24");
    // `checkpoint` and `checkpoint-dir` (experimental CRIU restore) are ignored.
    bool changed = BERTH_TRY(b.start(req.var("name")));
    return rw.send_status(changed ? 204 : 304);
}

Result<std::optional<int>> stop_timeout(const Request& req) {
    if (req.query.get("t").empty()) return std::optional<int>{};
    return std::optional<int>(BERTH_TRY(query_int(req, "t")));
}

Result<void> post_containers_stop(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    auto timeout = BERTH_TRY(stop_timeout(req));
    std::string signal = req.version_at_least("1.42") ? req.query.get("signal") : "";
    bool changed = BERTH_TRY(b.stop(req.var("name"), timeout, signal));
    return rw.send_status(changed ? 204 : 304);
}

Result<void> post_containers_restart(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    auto timeout = BERTH_TRY(stop_timeout(req));
    std::string signal = req.version_at_least("1.42") ? req.query.get("signal") : "";
    BERTH_TRY(b.restart(req.var("name"), timeout, signal));
    return rw.send_status(204);
}

Result<void> post_containers_kill(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    std::string name = req.var("name");
    std::string signal = req.query.get("signal");
    if (signal.empty()) signal = "KILL";
    auto r = b.kill(name, signal);
    if (!r) return Unexpected(std::move(r).error().wrap("cannot kill container: {}", name));
    return rw.send_status(204);
}

Result<void> post_containers_wait(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    // Before 1.30 there was no condition and the answer came whole at the end.
    bool legacy = !req.version_at_least("1.30");
    WaitCondition cond = WaitCondition::NotRunning;
    if (std::string c = req.query.get("condition"); !legacy && !c.empty()) {
        if (c == "not-running")
            cond = WaitCondition::NotRunning;
        else if (c == "next-exit")
            cond = WaitCondition::NextExit;
        else if (c == "removed")
            cond = WaitCondition::Removed;
        else
            return make_error(Errc::InvalidArgument, "invalid condition: \"{}\"", c);
    }
    auto waiter = BERTH_TRY(b.prepare_wait(req.var("name"), cond));
    if (legacy) {
        types::WaitResponse res = BERTH_TRY(waiter->wait([] { return false; }));
        return rw.send_json(200, res);
    }
    // Headers now: `docker run` waits for them before it sends start (docker-api.md §3.1).
    StreamWriter* out = BERTH_TRY(rw.start_stream(200, "application/json"));
    auto res = waiter->wait([out] { return out->client_gone(); });
    if (!res) {
        if (out->client_gone()) return {};  // `run -d` drops its wait: nothing to answer
        types::WaitResponse failed;
        failed.status_code = -1;
        failed.error = res.error().what();
        (void)out->finish_json_line(failed);
        return {};
    }
    // The answer and the body's end in one write.
    (void)out->finish_json_line(*res);
    return {};
}

Result<void> delete_container(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    BERTH_TRY(b.remove(req.var("name"), req.query.get_bool("force"), req.query.get_bool("v"),
                       req.query.get_bool("link")));
    return rw.send_status(204);
}

// moby's acceptedPsFilterTags and the value checks of daemon/list.go.
Result<void> validate_list_filters(const Filters& f) {
    BERTH_TRY(f.validate({"ancestor", "before", "expose", "exited", "health", "id", "isolation",
                          "is-task", "label", "name", "network", "publish", "since", "status",
                          "volume"}));
    static constexpr std::string_view kStates[] = {"created", "restarting", "running", "removing",
                                                   "paused",  "exited",     "dead"};
    for (const auto& v : f.get("status"))
        if (std::find(std::begin(kStates), std::end(kStates), v) == std::end(kStates))
            return make_error(Errc::InvalidArgument, "invalid filter 'status={}'", v);
    static constexpr std::string_view kHealth[] = {"starting", "healthy", "unhealthy", "none"};
    for (const auto& v : f.get("health"))
        if (std::find(std::begin(kHealth), std::end(kHealth), v) == std::end(kHealth))
            return make_error(Errc::InvalidArgument, "Unrecognised filter value for health: {}", v);
    for (const auto& v : f.get("exited")) {
        auto n = parse_int(v);
        if (!n || *n < INT_MIN || *n > INT_MAX)
            return make_error(Errc::InvalidArgument, "strconv.Atoi: parsing \"{}\": invalid syntax",
                              v);
    }
    bool present = false;
    BERTH_TRY(f.get_bool("is-task", present));
    return {};
}

Result<void> get_containers_json(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    ListOptions o;
    o.filters = BERTH_TRY(req.filters());
    BERTH_TRY(validate_list_filters(o.filters));
    o.all = req.query.get_bool("all");
    o.size = req.query.get_bool("size");
    o.before = req.query.get("before");
    o.since = req.query.get("since");
    if (!req.query.get("limit").empty()) o.limit = BERTH_TRY(query_int(req, "limit"));
    auto list = BERTH_TRY(b.list(o));
    json out = json::array();
    for (const auto& c : list) out.push_back(c);
    return rw.send_json(200, out);
}

Result<void> get_container_json(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    auto c = BERTH_TRY(b.inspect(req.var("name"), req.query.get_bool("size")));
    return rw.send_json(200, c);
}

Result<void> post_containers_attach(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    AttachOptions o;
    o.stream = req.query.get_bool("stream");
    o.logs = req.query.get_bool("logs");
    o.stdin_ = req.query.get_bool("stdin");
    o.stdout_ = req.query.get_bool("stdout");
    o.stderr_ = req.query.get_bool("stderr");
    o.detach_keys = req.query.get("detachKeys");
    // Everything that can fail as an HTTP error fails here, before the 101.
    auto session = BERTH_TRY(b.prepare_attach(req.var("name"), o));
    return detail::relay_hijacked(*session, rw, false, "attach " + req.var("name"));
}

Result<void> get_containers_attach_ws(ContainerBackend&, Request&, ResponseWriter&) {
    return make_error(Errc::Unsupported,
                      "attach over a websocket is not supported: use POST /containers/{{id}}/"
                      "attach");
}

Result<void> post_containers_resize(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    int h = BERTH_TRY(query_int(req, "h"));
    int w = BERTH_TRY(query_int(req, "w"));
    BERTH_TRY(b.resize(req.var("name"), h, w));
    return rw.send(200, "", "");
}

// A log time as `since`/`until` give it; 0 (docker-py's default) means unset.
Result<std::optional<int64_t>> log_time(const Request& req, std::string_view key, int64_t now) {
    std::string v = req.query.get(key);
    if (v.empty()) return std::optional<int64_t>{};
    int64_t t = BERTH_TRY_CTX(parse_timestamp(v, now), "invalid value for {}", key);
    if (t == 0) return std::optional<int64_t>{};
    return std::optional<int64_t>(t);
}

Result<void> get_containers_logs(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    LogsOptions o;
    o.stdout_ = req.query.get_bool("stdout");
    o.stderr_ = req.query.get_bool("stderr");
    if (!o.stdout_ && !o.stderr_)
        return make_error(Errc::InvalidArgument,
                          "Bad parameters: you must choose at least one stream");
    o.follow = req.query.get_bool("follow");
    o.timestamps = req.query.get_bool("timestamps");
    o.details = req.query.get_bool("details");
    int64_t now = now_unix_nanos();
    o.since_ns = BERTH_TRY(log_time(req, "since", now));
    o.until_ns = BERTH_TRY(log_time(req, "until", now));
    // moby reads a tail it cannot parse as "all".
    if (std::string t = req.query.get("tail"); !t.empty() && t != "all") {
        auto n = parse_int(t);
        if (n && *n >= 0) o.tail = *n;
    }
    auto reader = BERTH_TRY(b.prepare_logs(req.var("name"), o));
    bool mux = !reader->tty();
    const char* type = mux && req.version_at_least("1.42")
                           ? "application/vnd.docker.multiplexed-stream"
                           : "application/vnd.docker.raw-stream";
    // Headers first, so that `logs -f` on a quiet container returns at once.
    StreamWriter* out = BERTH_TRY(rw.start_stream(200, type));
    std::string buf;
    auto emit = [&](const LogEntry& e) -> Result<void> {
        if ((e.stream == MuxStream::Stdout && !o.stdout_) ||
            (e.stream == MuxStream::Stderr && !o.stderr_))
            return {};
        buf.clear();
        if (o.timestamps) {
            buf += detail::fixed_rfc3339_nano(e.time_ns);
            buf += ' ';
        }
        if (o.details) {
            buf.append(e.attrs);
            buf += ' ';
        }
        buf.append(e.line);
        if (mux) return write_mux_frame(*out, e.stream, buf);
        return out->write(buf);
    };
    auto r = reader->run(emit, [out] { return out->client_gone(); });
    if (!r && !out->failed() && !out->client_gone()) {
        // moby writes it in band on the "system error" stream (3).
        std::string msg = fmt::format("Error grabbing logs: {}\n", r.error().what());
        if (mux)
            (void)out->write(
                mux_header(static_cast<MuxStream>(3), static_cast<uint32_t>(msg.size())) + msg);
        else
            (void)out->write(msg);
    }
    return {};
}

Result<void> get_containers_top(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    auto top = BERTH_TRY(b.top(req.var("name"), req.query.get("ps_args")));
    return rw.send_json(200, top);
}

Result<void> post_container_rename(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    std::string name = req.query.get("name");
    if (name.empty())
        return make_error(Errc::InvalidArgument, "Neither old nor new names may be empty");
    BERTH_TRY(b.rename(req.var("name"), name));
    return rw.send_status(204);
}

Result<void> post_containers_pause(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    BERTH_TRY(b.pause(req.var("name")));
    return rw.send_status(204);
}

Result<void> post_containers_unpause(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    BERTH_TRY(b.unpause(req.var("name")));
    return rw.send_status(204);
}

Result<void> post_container_update(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    BERTH_TRY(detail::check_json_content_type(req));
    json body = BERTH_TRY(req.json_body(true));
    if (body.is_null()) body = json::object();
    if (!body.is_object())
        return make_error(Errc::InvalidArgument, "invalid JSON: expected an object, got {}",
                          body.type_name());
    auto parsed = container::parse_host_config(body, "");
    if (!parsed) {
        Error e = std::move(parsed).error();
        e.code = Errc::InvalidArgument;
        return Unexpected(std::move(e));
    }
    UpdateConfig u = std::move(*parsed);
    if (!req.version_at_least("1.40")) u.pids_limit.reset();
    if (u.pids_limit && *u.pids_limit <= 0) u.pids_limit = 0;  // both 0 and -1: unlimited
    auto res = BERTH_TRY(b.update(req.var("name"), u));
    return rw.send_json(200, res);
}

Result<void> get_containers_stats(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    StatsOptions o;
    o.stream = req.query.get_bool_or("stream", true);
    o.one_shot = req.version_at_least("1.41") && req.query.get_bool_or("one-shot", false);
    auto reader = BERTH_TRY(b.prepare_stats(req.var("name"), o));
    if (!o.stream) {
        json doc;
        BERTH_TRY(reader->run(
            [&doc](const json& j) -> Result<void> {
                doc = j;
                return {};
            },
            [] { return false; }));
        return rw.send_json(200, doc);
    }
    StreamWriter* out = BERTH_TRY(rw.start_stream(200, "application/json"));
    auto r = reader->run([out](const json& j) { return out->write_json_line(j); },
                         [out] { return out->client_gone(); });
    if (!r) BLOG_DEBUG("api: stats {}: {}", req.var("name"), r.error().what());
    return {};
}

Result<void> get_containers_export(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    LazyStream out(rw, "application/x-tar");
    // After the first byte an error can only cut the tar short (the connection is dropped).
    BERTH_TRY(b.export_container(req.var("name"), out));
    return out.start();
}

Result<void> get_containers_changes(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    auto changes = BERTH_TRY(b.changes(req.var("name")));
    json out = json::array();
    for (const auto& c : changes) out.push_back(c);
    return rw.send_json(200, out);
}

Result<void> post_containers_prune(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    Filters f = BERTH_TRY(req.filters());
    BERTH_TRY(f.validate({"label", "label!", "until"}));
    auto report = BERTH_TRY(b.prune(f));
    // The CLI fails with "EOF" on an empty body: always answer with the JSON report.
    return rw.send_json(200, report);
}

Result<std::string> archive_path(const Request& req) {
    std::string path = req.query.get("path");
    if (path.empty())
        return make_error(Errc::InvalidArgument, "bad parameter: path cannot be empty");
    return path;
}

Result<void> head_containers_archive(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    std::string path = BERTH_TRY(archive_path(req));
    types::PathStat st = BERTH_TRY(b.archive_stat(req.var("name"), path));
    rw.set_header("X-Docker-Container-Path-Stat", types::path_stat_header(st));
    return rw.send(200, "", "");
}

Result<void> get_containers_archive(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    std::string path = BERTH_TRY(archive_path(req));
    auto src = BERTH_TRY(b.prepare_archive_get(req.var("name"), path));
    rw.set_header("X-Docker-Container-Path-Stat", types::path_stat_header(src->stat()));
    LazyStream out(rw, "application/x-tar");
    BERTH_TRY(src->write_to(out));
    return out.start();
}

Result<void> put_containers_archive(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    std::string path = BERTH_TRY(archive_path(req));
    BERTH_TRY(b.archive_put(req.var("name"), path, req.body(),
                            req.query.get_bool("noOverwriteDirNonDir"),
                            req.query.get_bool("copyUIDGID")));
    return rw.send(200, "", "");
}

}  // namespace

void register_container_routes(Router& router, ContainerBackend& backend) {
    auto bind = [&backend](detail::ContainerRoute fn) { return detail::bind_route(backend, fn); };
    // moby's container router, in its order (fixed paths first where they could collide).
    router.add("HEAD", "/containers/{name:.*}/archive", bind(head_containers_archive));
    router.add("GET", "/containers/json", bind(get_containers_json));
    router.add("GET", "/containers/{name:.*}/export", bind(get_containers_export));
    router.add("GET", "/containers/{name:.*}/changes", bind(get_containers_changes));
    router.add("GET", "/containers/{name:.*}/json", bind(get_container_json));
    router.add("GET", "/containers/{name:.*}/top", bind(get_containers_top));
    router.add("GET", "/containers/{name:.*}/logs", bind(get_containers_logs));
    router.add("GET", "/containers/{name:.*}/stats", bind(get_containers_stats));
    router.add("GET", "/containers/{name:.*}/attach/ws", bind(get_containers_attach_ws));
    router.add("GET", "/containers/{name:.*}/archive", bind(get_containers_archive));
    router.add("POST", "/containers/create", bind(post_containers_create));
    router.add("POST", "/containers/prune", bind(post_containers_prune));
    router.add("POST", "/containers/{name:.*}/kill", bind(post_containers_kill));
    router.add("POST", "/containers/{name:.*}/pause", bind(post_containers_pause));
    router.add("POST", "/containers/{name:.*}/unpause", bind(post_containers_unpause));
    router.add("POST", "/containers/{name:.*}/restart", bind(post_containers_restart));
    router.add("POST", "/containers/{name:.*}/start", bind(post_containers_start));
    router.add("POST", "/containers/{name:.*}/stop", bind(post_containers_stop));
    router.add("POST", "/containers/{name:.*}/wait", bind(post_containers_wait));
    router.add("POST", "/containers/{name:.*}/resize", bind(post_containers_resize));
    router.add("POST", "/containers/{name:.*}/attach", bind(post_containers_attach));
    router.add("POST", "/containers/{name:.*}/rename", bind(post_container_rename));
    router.add("POST", "/containers/{name:.*}/update", bind(post_container_update));
    router.add("PUT", "/containers/{name:.*}/archive", bind(put_containers_archive));
    router.add("DELETE", "/containers/{name:.*}", bind(delete_container));
    detail::register_exec_routes(router, backend);
}

}  // namespace berth::api
