#pragma once
// Private file helpers for cgroup knobs, shared by the v1 and v2 managers.
//
// Cgroup knobs are written with one open()+write() each and read with one open()+read(); every
// error names the file and, for writes, the value ("write 100 to /sys/fs/cgroup/memory/x/
// memory.limit_in_bytes: Device or resource busy"). Files are never created (no O_CREAT): a
// missing knob means the kernel lacks the feature, and callers turn ENOENT into Unsupported.
//
// Test seam: unit tests run the managers over a temporary directory of regular files. The
// kernel populates a new cgroup directory with its knobs; TestHooks::after_mkdir lets the fake
// do the same, and TestHooks::attach_device_program replaces the bpf(2) calls.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/cgroups/device_filter.hpp"
#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"

namespace berth::cgroups::detail {

/// Hooks for unit tests; empty in production.
struct TestHooks {
    /// Called after the managers create a cgroup directory.
    std::function<void(const std::string& dir)> after_mkdir;
    /// Replaces loading and attaching a v2 device program to `dir`.
    std::function<Result<void>(const std::string& dir, const std::vector<BpfInsn>& prog)>
        attach_device_program;
};

/// The process-wide hooks (tests set them, production never does).
TestHooks& test_hooks() noexcept;

/// "<dir>/<name>".
[[nodiscard]] std::string knob_path(const std::string& dir, std::string_view name);

/// Writes `value` to <dir>/<name> with one write(). Errors: "write <value> to <path>" with the
/// errno of open() or write() (ENOENT when the knob does not exist).
[[nodiscard]] Result<void> write_knob(const std::string& dir, std::string_view name,
                                      std::string_view value);

/// Reads <dir>/<name> whole. Errors: "read <path>" with errno (ENOENT if absent).
[[nodiscard]] Result<std::string> read_knob(const std::string& dir, std::string_view name);

/// Reads a knob holding one unsigned number ("max" reads as UINT64_MAX).
[[nodiscard]] Result<uint64_t> read_knob_uint(const std::string& dir, std::string_view name);

/// A knob opened once and written several times (devices.allow, io.max, blkio throttles): the
/// kernel treats every write(2) as one command, so one open serves a whole list. Each command
/// is sent with a trailing newline.
class KnobWriter {
public:
    /// Opens <dir>/<name> for writing. Nothing happens until the first write.
    KnobWriter(const std::string& dir, std::string_view name);
    /// Writes one command. Errors like write_knob.
    [[nodiscard]] Result<void> write(std::string_view value);

private:
    std::string path_;
    UniqueFd fd_;
    int open_errno_ = 0;
    bool opened_ = false;
};

/// True if the error came from a missing file.
[[nodiscard]] inline bool is_enoent(const Error& e) noexcept { return e.sys_errno == ENOENT; }

/// Creates `dir` and any missing parents below `stop_at` (an existing mount point). Returns the
/// directories it created, outermost first (empty if `dir` existed). Calls after_mkdir on each.
[[nodiscard]] Result<std::vector<std::string>> make_dirs(const std::string& dir,
                                                         const std::string& stop_at);

/// Removes a cgroup directory and its child cgroups, deepest first, retrying rmdir on EBUSY a
/// few times (processes take a moment to leave after they are killed). A missing directory
/// is success.
[[nodiscard]] Result<void> remove_cgroup_dir(const std::string& dir);

/// Names of the sub-directories of `dir` (child cgroups). Empty if `dir` is missing.
[[nodiscard]] Result<std::vector<std::string>> list_subdirs(const std::string& dir);

/// Every pid in `dir`'s cgroup.procs and in its descendants'.
[[nodiscard]] Result<void> collect_pids(const std::string& dir, std::vector<pid_t>& out);

/// Writes `pid` to <dir>/cgroup.procs, retrying briefly on EINVAL (a task still being
/// created cannot move yet, as runc notes).
[[nodiscard]] Result<void> join_cgroup(const std::string& dir, pid_t pid);

/// Splits on ASCII whitespace, dropping empty fields.
[[nodiscard]] std::vector<std::string_view> fields(std::string_view s);

/// Parses a number that may be "max" (UINT64_MAX).
[[nodiscard]] std::optional<uint64_t> parse_uint_or_max(std::string_view s) noexcept;

/// Calls `fn(key, value)` for each "key value" line of a flat-keyed file (memory.stat,
/// cpu.stat, memory.events). Lines that don't parse are skipped.
void for_each_kv(std::string_view text, const std::function<void(std::string_view, uint64_t)>& fn);

/// The set of controller names in a space-separated list (cgroup.controllers).
[[nodiscard]] std::vector<std::string> split_controllers(std::string_view text);

}  // namespace berth::cgroups::detail
