// The runtime's decisions that need no kernel: signal names, ids, the state record, and how a
// spec's namespaces become clone/unshare flags.

#include <gtest/gtest.h>

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <regex>

#include "berth/common/fs.hpp"
#include "berth/oci/spec_json.hpp"
#include "berth/runtime/runtime.hpp"
#include "launch.hpp"
#include "state_store.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::runtime {
namespace {

TEST(ParseSignal, NamesNumbersAndRealtime) {
    EXPECT_EQ(parse_signal("KILL").value(), SIGKILL);
    EXPECT_EQ(parse_signal("SIGTERM").value(), SIGTERM);
    EXPECT_EQ(parse_signal("sigusr1").value(), SIGUSR1);
    EXPECT_EQ(parse_signal("9").value(), 9);
    EXPECT_EQ(parse_signal("SIGRTMIN+3").value(), SIGRTMIN + 3);
    EXPECT_EQ(parse_signal("RTMAX-1").value(), SIGRTMAX - 1);
    EXPECT_EQ(parse_signal("IOT").value(), SIGABRT);
    for (const char* bad : {"", "SIGFOO", "0", "65", "-1", "RTMIN+99", "RTMAX+1"}) {
        auto r = parse_signal(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    }
}

TEST(CheckId, AcceptsRuncsAlphabetOnly) {
    for (const char* ok : {"a", "c1", "my_container.1", "x+y-z", "ABC"}) EXPECT_TRUE(check_id(ok)) << ok;
    for (const char* bad : {"", ".", "..", "a/b", "../x", "a b", "a:b", "a\nb"}) EXPECT_FALSE(check_id(bad)) << bad;
}

class StateRecord : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-state-test-XXXXXX";
        root_ = ::mkdtemp(tmpl);
    }
    void TearDown() override { (void)remove_all(root_); }
    std::string root_;
};

TEST_F(StateRecord, RoundTripsAndMissingIsRuncsMessage) {
    ContainerRecord r;
    r.id = "c1";
    r.pid = ::getpid();
    r.pid_start_time = process_start_time(::getpid());
    r.bundle = "/b";
    r.rootfs = "/b/rootfs";
    r.created = now_rfc3339();
    r.owner = "root";
    r.annotations = {{"k", "v"}};
    r.cgroup_paths = {{"memory", "/sys/fs/cgroup/memory/c1"}};
    StateDir d = state_dir(root_, "c1");
    ASSERT_TRUE(mkdir_all(d.dir));
    ASSERT_TRUE(save_record(d, r));
    auto back = load_record(root_, "c1");
    ASSERT_TRUE(back) << back.error().what();
    EXPECT_EQ(back->pid, r.pid);
    EXPECT_EQ(back->annotations, r.annotations);
    EXPECT_EQ(back->cgroup_paths, r.cgroup_paths);
    EXPECT_TRUE(record_alive(*back));

    auto missing = load_record(root_, "nope");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::NotFound);
    EXPECT_EQ(missing.error().what(), "container does not exist");
    // An id that could name a path outside the root is simply not a container.
    EXPECT_FALSE(load_record(root_, "../etc"));
}

TEST_F(StateRecord, RecycledPidIsNotAlive) {
    ContainerRecord r;
    r.pid = ::getpid();
    r.pid_start_time = process_start_time(::getpid()) + 1;  // another process with this pid
    EXPECT_FALSE(record_alive(r));
    r.pid = 0;
    EXPECT_FALSE(record_alive(r));
}

TEST(Rfc3339, HasNanosecondsAndZ) {
    std::regex re(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z)");
    EXPECT_TRUE(std::regex_match(now_rfc3339(), re)) << now_rfc3339();
}

oci::Spec spec_with_namespaces(const std::string& ns_json) {
    std::string doc = R"({"ociVersion":"1.0.2","root":{"path":"/"},
        "process":{"args":["true"],"cwd":"/"},
        "linux":{"namespaces":)" + ns_json + "}}";
    auto s = oci::parse_spec(doc);
    EXPECT_TRUE(s) << s.error().what();
    return *s;
}

TEST(PrepareInit, FastPathClonesAllButCgroupAndTime) {
    auto spec = spec_with_namespaces(
        R"([{"type":"pid"},{"type":"mount"},{"type":"network"},{"type":"cgroup"},{"type":"time"}])");
    InitConfig c;
    c.process = &*spec.process;
    ASSERT_TRUE(prepare_init(c, spec));
    EXPECT_FALSE(c.double_fork);
    EXPECT_EQ(c.clone_flags, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET);
    // The cgroup namespace must be made after the cgroup is joined; clone(2) can't take NEWTIME.
    EXPECT_EQ(c.unshare_flags, CLONE_NEWCGROUP | CLONE_NEWTIME);
    EXPECT_TRUE(c.new_mount_ns);
    EXPECT_EQ(c.root_propagation_pre, static_cast<unsigned long>(MS_SLAVE | MS_REC));
    EXPECT_EQ(c.root_propagation_post, 0u);
}

TEST(PrepareInit, JoiningANamespaceTakesTheDoubleForkAndUserFirst) {
    auto spec = spec_with_namespaces(
        R"([{"type":"network","path":"/proc/self/ns/net"},{"type":"pid"},{"type":"user","path":"/proc/self/ns/user"}])");
    InitConfig c;
    c.process = &*spec.process;
    ASSERT_TRUE(prepare_init(c, spec));
    EXPECT_TRUE(c.double_fork);
    EXPECT_EQ(c.clone_flags, 0);
    EXPECT_EQ(c.unshare_flags, CLONE_NEWPID);
    ASSERT_EQ(c.joins.size(), 2u);
    EXPECT_EQ(c.joins[0].flag, CLONE_NEWUSER);
    EXPECT_EQ(c.joins[1].flag, CLONE_NEWNET);
    EXPECT_TRUE(c.joins[0].fd.valid());
}

TEST(PrepareInit, JoiningOnlyNetworkIpcOrUtsKeepsTheSingleClone) {
    auto spec = spec_with_namespaces(
        R"([{"type":"network","path":"/proc/self/ns/net"},{"type":"uts","path":"/proc/self/ns/uts"},{"type":"pid"},{"type":"mount"}])");
    InitConfig c;
    c.process = &*spec.process;
    ASSERT_TRUE(prepare_init(c, spec));
    EXPECT_FALSE(c.double_fork);
    EXPECT_EQ(c.clone_flags, CLONE_NEWPID | CLONE_NEWNS);
    EXPECT_EQ(c.unshare_flags, 0);
    ASSERT_EQ(c.joins.size(), 2u);  // joined by the child right after the clone
    EXPECT_EQ(c.joins[0].flag, CLONE_NEWNET);
    EXPECT_EQ(c.joins[1].flag, CLONE_NEWUTS);
}

TEST(PrepareInit, JoiningAPidNamespaceTakesTheDoubleFork) {
    auto spec = spec_with_namespaces(
        R"([{"type":"network","path":"/proc/self/ns/net"},{"type":"pid","path":"/proc/self/ns/pid"},{"type":"mount"}])");
    InitConfig c;
    c.process = &*spec.process;
    ASSERT_TRUE(prepare_init(c, spec));
    EXPECT_TRUE(c.double_fork);
    EXPECT_EQ(c.unshare_flags, CLONE_NEWNS);
}

TEST(PrepareInit, MissingNamespacePathNamesIt) {
    auto spec = spec_with_namespaces(R"([{"type":"network","path":"/nonexistent/ns"}])");
    InitConfig c;
    c.process = &*spec.process;
    auto r = prepare_init(c, spec);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what().find("/nonexistent/ns"), std::string::npos) << r.error().what();
}

TEST(ResourcesWithDevices, SpecRulesFirstThenRuncDefaults) {
    auto s = oci::parse_spec(R"({"ociVersion":"1.0.2","linux":{"resources":{"devices":[
        {"allow":false,"access":"rwm"}]}}})");
    ASSERT_TRUE(s);
    auto r = resources_with_devices(*s);
    ASSERT_GT(r.devices.size(), 2u);
    EXPECT_FALSE(r.devices[0].allow);  // the spec's deny-all comes first
    bool has_null = false;
    for (const auto& d : r.devices)
        has_null = has_null || (d.allow && d.type == "c" && d.major == 1 && d.minor == 3);
    EXPECT_TRUE(has_null) << "/dev/null is always allowed";
}

int count_null_allows(const oci::Resources& r) {
    int n = 0;
    for (const auto& d : r.devices)
        n += d.allow && d.type == "c" && d.major == 1 && d.minor == 3 && d.access == "rwm";
    return n;
}

TEST(ResourcesWithDevices, ADefaultTheSpecAlreadyAllowsIsNotRepeated) {
    // Docker's spec: deny all, then the same allow rules as the runtime's defaults.
    auto s = oci::parse_spec(R"({"ociVersion":"1.0.2","linux":{"resources":{"devices":[
        {"allow":false,"access":"rwm"},
        {"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"}]}}})");
    ASSERT_TRUE(s);
    auto r = resources_with_devices(*s);
    EXPECT_EQ(count_null_allows(r), 1);
    EXPECT_FALSE(r.devices[0].allow);
    EXPECT_TRUE(r.devices[1].allow);
}

TEST(ResourcesWithDevices, ADefaultDeniedLaterInTheSpecIsStillAppended) {
    // The spec allows /dev/null, then denies it again: the defaults (runc's order) allow it in
    // the end, so the appended rule matters and stays.
    auto s = oci::parse_spec(R"({"ociVersion":"1.0.2","linux":{"resources":{"devices":[
        {"allow":false,"access":"rwm"},
        {"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"},
        {"allow":false,"type":"c","major":1,"minor":3,"access":"rwm"}]}}})");
    ASSERT_TRUE(s);
    auto r = resources_with_devices(*s);
    EXPECT_EQ(count_null_allows(r), 2);
    bool last_null_rule_allows = false;
    for (const auto& d : r.devices)
        if (d.type == "c" && d.major == 1 && d.minor == 3) last_null_rule_allows = d.allow;
    EXPECT_TRUE(last_null_rule_allows);
}

}  // namespace
}  // namespace berth::runtime
