#include "berth/common/resident.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace berth {
namespace {

// Resident kB of this process's file-backed read-only, executable mappings.
long resident_text_kb() {
    FILE* f = std::fopen("/proc/self/smaps", "re");
    if (!f) return -1;
    char line[512];
    bool text = false;
    long total = 0;
    while (std::fgets(line, sizeof line, f)) {
        char perms[8] = {};
        unsigned long a = 0, b = 0;
        if (std::sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3 && std::strchr(line, '/')) {
            text = std::strcmp(perms, "r-xp") == 0;
            continue;
        }
        if (std::sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3) {
            text = false;
            continue;
        }
        long kb = 0;
        if (text && std::sscanf(line, "Rss: %ld kB", &kb) == 1) total += kb;
    }
    std::fclose(f);
    return total;
}

// Written at start-up, so it lives in a writable (or RELRO) page that must survive.
std::vector<std::string> g_written = {"kept", "across", "the", "drop"};

TEST(Resident, DropsCodePagesAndKeepsWrittenData) {
    long before = resident_text_kb();
    ASSERT_GT(before, 0);
    drop_clean_file_pages();
    long after = resident_text_kb();
    EXPECT_LT(after, before) << "before " << before << " kB, after " << after << " kB";
    // Code and data still work: what ran before faults back in from the page cache.
    ASSERT_EQ(g_written.size(), 4u);
    EXPECT_EQ(g_written[3], "drop");
    std::string s = std::to_string(12345);
    EXPECT_EQ(s, "12345");
    drop_clean_file_pages();  // idempotent
    EXPECT_EQ(g_written[0], "kept");
}

}  // namespace
}  // namespace berth
