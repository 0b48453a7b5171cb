// write_layer(): a directory tree as a deterministic PAX tar.
//
// libarchive formats the tar into our write callback (so the caller can see the uncompressed
// bytes, e.g. for the diff-id); compression is a second libarchive writer in "raw" format with
// a gzip or zstd filter, fed from that callback.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "berth/archive/tar.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/unique_fd.hpp"
#include "util.hpp"

namespace berth::archive {
namespace {

using detail::archive_message;
using detail::proc_path_at;

constexpr const char* kOverlayOpaqueXattr = "trusted.overlay.opaque";
constexpr size_t kChunk = 128 * 1024;

struct WriteArchiveFree {
    void operator()(struct archive* a) const noexcept { ::archive_write_free(a); }
};
using WriteArchive = std::unique_ptr<struct archive, WriteArchiveFree>;
struct EntryFree {
    void operator()(struct archive_entry* e) const noexcept { ::archive_entry_free(e); }
};
using Entry = std::unique_ptr<struct archive_entry, EntryFree>;

class Writer {
public:
    Writer(int out_fd, const DiffOptions& opts) : out_fd_(out_fd), opts_(opts) {}

    Result<void> open();
    Result<void> walk(int dirfd, const std::string& prefix);
    Result<void> close();

private:
    static la_ssize_t write_cb(struct archive*, void* self, const void* buf, size_t n);
    Result<void> sink(const char* buf, size_t n);
    Result<void> add(int dirfd, const std::string& name, const std::string& rel,
                     const struct stat& st);
    Result<void> header(struct archive_entry* e, const std::string& rel);
    Result<void> copy_data(int fd, const struct stat& st, const std::string& rel,
                           const std::vector<std::pair<off_t, off_t>>& data);
    Result<std::vector<std::pair<std::string, std::string>>> xattrs(int dirfd,
                                                                    const std::string& name,
                                                                    const std::string& rel);
    Result<void> fail(const char* what, const std::string& rel) {
        if (sink_error_) return Unexpected(*std::move(sink_error_));
        return make_error(Errc::Internal, "{} '{}': {}", what, rel, archive_message(tar_.get()));
    }

    int out_fd_;
    const DiffOptions& opts_;
    WriteArchive tar_;
    WriteArchive comp_;
    std::optional<Error> sink_error_;
    std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

la_ssize_t Writer::write_cb(struct archive*, void* self, const void* buf, size_t n) {
    auto* w = static_cast<Writer*>(self);
    auto r = w->sink(static_cast<const char*>(buf), n);
    if (!r) {
        w->sink_error_ = std::move(r).error();
        return -1;
    }
    return static_cast<la_ssize_t>(n);
}

Result<void> Writer::sink(const char* buf, size_t n) {
    if (opts_.on_uncompressed) BERTH_TRY(opts_.on_uncompressed(std::string_view(buf, n)));
    if (!comp_) return write_all(out_fd_, std::string_view(buf, n), "layer output");
    if (::archive_write_data(comp_.get(), buf, n) < 0)
        return make_error(Errc::Internal, "compress layer: {}", archive_message(comp_.get()));
    return {};
}

Result<void> Writer::open() {
    if (opts_.compression != Compression::None) {
        comp_.reset(::archive_write_new());
        int r = opts_.compression == Compression::Gzip
                    ? ::archive_write_add_filter_gzip(comp_.get())
                    : ::archive_write_add_filter_zstd(comp_.get());
        if (r != ARCHIVE_OK)
            return make_error(Errc::Unsupported, "layer compression: {}",
                              archive_message(comp_.get()));
        // No timestamp in the gzip header: the same tree gives the same blob.
        (void)::archive_write_set_filter_option(comp_.get(), "gzip", "timestamp", nullptr);
        ::archive_write_set_format_raw(comp_.get());
        ::archive_write_set_bytes_in_last_block(comp_.get(), 1);
        if (::archive_write_open_fd(comp_.get(), out_fd_) != ARCHIVE_OK)
            return make_error(Errc::Internal, "open compressor: {}", archive_message(comp_.get()));
        Entry e(::archive_entry_new());
        ::archive_entry_set_filetype(e.get(), AE_IFREG);
        ::archive_entry_set_pathname(e.get(), "layer.tar");
        if (::archive_write_header(comp_.get(), e.get()) != ARCHIVE_OK)
            return make_error(Errc::Internal, "start compressor: {}", archive_message(comp_.get()));
    }
    tar_.reset(::archive_write_new());
    // pax_restricted: ustar headers, plus a pax header only where needed (long names, big ids,
    // xattrs, sparse maps), as Go's archive/tar writes them; full pax for sub-second mtimes.
    int fr = opts_.subsecond_mtimes ? ::archive_write_set_format_pax(tar_.get())
                                    : ::archive_write_set_format_pax_restricted(tar_.get());
    if (fr != ARCHIVE_OK)
        return make_error(Errc::Internal, "tar writer: {}", archive_message(tar_.get()));
    (void)::archive_write_set_format_option(tar_.get(), "pax", "xattrheader", "SCHILY");
    ::archive_write_set_bytes_in_last_block(tar_.get(), 1);
    if (::archive_write_open(tar_.get(), this, nullptr, &Writer::write_cb, nullptr) != ARCHIVE_OK)
        return make_error(Errc::Internal, "open tar writer: {}", archive_message(tar_.get()));
    return {};
}

Result<void> Writer::header(struct archive_entry* e, const std::string& rel) {
    int r = ::archive_write_header(tar_.get(), e);
    if (r < ARCHIVE_WARN) return fail("write tar header of", rel);
    return {};
}

Result<std::vector<std::pair<std::string, std::string>>> Writer::xattrs(int dirfd,
                                                                        const std::string& name,
                                                                        const std::string& rel) {
    std::vector<std::pair<std::string, std::string>> out;
    std::string path = proc_path_at(dirfd, name);
    ssize_t n = ::llistxattr(path.c_str(), nullptr, 0);
    if (n < 0) {
        if (errno == ENOTSUP || errno == EPERM) return out;
        return BERTH_SYS_ERROR("list xattrs of '{}'", rel);
    }
    std::string names(static_cast<size_t>(n), '\0');
    n = ::llistxattr(path.c_str(), names.data(), names.size());
    if (n < 0) return BERTH_SYS_ERROR("list xattrs of '{}'", rel);
    names.resize(static_cast<size_t>(n));
    for (size_t pos = 0; pos < names.size();) {
        std::string key(names.c_str() + pos);
        pos += key.size() + 1;
        if (key.empty()) continue;
        ssize_t vn = ::lgetxattr(path.c_str(), key.c_str(), nullptr, 0);
        if (vn < 0) {
            if (errno == ENODATA) continue;
            return BERTH_SYS_ERROR("read xattr {} of '{}'", key, rel);
        }
        std::string value(static_cast<size_t>(vn), '\0');
        vn = ::lgetxattr(path.c_str(), key.c_str(), value.data(), value.size());
        if (vn < 0) return BERTH_SYS_ERROR("read xattr {} of '{}'", key, rel);
        value.resize(static_cast<size_t>(vn));
        out.emplace_back(std::move(key), std::move(value));
    }
    std::sort(out.begin(), out.end());
    return out;
}

Result<void> Writer::copy_data(int fd, const struct stat& st, const std::string& rel,
                               const std::vector<std::pair<off_t, off_t>>& data) {
    static const std::vector<char> zeros(kChunk, 0);
    std::vector<char> buf(kChunk);
    off_t pos = 0;
    auto put = [&](const char* p, size_t n) -> Result<void> {
        if (::archive_write_data(tar_.get(), p, n) < 0) return fail("write data of", rel);
        return {};
    };
    for (auto [off, len] : data) {
        // Holes: the pax writer skips the bytes of holes in its sparse map; feed zeros.
        while (pos < off) {
            size_t n = static_cast<size_t>(std::min<off_t>(off - pos, kChunk));
            BERTH_TRY(put(zeros.data(), n));
            pos += static_cast<off_t>(n);
        }
        off_t end = off + len;
        while (pos < end) {
            size_t want = static_cast<size_t>(std::min<off_t>(end - pos, kChunk));
            ssize_t n = ::pread(fd, buf.data(), want, pos);
            if (n < 0) {
                if (errno == EINTR) continue;
                return BERTH_SYS_ERROR("read '{}'", rel);
            }
            if (n == 0) return make_error(Errc::Conflict, "'{}' shrank while archived", rel);
            BERTH_TRY(put(buf.data(), static_cast<size_t>(n)));
            pos += n;
        }
    }
    while (pos < st.st_size) {
        size_t n = static_cast<size_t>(std::min<off_t>(st.st_size - pos, kChunk));
        BERTH_TRY(put(zeros.data(), n));
        pos += static_cast<off_t>(n);
    }
    return {};
}

// Data regions of a file: one (0, size) region unless SEEK_HOLE finds holes.
std::vector<std::pair<off_t, off_t>> data_regions(int fd, off_t size, bool* sparse) {
    *sparse = false;
    std::vector<std::pair<off_t, off_t>> out;
    off_t pos = 0;
    while (pos < size) {
        off_t d = ::lseek(fd, pos, SEEK_DATA);
        if (d < 0) {
            if (errno == ENXIO) break;  // only a hole to the end
            return {{0, size}};         // no SEEK_DATA here: treat as dense
        }
        off_t h = ::lseek(fd, d, SEEK_HOLE);
        if (h < 0) return {{0, size}};
        if (h > size) h = size;
        out.emplace_back(d, h - d);
        pos = h;
    }
    off_t total = 0;
    for (auto& r : out) total += r.second;
    if (total == size) return {{0, size}};
    *sparse = true;
    return out;
}

Result<void> Writer::add(int dirfd, const std::string& name, const std::string& rel,
                         const struct stat& st) {
    Entry e(::archive_entry_new());
    struct archive_entry* ep = e.get();
    ::archive_entry_set_uid(ep, st.st_uid);
    ::archive_entry_set_gid(ep, st.st_gid);
    long nsec = opts_.subsecond_mtimes ? st.st_mtim.tv_nsec : 0;
    ::archive_entry_set_mtime(ep, st.st_mtim.tv_sec, nsec);
    ::archive_entry_set_perm(ep, st.st_mode & 07777);

    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0) && opts_.overlay_whiteouts) {
        size_t slash = rel.find_last_of('/');
        std::string wh = slash == std::string::npos
                             ? ".wh." + rel
                             : rel.substr(0, slash + 1) + ".wh." + rel.substr(slash + 1);
        ::archive_entry_set_pathname(ep, wh.c_str());
        ::archive_entry_set_filetype(ep, AE_IFREG);
        ::archive_entry_set_perm(ep, 0);
        ::archive_entry_set_size(ep, 0);
        return header(ep, wh);
    }

    ::archive_entry_set_pathname(ep, rel.c_str());
    bool opaque = false;
    auto xs = BERTH_TRY(xattrs(dirfd, name, rel));
    for (const auto& [k, v] : xs) {
        if (std::string_view(k).starts_with("trusted.overlay.")) {
            if (k == kOverlayOpaqueXattr && v == "y" && S_ISDIR(st.st_mode)) opaque = true;
            continue;  // overlayfs bookkeeping, never layer content
        }
        ::archive_entry_xattr_add_entry(ep, k.c_str(), v.data(), v.size());
    }

    if (S_ISDIR(st.st_mode)) {
        ::archive_entry_set_filetype(ep, AE_IFDIR);
        BERTH_TRY(header(ep, rel));
        if (opaque && opts_.overlay_whiteouts) {
            Entry o(::archive_entry_new());
            std::string opq = rel + "/.wh..wh..opq";
            ::archive_entry_set_pathname(o.get(), opq.c_str());
            ::archive_entry_set_filetype(o.get(), AE_IFREG);
            ::archive_entry_set_perm(o.get(), 0);
            ::archive_entry_set_size(o.get(), 0);
            ::archive_entry_set_mtime(o.get(), st.st_mtim.tv_sec, nsec);
            BERTH_TRY(header(o.get(), opq));
        }
        return {};
    }
    if (S_ISLNK(st.st_mode)) {
        std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : PATH_MAX) + 1, '\0');
        ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
        if (n < 0) return BERTH_SYS_ERROR("read symlink '{}'", rel);
        target.resize(static_cast<size_t>(n));
        ::archive_entry_set_filetype(ep, AE_IFLNK);
        ::archive_entry_set_symlink(ep, target.c_str());
        return header(ep, rel);
    }
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
        ::archive_entry_set_filetype(ep, S_ISCHR(st.st_mode)   ? AE_IFCHR
                                         : S_ISBLK(st.st_mode) ? AE_IFBLK
                                                               : AE_IFIFO);
        if (!S_ISFIFO(st.st_mode)) ::archive_entry_set_rdev(ep, st.st_rdev);
        return header(ep, rel);
    }
    if (!S_ISREG(st.st_mode)) return {};  // sockets

    if (st.st_nlink > 1) {
        auto key = std::make_pair(st.st_dev, st.st_ino);
        auto it = links_.find(key);
        if (it != links_.end()) {
            ::archive_entry_set_filetype(ep, AE_IFREG);
            ::archive_entry_set_hardlink(ep, it->second.c_str());
            ::archive_entry_set_size(ep, 0);
            return header(ep, rel);
        }
        links_.emplace(key, rel);
    }
    UniqueFd f(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!f) return BERTH_SYS_ERROR("open '{}'", rel);
    ::archive_entry_set_filetype(ep, AE_IFREG);
    ::archive_entry_set_size(ep, st.st_size);
    bool sparse = false;
    auto regions = data_regions(f.get(), st.st_size, &sparse);
    if (sparse) {
        for (auto [off, len] : regions) ::archive_entry_sparse_add_entry(ep, off, len);
        // A closing empty region records a trailing hole, as GNU tar does.
        if (regions.empty() || regions.back().first + regions.back().second < st.st_size)
            ::archive_entry_sparse_add_entry(ep, st.st_size, 0);
    }
    BERTH_TRY(header(ep, rel));
    return copy_data(f.get(), st, rel, regions);
}

Result<void> Writer::walk(int dirfd, const std::string& prefix) {
    std::vector<std::string> names;
    {
        DIR* ds = ::fdopendir(::dup(dirfd));
        if (!ds) return BERTH_SYS_ERROR("read directory '{}'", prefix.empty() ? "/" : prefix);
        while (struct dirent* de = ::readdir(ds)) {
            std::string_view n(de->d_name);
            if (n != "." && n != "..") names.emplace_back(n);
        }
        ::closedir(ds);
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
        std::string rel = prefix.empty() ? name : prefix + "/" + name;
        struct stat st {};
        if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
            return BERTH_SYS_ERROR("stat '{}'", rel);
        BERTH_TRY(add(dirfd, name, rel, st));
        if (S_ISDIR(st.st_mode)) {
            UniqueFd sub(
                ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub) return BERTH_SYS_ERROR("open directory '{}'", rel);
            BERTH_TRY(walk(sub.get(), rel));
        }
    }
    return {};
}

Result<void> Writer::close() {
    if (::archive_write_close(tar_.get()) != ARCHIVE_OK) return fail("finish tar", "");
    if (comp_ && ::archive_write_close(comp_.get()) != ARCHIVE_OK)
        return make_error(Errc::Internal, "finish compression: {}", archive_message(comp_.get()));
    return {};
}

}  // namespace

Result<void> write_layer(const std::string& dir, int out_fd, const DiffOptions& opts) {
    UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) return BERTH_SYS_ERROR("write layer of {}: open", dir);
    Writer w(out_fd, opts);
    BERTH_TRY_CTX(w.open(), "write layer of {}", dir);
    BERTH_TRY_CTX(w.walk(root.get(), ""), "write layer of {}", dir);
    BERTH_TRY_CTX(w.close(), "write layer of {}", dir);
    return {};
}

}  // namespace berth::archive
