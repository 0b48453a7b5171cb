#pragma once
// The state of one container on disk: <root>/<id>/{state.json, config.json, exec.fifo}.
// state.json is written atomically; status is never stored but derived from the live process
// (its pid and start time, so a recycled pid is not mistaken for the container), the exec
// fifo (present until `start`) and the freezer.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

#include "berth/common/result.hpp"
#include "berth/oci/spec.hpp"

namespace berth::runtime {

struct ContainerRecord {
    std::string id;
    pid_t pid = 0;
    uint64_t pid_start_time = 0;  ///< /proc/<pid>/stat field 22
    std::string bundle;
    std::string rootfs;
    std::string created;  ///< RFC 3339, nanoseconds, UTC
    std::string owner;
    std::map<std::string, std::string> annotations;
    std::map<std::string, std::string> cgroup_paths;  ///< Manager::paths()
    bool own_pid_ns = true;   ///< false: kill/delete must signal every process in the cgroup
    bool has_user_ns = false;
};

/// Paths of the container's state directory.
struct StateDir {
    std::string dir;  ///< <root>/<id>
    [[nodiscard]] std::string state_file() const { return dir + "/state.json"; }
    [[nodiscard]] std::string config_file() const { return dir + "/config.json"; }
    [[nodiscard]] std::string fifo() const { return dir + "/exec.fifo"; }
};

/// Checks an id as runc does (letters, digits, '_', '+', '-', '.'; not "." or ".."), so it can
/// never name a path outside the root. InvalidArgument otherwise.
[[nodiscard]] Result<void> check_id(const std::string& id);

[[nodiscard]] StateDir state_dir(const std::string& root, const std::string& id);

[[nodiscard]] Result<void> save_record(const StateDir& d, const ContainerRecord& r);
/// NotFound "container does not exist" (runc's words) when there is no such container.
[[nodiscard]] Result<ContainerRecord> load_record(const std::string& root, const std::string& id);

/// /proc/<pid>/stat start time, or 0 if the process is gone.
[[nodiscard]] uint64_t process_start_time(pid_t pid) noexcept;

/// True if `pid` is alive and is the process recorded (same start time), and not a zombie.
[[nodiscard]] bool record_alive(const ContainerRecord& r) noexcept;

/// Now as RFC 3339 with nanoseconds, UTC ("2026-11-24T00:39:03.846538986Z").
[[nodiscard]] std::string now_rfc3339();

}  // namespace berth::runtime
