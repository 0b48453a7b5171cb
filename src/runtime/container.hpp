#pragma once
// Internals shared by the verbs: a loaded container with its derived status.

#include <memory>
#include <string>

#include "berth/cgroups/manager.hpp"
#include "berth/runtime/runtime.hpp"
#include "launch.hpp"
#include "state_store.hpp"

namespace berth::runtime {

struct Loaded {
    ContainerRecord rec;
    StateDir dir;
    std::string status;  ///< created, running, paused, stopped
};

/// Loads a record and derives its status from the live process, the fifo and the freezer.
[[nodiscard]] Result<Loaded> load_container(const Globals& g, const std::string& id);

/// The cgroup manager of a loaded container.
[[nodiscard]] Result<std::unique_ptr<cgroups::Manager>> container_cgroup(const ContainerRecord& r);

/// Everything `create` makes, kept alive for `run`, which starts and waits in-process.
struct Created {
    Launched launched;
    UniqueFd terminal;  ///< own_terminal: our end of the socket the pty master arrives on
    ContainerRecord rec;
    StateDir dir;
    std::unique_ptr<cgroups::Manager> cgroup;
    oci::Spec spec;
};

/// create, with `use_fifo` false for run (the process execs as soon as it is ready). With
/// `own_terminal`, a terminal process without --console-socket sends its pty master to
/// Created::terminal (run in the foreground). On failure nothing remains.
[[nodiscard]] Result<Created> create_container(const Globals& g, const CreateOptions& o, bool use_fifo,
                                               bool own_terminal);

/// Kills what is left, runs poststop hooks, removes the cgroup and the state directory.
/// `known` is the container's cgroup manager if the caller has it (else it is loaded).
[[nodiscard]] Result<void> destroy_container(const Loaded& l,
                                             std::unique_ptr<cgroups::Manager> known = nullptr);

/// Runs poststart hooks (failures are logged: the container is already running).
void run_poststart(const oci::Spec& spec, const ContainerRecord& rec);

/// State JSON for hooks.
[[nodiscard]] std::string hook_state_json(const ContainerRecord& rec, const std::string& status);

}  // namespace berth::runtime
