#pragma once
// A fake ContainerBackend for the container and exec route tests: one canned container "web"
// (ID kId), canned answers, and a record of what the routes passed in. Waits, attaches, logs
// and stats are controllable from the test so that ordering (headers before results) can be
// checked. "nosuch*" names are missing containers; "stopped" is a container that is not
// running. Thread-safe where the docker CLI calls it from parallel requests.

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "berth/api/server/container_backend.hpp"

namespace berth::api::test {

class FakeContainerBackend : public ContainerBackend {
public:
    static inline const std::string kId = std::string(64, 'c');
    static inline const std::string kExecId = std::string(64, 'e');

    enum class WaitMode { Immediate, Block, AfterStart };

    // ---- test controls ----
    bool tty = false;  ///< the container's Config.Tty (and session/logs tty)
    WaitMode wait_mode = WaitMode::Immediate;
    int64_t wait_status = 0;
    bool follow_blocks = false;  ///< logs: after the canned lines, wait until released
    int exec_exit_code = 0;

    /// Releases blocked waits and followed logs.
    void release() {
        std::lock_guard lk(mu_);
        released_ = true;
        cv_.notify_all();
    }

    /// True once a blocked wait or log follow noticed that its client left.
    std::atomic<bool> saw_cancel{false};
    std::atomic<bool> started{false};
    std::atomic<int> waits_prepared{0};

    // ---- what the routes passed ----
    std::mutex rec_mu;
    CreateParams last_create;
    std::string last_id;
    std::optional<int> last_timeout;
    std::string last_signal;
    bool last_force = false, last_volumes = false, last_link = false;
    ListOptions last_list;
    bool last_size = false;
    AttachOptions last_attach;
    LogsOptions last_logs;
    int last_h = 0, last_w = 0;
    std::string last_ps_args;
    std::string last_new_name;
    UpdateConfig last_update;
    StatsOptions last_stats;
    Filters last_prune;
    std::string last_path;
    bool last_no_overwrite = false, last_copy_uid_gid = false;
    std::string put_body;
    ExecCreateParams last_exec_create;
    ExecStartParams last_exec_start;
    WaitCondition last_condition = WaitCondition::NotRunning;

    static Result<void> check(const std::string& id) {
        if (id.rfind("nosuch", 0) == 0)
            return make_error(Errc::NotFound, "No such container: {}", id);
        return {};
    }

    Result<CreateResult> create(const CreateParams& p) override {
        {
            std::lock_guard lk(rec_mu);
            last_create = p;
        }
        if (p.request.config.image.rfind("nosuch", 0) == 0)
            return make_error(Errc::NotFound, "No such image: {}:latest", p.request.config.image);
        if (p.name == "taken")
            return make_error(Errc::Conflict,
                              "Conflict. The container name \"/taken\" is already in use by "
                              "container \"{}\". You have to remove (or rename) that container "
                              "to be able to reuse that name.",
                              kId);
        return CreateResult{kId, {}};
    }

    Result<bool> start(const std::string& id) override {
        BERTH_TRY(check(id));
        record(id);
        if (id == "running") return false;
        started = true;
        cv_notify();
        return true;
    }

    Result<bool> stop(const std::string& id, std::optional<int> timeout,
                      const std::string& signal) override {
        BERTH_TRY(check(id));
        record_stop(id, timeout, signal);
        return id != "stopped";
    }

    Result<void> restart(const std::string& id, std::optional<int> timeout,
                         const std::string& signal) override {
        BERTH_TRY(check(id));
        record_stop(id, timeout, signal);
        return {};
    }

    Result<void> kill(const std::string& id, const std::string& signal) override {
        BERTH_TRY(check(id));
        {
            std::lock_guard lk(rec_mu);
            last_id = id;
            last_signal = signal;
        }
        if (id == "stopped") return make_error(Errc::Conflict, "container {} is not running", kId);
        return {};
    }

    class FakeWaiter : public Waiter {
    public:
        explicit FakeWaiter(FakeContainerBackend& b) : b_(b) {}
        Result<types::WaitResponse> wait(const CancelledFn& cancelled) override {
            std::unique_lock lk(b_.mu_);
            for (;;) {
                if (b_.wait_mode == WaitMode::Immediate) break;
                if (b_.wait_mode == WaitMode::Block && b_.released_) break;
                if (b_.wait_mode == WaitMode::AfterStart && b_.started) break;
                if (cancelled()) {
                    b_.saw_cancel = true;
                    return make_error(Errc::Unavailable, "client gone");
                }
                b_.cv_.wait_for(lk, std::chrono::milliseconds(20));
            }
            types::WaitResponse r;
            r.status_code = b_.wait_status;
            if (b_.wait_status == 99) r.error = "removal failed";
            return r;
        }

    private:
        FakeContainerBackend& b_;
    };

    Result<std::unique_ptr<Waiter>> prepare_wait(const std::string& id, WaitCondition c) override {
        BERTH_TRY(check(id));
        {
            std::lock_guard lk(rec_mu);
            last_id = id;
            last_condition = c;
        }
        ++waits_prepared;
        return std::unique_ptr<Waiter>(new FakeWaiter(*this));
    }

    Result<void> remove(const std::string& id, bool force, bool volumes, bool link) override {
        BERTH_TRY(check(id));
        std::lock_guard lk(rec_mu);
        last_id = id;
        last_force = force;
        last_volumes = volumes;
        last_link = link;
        if (id == "running" && !force)
            return make_error(Errc::Conflict,
                              "cannot remove container \"running\": container is running: stop "
                              "the container before removing or force remove");
        return {};
    }

    Result<std::vector<types::ContainerSummary>> list(const ListOptions& opts) override {
        {
            std::lock_guard lk(rec_mu);
            last_list = opts;
        }
        types::ContainerSummary s;
        s.id = kId;
        s.names = {"/web"};
        s.image = "busybox";
        s.image_id = "sha256:" + std::string(64, 'a');
        s.command = "sh -c 'sleep 100'";
        s.created = 1700000000;
        s.ports = {{"0.0.0.0", 80, 8080, "tcp"}, {"", 443, 0, "tcp"}};
        s.labels = {{"a", "b"}};
        s.state = "running";
        s.status = "Up 2 minutes";
        s.network_mode = "bridge";
        types::EndpointSettings ep;
        ep.network_id = std::string(64, 'n');
        ep.ip_address = "172.17.0.2";
        ep.ip_prefix_len = 16;
        s.networks["bridge"] = ep;
        if (opts.size) s.size_rw = 12;
        return std::vector<types::ContainerSummary>{s};
    }

    Result<types::ContainerInspect> inspect(const std::string& id, bool size) override {
        BERTH_TRY(check(id));
        {
            std::lock_guard lk(rec_mu);
            last_size = size;
        }
        types::ContainerInspect c;
        c.id = kId;
        c.created_ns = 1'700'000'000'123'456'789;
        c.path = "sh";
        c.args = {"-c", "sleep 100"};
        c.state.status = id == "stopped" ? "exited" : "running";
        c.state.running = id != "stopped";
        c.state.pid = id == "stopped" ? 0 : 4242;
        c.state.started_at_ns = id == "stopped" ? 0 : 1'700'000'001'000'000'000;
        c.image = "sha256:" + std::string(64, 'a');
        c.name = "/web";
        c.config.image = "busybox";
        c.config.tty = tty;
        c.config.cmd = std::vector<std::string>{"sh", "-c", "sleep 100"};
        c.host_config.network_mode = "bridge";
        c.host_config.log_config.type = "json-file";
        c.network_settings.ports["80/tcp"] = {{"0.0.0.0", "8080"}};
        c.network_settings.ports["443/tcp"] = {};
        types::EndpointSettings ep;
        ep.aliases = {kId.substr(0, 12)};
        ep.ip_address = "172.17.0.2";
        c.network_settings.networks["bridge"] = ep;
        if (size) {
            c.size_rw = 12;
            c.size_root_fs = 4096;
        }
        return c;
    }

    /// Echo session: stdin comes back as stdout frames (raw with a TTY); after stdin EOF it
    /// writes "bye" on stderr. With `output` set (the CLI tests), it waits for start, writes
    /// `output` and ends without reading stdin.
    class FakeSession : public AttachSession {
    public:
        FakeSession(FakeContainerBackend& b, bool tty, std::string output, bool fail)
            : b_(b), tty_(tty), output_(std::move(output)), fail_(fail) {}
        bool tty() const override { return tty_; }
        Result<void> run(HijackedStream& conn) override {
            if (fail_) return make_error(Errc::Internal, "exec failed: executable file not found");
            if (!output_.empty()) {
                if (wait_start_) {
                    std::unique_lock lk(b_.mu_);
                    b_.cv_.wait_for(lk, std::chrono::seconds(5), [&] { return b_.started.load(); });
                } else {
                    // A real process writes a little after the 101. docker-py reads the 101
                    // through a buffered reader and then takes the raw socket: bytes that
                    // arrived with the headers would be lost to it (so they are with moby).
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                }
                return write(conn, MuxStream::Stdout, output_);
            }
            char buf[4096];
            for (;;) {
                size_t n = BERTH_TRY(conn.read(std::span<char>(buf, sizeof buf)));
                if (n == 0) break;
                BERTH_TRY(write(conn, MuxStream::Stdout, std::string_view(buf, n)));
            }
            return write(conn, MuxStream::Stderr, "bye");
        }
        bool wait_start_ = false;

    private:
        Result<void> write(HijackedStream& conn, MuxStream s, std::string_view d) {
            if (tty_) return conn.write(d);
            return write_mux_frame(conn, s, d);
        }
        FakeContainerBackend& b_;
        bool tty_;
        std::string output_;
        bool fail_;
    };

    std::string attach_output;  ///< set: the session writes this after start (CLI tests)

    Result<std::unique_ptr<AttachSession>> prepare_attach(const std::string& id,
                                                          const AttachOptions& opts) override {
        BERTH_TRY(check(id));
        {
            std::lock_guard lk(rec_mu);
            last_id = id;
            last_attach = opts;
        }
        if (id == "stopped")
            return make_error(Errc::Conflict,
                              "You cannot attach to a stopped container, start it first");
        auto s = std::make_unique<FakeSession>(*this, tty, attach_output, false);
        s->wait_start_ = true;
        return std::unique_ptr<AttachSession>(std::move(s));
    }

    Result<void> resize(const std::string& id, int h, int w) override {
        BERTH_TRY(check(id));
        std::lock_guard lk(rec_mu);
        last_id = id;
        last_h = h;
        last_w = w;
        return {};
    }

    class FakeLogs : public LogsReader {
    public:
        FakeLogs(FakeContainerBackend& b, bool tty) : b_(b), tty_(tty) {}
        bool tty() const override { return tty_; }
        Result<void> run(const std::function<Result<void>(const LogEntry&)>& emit,
                         const CancelledFn& cancelled) override {
            if (b_.follow_blocks) {
                // Nothing yet: the test checks that the headers came anyway.
                std::unique_lock lk(b_.mu_);
                while (!b_.released_) {
                    if (cancelled()) {
                        b_.saw_cancel = true;
                        return {};
                    }
                    b_.cv_.wait_for(lk, std::chrono::milliseconds(20));
                }
            }
            BERTH_TRY(
                emit(LogEntry{MuxStream::Stdout, "hello\n", 1'700'000'000'500'000'000, "tag=web"}));
            BERTH_TRY(emit(LogEntry{MuxStream::Stderr, "oops\n", 1'700'000'001'000'000'000, ""}));
            if (b_.logs_fail) return make_error(Errc::Internal, "log file is corrupt");
            return {};
        }

    private:
        FakeContainerBackend& b_;
        bool tty_;
    };
    bool logs_fail = false;

    Result<std::unique_ptr<LogsReader>> prepare_logs(const std::string& id,
                                                     const LogsOptions& opts) override {
        BERTH_TRY(check(id));
        {
            std::lock_guard lk(rec_mu);
            last_logs = opts;
        }
        return std::unique_ptr<LogsReader>(new FakeLogs(*this, tty));
    }

    Result<types::ContainerTop> top(const std::string& id, const std::string& ps_args) override {
        BERTH_TRY(check(id));
        {
            std::lock_guard lk(rec_mu);
            last_ps_args = ps_args;
        }
        if (id == "stopped") return make_error(Errc::Conflict, "container {} is not running", kId);
        types::ContainerTop t;
        t.titles = {"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"};
        t.processes = {{"root", "4242", "4200", "0", "10:00", "?", "00:00:00", "sleep 100"}};
        return t;
    }

    Result<void> rename(const std::string& id, const std::string& new_name) override {
        BERTH_TRY(check(id));
        std::lock_guard lk(rec_mu);
        last_id = id;
        last_new_name = new_name;
        return {};
    }

    Result<void> pause(const std::string& id) override {
        BERTH_TRY(check(id));
        record(id);
        return {};
    }

    Result<void> unpause(const std::string& id) override {
        BERTH_TRY(check(id));
        record(id);
        if (id == "running") return make_error(Errc::Conflict, "Container {} is not paused", kId);
        return {};
    }

    Result<types::UpdateResponse> update(const std::string& id, const UpdateConfig& u) override {
        BERTH_TRY(check(id));
        std::lock_guard lk(rec_mu);
        last_update = u;
        return types::UpdateResponse{};
    }

    class FakeStats : public StatsReader {
    public:
        explicit FakeStats(bool stream) : stream_(stream) {}
        Result<void> run(const std::function<Result<void>(const nlohmann::json&)>& emit,
                         const CancelledFn& cancelled) override {
            for (int i = 0;; ++i) {
                BERTH_TRY(emit(nlohmann::json{{"id", kId}, {"name", "/web"}, {"n", i}}));
                if (!stream_ || cancelled()) return {};
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        }

    private:
        bool stream_;
    };

    Result<std::unique_ptr<StatsReader>> prepare_stats(const std::string& id,
                                                       const StatsOptions& opts) override {
        BERTH_TRY(check(id));
        {
            std::lock_guard lk(rec_mu);
            last_stats = opts;
        }
        return std::unique_ptr<StatsReader>(new FakeStats(opts.stream));
    }

    Result<void> export_container(const std::string& id, Writer& out) override {
        BERTH_TRY(check(id));
        BERTH_TRY(out.write(std::string(512, 'T')));
        return out.write(std::string(512, 'U'));
    }

    Result<std::vector<types::ContainerChange>> changes(const std::string& id) override {
        BERTH_TRY(check(id));
        return std::vector<types::ContainerChange>{{"/tmp", 0}, {"/tmp/new", 1}, {"/etc/x", 2}};
    }

    Result<types::ContainersPruneReport> prune(const Filters& filters) override {
        {
            std::lock_guard lk(rec_mu);
            last_prune = filters;
        }
        types::ContainersPruneReport r;
        r.containers_deleted = {kId};
        r.space_reclaimed = 2048;
        return r;
    }

    static types::PathStat stat_of(const std::string& path) {
        types::PathStat s;
        s.name = path.substr(path.rfind('/') + 1);
        s.size = 5;
        s.mode = types::go_file_mode(path == "/tmp" ? (S_IFDIR | 01777) : (S_IFREG | 0644));
        s.mtime_ns = 1'700'000'000'000'000'000;
        return s;
    }

    Result<types::PathStat> archive_stat(const std::string& id, const std::string& path) override {
        BERTH_TRY(check(id));
        if (path == "/missing")
            return make_error(Errc::NotFound, "Could not find the file {} in container {}", path,
                              id);
        return stat_of(path);
    }

    class FakeArchive : public ArchiveSource {
    public:
        explicit FakeArchive(types::PathStat s) : s_(std::move(s)) {}
        const types::PathStat& stat() const override { return s_; }
        Result<void> write_to(Writer& out) override { return out.write("TARBYTES"); }

    private:
        types::PathStat s_;
    };

    Result<std::unique_ptr<ArchiveSource>> prepare_archive_get(const std::string& id,
                                                               const std::string& path) override {
        auto st = BERTH_TRY(archive_stat(id, path));
        return std::unique_ptr<ArchiveSource>(new FakeArchive(st));
    }

    Result<void> archive_put(const std::string& id, const std::string& path, BodyReader& body,
                             bool no_overwrite_dir_non_dir, bool copy_uid_gid) override {
        BERTH_TRY(check(id));
        std::string data = BERTH_TRY(read_all(body, 1u << 20));
        std::lock_guard lk(rec_mu);
        last_path = path;
        last_no_overwrite = no_overwrite_dir_non_dir;
        last_copy_uid_gid = copy_uid_gid;
        put_body = data;
        if (path == "/etc/hostname")
            return make_error(Errc::InvalidArgument, "extraction point is not a directory");
        return {};
    }

    Result<std::string> exec_create(const std::string& id, const ExecCreateParams& p) override {
        BERTH_TRY(check(id));
        {
            std::lock_guard lk(rec_mu);
            last_exec_create = p;
        }
        if (id == "stopped") return make_error(Errc::Conflict, "container {} is not running", kId);
        return kExecId;
    }

    std::string exec_output;  ///< set: the exec session writes this instead of echoing
    bool exec_fails = false;

    Result<std::unique_ptr<AttachSession>> prepare_exec_start(const std::string& exec_id,
                                                              const ExecStartParams& p) override {
        if (exec_id != kExecId)
            return make_error(Errc::NotFound, "No such exec instance: {}", exec_id);
        {
            std::lock_guard lk(rec_mu);
            last_exec_start = p;
        }
        if (p.detach) return std::unique_ptr<AttachSession>();
        return std::unique_ptr<AttachSession>(
            new FakeSession(*this, p.tty, exec_output, exec_fails));
    }

    Result<void> exec_resize(const std::string& exec_id, int h, int w) override {
        if (exec_id != kExecId)
            return make_error(Errc::NotFound, "No such exec instance: {}", exec_id);
        std::lock_guard lk(rec_mu);
        last_h = h;
        last_w = w;
        return {};
    }

    Result<types::ExecInspect> exec_inspect(const std::string& exec_id) override {
        if (exec_id != kExecId)
            return make_error(Errc::NotFound, "No such exec instance: {}", exec_id);
        types::ExecInspect e;
        e.id = kExecId;
        e.container_id = kId;
        e.exit_code = exec_exit_code;
        e.process_config.entrypoint = "echo";
        e.process_config.arguments = {"hi"};
        e.process_config.privileged = false;
        e.open_stdout = true;
        e.open_stderr = true;
        return e;
    }

private:
    void record_stop(const std::string& id, std::optional<int> timeout,
                     const std::string& signal) {
        std::lock_guard lk(rec_mu);
        last_id = id;
        last_timeout = timeout;
        last_signal = signal;
    }
    void record(const std::string& id) {
        std::lock_guard lk(rec_mu);
        last_id = id;
    }
    void cv_notify() {
        std::lock_guard lk(mu_);
        cv_.notify_all();
    }

    std::mutex mu_;
    std::condition_variable cv_;
    bool released_ = false;
};

}  // namespace berth::api::test
