#pragma once
// What the container and exec routes need from the engine (moby
// api/server/router/container/backend.go). The routes validate and parse the request, call
// one method, and turn the answer into HTTP; the engine implements this in engine_backend.cpp,
// the route tests with a fake. Every method may be called from several connection threads at
// once. Errors are berth::Error: NotFound 404 ("No such container: web", "No such exec
// instance: <id>"), Conflict 409 ("container <id> is not running"), InvalidArgument 400,
// PermissionDenied 403, Unsupported 501, anything else 500.
//
// Long operations that answer with a stream or a hijacked socket are split in two, as moby's
// routes do with their backends: a prepare_*() call that resolves the container and checks
// everything that can still become an HTTP error, and an object whose run() does the work
// after the route has sent its headers (docker-api.md §3.1, §3.2).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/api/server/filters.hpp"
#include "berth/api/server/io.hpp"
#include "berth/api/server/response.hpp"
#include "berth/api/types/container.hpp"
#include "berth/common/result.hpp"
#include "berth/container/config.hpp"

namespace berth::api {

/// Returns true once the client has gone away (or the server is stopping): stop waiting then.
using CancelledFn = std::function<bool()>;

/// POST /containers/create.
struct CreateParams {
    std::string name;      ///< "" = generate one; validating it is the backend's job
    std::string platform;  ///< "" or "os[/arch[/variant]]" (API >= 1.41)
    /// The parsed body, after the route's version adjustments: NetworkMode "" and "default"
    /// are already "bridge" (as moby's route makes them), PidsLimit <= 0 is nullopt,
    /// AutoRemove is false below 1.25, ConsoleSize is {0,0} below 1.42.
    container::CreateRequest request;
};

struct CreateResult {
    std::string id;                     ///< 64 hex
    std::vector<std::string> warnings;  ///< the route adds its own and writes [] when none
};

/// moby's wait conditions (POST /containers/{id}/wait?condition=).
enum class WaitCondition { NotRunning, NextExit, Removed };

/// A registered wait. It is registered by prepare_wait(), BEFORE the route sends its headers:
/// `docker run` sends wait before start, so an exit between the two must not be missed.
class Waiter {
public:
    virtual ~Waiter() = default;

    /// Blocks until the condition holds and returns the exit status (with Error set when the
    /// wait ended in a failure, e.g. a removal that failed). Poll `cancelled` at least every
    /// 500 ms; once it returns true, return any error (Unavailable): nobody is listening.
    [[nodiscard]] virtual Result<types::WaitResponse> wait(const CancelledFn& cancelled) = 0;
};

/// An attach to a container's stdio, or a started exec, over the hijacked connection.
class AttachSession {
public:
    virtual ~AttachSession() = default;

    /// True when the output is the raw pty stream; false when it must be written as
    /// multiplexed frames (write_mux_frame). The route chooses the hijack's content type by it.
    [[nodiscard]] virtual bool tty() const = 0;

    /// Relays until the process's output ends (or, for a plain attach, the client detaches or
    /// leaves): client bytes from conn.read() are stdin (0 = the client half-closed: EOF to
    /// the process if StdinOnce / always for exec), output goes to conn.write(). For an exec,
    /// record the exit code before returning: clients ask /exec/{id}/json the moment the
    /// stream closes. The route closes the connection when run() returns.
    [[nodiscard]] virtual Result<void> run(HijackedStream& conn) = 0;
};

/// POST /containers/{id}/attach query.
struct AttachOptions {
    bool stream = false;  ///< relay live output (and stdin)
    bool logs = false;    ///< replay the log first
    bool stdin_ = false;
    bool stdout_ = false;
    bool stderr_ = false;
    std::string detach_keys;  ///< "" = the default ctrl-p,ctrl-q
};

/// GET /containers/{id}/logs query.
struct LogsOptions {
    bool stdout_ = false;
    bool stderr_ = false;
    bool follow = false;
    bool timestamps = false;  ///< the route formats them; the backend only supplies time_ns
    bool details = false;     ///< the route prefixes the entry's attrs
    std::optional<int64_t> since_ns;
    std::optional<int64_t> until_ns;
    int64_t tail = -1;  ///< -1 = all
};

/// One log line. `line` includes its trailing '\n' when the process wrote one (a partial line
/// has none); stdout or stderr only.
struct LogEntry {
    MuxStream stream = MuxStream::Stdout;
    std::string_view line;
    int64_t time_ns = 0;
    std::string_view attrs;  ///< "k=v,k2=v2" (details=1), URL-query-escaped and sorted; may be ""
};

/// A prepared log read.
class LogsReader {
public:
    virtual ~LogsReader() = default;

    /// Whether the container has a TTY (raw stream instead of frames).
    [[nodiscard]] virtual bool tty() const = 0;

    /// Emits the selected entries in order; with `follow`, keeps emitting until the container
    /// stops and its log is drained, `until` passes, or `cancelled` (poll it at least every
    /// 500 ms). Stop and return emit's error when emit fails (the client left). An error
    /// returned otherwise is written into the stream as "Error grabbing logs: ...".
    [[nodiscard]] virtual Result<void> run(const std::function<Result<void>(const LogEntry&)>& emit,
                                           const CancelledFn& cancelled) = 0;
};

/// GET /containers/{id}/stats query.
struct StatsOptions {
    bool stream = true;     ///< one document a second until the client leaves
    bool one_shot = false;  ///< with !stream: one sample, no 1 s wait for precpu (API >= 1.41)
};

/// A prepared stats read.
class StatsReader {
public:
    virtual ~StatsReader() = default;

    /// Emits moby's stats documents (docker-api.md §2.2 "Stats"): one without `stream`, one a
    /// second with it until emit fails or `cancelled`.
    [[nodiscard]] virtual Result<void> run(
        const std::function<Result<void>(const nlohmann::json&)>& emit,
        const CancelledFn& cancelled) = 0;
};

/// GET /containers/{id}/archive: a path's stat plus its tar.
class ArchiveSource {
public:
    virtual ~ArchiveSource() = default;

    /// The stat of the path (for X-Docker-Container-Path-Stat), known before any byte is sent.
    [[nodiscard]] virtual const types::PathStat& stat() const = 0;

    /// Writes the tar (top entry: the path's base name) to `out`. Errors: the writer's.
    [[nodiscard]] virtual Result<void> write_to(Writer& out) = 0;
};

/// GET /containers/json options.
struct ListOptions {
    bool all = false;
    int limit = -1;  ///< <= 0: no limit
    bool size = false;
    std::string before;  ///< legacy query parameters (the `before`/`since` filters are newer)
    std::string since;
    /// Validated: ancestor, before, expose, exited, health, id, isolation, is-task, label,
    /// name, network, publish, since, status, volume; status, health and exited values checked.
    Filters filters;
};

/// POST /containers/{id}/update: the Resources fields and RestartPolicy of the body parsed as a
/// HostConfig; a zero field means "unchanged" (moby's update). pids_limit: nullopt unchanged,
/// 0 unlimited.
using UpdateConfig = container::HostConfig;

/// POST /containers/{id}/exec body.
struct ExecCreateParams {
    std::vector<std::string> cmd;  ///< never empty (the route answers 400)
    std::vector<std::string> env;
    std::string user;
    std::string working_dir;
    std::string detach_keys;
    bool tty = false;
    bool privileged = false;
    bool attach_stdin = false;
    bool attach_stdout = false;
    bool attach_stderr = false;
    std::vector<int> console_size;  ///< [h, w] or empty (always empty below API 1.42)
};

/// POST /exec/{id}/start body.
struct ExecStartParams {
    bool detach = false;
    bool tty = false;               ///< the session's tty() should answer this (moby frames by it)
    std::vector<int> console_size;  ///< [h, w], or empty (also when !tty or API < 1.42)
};

/// The container and exec routes' backend.
class ContainerBackend {
public:
    virtual ~ContainerBackend() = default;

    /// POST /containers/create. NotFound must mean the image is missing and say
    /// "No such image: <ref>": the CLI and docker-py pull on a 404 from create. A name in use
    /// is Conflict with moby's wording; an invalid name InvalidArgument.
    [[nodiscard]] virtual Result<CreateResult> create(const CreateParams& p) = 0;

    /// POST /containers/{id}/start. Returns false when it was already running (304).
    [[nodiscard]] virtual Result<bool> start(const std::string& id) = 0;

    /// POST /containers/{id}/stop. `timeout`: seconds before SIGKILL (nullopt: the container's
    /// StopTimeout, else 10; -1 waits forever); `signal`: "" = the container's StopSignal.
    /// Returns false when it was not running (304).
    [[nodiscard]] virtual Result<bool> stop(const std::string& id, std::optional<int> timeout,
                                            const std::string& signal) = 0;

    /// POST /containers/{id}/restart (same parameters as stop).
    [[nodiscard]] virtual Result<void> restart(const std::string& id, std::optional<int> timeout,
                                               const std::string& signal) = 0;

    /// POST /containers/{id}/kill. `signal`: a name with or without "SIG" ("HUP", "SIGHUP") or
    /// a number; the route turns "" into "KILL". Conflict when not running.
    [[nodiscard]] virtual Result<void> kill(const std::string& id, const std::string& signal) = 0;

    /// POST /containers/{id}/wait: registers the wait now (see Waiter).
    [[nodiscard]] virtual Result<std::unique_ptr<Waiter>> prepare_wait(const std::string& id,
                                                                       WaitCondition c) = 0;

    /// DELETE /containers/{id}. Conflict when running and !force (moby's wording).
    [[nodiscard]] virtual Result<void> remove(const std::string& id, bool force, bool volumes,
                                              bool link) = 0;

    /// GET /containers/json, newest first.
    [[nodiscard]] virtual Result<std::vector<types::ContainerSummary>> list(
        const ListOptions& opts) = 0;

    /// GET /containers/{id}/json; `size` fills SizeRw/SizeRootFs.
    [[nodiscard]] virtual Result<types::ContainerInspect> inspect(const std::string& id,
                                                                  bool size) = 0;

    /// POST /containers/{id}/attach. Checks (NotFound, Conflict for a stopped container when
    /// streaming...) happen here, before the route hijacks the connection.
    [[nodiscard]] virtual Result<std::unique_ptr<AttachSession>> prepare_attach(
        const std::string& id, const AttachOptions& opts) = 0;

    /// POST /containers/{id}/resize?h=&w=. Conflict when not running.
    [[nodiscard]] virtual Result<void> resize(const std::string& id, int height, int width) = 0;

    /// GET /containers/{id}/logs. Unsupported when the log driver keeps nothing to read.
    [[nodiscard]] virtual Result<std::unique_ptr<LogsReader>> prepare_logs(
        const std::string& id, const LogsOptions& opts) = 0;

    /// GET /containers/{id}/top. `ps_args` "" means "-ef". Conflict when not running.
    [[nodiscard]] virtual Result<types::ContainerTop> top(const std::string& id,
                                                          const std::string& ps_args) = 0;

    /// POST /containers/{id}/rename?name=. The route refuses an empty name.
    [[nodiscard]] virtual Result<void> rename(const std::string& id,
                                              const std::string& new_name) = 0;

    /// POST /containers/{id}/pause. Conflict when not running or already paused.
    [[nodiscard]] virtual Result<void> pause(const std::string& id) = 0;

    /// POST /containers/{id}/unpause. Conflict when not paused.
    [[nodiscard]] virtual Result<void> unpause(const std::string& id) = 0;

    /// POST /containers/{id}/update.
    [[nodiscard]] virtual Result<types::UpdateResponse> update(const std::string& id,
                                                               const UpdateConfig& u) = 0;

    /// GET /containers/{id}/stats.
    [[nodiscard]] virtual Result<std::unique_ptr<StatsReader>> prepare_stats(
        const std::string& id, const StatsOptions& opts) = 0;

    /// GET /containers/{id}/export: writes the container's filesystem as a tar. Nothing may be
    /// written before the container is resolved, so that NotFound is still a 404.
    [[nodiscard]] virtual Result<void> export_container(const std::string& id, Writer& out) = 0;

    /// GET /containers/{id}/changes.
    [[nodiscard]] virtual Result<std::vector<types::ContainerChange>> changes(
        const std::string& id) = 0;

    /// POST /containers/prune. `filters` validated: label, label!, until.
    [[nodiscard]] virtual Result<types::ContainersPruneReport> prune(const Filters& filters) = 0;

    /// HEAD /containers/{id}/archive?path=. NotFound for a missing path.
    [[nodiscard]] virtual Result<types::PathStat> archive_stat(const std::string& id,
                                                               const std::string& path) = 0;

    /// GET /containers/{id}/archive?path=.
    [[nodiscard]] virtual Result<std::unique_ptr<ArchiveSource>> prepare_archive_get(
        const std::string& id, const std::string& path) = 0;

    /// PUT /containers/{id}/archive?path=: extracts the tar in `body` (maybe compressed) into
    /// the directory `path`. InvalidArgument when it is not a directory, PermissionDenied on a
    /// read-only rootfs, NotFound when missing.
    [[nodiscard]] virtual Result<void> archive_put(const std::string& id, const std::string& path,
                                                   BodyReader& body, bool no_overwrite_dir_non_dir,
                                                   bool copy_uid_gid) = 0;

    /// POST /containers/{id}/exec. Returns the exec ID. Conflict when the container is not
    /// running ("container <id> is not running") or paused.
    [[nodiscard]] virtual Result<std::string> exec_create(const std::string& id,
                                                          const ExecCreateParams& p) = 0;

    /// POST /exec/{id}/start. With p.detach the process is started here and nullptr is
    /// returned (the route answers 200 with no body); otherwise the returned session starts it
    /// in run(). NotFound "No such exec instance: <id>", Conflict when already started.
    [[nodiscard]] virtual Result<std::unique_ptr<AttachSession>> prepare_exec_start(
        const std::string& exec_id, const ExecStartParams& p) = 0;

    /// POST /exec/{id}/resize?h=&w=.
    [[nodiscard]] virtual Result<void> exec_resize(const std::string& exec_id, int height,
                                                   int width) = 0;

    /// GET /exec/{id}/json.
    [[nodiscard]] virtual Result<types::ExecInspect> exec_inspect(const std::string& exec_id) = 0;
};

}  // namespace berth::api
