// percent_encode: what stays, what is escaped, the query form of a space.
#include "berth/common/strings.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(PercentEncode, KeepsLettersDigitsAndTheGivenCharacters) {
    EXPECT_EQ(percent_encode("Abc-09_x.y~z", "-_.~"), "Abc-09_x.y~z");
    EXPECT_EQ(percent_encode("a/b:c", "-_.~/:"), "a/b:c");
    EXPECT_EQ(percent_encode("a/b:c", "-_.~"), "a%2Fb%3Ac");
}

TEST(PercentEncode, EscapesEveryOtherByteInUppercaseHex) {
    EXPECT_EQ(percent_encode("a b&c=d", "-_.~"), "a%20b%26c%3Dd");
    EXPECT_EQ(percent_encode(std::string_view("\0\xff", 2), "-_.~"), "%00%FF");
    EXPECT_EQ(percent_encode("é", ""), "%C3%A9");
}

TEST(PercentEncode, SpaceAsPlusForQueries) {
    EXPECT_EQ(percent_encode("ENV A=1", "-_.~", true), "ENV+A%3D1");
    EXPECT_EQ(percent_encode("a+b", "-_.~", true), "a%2Bb");
}

}  // namespace
}  // namespace berth
