#include <algorithm>
#include <chrono>

#include "berth/api/server/event_filter.hpp"
#include "berth/api/server/routes.hpp"
#include "berth/common/time.hpp"

namespace berth::api {

namespace {

constexpr std::chrono::milliseconds kEventPoll{250};

Result<void> get_version(SystemBackend& b, Request& req, ResponseWriter& rw) {
    types::Version v = BERTH_TRY(b.version());
    if (v.api_version.empty()) v.api_version = req.server->api_version;
    if (v.min_api_version.empty()) v.min_api_version = req.server->min_api_version;
    if (v.version.empty()) v.version = req.server->server_version;
    return rw.send_json(200, v);
}

Result<void> get_info(SystemBackend& b, Request& req, ResponseWriter& rw) {
    types::Info info = BERTH_TRY(b.info());
    if (info.server_version.empty()) info.server_version = req.server->server_version;
    return rw.send_json(200, info);
}

Result<void> get_disk_usage(SystemBackend& b, Request& req, ResponseWriter& rw) {
    types::DiskUsageOptions parts;
    // `type` (API >= 1.42) selects parts; absent means all of them.
    auto wanted = req.query.get_all("type");
    if (req.version_at_least("1.42") && !wanted.empty()) {
        parts = types::DiskUsageOptions{false, false, false, false};
        for (const auto& t : wanted) {
            if (t == "container")
                parts.containers = true;
            else if (t == "image")
                parts.images = true;
            else if (t == "volume")
                parts.volumes = true;
            else if (t == "build-cache")
                parts.build_cache = true;
            else
                return make_error(Errc::InvalidArgument, "unknown object type: {}", t);
        }
    }
    types::DiskUsage du = BERTH_TRY(b.disk_usage(parts));
    du.parts = parts;
    return rw.send_json(200, du);
}

Result<void> post_system_check(SystemBackend& b, Request& req, ResponseWriter& rw) {
    types::SystemCheckReport r = BERTH_TRY(b.system_check(req.query.get_bool("repair")));
    return rw.send_json(200, r);
}

// GET /events (docker-api.md §3.4): headers flushed at once, then one JSON line per event,
// until `until` passes, the client leaves or the backend ends.
Result<void> get_events(SystemBackend& b, Request& req, ResponseWriter& rw) {
    int64_t now = now_unix_nanos();
    EventQuery q;
    q.filters = BERTH_TRY(req.filters());
    BERTH_TRY(validate_event_filters(q.filters));
    if (std::string s = req.query.get("since"); !s.empty())
        q.since_ns = BERTH_TRY(parse_timestamp(s, now));
    if (std::string u = req.query.get("until"); !u.empty())
        q.until_ns = BERTH_TRY(parse_timestamp(u, now));
    if (q.since_ns && q.until_ns && *q.until_ns < *q.since_ns)
        return make_error(Errc::InvalidArgument,
                          "`since` time ({}) cannot be after `until` time ({})",
                          req.query.get("since"), req.query.get("until"));
    auto sub = BERTH_TRY(b.subscribe_events(q));
    StreamWriter* out = BERTH_TRY(rw.start_stream(200, "application/json"));
    // `until` in the past: send what the buffer holds and end (no waiting for live events).
    bool past_only = q.until_ns && *q.until_ns <= now;
    for (;;) {
        if (out->client_gone()) return {};
        auto wait = kEventPoll;
        if (past_only) {
            wait = std::chrono::milliseconds(0);
        } else if (q.until_ns) {
            int64_t left = *q.until_ns - now_unix_nanos();
            if (left <= 0) return {};
            wait = std::min(wait, std::chrono::milliseconds(left / 1'000'000 + 1));
        }
        types::EventMessage ev;
        switch (sub->next(wait, ev)) {
            case EventSubscription::Wait::Ended:
                return {};
            case EventSubscription::Wait::Timeout:
                if (past_only) return {};
                continue;
            case EventSubscription::Wait::Event:
                break;
        }
        if (q.since_ns && ev.time_nano < *q.since_ns) continue;
        if (q.until_ns && ev.time_nano > *q.until_ns) {
            if (past_only) return {};
            continue;
        }
        if (!event_matches(q.filters, ev)) continue;
        // A write error means the client left: a normal end for an event stream.
        if (!out->write_json_line(ev)) return {};
    }
}

}  // namespace

void register_system_routes(Router& router, SystemBackend& backend) {
    auto bind = [&backend](Result<void> (*fn)(SystemBackend&, Request&, ResponseWriter&)) {
        return [&backend, fn](Request& req, ResponseWriter& rw) { return fn(backend, req, rw); };
    };
    router.add("GET", "/version", bind(get_version));
    router.add("GET", "/info", bind(get_info));
    router.add("GET", "/system/df", bind(get_disk_usage));
    router.add("GET", "/events", bind(get_events));
    router.add("POST", "/berth/system/check", bind(post_system_check));
}

}  // namespace berth::api
