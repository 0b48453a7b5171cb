#pragma once
// The OCI runtime spec Docker's defaults make of a container's configuration (moby
// daemon/oci_linux.go createSpec over oci.DefaultLinuxSpec), and the process of `docker exec`
// (daemon/exec.go, exec_linux.go). Plain data in, plain data out ("describe, then do"): the
// engine writes the result as the bundle's config.json and the runtime carries it out.
//
// Host facts the spec needs are read here and nowhere else: the kernel's last capability
// (privileged), device numbers (--device, blkio devices, privileged /dev), whether a sysctl
// exists (Docker's default ping/port sysctls), swap accounting, the CPU count; and -v binds
// create a missing host directory, as dockerd does.

#include <optional>
#include <string>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/container/config.hpp"
#include "berth/container/user.hpp"
#include "berth/oci/spec.hpp"

namespace berth::container {

/// Everything build_spec needs besides the container's configuration: paths the engine chose.
struct SpecInputs {
    std::string id;      ///< 64 hex
    Config config;       ///< already merged with the image's config (Cmd/Entrypoint final)
    HostConfig host;     ///< defaults filled
    std::string rootfs;  ///< absolute path of the mounted rootfs (merged dir): root.path,
                         ///< and where --user is looked up unless user_files is set
    /// The rootfs's /etc/passwd and /etc/group when the caller has them already (then the
    /// rootfs need not be mounted yet to build the spec).
    std::optional<UserFiles> user_files;
    /// Host files bind-mounted at /etc/hostname, /etc/hosts, /etc/resolv.conf ("" = none).
    std::string hostname_path, hosts_path, resolv_conf_path;
    std::string cgroups_path;  ///< linux.cgroupsPath, e.g. "/berth/<id>"
    /// The network namespace to join ("" = a new one); host network mode has none at all.
    /// container:<id> modes need it (/proc/<pid>/ns/net of that container).
    std::string netns_path;
    /// Joins for container:<id> pid/ipc/uts modes ("" otherwise).
    std::string pidns_path, ipcns_path, utsns_path;
    /// --init: the host's init binary, bound read-only at /sbin/docker-init ("" = unavailable).
    std::string init_path;
    /// The final environment; computed from config when empty (PATH, HOSTNAME, TERM with a
    /// TTY, then Config.Env over them, then HOME from passwd when missing).
    std::vector<std::string> process_env;
    /// Whether the memory cgroup can limit swap; nullopt = probe the host. Without it a
    /// MemorySwap is dropped (unlimited), as dockerd does with a warning.
    std::optional<bool> swap_limit_supported;
};

/// Builds the container's spec. Errors are InvalidArgument with Docker's wording where users
/// see it ("no command specified", `unknown capability: "CAP_FOO"`, `invalid --security-opt 2:
/// "foo=bar"`, "invalid mode: x", `invalid mount config for type "bind": bind source path does
/// not exist: /x`, "Duplicate mount point: /c", `sysctl "net.x" not allowed in host network
/// namespace`, "named volumes are not supported yet", "unable to find user foo: ..."),
/// Unavailable when --init is asked for without an init binary, and the errno category when a
/// host device or directory can't be read or created.
[[nodiscard]] Result<oci::Spec> build_spec(const SpecInputs& in);

/// An exec request (moby's ExecConfig as the API gives it).
struct ExecConfig {
    std::vector<std::string> cmd;
    std::vector<std::string> env;  ///< over the container's environment
    std::string user;              ///< "" = the container's user
    std::string working_dir;       ///< "" = the container's
    bool tty = false;
    bool privileged = false;
    std::vector<int> console_size;  ///< [height, width]; empty or zeros = unset
    /// The container's HostConfig.GroupAdd, re-applied when `user` is given (moby's getUser).
    std::vector<std::string> group_add;
};

/// The process of `docker exec`: the container's process (capabilities, rlimits,
/// noNewPrivileges, oomScoreAdj, labels) with the exec's args, env (the container's, TERM with
/// a TTY, then `e.env`), cwd, terminal and console size; `e.user` resolved in `rootfs` (HOME
/// follows it); a privileged exec gets every capability. InvalidArgument for an empty command
/// ("No exec command specified"), a relative working dir or an unknown user.
[[nodiscard]] Result<oci::Process> build_exec_process(const oci::Spec& container_spec,
                                                      const ExecConfig& e,
                                                      const std::string& rootfs);

/// Docker's default capability set (14, in moby's order).
[[nodiscard]] std::vector<std::string> default_capabilities();

/// Every capability this kernel has ("CAP_CHOWN" ... up to /proc/sys/kernel/cap_last_cap) that
/// this process's bounding set still holds (so a daemon run with fewer capabilities can still
/// start privileged containers): what --privileged, --cap-add ALL and exec --privileged grant.
[[nodiscard]] std::vector<std::string> all_capabilities();

/// moby's caps.TweakCapabilities: privileged = all; else the defaults minus `drop` plus `add`,
/// where "ALL" in add means every capability but the dropped ones and "ALL" in drop means only
/// the added ones. Names are case-insensitive, with or without "CAP_". InvalidArgument:
/// `unknown capability: "CAP_FOO"`.
[[nodiscard]] Result<std::vector<std::string>> tweak_capabilities(
    const std::vector<std::string>& add, const std::vector<std::string>& drop, bool privileged);

}  // namespace berth::container
