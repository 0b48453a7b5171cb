#pragma once
// Filling Stats from cgroup files. Missing files are skipped (a controller may be absent or
// not enabled), so each function only fails on read errors other than ENOENT or on garbage.

#include <string>
#include <string_view>
#include <vector>

#include "berth/cgroups/manager.hpp"
#include "berth/common/result.hpp"

namespace berth::cgroups::detail {

/// Parses blkio.*_recursive ("8:0 Read 4096" lines, "Total N" skipped).
[[nodiscard]] std::vector<BlkioEntry> parse_blkio_v1(std::string_view text);
/// Parses io.stat ("8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..."), mapped to the v1 tables as
/// runc does (rbytes/wbytes -> service bytes Read/Write, rios/wios -> serviced Read/Write).
void parse_io_stat(std::string_view text, Stats& s);

/// v1: memory, cpu (throttling), cpuacct, pids, blkio, hugetlb; each from its own directory
/// (empty = controller absent).
[[nodiscard]] Result<void> v1_memory_stats(const std::string& dir, Stats& s);
[[nodiscard]] Result<void> v1_cpu_stats(const std::string& cpu_dir, const std::string& cpuacct_dir,
                                        Stats& s);
[[nodiscard]] Result<void> v1_blkio_stats(const std::string& dir, Stats& s);
[[nodiscard]] Result<void> v1_hugetlb_stats(const std::string& dir, Stats& s);
/// pids.current / pids.max: same names in v1 and v2.
[[nodiscard]] Result<void> pids_stats(const std::string& dir, Stats& s);

/// v2 equivalents, all read from the one directory.
[[nodiscard]] Result<void> v2_memory_stats(const std::string& dir, Stats& s);
[[nodiscard]] Result<void> v2_cpu_stats(const std::string& dir, Stats& s);
[[nodiscard]] Result<void> v2_io_stats(const std::string& dir, Stats& s);
[[nodiscard]] Result<void> v2_hugetlb_stats(const std::string& dir, Stats& s);

}  // namespace berth::cgroups::detail
