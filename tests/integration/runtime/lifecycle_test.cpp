// Container lifecycle through the runtime CLI: create, start, state, kill, delete, run, list, ps,
// pause/resume, and runc's error messages for wrong ids and states.

#include <signal.h>
#include <unistd.h>

#include <thread>

#include "runtime_fixture.hpp"

namespace berth::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class LifecycleTest : public RuntimeTest {};

TEST_F(LifecycleTest, RunPassesTheExitCodeThrough) {
    auto r = run_probe({"exit", "42"});
    EXPECT_EQ(r.status, 42) << r.describe();
}

TEST_F(LifecycleTest, RunForwardsOutputAndStartsPidOneInAPidNamespace) {
    auto r = run_probe({"pid"});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto kv = parse_kv(r.out);
    EXPECT_EQ(kv["pid"], "1") << r.out;
    EXPECT_EQ(kv["ppid"], "0") << r.out;
}

TEST_F(LifecycleTest, RunRemovesTheContainerAfterItExits) {
    auto id = new_id();
    auto r = run_container(id, {"exit", "0"});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto s = rt({"state", id});
    EXPECT_EQ(s.status, 1) << s.describe();
    expect_nothing_left(id);
}

TEST_F(LifecycleTest, CreateStartKillDelete) {
    auto id = new_id();
    spec_["annotations"] = {{"org.berth.test", "lifecycle"}};
    auto c = create_container(id, {"wait-signal", "60"});
    ASSERT_TRUE(c.ok()) << c.describe();

    auto st = state(id);
    ASSERT_TRUE(st.is_object());
    EXPECT_EQ(st.value("status", ""), "created");
    EXPECT_EQ(st.value("id", ""), id);
    pid_t pid = st.value("pid", 0);
    EXPECT_GT(pid, 0);
    EXPECT_TRUE(process_alive(pid));
    // The user process must not run before start.
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(container_output(id), "");

    auto s = rt({"start", id});
    ASSERT_TRUE(s.ok()) << s.describe();
    EXPECT_TRUE(wait_output(id, "ready=1")) << container_output(id);
    EXPECT_EQ(status_of(id), "running");
    EXPECT_EQ(pid_of(id), pid) << "start must not change the init pid";

    auto k = rt({"kill", id, "KILL"});
    ASSERT_TRUE(k.ok()) << k.describe();
    EXPECT_TRUE(wait_status(id, "stopped")) << state(id).dump();

    auto d = rt({"delete", id});
    ASSERT_TRUE(d.ok()) << d.describe();
    auto after = rt({"state", id});
    EXPECT_EQ(after.status, 1) << after.describe();
    EXPECT_TRUE(contains(after.err, "container does not exist")) << after.describe();
    expect_nothing_left(id);
}

TEST_F(LifecycleTest, StateHasRuncFields) {
    auto id = new_id();
    spec_["annotations"] = {{"org.berth.a", "1"}, {"org.berth.b", "two"}};
    ASSERT_TRUE(create_container(id, {"sleep", "60"}).ok());
    auto r = rt({"state", id});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto st = json::parse(r.out, nullptr, false);
    ASSERT_FALSE(st.is_discarded()) << r.out;
    for (const char* key :
         {"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"}) {
        EXPECT_TRUE(st.contains(key)) << "missing " << key << " in " << r.out;
    }
    EXPECT_TRUE(st["ociVersion"].is_string());
    EXPECT_TRUE(st["pid"].is_number_integer());
    EXPECT_EQ(st["bundle"], bundle_);
    EXPECT_EQ(st["rootfs"], rootfs_);
    EXPECT_TRUE(st["owner"].is_string());
    // RFC 3339 with a UTC "Z" or an offset, e.g. 2024-05-01T10:00:00.123456789Z
    std::string created = st.value("created", "");
    EXPECT_GE(created.size(), 20u) << created;
    EXPECT_EQ(created.substr(4, 1), "-") << created;
    EXPECT_EQ(created.substr(10, 1), "T") << created;
    json want = {{"org.berth.a", "1"}, {"org.berth.b", "two"}};
    EXPECT_EQ(st["annotations"], want) << r.out;
}

TEST_F(LifecycleTest, StateOfAStoppedContainer) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"exit", "3"}).ok());
    ASSERT_TRUE(wait_status(id, "stopped")) << state(id).dump();
    auto st = state(id);
    EXPECT_EQ(st.value("id", ""), id);
    auto d = rt({"delete", id});
    EXPECT_TRUE(d.ok()) << d.describe();
    expect_nothing_left(id);
}

TEST_F(LifecycleTest, UnknownIdGetsRuncMessage) {
    const std::string id = "bt-no-such-container";
    for (std::vector<std::string> cmd : {std::vector<std::string>{"state", id},
                                         {"start", id},
                                         {"kill", id, "KILL"},
                                         {"delete", id},
                                         {"pause", id},
                                         {"resume", id},
                                         {"ps", id},
                                         {"events", "--stats", id},
                                         {"update", "--pids-limit", "5", id}}) {
        auto r = rt(cmd);
        EXPECT_EQ(r.status, 1) << r.describe();
        EXPECT_TRUE(contains(r.err, "container does not exist")) << r.describe();
    }
    // exec reports the same message (runc 1.1 exits 255 for exec failures, so only != 0).
    auto e = rt({"exec", id, "/probe", "exit", "0"});
    EXPECT_NE(e.status, 0) << e.describe();
    EXPECT_TRUE(contains(e.err, "container does not exist")) << e.describe();
}

TEST_F(LifecycleTest, DeleteForceOfUnknownIdSucceeds) {
    auto r = rt({"delete", "--force", "bt-no-such-container"});
    EXPECT_EQ(r.status, 0) << r.describe();
}

TEST_F(LifecycleTest, DuplicateIdIsRefusedAndTheFirstContainerStays) {
    auto id = new_id();
    ASSERT_TRUE(create_container(id, {"sleep", "60"}).ok());
    pid_t pid = pid_of(id);
    auto r = create_container(id, {"sleep", "60"});
    EXPECT_EQ(r.status, 1) << r.describe();
    // runc 1.1: "container with given ID already exists".
    EXPECT_TRUE(contains(r.err, "already exists")) << r.describe();
    EXPECT_EQ(status_of(id), "created");
    EXPECT_EQ(pid_of(id), pid);
    EXPECT_TRUE(process_alive(pid));
}

TEST_F(LifecycleTest, StartOfARunningContainerFails) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    auto r = rt({"start", id});
    EXPECT_EQ(r.status, 1) << r.describe();
    EXPECT_TRUE(contains(r.err, "cannot start an already running container")) << r.describe();
}

TEST_F(LifecycleTest, StartOfAStoppedContainerFails) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"exit", "0"}).ok());
    ASSERT_TRUE(wait_status(id, "stopped"));
    auto r = rt({"start", id});
    EXPECT_EQ(r.status, 1) << r.describe();
    EXPECT_TRUE(contains(r.err, "cannot start a container that has stopped")) << r.describe();
}

TEST_F(LifecycleTest, StartOfAPausedContainerFails) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    ASSERT_TRUE(rt({"pause", id}).ok());
    auto r = rt({"start", id});
    EXPECT_EQ(r.status, 1) << r.describe();
    EXPECT_TRUE(contains(r.err, "cannot start a container in the paused state")) << r.describe();
}

TEST_F(LifecycleTest, DeleteOfARunningContainerNeedsForce) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    pid_t pid = pid_of(id);
    auto r = rt({"delete", id});
    EXPECT_EQ(r.status, 1) << r.describe();
    EXPECT_TRUE(contains(r.err, "cannot delete container " + id + " that is not stopped: running"))
        << r.describe();
    EXPECT_EQ(status_of(id), "running");

    auto f = rt({"delete", "--force", id});
    ASSERT_TRUE(f.ok()) << f.describe();
    EXPECT_TRUE(wait_until([&] { return !process_alive(pid); }, 5s));
    expect_nothing_left(id);
}

TEST_F(LifecycleTest, DeleteOfACreatedContainerKillsItsInit) {
    auto id = new_id();
    ASSERT_TRUE(create_container(id, {"sleep", "60"}).ok());
    pid_t pid = pid_of(id);
    ASSERT_GT(pid, 0);
    auto d = rt({"delete", id});
    ASSERT_TRUE(d.ok()) << d.describe();
    EXPECT_TRUE(wait_until([&] { return !process_alive(pid); }, 5s));
    expect_nothing_left(id);
}

TEST_F(LifecycleTest, KillSendsSigtermByDefault) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"wait-signal", "60"}).ok());
    ASSERT_TRUE(wait_output(id, "ready=1"));
    auto k = rt({"kill", id});
    ASSERT_TRUE(k.ok()) << k.describe();
    EXPECT_TRUE(wait_output(id, "signal=15")) << container_output(id);
    EXPECT_TRUE(wait_status(id, "stopped"));
}

TEST_F(LifecycleTest, KillAcceptsSignalNamesAndNumbers) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"USR1", "signal=10"}, {"SIGUSR2", "signal=12"}, {"1", "signal=1"}};
    for (const auto& [sig, want] : cases) {
        auto id = new_id();
        ASSERT_TRUE(start_container(id, {"wait-signal", "60"}).ok());
        ASSERT_TRUE(wait_output(id, "ready=1"));
        auto k = rt({"kill", id, sig});
        ASSERT_TRUE(k.ok()) << k.describe();
        EXPECT_TRUE(wait_output(id, want)) << sig << ": " << container_output(id);
        EXPECT_TRUE(wait_status(id, "stopped"));
    }
}

TEST_F(LifecycleTest, KillOfAStoppedContainerFails) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"exit", "0"}).ok());
    ASSERT_TRUE(wait_status(id, "stopped"));
    auto k = rt({"kill", id, "KILL"});
    EXPECT_EQ(k.status, 1) << k.describe();
    EXPECT_TRUE(contains(k.err, "container not running")) << k.describe();
}

TEST_F(LifecycleTest, KillAllReachesEveryProcessOfTheContainer) {
    // Without a PID namespace, killing init leaves other processes alive: --all must find them.
    remove_namespace(spec_, "pid");
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    pid_t init = pid_of(id);
    std::string pidfile = tmp_ + "/exec.pid";
    auto e = rt({"exec", "-d", "--pid-file", pidfile, id, "/probe", "sleep", "60"});
    ASSERT_TRUE(e.ok()) << e.describe();
    pid_t extra = atoi(read_text(pidfile).value_or("0").c_str());
    ASSERT_GT(extra, 0);
    ASSERT_TRUE(process_alive(extra));

    auto k = rt({"kill", "--all", id, "KILL"});
    ASSERT_TRUE(k.ok()) << k.describe();
    EXPECT_TRUE(wait_until([&] { return !process_alive(init) && !process_alive(extra); }, 5s))
        << "init alive " << process_alive(init) << ", exec'd alive " << process_alive(extra);
}

TEST_F(LifecycleTest, CreatePidFileHoldsTheInitPid) {
    auto id = new_id();
    std::string pidfile = tmp_ + "/init.pid";
    ASSERT_TRUE(create_container(id, {"sleep", "60"}, {"--pid-file", pidfile}).ok());
    auto text = read_text(pidfile);
    ASSERT_TRUE(text.has_value()) << "no pid file";
    EXPECT_EQ(atoi(text->c_str()), pid_of(id)) << *text;
}

TEST_F(LifecycleTest, RunDetachReturnsWhileTheContainerRuns) {
    auto id = new_id();
    auto r = run_detached(id, {"wait-signal", "60"});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(status_of(id), "running");
    EXPECT_TRUE(wait_output(id, "ready=1"));
    ASSERT_TRUE(rt({"kill", id, "TERM"}).ok());
    EXPECT_TRUE(wait_status(id, "stopped"));
    EXPECT_TRUE(rt({"delete", id}).ok());
}

TEST_F(LifecycleTest, RunDetachWritesPidFile) {
    auto id = new_id();
    std::string pidfile = tmp_ + "/run.pid";
    ASSERT_TRUE(run_detached(id, {"sleep", "60"}, {"--pid-file", pidfile}).ok());
    EXPECT_EQ(atoi(read_text(pidfile).value_or("0").c_str()), pid_of(id));
}

TEST_F(LifecycleTest, ListShowsContainers) {
    auto a = new_id();
    auto b = new_id();
    ASSERT_TRUE(create_container(a, {"sleep", "60"}).ok());
    ASSERT_TRUE(start_container(b, {"sleep", "60"}).ok());

    auto q = rt({"list", "-q"});
    ASSERT_TRUE(q.ok()) << q.describe();
    auto lines = split_lines(q.out);
    EXPECT_EQ(lines.size(), 2u) << q.out;
    EXPECT_NE(std::find(lines.begin(), lines.end(), a), lines.end()) << q.out;
    EXPECT_NE(std::find(lines.begin(), lines.end(), b), lines.end()) << q.out;

    auto j = rt({"list", "--format", "json"});
    ASSERT_TRUE(j.ok()) << j.describe();
    auto arr = json::parse(j.out, nullptr, false);
    ASSERT_TRUE(arr.is_array()) << j.out;
    ASSERT_EQ(arr.size(), 2u) << j.out;
    for (const auto& c : arr) {
        std::string cid = c.value("id", "");
        EXPECT_TRUE(cid == a || cid == b) << c.dump();
        EXPECT_EQ(c.value("status", ""), cid == a ? "created" : "running") << c.dump();
        EXPECT_EQ(c.value("bundle", ""), bundle_);
        EXPECT_EQ(c.value("pid", 0), pid_of(cid));
        EXPECT_TRUE(c.contains("created")) << c.dump();
    }

    auto t = rt({"list"});
    ASSERT_TRUE(t.ok()) << t.describe();
    auto tl = split_lines(t.out);
    ASSERT_GE(tl.size(), 3u) << t.out;
    EXPECT_EQ(tl[0].rfind("ID", 0), 0u) << t.out;
    EXPECT_TRUE(contains(tl[0], "PID") && contains(tl[0], "STATUS") && contains(tl[0], "BUNDLE"))
        << t.out;
}

TEST_F(LifecycleTest, ListOfAnEmptyRoot) {
    auto q = rt({"list", "-q"});
    EXPECT_TRUE(q.ok()) << q.describe();
    EXPECT_EQ(q.out, "");
    auto j = rt({"list", "--format", "json"});
    ASSERT_TRUE(j.ok()) << j.describe();
    // runc prints "null" for no containers; an empty array is as good for a client.
    auto v = json::parse(j.out, nullptr, false);
    EXPECT_TRUE(v.is_null() || (v.is_array() && v.empty())) << j.out;
}

TEST_F(LifecycleTest, PsListsTheContainersProcesses) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    pid_t init = pid_of(id);
    auto j = rt({"ps", "--format", "json", id});
    ASSERT_TRUE(j.ok()) << j.describe();
    auto arr = json::parse(j.out, nullptr, false);
    ASSERT_TRUE(arr.is_array()) << j.out;
    ASSERT_EQ(arr.size(), 1u) << j.out;
    EXPECT_EQ(arr[0].get<pid_t>(), init);

    auto t = rt({"ps", id});
    ASSERT_TRUE(t.ok()) << t.describe();
    auto lines = split_lines(t.out);
    ASSERT_GE(lines.size(), 2u) << t.out;
    EXPECT_TRUE(contains(lines[0], "PID")) << t.out;
    EXPECT_TRUE(contains(t.out, std::to_string(init))) << t.out;
}

TEST_F(LifecycleTest, PauseAndResumeStopAndRestartTheProcesses) {
    std::string shared = make_tmp_dir("shared");
    make_rootfs_dir("/shared");
    spec_["mounts"].push_back(bind_mount(shared, "/shared", {"rbind", "rw"}));
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"tick", "/shared/counter", "20"}).ok());
    auto counter = [&] { return atol(read_text(shared + "/counter").value_or("0").c_str()); };
    ASSERT_TRUE(wait_until([&] { return counter() > 2; }, 5s));

    auto p = rt({"pause", id});
    ASSERT_TRUE(p.ok()) << p.describe();
    EXPECT_EQ(status_of(id), "paused");
    long frozen = counter();
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(counter(), frozen) << "a paused container kept running";

    auto again = rt({"pause", id});
    EXPECT_EQ(again.status, 1) << again.describe();
    EXPECT_TRUE(contains(again.err, "container not running")) << again.describe();

    auto r = rt({"resume", id});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(status_of(id), "running");
    EXPECT_TRUE(wait_until([&] { return counter() > frozen + 2; }, 5s));

    auto again2 = rt({"resume", id});
    EXPECT_EQ(again2.status, 1) << again2.describe();
    EXPECT_TRUE(contains(again2.err, "container not paused")) << again2.describe();
}

TEST_F(LifecycleTest, DeleteForceOfAPausedContainer) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    pid_t pid = pid_of(id);
    ASSERT_TRUE(rt({"pause", id}).ok());
    auto d = rt({"delete", "--force", id});
    ASSERT_TRUE(d.ok()) << d.describe();
    EXPECT_TRUE(wait_until([&] { return !process_alive(pid); }, 5s));
    expect_nothing_left(id);
}

TEST_F(LifecycleTest, ManyContainersFromOneBundle) {
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        ids.push_back(new_id());
        ASSERT_TRUE(start_container(ids.back(), {"sleep", "60"}).ok());
    }
    for (const auto& id : ids) EXPECT_EQ(status_of(id), "running");
    for (const auto& id : ids) EXPECT_TRUE(rt({"delete", "--force", id}).ok());
    for (const auto& id : ids) expect_nothing_left(id);
}

}  // namespace
}  // namespace berth::test
