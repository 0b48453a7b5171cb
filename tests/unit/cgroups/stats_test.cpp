// Stats parsing (v1 files; v2 ones are in v2_manager_test.cpp).

#include "stats.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "berth/cgroups/manager.hpp"
#include "fake_cgroupfs.hpp"

namespace berth::cgroups {
namespace {

using testing::FakeCgroupFs;
using testing::FakeMode;

TEST(StatsParse, BlkioV1SkipsTotal) {
    auto e = detail::parse_blkio_v1("8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 1\nTotal 12289\n");
    ASSERT_EQ(e.size(), 3u);
    EXPECT_EQ(e[0].major, 8u);
    EXPECT_EQ(e[0].minor, 0u);
    EXPECT_EQ(e[0].op, "Read");
    EXPECT_EQ(e[1].value, 8192u);
    EXPECT_TRUE(detail::parse_blkio_v1("Total 0\n").empty());
}

TEST(StatsParse, IoStatMapsToV1Tables) {
    Stats s;
    detail::parse_io_stat("8:16 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6\n253:0 rbytes=7\n",
                          s);
    ASSERT_EQ(s.blkio_io_service_bytes_recursive.size(), 3u);
    ASSERT_EQ(s.blkio_io_serviced_recursive.size(), 2u);
    EXPECT_EQ(s.blkio_io_serviced_recursive[1].op, "Write");
    EXPECT_EQ(s.blkio_io_serviced_recursive[1].value, 4u);
    EXPECT_EQ(s.blkio_io_service_bytes_recursive[2].major, 253u);
}

TEST(StatsV1, ReadsEveryController) {
    FakeCgroupFs fs(FakeMode::V1);
    auto m = make_manager(fs.layout(), {"/s1", "s1"});
    ASSERT_TRUE(m);
    ASSERT_TRUE((*m)->create());
    auto p = (*m)->paths();
    FakeCgroupFs::write(p["memory"] + "/memory.stat", "cache 11\nrss 22\ntotal_rss 33\n");
    FakeCgroupFs::write(p["memory"] + "/memory.usage_in_bytes", "100\n");
    FakeCgroupFs::write(p["memory"] + "/memory.max_usage_in_bytes", "200\n");
    FakeCgroupFs::write(p["memory"] + "/memory.limit_in_bytes", "300\n");
    FakeCgroupFs::write(p["memory"] + "/memory.failcnt", "4\n");
    FakeCgroupFs::write(p["memory"] + "/memory.memsw.usage_in_bytes", "150\n");
    FakeCgroupFs::write(p["memory"] + "/memory.oom_control",
                        "oom_kill_disable 0\nunder_oom 0\noom_kill 5\n");
    FakeCgroupFs::write(p["cpuacct"] + "/cpuacct.usage", "123456789\n");
    FakeCgroupFs::write(p["cpuacct"] + "/cpuacct.usage_percpu", "100000000 23456789 \n");
    long hz = ::sysconf(_SC_CLK_TCK);
    FakeCgroupFs::write(p["cpuacct"] + "/cpuacct.stat",
                        "user " + std::to_string(hz) + "\nsystem 0\n");
    FakeCgroupFs::write(p["cpu"] + "/cpu.stat",
                        "nr_periods 10\nnr_throttled 3\nthrottled_time 999\n");
    FakeCgroupFs::write(p["blkio"] + "/blkio.io_serviced_recursive", "Total 0\n");
    FakeCgroupFs::write(p["blkio"] + "/blkio.throttle.io_serviced_recursive",
                        "8:0 Read 2\nTotal 2\n");
    FakeCgroupFs::write(p["blkio"] + "/blkio.throttle.io_service_bytes_recursive",
                        "8:0 Read 4096\nTotal 4096\n");
    FakeCgroupFs::write(p["hugetlb"] + "/hugetlb.2MB.usage_in_bytes", "2097152\n");
    FakeCgroupFs::write(p["pids"] + "/pids.current", "2\n");

    auto s = (*m)->stats();
    ASSERT_TRUE(s) << s.error().what();
    EXPECT_EQ(s->memory.cache, 11u);
    EXPECT_EQ(s->memory.raw.at("total_rss"), 33u);
    EXPECT_EQ(s->memory.usage, 100u);
    EXPECT_EQ(s->memory.max_usage, 200u);
    EXPECT_EQ(s->memory.limit, 300u);
    EXPECT_EQ(s->memory.failcnt, 4u);
    EXPECT_EQ(s->memory.swap_usage, 150u);
    EXPECT_EQ(s->oom_kill_count, 5u);
    EXPECT_EQ(s->cpu.usage_total, 123456789u);
    EXPECT_EQ(s->cpu.percpu, (std::vector<uint64_t>{100000000, 23456789}));
    EXPECT_EQ(s->cpu.usage_user, 1000000000u);  // one second of ticks
    EXPECT_EQ(s->cpu.periods, 10u);
    EXPECT_EQ(s->cpu.throttled_periods, 3u);
    EXPECT_EQ(s->cpu.throttled_time, 999u);
    // CFQ's files are empty, BFQ's say nothing: the throttle layer's are used.
    ASSERT_EQ(s->blkio_io_serviced_recursive.size(), 1u);
    EXPECT_EQ(s->blkio_io_service_bytes_recursive.at(0).value, 4096u);
    EXPECT_EQ(s->hugetlb.at("2MB").usage, 2097152u);
    EXPECT_EQ(s->pids.current, 2u);
    EXPECT_EQ(s->pids.limit, 0u);  // "max"
}

}  // namespace
}  // namespace berth::cgroups
