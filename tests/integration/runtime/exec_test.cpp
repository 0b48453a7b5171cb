// exec into a running container: namespaces, cgroup, exit status, and the flags --process, -d,
// -e, --cwd, --user, --additional-gids, --cap, --pid-file, --no-new-privs, --preserve-fds.

#include <fcntl.h>
#include <unistd.h>

#include <set>

#include "runtime_fixture.hpp"

namespace berth::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class ExecTest : public RuntimeTest {
protected:
    /// Starts a sleeping container; returns its id.
    std::string running(const std::vector<std::string>& args = {"sleep", "120"}) {
        auto id = new_id();
        auto r = start_container(id, args);
        EXPECT_TRUE(r.ok()) << r.describe();
        return id;
    }
    RunResult exec(const std::string& id, const std::vector<std::string>& flags,
                   const std::vector<std::string>& probe_args, RunOptions opts = {}) {
        std::vector<std::string> args = {"exec"};
        args.insert(args.end(), flags.begin(), flags.end());
        args.push_back(id);
        args.push_back("/probe");
        args.insert(args.end(), probe_args.begin(), probe_args.end());
        return rt(args, std::move(opts));
    }
};

TEST_F(ExecTest, RunsInTheContainersNamespaces) {
    auto id = running();
    pid_t init = pid_of(id);
    auto r = exec(id, {}, {"ns"});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto kv = parse_kv(r.out);
    for (const char* kind : {"pid", "net", "ipc", "uts", "mnt", "user", "cgroup"})
        EXPECT_EQ(kv[kind], ns_link(init, kind)) << kind;
}

TEST_F(ExecTest, RunsInTheContainersCgroupAndPidNamespace) {
    auto id = running();
    pid_t init = pid_of(id);
    auto r = exec(id, {}, {"seq", "pid", "--", "cgroup"});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto kv = parse_kv(r.out);
    EXPECT_NE(kv["pid"], "1");
    EXPECT_EQ(kv["ppid"], "0") << "the exec'd process's parent is outside the pid namespace";
    auto host_view = read_text("/proc/" + std::to_string(init) + "/cgroup").value_or("");
    for (const auto& line : split_lines(host_view))
        EXPECT_TRUE(contains(r.out, line)) << line << "\nexec'd process:\n" << r.out;
}

TEST_F(ExecTest, ExitStatusIsPassedThrough) {
    auto id = running();
    EXPECT_EQ(exec(id, {}, {"exit", "7"}).status, 7);
    EXPECT_EQ(exec(id, {}, {"exit", "0"}).status, 0);
}

TEST_F(ExecTest, InheritsTheContainersProcessSettings) {
    spec_["process"]["env"] = {"PATH=/bin", "FROM_SPEC=1"};
    spec_["process"]["cwd"] = "/etc";
    spec_["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    auto id = running();
    auto r = exec(id, {}, {"seq", "env", "--", "cwd", "--", "ids"});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto kv = parse_kv(r.out);
    EXPECT_EQ(kv["FROM_SPEC"], "1") << r.out;
    EXPECT_EQ(kv["cwd"], "/etc") << r.out;
    EXPECT_EQ(kv["uid"], "1000") << r.out;
}

TEST_F(ExecTest, EnvCwdAndUserFlags) {
    auto id = running();
    auto r = exec(id, {"-e", "EXTRA=yes", "-e", "FOO=bar", "--cwd", "/etc", "--user", "1000:1001"},
                  {"seq", "env", "--", "cwd", "--", "ids"});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto kv = parse_kv(r.out);
    EXPECT_EQ(kv["EXTRA"], "yes");
    EXPECT_EQ(kv["FOO"], "bar");
    EXPECT_EQ(kv["cwd"], "/etc");
    EXPECT_EQ(kv["uid"], "1000");
    EXPECT_EQ(kv["gid"], "1001");
    EXPECT_TRUE(kv.count("PATH")) << "the config's env is kept: " << r.out;
}

TEST_F(ExecTest, AdditionalGids) {
    auto id = running();
    auto r = exec(id, {"--user", "1000:1000", "--additional-gids", "10", "--additional-gids", "20"},
                  {"ids"});
    ASSERT_TRUE(r.ok()) << r.describe();
    std::set<std::string> groups;
    for (const auto& g : split(parse_kv(r.out)["groups"], ','))
        if (!g.empty()) groups.insert(g);
    EXPECT_TRUE(groups.count("10") && groups.count("20")) << r.out;
}

TEST_F(ExecTest, CapFlagAddsACapability) {
    auto id = running();
    auto r =
        exec(id, {"--cap", "CAP_SYS_ADMIN"}, {"seq", "caps", "--", "syscall-errno", "sethostname"});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto kv = parse_kv(r.out);
    unsigned long long eff = strtoull(kv["CapEff"].c_str(), nullptr, 16);
    unsigned long long bnd = strtoull(kv["CapBnd"].c_str(), nullptr, 16);
    EXPECT_TRUE(eff & (1ULL << cap_number("CAP_SYS_ADMIN"))) << r.out;
    EXPECT_TRUE(bnd & (1ULL << cap_number("CAP_SYS_ADMIN"))) << r.out;
    EXPECT_TRUE(eff & (1ULL << cap_number("CAP_KILL"))) << "the config's caps stay: " << r.out;
    EXPECT_EQ(kv["sethostname"], "0");

    auto plain = exec(id, {}, {"syscall-errno", "sethostname"});
    EXPECT_EQ(parse_kv(plain.out)["sethostname"], "EPERM") << plain.describe();
}

TEST_F(ExecTest, ProcessJson) {
    auto id = running();
    json process = {
        {"terminal", false},
        {"user", {{"uid", 1000}, {"gid", 1002}, {"additionalGids", {30}}}},
        {"args", {"/probe", "seq", "env", "--", "cwd", "--", "ids", "--", "rlimit", "NOFILE"}},
        {"env", {"PATH=/bin", "FROM_JSON=1"}},
        {"cwd", "/tmp"},
        {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"soft", 77}, {"hard", 88}}}},
        {"noNewPrivileges", true}};
    std::string path = tmp_ + "/process.json";
    ASSERT_TRUE(write_text(path, process.dump()));
    auto r = rt({"exec", "--process", path, id});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto kv = parse_kv(r.out);
    EXPECT_EQ(kv["FROM_JSON"], "1");
    EXPECT_EQ(kv["cwd"], "/tmp");
    EXPECT_EQ(kv["uid"], "1000");
    EXPECT_EQ(kv["gid"], "1002");
    EXPECT_TRUE(contains(kv["groups"], "30")) << r.out;
    EXPECT_EQ(kv["soft"], "77");
    EXPECT_EQ(kv["hard"], "88");
}

TEST_F(ExecTest, DetachWithPidFile) {
    auto id = running();
    pid_t init = pid_of(id);
    std::string pidfile = tmp_ + "/exec.pid";
    auto start = std::chrono::steady_clock::now();
    auto r = exec(id, {"-d", "--pid-file", pidfile}, {"sleep", "60"});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
    pid_t pid = atoi(read_text(pidfile).value_or("0").c_str());
    ASSERT_GT(pid, 0);
    EXPECT_TRUE(process_alive(pid));
    EXPECT_EQ(ns_link(pid, "pid"), ns_link(init, "pid"));
    EXPECT_EQ(ns_link(pid, "mnt"), ns_link(init, "mnt"));
    // ps lists it.
    auto ps = rt({"ps", "--format", "json", id});
    ASSERT_TRUE(ps.ok()) << ps.describe();
    auto arr = json::parse(ps.out, nullptr, false);
    ASSERT_TRUE(arr.is_array()) << ps.out;
    EXPECT_NE(std::find(arr.begin(), arr.end(), json(pid)), arr.end()) << ps.out;
}

TEST_F(ExecTest, NoNewPrivsFlag) {
    spec_["process"]["noNewPrivileges"] = false;
    auto id = running();
    EXPECT_EQ(parse_kv(exec(id, {}, {"nnp"}).out)["NoNewPrivs"], "0");
    EXPECT_EQ(parse_kv(exec(id, {"--no-new-privs"}, {"nnp"}).out)["NoNewPrivs"], "1");
}

TEST_F(ExecTest, SeccompOfTheConfigApplies) {
    spec_["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"architectures", {"SCMP_ARCH_X86_64"}},
        {"syscalls", {{{"names", {"getcwd"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 13}}}}};
    auto id = running();
    auto r = exec(id, {}, {"syscall-errno", "getcwd"});
    EXPECT_EQ(parse_kv(r.out)["getcwd"], "EACCES") << r.describe();
}

TEST_F(ExecTest, PreserveFds) {
    auto id = running();
    std::string path = tmp_ + "/fd3.txt";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    RunOptions o;
    o.pass_fds = {fd};
    auto r = exec(id, {"--preserve-fds", "1"}, {"write-fd", "3", "exec-fd"}, o);
    ::close(fd);
    EXPECT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(read_text(path).value_or(""), "exec-fd");
}

TEST_F(ExecTest, StdinIsForwarded) {
    auto id = running();
    RunOptions o;
    o.stdin_data = "line-from-stdin\n";
    auto r = rt({"exec", id, "/bin/sh", "-c", "read x; echo got=$x"}, o);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(parse_kv(r.out)["got"], "line-from-stdin");
}

TEST_F(ExecTest, StderrIsSeparate) {
    auto id = running();
    auto r = rt({"exec", id, "/bin/sh", "-c", "echo to-out; echo to-err >&2"});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_TRUE(contains(r.out, "to-out")) << r.describe();
    EXPECT_FALSE(contains(r.out, "to-err")) << r.describe();
    EXPECT_TRUE(contains(r.err, "to-err")) << r.describe();
}

TEST_F(ExecTest, InAStoppedContainerFails) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"exit", "0"}).ok());
    ASSERT_TRUE(wait_status(id, "stopped"));
    auto r = exec(id, {}, {"exit", "0"});
    EXPECT_NE(r.status, 0) << r.describe();
    EXPECT_TRUE(contains(r.err, "cannot exec in a stopped container")) << r.describe();
}

TEST_F(ExecTest, InAPausedContainerFails) {
    auto id = running();
    ASSERT_TRUE(rt({"pause", id}).ok());
    auto r = exec(id, {}, {"exit", "0"});
    EXPECT_NE(r.status, 0) << r.describe();
    EXPECT_TRUE(contains(r.err, "paused")) << r.describe();
    ASSERT_TRUE(rt({"resume", id}).ok());
    EXPECT_EQ(exec(id, {}, {"exit", "0"}).status, 0);
}

TEST_F(ExecTest, MissingBinaryFails) {
    auto id = running();
    auto r = rt({"exec", id, "/no/such/binary"});
    EXPECT_NE(r.status, 0) << r.describe();
    EXPECT_EQ(status_of(id), "running") << "a failed exec must not harm the container";
}

TEST_F(ExecTest, ManyExecsInARow) {
    auto id = running();
    for (int i = 0; i < 10; ++i) {
        auto r = exec(id, {}, {"exit", std::to_string(i)});
        EXPECT_EQ(r.status, i) << r.describe();
    }
    auto ps = rt({"ps", "--format", "json", id});
    auto arr = json::parse(ps.out, nullptr, false);
    ASSERT_TRUE(arr.is_array()) << ps.out;
    EXPECT_EQ(arr.size(), 1u) << "exec'd processes must be gone: " << ps.out;
}

}  // namespace
}  // namespace berth::test
