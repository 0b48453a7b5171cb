// base64: both alphabets, padding, strict and lenient decoding (X-Registry-Auth as clients
// send it).

#include <gtest/gtest.h>

#include "berth/common/base64.hpp"

namespace berth {
namespace {

TEST(Base64, EncodesRfc4648Vectors) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
    EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64_encode("{}", Base64Alphabet::Url), "e30=");  // the CLI's anonymous auth
    EXPECT_EQ(base64_encode("f", Base64Alphabet::Std, false), "Zg");
}

TEST(Base64, AlphabetsDifferInTwoCharacters) {
    std::string bytes = "\xfb\xff\xbf";
    EXPECT_EQ(base64_encode(bytes), "+/+/");
    EXPECT_EQ(base64_encode(bytes, Base64Alphabet::Url), "-_-_");
}

TEST(Base64, StrictDecodeRoundTripsAndRefuses) {
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    for (size_t n = 0; n < 8; ++n) {
        std::string s = all.substr(0, 250 + n % 6);
        EXPECT_EQ(base64_decode(base64_encode(s)).value(), s);
        EXPECT_EQ(base64_decode(base64_encode(s, Base64Alphabet::Url), Base64Alphabet::Url).value(),
                  s);
    }
    EXPECT_FALSE(base64_decode("Zg"));    // padding required
    EXPECT_FALSE(base64_decode("Zh=="));  // non-zero unused bits
    EXPECT_FALSE(base64_decode("-_-_"));  // URL characters in the standard alphabet
    EXPECT_FALSE(base64_decode("Zm=v"));  // padding inside
    EXPECT_EQ(base64_decode("Zm9v!").error().code, Errc::InvalidArgument);
}

TEST(Base64, LenientDecodeTakesBothAlphabetsWithOrWithoutPadding) {
    EXPECT_EQ(base64_decode_lenient("e30=").value(), "{}");
    EXPECT_EQ(base64_decode_lenient("e30").value(), "{}");
    EXPECT_EQ(base64_decode_lenient("+/+/").value(), "\xfb\xff\xbf");
    EXPECT_EQ(base64_decode_lenient("-_-_").value(), "\xfb\xff\xbf");
    EXPECT_EQ(base64_decode_lenient("-/+_").value(), "\xfb\xff\xbf");
    EXPECT_EQ(base64_decode_lenient("Zg").value(), "f");
    EXPECT_EQ(base64_decode_lenient("").value(), "");
    EXPECT_FALSE(base64_decode_lenient("Z"));    // impossible length
    EXPECT_FALSE(base64_decode_lenient("Zg="));  // padding to a wrong length
    EXPECT_FALSE(base64_decode_lenient("not base64!"));
    EXPECT_FALSE(base64_decode_lenient("e3=0"));
}

}  // namespace
}  // namespace berth
