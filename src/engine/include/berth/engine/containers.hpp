#pragma once
// Containers as Docker users know them (moby daemon/create.go, start.go, stop.go, kill.go,
// delete.go, attach.go, exec.go, monitor.go, restart policies). Each running container has a
// berth-shim (shimproto/protocol.hpp) that owns its process and stdio; this service owns the
// records, names, the rootfs mounts, the shims' lifecycle, waits, events and restart policies,
// and re-adopts running containers when berthd restarts.
//
// On disk: <data-root>/containers/<id>/ holds config.v2.json (the record, rewritten atomically
// on every change; an --rm container's is in its exec directory), the json-file log, upper/
// work/ merged/ (the overlay, over the image's init layer and layers).
// <exec-root>/containers/<id>/ holds what each run rebuilds: config.json (the OCI bundle),
// hostname, hosts, resolv.conf, and the shim's files (shim.json, shim.sock, exit.json,
// shim.log); <exec-root>/netns/ the containers' network namespaces (netns_pool.hpp)
// and <exec-root>/runtime the runtime's state.
//
// Thread-safety: every method may be called from any connection thread. Operations on one
// container are serialised; different containers proceed in parallel.

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "berth/cgroups/manager.hpp"
#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/container/config.hpp"
#include "berth/container/spec_builder.hpp"
#include "berth/engine/events.hpp"
#include "berth/image/image_service.hpp"
#include "berth/runtime/runtime.hpp"

namespace berth::shimproto {
struct ExitRecord;
}

namespace berth::engine {

enum class RunState { Created, Running, Paused, Restarting, Removing, Exited, Dead };

/// "created", "running", ... as moby's State.Status.
[[nodiscard]] std::string_view to_string(RunState s) noexcept;

/// One health probe (moby's HealthcheckResult).
struct HealthResult {
    int64_t start = 0;  ///< unix ns
    int64_t end = 0;
    int exit_code = 0;  ///< 0 healthy, 1 unhealthy, -1 could not run / timed out
    std::string output;
};

/// State.Health: present while a container with a health check runs (and after).
struct HealthState {
    std::string status = "starting";  ///< "starting", "healthy", "unhealthy"
    int failing_streak = 0;
    std::vector<HealthResult> log;  ///< the last 5 probes, oldest first
};

struct ContainerState {
    RunState status = RunState::Created;
    int pid = 0;
    int exit_code = 0;
    std::string error;
    bool oom_killed = false;
    int64_t started_at = 0;   ///< unix ns; 0 = never
    int64_t finished_at = 0;  ///< unix ns; 0 = never
    bool has_been_started = false;
    bool manually_stopped = false;  ///< stopped by the user: restart policies leave it alone
    std::optional<HealthState> health;
};

/// A container's record (what inspect shows), persisted as config.v2.json.
struct Container {
    std::string id;
    std::string name;  ///< "/web"
    int64_t created = 0;
    std::string image_id;  ///< "sha256:<hex>", the image's inspect Id
    std::string path;
    std::vector<std::string> args;
    container::Config config;  ///< merged with the image's config
    container::HostConfig host_config;
    container::NetworkingConfig networking;
    ContainerState state;
    int restart_count = 0;
    std::string log_path;
    std::string hostname_path;
    std::string hosts_path;
    std::string resolv_conf_path;
    /// The network namespace berthd made for the current run (netns_pool.hpp), a file under
    /// <exec-root>/netns; empty when the container has none of its own or is not running.
    std::string sandbox_key;
    std::vector<std::string> exec_ids;
    std::string platform = "linux";
};

/// An exec instance (moby's ExecConfig), kept while its container lives.
struct ExecInstance {
    std::string id;
    std::string container_id;
    std::vector<std::string> cmd;
    std::vector<std::string> env;
    std::string user;
    std::string working_dir;
    std::string detach_keys;
    bool tty = false;
    bool privileged = false;
    bool attach_stdin = false;
    bool attach_stdout = false;
    bool attach_stderr = false;
    std::vector<int> console_size;
    bool running = false;
    bool started = false;
    std::optional<int> exit_code;
    int pid = 0;
};

struct CreateOptions {
    std::string name;  ///< "" = generated
    std::string platform;
    container::CreateRequest request;
};

struct ListOptions {
    bool all = false;
};

enum class WaitCondition { NotRunning, NextExit, Removed };

/// A client socket handed to a shim (attach, exec): the connection after the HTTP hijack.
struct ClientStream {
    int fd = -1;           ///< borrowed; the shim gets a duplicate
    std::string leftover;  ///< bytes already read from it (stdin)
};

/// What an attach asks for.
struct AttachRequest {
    bool stdin_ = false;
    bool stdout_ = false;
    bool stderr_ = false;
    std::string detach_keys;
};

class DeferredRemoval;
class ShimLauncher;
class NetnsPool;
class SpareDirs;
class UserFilesCache;

class ContainerService {
public:
    struct Paths {
        std::string data_root;
        std::string exec_root;
        std::string shim_binary;  ///< berth-shim
        std::string init_binary;  ///< for --init; "" when there is none
        std::string cgroup_parent = "/berth";  ///< default parent of containers' cgroups
    };

    /// Loads every container under <data_root>/containers and re-adopts running ones through
    /// their shims (a shim that is gone leaves its exit.json, or the container is marked
    /// exited with an error).
    [[nodiscard]] static Result<std::unique_ptr<ContainerService>> open(Paths paths,
                                                                        image::ImageService& images,
                                                                        EventBus& events);
    ~ContainerService();
    ContainerService(const ContainerService&) = delete;
    ContainerService& operator=(const ContainerService&) = delete;

    /// Creates a container from an image. NotFound "No such image: x" when the image is
    /// missing; Conflict for a name in use (moby's text); InvalidArgument for a bad config.
    [[nodiscard]] Result<Container> create(const CreateOptions& o,
                                           std::vector<std::string>* warnings);

    /// Starts it (false if it was running already).
    [[nodiscard]] Result<bool> start(std::string_view name);

    /// Stops it: StopSignal (or `signal`), then SIGKILL after `timeout` seconds (nullopt: the
    /// container's StopTimeout or 10; -1: no SIGKILL). False if it was not running.
    [[nodiscard]] Result<bool> stop(std::string_view name, std::optional<int> timeout,
                                    const std::string& signal);
    [[nodiscard]] Result<void> restart(std::string_view name, std::optional<int> timeout,
                                       const std::string& signal);
    [[nodiscard]] Result<void> kill(std::string_view name, const std::string& signal);

    /// Registers a wait now; the returned function blocks until it holds and returns
    /// {exit code, error text}. It polls `cancelled` every 500 ms.
    using WaitFn = std::function<Result<std::pair<int, std::string>>(
        const std::function<bool()>& cancelled)>;
    [[nodiscard]] Result<WaitFn> prepare_wait(std::string_view name, WaitCondition c);

    [[nodiscard]] Result<void> remove(std::string_view name, bool force, bool volumes);

    /// Containers newest first (running only unless o.all).
    [[nodiscard]] std::vector<Container> list(const ListOptions& o) const;
    [[nodiscard]] Result<Container> get(std::string_view name) const;

    /// Where the runtime mounts over the container's root filesystem (its OCI spec's mount
    /// destinations), as berthd would generate the spec now. NotFound for no such container.
    [[nodiscard]] Result<std::vector<std::string>> mount_destinations(std::string_view name) const;

    /// Checks an attach (NotFound, Conflict when stopped), then the returned function relays
    /// `client` until it ends (detach, client gone, or the container's output ends).
    using RelayFn = std::function<Result<void>(const ClientStream& client)>;
    [[nodiscard]] Result<RelayFn> prepare_attach(std::string_view name, const AttachRequest& r);

    [[nodiscard]] Result<void> resize(std::string_view name, int height, int width);
    [[nodiscard]] Result<void> rename(std::string_view name, const std::string& new_name);
    [[nodiscard]] Result<void> pause(std::string_view name);
    [[nodiscard]] Result<void> unpause(std::string_view name);
    [[nodiscard]] Result<std::vector<pid_t>> pids(std::string_view name);
    [[nodiscard]] Result<cgroups::Stats> stats(std::string_view name);
    /// Applies new resources and restart policy (zero fields unchanged).
    [[nodiscard]] Result<void> update(std::string_view name, const container::HostConfig& u);

    /// The container's root filesystem mounted (read-only use: export, archive, changes) for
    /// the time `fn` runs: the running container's rootfs, or a temporary mount.
    [[nodiscard]] Result<void> with_rootfs(std::string_view name,
                                           const std::function<Result<void>(const std::string& rootfs,
                                                                            const std::string& upper)>& fn);

    [[nodiscard]] Result<std::string> exec_create(std::string_view name, ExecInstance e);
    /// Starts an exec: detached (client nullopt) it returns at once; attached, the returned
    /// function relays the client and returns once the exit code is recorded.
    [[nodiscard]] Result<RelayFn> prepare_exec_start(const std::string& exec_id, bool detach);
    [[nodiscard]] Result<void> exec_resize(const std::string& exec_id, int height, int width);
    [[nodiscard]] Result<ExecInstance> exec_get(const std::string& exec_id) const;

    /// Removes stopped containers accepted by `keep`(container) == false. Returns the IDs.
    [[nodiscard]] Result<std::vector<std::string>> prune(
        const std::function<bool(const Container&)>& select);

    /// Whether a container uses the image (for rmi): the ID of one, or nothing.
    [[nodiscard]] std::optional<std::string> image_user(const std::string& image_id) const;

    /// Counts for /info.
    struct Counts {
        int total = 0, running = 0, paused = 0, stopped = 0;
    };
    [[nodiscard]] Counts counts() const;

    /// Stops watching shims (containers keep running; a new berthd re-adopts them).
    void shutdown();

    struct Entry;
    struct Exec;

private:
    ContainerService(Paths paths, image::ImageService& images, EventBus& events);
    Result<void> load_all();
    Result<std::shared_ptr<Entry>> find(std::string_view name) const;
    Result<void> save(const Entry& e);
    void publish(const Container& c, std::string_view action,
                 std::map<std::string, std::string> extra = {});
    Result<void> start_locked(Entry& e);
    /// Mounts the container's root filesystem (overlay) at merged/, if it is not.
    Result<void> mount_rootfs(Entry& e);
    Result<void> mount_overlay(Entry& e);
    /// Waits for a mount create() began (Entry::mounting), if one is under way.
    static void settle_mount(Entry& e);
    void unmount_rootfs(Entry& e);
    container::SpecInputs spec_inputs(const Entry& e) const;
    /// The container's /etc/passwd and /etc/group for its spec: its image's, kept in users_,
    /// while its upper layer is empty (no need to wait for its mount); else read through its
    /// mounted root filesystem (and kept for the image if the upper layer is still empty).
    Result<container::UserFiles> user_files(Entry& e);
    Result<void> write_bundle(Entry& e, container::UserFiles users);
    Result<void> adopt(Entry& e);
    void watch_shim(const std::shared_ptr<Entry>& e, UniqueFd monitor);
    void monitor_loop();
    /// Acts on a container's exit: from the record of the shim's exit event when there is one,
    /// else from exit.json. Takes the container's op lock, unless `op` holds it already.
    void on_shim_gone(const std::shared_ptr<Entry>& e, const shimproto::ExitRecord* event = nullptr,
                      std::unique_lock<std::mutex> op = {});
    void handle_exit(const std::shared_ptr<Entry>& e, int exit_code, bool oom, int64_t finished,
                     std::string error, std::unique_lock<std::mutex> op);
    void maybe_restart(const std::shared_ptr<Entry>& e);
    Result<void> remove_locked(const std::shared_ptr<Entry>& e);
    Result<bool> wait_exit(Entry& e, uint64_t seq, int timeout_ms);
    /// Starts the health monitor of a container that just started, if it has a check.
    void start_health(const std::shared_ptr<Entry>& e);
    void health_loop(std::shared_ptr<Entry> e, uint64_t generation);
    Result<HealthResult> probe(Entry& e, const std::vector<std::string>& test, int64_t timeout_ns);
    std::string container_dir(const std::string& id) const;
    /// The runtime library's globals for this daemon's containers (<exec-root>/runtime).
    runtime::Globals runtime_globals() const;
    /// An exec's process as JSON for the shim: `ec` over the container's config.json.
    Result<std::string> exec_process_json(const Entry& e, container::ExecConfig ec) const;
    std::string shim_dir(const std::string& id) const;
    /// Where a container's record (config.v2.json) is kept: its directory on the data root; for
    /// a container that removes itself (--rm), its exec directory (see create()).
    std::string record_path(const Container& c) const;
    /// Whether the container runs in a network namespace of its own (not the host's, nor
    /// another container's): one from netns_ then.
    static bool own_network_namespace(const Container& c);
    /// Hands the container's network namespace, if it has one, back to netns_ (removed).
    void release_sandbox(Entry& e);
    /// /etc/hostname, /etc/hosts and /etc/resolv.conf of the container's next run, at its
    /// record's paths (in its exec directory), from its config and the host's resolv.conf.
    Result<void> write_etc_files(const Entry& e) const;

    Paths paths_;
    image::ImageService& images_;
    EventBus& events_;
    mutable std::mutex mu_;  ///< the maps below
    std::map<std::string, std::shared_ptr<Entry>> by_id_;
    std::map<std::string, std::string> names_;  ///< "/web" -> id
    std::map<std::string, std::shared_ptr<Exec>> execs_;
    std::map<int, std::weak_ptr<Entry>> monitored_;  ///< shim monitor fd -> its container
    UniqueFd epoll_;
    UniqueFd wake_;  ///< eventfd: stop the monitor thread
    std::thread monitor_;
    bool stopping_ = false;
    std::unique_ptr<SpareDirs> spares_;         ///< emptied directories for creates (before
                                                ///< removal_, whose thread parks them: outlives it)
    std::unique_ptr<DeferredRemoval> removal_;  ///< removed containers' directories
    std::unique_ptr<ShimLauncher> launcher_;    ///< forks the shims (shim_launcher.hpp)
    std::unique_ptr<NetnsPool> netns_;          ///< containers' own network namespaces
    std::unique_ptr<UserFilesCache> users_;     ///< images' passwd and group files
};

}  // namespace berth::engine
