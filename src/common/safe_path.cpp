#include "berth/common/safe_path.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>

namespace berth {
namespace {

constexpr int kMaxSymlinks = 40;  // as the kernel's MAXSYMLINKS

bool openat2_disabled_by_env() noexcept {
    const char* v = std::getenv("BERTH_TEST_DISABLE");
    return v && std::strstr(v, "openat2") != nullptr;
}

int sys_openat2(int dirfd, const char* path, struct open_how* how) noexcept {
    return static_cast<int>(::syscall(SYS_openat2, dirfd, path, how, sizeof(*how)));
}

// The kernel probe's answer: -1 not asked yet, 0 no openat2, 1 openat2 works.
int g_openat2 = -1;

void push_components(std::deque<std::string>& q, std::string_view path, bool front) {
    std::vector<std::string> parts;
    size_t i = 0;
    while (i <= path.size()) {
        size_t next = path.find('/', i);
        if (next == std::string_view::npos) next = path.size();
        if (next > i) parts.emplace_back(path.substr(i, next - i));
        i = next + 1;
    }
    if (front)
        q.insert(q.begin(), parts.begin(), parts.end());
    else
        q.insert(q.end(), parts.begin(), parts.end());
}

// The user-space resolver. Walks `path` from rootfd; intermediate components must be
// directories (created with `dir_mode` when `create_dirs`); the last one is opened with
// `flags`/`mode`, or created as a directory when `create_dirs` and `last_is_dir`.
Result<UniqueFd> walk(int rootfd, std::string_view path, int flags, mode_t mode, bool create_dirs,
                      bool last_is_dir) {
    std::deque<std::string> q;
    push_components(q, path, false);
    std::vector<UniqueFd> stack;  // stack.back() is the current directory; empty = root
    auto cur = [&]() { return stack.empty() ? rootfd : stack.back().get(); };
    int links = 0;
    if (q.empty()) {
        if (create_dirs) flags = O_PATH | O_DIRECTORY;
        int fd = ::openat(rootfd, ".", flags | O_CLOEXEC, mode);
        if (fd < 0) return BERTH_SYS_ERROR("open {}", path);
        return UniqueFd(fd);
    }
    while (!q.empty()) {
        std::string comp = std::move(q.front());
        q.pop_front();
        bool last = q.empty();
        if (comp == "." && !last) continue;
        if (comp == "..") {
            if (!stack.empty()) stack.pop_back();
            if (!last) continue;
            comp.assign(1, '.');  // (not `= "."`: g++ 12 -Wrestrict false positive)
        }
        struct stat st {};
        bool exists = ::fstatat(cur(), comp.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (!exists && errno != ENOENT) return BERTH_SYS_ERROR("stat {} in {}", comp, path);
        if (exists && S_ISLNK(st.st_mode) && (!last || !(flags & O_NOFOLLOW))) {
            if (++links > kMaxSymlinks) return sys_error(ELOOP, "resolve {}", path);
            char target[PATH_MAX];
            ssize_t n = ::readlinkat(cur(), comp.c_str(), target, sizeof target - 1);
            if (n < 0) return BERTH_SYS_ERROR("readlink {} in {}", comp, path);
            std::string_view t(target, static_cast<size_t>(n));
            if (!t.empty() && t.front() == '/') stack.clear();
            push_components(q, t, true);
            if (q.empty()) q.push_back(".");
            continue;
        }
        if (!last) {
            if (!exists) {
                if (!create_dirs) return sys_error(ENOENT, "resolve {}: {} does not exist", path, comp);
                if (::mkdirat(cur(), comp.c_str(), mode) < 0 && errno != EEXIST)
                    return BERTH_SYS_ERROR("mkdir {} in {}", comp, path);
            }
            int fd = ::openat(cur(), comp.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) return BERTH_SYS_ERROR("open {} in {}", comp, path);
            stack.emplace_back(fd);
            continue;
        }
        if (create_dirs && last_is_dir) {
            if (!exists && ::mkdirat(cur(), comp.c_str(), mode) < 0 && errno != EEXIST)
                return BERTH_SYS_ERROR("mkdir {} in {}", comp, path);
            int fd = ::openat(cur(), comp.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) return BERTH_SYS_ERROR("open {}", path);
            return UniqueFd(fd);
        }
        int fd = ::openat(cur(), comp.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0) return BERTH_SYS_ERROR("open {}", path);
        return UniqueFd(fd);
    }
    return make_error(Errc::Internal, "resolve {}: walk ended early", path);
}

}  // namespace

bool openat2_enabled() noexcept {
    // The environment is read each time (cheap) so tests can switch between both paths.
    if (openat2_disabled_by_env()) return false;
    if (g_openat2 < 0) {
        {
            struct open_how how {};
            how.flags = O_PATH | O_CLOEXEC;
            how.resolve = RESOLVE_IN_ROOT;
            int fd = sys_openat2(AT_FDCWD, "/", &how);
            g_openat2 = fd >= 0 ? 1 : 0;
            if (fd >= 0) ::close(fd);
        }
    }
    return g_openat2 == 1;
}

Result<UniqueFd> open_in_root(int rootfd, std::string_view path, int flags, mode_t mode) {
    if (openat2_enabled()) {
        struct open_how how {};
        how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
        how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
        how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
        std::string p(path.empty() ? "." : path);
        for (;;) {
            int fd = sys_openat2(rootfd, p.c_str(), &how);
            if (fd >= 0) return UniqueFd(fd);
            if (errno == EINTR || errno == EAGAIN) continue;  // EAGAIN: concurrent rename
            return BERTH_SYS_ERROR("open {}", path);
        }
    }
    return walk(rootfd, path, flags, mode, false, false);
}

Result<UniqueFd> mkdir_all_in_root(int rootfd, std::string_view path, mode_t mode) {
    if (openat2_enabled()) {
        auto fd = open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
        if (fd) return fd;
    }
    return walk(rootfd, path, O_PATH | O_DIRECTORY, mode, true, true);
}

Result<UniqueFd> ensure_in_root(int rootfd, std::string_view path, bool is_dir, mode_t mode) {
    if (is_dir) return mkdir_all_in_root(rootfd, path, mode);
    auto fd = open_in_root(rootfd, path, O_PATH);
    if (fd) return fd;
    if (fd.error().sys_errno != ENOENT) return fd;
    // Create the parent inside root, then the file relative to the parent's fd.
    std::string_view p = path;
    while (!p.empty() && p.back() == '/') p.remove_suffix(1);
    size_t slash = p.find_last_of('/');
    std::string_view parent = slash == std::string_view::npos ? "." : p.substr(0, slash);
    std::string base(slash == std::string_view::npos ? p : p.substr(slash + 1));
    UniqueFd dir = BERTH_TRY(mkdir_all_in_root(rootfd, parent.empty() ? "/" : parent, mode));
    UniqueFd real_dir(::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!real_dir) return BERTH_SYS_ERROR("open {}", parent);
    UniqueFd f(::openat(real_dir.get(), base.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!f && errno != EEXIST) return BERTH_SYS_ERROR("create {}", path);
    return open_in_root(rootfd, path, O_PATH);
}

const char* fd_path(int fd, char (&buf)[32]) noexcept {
    // Hand-rolled so it is safe between clone and execve (no allocation, no locale).
    const char prefix[] = "/proc/self/fd/";
    std::memcpy(buf, prefix, sizeof prefix - 1);
    char digits[12];
    int n = 0;
    unsigned v = static_cast<unsigned>(fd);
    do {
        digits[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v && n < 11);
    size_t pos = sizeof prefix - 1;
    while (n) buf[pos++] = digits[--n];
    buf[pos] = '\0';
    return buf;
}

}  // namespace berth
