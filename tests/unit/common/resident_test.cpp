#include "berth/common/resident.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>

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

// berthd maps some 150 read-only file ranges (its libraries'): every one is dropped, the last
// ones in the address space (libc's text, in berthd) as much as the first.
TEST(Resident, DropsEveryRangeOfManyMappings) {
    char tmpl[] = "/tmp/berth-test-resident-XXXXXX";
    int fd = ::mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    ::unlink(tmpl);
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    constexpr int kMaps = 300;
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(page * kMaps)), 0);
    std::vector<char*> maps;
    for (int i = 0; i < kMaps; ++i) {
        // One page each, at its own offset: the kernel cannot merge them into one range.
        void* p = ::mmap(nullptr, page, PROT_READ, MAP_PRIVATE, fd, static_cast<off_t>(page * i));
        ASSERT_NE(p, MAP_FAILED);
        maps.push_back(static_cast<char*>(p));
    }
    ::close(fd);
    volatile char sum = 0;
    for (char* p : maps) sum = static_cast<char>(sum + p[0]);  // resident now
    auto resident = [&] {
        int n = 0;
        for (char* p : maps) {
            unsigned char v = 0;
            if (::mincore(p, page, &v) == 0 && (v & 1)) ++n;  // in the page cache: always
        }
        return n;
    };
    ASSERT_EQ(resident(), kMaps);
    drop_clean_file_pages();
    // mincore() tells the page cache, not our page tables: smaps' Rss of each range does.
    FILE* f = std::fopen("/proc/self/smaps", "re");
    ASSERT_NE(f, nullptr);
    char line[512];
    uintptr_t start = 0;
    bool ours = false;
    int still = 0;
    while (std::fgets(line, sizeof line, f)) {
        unsigned long a = 0, b = 0;
        if (std::sscanf(line, "%lx-%lx", &a, &b) == 2 && std::strchr(line, '-') < std::strchr(line, ' ')) {
            start = a;
            ours = std::find(maps.begin(), maps.end(), reinterpret_cast<char*>(start)) != maps.end();
            continue;
        }
        long kb = 0;
        if (ours && std::sscanf(line, "Rss: %ld kB", &kb) == 1 && kb > 0) ++still;
    }
    std::fclose(f);
    EXPECT_EQ(still, 0) << still << " of " << kMaps << " ranges still resident";
    for (char* p : maps) ::munmap(p, page);
}

}  // namespace
}  // namespace berth
