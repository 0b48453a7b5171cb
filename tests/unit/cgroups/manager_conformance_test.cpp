// One suite, every Manager: v1, hybrid (v1 + unified directory) and v2, over a fake cgroup
// filesystem (CONVENTIONS.md: interfaces get typed conformance suites).

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "berth/cgroups/device_filter.hpp"
#include "berth/cgroups/manager.hpp"
#include "bpf_interp.hpp"
#include "fake_cgroupfs.hpp"

namespace berth::cgroups {
namespace {

using testing::FakeCgroupFs;
using testing::FakeMode;
using testing::FreezerEmulator;

struct V1Kind {
    static constexpr FakeMode kMode = FakeMode::V1;
};
struct HybridKind {
    static constexpr FakeMode kMode = FakeMode::Hybrid;
};
struct V2Kind {
    static constexpr FakeMode kMode = FakeMode::V2;
};

template <class K>
class ManagerConformance : public ::testing::Test {
protected:
    FakeCgroupFs fs{K::kMode, "/runtime"};

    static bool v2() { return K::kMode == FakeMode::V2; }

    std::unique_ptr<Manager> make(const std::string& path = "/berth/c1") {
        auto m = make_manager(fs.layout(), {path, "c1"});
        EXPECT_TRUE(m) << m.error().what();
        return m ? std::move(*m) : nullptr;
    }
    std::unique_ptr<Manager> created(const std::string& path = "/berth/c1") {
        auto m = make(path);
        auto r = m->create();
        EXPECT_TRUE(r) << r.error().what();
        return m;
    }
    // The directory holding `v1_ctrl`'s files (the one v2 directory on v2).
    static std::string dir_of(const Manager& m, const std::string& v1_ctrl) {
        auto p = m.paths();
        return v2() ? p.at("") : p.at(v1_ctrl);
    }
    static std::string knob(const Manager& m, const std::string& v1_ctrl,
                            const std::string& v1_file, const std::string& v2_file) {
        return FakeCgroupFs::read(dir_of(m, v1_ctrl) + "/" + (v2() ? v2_file : v1_file));
    }
    static std::vector<std::string> unique_dirs(const Manager& m) {
        std::vector<std::string> out;
        for (const auto& [c, p] : m.paths())
            if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
        return out;
    }
};

using Kinds = ::testing::Types<V1Kind, HybridKind, V2Kind>;
class KindNames {
public:
    template <class T>
    static std::string GetName(int) {
        if (std::is_same_v<T, V1Kind>) return "V1";
        if (std::is_same_v<T, HybridKind>) return "Hybrid";
        return "V2";
    }
};
TYPED_TEST_SUITE(ManagerConformance, Kinds, KindNames);

TYPED_TEST(ManagerConformance, NothingExistsBeforeCreate) {
    auto m = this->make();
    for (const auto& [c, p] : m->paths()) EXPECT_FALSE(FakeCgroupFs::exists(p)) << p;
}

TYPED_TEST(ManagerConformance, CreateMakesEveryDirectoryAndIsIdempotent) {
    auto m = this->created();
    auto paths = m->paths();
    EXPECT_EQ(paths.count(""), this->v2() || TypeParam::kMode == FakeMode::Hybrid ? 1u : 0u);
    for (const auto& [c, p] : paths) {
        EXPECT_TRUE(FakeCgroupFs::exists(p + "/cgroup.procs")) << p;
        EXPECT_EQ(p.substr(p.size() - 9), "/berth/c1") << p;
    }
    auto again = m->create();
    EXPECT_TRUE(again) << again.error().what();
}

TYPED_TEST(ManagerConformance, RelativePathJoinsTheRuntimesOwnCgroup) {
    auto m = this->make("c1");
    for (const auto& [c, p] : m->paths()) {
        std::string mount =
            c.empty() ? this->fs.layout().v2_mount : this->fs.layout().v1_mounts.at(c);
        EXPECT_EQ(p, mount + "/runtime/c1");
    }
    auto abs = this->make("/c1");
    for (const auto& [c, p] : abs->paths()) {
        std::string mount =
            c.empty() ? this->fs.layout().v2_mount : this->fs.layout().v1_mounts.at(c);
        EXPECT_EQ(p, mount + "/c1");
    }
}

TYPED_TEST(ManagerConformance, EmptyResourcesWriteNothing) {
    auto m = this->created();
    this->fs.reset_mtimes();
    oci::Resources r;
    r.memory = oci::MemoryResources{};
    r.cpu = oci::CpuResources{};
    r.block_io = oci::BlockIoResources{};
    r.network = oci::NetworkResources{};
    ASSERT_TRUE(m->apply(r));
    ASSERT_TRUE(m->update(oci::Resources{}));
    EXPECT_EQ(this->fs.touched(), std::vector<std::string>{});
}

TYPED_TEST(ManagerConformance, MemoryLimit) {
    auto m = this->created();
    oci::Resources r;
    r.memory = oci::MemoryResources{};
    r.memory->limit = 100 << 20;
    auto res = m->apply(r);
    ASSERT_TRUE(res) << res.error().what();
    EXPECT_EQ(this->knob(*m, "memory", "memory.limit_in_bytes", "memory.max"), "104857600");
}

TYPED_TEST(ManagerConformance, MemoryLimitAndSwapAndReservation) {
    auto m = this->created();
    oci::Resources r;
    r.memory = oci::MemoryResources{};
    r.memory->limit = 100 << 20;
    r.memory->swap = 300 << 20;
    r.memory->reservation = 50 << 20;
    auto res = m->apply(r);
    ASSERT_TRUE(res) << res.error().what();
    // The spec's swap is memory+swap: v2 gets the difference.
    EXPECT_EQ(this->knob(*m, "memory", "memory.memsw.limit_in_bytes", "memory.swap.max"),
              this->v2() ? "209715200" : "314572800");
    EXPECT_EQ(this->knob(*m, "memory", "memory.soft_limit_in_bytes", "memory.low"), "52428800");
}

TYPED_TEST(ManagerConformance, SwapWithoutSwapAccountingIsUnsupportedAndNamesTheField) {
    this->fs.missing = {"memory.memsw.limit_in_bytes", "memory.swap.max"};
    auto m = this->created();
    oci::Resources r;
    r.memory = oci::MemoryResources{};
    r.memory->limit = 100 << 20;
    r.memory->swap = 200 << 20;
    auto res = m->apply(r);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, Errc::Unsupported);
    EXPECT_NE(res.error().what().find("resources.memory.swap"), std::string::npos)
        << res.error().what();

    // "Unlimited" needs nothing from swap accounting.
    r.memory->limit = -1;
    r.memory->swap = -1;
    auto ok = m->update(r);
    EXPECT_TRUE(ok) << ok.error().what();
}

TYPED_TEST(ManagerConformance, Pids) {
    auto m = this->created();
    oci::Resources r;
    r.pids = oci::PidsResources{42};
    ASSERT_TRUE(m->apply(r));
    EXPECT_EQ(this->knob(*m, "pids", "pids.max", "pids.max"), "42");
    r.pids->limit = 0;
    ASSERT_TRUE(m->update(r));
    EXPECT_EQ(this->knob(*m, "pids", "pids.max", "pids.max"), "max");
    r.pids->limit = -1;
    ASSERT_TRUE(m->update(r));
    EXPECT_EQ(this->knob(*m, "pids", "pids.max", "pids.max"), "max");
}

TYPED_TEST(ManagerConformance, CpuSharesQuotaPeriodAndCpuset) {
    auto m = this->created();
    oci::Resources r;
    r.cpu = oci::CpuResources{};
    r.cpu->shares = 1024;
    r.cpu->quota = 50000;
    r.cpu->period = 100000;
    r.cpu->cpus = "1";
    r.cpu->mems = "0";
    auto res = m->apply(r);
    ASSERT_TRUE(res) << res.error().what();
    if (this->v2()) {
        EXPECT_EQ(this->knob(*m, "cpu", "", "cpu.weight"), "39");
        EXPECT_EQ(this->knob(*m, "cpu", "", "cpu.max"), "50000 100000");
    } else {
        EXPECT_EQ(this->knob(*m, "cpu", "cpu.shares", ""), "1024");
        EXPECT_EQ(this->knob(*m, "cpu", "cpu.cfs_quota_us", ""), "50000");
        EXPECT_EQ(this->knob(*m, "cpu", "cpu.cfs_period_us", ""), "100000");
    }
    EXPECT_EQ(this->knob(*m, "cpuset", "cpuset.cpus", "cpuset.cpus"), "1");
    EXPECT_EQ(this->knob(*m, "cpuset", "cpuset.mems", "cpuset.mems"), "0");
}

TYPED_TEST(ManagerConformance, HugepageLimit) {
    auto m = this->created();
    oci::Resources r;
    r.hugepage_limits = {{"2MB", 4 << 20}};
    auto res = m->apply(r);
    ASSERT_TRUE(res) << res.error().what();
    if (TypeParam::kMode == FakeMode::V1) {
        EXPECT_EQ(FakeCgroupFs::read(m->paths().at("hugetlb") + "/hugetlb.2MB.limit_in_bytes"),
                  "4194304");
    } else {
        // Hybrid: hugetlb exists only in the unified tree, so it is driven there.
        EXPECT_EQ(FakeCgroupFs::read(m->paths().at("") + "/hugetlb.2MB.max"), "4194304");
    }
    r.hugepage_limits = {{"3MB", 1}};
    auto bad = m->update(r);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::Unsupported);
    EXPECT_NE(bad.error().msg.find("hugepageLimits[0]"), std::string::npos);
}

TYPED_TEST(ManagerConformance, DevicesDenyEverythingButTheListedOnes) {
    auto m = this->created();
    oci::Resources r;
    r.devices = {{false, "a", std::nullopt, std::nullopt, "rwm"},
                 {true, "c", 1, 3, "rwm"},
                 {true, "c", 136, std::nullopt, "rw"}};
    auto res = m->apply(r);
    ASSERT_TRUE(res) << res.error().what();
    if (this->v2()) {
        const auto& prog = this->fs.programs_.at(m->paths().at(""));
        EXPECT_EQ(testing::run_device_program(prog, kDevChar, kDevAccRead | kDevAccWrite, 1, 3), 1);
        EXPECT_EQ(testing::run_device_program(prog, kDevChar, kDevAccRead, 136, 7), 1);
        EXPECT_EQ(testing::run_device_program(prog, kDevChar, kDevAccMknod, 136, 7), 0);
        EXPECT_EQ(testing::run_device_program(prog, kDevBlock, kDevAccRead, 8, 0), 0);
    } else {
        std::string d = m->paths().at("devices");
        EXPECT_EQ(FakeCgroupFs::read(d + "/devices.deny"), "a\n");
        EXPECT_EQ(FakeCgroupFs::read(d + "/devices.allow"), "c 1:3 rwm\nc 136:* rw\n");
    }
}

TYPED_TEST(ManagerConformance, UnifiedKeysWithSlashesAreRejected) {
    auto m = this->created();
    oci::Resources r;
    r.unified = {{"../../memory.max", "1"}};
    auto res = m->apply(r);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, Errc::InvalidArgument);
}

TYPED_TEST(ManagerConformance, AddProcessJoinsEveryHierarchy) {
    auto m = this->created();
    ASSERT_TRUE(m->add_process(4242));
    for (const auto& d : this->unique_dirs(*m))
        EXPECT_EQ(FakeCgroupFs::read(d + "/cgroup.procs"), "4242") << d;
    if (!this->v2()) {
        // A task can only join a cpuset that has cpus and mems.
        EXPECT_EQ(FakeCgroupFs::read(m->paths().at("cpuset") + "/cpuset.cpus"), "0-1");
        EXPECT_EQ(FakeCgroupFs::read(m->paths().at("cpuset") + "/cpuset.mems"), "0");
    }
}

TYPED_TEST(ManagerConformance, FreezeAndThaw) {
    auto m = this->created();
    std::optional<FreezerEmulator> emu;
    if (this->v2()) emu.emplace(m->paths().at(""));
    auto f = m->freeze();
    ASSERT_TRUE(f) << f.error().what();
    auto st = m->frozen();
    ASSERT_TRUE(st) << st.error().what();
    EXPECT_TRUE(*st);
    ASSERT_TRUE(m->thaw());
    EXPECT_FALSE(*m->frozen());
}

TYPED_TEST(ManagerConformance, PidsIncludesChildCgroups) {
    auto m = this->created();
    std::string d = this->dir_of(*m, "pids");
    FakeCgroupFs::write(d + "/cgroup.procs", "10\n11\n");
    this->fs.make_existing(d + "/sub");
    FakeCgroupFs::write(d + "/sub/cgroup.procs", "12\n");
    auto pids = m->pids();
    ASSERT_TRUE(pids) << pids.error().what();
    std::sort(pids->begin(), pids->end());
    EXPECT_EQ(*pids, (std::vector<pid_t>{10, 11, 12}));
}

TYPED_TEST(ManagerConformance, KillAllSignalsEveryPid) {
    auto m = this->created();
    std::optional<FreezerEmulator> emu;
    if (this->v2()) emu.emplace(m->paths().at(""));
    // Signal 0 to ourselves: harmless, and fails if the pid list or the kill loop is wrong.
    FakeCgroupFs::write(this->dir_of(*m, "pids") + "/cgroup.procs",
                        std::to_string(::getpid()) + "\n");
    auto r = m->kill_all(0);
    EXPECT_TRUE(r) << r.error().what();
    EXPECT_FALSE(*m->frozen());
}

TYPED_TEST(ManagerConformance, StatsReadTheFiles) {
    auto m = this->created();
    std::string md = this->dir_of(*m, "memory");
    FakeCgroupFs::write(md + (this->v2() ? "/memory.current" : "/memory.usage_in_bytes"),
                        "123456\n");
    FakeCgroupFs::write(this->dir_of(*m, "pids") + "/pids.current", "3\n");
    FakeCgroupFs::write(this->dir_of(*m, "pids") + "/pids.max", "100\n");
    auto s = m->stats();
    ASSERT_TRUE(s) << s.error().what();
    EXPECT_EQ(s->memory.usage, 123456u);
    EXPECT_EQ(s->pids.current, 3u);
    EXPECT_EQ(s->pids.limit, 100u);
    EXPECT_EQ(s->hugetlb.count("2MB"), 1u);
}

TYPED_TEST(ManagerConformance, DestroyRemovesChildrenFirstAndIsIdempotent) {
    auto m = this->created();
    this->fs.make_existing(this->dir_of(*m, "memory") + "/nested/deeper");
    auto r = m->destroy();
    ASSERT_TRUE(r) << r.error().what();
    for (const auto& [c, p] : m->paths()) EXPECT_FALSE(FakeCgroupFs::exists(p)) << p;
    auto again = m->destroy();
    EXPECT_TRUE(again) << again.error().what();
}

TYPED_TEST(ManagerConformance, WriteErrorsNameTheFileAndTheValue) {
    auto m = this->created();
    std::string file =
        this->dir_of(*m, "memory") + (this->v2() ? "/memory.max" : "/memory.limit_in_bytes");
    ::unlink(file.c_str());
    ::mkdir(file.c_str(), 0755);  // open(O_WRONLY) of a directory fails with EISDIR
    oci::Resources r;
    r.memory = oci::MemoryResources{};
    r.memory->limit = 100 << 20;
    auto res = m->apply(r);
    ASSERT_FALSE(res);
    EXPECT_NE(res.error().what().find("write 104857600 to " + file + ": is a directory"),
              std::string::npos)
        << res.error().what();
    ::rmdir(file.c_str());
}

TYPED_TEST(ManagerConformance, LoadManagerDrivesTheSameCgroup) {
    auto m = this->created();
    auto again = load_manager(this->fs.layout(), m->paths());
    ASSERT_TRUE(again) << again.error().what();
    EXPECT_EQ((*again)->is_v2(), this->v2());
    oci::Resources r;
    r.pids = oci::PidsResources{7};
    ASSERT_TRUE((*again)->update(r));
    EXPECT_EQ(this->knob(*m, "pids", "pids.max", "pids.max"), "7");
}

}  // namespace
}  // namespace berth::cgroups
