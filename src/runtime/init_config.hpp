#pragma once
// Everything the container's init (or an exec'd process) needs between clone and execve,
// decided by the parent beforehand ("describe, then do"): the child only carries it out.
//
// The runtime CLI is single-threaded, so its cloned child owns a consistent copy of the heap;
// the child still avoids throwing, and reports failures as {step, errno} on the sync socket.

#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "berth/common/unique_fd.hpp"
#include "berth/oci/spec.hpp"
#include "berth/runtime/capabilities.hpp"
#include "berth/runtime/mount_plan.hpp"
#include "berth/runtime/seccomp.hpp"

namespace berth::runtime {

/// A namespace to join with setns, opened by the parent.
struct NsJoin {
    int flag = 0;  ///< CLONE_NEW*
    std::string path;
    UniqueFd fd;
};

/// Where a cgroup hierarchy of the container is on the host, for a `cgroup` mount inside it.
struct CgroupMountSource {
    std::string name;       ///< directory name under the mount ("memory", "systemd", "unified")
    std::string host_path;  ///< the container's cgroup directory in that hierarchy
    bool v2 = false;
};

struct Rlim {
    int resource = 0;
    struct rlimit value {};
};

struct InitConfig {
    std::string id;
    std::string state_root;  ///< --root, for caches
    std::string bundle;
    std::string rootfs;  ///< absolute, host view
    const oci::Spec* spec = nullptr;
    const oci::Process* process = nullptr;

    // Namespaces.
    int clone_flags = 0;          ///< namespaces created at clone (fast path)
    int unshare_flags = 0;        ///< created by unshare() in the child (cgroup, time; all in the general path)
    std::vector<NsJoin> joins;    ///< user first
    bool double_fork = false;     ///< user/pid/mount/... joins: the init is a grandchild
    bool new_user_ns = false;
    bool new_mount_ns = false;
    bool new_uts_ns = false;
    bool is_exec = false;

    // Root filesystem.
    std::vector<MountOp> mounts;
    std::vector<oci::Device> devices;
    bool setup_dev = false;       ///< /dev is a tmpfs of ours: create devices and links in it
    std::vector<CgroupMountSource> cgroup_sources;
    unsigned long root_propagation_pre = 0;
    unsigned long root_propagation_post = 0;  ///< 0: leave as is
    bool no_pivot = false;
    bool readonly_root = false;

    // Process.
    std::vector<std::pair<std::string, std::string>> sysctl;
    std::vector<Rlim> rlimits;
    bool has_caps = false;
    CapSets caps;
    bool has_seccomp = false;
    SeccompProgram seccomp;
    bool no_new_keyring = false;
    unsigned preserve_fds = 0;

    // Hooks run by the child itself (the parent runs prestart/createRuntime).
    bool parent_hooks = false;  ///< ask the parent to run prestart/createRuntime
    bool child_hooks = false;   ///< createContainer/startContainer exist

    // Descriptors (borrowed; owned by the parent's guards).
    int sync_fd = -1;
    int fifo_fd = -1;     ///< O_PATH of exec.fifo; -1: exec right after Ready (exec, or run)
    int console_fd = -1;  ///< connected console socket, -1 without a terminal
    /// v1 `tasks` files (opened by the parent) the child writes "0" to, joining its cgroups
    /// itself; empty when the parent joins it (see cgroups::SelfJoin).
    std::vector<int> self_join_fds;
};

/// The child: sets everything up and execs. Never returns; on failure reports on sync_fd and
/// _exit(1)s.
[[noreturn]] void container_init(InitConfig& c) noexcept;

/// Rootfs setup in the child (mount namespace already new). Returns 0 or errno and sets `step`.
int setup_rootfs(InitConfig& c, char* step, size_t step_len) noexcept;
/// After the createContainer hooks: pivot_root (or MS_MOVE+chroot).
int pivot_rootfs(InitConfig& c, char* step, size_t step_len) noexcept;
/// After sysctls are written: read-only and masked paths, read-only root, root propagation.
int protect_rootfs(InitConfig& c, char* step, size_t step_len) noexcept;

}  // namespace berth::runtime
