// cgroup v1 (and hybrid) decisions: write order, fallbacks, transitions, errors.

#include <gtest/gtest.h>
#include <signal.h>

#include <set>

#include "berth/cgroups/manager.hpp"
#include "fake_cgroupfs.hpp"

namespace berth::cgroups {
namespace {

using testing::FakeCgroupFs;
using testing::FakeMode;
using testing::WriteLog;

class V1Test : public ::testing::Test {
protected:
    explicit V1Test(FakeMode mode = FakeMode::V1) : fs(mode) {}

    std::unique_ptr<Manager> created(const std::string& path = "/berth/c1") {
        auto m = make_manager(fs.layout(), {path, "c1"});
        EXPECT_TRUE(m) << m.error().what();
        auto r = (*m)->create();
        EXPECT_TRUE(r) << r.error().what();
        return std::move(*m);
    }
    static oci::Resources memory(int64_t limit, int64_t swap) {
        oci::Resources r;
        r.memory = oci::MemoryResources{};
        if (limit) r.memory->limit = limit;
        if (swap) r.memory->swap = swap;
        return r;
    }
    static std::string file(const Manager& m, const std::string& ctrl, const std::string& name) {
        return m.paths().at(ctrl) + "/" + name;
    }

    FakeCgroupFs fs;
};

class HybridTest : public V1Test {
protected:
    HybridTest() : V1Test(FakeMode::Hybrid) {}
};

TEST_F(V1Test, FreshCgroupWritesLimitBeforeMemsw) {
    auto m = created();
    WriteLog log({m->paths().at("memory")});
    ASSERT_TRUE(m->apply(memory(100 << 20, 200 << 20)));
    EXPECT_EQ(log.writes(),
              (std::vector<std::string>{file(*m, "memory", "memory.limit_in_bytes"),
                                        file(*m, "memory", "memory.memsw.limit_in_bytes")}));
}

TEST_F(V1Test, RaisingWritesMemswFirstLoweringWritesLimitFirst) {
    auto m = created();
    FakeCgroupFs::write(file(*m, "memory", "memory.limit_in_bytes"), "104857600\n");
    FakeCgroupFs::write(file(*m, "memory", "memory.memsw.limit_in_bytes"), "209715200\n");
    WriteLog log({m->paths().at("memory")});
    ASSERT_TRUE(m->update(memory(300 << 20, 400 << 20)));
    EXPECT_EQ(log.writes(),
              (std::vector<std::string>{file(*m, "memory", "memory.memsw.limit_in_bytes"),
                                        file(*m, "memory", "memory.limit_in_bytes")}));
    ASSERT_TRUE(m->update(memory(50 << 20, 60 << 20)));
    EXPECT_EQ(log.writes(),
              (std::vector<std::string>{file(*m, "memory", "memory.limit_in_bytes"),
                                        file(*m, "memory", "memory.memsw.limit_in_bytes")}));
}

TEST_F(V1Test, UnlimitedMemoryAlsoLiftsMemsw) {
    auto m = created();
    ASSERT_TRUE(m->update(memory(-1, 0)));
    EXPECT_EQ(FakeCgroupFs::read(file(*m, "memory", "memory.memsw.limit_in_bytes")), "-1");
    EXPECT_EQ(FakeCgroupFs::read(file(*m, "memory", "memory.limit_in_bytes")), "-1");
}

TEST_F(V1Test, SwapBelowLimitIsInvalid) {
    auto m = created();
    auto r = m->apply(memory(200 << 20, 100 << 20));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_NE(r.error().msg.find("resources.memory.swap"), std::string::npos);
}

TEST_F(V1Test, SwappinessOomAndKernelMemory) {
    auto m = created();
    oci::Resources r;
    r.memory = oci::MemoryResources{};
    r.memory->swappiness = 10;
    r.memory->disable_oom_killer = true;
    r.memory->kernel = 1 << 20;  // ignored, as runc 1.1 does
    WriteLog log({m->paths().at("memory")});
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(FakeCgroupFs::read(file(*m, "memory", "memory.swappiness")), "10");
    EXPECT_EQ(FakeCgroupFs::read(file(*m, "memory", "memory.oom_control")), "1");
    EXPECT_EQ(log.writes().size(), 2u);

    r.memory->swappiness = 101;
    auto bad = m->update(r);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::InvalidArgument);
    EXPECT_NE(bad.error().msg.find("swappiness"), std::string::npos);
    // -1 (as an unsigned) means "unset" in the spec.
    r.memory->swappiness = UINT64_MAX;
    EXPECT_TRUE(m->update(r));
}

TEST_F(V1Test, CpuSharesOutOfRangeIsInvalid) {
    auto m = created();
    oci::Resources r;
    r.cpu = oci::CpuResources{};
    r.cpu->shares = 300000;
    auto bad = m->apply(r);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::InvalidArgument);
    EXPECT_NE(bad.error().msg.find("maximum allowed cpu-shares"), std::string::npos);
}

TEST_F(V1Test, RealtimeWritesPeriodThenRuntimeAndMissingFilesAreUnsupported) {
    auto m = created();
    oci::Resources r;
    r.cpu = oci::CpuResources{};
    r.cpu->realtime_period = 1000000;
    r.cpu->realtime_runtime = 950000;
    WriteLog log({m->paths().at("cpu")});
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(log.writes(), (std::vector<std::string>{file(*m, "cpu", "cpu.rt_period_us"),
                                                      file(*m, "cpu", "cpu.rt_runtime_us")}));
    ::unlink(file(*m, "cpu", "cpu.rt_runtime_us").c_str());
    auto bad = m->update(r);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::Unsupported);
    EXPECT_NE(bad.error().msg.find("resources.cpu.realtimeRuntime"), std::string::npos);
}

TEST_F(V1Test, CpusetAncestorsAreInitialisedAndTheLeafBeforeJoining) {
    auto m = created("/a/b/c1");
    std::string root = fs.layout().v1_mounts.at("cpuset");
    // Intermediate levels made by create() already have cpus and mems.
    EXPECT_EQ(FakeCgroupFs::read(root + "/a/cpuset.cpus"), "0-1");
    EXPECT_EQ(FakeCgroupFs::read(root + "/a/b/cpuset.mems"), "0");
    // The leaf waits: apply() may set its own values.
    EXPECT_EQ(FakeCgroupFs::read(root + "/a/b/c1/cpuset.cpus"), "\n");
    WriteLog log({root + "/a/b/c1"});
    ASSERT_TRUE(m->add_process(77));
    EXPECT_EQ(log.writes(),
              (std::vector<std::string>{root + "/a/b/c1/cpuset.cpus", root + "/a/b/c1/cpuset.mems",
                                        root + "/a/b/c1/cgroup.procs"}));
}

TEST_F(V1Test, SelfJoinPlanInitialisesCpusetAndListsEveryTasksFile) {
    auto m = created();
    std::string cpuset = m->paths().at("cpuset");
    auto plan = m->self_join_plan();
    ASSERT_TRUE(plan) << plan.error().what();
    // The child can join cpuset only once cpus and mems are set.
    EXPECT_EQ(FakeCgroupFs::read(cpuset + "/cpuset.cpus"), "0-1");
    EXPECT_EQ(FakeCgroupFs::read(cpuset + "/cpuset.mems"), "0");
    EXPECT_TRUE(plan->clone_into.empty()) << "no unified tree on a pure v1 host";
    std::set<std::string> want;
    for (const auto& [ctrl, dir] : m->paths()) want.insert(dir + "/tasks");
    EXPECT_EQ(std::set<std::string>(plan->thread_files.begin(), plan->thread_files.end()), want);
    EXPECT_EQ(plan->thread_files.size(), want.size()) << "co-mounted controllers appear once";
}

TEST_F(HybridTest, SelfJoinPlanClonesIntoTheUnifiedDirectory) {
    auto m = created();
    auto plan = m->self_join_plan();
    ASSERT_TRUE(plan) << plan.error().what();
    EXPECT_EQ(plan->clone_into, m->paths().at(""));
    for (const auto& f : plan->thread_files)
        EXPECT_NE(f.rfind(m->paths().at(""), 0), 0u) << "the unified directory is joined by clone3: " << f;
}

TEST_F(V1Test, CpusetFromSpecSkipsTheCopy) {
    auto m = created();
    std::string leaf = m->paths().at("cpuset");
    oci::Resources r;
    r.cpu = oci::CpuResources{};
    r.cpu->cpus = "1";
    r.cpu->mems = "0";
    WriteLog log({leaf});
    ASSERT_TRUE(m->apply(r));
    ASSERT_TRUE(m->add_process(77));
    EXPECT_EQ(log.writes(), (std::vector<std::string>{leaf + "/cpuset.cpus", leaf + "/cpuset.mems",
                                                      leaf + "/cgroup.procs"}));
    EXPECT_EQ(log.opens(), 3);
}

TEST_F(V1Test, CpusOnlyCopiesMemsFromTheParent) {
    auto m = created();
    oci::Resources r;
    r.cpu = oci::CpuResources{};
    r.cpu->cpus = "0";
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(FakeCgroupFs::read(file(*m, "cpuset", "cpuset.cpus")), "0");
    EXPECT_EQ(FakeCgroupFs::read(file(*m, "cpuset", "cpuset.mems")), "0");
}

TEST_F(V1Test, BlkioWeightFallsBackToBfqThenUnsupported) {
    fs.missing = {"blkio.weight", "blkio.weight_device", "blkio.leaf_weight"};
    auto m = created();
    oci::Resources r;
    r.block_io = oci::BlockIoResources{};
    r.block_io->weight = 300;
    r.block_io->weight_device = {{8, 0, 200, std::nullopt}};
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(FakeCgroupFs::read(file(*m, "blkio", "blkio.bfq.weight")), "300");
    EXPECT_EQ(FakeCgroupFs::read(file(*m, "blkio", "blkio.bfq.weight_device")), "8:0 200\n");

    ::unlink(file(*m, "blkio", "blkio.bfq.weight").c_str());
    auto bad = m->update(r);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::Unsupported);
    EXPECT_NE(bad.error().msg.find("resources.blockIO.weight"), std::string::npos);

    oci::Resources leaf;
    leaf.block_io = oci::BlockIoResources{};
    leaf.block_io->leaf_weight = 300;
    EXPECT_EQ(m->update(leaf).error().code, Errc::Unsupported);
}

TEST_F(V1Test, BlkioThrottlesOneCommandPerDevice) {
    auto m = created();
    oci::Resources r;
    r.block_io = oci::BlockIoResources{};
    r.block_io->weight = 500;
    r.block_io->throttle_read_bps_device = {{8, 0, 1048576}, {8, 16, 2097152}};
    r.block_io->throttle_write_iops_device = {{8, 0, 100}};
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(FakeCgroupFs::read(file(*m, "blkio", "blkio.weight")), "500");
    EXPECT_EQ(FakeCgroupFs::read(file(*m, "blkio", "blkio.throttle.read_bps_device")),
              "8:0 1048576\n8:16 2097152\n");
    EXPECT_EQ(FakeCgroupFs::read(file(*m, "blkio", "blkio.throttle.write_iops_device")),
              "8:0 100\n");
    EXPECT_EQ(FakeCgroupFs::read(file(*m, "blkio", "blkio.throttle.write_bps_device")), "");
}

TEST_F(V1Test, NetClsAndNetPrio) {
    auto m = created();
    oci::Resources r;
    r.network = oci::NetworkResources{};
    r.network->class_id = 0x100001;
    r.network->priorities = {{"eth0", 5}, {"lo", 1}};
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(FakeCgroupFs::read(file(*m, "net_cls", "net_cls.classid")), "1048577");
    EXPECT_EQ(FakeCgroupFs::read(file(*m, "net_prio", "net_prio.ifpriomap")), "eth0 5\nlo 1\n");
}

TEST_F(V1Test, DevicesFreshWritesDenyAllOnceThenRulesInOrder) {
    auto m = created();
    std::string d = m->paths().at("devices");
    oci::Resources r;
    r.devices = {{false, "", std::nullopt, std::nullopt, "rwm"},
                 {true, "c", 1, 3, "rwm"},
                 {false, "c", 1, 3, "w"},
                 {true, "a", std::nullopt, std::nullopt, "m"}};
    WriteLog log({d});
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(log.opens(), 2);  // one open per knob for the whole list
    EXPECT_EQ(log.writes(), (std::vector<std::string>{d + "/devices.deny", d + "/devices.allow",
                                                      d + "/devices.deny", d + "/devices.allow"}));
    EXPECT_EQ(FakeCgroupFs::read(d + "/devices.deny"), "a\nc 1:3 w\n");
    EXPECT_EQ(FakeCgroupFs::read(d + "/devices.allow"), "c 1:3 rwm\nc *:* m\nb *:* m\n");
}

TEST_F(V1Test, DevicesWithoutLeadingDenyAllStillStartFromDenyAll) {
    auto m = created();
    std::string d = m->paths().at("devices");
    oci::Resources r;
    r.devices = {{true, "c", 1, 3, "rwm"}};
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(FakeCgroupFs::read(d + "/devices.deny"), "a\n");
    EXPECT_EQ(FakeCgroupFs::read(d + "/devices.allow"), "c 1:3 rwm\n");
}

TEST_F(V1Test, DevicesUpdateWritesOnlyTheDifference) {
    auto m = created();
    std::string d = m->paths().at("devices");
    FakeCgroupFs::write(d + "/devices.list", "c 1:3 rwm\nc 1:5 rwm\nc 1:9 rw\n");
    oci::Resources r;
    r.devices = {{false, "a", std::nullopt, std::nullopt, "rwm"},
                 {true, "c", 1, 3, "rwm"},
                 {true, "c", 1, 9, "r"},
                 {true, "c", 1, 8, "rw"}};
    WriteLog log({d});
    ASSERT_TRUE(m->update(r));
    // Allow first (nothing the container keeps is ever missing), then deny.
    EXPECT_EQ(FakeCgroupFs::read(d + "/devices.allow"), "c 1:8 rw\n");
    EXPECT_EQ(FakeCgroupFs::read(d + "/devices.deny"), "c 1:5 rwm\nc 1:9 w\n");
    EXPECT_EQ(log.writes(), (std::vector<std::string>{d + "/devices.allow", d + "/devices.deny"}));
}

TEST_F(V1Test, DevicesUpdateOfAnAllowAllCgroupResets) {
    auto m = created();
    std::string d = m->paths().at("devices");
    oci::Resources r;
    r.devices = {{false, "a", std::nullopt, std::nullopt, "rwm"}, {true, "c", 1, 3, "rwm"}};
    ASSERT_TRUE(m->update(r));  // the fake's devices.list says "a *:* rwm"
    EXPECT_EQ(FakeCgroupFs::read(d + "/devices.deny"), "a\n");
    EXPECT_EQ(FakeCgroupFs::read(d + "/devices.allow"), "c 1:3 rwm\n");
}

TEST_F(V1Test, BadDeviceRuleWritesNothing) {
    auto m = created();
    std::string d = m->paths().at("devices");
    oci::Resources r;
    r.devices = {{false, "a", std::nullopt, std::nullopt, "rwm"}, {true, "z", 1, 3, "rwm"}};
    auto bad = m->apply(r);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::InvalidArgument);
    EXPECT_EQ(FakeCgroupFs::read(d + "/devices.deny"), "");
}

TEST_F(V1Test, MissingControllerIsUnsupportedAndNamesTheField) {
    Layout l = fs.layout();
    l.v1_mounts.erase("pids");
    auto m = make_manager(l, {"/berth/c1", "c1"});
    ASSERT_TRUE(m);
    ASSERT_TRUE((*m)->create());
    oci::Resources r;
    r.pids = oci::PidsResources{10};
    auto bad = (*m)->apply(r);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::Unsupported);
    EXPECT_NE(bad.error().msg.find("resources.pids"), std::string::npos);
    EXPECT_NE(bad.error().msg.find("pids cgroup controller is not mounted"), std::string::npos);
}

TEST_F(V1Test, UnifiedResourcesNeedAUnifiedTree) {
    auto m = created();
    oci::Resources r;
    r.unified = {{"memory.high", "1000"}};
    auto bad = m->apply(r);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::Unsupported);
}

TEST_F(V1Test, FrozenOnlyThroughAnAncestorIsNotFrozen) {
    auto m = created();
    std::string d = m->paths().at("freezer");
    FakeCgroupFs::write(d + "/freezer.state", "FROZEN\n");
    FakeCgroupFs::write(d + "/freezer.self_freezing", "0\n");
    EXPECT_FALSE(*m->frozen());
    FakeCgroupFs::write(d + "/freezer.self_freezing", "1\n");
    EXPECT_TRUE(*m->frozen());
}

TEST_F(V1Test, FreezerReportsMissingController) {
    Layout l = fs.layout();
    l.v1_mounts.erase("freezer");
    auto m = make_manager(l, {"/berth/c1", "c1"});
    ASSERT_TRUE(m);
    EXPECT_EQ((*m)->freeze().error().code, Errc::Unsupported);
}

TEST_F(V1Test, ApplyOnFreshCgroupOpensFewFiles) {
    // A typical docker run: memory+swap, cpu shares, pids, Docker's default devices.
    auto m = created();
    std::vector<std::string> dirs;
    for (const auto& [c, p] : m->paths()) dirs.push_back(p);
    WriteLog log(dirs);
    oci::Resources r = memory(256 << 20, 512 << 20);
    r.cpu = oci::CpuResources{};
    r.cpu->shares = 512;
    r.pids = oci::PidsResources{100};
    r.devices = {{false, "", std::nullopt, std::nullopt, "rwm"},
                 {true, "c", 1, 3, "rwm"},
                 {true, "c", 1, 5, "rwm"},
                 {true, "c", 136, std::nullopt, "rwm"}};
    ASSERT_TRUE(m->apply(r));
    // limit, memsw, shares, pids.max, devices.deny, devices.allow: no reads at all.
    EXPECT_EQ(log.opens(), 6);
}

TEST_F(HybridTest, HugetlbEnablesTheControllerUpTheUnifiedTree) {
    auto m = created("/berth/c1");
    std::string u = fs.layout().v2_mount;
    oci::Resources r;
    r.hugepage_limits = {{"2MB", 2 << 20}};
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(FakeCgroupFs::read(u + "/cgroup.subtree_control"), "+hugetlb");
    EXPECT_EQ(FakeCgroupFs::read(u + "/berth/cgroup.subtree_control"), "+hugetlb");
    EXPECT_EQ(FakeCgroupFs::read(u + "/berth/c1/cgroup.subtree_control"), "");
    EXPECT_EQ(FakeCgroupFs::read(u + "/berth/c1/hugetlb.2MB.max"), "2097152");
}

TEST_F(HybridTest, HugetlbFastPathWhenParentAlreadyEnablesIt) {
    std::string u = fs.layout().v2_mount;
    fs.make_existing(u + "/berth");
    FakeCgroupFs::write(u + "/berth/cgroup.subtree_control", "hugetlb\n");
    auto m = created("/berth/c1");
    WriteLog log({u, u + "/berth", u + "/berth/c1"});
    oci::Resources r;
    r.hugepage_limits = {{"2MB", 2 << 20}};
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(log.writes(), std::vector<std::string>{u + "/berth/c1/hugetlb.2MB.max"});
}

TEST_F(HybridTest, UnifiedKeysGoToTheUnifiedDirOnlyForUnifiedOnlyControllers) {
    auto m = created();
    oci::Resources r;
    r.unified = {{"hugetlb.2MB.max", "4194304"}};
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(FakeCgroupFs::read(m->paths().at("") + "/hugetlb.2MB.max"), "4194304");
    r.unified = {{"memory.high", "1000"}};
    auto bad = m->apply(r);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::Unsupported);
    EXPECT_NE(bad.error().msg.find("memory"), std::string::npos);
}

TEST_F(HybridTest, KillAllWithSigkillUsesCgroupKill) {
    auto m = created();
    ASSERT_TRUE(m->kill_all(SIGKILL));
    EXPECT_EQ(FakeCgroupFs::read(m->paths().at("") + "/cgroup.kill"), "1");
    EXPECT_EQ(FakeCgroupFs::read(m->paths().at("freezer") + "/freezer.state"), "THAWED\n");
}

}  // namespace
}  // namespace berth::cgroups
