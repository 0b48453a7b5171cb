#pragma once
// ContainerService's internals, shared by its source files (containers*.cpp). Not for callers.

#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/common/unique_fd.hpp"
#include "berth/engine/containers.hpp"
#include "berth/shimproto/protocol.hpp"

namespace berth::engine {

/// An attach waiting for the container to start (docker run attaches before it starts): the
/// start hands it to the shim as inherited descriptors.
struct PendingAttach {
    UniqueFd client;  ///< a duplicate of the hijacked socket
    UniqueFd done;    ///< the shim's end of the done channel
    shimproto::AttachRequest req;
};

struct ContainerService::Entry {
    Container c;
    /// Serialises lifecycle operations on this container (start, stop, remove, exit handling).
    std::mutex op;
    /// Guards `c.state`, `exit_seq`, `removed`, `pending`, `monitor`, `live_shims` for waiters
    /// and readers.
    mutable std::mutex mu;
    std::condition_variable cv;
    uint64_t exit_seq = 0;  ///< incremented on every exit (wait next-exit)
    bool removed = false;
    bool mounted = false;
    /// The root filesystem's mount that create() began for an --rm container, on a thread of
    /// its own, while the client goes on to attach and start (op; settle_mount() joins it).
    std::future<Result<void>> mounting;
    std::vector<PendingAttach> pending;
    /// Attaches prepared (their 101 may be on its way) but not yet handed over: a start
    /// waits for them so that the container's first output reaches them.
    int attach_reservations = 0;
    /// A start is handing `pending` to a new shim: an attach arriving now waits for the
    /// outcome (running: give it to the shim; failed: keep it pending).
    bool starting = false;
    int monitor_fd = -1;  ///< the shim's monitor connection (in the service's epoll set)
    UniqueFd monitor;
    /// This container's shims still alive: one is counted when started or re-adopted, and
    /// uncounted when it has gone (after the exit it tears the container down: mounts, cgroups,
    /// runtime state; a restart's new shim may start before). An explicit remove waits for
    /// none, as moby's waits for containerd's task delete.
    int live_shims = 0;
    /// Set by stop/kill/remove so the exit handling knows the user asked for it.
    bool stopping = false;
    /// Bumped at every start and exit: a health monitor of an older run stops.
    uint64_t generation = 0;
    /// container_settings_json(c), kept from the create's write of the record for the
    /// start's (under `mu`): those change its state; an update changes these settings, and
    /// clears it, as the start does once it is written.
    std::string settings_json;
};

/// How long an explicit remove, and the exit handling, wait for a shim's teardown after the
/// exit (mounts, cgroups, runtime state: milliseconds, unless the CPUs are busy: it runs idle).
inline constexpr int kShimTeardownMs = 10000;

struct ContainerService::Exec {
    ExecInstance e;
    mutable std::mutex mu;
    std::condition_variable cv;
};

/// One request on a fresh connection to a shim's socket; its reply, or the error it reports.
[[nodiscard]] Result<nlohmann::json> shim_call(const std::string& socket, const nlohmann::json& req,
                                               const std::vector<int>& fds = {});

/// config.v2.json <-> Container.
/// The record's members that a container's life leaves as they are (Config, HostConfig,
/// NetworkingConfig: most of its text, and of the time to write it), as JSON members without
/// the braces, for container_record_text.
[[nodiscard]] std::string container_settings_json(const Container& c);
/// The record's text: the container's id, name, state, paths..., and `settings`, its
/// container_settings_json().
[[nodiscard]] std::string container_record_text(const Container& c, std::string_view settings);
[[nodiscard]] Result<Container> container_from_json(std::string_view text, std::string_view origin);

/// The files a container's hostname/hosts/resolv.conf start from (moby's defaults without
/// networks: loopback names, the host's resolv.conf minus localhost nameservers).
[[nodiscard]] std::string hosts_file(const container::HostConfig& h);
[[nodiscard]] Result<std::string> resolv_conf_file(const container::HostConfig& h);

}  // namespace berth::engine
