#pragma once
// Host-side helpers for integration tests: privileges, files, mounts, cgroups and processes,
// with cleanup that only touches what a test made (paths under its temp dir, cgroups named
// berth-test-<pid>-*, processes carrying its tag).

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::test {

/// True when the test runs as root (euid 0).
bool is_root();

/// Skips the current test unless it runs as root. Use at the start of a test body or SetUp.
#define BERTH_REQUIRE_ROOT()                                                                      \
    do {                                                                                          \
        if (!::berth::test::is_root()) GTEST_SKIP() << "needs root (run as root: ctest -L root)"; \
    } while (0)

/// Reads a whole file; nullopt if it cannot be opened.
std::optional<std::string> read_text(const std::string& path);
/// Writes (creates/truncates) a file; false on failure.
bool write_text(const std::string& path, const std::string& data, mode_t mode = 0644);
/// mkdir -p; false on failure.
bool make_dirs(const std::string& path, mode_t mode = 0755);
/// True if lstat succeeds.
bool exists(const std::string& path);
/// Copies a regular file, keeping `mode`.
bool copy_file(const std::string& from, const std::string& to, mode_t mode);
/// Makes a private temp directory "/tmp/<prefix>XXXXXX"; empty string on failure.
std::string make_temp_dir(const std::string& prefix);

/// Parses "key=value" lines (later keys win); lines without '=' are ignored.
std::map<std::string, std::string> parse_kv(const std::string& text);
/// Splits into lines (no trailing empty line).
std::vector<std::string> split_lines(const std::string& text);
/// Splits on a delimiter, keeping empty fields.
std::vector<std::string> split(const std::string& s, char delim);
/// True if `s` contains `needle`.
bool contains(const std::string& s, const std::string& needle);

/// One line of /proc/<pid>/mountinfo.
struct MountInfo {
    std::string root;         ///< root of the mount within its filesystem
    std::string mount_point;  ///< where it is mounted (octal escapes decoded)
    std::string options;      ///< per-mount options (ro, nosuid, ...)
    std::string optional;     ///< optional fields (shared:N master:N), space separated
    std::string fstype;
    std::string source;
    std::string super_options;  ///< per-superblock options (size=, mode=, ...)
    /// True if `opt` is one of the comma-separated per-mount options.
    [[nodiscard]] bool has_option(const std::string& opt) const;
    /// True if `opt` is one of the comma-separated superblock options.
    [[nodiscard]] bool has_super_option(const std::string& opt) const;
};
/// Parses mountinfo text (e.g. the output of `probe mounts`).
std::vector<MountInfo> parse_mountinfo(const std::string& text);
/// The last (topmost) mount at `mount_point`, if any.
std::optional<MountInfo> find_mount(const std::vector<MountInfo>& mounts,
                                    const std::string& mount_point);
/// Mount points in this process's mount namespace at or under `dir`.
std::vector<std::string> mounts_under(const std::string& dir);
/// Unmounts (MNT_DETACH) everything at or under `dir`, deepest first. Returns what it could not
/// unmount.
std::vector<std::string> unmount_all_under(const std::string& dir);
/// rm -rf that refuses to run if something is still mounted below `dir`; false on failure.
bool remove_tree(const std::string& dir);

/// Mount points of cgroup hierarchies: v1 controllers ("memory" -> /sys/fs/cgroup/memory) and
/// "unified" for a cgroup2 mount.
std::map<std::string, std::string> cgroup_mounts();
/// Directories of `cgroup_path` (e.g. "/berth-test-1-2") in every hierarchy where it exists.
std::vector<std::string> existing_cgroup_dirs(const std::string& cgroup_path);
/// The directory of `cgroup_path` in hierarchy `controller` (v1 name or "unified").
std::string cgroup_dir(const std::string& controller, const std::string& cgroup_path);
/// Thaws, kills the processes of and removes (deepest first) every cgroup directory at the top
/// of each hierarchy whose name starts with `prefix` (must start with "berth-test-"). Returns
/// the directories it could not remove.
std::vector<std::string> remove_cgroups_with_prefix(const std::string& prefix);

/// PIDs of processes (other than this one) whose environment contains `var` (e.g.
/// "BERTH_TEST_TAG=berth-test-123-4").
std::vector<pid_t> pids_with_env(const std::string& var);
/// PIDs whose root directory (/proc/<pid>/root) is `dir` or below it.
std::vector<pid_t> pids_with_root_under(const std::string& dir);
/// True if the process exists and is not a zombie.
bool process_alive(pid_t pid);
/// As root, moves this process into a mount namespace of its own whose mounts do not
/// propagate to the host's (once; later calls say how the first went). Call it before any
/// thread starts: unshare(CLONE_NEWNS) refuses a process with threads.
bool private_mounts();
/// Polls `pred` every 20 ms until it is true or `timeout` passes; returns its last value.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
/// The target of /proc/<pid>/ns/<kind> ("net:[4026531833]"), empty if unreadable.
std::string ns_link(pid_t pid, const std::string& kind);

/// True if this process has the capability in its effective set.
bool self_has_cap(const std::string& name);
/// The capability number for a name such as "CAP_SYS_ADMIN"; -1 if unknown.
int cap_number(const std::string& name);
/// The bitmask of the given capability names, as /proc/<pid>/status prints it (16 hex digits).
std::string cap_mask_hex(const std::vector<std::string>& names);

}  // namespace berth::test
