#include "berth/common/digest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "berth/common/unique_fd.hpp"

namespace berth {
namespace {

bool is_lower_hex(std::string_view s) noexcept {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

// The OCI image spec's algorithm grammar: algorithm-component ([a-z0-9]+) joined by one of
// "+._-".
bool valid_algorithm(std::string_view a) noexcept {
    if (a.empty()) return false;
    bool prev_sep = true;
    for (char c : a) {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        bool sep = c == '+' || c == '.' || c == '_' || c == '-';
        if (!alnum && !sep) return false;
        if (sep && prev_sep) return false;
        prev_sep = sep;
    }
    return !prev_sep;
}

[[noreturn]] void crypto_fatal(const char* what) noexcept {
    // Only allocation failure makes EVP's SHA-256 fail; treat it as bad_alloc.
    std::fprintf(stderr, "berth: libcrypto %s failed\n", what);
    std::abort();
}

}  // namespace

Result<Digest> Digest::parse(std::string_view s) {
    auto colon = s.find(':');
    if (colon == std::string_view::npos)
        return make_error(Errc::InvalidArgument, "invalid digest \"{}\": missing algorithm", s);
    std::string_view alg = s.substr(0, colon);
    std::string_view hex = s.substr(colon + 1);
    if (!valid_algorithm(alg))
        return make_error(Errc::InvalidArgument, "invalid digest \"{}\": bad algorithm", s);
    if (alg != kSha256 && alg != kSha512)
        return make_error(Errc::Unsupported, "digest \"{}\": unsupported algorithm {}", s, alg);
    auto d = from_hex(alg, hex);
    if (!d) return Unexpected(std::move(d.error()).wrap("invalid digest \"{}\"", s));
    return d;
}

Result<Digest> Digest::from_hex(std::string_view algorithm, std::string_view hex) {
    size_t len = 0;
    if (algorithm == kSha256) {
        len = kSha256HexLen;
    } else if (algorithm == kSha512) {
        len = kSha512HexLen;
    } else {
        return make_error(Errc::Unsupported, "unsupported digest algorithm {}", algorithm);
    }
    if (hex.size() != len)
        return make_error(Errc::InvalidArgument, "{} hex must be {} characters, got {}", algorithm,
                          len, hex.size());
    if (!is_lower_hex(hex))
        return make_error(Errc::InvalidArgument, "{} hex must be lowercase [0-9a-f]", algorithm);
    return Digest(std::string(algorithm), std::string(hex));
}

Result<Digest> Digest::from_sha256_hex(std::string_view hex) {
    if (hex.size() != kSha256HexLen)
        return make_error(Errc::InvalidArgument, "sha256 hex must be {} characters, got {}",
                          kSha256HexLen, hex.size());
    if (!is_lower_hex(hex))
        return make_error(Errc::InvalidArgument, "sha256 hex must be lowercase [0-9a-f]");
    return Digest(std::string(kSha256), std::string(hex));
}

struct Hasher::Ctx {
    EVP_MD_CTX* md = nullptr;
    ~Ctx() { EVP_MD_CTX_free(md); }
};

Hasher::Hasher(std::string_view algorithm)
    : ctx_(std::make_unique<Ctx>()),
      algorithm_(algorithm == Digest::kSha512 ? Digest::kSha512 : Digest::kSha256) {
    ctx_->md = EVP_MD_CTX_new();
    if (!ctx_->md) crypto_fatal("EVP_MD_CTX_new");
    const EVP_MD* md = algorithm_ == Digest::kSha512 ? EVP_sha512() : EVP_sha256();
    if (EVP_DigestInit_ex(ctx_->md, md, nullptr) != 1) crypto_fatal("DigestInit");
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(std::string_view data) noexcept {
    update(data.data(), data.size());
}

void Hasher::update(const void* data, size_t len) noexcept {
    if (finished_ || !ctx_ || len == 0) return;
    if (EVP_DigestUpdate(ctx_->md, data, len) != 1) crypto_fatal("DigestUpdate");
    size_ += len;
}

Digest Hasher::finish() {
    if (!finished_) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (EVP_DigestFinal_ex(ctx_->md, md, &n) != 1) crypto_fatal("DigestFinal");
        static constexpr char kHex[] = "0123456789abcdef";
        result_hex_.reserve(2 * n);
        for (unsigned int i = 0; i < n; ++i) {
            result_hex_.push_back(kHex[md[i] >> 4]);
            result_hex_.push_back(kHex[md[i] & 0xf]);
        }
        finished_ = true;
    }
    return *Digest::from_hex(algorithm_, result_hex_);
}

Digest digest_of(std::string_view data) {
    Sha256 h;
    h.update(data);
    return h.finish();
}

Result<Digest> digest_fd(int fd, uint64_t* size_out, std::string_view algorithm) {
    Hasher h(algorithm);
    char buf[64 * 1024];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return BERTH_SYS_ERROR("read fd {} for digest", fd);
        }
        if (n == 0) break;
        h.update(buf, static_cast<size_t>(n));
    }
    if (size_out) *size_out = h.size();
    return h.finish();
}

Result<Digest> digest_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return BERTH_SYS_ERROR("open {} for digest", path);
    return digest_fd(fd.get()).map_error(
        [&](Error e) { return std::move(e).wrap("digest {}", path); });
}

}  // namespace berth
