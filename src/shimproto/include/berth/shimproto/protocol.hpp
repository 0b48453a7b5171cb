#pragma once
// The contract between berthd and berth-shim (one shim per running container).
//
// Launch: berthd keeps one `berth-shim --launcher` (cmd/berth-shim/launcher.hpp), its fd 3 a
// SOCK_SEQPACKET connection to berthd. For each start berthd sends it one packet,
// {"dir":"<exec-dir>","debug":bool}, with the descriptors the new shim gets as its 0, 1, 2, ...
// in that order; the launcher forks, and the child is the shim, in a session of its own. The
// fork happens ahead: the launcher sends berthd {"op":"spare"} with a socket to a child that
// waits for the next such packet, which berthd sends there instead, and then {"op":
// "spare-taken"} to the launcher for the next spare.
//
// Start: berthd writes the container's OCI bundle and <exec-dir>/shim.json (ShimConfig), then
// launches a shim with fd 1 on a pipe (the ready pipe) and, from fd 3 on, the attach streams
// that were waiting for the start (a client socket and a done channel each; their numbers are
// in ShimConfig::attaches) and one end of a SOCK_SEQPACKET pair that is a monitor connection
// from the start (ShimConfig::monitor_fd: an exit that comes before berthd could connect,
// `run --rm ... true`, is not missed). The shim starts the container at once and writes one
// line to the ready pipe: {"pid":N} or {"error":"...","code":"NotFound|..."} (the launcher
// writes the error when it cannot fork). The container's output reaches those attaches from
// its first byte.
//
// Afterwards berthd talks to the shim over <exec-dir>/shim.sock (SOCK_SEQPACKET, one JSON
// object per packet, descriptors attached with SCM_RIGHTS):
//   {"op":"monitor"}  → {"pid":N}; the connection stays open and carries events:
//                       {"event":"exit", ExitRecord...} and {"event":"exec-exit","exec_id","exit_code"}
//   {"op":"attach", AttachRequest} + [client socket, done channel] → {"ok":true} or {"error"}
//   {"op":"exec", ExecRequest} + [client socket, done channel] (none when detached)
//                     → {"pid":N} or {"error","code"}; exit comes as an exec-exit event and, for
//                       an attached exec, on the done channel once its output is flushed.
//   {"op":"resize","exec_id":"" (the container) or id,"height":H,"width":W} → {"ok":true}
// A done channel (SOCK_SEQPACKET) gets one packet when its attach ends: {"detached":bool} for
// attaches, {"exit_code":N} for an attached exec; the shim has closed the client socket
// before, so berthd's handler can return and the client sees EOF right after.
//
// Exit: when the container's init exits the shim drains its output, writes <exec-dir>/exit.json
// (ExitRecord, atomically), sends the exit event, waits (2 s at most) for berthd to hang up
// its monitor connections (berthd only shuts down its sending side), then deletes the runtime's
// container and exits: the close of its end tells berthd that the teardown is over. exit.json
// is the truth a restarted berthd reads when the shim is gone.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "berth/common/result.hpp"

namespace berth::shimproto {

/// An attach stream: which of the container's streams it carries and how.
struct AttachRequest {
    bool stdin_ = false;
    bool stdout_ = false;
    bool stderr_ = false;
    std::string detach_keys;  ///< "ctrl-p,ctrl-q" syntax; "" = none
    std::string leftover;     ///< client bytes berthd already read past the request (stdin)
    int client_fd = -1;       ///< in ShimConfig::attaches: the inherited fd numbers
    int done_fd = -1;
};

struct ShimConfig {
    std::string id;            ///< the container ID (also the runtime's ID)
    std::string bundle;        ///< the OCI bundle (config.json)
    std::string runtime_root;  ///< the runtime library's state root
    std::string log_path;      ///< json-file log; "" with log driver "none"
    std::map<std::string, std::string> log_opts;
    bool tty = false;
    bool open_stdin = false;
    bool stdin_once = false;
    std::vector<AttachRequest> attaches;
    int monitor_fd = -1;  ///< inherited fd: a connection that gets the events ({"op":"monitor"})
};

/// What the shim records when the container's init exits (exit.json).
struct ExitRecord {
    int exit_code = 0;        ///< 128+signal when killed by a signal
    bool oom_killed = false;
    int64_t finished_at_ns = 0;
    std::string error;        ///< "" normally
};

/// The files of a container's exec dir.
struct ShimPaths {
    std::string dir;
    [[nodiscard]] std::string config() const { return dir + "/shim.json"; }
    [[nodiscard]] std::string socket() const { return dir + "/shim.sock"; }
    [[nodiscard]] std::string exit_file() const { return dir + "/exit.json"; }
    [[nodiscard]] std::string log() const { return dir + "/shim.log"; }
};

/// `docker exec` as the shim runs it: the process (OCI process JSON, complete) and its stdio.
struct ExecRequest {
    std::string exec_id;
    std::string process_json;  ///< oci::Process as JSON
    bool tty = false;
    AttachRequest attach;      ///< streams; none of them when detached
    bool detached = false;
};

void to_json(nlohmann::json& j, const AttachRequest& a);
void to_json(nlohmann::json& j, const ShimConfig& c);
void to_json(nlohmann::json& j, const ExitRecord& e);
void to_json(nlohmann::json& j, const ExecRequest& e);

[[nodiscard]] Result<AttachRequest> parse_attach_request(const nlohmann::json& j);
[[nodiscard]] Result<ShimConfig> parse_shim_config(std::string_view text);
[[nodiscard]] Result<ExitRecord> parse_exit_record(std::string_view text);
/// The record an exit event carries (the same fields as exit.json).
[[nodiscard]] Result<ExitRecord> exit_record_from(const nlohmann::json& j);
[[nodiscard]] Result<ExecRequest> parse_exec_request(const nlohmann::json& j);

}  // namespace berth::shimproto
