#include "berth/container/user.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "berth/common/log.hpp"
#include "berth/common/safe_path.hpp"
#include "berth/common/strings.hpp"
#include "berth/common/unique_fd.hpp"

// The rules are runc's libcontainer/user (GetExecUser, GetAdditionalGroups): the first matching
// entry wins, a numeric argument is always an id (never a name), a numeric id without an entry
// is fine, and supplementary groups come from /etc/group only when the user was given without
// an explicit group.

namespace berth::container {

namespace {

constexpr int64_t kMaxId = 2147483647;  // runc's maxID (int32 max)
constexpr size_t kMaxFileSize = 64 << 20;

struct PasswdEntry {
    std::string name;
    int64_t uid = 0;
    int64_t gid = 0;
    std::string home;
};

struct GroupEntry {
    std::string name;
    int64_t gid = 0;
    std::vector<std::string> members;
};

/// A numeric field as runc reads it: garbage is 0 (strconv.Atoi's error is ignored there).
int64_t field_number(std::string_view s) {
    return parse_int(s).value_or(0);
}

/// Splits one colon-separated line into at least `n` fields (missing ones are empty).
std::vector<std::string> fields(std::string_view line, size_t n) {
    std::vector<std::string> f = split(line, ':');
    if (f.size() < n) f.resize(n);
    return f;
}

template <class Fn>
void for_each_line(const std::string& data, Fn&& fn) {
    size_t pos = 0;
    while (pos < data.size()) {
        size_t nl = data.find('\n', pos);
        if (nl == std::string::npos) nl = data.size();
        std::string_view line = trim(std::string_view(data).substr(pos, nl - pos));
        pos = nl + 1;
        if (line.empty() || line[0] == '#') continue;
        fn(line);
    }
}

std::vector<PasswdEntry> parse_passwd(const std::string& data) {
    std::vector<PasswdEntry> out;
    for_each_line(data, [&](std::string_view line) {
        auto f = fields(line, 7);  // name:pass:uid:gid:gecos:home:shell
        out.push_back(PasswdEntry{f[0], field_number(f[2]), field_number(f[3]), f[5]});
    });
    return out;
}

std::vector<GroupEntry> parse_group(const std::string& data) {
    std::vector<GroupEntry> out;
    for_each_line(data, [&](std::string_view line) {
        auto f = fields(line, 4);  // name:pass:gid:member,member
        GroupEntry g{f[0], field_number(f[2]), {}};
        if (!f[3].empty()) g.members = split(f[3], ',');
        out.push_back(std::move(g));
    });
    return out;
}

/// Reads <root>/<path> through open_in_root. nullopt when it can't be read as a regular file
/// (missing, a dangling or escaping link that resolves to nothing inside the root, a FIFO or
/// device planted by the image): runc treats an unopenable file as absent too.
std::optional<std::string> read_in_root(int rootfd, std::string_view path) {
    auto fd = open_in_root(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (!fd) {
        if (fd.error().code != Errc::NotFound)
            BLOG_DEBUG("user lookup: open {} in rootfs: {}", path, fd.error().what());
        return std::nullopt;
    }
    struct stat st {};
    if (fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    std::string data;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd->get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        data.append(buf, static_cast<size_t>(n));
        if (data.size() > kMaxFileSize) return std::nullopt;
    }
    return data;
}

/// What a lookup reads below an open root filesystem: its /etc/passwd and /etc/group.
UserFiles user_files_at(int rootfd) {
    return UserFiles{read_in_root(rootfd, "/etc/passwd"), read_in_root(rootfd, "/etc/group")};
}

Result<int64_t> checked_id(int64_t id) {
    if (id < 0 || id > kMaxId)
        return make_error(Errc::InvalidArgument, "uids and gids must be in range 0-{}", kMaxId);
    return id;
}

}  // namespace

Result<ResolvedUser> resolve_user_at(int rootfd, std::string_view spec,
                                     const std::vector<std::string>& group_add) {
    return resolve_user_in(user_files_at(rootfd), spec, group_add);
}

Result<ResolvedUser> resolve_user_in(const UserFiles& files, std::string_view spec,
                                     const std::vector<std::string>& group_add) {
    const std::optional<std::string>& passwd_data = files.passwd;
    const std::optional<std::string>& group_data = files.group;

    // runc's parseLine: "user[:group]"; anything after a second colon is ignored.
    std::string user_arg, group_arg;
    {
        auto parts = split(spec, ':');
        if (!parts.empty()) user_arg = parts[0];
        if (parts.size() > 1) group_arg = parts[1];
    }
    std::optional<int64_t> uid_arg = parse_int(user_arg);
    std::optional<int64_t> gid_arg = parse_int(group_arg);

    ResolvedUser r;
    r.home = "/";
    int64_t uid = 0, gid = 0;
    std::vector<int64_t> sgids;

    std::vector<PasswdEntry> users =
        passwd_data ? parse_passwd(*passwd_data) : std::vector<PasswdEntry>{};
    const PasswdEntry* match = nullptr;
    for (const PasswdEntry& u : users) {
        bool ok = user_arg.empty() ? u.uid == 0 : uid_arg ? u.uid == *uid_arg : u.name == user_arg;
        if (ok) {
            match = &u;
            break;
        }
    }
    if (match) {
        r.name = match->name;
        uid = match->uid;
        gid = match->gid;
        r.home = match->home;
    } else if (!user_arg.empty()) {
        if (!uid_arg)
            return make_error(Errc::InvalidArgument,
                              "unable to find user {}: no matching entries in passwd file",
                              user_arg);
        uid = BERTH_TRY(checked_id(*uid_arg));
    }

    if (!group_arg.empty() || !r.name.empty()) {
        std::vector<GroupEntry> groups =
            group_data ? parse_group(*group_data) : std::vector<GroupEntry>{};
        if (!group_arg.empty()) {
            const GroupEntry* g = nullptr;
            for (const GroupEntry& e : groups) {
                if (gid_arg ? e.gid == *gid_arg : e.name == group_arg) {
                    g = &e;
                    break;
                }
            }
            if (g) {
                gid = g->gid;
            } else {
                if (!gid_arg)
                    return make_error(Errc::InvalidArgument,
                                      "unable to find group {}: no matching entries in group file",
                                      group_arg);
                gid = BERTH_TRY(checked_id(*gid_arg));
            }
        } else {
            // Implicit form: the groups that list the user are its supplementary groups.
            for (const GroupEntry& e : groups) {
                for (const std::string& m : e.members) {
                    if (m == r.name) {
                        sgids.push_back(e.gid);
                        break;
                    }
                }
            }
        }
    }

    // --group-add: names or numbers; a name matches before a number is taken as a gid.
    std::vector<int64_t> added;
    if (!group_add.empty()) {
        std::vector<GroupEntry> groups =
            group_data ? parse_group(*group_data) : std::vector<GroupEntry>{};
        for (const std::string& ag : group_add) {
            std::optional<int64_t> found;
            for (const GroupEntry& e : groups) {
                if (e.name == ag || std::to_string(e.gid) == ag) {
                    found = e.gid;
                    break;
                }
            }
            if (!found) {
                std::optional<int64_t> n = parse_int(ag);
                if (!n)
                    return make_error(Errc::InvalidArgument,
                                      "Unable to find group {}: no matching entries in group file",
                                      ag);
                found = BERTH_TRY(checked_id(*n));
            }
            bool dup = false;
            for (int64_t a : added) dup = dup || a == *found;
            if (!dup) added.push_back(*found);
        }
    }

    r.user.uid = static_cast<uint32_t>(uid);
    r.user.gid = static_cast<uint32_t>(gid);
    // moby's getUser: the primary gid first, then the user's groups, then --group-add.
    r.user.additional_gids.push_back(static_cast<uint32_t>(gid));
    for (int64_t g : sgids) r.user.additional_gids.push_back(static_cast<uint32_t>(g));
    for (int64_t g : added) r.user.additional_gids.push_back(static_cast<uint32_t>(g));
    if (r.home.empty()) r.home = "/";
    return r;
}

Result<UserFiles> read_user_files(const std::string& rootfs) {
    int fd = ::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return BERTH_SYS_ERROR("open rootfs {} to read its users", rootfs);
    UniqueFd root(fd);
    return user_files_at(root.get());
}

Result<ResolvedUser> resolve_user(const std::string& rootfs, std::string_view spec,
                                  const std::vector<std::string>& group_add) {
    int fd = ::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return BERTH_SYS_ERROR("open rootfs {} to resolve user \"{}\"", rootfs, spec);
    UniqueFd root(fd);
    return resolve_user_at(root.get(), spec, group_add);
}

}  // namespace berth::container
