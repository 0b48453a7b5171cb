#pragma once
// What a container's configuration becomes at create: the user's Config merged with the image's
// (moby daemon/commit.go `merge` + daemon/create.go mergeAndVerifyConfig), the HostConfig
// defaults dockerd fills in (create.go, daemon_unix.go adaptContainerSettings), and the process
// environment it starts with (container.CreateDaemonEnvironment).
//
// Where these differ from what one might guess, they follow moby:
//  - Env: the user's entries first, then the image's whose key the user did not set. PATH is
//    *not* added to Config.Env (inspect shows the image's Env); process_env() adds the default
//    PATH, HOSTNAME and TERM for the process only.
//  - Shell and OnBuild are not copied from the image (moby's merge leaves them; inspect shows
//    OnBuild null), nor is the image's StopTimeout (images have none).
//  - NetworkMode "" becomes "default" (not "bridge"): dockerd stores and shows "default", which
//    the network code must treat as the daemon's default network, "bridge".

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/container/config.hpp"
#include "berth/oci/image_spec.hpp"

namespace berth::container {

/// dockerd's default PATH (oci.DefaultPathEnv for Linux).
inline constexpr std::string_view kDefaultPathEnv =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// /dev/shm's size when HostConfig.ShmSize is 0 (64 MiB, dockerd's --default-shm-size).
inline constexpr int64_t kDefaultShmSize = 64 * 1024 * 1024;

/// moby's merge: fills what the user left unset from the image. User values win.
///  - User, WorkingDir, StopSignal: the image's when the user's is "".
///  - Env: user's entries, then each image entry whose key the user did not set.
///  - ExposedPorts, Volumes: union. Labels: union, the user's value wins on a shared key.
///  - Cmd/Entrypoint: if the user's Entrypoint is unset or [] then Cmd comes from the image
///    unless the user gave a non-empty one, and an unset (not []) Entrypoint comes from the
///    image; a user Entrypoint with elements drops the image's Cmd. Afterwards an Entrypoint of
///    [""] (`--entrypoint ""`) is cleared (nullopt), as is an empty image value.
///  - Healthcheck: the image's when the user has none; otherwise each zero field of the user's
///    (Test, Interval, Timeout, StartPeriod, StartInterval, Retries) from the image's. Test
///    ["NONE"] stays as it is: it disables the check at run time.
///  - WorkingDir is cleaned (moby's translateWorkingDir).
[[nodiscard]] Config merge_image_config(Config user, const oci::ContainerConfig& image);

/// mergeAndVerifyConfig: merge_image_config when there is an image (nullptr: a container
/// without image config, e.g. "scratch"), then InvalidArgument "no command specified" when
/// neither Entrypoint nor Cmd has an element.
[[nodiscard]] Result<Config> merge_and_verify_config(Config user,
                                                     const oci::ContainerConfig* image);

/// The Config fields dockerd fills when it makes the container (newContainer): Hostname, when
/// empty, is the host's hostname for NetworkMode "host" and the first 12 characters of the ID
/// otherwise. (A "container:<x>" network mode shares x's UTS namespace at start; the engine
/// then uses x's hostname, as moby does.)
[[nodiscard]] Config default_config(Config c, std::string_view container_id, const HostConfig& host,
                                    std::string_view host_hostname);

/// The HostConfig defaults dockerd fills at create:
///  - RestartPolicy.Name "" -> "no"; NetworkMode "" -> "default"; LogConfig.Type "" ->
///    "json-file"; IpcMode "" -> "private" (dockerd's default-ipc-mode since 20.10);
///  - CgroupnsMode "" -> "private" on cgroup v2 hosts, "host" on v1 (and for privileged
///    containers on v1);
///  - ShmSize 0 -> 64 MiB; MemorySwap 0 with Memory > 0 -> 2 * Memory;
///  - OomKillDisable unset -> false; PidsLimit <= 0 -> unset (moby's create route: 0 and -1 both
///    mean unlimited). MemorySwappiness -1 is already unset when parsed. Isolation "" stays "".
[[nodiscard]] HostConfig default_host_config(HostConfig h, bool cgroup_v2);

/// container.CreateDaemonEnvironment: PATH (default), HOSTNAME=<hostname>, TERM=xterm when Tty,
/// then Config.Env applied over them: "K=v" replaces K or is appended, a bare "K" removes K.
/// This is the process's environment; Config.Env itself is never changed by it.
[[nodiscard]] std::vector<std::string> process_env(const Config& c, std::string_view hostname);

/// The process a container runs, as inspect's Path and Args show it (getEntrypointAndArgs):
/// Entrypoint[0] with Entrypoint[1:] + Cmd, or Cmd[0] with Cmd[1:]. Both empty: {"", {}}.
[[nodiscard]] std::pair<std::string, std::vector<std::string>> entrypoint_and_args(const Config& c);

}  // namespace berth::container
