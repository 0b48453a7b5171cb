// The container's root filesystem, set up inside its new mount namespace: the bundle's rootfs
// bound onto itself, the spec's mounts and devices placed with every path resolved inside it,
// then pivot_root and the masked and read-only paths.

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstring>

#include "berth/common/safe_path.hpp"
#include "init_config.hpp"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
struct mount_attr {
    __u64 attr_set;
    __u64 attr_clr;
    __u64 propagation;
    __u64 userns_fd;
};
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

namespace berth::runtime {
namespace {

// Records what failed; returns the errno to propagate.
int fail(char* step, size_t len, int err, const char* fmt, const char* a = "", const char* b = "") noexcept {
    std::snprintf(step, len, fmt, a, b);
    return err ? err : EINVAL;
}

// Mount-point flags of an existing mount that a bind remount must keep: inside a user
// namespace the kernel refuses to clear locked flags (nosuid, nodev, noexec, atime ones).
unsigned long locked_flags(const char* path) noexcept {
    struct statvfs sv {};
    if (::statvfs(path, &sv) < 0) return 0;
    unsigned long f = 0;
    if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
    return f;
}

// Re-opens a destination after something was mounted on it, so later operations (remount,
// propagation) hit the new mount and not the directory under it.
int reopen(int rootfd, const std::string& dest, UniqueFd& out) noexcept {
    auto fd = open_in_root(rootfd, dest, O_PATH);
    if (!fd) return fd.error().sys_errno ? fd.error().sys_errno : EINVAL;
    out = std::move(*fd);
    return 0;
}

// "rro", "rnosuid", ...: mount_setattr(AT_RECURSIVE) on the new mount and everything below it.
int recursive_attrs(int mnt_fd, const MountOp& m, char* step, size_t len) noexcept {
    if (!m.rec_attr_set && !m.rec_attr_clr) return 0;
    struct mount_attr attr {};
    attr.attr_set = m.rec_attr_set;
    attr.attr_clr = m.rec_attr_clr;
    if (::syscall(SYS_mount_setattr, mnt_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
        return fail(step, len, errno, "set recursive mount attributes on %s", m.destination.c_str());
    return 0;
}

int do_bind(int rootfd, const MountOp& m, char* step, size_t len) noexcept {
    auto target = ensure_in_root(rootfd, m.destination, m.source_is_dir);
    if (!target) return fail(step, len, target.error().sys_errno, "create mount point %s: %s", m.destination.c_str(), target.error().what().c_str());
    char tp[32];
    unsigned long flags = MS_BIND | (m.flags & MS_REC);
    if (::mount(m.source.c_str(), fd_path(target->get(), tp), nullptr, flags, nullptr) < 0)
        return fail(step, len, errno, "bind mount %s on %s", m.source.c_str(), m.destination.c_str());
    UniqueFd mnt;
    if ((m.remount_after_bind || m.propagation || m.rec_attr_set || m.rec_attr_clr) &&
        reopen(rootfd, m.destination, mnt) != 0)
        return fail(step, len, errno, "reopen %s", m.destination.c_str());
    if (m.remount_after_bind) {
        unsigned long rf = (m.flags & ~MS_REC) | MS_BIND | MS_REMOUNT;
        const char* p = fd_path(mnt.get(), tp);
        if (::mount(nullptr, p, nullptr, rf, nullptr) < 0) {
            // In a user namespace keep the flags the kernel locked on the source mount.
            if (errno != EPERM || ::mount(nullptr, p, nullptr, rf | locked_flags(p), nullptr) < 0)
                return fail(step, len, errno, "remount %s", m.destination.c_str());
        }
    }
    if (int err = recursive_attrs(mnt.get(), m, step, len)) return err;
    if (m.propagation &&
        ::mount(nullptr, fd_path(mnt.get(), tp), nullptr, m.propagation, nullptr) < 0)
        return fail(step, len, errno, "set propagation of %s", m.destination.c_str());
    return 0;
}

// A `cgroup` mount: on a v2 host with a cgroup namespace, cgroup2 itself; otherwise a tmpfs
// holding a bind mount of the container's own directory of every hierarchy (runc's way).
int do_cgroup(int rootfd, const InitConfig& c, const MountOp& m, char* step, size_t len) noexcept {
    auto target = mkdir_all_in_root(rootfd, m.destination);
    if (!target) return fail(step, len, target.error().sys_errno, "create mount point %s", m.destination.c_str());
    char tp[32];
    unsigned long ro = m.flags & MS_RDONLY;
    unsigned long base = m.flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
    bool pure_v2 = c.cgroup_sources.size() == 1 && c.cgroup_sources[0].v2;
    if (pure_v2 && (c.clone_flags | c.unshare_flags) & CLONE_NEWCGROUP) {
        if (::mount("cgroup2", fd_path(target->get(), tp), "cgroup2", base | ro, nullptr) < 0)
            return fail(step, len, errno, "mount cgroup2 on %s", m.destination.c_str());
        return 0;
    }
    if (pure_v2) {
        if (::mount(c.cgroup_sources[0].host_path.c_str(), fd_path(target->get(), tp), nullptr,
                    MS_BIND | MS_REC, nullptr) < 0)
            return fail(step, len, errno, "bind cgroup %s", c.cgroup_sources[0].host_path.c_str());
    } else {
        if (::mount("tmpfs", fd_path(target->get(), tp), "tmpfs", base, "mode=755") < 0)
            return fail(step, len, errno, "mount tmpfs on %s", m.destination.c_str());
        UniqueFd dir;
        if (reopen(rootfd, m.destination, dir) != 0) return fail(step, len, errno, "reopen %s", m.destination.c_str());
        // The tmpfs is ours, mounted just now, with nothing in it: each hierarchy's mount point
        // is made and opened relative to it rather than walked to from the root (ten walks of
        // four components, each a stat and an open, on a v1 host).
        const int flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        for (const auto& s : c.cgroup_sources) {
            std::string dest = m.destination + "/" + s.name;
            if (s.name.empty() || s.name.find('/') != std::string::npos || s.name == "." || s.name == "..")
                return fail(step, len, EINVAL, "cgroup mount point name %s", s.name.c_str());
            if (::mkdirat(dir.get(), s.name.c_str(), 0755) < 0 && errno != EEXIST)
                return fail(step, len, errno, "mkdir %s", dest.c_str());
            UniqueFd sub(::openat(dir.get(), s.name.c_str(), flags));
            if (!sub) return fail(step, len, errno, "open %s", dest.c_str());
            if (::mount(s.host_path.c_str(), fd_path(sub.get(), tp), nullptr, MS_BIND | MS_REC, nullptr) < 0)
                return fail(step, len, errno, "bind cgroup %s on %s", s.host_path.c_str(), dest.c_str());
        }
        // The binds' flags (and the tmpfs' read-only), all at once: mount_setattr on the tmpfs
        // and every mount below it, one call where a remount of each took two (ten on a v1
        // host with its controllers).
        UniqueFd top;
        if (reopen(rootfd, m.destination, top) != 0) return fail(step, len, errno, "reopen %s", m.destination.c_str());
        struct mount_attr attr {};
        attr.attr_set = (ro ? MOUNT_ATTR_RDONLY : 0) | (base & MS_NOSUID ? MOUNT_ATTR_NOSUID : 0) |
                        (base & MS_NODEV ? MOUNT_ATTR_NODEV : 0) | (base & MS_NOEXEC ? MOUNT_ATTR_NOEXEC : 0);
        if (::syscall(SYS_mount_setattr, top.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) == 0)
            return 0;
        // Before Linux 5.12 (ENOSYS), or refused: each bind remounted, as before.
        for (const auto& s : c.cgroup_sources) {
            UniqueFd mnt(::openat(dir.get(), s.name.c_str(), flags));
            if (!mnt) return fail(step, len, errno, "reopen %s/%s", m.destination.c_str(), s.name.c_str());
            if (::mount(nullptr, fd_path(mnt.get(), tp), nullptr, MS_BIND | MS_REMOUNT | base | ro, nullptr) < 0)
                return fail(step, len, errno, "remount %s/%s", m.destination.c_str(), s.name.c_str());
        }
    }
    if (ro) {
        UniqueFd mnt;
        if (reopen(rootfd, m.destination, mnt) != 0) return fail(step, len, errno, "reopen %s", m.destination.c_str());
        unsigned long rf = MS_REMOUNT | base | MS_RDONLY | (pure_v2 ? MS_BIND : 0);
        if (::mount(nullptr, fd_path(mnt.get(), tp), nullptr, rf, pure_v2 ? nullptr : "mode=755") < 0)
            return fail(step, len, errno, "remount %s read-only", m.destination.c_str());
    }
    return 0;
}

// Copies a directory's entries (files, directories, symlinks, fifos and devices, with modes
// and owners) from one directory fd to another: "tmpcopyup".
int copy_tree(int from, int to) noexcept {
    int dup_from = ::openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup_from < 0) return errno;
    DIR* d = ::fdopendir(dup_from);
    if (!d) {
        ::close(dup_from);
        return errno;
    }
    int err = 0;
    while (struct dirent* e = ::readdir(d)) {
        const char* n = e->d_name;
        if (!std::strcmp(n, ".") || !std::strcmp(n, "..")) continue;
        struct stat st {};
        if (::fstatat(from, n, &st, AT_SYMLINK_NOFOLLOW) < 0) { err = errno; break; }
        mode_t perm = st.st_mode & 07777;
        if (S_ISDIR(st.st_mode)) {
            if (::mkdirat(to, n, perm) < 0 && errno != EEXIST) { err = errno; break; }
            int sf = ::openat(from, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            int df = ::openat(to, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            err = (sf < 0 || df < 0) ? errno : copy_tree(sf, df);
            if (sf >= 0) ::close(sf);
            if (df >= 0) ::close(df);
            if (err) break;
        } else if (S_ISREG(st.st_mode)) {
            int sf = ::openat(from, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            int df = sf < 0 ? -1 : ::openat(to, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm);
            if (sf < 0 || df < 0) err = errno;
            bool plain = false;  // copy_file_range can't cross filesystems on every kernel
            for (off_t left = st.st_size; !err && left > 0;) {
                ssize_t k = -1;
                if (!plain) {
                    k = ::copy_file_range(sf, nullptr, df, nullptr, static_cast<size_t>(left), 0);
                    if (k < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
                        plain = true;
                        continue;
                    }
                } else {
                    char buf[65536];
                    k = ::read(sf, buf, sizeof buf);
                    if (k > 0 && ::write(df, buf, static_cast<size_t>(k)) != k) k = -1;
                }
                if (k <= 0) err = k < 0 ? errno : EIO;
                else left -= k;
            }
            if (sf >= 0) ::close(sf);
            if (df >= 0) ::close(df);
            if (err) break;
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t k = ::readlinkat(from, n, target, sizeof target - 1);
            if (k < 0) { err = errno; break; }
            target[k] = '\0';
            if (::symlinkat(target, to, n) < 0) { err = errno; break; }
        } else if (::mknodat(to, n, st.st_mode, st.st_rdev) < 0) {
            err = errno;
            break;
        }
        if (::fchownat(to, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            (!S_ISLNK(st.st_mode) && ::fchmodat(to, n, perm, 0) < 0)) {
            err = errno;
            break;
        }
    }
    ::closedir(d);
    return err;
}

int do_mount(int rootfd, const InitConfig& c, const MountOp& m, char* step, size_t len) noexcept {
    if (m.bind) return do_bind(rootfd, m, step, len);
    if (m.is_cgroup) return do_cgroup(rootfd, c, m, step, len);
    auto target = mkdir_all_in_root(rootfd, m.destination);
    if (!target) return fail(step, len, target.error().sys_errno, "create mount point %s: %s", m.destination.c_str(), target.error().what().c_str());
    // tmpcopyup: this fd keeps reaching the image's directory once the tmpfs covers it.
    UniqueFd image_dir;
    if (m.tmpcopyup) {
        image_dir.reset(::openat(target->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!image_dir) return fail(step, len, errno, "open %s for tmpcopyup", m.destination.c_str());
    }
    char tp[32];
    const char* src = m.source.empty() ? m.fstype.c_str() : m.source.c_str();
    const char* data = m.data.empty() ? nullptr : m.data.c_str();
    // With tmpcopyup a read-only tmpfs is filled first and made read-only after.
    unsigned long mflags = m.flags & ~static_cast<unsigned long>(MS_REC);
    if (image_dir) mflags &= ~static_cast<unsigned long>(MS_RDONLY);
    if (::mount(src, fd_path(target->get(), tp), m.fstype.c_str(), mflags, data) < 0) {
        // sysfs cannot be mounted in a user namespace without its own network namespace:
        // bind the host's instead, as runc does.
        if (errno == EPERM && m.fstype == "sysfs" &&
            ::mount("/sys", tp, nullptr, MS_BIND | MS_REC, nullptr) == 0)
            return 0;
        return fail(step, len, errno, "mount %s on %s", m.fstype.c_str(), m.destination.c_str());
    }
    if (image_dir) {
        auto mounted = open_in_root(rootfd, m.destination, O_RDONLY | O_DIRECTORY);
        if (!mounted) return fail(step, len, mounted.error().sys_errno, "reopen %s", m.destination.c_str());
        if (int err = copy_tree(image_dir.get(), mounted->get()))
            return fail(step, len, err, "tmpcopyup into %s", m.destination.c_str());
        if ((m.flags & MS_RDONLY) &&
            ::mount(nullptr, fd_path(mounted->get(), tp), nullptr, (m.flags & ~MS_REC) | MS_REMOUNT, data) < 0)
            return fail(step, len, errno, "remount %s read-only", m.destination.c_str());
    }
    if (m.propagation || m.rec_attr_set || m.rec_attr_clr) {
        UniqueFd mnt;
        if (reopen(rootfd, m.destination, mnt) != 0) return fail(step, len, errno, "reopen %s", m.destination.c_str());
        if (m.propagation && ::mount(nullptr, fd_path(mnt.get(), tp), nullptr, m.propagation, nullptr) < 0)
            return fail(step, len, errno, "set propagation of %s", m.destination.c_str());
        if (int err = recursive_attrs(mnt.get(), m, step, len)) return err;
    }
    return 0;
}

mode_t device_type(const std::string& t) noexcept {
    if (t == "b") return S_IFBLK;
    if (t == "p") return S_IFIFO;
    return S_IFCHR;  // "c" and "u"
}

int create_device(int rootfd, const oci::Device& d, bool bind, char* step, size_t len) noexcept {
    std::string rel = d.path;
    size_t slash = rel.find_last_of('/');
    std::string parent = slash == 0 ? "/" : rel.substr(0, slash);
    std::string name = rel.substr(slash + 1);
    auto dir = mkdir_all_in_root(rootfd, parent);
    if (!dir) return fail(step, len, dir.error().sys_errno, "create %s", parent.c_str());
    UniqueFd real(::openat(dir->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!real) return fail(step, len, errno, "open %s", parent.c_str());
    if (bind) {
        // In a user namespace mknod is not allowed: bind the host's node instead.
        int f = ::openat(real.get(), name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (f < 0 && errno != EEXIST) return fail(step, len, errno, "create %s", d.path.c_str());
        if (f >= 0) ::close(f);
        UniqueFd target(::openat(real.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!target) return fail(step, len, errno, "open %s", d.path.c_str());
        char tp[32];
        if (::mount(d.path.c_str(), fd_path(target.get(), tp), nullptr, MS_BIND, nullptr) < 0)
            return fail(step, len, errno, "bind device %s", d.path.c_str());
        return 0;
    }
    mode_t mode = (d.file_mode ? *d.file_mode : 0666) & 07777;
    dev_t dev = makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
    ::unlinkat(real.get(), name.c_str(), 0);
    if (::mknodat(real.get(), name.c_str(), mode | device_type(d.type), dev) < 0)
        return fail(step, len, errno, "mknod %s", d.path.c_str());
    if (::fchmodat(real.get(), name.c_str(), mode, 0) < 0)
        return fail(step, len, errno, "chmod %s", d.path.c_str());
    if (::fchownat(real.get(), name.c_str(), d.uid ? *d.uid : 0, d.gid ? *d.gid : 0, AT_SYMLINK_NOFOLLOW) < 0)
        return fail(step, len, errno, "chown %s", d.path.c_str());
    return 0;
}

int dev_links(int rootfd, char* step, size_t len) noexcept {
    auto dev = open_in_root(rootfd, "/dev", O_RDONLY | O_DIRECTORY);
    if (!dev) return fail(step, len, dev.error().sys_errno, "open /dev");
    struct Link {
        const char* target;
        const char* name;
    };
    static const Link links[] = {{"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
                                 {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                                 {"pts/ptmx", "ptmx"}};
    for (const auto& l : links) {
        if (std::strcmp(l.name, "ptmx") == 0) ::unlinkat(dev->get(), l.name, 0);
        if (::symlinkat(l.target, dev->get(), l.name) < 0 && errno != EEXIST)
            return fail(step, len, errno, "symlink /dev/%s", l.name);
    }
    if (::access("/proc/kcore", F_OK) == 0 && ::symlinkat("/proc/kcore", dev->get(), "core") < 0 &&
        errno != EEXIST)
        return fail(step, len, errno, "symlink /dev/core");
    return 0;
}

// A directory is masked with an empty read-only tmpfs, anything else with /dev/null. Looked up
// first (as crun does) rather than trying the bind and falling back on ENOTDIR (as runc does):
// the kernel makes the bind's copy of /dev/null's mount before it finds the mismatch, and tearing
// that copy down waits for an expedited RCU grace period, ~70 us for each directory in Docker's
// list (/proc/acpi, /proc/scsi, /sys/firmware, ...).
int mask_path(const std::string& p, char* step, size_t len) noexcept {
    struct stat st {};
    if (::stat(p.c_str(), &st) < 0) {
        if (errno == ENOENT) return 0;
        return fail(step, len, errno, "mask %s", p.c_str());
    }
    if (!S_ISDIR(st.st_mode)) {
        if (::mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr) == 0) return 0;
        if (errno == ENOENT) return 0;  // gone since (a process's /proc entry)
        if (errno != ENOTDIR) return fail(step, len, errno, "mask %s", p.c_str());
    }
    if (::mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY, nullptr) == 0) return 0;
    if (errno == ENOENT) return 0;
    return fail(step, len, errno, "mask %s", p.c_str());
}

int readonly_path(const std::string& p, char* step, size_t len) noexcept {
    if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
        if (errno == ENOENT) return 0;
        return fail(step, len, errno, "bind %s read-only", p.c_str());
    }
    unsigned long f = MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(p.c_str());
    if (::mount(nullptr, p.c_str(), nullptr, f, nullptr) < 0)
        return fail(step, len, errno, "remount %s read-only", p.c_str());
    return 0;
}

}  // namespace

int setup_rootfs(InitConfig& c, char* step, size_t len) noexcept {
    ::umask(0);
    if (::mount(nullptr, "/", nullptr, c.root_propagation_pre, nullptr) < 0)
        return fail(step, len, errno, "set propagation of /");
    if (::mount(c.rootfs.c_str(), c.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
        return fail(step, len, errno, "bind rootfs %s", c.rootfs.c_str());
    UniqueFd root(::open(c.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail(step, len, errno, "open rootfs %s", c.rootfs.c_str());
    for (const auto& m : c.mounts) {
        int err = do_mount(root.get(), c, m, step, len);
        if (err) return err;
    }
    if (c.setup_dev) {
        for (const auto& d : c.devices) {
            int err = create_device(root.get(), d, c.new_user_ns, step, len);
            if (err) return err;
        }
        int err = dev_links(root.get(), step, len);
        if (err) return err;
    } else {
        // /dev is the image's or a bind: still create the spec's own devices.
        for (const auto& d : c.spec->linux ? c.spec->linux->devices : std::vector<oci::Device>{}) {
            int err = create_device(root.get(), d, c.new_user_ns, step, len);
            if (err) return err;
        }
    }
    ::umask(022);
    return 0;
}

int pivot_rootfs(InitConfig& c, char* step, size_t len) noexcept {
    if (c.no_pivot) {
        if (::chdir(c.rootfs.c_str()) < 0) return fail(step, len, errno, "chdir %s", c.rootfs.c_str());
        if (::mount(c.rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) < 0)
            return fail(step, len, errno, "move rootfs to /");
        if (::chroot(".") < 0) return fail(step, len, errno, "chroot");
    } else {
        UniqueFd oldroot(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        UniqueFd newroot(::open(c.rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!oldroot || !newroot) return fail(step, len, errno, "open / or rootfs");
        if (::fchdir(newroot.get()) < 0) return fail(step, len, errno, "chdir rootfs");
        // pivot_root(".", ".") stacks the old root under the new one; no put_old directory needed.
        if (::syscall(SYS_pivot_root, ".", ".") < 0) return fail(step, len, errno, "pivot_root %s", c.rootfs.c_str());
        if (::fchdir(oldroot.get()) < 0) return fail(step, len, errno, "chdir old root");
        // Keep the unmount of the old root from propagating to the host.
        if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
            return fail(step, len, errno, "make old root rslave");
        if (::umount2(".", MNT_DETACH) < 0) return fail(step, len, errno, "unmount old root");
    }
    if (::chdir("/") < 0) return fail(step, len, errno, "chdir /");
    return 0;
}

int protect_rootfs(InitConfig& c, char* step, size_t len) noexcept {
    if (c.spec->linux) {
        for (const auto& p : c.spec->linux->readonly_paths) {
            int err = readonly_path(p, step, len);
            if (err) return err;
        }
        for (const auto& p : c.spec->linux->masked_paths) {
            int err = mask_path(p, step, len);
            if (err) return err;
        }
    }
    if (c.readonly_root) {
        unsigned long f = MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags("/");
        if (::mount(nullptr, "/", nullptr, f, nullptr) < 0) return fail(step, len, errno, "remount / read-only");
    }
    if (c.root_propagation_post && ::mount(nullptr, "/", nullptr, c.root_propagation_post, nullptr) < 0)
        return fail(step, len, errno, "set rootfs propagation");
    return 0;
}

}  // namespace berth::runtime
