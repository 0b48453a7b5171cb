#include "berth/logfile/writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "berth/common/fs.hpp"
#include "berth/common/time.hpp"

namespace berth::logfile {

namespace {

// Encoded entries are written once this much is buffered (and at the end of every write()),
// which bounds the shim's buffer whatever a container prints in one read.
constexpr size_t kOutFlushBytes = 32 * 1024;

// ENOENT is fine in a rotation: the chain of old files may have gaps or not exist yet.
Result<void> rename_if_exists(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
        return BERTH_SYS_ERROR("rename log file {} to {}", from, to);
    return {};
}

Result<void> unlink_if_exists(const std::string& p) {
    if (::unlink(p.c_str()) != 0 && errno != ENOENT)
        return BERTH_SYS_ERROR("remove log file {}", p);
    return {};
}

}  // namespace

Writer::Writer(std::string path, Options opts, UniqueFd fd, int64_t size)
    : path_(std::move(path)),
      opts_(std::move(opts)),
      attrs_json_(encode_attrs(opts_.attrs)),
      fd_(std::move(fd)),
      size_(size) {}

Result<Writer> Writer::open(std::string path, Options opts) {
    if (opts.max_file < 1)
        return make_error(Errc::InvalidArgument, "open log {}: max-file cannot be less than 1",
                          path);
    if (opts.compress)
        return make_error(Errc::Unsupported,
                          "open log {}: compressed rotated logs are not supported", path);
    // O_RDWR only to look at the last byte below; every write appends.
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, opts.mode));
    if (!fd) return BERTH_SYS_ERROR("open log file {}", path);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return BERTH_SYS_ERROR("stat log file {}", path);
    int64_t size = st.st_size;
    if (size > 0) {
        char last = 0;
        if (::pread(fd.get(), &last, 1, size - 1) != 1)
            return BERTH_SYS_ERROR("read the end of log file {}", path);
        if (last != '\n') {
            BERTH_TRY_CTX(write_all(fd.get(), "\n", path), "end the broken last entry");
            ++size;
        }
    }
    return Writer(std::move(path), std::move(opts), std::move(fd), size);
}

Result<void> Writer::write(Stream stream, std::string_view bytes, int64_t time_ns) {
    if (!fd_) return make_error(Errc::InvalidArgument, "write log {}: closed", path_);
    Pending& p = pending_[static_cast<int>(stream)];
    if (!bytes.empty()) p.time_ns = time_ns;
    while (!bytes.empty()) {
        const size_t nl = bytes.find('\n');
        std::string_view seg = bytes.substr(0, nl);
        // 16 KiB pieces of the line first; `p.data` + `seg` is the line so far.
        while (p.data.size() + seg.size() >= kMaxLineBytes) {
            const size_t take = kMaxLineBytes - p.data.size();
            if (p.data.empty()) {
                BERTH_TRY(emit(seg.substr(0, take), false, stream, time_ns));
            } else {
                p.data.append(seg.substr(0, take));
                BERTH_TRY(emit(p.data, false, stream, time_ns));
                p.data.clear();
            }
            seg.remove_prefix(take);
        }
        if (nl == std::string_view::npos) {
            p.data.append(seg);
            break;
        }
        if (p.data.empty()) {
            BERTH_TRY(emit(seg, true, stream, time_ns));
        } else {
            p.data.append(seg);
            BERTH_TRY(emit(p.data, true, stream, time_ns));
            p.data.clear();
        }
        bytes.remove_prefix(nl + 1);
    }
    BERTH_TRY(flush_out());
    return take_rotate_error();
}

Result<void> Writer::take_rotate_error() {
    if (!rotate_error_) return {};
    Error e = std::move(*rotate_error_);
    rotate_error_.reset();
    return Unexpected(std::move(e));
}

Result<void> Writer::flush_partial() {
    if (!fd_) return make_error(Errc::InvalidArgument, "flush log {}: closed", path_);
    for (int s = 0; s < 2; ++s) {
        Pending& p = pending_[s];
        if (p.data.empty()) continue;
        BERTH_TRY(emit(p.data, false, static_cast<Stream>(s), p.time_ns));
        p.data.clear();
    }
    BERTH_TRY(flush_out());
    return take_rotate_error();
}

Result<void> Writer::close() {
    if (!fd_) return {};
    auto r = flush_partial();
    fd_.reset();
    for (auto& p : pending_) std::string().swap(p.data);
    std::string().swap(out_);
    return r;
}

Result<void> Writer::emit(std::string_view log, bool newline, Stream stream, int64_t time_ns) {
    // moby decides before each entry, on the bytes already in the file.
    if (opts_.max_size > 0 && size() >= opts_.max_size) {
        BERTH_TRY(flush_out());
        auto r = rotate();
        if (!fd_) return r;
        // The old file could not be moved away: the entry still goes to it, and the caller
        // hears of the failure at the end of this write().
        if (!r && !rotate_error_) rotate_error_ = std::move(r).error();
    }
    if (time_ns != time_ns_ || time_str_.empty()) {
        time_ns_ = time_ns;
        time_str_ = format_rfc3339_nano(time_ns);
    }
    append_entry(out_, log, newline, stream, time_str_, attrs_json_);
    if (out_.size() >= kOutFlushBytes) BERTH_TRY(flush_out());
    return {};
}

Result<void> Writer::flush_out() {
    if (out_.empty()) return {};
    // After a failed write (a full disk) the file may end inside an entry: start a new line
    // so that only that entry is lost, not the next one too. An empty line is skipped.
    if (broken_line_) out_.insert(0, 1, '\n');
    auto r = write_all(fd_.get(), out_, path_);
    broken_line_ = !r;
    // Even a failed write counts as gone: retrying would duplicate a half-written entry.
    size_ += static_cast<int64_t>(out_.size());
    out_.clear();
    // One huge line can grow the buffer to ~100 KiB; give it back rather than keep it.
    if (out_.capacity() > 2 * kOutFlushBytes) std::string().swap(out_);
    if (!r) return Unexpected(std::move(r).error().wrap("write log entries"));
    return {};
}

Result<void> Writer::rotate() {
    // Close first: once x.log names a new file, readers take the old one as complete.
    fd_.reset();
    Result<void> moved;
    if (opts_.max_file < 2) {
        moved = unlink_if_exists(path_);
    } else {
        // Shift only the files that exist (x.log.1 ... x.log.n, found by looking): the same as
        // moby's loop down from max_file-1 when the chain has no gaps, and a huge max-file
        // costs no renames of files that are not there.
        const auto rotated = [&](int i) { return fmt::format("{}.{}", path_, i); };
        int n = 0;
        while (n < opts_.max_file - 1 && path_exists(rotated(n + 1))) ++n;
        if (n == opts_.max_file - 1) moved = unlink_if_exists(rotated(n--));
        for (int i = n; moved && i >= 1; --i) moved = rename_if_exists(rotated(i), rotated(i + 1));
        if (moved) moved = rename_if_exists(path_, rotated(1));
    }
    // If the old file could not be moved away, keep appending to it rather than lose it.
    // Either way the next attempt comes after another max_size bytes, not at every entry.
    const int trunc = moved ? O_TRUNC : 0;
    fd_.reset(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | trunc, opts_.mode));
    if (!fd_) return BERTH_SYS_ERROR("rotate log: open {}", path_);
    size_ = 0;
    if (moved) broken_line_ = false;
    if (!moved) return Unexpected(std::move(moved).error().wrap("rotate log {}", path_));
    return {};
}

}  // namespace berth::logfile
