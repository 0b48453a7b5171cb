#pragma once
// How the container verbs print what the daemon answers, as docker/cli does: ps rows
// (formatter/container.go), port mappings, stats rows computed from two samples
// (container/stats_helpers.go), event lines (system/events.go), and `since`/`until` converted
// on the client side (timetypes.GetTimestamp).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "berth/common/result.hpp"

namespace berth::cli {

inline constexpr std::string_view kPsTable =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
inline constexpr std::string_view kPsTableSize =
    "table "
    "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{."
    "Size}}";
inline constexpr std::string_view kStatsTable =
    "table "
    "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{."
    "PIDs}}";

/// One `ps` row from a GET /containers/json entry (`trunc`: !--no-trunc; `now`: unix seconds).
nlohmann::json container_row(const nlohmann::json& c, bool trunc, int64_t now);
/// Column titles for ps rows.
const nlohmann::json& container_headers();

/// docker's DisplayablePorts: "0.0.0.0:8080->80/tcp, 443/tcp" from a list entry's Ports.
std::string displayable_ports(const nlohmann::json& ports);

/// `port` output from inspect's NetworkSettings: every mapping ("80/tcp -> 0.0.0.0:8080"), or
/// only the host addresses of `want` ("80/tcp"). nullopt if `want` has no mapping.
std::optional<std::string> port_lines(const nlohmann::json& network_settings,
                                      const std::string& want);

/// One `stats` row from a stats document (with precpu_stats). `container`: what the user typed
/// ("" → the ID); `trunc` shortens the ID to 12.
nlohmann::json stats_row(const nlohmann::json& s, const std::string& container, bool trunc);
/// Column titles for stats rows.
const nlohmann::json& stats_headers();

/// The CPU percentage docker computes: Δtotal_usage / Δsystem_cpu_usage × online CPUs × 100.
double cpu_percent(const nlohmann::json& s);
/// Memory usage minus the inactive file cache (cgroup v1 total_inactive_file, v2 inactive_file).
double memory_usage(const nlohmann::json& s);

/// An event as `docker events` prints it:
/// "2026-11-24T05:00:00.000000000Z container create <id> (image=busybox, name=web)".
std::string event_line(const nlohmann::json& ev);

/// GetTimestamp as the CLI sends since/until: a duration ("10m"), RFC 3339 date or unix time
/// → "<seconds>.<nanoseconds, 9 digits>". `now_ns`: the current time.
[[nodiscard]] Result<std::string> api_timestamp(std::string_view value, int64_t now_ns);

}  // namespace berth::cli
