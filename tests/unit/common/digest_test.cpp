#include "berth/common/digest.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "berth/common/fs.hpp"

namespace berth {
namespace {

constexpr std::string_view kEmpty =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr std::string_view kAbc =
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(Digest, KnownVectors) {
    EXPECT_EQ(digest_of("").string(), kEmpty);
    EXPECT_EQ(digest_of("abc").string(), kAbc);
    // FIPS 180-2 two-block vector.
    EXPECT_EQ(digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").hex(),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Digest, IncrementalEqualsOneShot) {
    std::string data;
    for (int i = 0; i < 100000; ++i) data.push_back(static_cast<char>(i * 7));
    Sha256 h;
    for (size_t off = 0; off < data.size(); off += 777)
        h.update(std::string_view(data).substr(off, 777));
    EXPECT_EQ(h.size(), data.size());
    Digest d = h.finish();
    EXPECT_EQ(d, digest_of(data));
    EXPECT_EQ(h.finish(), d);  // finish() is idempotent
}

TEST(Digest, ParseValid) {
    auto d = Digest::parse(kAbc);
    ASSERT_TRUE(d) << d.error().what();
    EXPECT_EQ(d->algorithm(), "sha256");
    EXPECT_EQ(d->hex(), kAbc.substr(7));
    EXPECT_EQ(d->string(), kAbc);
}

TEST(Digest, ParseRejects) {
    struct Case {
        std::string in;
        Errc code;
    };
    const std::string hex(kAbc.substr(7));
    std::string upper = hex;
    for (auto& c : upper) c = static_cast<char>(toupper(c));
    const Case cases[] = {
        {"", Errc::InvalidArgument},
        {hex, Errc::InvalidArgument},                              // no algorithm
        {"sha256:", Errc::InvalidArgument},                        // empty hex
        {"sha256:" + hex.substr(1), Errc::InvalidArgument},        // 63 chars
        {"sha256:" + hex + "0", Errc::InvalidArgument},            // 65 chars
        {"sha256:" + upper, Errc::InvalidArgument},                // uppercase
        {"sha256:" + hex.substr(1) + "g", Errc::InvalidArgument},  // not hex
        {"SHA256:" + hex, Errc::InvalidArgument},                  // bad algorithm grammar
        {":" + hex, Errc::InvalidArgument},
        {"sha256+:" + hex, Errc::InvalidArgument},
        {"sha512:" + hex, Errc::InvalidArgument},                  // 64 chars for sha512
        {"md5:d41d8cd98f00b204e9800998ecf8427e", Errc::Unsupported},
    };
    for (const auto& c : cases) {
        auto d = Digest::parse(c.in);
        ASSERT_FALSE(d) << c.in;
        EXPECT_EQ(d.error().code, c.code) << c.in << ": " << d.error().what();
        EXPECT_NE(d.error().msg.find("digest"), std::string::npos) << d.error().msg;
    }
}

TEST(Digest, Sha512IsARegisteredAlgorithm) {
    // sha512("") from FIPS 180-4's test vectors.
    const std::string empty512 =
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
        "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
    auto d = Digest::parse("sha512:" + empty512);
    ASSERT_TRUE(d) << d.error().what();
    EXPECT_EQ(d->algorithm(), "sha512");
    EXPECT_EQ(d->hex(), empty512);
    Hasher h("sha512");
    EXPECT_EQ(h.finish(), *d);
    Hasher abc("sha512");
    abc.update("abc");
    EXPECT_EQ(abc.finish().hex().substr(0, 16), "ddaf35a193617aba");
    EXPECT_NE(*d, *Digest::parse(kEmpty));
}

TEST(Digest, Ordering) {
    auto a = *Digest::parse(kAbc);
    auto e = *Digest::parse(kEmpty);
    EXPECT_NE(a, e);
    EXPECT_TRUE(a < e);  // "ba78..." < "e3b0..."
}

TEST(Digest, File) {
    char tmpl[] = "/tmp/berth-test-digest-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string dir = tmpl;
    std::string path = dir + "/f";
    ASSERT_TRUE(atomic_write_file(path, "abc"));
    auto d = digest_file(path);
    ASSERT_TRUE(d) << d.error().what();
    EXPECT_EQ(d->string(), kAbc);

    auto missing = digest_file(dir + "/nope");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::NotFound);
    EXPECT_NE(missing.error().what().find(dir + "/nope"), std::string::npos);
    ASSERT_TRUE(remove_all(dir));
}

}  // namespace
}  // namespace berth
