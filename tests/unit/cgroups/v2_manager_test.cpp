// cgroup v2 decisions: controller enabling, conversions from the v1-shaped spec, files.

#include <gtest/gtest.h>
#include <signal.h>

#include "berth/cgroups/manager.hpp"
#include "bpf_interp.hpp"
#include "fake_cgroupfs.hpp"
#include "managers.hpp"

namespace berth::cgroups {
namespace {

using testing::FakeCgroupFs;
using testing::FakeMode;
using testing::WriteLog;

class V2Test : public ::testing::Test {
protected:
    std::unique_ptr<Manager> created(const std::string& path = "/berth/c1") {
        auto m = make_manager(fs.layout(), {path, "c1"});
        EXPECT_TRUE(m) << m.error().what();
        auto r = (*m)->create();
        EXPECT_TRUE(r) << r.error().what();
        return std::move(*m);
    }
    std::string knob(const Manager& m, const std::string& name) {
        return FakeCgroupFs::read(m.paths().at("") + "/" + name);
    }

    FakeCgroupFs fs{FakeMode::V2};
};

TEST(V2Conversions, SharesToWeightIsRuncsFormula) {
    EXPECT_EQ(detail::shares_to_weight(0), 0u);
    EXPECT_EQ(detail::shares_to_weight(2), 1u);
    EXPECT_EQ(detail::shares_to_weight(1024), 39u);
    EXPECT_EQ(detail::shares_to_weight(262144), 10000u);
    EXPECT_EQ(detail::shares_to_weight(1), 1u);  // clamped, no underflow
}

TEST(V2Conversions, BlkioWeightToIoWeight) {
    EXPECT_EQ(detail::blkio_weight_to_io_weight(10), 1u);
    EXPECT_EQ(detail::blkio_weight_to_io_weight(500), 4950u);
    EXPECT_EQ(detail::blkio_weight_to_io_weight(1000), 10000u);
}

TEST(V2Conversions, SwapIsMemoryPlusSwapMinusMemory) {
    EXPECT_EQ(*detail::swap_to_v2(300, 100), 200);
    EXPECT_EQ(*detail::swap_to_v2(100, 100), 0);
    EXPECT_EQ(*detail::swap_to_v2(-1, 100), -1);
    EXPECT_EQ(*detail::swap_to_v2(0, -1), -1);  // unlimited memory, swap unset: both unlimited
    EXPECT_EQ(*detail::swap_to_v2(0, 100), 0);
    EXPECT_EQ(detail::swap_to_v2(300, 0).error().code, Errc::InvalidArgument);
    EXPECT_EQ(detail::swap_to_v2(50, 100).error().code, Errc::InvalidArgument);
}

TEST_F(V2Test, CreateEnablesEveryControllerInTheParentsNotTheLeaf) {
    auto m = created("/berth/c1");
    std::string u = fs.layout().v2_mount;
    std::string all = "+cpuset +cpu +io +memory +hugetlb +pids";
    EXPECT_EQ(FakeCgroupFs::read(u + "/cgroup.subtree_control"), all);
    EXPECT_EQ(FakeCgroupFs::read(u + "/berth/cgroup.subtree_control"), all);
    EXPECT_EQ(FakeCgroupFs::read(u + "/berth/c1/cgroup.subtree_control"), "");
}

TEST_F(V2Test, SelfJoinPlanIsCloneIntoTheDirectory) {
    auto m = created();
    auto plan = m->self_join_plan();
    ASSERT_TRUE(plan) << plan.error().what();
    EXPECT_EQ(plan->clone_into, m->paths().at(""));
    EXPECT_TRUE(plan->thread_files.empty());
}

TEST_F(V2Test, CreateUnderAReadyParentOnlyReads) {
    std::string u = fs.layout().v2_mount;
    fs.make_existing(u + "/berth");
    FakeCgroupFs::write(u + "/berth/cgroup.subtree_control", "cpuset cpu io memory hugetlb pids\n");
    WriteLog log({u, u + "/berth"});
    auto m = created("/berth/c1");
    EXPECT_EQ(log.writes(), std::vector<std::string>{});
    EXPECT_EQ(log.opens(), 2);  // cgroup.controllers of the root, subtree_control of the parent
}

TEST_F(V2Test, MemorySwapConversionAndDisablingSwap) {
    auto m = created();
    oci::Resources r;
    r.memory = oci::MemoryResources{};
    r.memory->limit = 100;
    r.memory->swap = 100;
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(knob(*m, "memory.swap.max"), "0");
    EXPECT_EQ(knob(*m, "memory.max"), "100");
    r.memory->limit = -1;
    r.memory->swap = std::nullopt;
    ASSERT_TRUE(m->update(r));
    EXPECT_EQ(knob(*m, "memory.swap.max"), "max");
    EXPECT_EQ(knob(*m, "memory.max"), "max");
}

TEST_F(V2Test, MissingSwapFileIsFineForMaxOrZeroOnly) {
    fs.missing = {"memory.swap.max"};
    auto m = created();
    oci::Resources r;
    r.memory = oci::MemoryResources{};
    r.memory->limit = 100;
    r.memory->swap = 100;  // swap 0
    EXPECT_TRUE(m->apply(r));
    r.memory->swap = 200;
    auto bad = m->update(r);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::Unsupported);
    EXPECT_NE(bad.error().msg.find("resources.memory.swap"), std::string::npos);
}

TEST_F(V2Test, CheckBeforeUpdateRejectsALimitBelowUsage) {
    auto m = created();
    FakeCgroupFs::write(m->paths().at("") + "/memory.current", "5000\n");
    oci::Resources r;
    r.memory = oci::MemoryResources{};
    r.memory->limit = 4096;
    r.memory->check_before_update = true;
    auto bad = m->update(r);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::Conflict);
    r.memory->check_before_update = false;
    EXPECT_TRUE(m->update(r));
}

TEST_F(V2Test, CpuMaxForms) {
    auto m = created();
    oci::Resources r;
    r.cpu = oci::CpuResources{};
    r.cpu->quota = -1;
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(knob(*m, "cpu.max"), "max");
    FakeCgroupFs::write(m->paths().at("") + "/cpu.max", "20000 100000\n");
    r.cpu->quota = std::nullopt;
    r.cpu->period = 50000;
    ASSERT_TRUE(m->update(r));  // only the period: the quota stays
    EXPECT_EQ(knob(*m, "cpu.max"), "20000 50000");
    r.cpu->quota = 30000;
    r.cpu->period = std::nullopt;
    r.cpu->burst = 1000;
    ASSERT_TRUE(m->update(r));
    EXPECT_EQ(knob(*m, "cpu.max"), "30000");
    EXPECT_EQ(knob(*m, "cpu.max.burst"), "1000");
}

TEST_F(V2Test, RealtimeIsUnsupported) {
    auto m = created();
    oci::Resources r;
    r.cpu = oci::CpuResources{};
    r.cpu->realtime_runtime = 1000;
    auto bad = m->apply(r);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::Unsupported);
    EXPECT_NE(bad.error().msg.find("realtime"), std::string::npos);
}

TEST_F(V2Test, IoWeightWithoutBfqIsConvertedAndThrottlesGoToIoMax) {
    auto m = created();
    oci::Resources r;
    r.block_io = oci::BlockIoResources{};
    r.block_io->weight = 500;
    r.block_io->throttle_read_bps_device = {{8, 0, 1048576}};
    r.block_io->throttle_write_iops_device = {{8, 0, 0}};
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(knob(*m, "io.weight"), "4950");
    EXPECT_EQ(knob(*m, "io.max"), "8:0 rbps=1048576\n8:0 wiops=max\n");
}

TEST_F(V2Test, IoWeightPrefersBfq) {
    auto m = created();
    FakeCgroupFs::write(m->paths().at("") + "/io.bfq.weight", "default 100\n");
    oci::Resources r;
    r.block_io = oci::BlockIoResources{};
    r.block_io->weight = 500;
    r.block_io->weight_device = {{8, 0, 300, std::nullopt}};
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(knob(*m, "io.bfq.weight"), "8:0 300\n");  // the weight, then the device line
    EXPECT_EQ(knob(*m, "io.weight"), "default 100\n");
}

TEST_F(V2Test, UnifiedIsWrittenRawAndLast) {
    auto m = created();
    oci::Resources r;
    r.memory = oci::MemoryResources{};
    r.memory->limit = 1000;
    r.unified = {{"memory.max", "2000"}, {"memory.high", "1500"}};
    FakeCgroupFs::write(m->paths().at("") + "/memory.high", "max\n");
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(knob(*m, "memory.max"), "2000");
    EXPECT_EQ(knob(*m, "memory.high"), "1500");
    r.unified = {{"memory.nonexistent", "1"}};
    auto bad = m->update(r);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::Unsupported);
    EXPECT_NE(bad.error().msg.find("memory.nonexistent"), std::string::npos);
}

TEST_F(V2Test, NetworkIsUnsupported) {
    auto m = created();
    oci::Resources r;
    r.network = oci::NetworkResources{};
    r.network->class_id = 1;
    EXPECT_EQ(m->apply(r).error().code, Errc::Unsupported);
}

TEST_F(V2Test, DevicesAttachOneProgramBuiltFromTheRules) {
    auto m = created();
    oci::Resources r;
    r.devices = {{false, "", std::nullopt, std::nullopt, "rwm"}, {true, "c", 1, 3, "rw"}};
    ASSERT_TRUE(m->apply(r));
    const auto& prog = fs.programs_.at(m->paths().at(""));
    EXPECT_EQ(testing::run_device_program(prog, kDevChar, kDevAccRead, 1, 3), 1);
    EXPECT_EQ(testing::run_device_program(prog, kDevChar, kDevAccMknod, 1, 3), 0);
    EXPECT_EQ(testing::run_device_program(prog, kDevChar, kDevAccRead, 1, 5), 0);
}

TEST_F(V2Test, KillAllWithSigkillWritesCgroupKill) {
    auto m = created();
    ASSERT_TRUE(m->kill_all(SIGKILL));
    EXPECT_EQ(knob(*m, "cgroup.kill"), "1");
}

TEST_F(V2Test, FreezeTimesOutIntoAnErrorAndThawsBack) {
    auto m = created();
    // Nobody plays the kernel: cgroup.events never says frozen. Shorten by making the wait
    // fail fast: events file missing is an immediate error.
    ::unlink((m->paths().at("") + "/cgroup.events").c_str());
    auto r = m->freeze();
    ASSERT_FALSE(r);
    EXPECT_EQ(knob(*m, "cgroup.freeze"), "0");
}

TEST_F(V2Test, StatsFromV2Files) {
    auto m = created();
    std::string d = m->paths().at("");
    FakeCgroupFs::write(d + "/memory.current", "1000\n");
    FakeCgroupFs::write(d + "/memory.peak", "3000\n");
    FakeCgroupFs::write(d + "/memory.max", "4096\n");
    FakeCgroupFs::write(d + "/memory.swap.current", "24\n");
    FakeCgroupFs::write(d + "/memory.swap.max", "1024\n");
    FakeCgroupFs::write(d + "/memory.stat", "anon 10\nfile 20\n");
    FakeCgroupFs::write(d + "/memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 2\n");
    FakeCgroupFs::write(d + "/cpu.stat",
                        "usage_usec 5\nuser_usec 3\nsystem_usec 2\nnr_periods 9\nnr_throttled 4\n"
                        "throttled_usec 8\n");
    FakeCgroupFs::write(d + "/io.stat",
                        "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n");
    FakeCgroupFs::write(d + "/hugetlb.2MB.current", "2097152\n");
    FakeCgroupFs::write(d + "/hugetlb.2MB.events", "max 3\n");
    auto s = m->stats();
    ASSERT_TRUE(s) << s.error().what();
    EXPECT_EQ(s->memory.usage, 1000u);
    EXPECT_EQ(s->memory.max_usage, 3000u);
    EXPECT_EQ(s->memory.limit, 4096u);
    EXPECT_EQ(s->memory.swap_usage, 1024u);  // memory+swap, as v1 reports it
    EXPECT_EQ(s->memory.swap_limit, 5120u);
    EXPECT_EQ(s->memory.cache, 20u);
    EXPECT_EQ(s->memory.failcnt, 7u);
    EXPECT_EQ(s->oom_kill_count, 2u);
    EXPECT_EQ(s->cpu.usage_total, 5000u);
    EXPECT_EQ(s->cpu.usage_user, 3000u);
    EXPECT_EQ(s->cpu.usage_kernel, 2000u);
    EXPECT_EQ(s->cpu.throttled_periods, 4u);
    EXPECT_EQ(s->cpu.throttled_time, 8000u);
    ASSERT_EQ(s->blkio_io_service_bytes_recursive.size(), 2u);
    EXPECT_EQ(s->blkio_io_service_bytes_recursive[1].op, "Write");
    EXPECT_EQ(s->blkio_io_service_bytes_recursive[1].value, 200u);
    EXPECT_EQ(s->blkio_io_serviced_recursive[0].value, 1u);
    EXPECT_EQ(s->hugetlb.at("2MB").usage, 2097152u);
    EXPECT_EQ(s->hugetlb.at("2MB").failcnt, 3u);
}

}  // namespace
}  // namespace berth::cgroups
