#include "berth/logfile/reader.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/time.hpp"
#include "berth/common/unique_fd.hpp"

namespace berth::logfile {

namespace {

constexpr size_t kReadChunk = 64 * 1024;
// The longest legitimate line is a 16 KiB piece escaped 6 bytes per byte, plus attrs; anything
// much longer without a newline is garbage and is dropped up to its newline.
constexpr size_t kMaxLineLength = 1024 * 1024;
constexpr int kPollMillis = 250;

enum class Flow { Continue, Stop };

struct LogFile {
    std::string path;
    UniqueFd fd;
    dev_t dev = 0;
    ino_t ino = 0;
    int64_t size = 0;   // at the snapshot
    int64_t start = 0;  // where reading begins (tail), or size to skip the file
};

// Splits what is read from a file into lines; keeps an unfinished last line for the next read.
class LineReader {
public:
    // Reads `fd` to its current end, or `limit` bytes at most (< 0: no limit), giving each
    // complete line (without '\n') to `fn`.
    template <class F>
    Result<Flow> pump(int fd, const std::string& path, int64_t limit, F&& fn) {
        for (;;) {
            size_t want = kReadChunk;
            if (limit >= 0) want = static_cast<size_t>(std::min<int64_t>(limit, kReadChunk));
            if (want == 0) return Flow::Continue;
            const size_t old = buf_.size();
            buf_.resize(old + want);
            ssize_t n = ::read(fd, buf_.data() + old, want);
            buf_.resize(old + static_cast<size_t>(std::max<ssize_t>(n, 0)));
            if (n < 0) {
                if (errno == EINTR) continue;
                return BERTH_SYS_ERROR("read log file {}", path);
            }
            if (n == 0) return Flow::Continue;
            if (limit >= 0) limit -= n;
            size_t pos = 0;
            // What was kept from the last read has no '\n': search the new bytes only.
            for (size_t nl; (nl = buf_.find('\n', std::max(pos, old))) != std::string::npos;) {
                if (!skipping_) {
                    if (BERTH_TRY(fn(std::string_view(buf_).substr(pos, nl - pos))) == Flow::Stop)
                        return Flow::Stop;
                }
                skipping_ = false;
                pos = nl + 1;
            }
            buf_.erase(0, pos);
            if (buf_.size() > kMaxLineLength) {
                skipping_ = true;
                buf_.clear();
            }
        }
    }

    // Forgets an unfinished line (the end of a file that will not grow any more).
    void reset() noexcept {
        buf_.clear();
        skipping_ = false;
    }

private:
    std::string buf_;
    bool skipping_ = false;  // dropping an overlong line up to its newline
};

// The index of "<base>.<n>" names, or 0.
int rotated_index(std::string_view name, std::string_view base) {
    if (name.size() <= base.size() + 1 || name.substr(0, base.size()) != base ||
        name[base.size()] != '.')
        return 0;
    int n = 0;
    for (char c : name.substr(base.size() + 1)) {
        if (c < '0' || c > '9' || n > 100'000'000) return 0;
        n = n * 10 + (c - '0');
    }
    return n;
}

std::string base_name(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Indexes of the rotated files that exist, highest (oldest) first.
std::vector<int> rotated_indexes(const std::string& path) {
    std::vector<int> out;
    const std::string dir = dirname_of(path);
    const std::string base = base_name(path);
    auto names = list_dir(dir);
    if (!names) return out;
    for (const std::string& n : *names)
        if (int i = rotated_index(n, base); i > 0) out.push_back(i);
    std::sort(out.rbegin(), out.rend());
    return out;
}

// Opens `p` for reading; an empty LogFile (no fd) if it does not exist.
Result<LogFile> open_log(const std::string& p) {
    LogFile f;
    f.path = p;
    f.fd.reset(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!f.fd) {
        if (errno == ENOENT) return f;
        return BERTH_SYS_ERROR("open log file {}", p);
    }
    struct stat st {};
    if (::fstat(f.fd.get(), &st) != 0) return BERTH_SYS_ERROR("stat log file {}", p);
    f.dev = st.st_dev;
    f.ino = st.st_ino;
    f.size = st.st_size;
    return f;
}

bool same_file(const std::string& p, const LogFile& f) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && st.st_dev == f.dev && st.st_ino == f.ino;
}

// Opens the rotated files (oldest first) and the current one (last, if it exists). A writer may
// rotate meanwhile; the names are checked again afterwards and the whole set reopened if any
// moved, so that no file is read twice or skipped.
Result<std::vector<LogFile>> open_log_set(const std::string& path, bool& has_current) {
    std::vector<LogFile> files;
    for (int attempt = 0; attempt < 10; ++attempt) {
        files.clear();
        for (int i : rotated_indexes(path)) {
            LogFile f = BERTH_TRY(open_log(fmt::format("{}.{}", path, i)));
            if (f.fd) files.push_back(std::move(f));
        }
        LogFile cur = BERTH_TRY(open_log(path));
        has_current = static_cast<bool>(cur.fd);
        if (has_current) files.push_back(std::move(cur));
        const bool stable = std::all_of(files.begin(), files.end(),
                                        [](const LogFile& f) { return same_file(f.path, f); });
        if (stable && rotated_indexes(path).size() + (has_current ? 1 : 0) == files.size()) break;
    }
    return files;
}

// pread that retries EINTR and short reads, up to `len` bytes at `off`.
Result<size_t> pread_full(const LogFile& f, char* buf, size_t len, int64_t off) {
    size_t got = 0;
    while (got < len) {
        ssize_t n = ::pread(f.fd.get(), buf + got, len - got, off + static_cast<int64_t>(got));
        if (n < 0) {
            if (errno == EINTR) continue;
            return BERTH_SYS_ERROR("read log file {}", f.path);
        }
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    return got;
}

// Where the last `want` complete lines of `f` (up to its snapshot size) begin, reading
// backwards in blocks; `found` gets how many lines that is (fewer if the file is shorter). An
// unfinished last line is not counted. want == 0 gives the end of the last complete line.
Result<int64_t> tail_start(const LogFile& f, int64_t want, int64_t& found) {
    found = 0;
    std::string block(kReadChunk, '\0');
    int64_t end = -1;  // just past the last '\n'
    int64_t pos = f.size;
    while (pos > 0) {
        const int64_t from = std::max<int64_t>(0, pos - static_cast<int64_t>(kReadChunk));
        const size_t len = static_cast<size_t>(pos - from);
        const size_t got = BERTH_TRY(pread_full(f, block.data(), len, from));
        if (got != len) {  // truncated under us: treat what is left as the file
            pos = from + static_cast<int64_t>(got);
            if (got == 0) break;
            continue;
        }
        for (size_t i = len; i-- > 0;) {
            if (block[i] != '\n') continue;
            const int64_t at = from + static_cast<int64_t>(i);
            if (end < 0) {
                end = at + 1;
                if (want == 0) return end;
                continue;
            }
            if (++found == want) return at + 1;
        }
        pos = from;
    }
    if (end < 0) return int64_t{0};  // not one complete line
    ++found;                         // the first line of the file
    return int64_t{0};
}

// The time of the last entry of `f`, if its last line is one.
Result<std::optional<int64_t>> last_time(const LogFile& f) {
    int64_t found = 0;
    const int64_t end = BERTH_TRY(tail_start(f, 0, found));
    const int64_t start = BERTH_TRY(tail_start(f, 1, found));
    if (end - start < 2 || end - start > static_cast<int64_t>(kMaxLineLength))
        return std::optional<int64_t>();
    std::string line(static_cast<size_t>(end - start - 1), '\0');
    if (BERTH_TRY(pread_full(f, line.data(), line.size(), start)) != line.size())
        return std::optional<int64_t>();
    std::optional<Entry> e = parse_entry(line, false);
    return e ? std::optional<int64_t>(e->time_ns) : std::optional<int64_t>();
}

class LogReader {
public:
    LogReader(const std::string& path, const ReadOptions& opts, const EntryCallback& on_entry,
              const std::function<bool()>& should_stop)
        : path_(path), opts_(opts), on_entry_(on_entry), should_stop_(should_stop) {}

    ~LogReader() {
        if (bad_lines_ > 0) BLOG_DEBUG("read log {}: skipped {} bad lines", path_, bad_lines_);
    }

    Result<void> run() {
        // Watch before the first read so that nothing written after it goes unnoticed.
        if (opts_.follow) setup_inotify();
        bool has_current = false;
        std::vector<LogFile> files = BERTH_TRY(open_log_set(path_, has_current));
        if (opts_.tail == 0) {
            // Nothing old is shown: follow from the end of the last complete line.
            for (LogFile& f : files) f.start = f.size;
            if (has_current) {
                int64_t found = 0;
                files.back().start = BERTH_TRY(tail_start(files.back(), 0, found));
            }
        } else if (opts_.tail > 0) {
            int64_t want = opts_.tail;
            size_t first = files.size();
            for (size_t i = files.size(); i > 0 && want > 0; --i) {
                int64_t found = 0;
                files[i - 1].start = BERTH_TRY(tail_start(files[i - 1], want, found));
                want -= found;
                first = i - 1;
            }
            for (size_t j = 0; j < first; ++j) files[j].start = files[j].size;
        }
        // A rotated file whose last entry is older than `since` has nothing to show: skip it
        // without decoding it (moby does this for compressed files, from their gzip header).
        if (opts_.since_ns) {
            for (size_t i = 0; i + 1 < files.size(); ++i)
                if (files[i].start < files[i].size &&
                    BERTH_TRY(last_time(files[i])).value_or(INT64_MAX) < *opts_.since_ns)
                    files[i].start = files[i].size;
        }
        for (size_t i = 0; i < files.size(); ++i) {
            LogFile& f = files[i];
            // Following goes on from the last file, current or (between a rename and the
            // new file's creation) just rotated.
            const bool follow_this = opts_.follow && i + 1 == files.size();
            if (f.start >= f.size && !follow_this) continue;
            if (::lseek(f.fd.get(), f.start, SEEK_SET) < 0)
                return BERTH_SYS_ERROR("seek log file {}", f.path);
            // Without follow, the snapshot is what is read: a tail stays the last N lines even
            // while the writer appends.
            const int64_t limit = follow_this ? -1 : f.size - f.start;
            if (BERTH_TRY(pump(f, limit)) == Flow::Stop) return {};
            if (follow_this) {
                cur_ = std::move(f);
            } else {
                lines_.reset();
                f.fd.reset();
            }
        }
        if (!opts_.follow) return {};
        return follow();
    }

private:
    void setup_inotify() {
        inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
        if (!inotify_) return;  // polling every 250 ms still works
        const std::string dir = dirname_of(path_);
        if (::inotify_add_watch(inotify_.get(), dir.c_str(),
                                IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) <
            0)
            inotify_.reset();
    }

    void wait() {
        if (!inotify_) {
            ::poll(nullptr, 0, kPollMillis);
            return;
        }
        pollfd p{inotify_.get(), POLLIN, 0};
        if (::poll(&p, 1, kPollMillis) > 0) {
            // The events only say "look again": drain them.
            char buf[4096];
            while (::read(inotify_.get(), buf, sizeof buf) > 0) {
            }
        }
    }

    Result<Flow> pump(LogFile& f, int64_t limit = -1) {
        return lines_.pump(f.fd.get(), f.path, limit,
                           [this](std::string_view line) { return deliver(line); });
    }

    Result<Flow> deliver(std::string_view line) {
        std::optional<Entry> e = parse_entry(line, opts_.details);
        if (!e) {
            ++bad_lines_;
            return Flow::Continue;
        }
        if (opts_.until_ns && e->time_ns > *opts_.until_ns) return Flow::Stop;
        if (opts_.since_ns && e->time_ns < *opts_.since_ns) return Flow::Continue;
        if ((e->stream == Stream::Stdout && !opts_.stdout) ||
            (e->stream == Stream::Stderr && !opts_.stderr))
            return Flow::Continue;
        const bool go_on = BERTH_TRY(on_entry_(*e));
        return go_on ? Flow::Continue : Flow::Stop;
    }

    // The file that came after `last` in the log (`last` was rotated away, so it is complete):
    // the next older rotated file, or `path` itself; nullopt if it is not there yet or the
    // writer keeps renaming under us (the caller tries again after its next wait). Finding it
    // by inode rather than by name means several rotations between two looks lose nothing.
    Result<std::optional<LogFile>> next_file(const LogFile& last) {
        const auto rotated = [&](int i) { return fmt::format("{}.{}", path_, i); };
        for (int attempt = 0; attempt < 20; ++attempt) {
            if (attempt > 0) ::usleep(1000);  // a rotation is a few renames: let it finish
            struct stat st {};
            if (::fstat(last.fd.get(), &st) != 0)
                return BERTH_SYS_ERROR("stat log file {}", last.path);
            int ours = 0;
            std::string next;
            if (st.st_nlink == 0) {
                // Rotated out of the log altogether: whatever is left is newer than it.
                const std::vector<int> indexes = rotated_indexes(path_);
                next = indexes.empty() ? path_ : rotated(indexes.front());
            } else {
                // Readers follow closely, so it is usually x.log.1: look upwards.
                for (int i = 1; ours == 0 && path_exists(rotated(i)); ++i)
                    if (same_file(rotated(i), last)) ours = i;
                if (ours == 0) continue;  // between two renames
                next = ours == 1 ? path_ : rotated(ours - 1);
            }
            LogFile f = BERTH_TRY(open_log(next));
            if (!f.fd) continue;
            // Still neighbours after the open: no rotation slipped in between.
            if ((ours == 0 || same_file(rotated(ours), last)) && same_file(next, f))
                return std::optional<LogFile>(std::move(f));
        }
        return std::optional<LogFile>();
    }

    Result<void> follow() {
        bool stopping = false;
        for (;;) {
            if (cur_ && BERTH_TRY(pump(*cur_)) == Flow::Stop) return {};
            if (cur_ && !same_file(path_, *cur_)) {
                // The writer closes the file before renaming it, so it is complete: read what
                // came in since the pump above, then go on with the next file.
                if (BERTH_TRY(pump(*cur_)) == Flow::Stop) return {};
                std::optional<LogFile> next = BERTH_TRY(next_file(*cur_));
                if (next) {
                    lines_.reset();
                    cur_ = std::move(next);
                    continue;
                }
            } else if (!cur_) {
                LogFile f = BERTH_TRY(open_log(path_));
                if (f.fd) {
                    lines_.reset();
                    cur_ = std::move(f);
                    continue;
                }
            }
            if (stopping) return {};
            // One more pass over the files after the stop, to deliver what was written before.
            if ((should_stop_ && should_stop_()) ||
                (opts_.until_ns && now_unix_nanos() > *opts_.until_ns)) {
                stopping = true;
                continue;
            }
            wait();
        }
    }

    const std::string& path_;
    const ReadOptions& opts_;
    const EntryCallback& on_entry_;
    const std::function<bool()>& should_stop_;
    UniqueFd inotify_;
    std::optional<LogFile> cur_;
    LineReader lines_;
    uint64_t bad_lines_ = 0;
};

// The fast path of parse_entry for the lines json-file writers produce: an object whose keys
// are only "log", "stream" and "time" with plain string values. Anything else (attrs, other
// keys, whitespace, lone surrogates, raw control bytes) returns false and goes to nlohmann,
// which decides. Several times faster than building a DOM for every line of a big log.
class FastEntryParser {
public:
    explicit FastEntryParser(std::string_view line) : s_(line) {}

    bool parse(Entry& e) {
        if (!eat('{')) return false;
        bool have_stream = false, have_time = false;
        std::string time;
        for (;;) {
            std::string_view key;
            if (!raw_key(key) || !eat(':')) return false;
            if (key == "log") {
                if (!string(e.line)) return false;
            } else if (key == "stream") {
                std::string v;
                if (!string(v)) return false;
                if (v == "stdout")
                    e.stream = Stream::Stdout;
                else if (v == "stderr")
                    e.stream = Stream::Stderr;
                else
                    return false;
                have_stream = true;
            } else if (key == "time") {
                if (!string(time)) return false;
                have_time = true;
            } else {
                return false;
            }
            if (eat(',')) continue;
            if (!eat('}') || i_ != s_.size() || !have_stream || !have_time) return false;
            break;
        }
        auto t = parse_rfc3339(time);
        if (!t) return false;
        e.time_ns = *t;
        return true;
    }

private:
    bool eat(char c) {
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }

    // A key without escapes.
    bool raw_key(std::string_view& key) {
        if (!eat('"')) return false;
        const size_t end = s_.find('"', i_);
        if (end == std::string_view::npos) return false;
        key = s_.substr(i_, end - i_);
        if (key.find('\\') != std::string_view::npos) return false;
        i_ = end + 1;
        return true;
    }

    static int hex(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }

    bool u4(uint32_t& v) {
        if (i_ + 4 > s_.size()) return false;
        v = 0;
        for (int k = 0; k < 4; ++k) {
            const int h = hex(s_[i_ + static_cast<size_t>(k)]);
            if (h < 0) return false;
            v = v << 4 | static_cast<uint32_t>(h);
        }
        i_ += 4;
        return true;
    }

    static void put_utf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | cp >> 6);
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | cp >> 12);
            out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | cp >> 18);
            out += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
            out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    bool string(std::string& out) {
        if (!eat('"')) return false;
        out.clear();
        for (;;) {
            size_t j = i_;
            while (j < s_.size() && s_[j] != '"' && s_[j] != '\\' &&
                   static_cast<unsigned char>(s_[j]) >= 0x20)
                ++j;
            out.append(s_.data() + i_, j - i_);
            i_ = j;
            if (i_ >= s_.size() || static_cast<unsigned char>(s_[i_]) < 0x20) return false;
            if (s_[i_++] == '"') return true;
            if (i_ >= s_.size()) return false;
            const char c = s_[i_++];
            switch (c) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    uint32_t cp = 0;
                    if (!u4(cp)) return false;
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        uint32_t lo = 0;
                        if (!eat('\\') || !eat('u') || !u4(lo) || lo < 0xDC00 || lo > 0xDFFF)
                            return false;
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                        return false;
                    }
                    put_utf8(out, cp);
                    break;
                }
                default:
                    return false;
            }
        }
    }

    std::string_view s_;
    size_t i_ = 0;
};

}  // namespace

std::optional<Entry> parse_entry(std::string_view line, bool with_attrs) {
    {
        Entry e;
        if (FastEntryParser(line).parse(e)) {
            e.partial = e.line.empty() || e.line.back() != '\n';
            return e;
        }
    }
    using nlohmann::json;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return std::nullopt;
    Entry e;
    auto it = j.find("stream");
    if (it == j.end() || !it->is_string()) return std::nullopt;
    const auto& stream = it->get_ref<const std::string&>();
    if (stream == "stdout")
        e.stream = Stream::Stdout;
    else if (stream == "stderr")
        e.stream = Stream::Stderr;
    else
        return std::nullopt;
    it = j.find("time");
    if (it == j.end() || !it->is_string()) return std::nullopt;
    auto t = parse_rfc3339(it->get_ref<const std::string&>());
    if (!t) return std::nullopt;
    e.time_ns = *t;
    it = j.find("log");
    if (it != j.end()) {
        if (!it->is_string()) return std::nullopt;
        e.line = std::move(it->get_ref<std::string&>());
    }
    e.partial = e.line.empty() || e.line.back() != '\n';
    if (with_attrs) {
        it = j.find("attrs");
        if (it != j.end() && it->is_object()) {
            for (auto& [k, v] : it->items())
                if (v.is_string()) e.attrs.emplace_back(k, v.get<std::string>());
        }
    }
    return e;
}

Result<void> read_logs(const std::string& path, const ReadOptions& opts,
                       const EntryCallback& on_entry, const std::function<bool()>& should_stop) {
    LogReader r(path, opts, on_entry, should_stop);
    return r.run().map_error([&](Error e) { return std::move(e).wrap("read log {}", path); });
}

}  // namespace berth::logfile
