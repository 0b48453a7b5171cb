#pragma once
// Paths inside a container's root filesystem, resolved so that neither symlinks nor ".." can
// leave it (CONVENTIONS.md principle 4).
//
// openat2(RESOLVE_IN_ROOT) does it in the kernel (5.6+). Where it is missing, or when the
// environment variable BERTH_TEST_DISABLE contains "openat2" (so CI exercises the fallback, as
// crun's tests/no_openat2.c does), a component-by-component walk does the same in user space:
// every symlink is read and re-resolved against the root fd, ".." never climbs above it.

#include <sys/types.h>

#include <string>
#include <string_view>

#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"

namespace berth {

/// Opens `path` (absolute or relative, interpreted inside root) below the directory `rootfd`.
/// `flags` are open(2) flags; O_CLOEXEC is always added. The final component is followed if it
/// is a symlink unless O_NOFOLLOW is given. Errors: NotFound, InvalidArgument (ELOOP), ...
[[nodiscard]] Result<UniqueFd> open_in_root(int rootfd, std::string_view path, int flags,
                                            mode_t mode = 0);

/// mkdir -p of `path` inside root; returns an O_PATH|O_DIRECTORY fd of the final directory.
/// Existing symlinks along the way are resolved inside root.
[[nodiscard]] Result<UniqueFd> mkdir_all_in_root(int rootfd, std::string_view path,
                                                 mode_t mode = 0755);

/// Makes sure `path` exists inside root as a directory (is_dir) or a regular file, creating its
/// parents, and returns an O_PATH fd of it: a bind-mount target.
[[nodiscard]] Result<UniqueFd> ensure_in_root(int rootfd, std::string_view path, bool is_dir,
                                              mode_t mode = 0755);

/// "/proc/self/fd/<fd>": a path the kernel resolves to exactly what `fd` is, for syscalls such
/// as mount(2) that take paths only. Writes into `buf` (no allocation); returns buf.
const char* fd_path(int fd, char (&buf)[32]) noexcept;

/// True when the openat2 fast path is in use (kernel has it and tests did not disable it).
[[nodiscard]] bool openat2_enabled() noexcept;

}  // namespace berth
