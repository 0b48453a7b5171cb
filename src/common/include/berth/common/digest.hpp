#pragma once
// Content digests ("sha256:<64 lowercase hex>") as the OCI image spec defines them, and an
// incremental SHA-256 hasher over OpenSSL's libcrypto (EVP).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "berth/common/result.hpp"

namespace berth {

/// A validated content digest. Only sha256 is supported: the OCI spec registers sha512 too, but
/// nothing Berth stores or pulls uses it, so parse() answers Unsupported for it rather than
/// accepting a digest no store could verify.
class Digest {
public:
    static constexpr std::string_view kSha256 = "sha256";
    static constexpr size_t kSha256HexLen = 64;

    /// Parses "<algorithm>:<hex>". InvalidArgument for malformed input (no ':', bad algorithm
    /// grammar, wrong length, non-lowercase-hex); Unsupported for a well-formed other algorithm.
    [[nodiscard]] static Result<Digest> parse(std::string_view s);

    /// Builds a sha256 digest from 64 lowercase hex characters (InvalidArgument otherwise).
    [[nodiscard]] static Result<Digest> from_sha256_hex(std::string_view hex);

    /// "sha256".
    [[nodiscard]] const std::string& algorithm() const noexcept { return algorithm_; }
    /// The 64 hex characters.
    [[nodiscard]] const std::string& hex() const noexcept { return hex_; }
    /// "sha256:<hex>".
    [[nodiscard]] std::string string() const { return algorithm_ + ":" + hex_; }

    friend bool operator==(const Digest&, const Digest&) = default;
    friend auto operator<=>(const Digest&, const Digest&) = default;

private:
    Digest(std::string algorithm, std::string hex)
        : algorithm_(std::move(algorithm)), hex_(std::move(hex)) {}
    std::string algorithm_;
    std::string hex_;
};

/// Incremental SHA-256: update() any number of times, then finish() once. Move-only; owns an
/// OpenSSL EVP_MD_CTX.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    /// Feeds bytes. Calling it after finish() is a logic error (ignored).
    void update(std::string_view data) noexcept;
    void update(const void* data, size_t len) noexcept;

    /// Number of bytes fed so far.
    [[nodiscard]] uint64_t size() const noexcept { return size_; }

    /// Digest of everything fed; the hasher is spent afterwards (a second call returns the
    /// same digest). libcrypto fails here only when out of memory, which ends the process, as
    /// bad_alloc does (CONVENTIONS.md), so this cannot fail.
    [[nodiscard]] Digest finish();

private:
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
    uint64_t size_ = 0;
    bool finished_ = false;
    std::string result_hex_;
};

/// SHA-256 of a byte string.
[[nodiscard]] Digest digest_of(std::string_view data);

/// SHA-256 of a file's contents, read in chunks. NotFound if the file does not exist.
[[nodiscard]] Result<Digest> digest_file(const std::string& path);

/// SHA-256 of everything readable from `fd` from its current offset (the fd is borrowed).
[[nodiscard]] Result<Digest> digest_fd(int fd, uint64_t* size_out = nullptr);

}  // namespace berth
