#pragma once
// Helpers shared by apply.cpp and write.cpp (private to the archive module).

#include <string>
#include <string_view>

#include "berth/common/result.hpp"

struct archive;

namespace berth::archive::detail {

/// Cleans a tar name lexically into a path relative to the layer root ("" is the root itself).
/// A leading '/' is dropped and ".." at the top of an absolute name stays at the root (as
/// filepath.Clean does); a relative name whose ".." climbs above the root is an error.
[[nodiscard]] Result<std::string> clean_relative(std::string_view name);

/// rm -rf of `name` in `dirfd`, never following symlinks nor descending into other mounts.
/// A missing name is fine.
[[nodiscard]] Result<void> remove_tree_at(int dirfd, const std::string& name);

/// libarchive's message for the last error of `a` (never null).
[[nodiscard]] std::string archive_message(struct archive* a);

/// "/proc/self/fd/<dirfd>/<name>": a path that resolves `dirfd` exactly (magic link) and then
/// looks up `name` in it, for the l*xattr calls, which have no *at form.
[[nodiscard]] std::string proc_path_at(int dirfd, std::string_view name);

}  // namespace berth::archive::detail
