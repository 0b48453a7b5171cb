#pragma once
// `--user` and `--group-add` resolved against a container's root filesystem, with the rules of
// runc's libcontainer/user (GetExecUserPath, GetAdditionalGroupsPath), which moby uses for both
// the container's process and `docker exec -u`.
//
// <rootfs>/etc/passwd and /etc/group are opened with open_in_root (RESOLVE_IN_ROOT semantics),
// so a symlink in an image ("/etc/passwd -> /etc/shadow" or "-> ../../../../etc/shadow") is
// resolved inside the rootfs and can never make the daemon read a host file.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/oci/spec.hpp"

namespace berth::container {

/// A resolved user: what goes into process.user, plus the passwd facts the spec needs.
struct ResolvedUser {
    oci::User user;    ///< uid, gid, additionalGids = [gid] + groups listing the user + group-add
    std::string home;  ///< from passwd; "/" when there is no entry (runc's default)
    std::string name;  ///< the passwd name matched, "" if none
};

/// A root filesystem's /etc/passwd and /etc/group, as read (nullopt: missing, or not a regular
/// file inside the rootfs). What a user lookup reads; keeping it lets a lookup skip the rootfs.
struct UserFiles {
    std::optional<std::string> passwd;
    std::optional<std::string> group;
};

/// Reads <rootfs>/etc/passwd and /etc/group (open_in_root). NotFound if `rootfs` itself cannot
/// be opened.
[[nodiscard]] Result<UserFiles> read_user_files(const std::string& rootfs);

/// Resolves `spec` ("", "name", "uid", "name:group", "uid:gid", "name:gid", "uid:group") and
/// `group_add` (names or numbers) inside the root filesystem at `rootfs` (an absolute path).
/// "" is uid 0 (and root's passwd entry when there is one). A missing /etc/passwd or
/// /etc/group is fine for numeric ids. Errors (InvalidArgument, runc's words as the CLI prints
/// them): "unable to find user foo: no matching entries in passwd file", "unable to find group
/// bar: no matching entries in group file", "Unable to find group x: no matching entries in
/// group file" (group-add), "uids and gids must be in range 0-2147483647"; NotFound if `rootfs`
/// itself cannot be opened.
[[nodiscard]] Result<ResolvedUser> resolve_user(const std::string& rootfs, std::string_view spec,
                                                const std::vector<std::string>& group_add = {});

/// Same, below an already opened directory fd of the root filesystem.
[[nodiscard]] Result<ResolvedUser> resolve_user_at(int rootfd, std::string_view spec,
                                                   const std::vector<std::string>& group_add = {});

/// Same, against files read before (read_user_files).
[[nodiscard]] Result<ResolvedUser> resolve_user_in(const UserFiles& files, std::string_view spec,
                                                   const std::vector<std::string>& group_add = {});

}  // namespace berth::container
