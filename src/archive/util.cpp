#include "util.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>

#include <vector>

#include "berth/common/unique_fd.hpp"

namespace berth::archive::detail {

Result<std::string> clean_relative(std::string_view name) {
    bool absolute = !name.empty() && name.front() == '/';
    std::vector<std::string_view> parts;
    size_t i = 0;
    while (i <= name.size()) {
        size_t next = name.find('/', i);
        if (next == std::string_view::npos) next = name.size();
        std::string_view comp = name.substr(i, next - i);
        i = next + 1;
        if (comp.empty() || comp == ".") continue;
        if (comp == "..") {
            if (!parts.empty()) {
                parts.pop_back();
            } else if (!absolute) {
                return make_error(Errc::InvalidArgument, "'{}' climbs above the root", name);
            }
            continue;
        }
        parts.push_back(comp);
    }
    std::string out;
    for (auto p : parts) {
        if (!out.empty()) out += '/';
        out += p;
    }
    return out;
}

namespace {

Result<void> remove_tree_dev(int dirfd, const std::string& name, dev_t dev) {
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return {};
        return BERTH_SYS_ERROR("stat {}", name);
    }
    if (!S_ISDIR(st.st_mode)) {
        if (::unlinkat(dirfd, name.c_str(), 0) < 0 && errno != ENOENT)
            return BERTH_SYS_ERROR("unlink {}", name);
        return {};
    }
    if (st.st_dev != dev) {
        // Something is mounted here; its contents are not ours to delete.
        return make_error(Errc::Conflict, "remove {}: a mount point", name);
    }
    int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES) {
        // An unprivileged caller removing a 0000 directory it owns (a layer's own mode).
        (void)::fchmodat(dirfd, name.c_str(), 0700, 0);
        fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) return BERTH_SYS_ERROR("open {}", name);
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return BERTH_SYS_ERROR("read directory {}", name);
    }
    std::vector<std::string> children;
    while (struct dirent* de = ::readdir(d)) {
        std::string_view n(de->d_name);
        if (n == "." || n == "..") continue;
        children.emplace_back(n);
    }
    Result<void> res;
    for (const auto& c : children) {
        res = remove_tree_dev(::dirfd(d), c, dev);
        if (!res) break;
    }
    ::closedir(d);
    if (!res) return Unexpected(std::move(res).error().wrap("{}", name));
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
        return BERTH_SYS_ERROR("rmdir {}", name);
    return {};
}

}  // namespace

Result<void> remove_tree_at(int dirfd, const std::string& name) {
    struct stat st {};
    if (::fstat(dirfd, &st) < 0) return BERTH_SYS_ERROR("stat parent of {}", name);
    return remove_tree_dev(dirfd, name, st.st_dev);
}

std::string archive_message(struct archive* a) {
    const char* s = ::archive_error_string(a);
    return s ? s : "unknown libarchive error";
}

std::string proc_path_at(int dirfd, std::string_view name) {
    std::string p = "/proc/self/fd/" + std::to_string(dirfd);
    p += '/';
    p += name;
    return p;
}

}  // namespace berth::archive::detail
