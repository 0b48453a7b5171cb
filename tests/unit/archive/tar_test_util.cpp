#include "tar_test_util.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "berth/common/fs.hpp"

namespace berth::archive::test {

TarEntry file(std::string name, std::string data) {
    TarEntry e;
    e.name = std::move(name);
    e.data = std::move(data);
    return e;
}

TarEntry dir(std::string name) {
    TarEntry e;
    e.name = std::move(name);
    e.type = AE_IFDIR;
    e.perm = 0755;
    return e;
}

TarEntry symlink(std::string name, std::string target) {
    TarEntry e;
    e.name = std::move(name);
    e.type = AE_IFLNK;
    e.symlink = std::move(target);
    e.perm = 0777;
    return e;
}

TarEntry hardlink(std::string name, std::string target) {
    TarEntry e;
    e.name = std::move(name);
    e.hardlink = std::move(target);
    return e;
}

namespace {
la_ssize_t append_cb(struct archive*, void* out, const void* buf, size_t n) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
}
}  // namespace

std::string make_tar(const std::vector<TarEntry>& entries, TarFormat fmt, TarFilter filter) {
    std::string out;
    struct archive* a = archive_write_new();
    if (fmt == TarFormat::Pax) {
        archive_write_set_format_pax(a);
        // Only SCHILY.xattr (as Go's archive/tar writes), not also LIBARCHIVE.xattr.
        archive_write_set_format_option(a, "pax", "xattrheader", "SCHILY");
    }
    if (fmt == TarFormat::Gnu) archive_write_set_format_gnutar(a);
    if (fmt == TarFormat::Ustar) archive_write_set_format_ustar(a);
    if (filter == TarFilter::Gzip) archive_write_add_filter_gzip(a);
    if (filter == TarFilter::Zstd) archive_write_add_filter_zstd(a);
    archive_write_set_bytes_in_last_block(a, 1);
    if (archive_write_open(a, &out, nullptr, append_cb, nullptr) != ARCHIVE_OK)
        throw std::runtime_error(archive_error_string(a));
    for (const auto& t : entries) {
        struct archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, t.name.c_str());
        archive_entry_set_filetype(e, t.type);
        archive_entry_set_perm(e, t.perm);
        archive_entry_set_uid(e, t.uid);
        archive_entry_set_gid(e, t.gid);
        archive_entry_set_mtime(e, t.mtime, t.mtime_nsec);
        if (!t.symlink.empty()) archive_entry_set_symlink(e, t.symlink.c_str());
        if (!t.hardlink.empty()) archive_entry_set_hardlink(e, t.hardlink.c_str());
        if (t.rdev) archive_entry_set_rdev(e, t.rdev);
        for (const auto& [k, v] : t.xattrs)
            archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
        bool has_data = t.type == AE_IFREG && t.hardlink.empty();
        archive_entry_set_size(e, has_data ? static_cast<la_int64_t>(t.data.size()) : 0);
        if (archive_write_header(a, e) < ARCHIVE_WARN)
            throw std::runtime_error(fmt::format("header {}: {}", t.name, archive_error_string(a)));
        if (has_data && !t.data.empty()) archive_write_data(a, t.data.data(), t.data.size());
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return out;
}

int memfd_with(const std::string& bytes) {
    int fd = memfd_create("berth-test-tar", MFD_CLOEXEC);
    if (fd < 0) throw std::runtime_error("memfd_create");
    size_t off = 0;
    while (off < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
        if (n <= 0) throw std::runtime_error("write memfd");
        off += static_cast<size_t>(n);
    }
    ::lseek(fd, 0, SEEK_SET);
    return fd;
}

std::string read_fd(int fd) {
    std::string out;
    char buf[65536];
    off_t off = 0;
    for (;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, off);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
        off += n;
    }
    return out;
}

TempDir::TempDir() {
    std::string tmpl = "/tmp/berth-test-archive-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
}

TempDir::~TempDir() {
    // Directories a test made unreadable must still go.
    (void)remove_all(path_);
}

void write_text(const std::string& path, const std::string& data, unsigned mode) {
    int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode);
    if (fd < 0) throw std::runtime_error("create " + path);
    if (::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()))
        throw std::runtime_error("write " + path);
    ::close(fd);
    ::chmod(path.c_str(), mode);
}

bool is_root() {
    return ::geteuid() == 0;
}

namespace {

std::string xattr_list(const std::string& path) {
    char names[4096];
    ssize_t n = ::llistxattr(path.c_str(), names, sizeof names);
    if (n <= 0) return "";
    std::vector<std::string> keys;
    for (ssize_t i = 0; i < n;) {
        std::string k(names + i);
        i += static_cast<ssize_t>(k.size()) + 1;
        if (k.rfind("security.", 0) == 0 && k != "security.capability") continue;
        char v[4096];
        ssize_t vn = ::lgetxattr(path.c_str(), k.c_str(), v, sizeof v);
        keys.push_back(k + "=" + std::string(v, vn > 0 ? static_cast<size_t>(vn) : 0));
    }
    std::sort(keys.begin(), keys.end());
    std::string out;
    for (auto& k : keys) out += "[" + k + "]";
    return out;
}

void walk(const std::string& root, const std::string& rel, std::map<std::string, std::string>& out,
          std::map<std::pair<dev_t, ino_t>, std::string>& inodes,
          const std::vector<std::string>& exclude, bool with_dir_mtimes, bool with_nsec) {
    std::string here = rel.empty() ? root : root + "/" + rel;
    DIR* d = ::opendir(here.c_str());
    if (!d) return;
    std::vector<std::string> names;
    while (struct dirent* de = ::readdir(d)) {
        std::string n = de->d_name;
        if (n == "." || n == "..") continue;
        if (rel.empty() && std::find(exclude.begin(), exclude.end(), n) != exclude.end()) continue;
        names.push_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
        std::string r = rel.empty() ? n : rel + "/" + n;
        std::string p = root + "/" + r;
        struct stat st {};
        ::lstat(p.c_str(), &st);
        std::string desc = fmt::format("mode={:o} owner={}:{}", st.st_mode, st.st_uid, st.st_gid);
        if (S_ISREG(st.st_mode)) {
            int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
            std::string content = fd >= 0 ? read_fd(fd) : "<unreadable>";
            if (fd >= 0) ::close(fd);
            if (content.size() > 64)
                content = fmt::format("<{} bytes, hash {}>", content.size(),
                                      std::hash<std::string>{}(content));
            desc += fmt::format(" size={} data={}", st.st_size, content);
            if (st.st_nlink > 1) {
                auto key = std::make_pair(st.st_dev, st.st_ino);
                auto [it, inserted] = inodes.emplace(key, r);
                desc += fmt::format(" linkgroup={}", it->second);
            }
        } else if (S_ISLNK(st.st_mode)) {
            char t[4096];
            ssize_t tn = ::readlink(p.c_str(), t, sizeof t);
            desc += " target=" + std::string(t, tn > 0 ? static_cast<size_t>(tn) : 0);
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
            desc += fmt::format(" rdev={}:{}", major(st.st_rdev), minor(st.st_rdev));
        }
        if (!S_ISDIR(st.st_mode) || with_dir_mtimes)
            desc += fmt::format(" mtime={}.{:09}", st.st_mtim.tv_sec,
                                with_nsec ? st.st_mtim.tv_nsec : 0);
        desc += " xattrs=" + xattr_list(p);
        out[r] = desc;
        if (S_ISDIR(st.st_mode)) walk(root, r, out, inodes, {}, with_dir_mtimes, with_nsec);
    }
}

}  // namespace

std::map<std::string, std::string> describe_tree(const std::string& root,
                                                 const std::vector<std::string>& exclude,
                                                 bool with_dir_mtimes, bool with_nsec) {
    std::map<std::string, std::string> out;
    std::map<std::pair<dev_t, ino_t>, std::string> inodes;
    walk(root, "", out, inodes, exclude, with_dir_mtimes, with_nsec);
    return out;
}

}  // namespace berth::archive::test
