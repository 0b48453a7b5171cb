#include "berth/common/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "berth/common/unique_fd.hpp"

namespace berth {
namespace {

Result<std::string> read_all(int fd, const std::string& what) {
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return BERTH_SYS_ERROR("read {}", what);
        }
        if (n == 0) return out;
        out.append(buf, static_cast<size_t>(n));
    }
}


Result<void> remove_at(int dirfd, const char* name, dev_t dev);

Result<void> remove_children(int fd, dev_t dev, const std::string& what) {
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return BERTH_SYS_ERROR("opendir {}", what);
    }
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n == "." || n == "..") continue;
        names.emplace_back(n);
    }
    Result<void> res;
    for (const auto& n : names) {
        auto r = remove_at(::dirfd(d), n.c_str(), dev);
        if (!r && res) res = std::move(r);
    }
    ::closedir(d);
    return res;
}

Result<void> remove_at(int dirfd, const char* name, dev_t dev) {
    if (::unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return {};
    if (errno != EISDIR && errno != EPERM) return BERTH_SYS_ERROR("unlink {}", name);
    int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return BERTH_SYS_ERROR("open {}", name);
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_dev != dev) {
        ::close(fd);
        return make_error(Errc::Conflict, "{} is a mount point of another filesystem", name);
    }
    BERTH_TRY(remove_children(fd, dev, name));
    if (::unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return BERTH_SYS_ERROR("rmdir {}", name);
    return {};
}

}  // namespace

Result<void> write_all(int fd, std::string_view data, std::string_view what) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return BERTH_SYS_ERROR("write {}", what);
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

Result<std::string> read_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return BERTH_SYS_ERROR("open {}", path);
    return read_all(fd.get(), path);
}

Result<std::string> read_file_at(int dirfd, const std::string& name) {
    UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return BERTH_SYS_ERROR("open {}", name);
    return read_all(fd.get(), name);
}

Result<void> write_file(const std::string& path, std::string_view data) {
    return write_file_at(AT_FDCWD, path, data);
}

Result<void> write_file_at(int dirfd, const std::string& name, std::string_view data) {
    UniqueFd fd(::openat(dirfd, name.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) return BERTH_SYS_ERROR("open {}", name);
    // Kernel knobs take one write(); report its own error rather than retrying partial writes.
    ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0) return BERTH_SYS_ERROR("write {} to {}", data, name);
    if (static_cast<size_t>(n) != data.size())
        return write_all(fd.get(), data.substr(static_cast<size_t>(n)), name);
    return {};
}

Result<void> atomic_write_file(const std::string& path, std::string_view data, mode_t mode,
                               Durability d) {
    std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (!fd) return BERTH_SYS_ERROR("create {}", tmp);
    auto r = write_all(fd.get(), data, tmp);
    if (r && d == Durability::Durable && ::fsync(fd.get()) < 0) r = BERTH_SYS_ERROR("fsync {}", tmp);
    if (r && ::rename(tmp.c_str(), path.c_str()) < 0) r = BERTH_SYS_ERROR("rename {} to {}", tmp, path);
    if (!r) {
        ::unlink(tmp.c_str());
        return r;
    }
    if (d == Durability::Volatile) return {};
    UniqueFd dir(::open(dirname_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) ::fsync(dir.get());
    return {};
}

Result<void> mkdir_all(const std::string& path, mode_t mode) {
    if (path.empty()) return make_error(Errc::InvalidArgument, "mkdir: empty path");
    // Mostly the parent is there: one mkdir then, rather than one per component (a container's
    // directories are made at every start, several levels down).
    if (::mkdir(path.c_str(), mode) == 0) return {};
    if (errno == ENOENT) {
        std::string cur;
        size_t i = 0;
        while (i <= path.size()) {
            size_t next = path.find('/', i);
            if (next == std::string::npos) next = path.size();
            cur = path.substr(0, next);
            i = next + 1;
            if (cur.empty()) continue;
            if (::mkdir(cur.c_str(), mode) < 0 && errno != EEXIST)
                return BERTH_SYS_ERROR("mkdir {}", cur);
        }
    } else if (errno != EEXIST) {
        return BERTH_SYS_ERROR("mkdir {}", path);
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0) return BERTH_SYS_ERROR("stat {}", path);
    if (!S_ISDIR(st.st_mode)) return make_error(Errc::InvalidArgument, "{} is not a directory", path);
    return {};
}

Result<void> remove_all(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0) {
        if (errno == ENOENT) return {};
        return BERTH_SYS_ERROR("stat {}", path);
    }
    std::string parent = dirname_of(path);
    UniqueFd pfd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!pfd) return BERTH_SYS_ERROR("open {}", parent);
    std::string base = path.substr(path.find_last_of('/') + 1);
    return remove_at(pfd.get(), base.c_str(), st.st_dev).map_error([&](Error e) {
        return std::move(e).wrap("remove {}", path);
    });
}

Result<void> fsync_dir(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return BERTH_SYS_ERROR("open directory {}", dir);
    if (::fsync(fd.get()) < 0) return BERTH_SYS_ERROR("fsync directory {}", dir);
    return {};
}

Result<std::vector<std::string>> list_dir(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return BERTH_SYS_ERROR("open directory {}", dir);
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n != "." && n != "..") names.emplace_back(n);
    }
    int err = errno;
    ::closedir(d);
    if (err) return sys_error(err, "read directory {}", dir);
    std::sort(names.begin(), names.end());
    return names;
}

Result<std::string> random_hex(size_t bytes) {
    std::vector<unsigned char> b(bytes);
    size_t got = 0;
    while (got < bytes) {
        ssize_t n = ::getrandom(b.data() + got, bytes - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return BERTH_SYS_ERROR("getrandom");
        }
        got += static_cast<size_t>(n);
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    s.reserve(bytes * 2);
    for (unsigned char c : b) {
        s.push_back(kHex[c >> 4]);
        s.push_back(kHex[c & 0xf]);
    }
    return s;
}

bool path_exists(const std::string& path) noexcept {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

std::string dirname_of(std::string_view path) {
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    size_t pos = path.find_last_of('/');
    if (pos == std::string_view::npos) return ".";
    if (pos == 0) return "/";
    return std::string(path.substr(0, pos));
}

std::string path_join(std::string_view a, std::string_view b) {
    std::string out(a);
    while (!out.empty() && out.back() == '/') out.pop_back();
    while (!b.empty() && b.front() == '/') b.remove_prefix(1);
    out += '/';
    out += b;
    return out;
}

std::string clean_path(std::string_view path) {
    bool abs = !path.empty() && path.front() == '/';
    std::vector<std::string_view> parts;
    size_t i = 0;
    while (i <= path.size()) {
        size_t next = path.find('/', i);
        if (next == std::string_view::npos) next = path.size();
        std::string_view part = path.substr(i, next - i);
        i = next + 1;
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            if (!parts.empty() && parts.back() != "..") parts.pop_back();
            else if (!abs) parts.push_back(part);
            continue;
        }
        parts.push_back(part);
    }
    std::string out = abs ? "/" : "";
    for (size_t k = 0; k < parts.size(); ++k) {
        if (k) out += '/';
        out += parts[k];
    }
    if (out.empty()) out = ".";
    return out;
}

}  // namespace berth
