// Container names and IDs: moby's name regex and message, stringid's rules, namesgenerator's.

#include <cctype>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "berth/container/names.hpp"

namespace berth::container {
namespace {

TEST(Names, ValidNames) {
    for (const char* ok : {"web", "/web", "a1", "web_1", "web.example", "my-app", "A-b.c_d", "00"})
        EXPECT_TRUE(valid_container_name(ok)) << ok;
    for (const char* bad :
         {"", "/", "a", "/a", "_web", "-web", ".web", "web app", "web/1", "wéb", "//web", "web:1"})
        EXPECT_FALSE(valid_container_name(bad)) << bad;
}

TEST(Names, MobysMessage) {
    auto r = validate_container_name("bad name");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_EQ(r.error().msg,
              "Invalid container name (bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    EXPECT_TRUE(validate_container_name("/good"));
}

TEST(Ids, SixtyFourHexNeverNumericShortId) {
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        std::string id = generate_container_id();
        ASSERT_EQ(id.size(), 64u);
        for (char c : id)
            ASSERT_TRUE(std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(c));
        bool numeric = true;
        for (size_t k = 0; k < 12; ++k)
            numeric = numeric && std::isdigit(static_cast<unsigned char>(id[k]));
        EXPECT_FALSE(numeric) << id;
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), 200u);
}

/// Replays a fixed sequence of indices (each taken modulo n).
RandomIndex replay(std::vector<size_t> seq) {
    auto pos = std::make_shared<size_t>(0);
    return [seq, pos](size_t n) { return seq[(*pos)++ % seq.size()] % n; };
}

TEST(GenerateName, AdjectiveUnderscoreSurname) {
    std::string name = generate_name(0, replay({0, 0}));
    auto us = name.find('_');
    ASSERT_NE(us, std::string::npos);
    EXPECT_TRUE(valid_container_name(name)) << name;
    for (int i = 0; i < 500; ++i) {
        std::string n = generate_name(0);
        ASSERT_TRUE(valid_container_name(n)) << n;
        ASSERT_EQ(n.find('_'), n.rfind('_')) << n;
        ASSERT_FALSE(std::isdigit(static_cast<unsigned char>(n.back()))) << n;
    }
}

TEST(GenerateName, RetryAppendsADigit) {
    std::string n = generate_name(1, replay({3, 4, 7}));
    ASSERT_FALSE(n.empty());
    EXPECT_EQ(n.back(), '7');
    EXPECT_TRUE(valid_container_name(n));
}

TEST(GenerateName, NeverBoringWozniak) {
    // Find the indices of "boring" and "wozniak" by probing, then make the first draw pick them.
    size_t boring = SIZE_MAX, wozniak = SIZE_MAX;
    for (size_t i = 0; i < 300 && (boring == SIZE_MAX || wozniak == SIZE_MAX); ++i) {
        std::string n = generate_name(0, replay({i, i}));
        auto us = n.find('_');
        if (boring == SIZE_MAX && n.substr(0, us) == "boring") boring = i;
        if (wozniak == SIZE_MAX && n.substr(us + 1) == "wozniak") wozniak = i;
    }
    ASSERT_NE(boring, SIZE_MAX);
    ASSERT_NE(wozniak, SIZE_MAX);
    // First draw boring_wozniak, then index 0/0: the generator must draw again.
    std::string n = generate_name(0, replay({boring, wozniak, 0, 0}));
    EXPECT_NE(n, "boring_wozniak");
    EXPECT_EQ(n, generate_name(0, replay({0, 0})));
}

TEST(GenerateUniqueName, SixTriesThenShortId) {
    const std::string id = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
    std::vector<std::string> offered;
    auto r = generate_unique_name(id, [&](const std::string& n) {
        offered.push_back(n);
        return offered.size() == 7;  // refuse all generated names
    });
    ASSERT_TRUE(r) << r.error().msg;
    EXPECT_EQ(*r, "abcdef012345");
    ASSERT_EQ(offered.size(), 7u);
    EXPECT_FALSE(std::isdigit(static_cast<unsigned char>(offered[0].back())));
    for (size_t i = 1; i < 6; ++i)
        EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(offered[i].back()))) << offered[i];

    auto taken = generate_unique_name(id, [](const std::string&) { return false; });
    ASSERT_FALSE(taken);
    EXPECT_EQ(taken.error().code, Errc::Conflict);

    auto first = generate_unique_name(id, [](const std::string&) { return true; });
    ASSERT_TRUE(first);
    EXPECT_TRUE(valid_container_name(*first));
}

}  // namespace
}  // namespace berth::container
