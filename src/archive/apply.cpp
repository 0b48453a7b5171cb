// apply_layer(): a tar onto a directory, every path resolved inside it.
//
// Parents are resolved with open_in_root (RESOLVE_IN_ROOT), the final component is handled
// with *at() calls on the parent's fd and never followed. Each created path is recorded so a
// failure can remove what this call wrote.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <unordered_set>
#include <vector>

#include "berth/archive/tar.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/safe_path.hpp"
#include "berth/common/scope_exit.hpp"
#include "berth/common/unique_fd.hpp"
#include "util.hpp"

namespace berth::archive {
namespace {

using detail::archive_message;
using detail::clean_relative;
using detail::proc_path_at;
using detail::remove_tree_at;

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr const char* kOverlayOpaqueXattr = "trusted.overlay.opaque";

struct ReadArchiveFree {
    void operator()(struct archive* a) const noexcept { ::archive_read_free(a); }
};
using ReadArchive = std::unique_ptr<struct archive, ReadArchiveFree>;

std::pair<std::string, std::string> split_parent(const std::string& rel) {
    size_t slash = rel.find_last_of('/');
    if (slash == std::string::npos) return {"", rel};
    return {rel.substr(0, slash), rel.substr(slash + 1)};
}

// An entry's access and modification times for utimensat/futimens (atime = mtime if unset).
void times_of(struct archive_entry* e, struct timespec (&ts)[2]) {
    ts[1].tv_sec = archive_entry_mtime(e);
    ts[1].tv_nsec = archive_entry_mtime_nsec(e);
    if (archive_entry_atime_is_set(e)) {
        ts[0].tv_sec = archive_entry_atime(e);
        ts[0].tv_nsec = archive_entry_atime_nsec(e);
    } else {
        ts[0] = ts[1];
    }
}

std::string join_rel(const std::string& dir, std::string_view name) {
    if (dir.empty()) return std::string(name);
    std::string out = dir;
    out += '/';
    out += name;
    return out;
}

struct DeferredDir {
    std::string path;
    mode_t mode;
    struct timespec times[2];
};

class Applier {
public:
    Applier(int root, const ApplyOptions& opts) : root_(root), opts_(opts) {}

    Result<void> run(struct archive* a);
    // Undoes what run() created (see apply_layer's contract).
    void rollback(bool fresh);
    ApplyStats take_stats() { return std::move(stats_); }

private:
    Result<void> apply_entry(struct archive* a, struct archive_entry* e, const std::string& rel);
    Result<UniqueFd> open_parent(const std::string& dir);
    Result<void> make_room(int parent, const std::string& base, const std::string& rel,
                           bool keep_dir, bool* kept_dir);
    Result<void> write_data(struct archive* a, struct archive_entry* e, int fd,
                            const std::string& rel);
    Result<std::pair<uid_t, gid_t>> owner_of(struct archive_entry* e, const std::string& rel);
    Result<void> set_owner(int parent, const std::string& base, struct archive_entry* e,
                           const std::string& rel);
    Result<void> finish_file(int fd, int parent, const std::string& base, struct archive_entry* e,
                             const std::string& rel);
    Result<void> set_xattrs(int parent, const std::string& base, struct archive_entry* e,
                            const std::string& rel);
    Result<void> set_times(int parent, const std::string& base, struct archive_entry* e,
                           const std::string& rel);
    Result<void> hardlink(struct archive_entry* e, const std::string& rel, int parent,
                          const std::string& base);
    Result<void> whiteout(const std::string& dir, const std::string& name, struct archive_entry* e,
                          const std::string& rel);
    Result<void> opaque(const std::string& dir, const std::string& rel);
    Result<void> finish_dirs();
    void created(const std::string& rel) {
        created_.push_back(rel);
        written_.insert(rel);
    }

    int root_;
    const ApplyOptions& opts_;
    ApplyStats stats_;
    // The parent directory of the last regular file, reused by the next regular file in the
    // same directory (layers list a directory's files together): two openat2 and two close
    // fewer per file. Only regular files keep it; every other entry type drops it, since a
    // directory, symlink, whiteout or hard link may change what `parent_dir_` resolves to.
    std::string parent_dir_;
    UniqueFd parent_fd_;
    std::vector<std::string> created_;         // in creation order, for rollback
    std::unordered_set<std::string> written_;  // names this apply wrote (opaque in Remove mode)
    std::vector<DeferredDir> dirs_;
};

Result<UniqueFd> Applier::open_parent(const std::string& dir) {
    if (dir.empty()) return open_in_root(root_, ".", O_PATH | O_DIRECTORY);
    // Component by component, so each directory created here is recorded for rollback.
    UniqueFd cur = BERTH_TRY(open_in_root(root_, ".", O_PATH | O_DIRECTORY));
    size_t pos = 0;
    while (pos <= dir.size()) {
        size_t next = dir.find('/', pos);
        if (next == std::string::npos) next = dir.size();
        std::string prefix = dir.substr(0, next);
        std::string comp = dir.substr(pos, next - pos);
        pos = next + 1;
        written_.insert(prefix);
        auto fd = open_in_root(root_, prefix, O_PATH | O_DIRECTORY);
        if (!fd && fd.error().sys_errno == ENOENT) {
            if (::mkdirat(cur.get(), comp.c_str(), 0755) < 0) {
                if (errno == EEXIST) {
                    return make_error(Errc::InvalidArgument,
                                      "parent directory '{}' is a dangling symlink", prefix);
                }
                return BERTH_SYS_ERROR("create parent directory '{}'", prefix);
            }
            created_.push_back(prefix);
            if (opts_.preserve_ownership && (opts_.uid_offset || opts_.gid_offset)) {
                if (::fchownat(cur.get(), comp.c_str(), opts_.uid_offset, opts_.gid_offset,
                               AT_SYMLINK_NOFOLLOW) < 0)
                    return BERTH_SYS_ERROR("chown parent directory '{}'", prefix);
            }
            fd = open_in_root(root_, prefix, O_PATH | O_DIRECTORY);
        }
        if (!fd) {
            if (fd.error().sys_errno == ENOTDIR)
                return make_error(Errc::InvalidArgument, "parent '{}' is not a directory", prefix);
            return Unexpected(std::move(fd).error().wrap("resolve parent '{}'", prefix));
        }
        cur = std::move(*fd);
    }
    return cur;
}

// Clears the way for a new entry at parent/base: nothing there is fine; an existing directory
// is kept when the entry is a directory too (keep_dir), otherwise whatever is there goes.
Result<void> Applier::make_room(int parent, const std::string& base, const std::string& rel,
                                bool keep_dir, bool* kept_dir) {
    if (kept_dir) *kept_dir = false;
    struct stat st {};
    if (::fstatat(parent, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return {};
        return BERTH_SYS_ERROR("stat existing '{}'", rel);
    }
    if (S_ISDIR(st.st_mode)) {
        if (keep_dir) {
            if (kept_dir) *kept_dir = true;
            return {};
        }
        return remove_tree_at(parent, base).map_error([&](Error err) {
            return std::move(err).wrap("replace directory '{}'", rel);
        });
    }
    if (::unlinkat(parent, base.c_str(), 0) < 0)
        return BERTH_SYS_ERROR("replace existing '{}'", rel);
    return {};
}

Result<void> Applier::write_data(struct archive* a, struct archive_entry* e, int fd,
                                 const std::string& rel) {
    int64_t end = 0;  // end of the data written, to skip ftruncate when it is the size
    // start_writeback: the data of a large file is handed to the disk every kWritebackChunk
    // bytes, so that the disk writes while the rest of the layer is unpacked.
    constexpr int64_t kWritebackChunk = 8 << 20;
    int64_t kicked = 0;  // data before this offset was already handed to the disk
    auto kick = [&](int64_t upto) {
        if (opts_.start_writeback && upto > kicked)
            (void)::sync_file_range(fd, kicked, upto - kicked, SYNC_FILE_RANGE_WRITE);
        kicked = upto;
    };
    for (;;) {
        const void* buf = nullptr;
        size_t size = 0;
        la_int64_t offset = 0;
        int r = ::archive_read_data_block(a, &buf, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN)
            return make_error(Errc::InvalidArgument, "read data of '{}': {}", rel,
                              archive_message(a));
        const char* p = static_cast<const char*>(buf);
        while (size > 0) {
            ssize_t n = ::pwrite(fd, p, size, offset);
            if (n < 0) {
                if (errno == EINTR) continue;
                return BERTH_SYS_ERROR("write '{}'", rel);
            }
            p += n;
            offset += n;
            size -= static_cast<size_t>(n);
            stats_.bytes += static_cast<uint64_t>(n);
        }
        end = std::max<int64_t>(end, offset);
        if (end - kicked >= kWritebackChunk) kick(end);
    }
    if (kicked > 0 || end >= (1 << 20)) kick(end);  // large files only (see ApplyOptions)
    // Trailing holes of sparse files leave no data block: the size comes from the header.
    if (archive_entry_size_is_set(e) && archive_entry_size(e) != end &&
        ::ftruncate(fd, archive_entry_size(e)) < 0)
        return BERTH_SYS_ERROR("set size of '{}'", rel);
    return {};
}

Result<std::pair<uid_t, gid_t>> Applier::owner_of(struct archive_entry* e, const std::string& rel) {
    int64_t uid64 = archive_entry_uid(e) + opts_.uid_offset;
    int64_t gid64 = archive_entry_gid(e) + opts_.gid_offset;
    // (uid_t)-1 would mean "leave unchanged" to chown: refuse it like any id out of range.
    constexpr int64_t kMaxId = int64_t{UINT32_MAX} - 1;
    if (uid64 < 0 || uid64 > kMaxId || gid64 < 0 || gid64 > kMaxId)
        return make_error(Errc::InvalidArgument, "'{}' has an invalid owner {}:{}", rel,
                          archive_entry_uid(e), archive_entry_gid(e));
    return std::pair{static_cast<uid_t>(uid64), static_cast<gid_t>(gid64)};
}

Result<void> Applier::set_owner(int parent, const std::string& base, struct archive_entry* e,
                                const std::string& rel) {
    if (!opts_.preserve_ownership) return {};
    auto [uid, gid] = BERTH_TRY(owner_of(e, rel));
    if (::fchownat(parent, base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return BERTH_SYS_ERROR("chown '{}' to {}:{}", rel, uid, gid);
    return {};
}

// A regular file just written through `fd`: its owner, xattrs, mode and times, through the fd
// (no path lookup) and only where they differ from what the creation gave it: most files of an
// image belong to root and have a mode the umask leaves as it is, so the chown and chmod (each
// an inode update) are skipped for them. 20,000 small files: a tenth of the unpack.
Result<void> Applier::finish_file(int fd, int parent, const std::string& base,
                                  struct archive_entry* e, const std::string& rel) {
    struct stat st {};
    if (::fstat(fd, &st) < 0) return BERTH_SYS_ERROR("stat '{}'", rel);
    bool chowned = false;
    if (opts_.preserve_ownership) {
        auto [uid, gid] = BERTH_TRY(owner_of(e, rel));
        if (st.st_uid != uid || st.st_gid != gid) {
            if (::fchown(fd, uid, gid) < 0)
                return BERTH_SYS_ERROR("chown '{}' to {}:{}", rel, uid, gid);
            chowned = true;
        }
    }
    BERTH_TRY(set_xattrs(parent, base, e, rel));
    // After chown, which clears set-id bits (and the creation mode had none).
    mode_t perm = archive_entry_perm(e);
    if ((chowned || (st.st_mode & 07777) != perm) && ::fchmod(fd, perm) < 0)
        return BERTH_SYS_ERROR("chmod '{}'", rel);
    struct timespec ts[2];
    times_of(e, ts);
    if (::futimens(fd, ts) < 0) return BERTH_SYS_ERROR("set times of '{}'", rel);
    return {};
}

Result<void> Applier::set_xattrs(int parent, const std::string& base, struct archive_entry* e,
                                 const std::string& rel) {
    if (archive_entry_xattr_reset(e) == 0) return {};
    std::string path = proc_path_at(parent, base);
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        std::string_view n(name ? name : "");
        bool allowed = n.starts_with("user.") || n == "security.capability" ||
                       (opts_.allow_security_xattrs && n.starts_with("security.")) ||
                       n.starts_with("system.");  // POSIX ACLs
        if (!allowed) {
            ++stats_.skipped_xattrs;
            continue;
        }
        if (::lsetxattr(path.c_str(), name, value, size, 0) < 0) {
            int err = errno;
            if (opts_.strict_xattrs) return sys_error(err, "set xattr {} on '{}'", n, rel);
            stats_.xattr_failures.push_back(fmt::format("{}: {}: {}", rel, n, std::strerror(err)));
        }
    }
    return {};
}

Result<void> Applier::set_times(int parent, const std::string& base, struct archive_entry* e,
                                const std::string& rel) {
    struct timespec ts[2];
    times_of(e, ts);
    if (::utimensat(parent, base.c_str(), ts, AT_SYMLINK_NOFOLLOW) < 0)
        return BERTH_SYS_ERROR("set times of '{}'", rel);
    return {};
}

Result<void> Applier::hardlink(struct archive_entry* e, const std::string& rel, int parent,
                               const std::string& base) {
    const char* raw = archive_entry_hardlink(e);
    auto target = clean_relative(raw);
    if (!target)
        return make_error(Errc::InvalidArgument, "hard link '{}' -> '{}': target {}", rel, raw,
                          target.error().msg);
    if (target->empty())
        return make_error(Errc::InvalidArgument, "hard link '{}' to the root", rel);
    auto [tdir, tbase] = split_parent(*target);
    auto tparent = open_in_root(root_, tdir.empty() ? "." : tdir, O_PATH | O_DIRECTORY);
    if (!tparent)
        return Unexpected(std::move(tparent).error().wrap("hard link '{}' -> '{}'", rel, raw));
    struct stat tst {};
    if (::fstatat(tparent->get(), tbase.c_str(), &tst, AT_SYMLINK_NOFOLLOW) < 0)
        return BERTH_SYS_ERROR("hard link '{}' -> '{}': target", rel, raw);
    if (S_ISDIR(tst.st_mode))
        return make_error(Errc::InvalidArgument, "hard link '{}' -> '{}': target is a directory",
                          rel, raw);
    struct stat cur {};
    if (::fstatat(parent, base.c_str(), &cur, AT_SYMLINK_NOFOLLOW) == 0 &&
        cur.st_dev == tst.st_dev && cur.st_ino == tst.st_ino)
        return {};  // already that file (a link to itself)
    BERTH_TRY(make_room(parent, base, rel, false, nullptr));
    // Without AT_SYMLINK_FOLLOW a symlink target is linked itself, never what it points to.
    if (::linkat(tparent->get(), tbase.c_str(), parent, base.c_str(), 0) < 0)
        return BERTH_SYS_ERROR("hard link '{}' -> '{}'", rel, raw);
    created(rel);
    return {};
}

Result<void> Applier::whiteout(const std::string& dir, const std::string& name,
                               struct archive_entry* e, const std::string& rel) {
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
        return make_error(Errc::InvalidArgument, "whiteout '{}' names no file", rel);
    std::string victim = join_rel(dir, name);
    ++stats_.whiteouts;
    if (opts_.whiteouts == WhiteoutMode::Remove) {
        auto parent = open_in_root(root_, dir.empty() ? "." : dir, O_PATH | O_DIRECTORY);
        if (!parent) {
            int err = parent.error().sys_errno;
            if (err == ENOENT || err == ENOTDIR) return {};  // nothing to hide
            return Unexpected(std::move(parent).error().wrap("whiteout '{}'", rel));
        }
        return remove_tree_at(parent->get(), name).map_error([&](Error err) {
            return std::move(err).wrap("whiteout '{}'", rel);
        });
    }
    UniqueFd parent = BERTH_TRY_CTX(open_parent(dir), "whiteout '{}'", rel);
    BERTH_TRY(make_room(parent.get(), name, victim, false, nullptr));
    if (::mknodat(parent.get(), name.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0)
        return BERTH_SYS_ERROR("whiteout '{}': create 0/0 device '{}'", rel, victim);
    created(victim);
    BERTH_TRY(set_owner(parent.get(), name, e, victim));
    return set_times(parent.get(), name, e, victim);
}

Result<void> Applier::opaque(const std::string& dir, const std::string& rel) {
    ++stats_.whiteouts;
    if (opts_.whiteouts == WhiteoutMode::Overlay) {
        UniqueFd parent = BERTH_TRY_CTX(open_parent(dir), "opaque marker '{}'", rel);
        char buf[32];
        // setxattr (not l-): the magic link resolves to exactly this directory.
        if (::setxattr(fd_path(parent.get(), buf), kOverlayOpaqueXattr, "y", 1, 0) < 0)
            return BERTH_SYS_ERROR("opaque marker '{}': set {} on '{}'", rel, kOverlayOpaqueXattr,
                                   dir.empty() ? "/" : dir);
        return {};
    }
    // Remove mode: hide what lower layers put in dir, keep what this layer wrote there.
    auto d = open_in_root(root_, dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY);
    if (!d) {
        int err = d.error().sys_errno;
        if (err == ENOENT || err == ENOTDIR) return {};
        return Unexpected(std::move(d).error().wrap("opaque marker '{}'", rel));
    }
    std::vector<std::string> names;
    {
        DIR* ds = ::fdopendir(::dup(d->get()));
        if (!ds) return BERTH_SYS_ERROR("opaque marker '{}': read directory", rel);
        while (struct dirent* de = ::readdir(ds)) {
            std::string_view n(de->d_name);
            if (n != "." && n != "..") names.emplace_back(n);
        }
        ::closedir(ds);
    }
    for (const auto& n : names) {
        if (written_.count(join_rel(dir, n))) continue;
        BERTH_TRY_CTX(remove_tree_at(d->get(), n), "opaque marker '{}'", rel);
    }
    return {};
}

Result<void> Applier::apply_entry(struct archive* a, struct archive_entry* e,
                                  const std::string& rel) {
    auto [dir, base] = split_parent(rel);
    mode_t type = archive_entry_filetype(e);
    const char* hardlink_target = archive_entry_hardlink(e);
    // See parent_fd_: anything but a plain file in the same directory drops the cached parent
    // (whiteouts too, which may remove that very directory).
    bool plain_file = type == AE_IFREG && !hardlink_target && !rel.empty() &&
                      !std::string_view(base).starts_with(kWhiteoutPrefix);
    if (!plain_file || parent_dir_ != dir) {
        parent_fd_.reset();
        parent_dir_.clear();
    }

    if (rel.empty()) {
        // "./" itself: the target directory belongs to the caller; keep its metadata.
        if (type == AE_IFDIR) return {};
        return make_error(Errc::InvalidArgument, "entry would replace the root directory");
    }
    if (std::string_view(base).starts_with(kWhiteoutPrefix)) {
        if (base == kOpaqueMarker) return opaque(dir, rel);
        if (std::string_view(base).starts_with(kWhiteoutMetaPrefix)) return {};  // aufs metadata
        return whiteout(dir, base.substr(kWhiteoutPrefix.size()), e, rel);
    }

    UniqueFd parent;
    if (plain_file && parent_fd_) {
        parent = std::move(parent_fd_);
    } else {
        parent = BERTH_TRY(open_parent(dir));
    }
    int pfd = parent.get();
    written_.insert(rel);
    if (hardlink_target) return hardlink(e, rel, pfd, base);

    switch (type) {
        case AE_IFREG: {
            // Create first; only a name that is taken needs make_room (one fstatat fewer).
            // Created with its permission bits (never set-id ones, which chown would clear):
            // the fd is writable whatever they are, and finish_file() often has no chmod left.
            mode_t create_mode = archive_entry_perm(e) & 0777;
            UniqueFd f(::openat(pfd, base.c_str(),
                                O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, create_mode));
            if (!f && errno == EEXIST) {
                BERTH_TRY(make_room(pfd, base, rel, false, nullptr));
                f.reset(::openat(pfd, base.c_str(),
                                 O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, create_mode));
            }
            if (!f) return BERTH_SYS_ERROR("create file '{}'", rel);
            created(rel);
            BERTH_TRY(write_data(a, e, f.get(), rel));
            BERTH_TRY(finish_file(f.get(), pfd, base, e, rel));
            parent_dir_ = dir;
            parent_fd_ = std::move(parent);
            return {};
        }
        case AE_IFDIR: {
            bool kept = false;
            BERTH_TRY(make_room(pfd, base, rel, true, &kept));
            if (!kept) {
                if (::mkdirat(pfd, base.c_str(), 0700) < 0)
                    return BERTH_SYS_ERROR("create directory '{}'", rel);
                created(rel);
            }
            BERTH_TRY(set_owner(pfd, base, e, rel));
            BERTH_TRY(set_xattrs(pfd, base, e, rel));
            // Mode and times at the end: a 0555 directory must still take its children, and
            // creating them changes the mtime.
            DeferredDir d{rel, archive_entry_perm(e), {}};
            d.times[1].tv_sec = archive_entry_mtime(e);
            d.times[1].tv_nsec = archive_entry_mtime_nsec(e);
            d.times[0] = d.times[1];
            dirs_.push_back(std::move(d));
            return {};
        }
        case AE_IFLNK: {
            const char* target = archive_entry_symlink(e);
            if (!target || !*target)
                return make_error(Errc::InvalidArgument, "symlink '{}' has no target", rel);
            if (target[0] != '/') {
                auto resolved = clean_relative(join_rel(dir, target));
                if (!resolved)
                    return make_error(Errc::InvalidArgument,
                                      "invalid symlink '{}' -> '{}': points outside the root", rel,
                                      target);
            }
            BERTH_TRY(make_room(pfd, base, rel, false, nullptr));
            if (::symlinkat(target, pfd, base.c_str()) < 0)
                return BERTH_SYS_ERROR("create symlink '{}'", rel);
            created(rel);
            BERTH_TRY(set_owner(pfd, base, e, rel));
            BERTH_TRY(set_xattrs(pfd, base, e, rel));
            return set_times(pfd, base, e, rel);
        }
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO: {
            if (type != AE_IFIFO && opts_.devices == DeviceMode::Skip) {
                ++stats_.skipped_devices;
                return {};
            }
            BERTH_TRY(make_room(pfd, base, rel, false, nullptr));
            mode_t kind = type == AE_IFCHR ? S_IFCHR : type == AE_IFBLK ? S_IFBLK : S_IFIFO;
            if (::mknodat(pfd, base.c_str(), kind | 0600, archive_entry_rdev(e)) < 0) {
                if (errno == EPERM && type != AE_IFIFO &&
                    opts_.devices == DeviceMode::CreateOrSkip) {
                    ++stats_.skipped_devices;
                    return {};
                }
                return BERTH_SYS_ERROR("create device '{}'", rel);
            }
            created(rel);
            BERTH_TRY(set_owner(pfd, base, e, rel));
            BERTH_TRY(set_xattrs(pfd, base, e, rel));
            if (::fchmodat(pfd, base.c_str(), archive_entry_perm(e), 0) < 0)
                return BERTH_SYS_ERROR("chmod '{}'", rel);
            return set_times(pfd, base, e, rel);
        }
        case AE_IFSOCK:
            return {};  // sockets are not archived content
        default:
            return make_error(Errc::InvalidArgument, "entry '{}' has unknown type {:o}", rel, type);
    }
}

Result<void> Applier::finish_dirs() {
    // Children before parents, so setting a child's times does not touch a finished parent.
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
        auto [dir, base] = split_parent(it->path);
        // A later entry may have replaced or removed the directory (or a parent): skip it.
        auto parent = open_in_root(root_, dir.empty() ? "." : dir, O_PATH | O_DIRECTORY);
        if (!parent) {
            int err = parent.error().sys_errno;
            if (err == ENOENT || err == ENOTDIR) continue;
            return Unexpected(std::move(parent).error().wrap("finish directory '{}'", it->path));
        }
        struct stat st {};
        if (::fstatat(parent->get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT) continue;
            return BERTH_SYS_ERROR("finish directory '{}'", it->path);
        }
        if (!S_ISDIR(st.st_mode)) continue;
        if (::fchmodat(parent->get(), base.c_str(), it->mode, 0) < 0)
            return BERTH_SYS_ERROR("chmod directory '{}'", it->path);
        if (::utimensat(parent->get(), base.c_str(), it->times, AT_SYMLINK_NOFOLLOW) < 0)
            return BERTH_SYS_ERROR("set times of directory '{}'", it->path);
    }
    return {};
}

Result<void> Applier::run(struct archive* a) {
    std::string last = "(start of archive)";
    for (;;) {
        struct archive_entry* e = nullptr;
        la_int64_t pos = ::archive_read_header_position(a);
        int r = ::archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            if (stats_.entries == 0)
                return make_error(Errc::InvalidArgument,
                                  "not a tar archive (plain, gzip or zstd): {}",
                                  archive_message(a));
            return make_error(Errc::InvalidArgument,
                              "read tar header #{} at offset {} (after '{}'): {}",
                              stats_.entries + 1, pos, last, archive_message(a));
        }
        ++stats_.entries;
        const char* raw = archive_entry_pathname(e);
        if (!raw)
            return make_error(Errc::InvalidArgument,
                              "tar entry #{} (header at offset {}) has no name", stats_.entries,
                              pos);
        last = raw;
        auto rel = clean_relative(raw);
        if (!rel)
            return make_error(Errc::InvalidArgument, "tar entry '{}': name {}", raw,
                              rel.error().msg);
        BERTH_TRY_CTX(apply_entry(a, e, *rel), "tar entry '{}'", raw);
    }
    return finish_dirs();
}

void Applier::rollback(bool fresh) {
    if (fresh) {
        // The target was empty: everything in it is ours.
        UniqueFd d(::openat(root_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!d) return;
        std::vector<std::string> names;
        if (DIR* ds = ::fdopendir(::dup(d.get()))) {
            while (struct dirent* de = ::readdir(ds)) {
                std::string_view n(de->d_name);
                if (n != "." && n != "..") names.emplace_back(n);
            }
            ::closedir(ds);
        }
        for (const auto& n : names) (void)remove_tree_at(d.get(), n);
        return;
    }
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
        auto [dir, base] = split_parent(*it);
        auto parent = open_in_root(root_, dir.empty() ? "." : dir, O_PATH | O_DIRECTORY);
        if (parent) (void)remove_tree_at(parent->get(), base);
    }
}

bool dir_is_empty(int dirfd) {
    DIR* ds = ::fdopendir(::dup(dirfd));
    if (!ds) return false;
    bool empty = true;
    while (struct dirent* de = ::readdir(ds)) {
        std::string_view n(de->d_name);
        if (n != "." && n != "..") {
            empty = false;
            break;
        }
    }
    ::closedir(ds);
    return empty;
}

}  // namespace

namespace {

// Reads a custom source for libarchive; keeps the source's own error, which says more than
// libarchive's "read error".
struct SourceCtx {
    const ReadBlockFn* next;
    Error error;
    bool failed = false;
    static la_ssize_t read_cb(struct archive* a, void* ctx, const void** buf) {
        auto* c = static_cast<SourceCtx*>(ctx);
        auto r = (*c->next)();
        if (!r) {
            c->error = std::move(r).error();
            c->failed = true;
            ::archive_set_error(a, EIO, "%s", c->error.msg.c_str());
            return -1;
        }
        *buf = r->data();
        return static_cast<la_ssize_t>(r->size());
    }
};

// apply_layer() and apply_layer_from(): `open` attaches the input to the archive.
template <class Open>
Result<ApplyStats> apply_with(const std::string& target_dir, const ApplyOptions& opts,
                              Open&& open, SourceCtx* source) {
    bool created_target = false;
    if (!path_exists(target_dir)) {
        BERTH_TRY_CTX(mkdir_all(target_dir), "apply layer to {}", target_dir);
        created_target = true;
    }
    UniqueFd listing(::open(target_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!listing) return BERTH_SYS_ERROR("apply layer: open target {}", target_dir);
    bool fresh = dir_is_empty(listing.get());
    UniqueFd root(::open(target_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return BERTH_SYS_ERROR("apply layer: open target {}", target_dir);
    auto undo_target = [&] {
        root.reset();
        listing.reset();
        if (created_target) (void)remove_all(target_dir);
    };

    ReadArchive a(::archive_read_new());
    if (!a) return make_error(Errc::Internal, "apply layer: archive_read_new failed");
    // libarchive picks the filter by its magic number: gzip 1f 8b, zstd 28 b5 2f fd, else none.
    ::archive_read_support_filter_gzip(a.get());
    ::archive_read_support_filter_zstd(a.get());
    ::archive_read_support_filter_none(a.get());
    ::archive_read_support_format_tar(a.get());  // ustar, pax, GNU (long names, sparse), v7
    // A zero-byte stream is an empty layer, as Go's archive/tar (containerd, moby) takes it.
    ::archive_read_support_format_empty(a.get());
    if (open(a.get()) != ARCHIVE_OK) {
        undo_target();
        if (source && source->failed)
            return Unexpected(std::move(source->error).wrap("apply layer to {}", target_dir));
        return make_error(Errc::InvalidArgument,
                          "apply layer to {}: not a tar archive (plain, gzip or zstd): {}",
                          target_dir, archive_message(a.get()));
    }

    Applier applier(root.get(), opts);
    auto res = applier.run(a.get());
    if (!res) {
        applier.rollback(fresh);
        undo_target();
        if (source && source->failed)
            return Unexpected(std::move(source->error).wrap("apply layer to {}", target_dir));
        return Unexpected(std::move(res).error().wrap("apply layer to {}", target_dir));
    }
    return applier.take_stats();
}

}  // namespace

Result<ApplyStats> apply_layer(int fd, const std::string& target_dir, const ApplyOptions& opts) {
    return apply_with(
        target_dir, opts,
        [fd](struct archive* a) { return ::archive_read_open_fd(a, fd, 64 * 1024); }, nullptr);
}

Result<ApplyStats> apply_layer_from(const ReadBlockFn& next, const std::string& target_dir,
                                    const ApplyOptions& opts) {
    SourceCtx ctx{&next, {}, false};
    return apply_with(
        target_dir, opts,
        [&ctx](struct archive* a) {
            return ::archive_read_open(a, &ctx, nullptr, SourceCtx::read_cb, nullptr);
        },
        &ctx);
}

}  // namespace berth::archive
