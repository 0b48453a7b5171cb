// Tar split: record (TarSplitter) and replay (write_from_split). See tar_split.hpp.
//
// The recorder's parser mirrors libarchive 3.6's tar reader (archive_read_support_format_tar.c),
// because apply_layer() unpacks with libarchive: a payload referenced by name must be exactly
// what libarchive wrote to that name. Wherever the two might disagree (a header libarchive
// would warn about, hard links with a size, repeated extension headers, ...), the parser stops
// interpreting and stores the rest of the stream raw: bigger, never wrong.

#include "berth/archive/tar_split.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <map>
#include <optional>

#include "berth/common/async_hasher.hpp"
#include "berth/common/safe_path.hpp"
#include "berth/common/unique_fd.hpp"
#include "util.hpp"

namespace berth::archive {
namespace {

constexpr std::string_view kMagic = "BTSPLIT1";
constexpr size_t kBlock = 512;
// libarchive refuses pax / long-name / ACL bodies above 1 MiB.
constexpr uint64_t kMaxSpecial = 1 << 20;
// Uncompressed record bytes gathered before a zstd call, and the largest raw record.
constexpr size_t kPendingFlush = 256 * 1024;
constexpr size_t kRawFlush = 1 << 20;
// Output buffer of write_from_split: one write(2) per MiB, payloads read straight into it.
constexpr size_t kOutBuf = 1 << 20;
// mtime of a file reference whose header time could not be parsed: never compared.
constexpr int64_t kNoMtime = INT64_MIN;
constexpr size_t kMaxSuspects = 10;

uint64_t padding_of(uint64_t n) {
    return (kBlock - n % kBlock) % kBlock;
}

void put_varint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7f) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}

uint64_t zigzag(int64_t v) {
    return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t unzigzag(uint64_t v) {
    return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// A numeric header field as libarchive's tar_atol reads it: base-256 when the high bit of the
// first byte is set (GNU / star), else octal after leading blanks, up to the first non-digit.
// False when it is negative or does not fit: the caller then stops interpreting.
bool parse_numeric(const unsigned char* p, size_t n, int64_t* out) {
    if (p[0] & 0x80) {
        if (p[0] == 0xff) return false;  // negative
        uint64_t v = p[0] & 0x7f;
        for (size_t i = 1; i < n; ++i) {
            if (v >> 55) return false;
            v = (v << 8) | p[i];
        }
        if (v > static_cast<uint64_t>(INT64_MAX)) return false;
        *out = static_cast<int64_t>(v);
        return true;
    }
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t')) ++i;
    if (i < n && p[i] == '-') return false;
    uint64_t v = 0;
    for (; i < n && p[i] >= '0' && p[i] <= '7'; ++i) {
        if (v >> 60) return false;
        v = (v << 3) | static_cast<uint64_t>(p[i] - '0');
    }
    *out = static_cast<int64_t>(v);
    return true;
}

// libarchive's checksum(): the field must be octal digits, spaces or NULs, and the sum of the
// header (checksum field counted as spaces) must match, with unsigned or (old tars) signed bytes.
bool checksum_ok(const unsigned char* h) {
    for (size_t i = 148; i < 156; ++i) {
        unsigned char c = h[i];
        if (c != ' ' && c != '\0' && (c < '0' || c > '7')) return false;
    }
    int64_t want = 0;
    if (!parse_numeric(h + 148, 8, &want)) return false;
    int64_t us = 0, ss = 0;
    for (size_t i = 0; i < kBlock; ++i) {
        bool in_field = i >= 148 && i < 156;
        us += in_field ? 32 : h[i];
        ss += in_field ? 32 : static_cast<signed char>(h[i]);
    }
    return want == us || want == ss;
}

bool all_zero(const unsigned char* h) {
    return std::all_of(h, h + kBlock, [](unsigned char c) { return c == 0; });
}

std::string field(const unsigned char* p, size_t n) {
    const auto* c = reinterpret_cast<const char*>(p);
    return std::string(c, ::strnlen(c, n));
}

// pax_time(): decimal seconds, optional sign and fraction; the whole seconds only.
std::optional<int64_t> pax_seconds(std::string_view v) {
    bool neg = !v.empty() && v.front() == '-';
    if (neg) v.remove_prefix(1);
    int64_t s = 0;
    size_t i = 0;
    for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) {
        if (s > (INT64_MAX - 9) / 10) return std::nullopt;
        s = s * 10 + (v[i] - '0');
    }
    if (i == 0) return std::nullopt;
    return neg ? -s : s;
}

std::optional<uint64_t> pax_decimal(std::string_view v) {
    if (v.empty()) return std::nullopt;
    uint64_t s = 0;
    for (char c : v) {
        if (c < '0' || c > '9' || s > (UINT64_MAX - 9) / 10) return std::nullopt;
        s = s * 10 + static_cast<uint64_t>(c - '0');
    }
    return s;
}

Result<void> write_all(int fd, bool is_socket, const char* p, size_t n) {
    while (n > 0) {
        ssize_t w = is_socket ? ::send(fd, p, n, MSG_NOSIGNAL) : ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return BERTH_SYS_ERROR("write tar");
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
    return {};
}

bool is_socket_fd(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

// --- TarSplitter ------------------------------------------------------------------------------

struct TarSplitter::Impl {
    enum class State { Header, Special, SparseExt, Payload, Raw, Tail };
    enum class Special { Pax, Global, LongName, Other };

    // What the extension headers before an entry said about it.
    struct Pending {
        int pax_headers = 0;
        std::optional<std::string> pax_path;
        std::optional<std::string> sparse_name;  // GNU.sparse.name: the real name
        std::optional<uint64_t> pax_size;
        std::optional<int64_t> pax_mtime;
        bool pax_sparse = false;
        int long_names = 0;
        std::optional<std::string> long_name;
    };

    Impl(int fd, SplitOptions o) : out_fd(fd), opts(std::move(o)) {
        std::sort(opts.inline_entries.begin(), opts.inline_entries.end());
    }
    ~Impl() {
        if (cctx) ::ZSTD_freeCCtx(cctx);
    }

    int out_fd;
    SplitOptions opts;
    ZSTD_CCtx* cctx = nullptr;
    bool magic_written = false;
    std::string pending;  // encoded records not yet compressed
    std::string raw;      // the raw run being gathered
    std::string zbuf;
    Sha256 hasher;
    Result<void> error;
    SplitSummary summary;

    State state = State::Header;
    unsigned char hdr[kBlock];
    size_t hdr_fill = 0;
    uint64_t remaining = 0;  // bytes left in Special / Payload / Raw
    uint64_t after = 0;      // Payload: padding after it; SparseExt: data + padding after
    Special special = Special::Other;
    uint64_t special_size = 0;
    std::string special_body;
    Pending pend;
    std::map<std::string, uint64_t> refs;  // referenced name -> ordinal, for overwrite detection

    Result<void> compress(ZSTD_EndDirective mode) {
        if (!cctx) {
            cctx = ::ZSTD_createCCtx();
            if (!cctx) return make_error(Errc::Internal, "tar split: ZSTD_createCCtx failed");
            ::ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, opts.compression_level);
            zbuf.resize(::ZSTD_CStreamOutSize());
        }
        if (!magic_written) {
            BERTH_TRY(write_all(out_fd, false, kMagic.data(), kMagic.size()));
            magic_written = true;
        }
        ZSTD_inBuffer in{pending.data(), pending.size(), 0};
        for (;;) {
            ZSTD_outBuffer out{zbuf.data(), zbuf.size(), 0};
            size_t r = ::ZSTD_compressStream2(cctx, &out, &in, mode);
            if (::ZSTD_isError(r)) {
                return make_error(Errc::Internal, "tar split: compress: {}",
                                  ::ZSTD_getErrorName(r));
            }
            BERTH_TRY(write_all(out_fd, false, zbuf.data(), out.pos));
            bool done = mode == ZSTD_e_end ? r == 0 : in.pos == in.size;
            if (done) break;
        }
        pending.clear();
        return {};
    }

    Result<void> maybe_compress() {
        if (pending.size() >= kPendingFlush) return compress(ZSTD_e_continue);
        return {};
    }

    Result<void> emit_raw() {
        if (raw.empty()) return {};
        pending.push_back('r');
        put_varint(pending, raw.size());
        pending += raw;
        summary.inline_bytes += raw.size();
        raw.clear();
        return maybe_compress();
    }

    Result<void> add_raw(const char* p, size_t n) {
        raw.append(p, n);
        if (raw.size() >= kRawFlush) return emit_raw();
        return {};
    }

    void enter_tail() {
        state = State::Tail;
        summary.raw_tail = true;
    }

    // A later entry touches `name`: a file referenced there (and, unless the entry is a
    // directory, which is merged, anything referenced below it) is no longer on disk as it was.
    void touch(const std::string& name, bool is_dir) {
        if (refs.empty()) return;
        if (auto it = refs.find(name); it != refs.end()) {
            summary.overwritten.push_back(it->second);
            refs.erase(it);
        }
        if (is_dir) return;
        auto lo = refs.lower_bound(name + "/");
        auto hi = refs.lower_bound(name + "0");  // '0' follows '/'
        for (auto it = lo; it != hi; ++it) summary.overwritten.push_back(it->second);
        refs.erase(lo, hi);
    }

    Result<void> start_special(Special kind, int64_t size) {
        if (static_cast<uint64_t>(size) > kMaxSpecial) {
            enter_tail();
            return {};
        }
        special = kind;
        special_size = static_cast<uint64_t>(size);
        special_body.clear();
        remaining = special_size + padding_of(special_size);
        state = State::Special;
        if (remaining == 0) return end_special();
        return {};
    }

    Result<void> end_special() {
        state = State::Header;
        // libarchive reads these bodies as C strings.
        std::string_view body(special_body);
        body = body.substr(0, body.find('\0'));
        switch (special) {
            case Special::LongName:
                ++pend.long_names;
                pend.long_name = std::string(body);
                break;
            case Special::Pax:
                if (!parse_pax(body)) enter_tail();
                break;
            case Special::Global:  // kept but never applied by libarchive (nor by Go)
            case Special::Other:
                break;
        }
        return {};
    }

    // Records "<len> <key>=<value>\n"; false where libarchive would warn and stop.
    bool parse_pax(std::string_view body) {
        while (!body.empty()) {
            size_t sp = body.find(' ');
            if (sp == std::string_view::npos || sp == 0) return false;
            auto len = pax_decimal(body.substr(0, sp));
            if (!len || *len < 1 || *len > body.size() || body[*len - 1] != '\n') return false;
            std::string_view rec = body.substr(sp + 1, *len - sp - 2);
            body.remove_prefix(*len);
            size_t eq = rec.find('=');
            if (eq == std::string_view::npos || eq == 0) return false;
            std::string_view key = rec.substr(0, eq), value = rec.substr(eq + 1);
            if (key == "path") {
                pend.pax_path = std::string(value);
            } else if (key == "size") {
                pend.pax_size = pax_decimal(value);
                if (!pend.pax_size) return false;
            } else if (key == "mtime") {
                pend.pax_mtime = pax_seconds(value);
            } else if (key == "GNU.sparse.name") {
                pend.sparse_name = std::string(value);
                pend.pax_sparse = true;
            } else if (key.starts_with("GNU.sparse.") || key == "SCHILY.realsize" ||
                       key == "SUN.holesdata") {
                pend.pax_sparse = true;
            }
        }
        return true;
    }

    Result<void> process_header() {
        BERTH_TRY(add_raw(reinterpret_cast<const char*>(hdr), kBlock));
        if (all_zero(hdr)) {
            // End of archive: libarchive stops reading there; the rest (the second zero block,
            // blocking-factor padding, anything appended) is kept raw.
            state = State::Tail;
            return {};
        }
        if (!checksum_ok(hdr)) {
            enter_tail();
            return {};
        }
        int64_t size = 0;
        if (!parse_numeric(hdr + 124, 12, &size)) {
            enter_tail();
            return {};
        }
        switch (hdr[156]) {
            case 'x':
            case 'X':
                // Several pax headers for one entry: which one wins is libarchive's detail.
                if (pend.pax_headers++ > 0) {
                    enter_tail();
                    return {};
                }
                return start_special(Special::Pax, size);
            case 'g':
                return start_special(Special::Global, size);
            case 'L':
                return start_special(Special::LongName, size);
            case 'K':
            case 'A':
                return start_special(Special::Other, size);
            case 'V':  // GNU volume header: libarchive reads no body and goes on
                if (size != 0) enter_tail();
                return {};
            default:
                return entry(static_cast<char>(hdr[156]), size);
        }
    }

    Result<void> entry(char type, int64_t hsize) {
        uint64_t ordinal = summary.entries++;
        Pending p = std::move(pend);
        pend = Pending{};
        bool gnu = std::memcmp(hdr + 257, "ustar  \0", 8) == 0;
        bool ustar = !gnu && std::memcmp(hdr + 257, "ustar", 5) == 0;

        // The name libarchive gives the entry: pax (GNU.sparse.name over path), else a GNU long
        // name, else the header's (with the ustar prefix). Both pax and long name: ambiguous.
        std::string name;
        bool name_sure = true;
        std::optional<std::string> pax_name = p.sparse_name ? p.sparse_name : p.pax_path;
        if (pax_name) {
            name = *pax_name;
            if (p.long_names > 0) name_sure = false;
        } else if (p.long_name) {
            name = *p.long_name;
            if (p.long_names > 1) name_sure = false;
        } else {
            name = field(hdr, 100);
            if (ustar && hdr[345] != 0) {
                std::string prefix = field(hdr + 345, 155);
                if (prefix.back() != '/') prefix += '/';
                name = prefix + name;
            }
        }

        // Bytes following the header, as libarchive counts them.
        uint64_t len = 0;
        switch (type) {
            case '1':  // libarchive guesses whether a hard link with a size carries data
                if ((p.pax_size ? *p.pax_size : static_cast<uint64_t>(hsize)) > 0) {
                    enter_tail();
                    return {};
                }
                break;
            case '2':
            case '3':
            case '4':
            case '5':
            case '6':  // header-only types; only a pax size would give them data
                if (p.pax_size && *p.pax_size > 0) {
                    enter_tail();
                    return {};
                }
                break;
            default:
                len = p.pax_size ? *p.pax_size : static_cast<uint64_t>(hsize);
        }

        bool regular = type == '0' || type == '\0' || type == '7';
        // GNU old-style sparse map (libarchive reads it from any GNU header) and real size.
        bool gnu_sparse = gnu && hdr[386] != 0;
        bool sparse = type == 'S' || gnu_sparse || (gnu && hdr[483] != 0) || p.pax_sparse;

        auto cleaned = detail::clean_relative(name);
        bool is_ref = false;
        if (cleaned && !cleaned->empty()) {
            const std::string& rel = *cleaned;
            size_t slash = rel.rfind('/');
            std::string_view base = slash == std::string::npos
                                        ? std::string_view(rel)
                                        : std::string_view(rel).substr(slash + 1);
            bool trailing_slash = !name.empty() && name.back() == '/';
            bool is_dir = type == '5' || type == 'D' || (regular && trailing_slash);
            touch(rel, is_dir);
            bool whiteout = base.starts_with(".wh.");
            if (whiteout && !base.starts_with(".wh..wh.")) {
                std::string victim = rel.substr(0, slash == std::string::npos ? 0 : slash + 1);
                victim += base.substr(4);
                touch(victim, false);
            }
            is_ref = regular && !sparse && name_sure && !whiteout && !trailing_slash && len > 0 &&
                     !std::binary_search(opts.inline_entries.begin(), opts.inline_entries.end(),
                                         ordinal);
            if (is_ref) {
                int64_t mtime = kNoMtime;
                if (p.pax_mtime) {
                    mtime = *p.pax_mtime;
                } else if (int64_t m = 0; parse_numeric(hdr + 136, 12, &m)) {
                    mtime = m;
                }
                BERTH_TRY(emit_raw());
                pending.push_back('f');
                put_varint(pending, rel.size());
                pending += rel;
                put_varint(pending, len);
                put_varint(pending, zigzag(mtime));
                BERTH_TRY(maybe_compress());
                refs[rel] = ordinal;
                ++summary.file_refs;
                remaining = len;
                after = padding_of(len);
                state = State::Payload;
                return {};
            }
        }
        uint64_t rest = len + padding_of(len);
        if (gnu_sparse && hdr[482] != 0) {
            after = rest;
            hdr_fill = 0;
            state = State::SparseExt;
        } else {
            remaining = rest;
            state = rest ? State::Raw : State::Header;
        }
        return {};
    }

    Result<void> feed(const char* p, size_t n) {
        while (n > 0) {
            switch (state) {
                case State::Tail:
                    BERTH_TRY(add_raw(p, n));
                    return {};
                case State::Header:
                case State::SparseExt: {
                    size_t take = std::min(n, kBlock - hdr_fill);
                    std::memcpy(hdr + hdr_fill, p, take);
                    hdr_fill += take;
                    p += take;
                    n -= take;
                    if (hdr_fill < kBlock) break;
                    hdr_fill = 0;
                    if (state == State::Header) {
                        BERTH_TRY(process_header());
                    } else {
                        BERTH_TRY(add_raw(reinterpret_cast<const char*>(hdr), kBlock));
                        if (hdr[504] == 0) {  // no further extension block
                            remaining = after;
                            state = after ? State::Raw : State::Header;
                        }
                    }
                    break;
                }
                case State::Special: {
                    size_t take = static_cast<size_t>(std::min<uint64_t>(n, remaining));
                    BERTH_TRY(add_raw(p, take));
                    if (special_body.size() < special_size) {
                        special_body.append(
                            p, std::min<size_t>(take, special_size - special_body.size()));
                    }
                    p += take;
                    n -= take;
                    remaining -= take;
                    if (remaining == 0) BERTH_TRY(end_special());
                    break;
                }
                case State::Payload: {
                    size_t take = static_cast<size_t>(std::min<uint64_t>(n, remaining));
                    p += take;
                    n -= take;
                    remaining -= take;
                    if (remaining == 0) {
                        remaining = after;
                        state = after ? State::Raw : State::Header;
                    }
                    break;
                }
                case State::Raw: {
                    size_t take = static_cast<size_t>(std::min<uint64_t>(n, remaining));
                    BERTH_TRY(add_raw(p, take));
                    p += take;
                    n -= take;
                    remaining -= take;
                    if (remaining == 0) state = State::Header;
                    break;
                }
            }
        }
        return {};
    }

    Result<SplitSummary> finish() {
        if (state == State::Payload) {
            // The tar ends inside a referenced payload: it is truncated, and apply_layer
            // refuses truncated tars, so there is no tree to write it back from anyway.
            return make_error(Errc::InvalidArgument,
                              "tar split: the tar ends inside a file's data ({} bytes missing)",
                              remaining);
        }
        if ((state == State::Header || state == State::SparseExt) && hdr_fill > 0) {
            BERTH_TRY(add_raw(reinterpret_cast<const char*>(hdr), hdr_fill));
        }
        BERTH_TRY(emit_raw());
        summary.tar_size = hasher.size();
        summary.digest = hasher.finish();
        pending.push_back('e');
        put_varint(pending, summary.tar_size);
        const std::string& hex = summary.digest.hex();
        auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
        for (size_t i = 0; i + 1 < hex.size(); i += 2) {
            pending.push_back(static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
        }
        BERTH_TRY(compress(ZSTD_e_end));
        std::sort(summary.overwritten.begin(), summary.overwritten.end());
        return summary;
    }
};

TarSplitter::TarSplitter(int out_fd, SplitOptions opts)
    : impl_(std::make_unique<Impl>(out_fd, std::move(opts))) {}
TarSplitter::~TarSplitter() = default;
TarSplitter::TarSplitter(TarSplitter&&) noexcept = default;
TarSplitter& TarSplitter::operator=(TarSplitter&&) noexcept = default;

Result<void> TarSplitter::feed(std::string_view data) {
    if (!impl_->error) return impl_->error;
    impl_->hasher.update(data);
    auto r = impl_->feed(data.data(), data.size());
    if (!r) impl_->error = r;
    return r;
}

Result<SplitSummary> TarSplitter::finish() {
    if (!impl_->error) return Unexpected(impl_->error.error());
    return impl_->finish();
}

// --- write_from_split -------------------------------------------------------------------------

namespace {

// The records of a split: its magic checked, its zstd stream decompressed as it is read.
class SplitReader {
public:
    SplitReader(int fd, std::string_view mem) : fd_(fd), mem_(mem) {}
    ~SplitReader() {
        if (dctx_) ::ZSTD_freeDCtx(dctx_);
    }
    SplitReader(const SplitReader&) = delete;
    SplitReader& operator=(const SplitReader&) = delete;

    Result<void> open() {
        dctx_ = ::ZSTD_createDCtx();
        if (!dctx_) return make_error(Errc::Internal, "ZSTD_createDCtx failed");
        out_.resize(::ZSTD_DStreamOutSize());
        if (fd_ >= 0) in_buf_.resize(::ZSTD_DStreamInSize());
        char magic[kMagic.size()];
        size_t got = 0;
        while (got < sizeof magic) {
            size_t n = BERTH_TRY(read_compressed(magic + got, sizeof magic - got));
            if (n == 0) break;
            got += n;
        }
        if (got != sizeof magic || std::string_view(magic, got) != kMagic) {
            return make_error(Errc::InvalidArgument, "not a tar split (bad magic)");
        }
        return {};
    }

    // Up to `n` decompressed bytes; 0 at the end of the stream.
    Result<size_t> read(char* dst, size_t n) {
        while (out_pos_ == out_len_) {
            if (eof_) return size_t{0};
            BERTH_TRY(refill());
        }
        size_t take = std::min(n, out_len_ - out_pos_);
        std::memcpy(dst, out_.data() + out_pos_, take);
        out_pos_ += take;
        return take;
    }

    Result<void> read_exact(char* dst, size_t n) {
        while (n > 0) {
            size_t got = BERTH_TRY(read(dst, n));
            if (got == 0) return make_error(Errc::InvalidArgument, "truncated tar split");
            dst += got;
            n -= got;
        }
        return {};
    }

    // The next record type, or -1 at the end of the stream.
    Result<int> next_type() {
        char c = 0;
        size_t got = BERTH_TRY(read(&c, 1));
        return got ? static_cast<int>(static_cast<unsigned char>(c)) : -1;
    }

    Result<uint64_t> varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            char c = 0;
            BERTH_TRY(read_exact(&c, 1));
            auto b = static_cast<unsigned char>(c);
            v |= static_cast<uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        return make_error(Errc::InvalidArgument, "garbled tar split (varint)");
    }

private:
    Result<size_t> read_compressed(char* dst, size_t n) {
        if (fd_ < 0) {
            size_t take = std::min(n, mem_.size());
            std::memcpy(dst, mem_.data(), take);
            mem_.remove_prefix(take);
            return take;
        }
        for (;;) {
            ssize_t r = ::read(fd_, dst, n);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) return BERTH_SYS_ERROR("read tar split");
            return static_cast<size_t>(r);
        }
    }

    Result<void> refill() {
        if (in_.pos == in_.size && !in_eof_) {
            if (fd_ < 0) {
                in_ = ZSTD_inBuffer{mem_.data(), mem_.size(), 0};
                mem_ = {};
            } else {
                size_t n = BERTH_TRY(read_compressed(in_buf_.data(), in_buf_.size()));
                in_ = ZSTD_inBuffer{in_buf_.data(), n, 0};
            }
            if (in_.size == 0) in_eof_ = true;
        }
        bool input_done = in_eof_ && in_.pos == in_.size;
        if (input_done && frame_done_) {
            eof_ = true;
            return {};
        }
        ZSTD_outBuffer out{out_.data(), out_.size(), 0};
        size_t r = ::ZSTD_decompressStream(dctx_, &out, &in_);
        if (::ZSTD_isError(r)) {
            return make_error(Errc::InvalidArgument, "garbled tar split: {}",
                              ::ZSTD_getErrorName(r));
        }
        frame_done_ = r == 0;
        out_pos_ = 0;
        out_len_ = out.pos;
        if (out.pos == 0 && input_done && !frame_done_) {
            return make_error(Errc::InvalidArgument, "truncated tar split");
        }
        return {};
    }

    int fd_;
    std::string_view mem_;
    ZSTD_DCtx* dctx_ = nullptr;
    std::string in_buf_;
    ZSTD_inBuffer in_{nullptr, 0, 0};
    std::string out_;
    size_t out_pos_ = 0, out_len_ = 0;
    bool in_eof_ = false;
    bool frame_done_ = false;
    bool eof_ = false;
};

// The tar being written: buffered, hashed as it is flushed. Two buffers: while one is hashed
// (on AsyncHasher's thread) and written, the next is filled.
class TarWriter {
public:
    explicit TarWriter(int fd)
        : fd_(fd), sock_(is_socket_fd(fd)), bufs_{std::make_unique<char[]>(kOutBuf), nullptr} {}

    Result<void> append(const char* p, size_t n) {
        while (n > 0) {
            size_t take = std::min(n, kOutBuf - fill_);
            std::memcpy(buf() + fill_, p, take);
            fill_ += take;
            p += take;
            n -= take;
            if (fill_ == kOutBuf) BERTH_TRY(flush());
        }
        return {};
    }

    // Free space at the end of the buffer (flushing first if there is none).
    Result<std::pair<char*, size_t>> space() {
        if (fill_ == kOutBuf) BERTH_TRY(flush());
        return std::pair<char*, size_t>{buf() + fill_, kOutBuf - fill_};
    }
    void commit(size_t n) { fill_ += n; }

    Result<void> flush() {
        if (fill_ == 0) return {};
        hasher_.update(buf(), fill_);  // waits for the other buffer's hash first
        BERTH_TRY(write_all(fd_, sock_, buf(), fill_));
        fill_ = 0;
        // The other buffer is free (its hash is done); this one is hashed meanwhile. A tar
        // that fits one buffer never allocates the second.
        cur_ ^= 1;
        if (!bufs_[cur_]) bufs_[cur_] = std::make_unique<char[]>(kOutBuf);
        return {};
    }

    uint64_t written() const { return hasher_.size() + fill_; }
    Digest finish() { return hasher_.finish(); }

private:
    char* buf() { return bufs_[cur_].get(); }

    int fd_;
    bool sock_;
    std::unique_ptr<char[]> bufs_[2];
    int cur_ = 0;
    size_t fill_ = 0;
    AsyncHasher hasher_;  // declared last: its thread stops before the buffers go
};

std::string hex_of(const unsigned char* b, size_t n) {
    static const char* kHex = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s.push_back(kHex[b[i] >> 4]);
        s.push_back(kHex[b[i] & 15]);
    }
    return s;
}

Result<void> copy_file(TarWriter& out, int root, const std::string& name, uint64_t size,
                       int64_t mtime, std::vector<std::string>& suspects) {
    // O_NONBLOCK: a fifo put in place of the file must not hang the writer (it is refused below).
    auto fd = open_in_root(root, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (!fd) {
        return make_error(Errc::Internal,
                          "file '{}' of the layer cannot be opened ({}): changed "
                          "since it was unpacked",
                          name, fd.error().what());
    }
    struct stat st {};
    if (::fstat(fd->get(), &st) < 0) return BERTH_SYS_ERROR("stat '{}'", name);
    if (!S_ISREG(st.st_mode)) {
        return make_error(Errc::Internal,
                          "file '{}' of the layer is no longer a regular file: changed since it "
                          "was unpacked",
                          name);
    }
    if (static_cast<uint64_t>(st.st_size) != size) {
        return make_error(Errc::Internal,
                          "file '{}' of the layer has {} bytes, {} when it was unpacked: changed "
                          "since then",
                          name, st.st_size, size);
    }
    if (mtime != kNoMtime && st.st_mtim.tv_sec != mtime && suspects.size() < kMaxSuspects) {
        suspects.push_back(name);
    }
    if (size > kOutBuf) (void)::posix_fadvise(fd->get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    uint64_t left = size;
    while (left > 0) {
        auto [p, avail] = BERTH_TRY(out.space());
        ssize_t n = ::read(fd->get(), p, static_cast<size_t>(std::min<uint64_t>(avail, left)));
        if (n < 0) {
            if (errno == EINTR) continue;
            return BERTH_SYS_ERROR("read '{}'", name);
        }
        if (n == 0) {
            return make_error(Errc::Internal, "file '{}' of the layer shrank while being read",
                              name);
        }
        out.commit(static_cast<size_t>(n));
        left -= static_cast<uint64_t>(n);
    }
    return {};
}

Result<Digest> replay(SplitReader& in, const std::string& diff_dir, int out_fd) {
    BERTH_TRY(in.open());
    UniqueFd root(::open(diff_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return BERTH_SYS_ERROR("open {}", diff_dir);
    TarWriter out(out_fd);
    std::vector<std::string> suspects;
    std::string name;
    std::string chunk(64 * 1024, '\0');
    for (;;) {
        int type = BERTH_TRY(in.next_type());
        if (type == 'r') {
            uint64_t n = BERTH_TRY(in.varint());
            while (n > 0) {
                size_t take = static_cast<size_t>(std::min<uint64_t>(n, chunk.size()));
                BERTH_TRY(in.read_exact(chunk.data(), take));
                BERTH_TRY(out.append(chunk.data(), take));
                n -= take;
            }
        } else if (type == 'f') {
            uint64_t len = BERTH_TRY(in.varint());
            if (len > PATH_MAX * 16) return make_error(Errc::InvalidArgument, "garbled tar split");
            name.resize(len);
            BERTH_TRY(in.read_exact(name.data(), len));
            uint64_t size = BERTH_TRY(in.varint());
            int64_t mtime = unzigzag(BERTH_TRY(in.varint()));
            BERTH_TRY(copy_file(out, root.get(), name, size, mtime, suspects));
        } else if (type == 'e') {
            uint64_t total = BERTH_TRY(in.varint());
            unsigned char sum[32];
            BERTH_TRY(in.read_exact(reinterpret_cast<char*>(sum), sizeof sum));
            if (BERTH_TRY(in.next_type()) != -1) {
                return make_error(Errc::InvalidArgument, "garbled tar split (data after the end)");
            }
            BERTH_TRY(out.flush());
            uint64_t written = out.written();
            Digest got = out.finish();
            std::string want = "sha256:" + hex_of(sum, sizeof sum);
            if (written != total || got.string() != want) {
                std::string hint;
                if (!suspects.empty()) {
                    hint = "; modified since unpack (mtime changed):";
                    for (const auto& s : suspects) hint += " '" + s + "'";
                }
                return make_error(
                    Errc::Internal,
                    "reproduced tar has {} bytes and digest {}, the split recorded {} "
                    "bytes and {}{}",
                    written, got.string(), total, want, hint);
            }
            return got;
        } else if (type == -1) {
            return make_error(Errc::InvalidArgument, "truncated tar split (no end record)");
        } else {
            return make_error(Errc::InvalidArgument, "garbled tar split (record type {})", type);
        }
    }
}

}  // namespace

Result<Digest> write_from_split(int split_fd, const std::string& diff_dir, int out_fd) {
    SplitReader in(split_fd, {});
    return replay(in, diff_dir, out_fd).map_error([&](Error e) {
        return std::move(e).wrap("write tar of {} from its split", diff_dir);
    });
}

Result<Digest> write_from_split(std::string_view split, const std::string& diff_dir, int out_fd) {
    SplitReader in(-1, split);
    return replay(in, diff_dir, out_fd).map_error([&](Error e) {
        return std::move(e).wrap("write tar of {} from its split", diff_dir);
    });
}

}  // namespace berth::archive
