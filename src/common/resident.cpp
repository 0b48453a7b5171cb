#include "berth/common/resident.hpp"

#include <malloc.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace berth {

void drop_clean_file_pages() noexcept {
    // Plain stdio and a fixed array: nothing here should need the allocator while the pages
    // of its slow paths are being dropped.
    FILE* f = std::fopen("/proc/self/smaps", "re");
    if (!f) return;
    struct Range {
        uintptr_t start, end;
    };
    // In batches: berthd maps ~150 such ranges (its binary and some thirty libraries, libc's
    // text among the last, high in the address space); stopping at the first 64 left most of
    // libc's 1.3 MB resident.
    constexpr int kMax = 64;
    Range ranges[kMax];
    int n = 0;
    Range cur{0, 0};
    bool candidate = false;
    char line[512];
    auto drop = [&] {
        for (int i = 0; i < n; ++i)
            (void)::madvise(reinterpret_cast<void*>(ranges[i].start), ranges[i].end - ranges[i].start,
                            MADV_DONTNEED);
        n = 0;
    };
    while (std::fgets(line, sizeof line, f)) {
        if (n == kMax) drop();
        unsigned long start = 0, end = 0;
        char perms[8] = {};
        int path_at = 0;
        if (std::sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, perms, &path_at) >= 3 &&
            std::strchr(line, '-') < std::strchr(line, ' ')) {
            // A mapping's header: a file (not [vdso], not anonymous memory), private, never
            // writable.
            cur = {start, end};
            candidate = path_at > 0 && line[path_at] == '/' && perms[1] == '-' && perms[3] == 'p';
            continue;
        }
        unsigned long anon_kb = 0;
        if (candidate && std::sscanf(line, "Anonymous: %lu kB", &anon_kb) == 1) {
            if (anon_kb == 0) ranges[n++] = cur;
            candidate = false;
        }
    }
    std::fclose(f);
    drop();
}

void give_back_idle_memory() noexcept {
    ::malloc_trim(0);
    drop_clean_file_pages();
}

}  // namespace berth
