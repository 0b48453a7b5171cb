#pragma once
// File helpers. Every write that must survive a crash goes through atomic_write_file
// (temp file, fsync, rename, fsync of the directory: containerd's content writer).

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.hpp"

namespace berth {

/// Reads a whole file. NotFound if it does not exist.
[[nodiscard]] Result<std::string> read_file(const std::string& path);

/// Reads a whole file relative to a directory fd.
[[nodiscard]] Result<std::string> read_file_at(int dirfd, const std::string& name);

/// Writes `data` to an existing file (O_WRONLY|O_TRUNC), e.g. a cgroup or /proc knob. The
/// kernel's answer to the single write() is returned as the error.
[[nodiscard]] Result<void> write_file(const std::string& path, std::string_view data);

/// Same as write_file, relative to a directory fd.
[[nodiscard]] Result<void> write_file_at(int dirfd, const std::string& name, std::string_view data);

/// Writes all of `data` to `fd`, retrying short writes and EINTR. `what` names the target in
/// the error ("write <what>: <errno>").
[[nodiscard]] Result<void> write_all(int fd, std::string_view data, std::string_view what);

enum class Durability { Durable, Volatile };

/// Replaces `path` atomically: `<path>.tmp-<pid>`, then rename over `path`. Durable also fsyncs
/// the file and the directory (stores on disk); Volatile skips both, for state that lives on a
/// tmpfs and cannot outlive a crash anyway (a runtime's container state, pid files).
[[nodiscard]] Result<void> atomic_write_file(const std::string& path, std::string_view data,
                                             mode_t mode = 0644,
                                             Durability d = Durability::Durable);

/// mkdir -p. Existing directories are fine.
[[nodiscard]] Result<void> mkdir_all(const std::string& path, mode_t mode = 0755);

/// rm -rf without following symlinks or crossing into other mounts' contents.
[[nodiscard]] Result<void> remove_all(const std::string& path);

/// fsync of a directory, so that a rename or unlink in it survives a crash.
[[nodiscard]] Result<void> fsync_dir(const std::string& dir);

/// The names in a directory, without "." and "..", sorted.
[[nodiscard]] Result<std::vector<std::string>> list_dir(const std::string& dir);

/// `bytes` random bytes from getrandom(2) as lowercase hex: names for temporary files.
[[nodiscard]] Result<std::string> random_hex(size_t bytes);

/// True if `path` exists (lstat succeeds).
[[nodiscard]] bool path_exists(const std::string& path) noexcept;

/// Parent directory of a '/'-separated path ("/a/b" -> "/a", "a" -> ".").
[[nodiscard]] std::string dirname_of(std::string_view path);

/// Joins two path parts with exactly one '/' between them.
[[nodiscard]] std::string path_join(std::string_view a, std::string_view b);

/// Lexically cleans a path: collapses "//", ".", and ".." (never above "/" for absolute paths).
[[nodiscard]] std::string clean_path(std::string_view path);

}  // namespace berth
