// export, changes and archive (container_fs.hpp): moby daemon/export.go, daemon/changes.go,
// daemon/archive.go and pkg/archive/changes.go over the archive module's tar reader and writer.

#include "berth/engine/container_fs.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/process.hpp"
#include "berth/common/safe_path.hpp"
#include "berth/common/scope_exit.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/oci/spec_json.hpp"

extern char** environ;

namespace berth::engine {
namespace {

constexpr const char* kOpaqueXattr = "trusted.overlay.opaque";

bool is_whiteout(const struct stat& st) {
    return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

// moby's sameFsTime: tar loses sub-second mtimes, so a zero nanosecond part matches any.
bool same_fs_time(const struct timespec& a, const struct timespec& b) {
    return a.tv_sec == b.tv_sec && (a.tv_nsec == b.tv_nsec || a.tv_nsec == 0 || b.tv_nsec == 0);
}

bool is_opaque(int dirfd, const std::string& name) {
    char path[PATH_MAX];
    char fdbuf[32];
    std::snprintf(path, sizeof path, "%s/%s", fd_path(dirfd, fdbuf), name.c_str());
    char v[2] = {};
    ssize_t n = ::lgetxattr(path, kOpaqueXattr, v, sizeof v);
    return n == 1 && v[0] == 'y';
}

// The sorted names in an open directory (list_dir through its /proc/self/fd link).
Result<std::vector<std::string>> sorted_names(int dirfd, const std::string& what) {
    char buf[32];
    return BERTH_TRY_CTX(list_dir(fd_path(dirfd, buf)), "list {}", what);
}

/// moby's changes() walk over an overlay upper dir (see overlay_changes()).
class ChangeWalker {
public:
    ChangeWalker(const std::set<std::string>& excluded) : excluded_(excluded) {}

    Result<void> open_lowers(const std::vector<std::string>& lowers) {
        for (const auto& l : lowers) {
            UniqueFd fd(::open(l.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
            if (!fd) return BERTH_SYS_ERROR("open lower layer {}", l);
            lowers_.push_back(std::move(fd));
        }
        return {};
    }

    // The first lower layer's entry at `path`: nullopt when no layer has it or the topmost
    // layer that names it holds a whiteout.
    Result<std::optional<struct stat>> below(const std::string& path) {
        std::string parent = dirname_of(path);
        std::string base = path.substr(path.find_last_of('/') + 1);
        for (const auto& l : lowers_) {
            auto dir = open_in_root(l.get(), parent, O_PATH | O_DIRECTORY);
            if (!dir) {
                int e = dir.error().sys_errno;
                if (e == ENOENT || e == ENOTDIR) continue;
                return Unexpected(std::move(dir).error().wrap("look up {} in a lower layer", path));
            }
            struct stat st {};
            if (::fstatat(dir->get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT) continue;
                return BERTH_SYS_ERROR("stat {} in a lower layer", path);
            }
            if (is_whiteout(st)) return std::optional<struct stat>{};
            return std::optional<struct stat>{st};
        }
        return std::optional<struct stat>{};
    }

    Result<void> walk(int dirfd, const std::string& prefix) {
        auto names = BERTH_TRY(sorted_names(dirfd, prefix.empty() ? "/" : prefix));
        for (const auto& name : names) {
            std::string path = prefix + "/" + name;
            if (excluded_.count(path)) continue;
            struct stat st {};
            if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT) continue;  // removed while we walk (a running container)
                return BERTH_SYS_ERROR("stat {} in the upper layer", path);
            }
            bool dir = S_ISDIR(st.st_mode);
            std::optional<ChangeKind> kind;
            bool record = true;
            if (is_whiteout(st)) {
                kind = ChangeKind::Delete;
            } else {
                auto lower = BERTH_TRY(below(path));
                if (dir && is_opaque(dirfd, name) && lower) {
                    kind = ChangeKind::Delete;  // deleted, then re-created here
                } else if (!lower) {
                    kind = ChangeKind::Add;
                } else {
                    kind = ChangeKind::Modify;
                    if (dir && S_ISDIR(lower->st_mode) && lower->st_mode == st.st_mode) {
                        bool same = lower->st_size == st.st_size &&
                                    same_fs_time(lower->st_mtim, st.st_mtim);
                        // Copied up only because of entries we do not report (mount points
                        // the runtime created): its mtime moved, nothing the user did.
                        record = !same && !dir_only_excluded(dirfd, name, path);
                    }
                }
            }
            if (record) {
                if (dir) changed_dirs_.insert(path);
                if (*kind != ChangeKind::Modify) {
                    std::string parent = dirname_of(path);
                    if (parent != "/" && changed_dirs_.insert(parent).second)
                        changes_.push_back({parent, ChangeKind::Modify});
                }
                changes_.push_back({path, *kind});
            }
            if (dir && !is_whiteout(st)) {
                UniqueFd sub(::openat(dirfd, name.c_str(),
                                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                if (!sub) return BERTH_SYS_ERROR("open {} in the upper layer", path);
                BERTH_TRY(walk(sub.get(), path));
            }
        }
        return {};
    }

    std::vector<FsChange> take() { return std::move(changes_); }

private:
    // Whether the upper directory holds excluded entries (a dir copied up for a mount point).
    bool dir_only_excluded(int dirfd, const std::string& name, const std::string& path) {
        for (const auto& e : excluded_)
            if (dirname_of(e) == path) {
                struct stat st {};
                std::string rel = name + e.substr(path.size());
                if (::fstatat(dirfd, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return true;
            }
        return false;
    }

    const std::set<std::string>& excluded_;
    std::vector<UniqueFd> lowers_;
    std::vector<FsChange> changes_;
    std::set<std::string> changed_dirs_;
};

// A requested archive path split as moby's ResolvePath does.
struct ResolvedRequest {
    std::string abs;      ///< "/" + path, cleaned, with a trailing "/" or "/." kept
    std::string name;     ///< filepath.Base(abs): "etc" for "/etc/", "." for "/etc/.", "/"
    bool follow = false;  ///< the last element is followed (trailing "/" or "/.", or the root)
    bool contents_only = false;  ///< "/." suffix or the root: the directory's contents only
};

ResolvedRequest split_request(std::string_view path) {
    ResolvedRequest r;
    std::string cleaned = clean_path("/" + std::string(path));
    bool dot = path.size() >= 2 && path.substr(path.size() - 2) == "/.";
    bool slash = !path.empty() && path.back() == '/';
    if (path == ".") dot = true;
    r.abs = cleaned;
    if (cleaned == "/") {
        r.name = "/";
        r.follow = true;
        r.contents_only = true;
        return r;
    }
    r.name = cleaned.substr(cleaned.find_last_of('/') + 1);
    if (dot) {
        r.abs += "/.";
        r.name = ".";
        r.follow = true;
        r.contents_only = true;
    } else if (slash) {
        r.abs += "/";
        r.follow = true;
    }
    return r;
}

Unexpected not_found(std::string_view path, std::string_view container) {
    return make_error(Errc::NotFound, "Could not find the file {} in container {}", path,
                      container);
}

Result<UniqueFd> open_root(const std::string& rootfs) {
    UniqueFd fd(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return BERTH_SYS_ERROR("open the root filesystem {}", rootfs);
    return fd;
}

// Opens the requested path (O_PATH) inside the root as moby's ResolvePath resolves it.
Result<UniqueFd> open_request(int rootfd, const ResolvedRequest& r, std::string_view path,
                              std::string_view container) {
    auto fd = open_in_root(rootfd, r.abs, O_PATH | (r.follow ? 0 : O_NOFOLLOW));
    if (!fd) {
        int e = fd.error().sys_errno;
        if (e == ENOENT || e == ENOTDIR) return not_found(path, container);
        return Unexpected(std::move(fd).error().wrap("resolve {} in container {}", path,
                                                     container));
    }
    return fd;
}

// The requested path opened (O_PATH) and stat'ed, with the root it was resolved in.
struct OpenedRequest {
    UniqueFd root;
    ResolvedRequest req;
    UniqueFd fd;
    struct stat st {};
};

Result<OpenedRequest> open_and_stat(const std::string& rootfs, std::string_view path,
                                    std::string_view container) {
    OpenedRequest o;
    o.root = BERTH_TRY(open_root(rootfs));
    o.req = split_request(path);
    o.fd = BERTH_TRY(open_request(o.root.get(), o.req, path, container));
    if (::fstatat(o.fd.get(), "", &o.st, AT_EMPTY_PATH) < 0)
        return BERTH_SYS_ERROR("stat {} in container {}", path, container);
    return o;
}

// The path of an open file inside the root ("/a/b"), from the fd's /proc link.
Result<std::string> path_in_root(int fd, const std::string& rootfs) {
    char buf[32];
    std::string link(PATH_MAX, '\0');
    ssize_t n = ::readlink(fd_path(fd, buf), link.data(), link.size());
    if (n < 0) return BERTH_SYS_ERROR("read the path of an open file");
    link.resize(static_cast<size_t>(n));
    char* real = ::realpath(rootfs.c_str(), nullptr);
    if (!real) return BERTH_SYS_ERROR("resolve {}", rootfs);
    std::string root(real);
    ::free(real);
    if (link == root) return std::string("/");
    if (link.rfind(root + "/", 0) != 0)
        return make_error(Errc::Internal, "{} is not below {}", link, root);
    return link.substr(root.size());
}

// moby's linkTarget: the symlink followed inside the root, every link on the way too; a
// dangling link is resolved lexically from its text.
std::string link_target_of(int rootfd, const std::string& rootfs, const std::string& abs,
                           int linkfd) {
    auto fd = open_in_root(rootfd, abs, O_PATH);
    if (fd) {
        auto p = path_in_root(fd->get(), rootfs);
        if (p) return *p;
    }
    std::string target(PATH_MAX, '\0');
    ssize_t n = ::readlinkat(linkfd, "", target.data(), target.size());
    if (n < 0) return "";
    target.resize(static_cast<size_t>(n));
    if (!target.empty() && target[0] == '/') return clean_path(target);
    return clean_path(dirname_of(clean_path(abs)) + "/" + target);
}

// A tar of `dir` (a path the archive module opens) to `sink`.
Result<void> write_tree(const std::string& dir, const TarSink& sink) {
    UniqueFd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    if (!null) return BERTH_SYS_ERROR("open /dev/null");
    archive::DiffOptions o;
    o.overlay_whiteouts = false;  // a merged view: a 0/0 device there is a real device
    o.on_uncompressed = sink;
    return archive::write_layer(dir, null.get(), o);
}

// Runs `fn` on a thread in which SIGPIPE is blocked, so a write to a pipe whose reader left
// fails with EPIPE instead of killing the process (tests do not ignore SIGPIPE as berthd does).
template <class F>
std::thread pipe_writer_thread(F fn) {
    return std::thread([fn = std::move(fn)]() mutable {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        fn();
    });
}

// Reads the first bytes of the stream (enough to see a compression's magic number) and
// returns a source that replays them before the rest.
struct SniffedSource {
    std::string head;
    bool head_sent = false;
    bool eof = false;
    const archive::ReadBlockFn* next = nullptr;

    Result<void> sniff() {
        while (head.size() < 6) {
            auto b = BERTH_TRY((*next)());
            if (b.empty()) {
                eof = true;
                break;
            }
            head.append(b);
        }
        return {};
    }

    Result<std::string_view> read() {
        if (!head_sent) {
            head_sent = true;
            if (!head.empty()) return std::string_view(head);
        }
        if (eof) return std::string_view{};
        return (*next)();
    }
};

// bzip2 and xz, which the archive module does not decode: moby runs xz as a program too.
const char* external_decompressor(std::string_view h) {
    using namespace std::string_view_literals;
    if (h.substr(0, 3) == "BZh"sv) return "bzip2";
    if (h.substr(0, 6) == "\xfd\x37\x7a\x58\x5a\x00"sv) return "xz";
    return nullptr;
}

// Applies `src` to `target` through `prog -dc`: a thread feeds the program, the archive
// module reads its output.
Result<void> apply_through(const char* prog, SniffedSource& src, const std::string& target,
                           const archive::ApplyOptions& ao) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) < 0) return BERTH_SYS_ERROR("pipe for {}", prog);
    UniqueFd in_r(in[0]), in_w(in[1]);
    if (::pipe2(out, O_CLOEXEC) < 0) return BERTH_SYS_ERROR("pipe for {}", prog);
    UniqueFd out_r(out[0]), out_w(out[1]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
    posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);  // stderr stays: the decompressor's errors
    std::string p(prog);
    std::vector<std::string> args{p, "-d", "-c", "-q"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, prog, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return sys_error(rc, "run {} to decompress the archive", prog);
    ChildProcess child(pid);
    in_r.reset();
    out_w.reset();
    Result<void> fed;
    std::thread feeder = pipe_writer_thread([&] {
        fed = [&]() -> Result<void> {
            for (;;) {
                auto b = BERTH_TRY(src.read());
                if (b.empty()) return {};
                BERTH_TRY(write_all(in_w.get(), b, prog));
            }
        }();
        in_w.reset();
    });
    auto applied = archive::apply_layer(out_r.get(), target, ao);
    out_r.reset();  // a feeder blocked on a full pipe gets EPIPE from the program's exit
    if (!applied) (void)::kill(pid, SIGKILL);
    feeder.join();
    auto st = child.wait();
    if (!applied) return Unexpected(std::move(applied).error());
    if (!fed) return Unexpected(std::move(fed).error());
    if (!st) return Unexpected(std::move(st).error());
    if (!st->ok())
        return make_error(Errc::InvalidArgument, "decompress the archive: {} exited with {}", prog,
                          st->code);
    return {};
}

// Applies the whole source to `target` (a directory path the archive module opens).
Result<void> apply_source(SniffedSource& src, const std::string& target,
                          const archive::ApplyOptions& ao) {
    if (const char* prog = external_decompressor(src.head))
        return apply_through(prog, src, target, ao);
    BERTH_TRY(archive::apply_layer_from([&src] { return src.read(); }, target, ao));
    return {};
}

// noOverwriteDirNonDir: compares the unpacked tree `stage_fd` with the destination (the
// directory `dest_abs` inside the root), moby's wording for a conflict.
Result<void> check_dir_non_dir(int stage_fd, int rootfd, const std::string& dest_abs,
                               const std::string& rel) {
    auto names = BERTH_TRY(sorted_names(stage_fd, rel.empty() ? "." : rel));
    std::string dir_abs = rel.empty() ? dest_abs : path_join(dest_abs, rel);
    auto dest = open_in_root(rootfd, dir_abs, O_PATH | O_DIRECTORY);
    if (!dest) return {};  // not there (or not a directory): nothing below can conflict
    for (const auto& n : names) {
        struct stat staged {}, have {};
        if (::fstatat(stage_fd, n.c_str(), &staged, AT_SYMLINK_NOFOLLOW) < 0)
            return BERTH_SYS_ERROR("stat unpacked {}", n);
        if (::fstatat(dest->get(), n.c_str(), &have, AT_SYMLINK_NOFOLLOW) < 0) continue;
        std::string p = path_join(dir_abs, n);
        if (S_ISDIR(have.st_mode) && !S_ISDIR(staged.st_mode))
            return make_error(Errc::InvalidArgument,
                              "cannot overwrite directory \"{}\" with non-directory \"{}\"", p, p);
        if (!S_ISDIR(have.st_mode) && S_ISDIR(staged.st_mode))
            return make_error(Errc::InvalidArgument,
                              "cannot overwrite non-directory \"{}\" with directory \"{}\"", p, p);
        if (S_ISDIR(staged.st_mode)) {
            UniqueFd sub(::openat(stage_fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                                           O_CLOEXEC));
            if (!sub) return BERTH_SYS_ERROR("open unpacked {}", n);
            BERTH_TRY(check_dir_non_dir(sub.get(), rootfd, dir_abs, n));
        }
    }
    return {};
}

}  // namespace

std::vector<std::string> overlay_lower_dirs(const store::MountSpec& spec) {
    std::vector<std::string> out;
    if (spec.type == "bind") {
        out.push_back(spec.source);
        return out;
    }
    for (const auto& o : spec.options) {
        if (o.rfind("lowerdir+=", 0) == 0) {
            out.push_back(o.substr(10));
        } else if (o.rfind("lowerdir=", 0) == 0) {
            std::string_view v(o);
            v.remove_prefix(9);
            size_t i = 0;
            while (i <= v.size()) {
                size_t c = v.find(':', i);
                if (c == std::string_view::npos) c = v.size();
                std::string d(v.substr(i, c - i));
                if (!d.empty()) out.push_back(spec.chdir.empty() || d[0] == '/'
                                                  ? d
                                                  : path_join(spec.chdir, d));
                i = c + 1;
            }
        }
    }
    return out;
}

Result<std::vector<FsChange>> overlay_changes(const std::string& upper,
                                              const std::vector<std::string>& lowers,
                                              const std::set<std::string>& excluded) {
    UniqueFd root(::open(upper.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) return BERTH_SYS_ERROR("changes: open the upper layer {}", upper);
    std::set<std::string> ex;
    for (const auto& e : excluded) ex.insert(clean_path("/" + e));
    ChangeWalker w(ex);
    BERTH_TRY_CTX(w.open_lowers(lowers), "changes of {}", upper);
    BERTH_TRY_CTX(w.walk(root.get(), ""), "changes of {}", upper);
    return w.take();
}

Result<RootfsPathStat> stat_in_rootfs(const std::string& rootfs, std::string_view path,
                                      std::string_view container) {
    OpenedRequest o = BERTH_TRY(open_and_stat(rootfs, path, container));
    const struct stat& st = o.st;
    RootfsPathStat out;
    out.name = o.req.name;
    out.size = st.st_size;
    out.mode = st.st_mode;
    out.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
    if (S_ISLNK(st.st_mode))
        out.link_target = link_target_of(o.root.get(), rootfs, o.req.abs, o.fd.get());
    return out;
}

Result<void> write_rootfs_tar(const std::string& rootfs, const TarSink& sink) {
    return write_tree(rootfs, sink);
}

Result<void> write_path_tar(const std::string& rootfs, std::string_view path,
                            std::string_view container, const std::string& work_dir,
                            const TarSink& sink) {
    OpenedRequest o = BERTH_TRY(open_and_stat(rootfs, path, container));
    const struct stat& st = o.st;
    const ResolvedRequest& r = o.req;
    const UniqueFd& fd = o.fd;
    char buf[32];
    if (r.contents_only) {
        if (!S_ISDIR(st.st_mode))
            return make_error(Errc::InvalidArgument, "{} in container {} is not a directory",
                              path, container);
        return write_tree(fd_path(fd.get(), buf), sink);
    }
    if (r.follow && !S_ISDIR(st.st_mode))
        return make_error(Errc::InvalidArgument, "{} in container {} is not a directory", path,
                          container);
    // The entry appears under its base name in a scratch directory, which the archive module
    // then writes: a symlink is re-created there, anything else is bind-mounted from the rootfs.
    UniqueFd work(::open(work_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!work) return BERTH_SYS_ERROR("open scratch directory {}", work_dir);
    const std::string& base = r.name;
    std::string at = path_join(work_dir, base);
    bool is_dir = S_ISDIR(st.st_mode);
    // Runs last (declared first): the scratch entry goes once it is unmounted.
    ScopeExit remove_entry(
        [&] { (void)::unlinkat(work.get(), base.c_str(), is_dir ? AT_REMOVEDIR : 0); });
    if (S_ISLNK(st.st_mode)) {
        std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : PATH_MAX) + 1, '\0');
        ssize_t n = ::readlinkat(fd.get(), "", target.data(), target.size());
        if (n < 0) return BERTH_SYS_ERROR("read symlink {} in container {}", path, container);
        target.resize(static_cast<size_t>(n));
        if (::symlinkat(target.c_str(), work.get(), base.c_str()) < 0)
            return BERTH_SYS_ERROR("create {}", at);
        if (::fchownat(work.get(), base.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 &&
            errno != EPERM)
            return BERTH_SYS_ERROR("chown {}", at);
        struct timespec ts[2] = {st.st_atim, st.st_mtim};
        (void)::utimensat(work.get(), base.c_str(), ts, AT_SYMLINK_NOFOLLOW);
        return write_tree(work_dir, sink);
    }
    int made = is_dir ? ::mkdirat(work.get(), base.c_str(), 0700)
                                   : ::mknodat(work.get(), base.c_str(), S_IFREG | 0600, 0);
    if (made < 0) return BERTH_SYS_ERROR("create {}", at);
    if (::mount(fd_path(fd.get(), buf), at.c_str(), nullptr, MS_BIND, nullptr) < 0)
        return BERTH_SYS_ERROR("bind {} of container {} on {}", path, container, at);
    ScopeExit unmount([&] {
        if (::umount2(at.c_str(), MNT_DETACH) < 0) BPLOG_WARN("unmount {}", at);
    });
    return write_tree(work_dir, sink);
}

Result<void> extract_into_rootfs(const std::string& rootfs, std::string_view path,
                                 std::string_view container, const archive::ReadBlockFn& next,
                                 const std::string& work_dir, const ExtractOptions& opts) {
    UniqueFd root = BERTH_TRY(open_root(rootfs));
    // moby's containerExtractToDir: every symlink followed, the last one too.
    auto dest = open_in_root(root.get(), clean_path("/" + std::string(path)), O_PATH);
    if (!dest) {
        int e = dest.error().sys_errno;
        if (e == ENOENT || e == ENOTDIR) return not_found(path, container);
        return Unexpected(std::move(dest).error().wrap("resolve {} in container {}", path,
                                                       container));
    }
    struct stat st {};
    if (::fstatat(dest->get(), "", &st, AT_EMPTY_PATH) < 0)
        return BERTH_SYS_ERROR("stat {} in container {}", path, container);
    if (!S_ISDIR(st.st_mode))
        return make_error(Errc::InvalidArgument, "extraction point is not a directory");
    char buf[32];
    std::string target = fd_path(dest->get(), buf);

    archive::ApplyOptions ao;
    ao.whiteouts = archive::WhiteoutMode::Remove;  // never overlay markers in a merged view
    ao.devices = archive::DeviceMode::CreateOrSkip;
    ao.preserve_ownership = opts.copy_uid_gid;  // else berthd (root) owns what it creates
    SniffedSource src;
    src.next = &next;
    BERTH_TRY_CTX(src.sniff(), "read the archive for {} in container {}", path, container);

    auto fail = [&](Error e) {
        // The archive module names its target, here a /proc/self/fd link: drop that part.
        std::string noise = "apply layer to " + target + ": ";
        if (auto at = e.msg.find(noise); at != std::string::npos) e.msg.erase(at, noise.size());
        noise = "apply layer to " + path_join(work_dir, "stage") + ": ";
        if (auto at = e.msg.find(noise); at != std::string::npos) e.msg.erase(at, noise.size());
        return Unexpected(std::move(e).wrap("extract to {} in container {}", path, container));
    };
    if (!opts.no_overwrite_dir_non_dir) {
        if (auto a = apply_source(src, target, ao); !a) return fail(std::move(a).error());
        return {};
    }
    // Unpacked in a scratch directory first, so a conflict is found before anything in the
    // container changes; then copied in as a tar of that tree (uid/gid are already right).
    std::string stage = path_join(work_dir, "stage");
    if (auto a = apply_source(src, stage, ao); !a) return fail(std::move(a).error());
    UniqueFd stage_fd(::open(stage.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!stage_fd) return BERTH_SYS_ERROR("open {}", stage);
    std::string dest_abs = BERTH_TRY(path_in_root(dest->get(), rootfs));
    BERTH_TRY(check_dir_non_dir(stage_fd.get(), root.get(), dest_abs, ""));

    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return BERTH_SYS_ERROR("pipe");
    UniqueFd rd(p[0]), wr(p[1]);
    Result<void> written;
    std::thread writer = pipe_writer_thread([&] {
        archive::DiffOptions d;
        d.overlay_whiteouts = false;
        d.subsecond_mtimes = true;
        written = archive::write_layer(stage, wr.get(), d);
        wr.reset();
    });
    archive::ApplyOptions copy = ao;
    copy.preserve_ownership = true;
    auto applied = archive::apply_layer(rd.get(), target, copy);
    rd.reset();
    writer.join();
    if (!applied) return fail(std::move(applied).error());
    if (!written) return fail(std::move(written).error());
    return {};
}

Result<std::string> ContainerFs::scratch_dir(const std::string& upper) {
    std::string hex = BERTH_TRY(random_hex(6));
    std::string dir = path_join(dirname_of(upper), "cp-" + hex);
    if (::mkdir(dir.c_str(), 0700) < 0) return BERTH_SYS_ERROR("create {}", dir);
    return dir;
}

Result<void> ContainerFs::export_rootfs(std::string_view name, const TarSink& sink) {
    return containers_.with_rootfs(name, [&](const std::string& rootfs, const std::string&) {
        return write_rootfs_tar(rootfs, sink);
    });
}

Result<std::vector<FsChange>> ContainerFs::changes(std::string_view name) {
    Container c = BERTH_TRY(containers_.get(name));
    std::vector<FsChange> out;
    auto compute = [&](const std::string&, const std::string& upper) -> Result<void> {
        auto img = BERTH_TRY(images_.get(c.image_id));
        std::string dir = dirname_of(upper);
        auto spec = BERTH_TRY(images_.rootfs_mount(img, upper, path_join(dir, "work")));
        // What the runtime mounts over the rootfs (moby keeps these in the init layer, so
        // `docker diff` never shows them): the spec's mount destinations.
        std::set<std::string> excluded{"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"};
        for (const auto& d : BERTH_TRY(containers_.mount_destinations(c.id)))
            excluded.insert(clean_path("/" + d));
        out = BERTH_TRY(overlay_changes(upper, overlay_lower_dirs(spec), excluded));
        return {};
    };
    BERTH_TRY(containers_.with_rootfs(name, compute));
    return out;
}

namespace {

/// /etc/hostname, /etc/hosts and /etc/resolv.conf are bind-mounted from the container's
/// exec directory inside the container only; cp reads them from there, as moby's view (which
/// mounts them) shows them. Returns {directory, path in it}, or nothing: also when the file
/// isn't there (a container never started, or not since the host booted), and then the
/// image's file is what cp sees, as with moby.
std::optional<std::pair<std::string, std::string>> host_file(const Container& c,
                                                             std::string_view path) {
    std::string p = clean_path("/" + std::string(path));
    for (const std::string* f : {&c.hostname_path, &c.hosts_path, &c.resolv_conf_path}) {
        if (f->empty() || !path_exists(*f)) continue;
        std::string base = f->substr(f->rfind('/') + 1);
        if (p == "/etc/" + base) return std::pair{f->substr(0, f->rfind('/')), "/" + base};
    }
    return std::nullopt;
}

}  // namespace

Result<RootfsPathStat> ContainerFs::stat(std::string_view name, std::string_view path) {
    Container c = BERTH_TRY(containers_.get(name));
    if (auto hf = host_file(c, path)) return stat_in_rootfs(hf->first, hf->second, name);
    RootfsPathStat out;
    auto take = [&](const std::string& rootfs, const std::string&) -> Result<void> {
        out = BERTH_TRY(stat_in_rootfs(rootfs, path, name));
        return {};
    };
    BERTH_TRY(containers_.with_rootfs(name, take));
    return out;
}

Result<void> ContainerFs::archive_get(std::string_view name, std::string_view path,
                                      const TarSink& sink) {
    Container c = BERTH_TRY(containers_.get(name));
    if (auto hf = host_file(c, path)) {
        std::string work = BERTH_TRY(scratch_dir(c.hostname_path));
        ScopeExit cleanup([&] { (void)remove_all(work); });
        return write_path_tar(hf->first, hf->second, name, work, sink);
    }
    return containers_.with_rootfs(name, [&](const std::string& rootfs,
                                             const std::string& upper) -> Result<void> {
        std::string work = BERTH_TRY(scratch_dir(upper));
        ScopeExit cleanup([&] { (void)remove_all(work); });
        return write_path_tar(rootfs, path, name, work, sink);
    });
}

Result<void> ContainerFs::archive_put(std::string_view name, std::string_view path,
                                      const archive::ReadBlockFn& next,
                                      const ExtractOptions& opts) {
    Container c = BERTH_TRY(containers_.get(name));
    return containers_.with_rootfs(name, [&](const std::string& rootfs,
                                             const std::string& upper) -> Result<void> {
        // moby checks the destination first, then the read-only flag (daemon/archive.go).
        UniqueFd root = BERTH_TRY(open_root(rootfs));
        auto dest = open_in_root(root.get(), clean_path("/" + std::string(path)), O_PATH);
        if (!dest && (dest.error().sys_errno == ENOENT || dest.error().sys_errno == ENOTDIR))
            return not_found(path, name);
        if (dest) {
            struct stat st {};
            if (::fstatat(dest->get(), "", &st, AT_EMPTY_PATH) == 0 && !S_ISDIR(st.st_mode))
                return make_error(Errc::InvalidArgument, "extraction point is not a directory");
        }
        if (c.host_config.readonly_rootfs)
            return make_error(Errc::PermissionDenied, "container rootfs is marked read-only");
        std::string work = BERTH_TRY(scratch_dir(upper));
        ScopeExit cleanup([&] { (void)remove_all(work); });
        return extract_into_rootfs(rootfs, path, name, next, work, opts);
    });
}

}  // namespace berth::engine
