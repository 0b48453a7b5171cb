// Cgroups (v1 controllers on this host): the container lands in its cgroupsPath, limits are
// written and enforced (a memory hog is OOM-killed, a fork bomb stops at pids.max, a CPU quota
// throttles), update changes them, events reports stats, and delete removes the cgroups.

#include <signal.h>
#include <unistd.h>

#include <thread>

#include "runtime_fixture.hpp"

namespace berth::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class CgroupTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        auto mounts = cgroup_mounts();
        for (const char* c : {"memory", "pids", "cpu", "freezer", "devices"}) {
            if (!mounts.count(c)) GTEST_SKIP() << "needs the cgroup v1 " << c << " controller";
        }
    }
    /// Reads a cgroup file of container `id`, trimmed.
    std::string cg_read(const std::string& id, const std::string& controller,
                        const std::string& file) {
        auto t = read_text(cgroup_dir(controller, cgroup_of(id)) + "/" + file);
        std::string s = t.value_or("<unreadable>");
        while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
        return s;
    }
};

constexpr long long kMiB = 1024 * 1024;

TEST_F(CgroupTest, ContainerIsInItsCgroupsPath) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    pid_t pid = pid_of(id);
    for (const char* c : {"memory", "pids", "cpu", "freezer", "devices", "blkio", "cpuset"}) {
        std::string dir = cgroup_dir(c, cgroup_of(id));
        if (dir.empty()) continue;
        auto procs = read_text(dir + "/cgroup.procs");
        ASSERT_TRUE(procs.has_value()) << "no cgroup " << dir;
        auto lines = split_lines(*procs);
        EXPECT_NE(std::find(lines.begin(), lines.end(), std::to_string(pid)), lines.end())
            << c << ": " << *procs;
    }
    auto self = read_text("/proc/" + std::to_string(pid) + "/cgroup").value_or("");
    EXPECT_TRUE(contains(self, ":memory:" + cgroup_of(id) + "\n")) << self;
    EXPECT_TRUE(contains(self, ":pids:" + cgroup_of(id) + "\n")) << self;
}

TEST_F(CgroupTest, DeleteRemovesTheCgroups) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    ASSERT_FALSE(existing_cgroup_dirs(cgroup_of(id)).empty());
    ASSERT_TRUE(rt({"delete", "--force", id}).ok());
    auto left = existing_cgroup_dirs(cgroup_of(id));
    EXPECT_TRUE(left.empty()) << left.front();
}

TEST_F(CgroupTest, NestedCgroupsPath) {
    auto id = new_id();
    std::string nested = cgroup_of(id) + "/inner/leaf";
    set_probe_args({"sleep", "60"});
    json s = spec_;
    s["linux"]["cgroupsPath"] = nested;
    write_spec(s, bundle_);
    ASSERT_TRUE(rt({"run", "-d", "--bundle", bundle_, id}).ok());
    auto self = read_text("/proc/" + std::to_string(pid_of(id)) + "/cgroup").value_or("");
    EXPECT_TRUE(contains(self, ":pids:" + nested + "\n")) << self;
    ASSERT_TRUE(rt({"delete", "--force", id}).ok());
    EXPECT_TRUE(existing_cgroup_dirs(nested).empty());
}

TEST_F(CgroupTest, MemoryLimitIsWritten) {
    spec_["linux"]["resources"]["memory"] = {
        {"limit", 64 * kMiB}, {"swap", 96 * kMiB}, {"reservation", 32 * kMiB}};
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    EXPECT_EQ(cg_read(id, "memory", "memory.limit_in_bytes"), std::to_string(64 * kMiB));
    EXPECT_EQ(cg_read(id, "memory", "memory.soft_limit_in_bytes"), std::to_string(32 * kMiB));
    if (exists(cgroup_dir("memory", cgroup_of(id)) + "/memory.memsw.limit_in_bytes")) {
        EXPECT_EQ(cg_read(id, "memory", "memory.memsw.limit_in_bytes"), std::to_string(96 * kMiB));
    }
}

TEST_F(CgroupTest, MemoryHogIsOomKilled) {
    spec_["linux"]["resources"]["memory"] = {{"limit", 32 * kMiB}, {"swap", 32 * kMiB}};
    auto id = new_id();
    auto r = run_container(id, {"alloc", "100"});
    EXPECT_EQ(r.status, 137) << "want SIGKILL from the OOM killer\n" << r.describe();
    EXPECT_FALSE(contains(r.out, "allocated=")) << r.out;
}

TEST_F(CgroupTest, OomKillIsCountedInTheContainersCgroup) {
    spec_["linux"]["resources"]["memory"] = {{"limit", 32 * kMiB}, {"swap", 32 * kMiB}};
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"alloc", "100"}).ok());
    ASSERT_TRUE(wait_status(id, "stopped", 20s));
    auto text = cg_read(id, "memory", "memory.oom_control");
    long kills = -1;
    for (const auto& line : split_lines(text))
        if (line.rfind("oom_kill ", 0) == 0) kills = atol(line.c_str() + 9);
    EXPECT_GE(kills, 1) << text;
    EXPECT_FALSE(contains(container_output(id), "allocated=")) << container_output(id);
}

TEST_F(CgroupTest, AllocationBelowTheLimitSucceeds) {
    spec_["linux"]["resources"]["memory"] = {{"limit", 64 * kMiB}, {"swap", 64 * kMiB}};
    auto r = run_probe({"alloc", "16"});
    EXPECT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(parse_kv(r.out)["allocated"], "16");
}

TEST_F(CgroupTest, ForkBombStopsAtPidsMax) {
    spec_["linux"]["resources"]["pids"] = {{"limit", 20}};
    auto id = new_id();
    auto r = run_container(id, {"fork-bomb", "200"});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto kv = parse_kv(r.out);
    long forked = atol(kv["forked"].c_str());
    EXPECT_LT(forked, 20) << r.out;
    EXPECT_GT(forked, 5) << r.out;
    EXPECT_EQ(kv["errno"], "EAGAIN") << r.out;
}

TEST_F(CgroupTest, PidsLimitIsWritten) {
    spec_["linux"]["resources"]["pids"] = {{"limit", 42}};
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    EXPECT_EQ(cg_read(id, "pids", "pids.max"), "42");
}

TEST_F(CgroupTest, CpuSharesAndQuotaAreWritten) {
    spec_["linux"]["resources"]["cpu"] = {{"shares", 512}, {"quota", 20000}, {"period", 100000}};
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    EXPECT_EQ(cg_read(id, "cpu", "cpu.shares"), "512");
    EXPECT_EQ(cg_read(id, "cpu", "cpu.cfs_quota_us"), "20000");
    EXPECT_EQ(cg_read(id, "cpu", "cpu.cfs_period_us"), "100000");
}

TEST_F(CgroupTest, CpuQuotaThrottles) {
    // 5 ms per 100 ms: 300 ms of CPU time needs many periods, each ending throttled.
    spec_["linux"]["resources"]["cpu"] = {{"quota", 5000}, {"period", 100000}};
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"seq", "burn", "300", "--", "sleep", "60"}).ok());
    ASSERT_TRUE(wait_output(id, "burned=300", 60s)) << container_output(id);
    long throttled = -1;
    for (const auto& line : split_lines(cg_read(id, "cpu", "cpu.stat")))
        if (line.rfind("nr_throttled ", 0) == 0) throttled = atol(line.c_str() + 13);
    EXPECT_GT(throttled, 10) << cg_read(id, "cpu", "cpu.stat");
}

TEST_F(CgroupTest, Cpuset) {
    spec_["linux"]["resources"]["cpu"] = {{"cpus", "0"}, {"mems", "0"}};
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    EXPECT_EQ(cg_read(id, "cpuset", "cpuset.cpus"), "0");
    auto status = read_text("/proc/" + std::to_string(pid_of(id)) + "/status").value_or("");
    EXPECT_TRUE(contains(status, "Cpus_allowed_list:\t0\n")) << status;
}

TEST_F(CgroupTest, DeviceRulesAreWritten) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    auto list = cg_read(id, "devices", "devices.list");
    EXPECT_FALSE(contains(list, "a *:* rwm")) << list;
    EXPECT_TRUE(contains(list, "c 1:3 rwm")) << list;  // /dev/null
    EXPECT_TRUE(contains(list, "c 1:5 rwm")) << list;  // /dev/zero
}

TEST_F(CgroupTest, PauseFreezesTheCgroup) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    ASSERT_TRUE(rt({"pause", id}).ok());
    EXPECT_EQ(cg_read(id, "freezer", "freezer.state"), "FROZEN");
    ASSERT_TRUE(rt({"resume", id}).ok());
    EXPECT_EQ(cg_read(id, "freezer", "freezer.state"), "THAWED");
}

TEST_F(CgroupTest, UpdateChangesLimitsOfARunningContainer) {
    spec_["linux"]["resources"]["memory"] = {{"limit", 64 * kMiB}};
    spec_["linux"]["resources"]["pids"] = {{"limit", 100}};
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    auto u = rt({"update", "--memory", std::to_string(48 * kMiB), "--pids-limit", "10",
                 "--cpu-share", "256", id});
    ASSERT_TRUE(u.ok()) << u.describe();
    EXPECT_EQ(cg_read(id, "memory", "memory.limit_in_bytes"), std::to_string(48 * kMiB));
    EXPECT_EQ(cg_read(id, "pids", "pids.max"), "10");
    EXPECT_EQ(cg_read(id, "cpu", "cpu.shares"), "256");
    // And the new pids limit is enforced.
    auto e = rt({"exec", id, "/probe", "fork-bomb", "100"});
    ASSERT_TRUE(e.ok()) << e.describe();
    EXPECT_LT(atol(parse_kv(e.out)["forked"].c_str()), 10) << e.out;
}

TEST_F(CgroupTest, UpdateFromAResourcesFile) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    json res = {{"memory", {{"limit", 40 * kMiB}}}, {"pids", {{"limit", 33}}}};
    std::string path = tmp_ + "/resources.json";
    ASSERT_TRUE(write_text(path, res.dump()));
    auto u = rt({"update", "--resources", path, id});
    ASSERT_TRUE(u.ok()) << u.describe();
    EXPECT_EQ(cg_read(id, "memory", "memory.limit_in_bytes"), std::to_string(40 * kMiB));
    EXPECT_EQ(cg_read(id, "pids", "pids.max"), "33");

    // "-" reads the resources from stdin.
    json res2 = {{"pids", {{"limit", 44}}}};
    RunOptions o;
    o.stdin_data = res2.dump();
    auto u2 = rt({"update", "-r", "-", id}, o);
    ASSERT_TRUE(u2.ok()) << u2.describe();
    EXPECT_EQ(cg_read(id, "pids", "pids.max"), "44");
}

TEST_F(CgroupTest, EventsStats) {
    spec_["linux"]["resources"]["memory"] = {{"limit", 64 * kMiB}};
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    auto r = rt({"events", "--stats", id});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto ev = json::parse(r.out, nullptr, false);
    ASSERT_TRUE(ev.is_object()) << r.out;
    EXPECT_EQ(ev.value("type", ""), "stats");
    EXPECT_EQ(ev.value("id", ""), id);
    ASSERT_TRUE(ev["data"].is_object()) << r.out;
    const auto& d = ev["data"];
    EXPECT_GE(d["pids"].value("current", 0), 1) << r.out;
    EXPECT_GT(d["memory"]["usage"].value("usage", 0LL), 0) << r.out;
    EXPECT_EQ(d["memory"]["usage"].value("limit", 0LL), 64 * kMiB) << r.out;
    EXPECT_TRUE(d["cpu"]["usage"].contains("total")) << r.out;
}

TEST_F(CgroupTest, EventsStreamsStats) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    std::string out = tmp_ + "/events.out";
    RunOptions o;
    o.stdout_path = out;
    o.env.push_back("BERTH_TEST_TAG=" + tag_);
    auto bp = BackgroundProcess::start(
        {runtime_path(), "--root", state_root_, "events", "--interval", "1s", id}, o);
    ASSERT_TRUE(
        wait_until([&] { return split_lines(read_text(out).value_or("")).size() >= 2; }, 10s))
        << read_text(out).value_or("");
    for (const auto& line : split_lines(read_text(out).value_or(""))) {
        auto ev = json::parse(line, nullptr, false);
        ASSERT_TRUE(ev.is_object()) << line;
        EXPECT_EQ(ev.value("type", ""), "stats") << line;
        EXPECT_EQ(ev.value("id", ""), id) << line;
    }
    bp.signal(SIGKILL);
    bp.wait(5s);
}

TEST_F(CgroupTest, OomEventIsReported) {
    spec_["linux"]["resources"]["memory"] = {{"limit", 32 * kMiB}, {"swap", 32 * kMiB}};
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    std::string out = tmp_ + "/events.out";
    RunOptions o;
    o.stdout_path = out;
    o.env.push_back("BERTH_TEST_TAG=" + tag_);
    auto bp = BackgroundProcess::start(
        {runtime_path(), "--root", state_root_, "events", "--interval", "60s", id}, o);
    std::this_thread::sleep_for(500ms);  // let it subscribe to OOM notifications
    auto e = rt({"exec", id, "/probe", "alloc", "100"});
    EXPECT_EQ(e.status, 137) << e.describe();
    EXPECT_TRUE(wait_until([&] { return contains(read_text(out).value_or(""), "\"oom\""); }, 10s))
        << read_text(out).value_or("");
    bp.signal(SIGKILL);
    bp.wait(5s);
}

}  // namespace
}  // namespace berth::test
