#pragma once
// Content digests ("sha256:<64 lowercase hex>", "sha512:<128 lowercase hex>") as the OCI image
// spec defines them, and incremental hashers over OpenSSL's libcrypto (EVP).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "berth/common/result.hpp"

namespace berth {

/// A validated content digest: sha256 or sha512, the two algorithms the OCI image spec
/// registers. Everything Berth makes (image IDs, chain IDs, its own blobs) is sha256; sha512 is
/// accepted because the distribution spec requires registries to store blobs pushed under it.
class Digest {
public:
    static constexpr std::string_view kSha256 = "sha256";
    static constexpr size_t kSha256HexLen = 64;
    static constexpr std::string_view kSha512 = "sha512";
    static constexpr size_t kSha512HexLen = 128;

    /// Parses "<algorithm>:<hex>". InvalidArgument for malformed input (no ':', bad algorithm
    /// grammar, wrong length, non-lowercase-hex); Unsupported for a well-formed other algorithm.
    [[nodiscard]] static Result<Digest> parse(std::string_view s);

    /// Builds a sha256 digest from 64 lowercase hex characters (InvalidArgument otherwise).
    [[nodiscard]] static Result<Digest> from_sha256_hex(std::string_view hex);

    /// Builds a digest of a registered algorithm ("sha256" or "sha512") from its lowercase hex
    /// (InvalidArgument for a wrong length or non-hex; Unsupported for another algorithm).
    [[nodiscard]] static Result<Digest> from_hex(std::string_view algorithm, std::string_view hex);

    /// "sha256" or "sha512".
    [[nodiscard]] const std::string& algorithm() const noexcept { return algorithm_; }
    /// The hex characters (64 for sha256, 128 for sha512).
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

/// Incremental hash of a registered digest algorithm: update() any number of times, then
/// finish() once. Move-only; owns an OpenSSL EVP_MD_CTX.
class Hasher {
public:
    /// A hasher for "sha256" (the default) or "sha512"; any other name hashes sha256 (callers
    /// take the algorithm from a parsed Digest, which only holds those two).
    explicit Hasher(std::string_view algorithm = Digest::kSha256);
    ~Hasher();
    Hasher(Hasher&&) noexcept;
    Hasher& operator=(Hasher&&) noexcept;
    Hasher(const Hasher&) = delete;
    Hasher& operator=(const Hasher&) = delete;

    /// Feeds bytes. Calling it after finish() is a logic error (ignored).
    void update(std::string_view data) noexcept;
    void update(const void* data, size_t len) noexcept;

    /// Number of bytes fed so far.
    [[nodiscard]] uint64_t size() const noexcept { return size_; }

    /// Digest of everything fed; the hasher is spent afterwards (a second call returns the
    /// same digest). libcrypto fails here only when out of memory, which ends the process, as
    /// bad_alloc does (CONVENTIONS.md), so this cannot fail.
    [[nodiscard]] Digest finish();

    /// The algorithm this hasher computes.
    [[nodiscard]] const std::string& algorithm() const noexcept { return algorithm_; }

private:
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
    std::string algorithm_;
    uint64_t size_ = 0;
    bool finished_ = false;
    std::string result_hex_;
};

/// Incremental SHA-256 (the hasher of everything Berth digests itself).
class Sha256 : public Hasher {
public:
    Sha256() : Hasher(Digest::kSha256) {}
};

/// SHA-256 of a byte string.
[[nodiscard]] Digest digest_of(std::string_view data);

/// SHA-256 of a file's contents, read in chunks. NotFound if the file does not exist.
[[nodiscard]] Result<Digest> digest_file(const std::string& path);

/// Digest (SHA-256 unless `algorithm` says "sha512") of everything readable from `fd` from its
/// current offset (the fd is borrowed).
[[nodiscard]] Result<Digest> digest_fd(int fd, uint64_t* size_out = nullptr,
                                       std::string_view algorithm = Digest::kSha256);

}  // namespace berth
