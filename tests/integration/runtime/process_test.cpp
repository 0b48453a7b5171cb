// The container process as the probe sees it from inside: capabilities, user and groups, umask,
// cwd, environment, rlimits, no_new_privs, oom_score_adj and seccomp.

#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <thread>

#include "runtime_fixture.hpp"

namespace berth::test {
namespace {

using nlohmann::json;

class ProcessTest : public RuntimeTest {
protected:
    std::map<std::string, std::string> probe_kv(const std::vector<std::string>& args) {
        auto r = run_probe(args);
        EXPECT_TRUE(r.ok()) << r.describe();
        return parse_kv(r.out);
    }
};

std::set<std::string> csv_set(const std::string& s) {
    std::set<std::string> out;
    for (const auto& p : split(s, ','))
        if (!p.empty()) out.insert(p);
    return out;
}

TEST_F(ProcessTest, Linux32Personality) {
    BERTH_SKIP_ON_RUNC("runc 1.1 ignores linux.personality");
    spec_["linux"]["personality"] = {{"domain", "LINUX32"}};
    spec_["process"]["args"] = {"uname", "-m"};
    auto r = run_container(new_id(), {});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.out, "i686\n") << "a 32-bit personality reports a 32-bit machine";
}

TEST_F(ProcessTest, DefaultCapabilitiesOfRuncSpec) {
    auto kv = probe_kv({"caps"});
    std::string want = cap_mask_hex({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
    EXPECT_EQ(kv["CapBnd"], want);
    EXPECT_EQ(kv["CapEff"], want);
    EXPECT_EQ(kv["CapPrm"], want);
    EXPECT_EQ(kv["CapInh"], cap_mask_hex({}));
    // runc's default spec lists ambient capabilities but no inheritable ones; the kernel only
    // allows an ambient capability that is also inheritable, so none is raised.
    EXPECT_EQ(kv["CapAmb"], cap_mask_hex({}));
}

TEST_F(ProcessTest, AllCapabilitySetsAsConfigured) {
    std::vector<std::string> caps = {"CAP_CHOWN", "CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_KILL"};
    set_all_caps(spec_, caps);
    auto kv = probe_kv({"caps"});
    std::string want = cap_mask_hex(caps);
    EXPECT_EQ(kv["CapBnd"], want);
    EXPECT_EQ(kv["CapEff"], want);
    EXPECT_EQ(kv["CapPrm"], want);
    EXPECT_EQ(kv["CapInh"], want);
    EXPECT_EQ(kv["CapAmb"], want);
}

TEST_F(ProcessTest, EachCapabilitySetIsIndependent) {
    // For uid 0 the kernel makes effective = permitted at execve (no SECBIT_NOROOT), and with
    // no_new_privs the new permitted set is capped by the old one: so root sees its configured
    // permitted set as effective too. Bounding and inheritable are as configured.
    auto& c = spec_["process"]["capabilities"];
    c["bounding"] = {"CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"};
    c["permitted"] = {"CAP_CHOWN", "CAP_KILL", "CAP_SETUID"};
    c["effective"] = {"CAP_CHOWN", "CAP_KILL"};
    c["inheritable"] = {"CAP_KILL"};
    c["ambient"] = json::array();
    auto kv = probe_kv({"caps"});
    EXPECT_EQ(kv["CapBnd"], cap_mask_hex({"CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"}));
    EXPECT_EQ(kv["CapPrm"], cap_mask_hex({"CAP_CHOWN", "CAP_KILL", "CAP_SETUID"}));
    EXPECT_EQ(kv["CapEff"], cap_mask_hex({"CAP_CHOWN", "CAP_KILL", "CAP_SETUID"}));
    EXPECT_EQ(kv["CapInh"], cap_mask_hex({"CAP_KILL"}));
    EXPECT_EQ(kv["CapAmb"], cap_mask_hex({}));
}

TEST_F(ProcessTest, NonRootUserLosesCapabilitiesWithoutAmbient) {
    spec_["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    auto& c = spec_["process"]["capabilities"];
    c["bounding"] = c["effective"] = c["permitted"] = {"CAP_CHOWN", "CAP_KILL"};
    c["ambient"] = json::array();
    auto kv = probe_kv({"caps"});
    EXPECT_EQ(kv["CapBnd"], cap_mask_hex({"CAP_CHOWN", "CAP_KILL"}));
    EXPECT_EQ(kv["CapEff"], cap_mask_hex({}));
    EXPECT_EQ(kv["CapPrm"], cap_mask_hex({}));
}

TEST_F(ProcessTest, NonRootUserKeepsAmbientCapabilities) {
    spec_["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    set_all_caps(spec_, {"CAP_CHOWN", "CAP_NET_BIND_SERVICE"});
    auto kv = probe_kv({"caps"});
    std::string want = cap_mask_hex({"CAP_CHOWN", "CAP_NET_BIND_SERVICE"});
    EXPECT_EQ(kv["CapAmb"], want);
    EXPECT_EQ(kv["CapEff"], want);
    EXPECT_EQ(kv["CapPrm"], want);
}

TEST_F(ProcessTest, RootByDefault) {
    auto kv = probe_kv({"ids"});
    EXPECT_EQ(kv["uid"], "0");
    EXPECT_EQ(kv["euid"], "0");
    EXPECT_EQ(kv["gid"], "0");
    EXPECT_EQ(kv["egid"], "0");
}

TEST_F(ProcessTest, UserAndGroupFromConfig) {
    spec_["process"]["user"] = {{"uid", 1000}, {"gid", 1001}};
    auto kv = probe_kv({"ids"});
    EXPECT_EQ(kv["uid"], "1000");
    EXPECT_EQ(kv["euid"], "1000");
    EXPECT_EQ(kv["gid"], "1001");
    EXPECT_EQ(kv["egid"], "1001");
}

TEST_F(ProcessTest, AdditionalGids) {
    spec_["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {10, 20, 30}}};
    auto kv = probe_kv({"ids"});
    EXPECT_EQ(csv_set(kv["groups"]), (std::set<std::string>{"10", "20", "30"})) << kv["groups"];
}

TEST_F(ProcessTest, NoSupplementaryGroupsLeakFromTheHost) {
    spec_["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    auto kv = probe_kv({"ids"});
    // Only what the config (or the rootfs's /etc/group, which has no members) gives.
    auto groups = csv_set(kv["groups"]);
    for (const auto& g : groups) EXPECT_EQ(g, "1000") << kv["groups"];
}

TEST_F(ProcessTest, UmaskFromConfig) {
    spec_["process"]["user"]["umask"] = 077;
    EXPECT_EQ(probe_kv({"ids"})["umask"], "0077");
}

TEST_F(ProcessTest, DefaultUmaskIs0022) { EXPECT_EQ(probe_kv({"ids"})["umask"], "0022"); }

TEST_F(ProcessTest, Cwd) {
    spec_["process"]["cwd"] = "/etc";
    EXPECT_EQ(probe_kv({"cwd"})["cwd"], "/etc");
}

TEST_F(ProcessTest, Env) {
    spec_["process"]["env"] = {"PATH=/bin", "BERTH_A=1", "BERTH_B=with space", "EMPTY="};
    auto r = run_probe({"env"});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto lines = split_lines(r.out);
    for (const char* want : {"PATH=/bin", "BERTH_A=1", "BERTH_B=with space", "EMPTY="})
        EXPECT_NE(std::find(lines.begin(), lines.end(), want), lines.end()) << want << "\n"
                                                                            << r.out;
    // Nothing from the runtime's own environment.
    EXPECT_FALSE(contains(r.out, "BERTH_TEST_TAG")) << r.out;
}

TEST_F(ProcessTest, ArgsArePassedVerbatim) {
    auto r = run_probe(
        {"seq", "cwd", "--", "write", "/dev/shm/x", "a b\tc", "--", "read", "/dev/shm/x"});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_TRUE(contains(r.out, "a b\tc")) << r.out;
}

TEST_F(ProcessTest, DefaultRlimitNofile) {
    auto kv = probe_kv({"rlimit", "NOFILE"});
    EXPECT_EQ(kv["soft"], "1024");
    EXPECT_EQ(kv["hard"], "1024");
}

TEST_F(ProcessTest, Rlimits) {
    spec_["process"]["rlimits"] = {
        {{"type", "RLIMIT_NOFILE"}, {"soft", 100}, {"hard", 200}},
        {{"type", "RLIMIT_CORE"}, {"soft", 0}, {"hard", 4096}},
        {{"type", "RLIMIT_NPROC"}, {"soft", 500}, {"hard", 600}},
        {{"type", "RLIMIT_STACK"}, {"soft", 4 << 20}, {"hard", 8 << 20}},
    };
    auto check = [&](const std::string& name, const std::string& soft, const std::string& hard) {
        auto kv = probe_kv({"rlimit", name});
        EXPECT_EQ(kv["soft"], soft) << name;
        EXPECT_EQ(kv["hard"], hard) << name;
    };
    check("NOFILE", "100", "200");
    check("CORE", "0", "4096");
    check("NPROC", "500", "600");
    check("STACK", std::to_string(4 << 20), std::to_string(8 << 20));
}

TEST_F(ProcessTest, NoNewPrivilegesTrue) {
    spec_["process"]["noNewPrivileges"] = true;
    EXPECT_EQ(probe_kv({"nnp"})["NoNewPrivs"], "1");
}

TEST_F(ProcessTest, NoNewPrivilegesFalse) {
    spec_["process"]["noNewPrivileges"] = false;
    EXPECT_EQ(probe_kv({"nnp"})["NoNewPrivs"], "0");
}

TEST_F(ProcessTest, OomScoreAdj) {
    spec_["process"]["oomScoreAdj"] = 500;
    EXPECT_EQ(probe_kv({"oom-score-adj"})["oom_score_adj"], "500");
}

TEST_F(ProcessTest, NegativeOomScoreAdj) {
    // Lowering oom_score_adj needs CAP_SYS_RESOURCE, which some sandboxes withhold even from root.
    if (!self_has_cap("CAP_SYS_RESOURCE"))
        GTEST_SKIP() << "this test process lacks CAP_SYS_RESOURCE (no runtime can lower "
                        "oom_score_adj here)";
    spec_["process"]["oomScoreAdj"] = -200;
    EXPECT_EQ(probe_kv({"oom-score-adj"})["oom_score_adj"], "-200");
}

json seccomp_allow_by_default(json rules) {
    return {{"defaultAction", "SCMP_ACT_ALLOW"},
            {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
            {"syscalls", std::move(rules)}};
}

TEST_F(ProcessTest, SeccompErrnoDefaultsToEperm) {
    spec_["linux"]["seccomp"] =
        seccomp_allow_by_default({{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}}});
    spec_["root"]["readonly"] = false;
    auto kv = probe_kv({"syscall-errno", "mkdir", "mkdirat", "getcwd", "getpid"});
    EXPECT_EQ(kv["mkdir"], "EPERM");
    EXPECT_EQ(kv["mkdirat"], "EPERM");
    EXPECT_EQ(kv["getcwd"], "0");
    EXPECT_EQ(kv["getpid"], "0");
}

TEST_F(ProcessTest, SeccompNotifyFdGoesToTheListener) {
    // runtime-spec "seccomp listener": the runtime connects to listenerPath and sends the
    // container process state with the listener fd; a supervisor answers the syscalls.
    std::string path = tmp_ + "/seccomp.sock";
    int lfd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(lfd, 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(path.size(), sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(lfd, 1), 0);
    std::string payload;
    bool answered = false;
    std::thread supervisor([&] {
        struct pollfd p {lfd, POLLIN, 0};
        if (::poll(&p, 1, 20000) != 1) return;
        int conn = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (conn < 0) return;
        char buf[65536];
        char cbuf[CMSG_SPACE(sizeof(int))] = {};
        struct iovec iov {buf, sizeof buf};
        struct msghdr msg {};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf;
        msg.msg_controllen = sizeof cbuf;
        ssize_t n = ::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
        ::close(conn);
        if (n <= 0) return;
        payload.assign(buf, static_cast<size_t>(n));
        struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
        if (!c || c->cmsg_type != SCM_RIGHTS) return;
        int nfd;
        std::memcpy(&nfd, CMSG_DATA(c), sizeof nfd);
        struct pollfd np {nfd, POLLIN, 0};
        if (::poll(&np, 1, 20000) == 1) {
            struct seccomp_notif req {};
            if (::ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0) {
                struct seccomp_notif_resp resp {};
                resp.id = req.id;
                resp.error = -EACCES;  // the supervisor's answer to mkdir
                answered = ::ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0;
            }
        }
        ::close(nfd);
    });
    spec_["linux"]["seccomp"] =
        seccomp_allow_by_default({{{"names", {"mkdir"}}, {"action", "SCMP_ACT_NOTIFY"}}});
    spec_["linux"]["seccomp"]["listenerPath"] = path;
    spec_["linux"]["seccomp"]["listenerMetadata"] = "berth-test";
    spec_["root"]["readonly"] = false;
    auto kv = probe_kv({"syscall-errno", "mkdir", "getpid"});
    supervisor.join();
    ::close(lfd);
    EXPECT_TRUE(answered) << "no notification reached the supervisor";
    EXPECT_EQ(kv["mkdir"], "EACCES");
    EXPECT_EQ(kv["getpid"], "0");
    auto j = json::parse(payload, nullptr, false);
    ASSERT_TRUE(j.is_object()) << payload;
    EXPECT_EQ(j.value("fds", json::array()), json::array({"seccompFd"})) << payload;
    EXPECT_EQ(j.value("metadata", ""), "berth-test") << payload;
    EXPECT_GT(j.value("pid", 0), 0) << payload;
    ASSERT_TRUE(j.contains("state")) << payload;
    EXPECT_FALSE(j["state"].value("id", "").empty()) << payload;
}

TEST_F(ProcessTest, SeccompErrnoRet) {
    spec_["linux"]["seccomp"] = seccomp_allow_by_default(
        {{{"names", {"getcwd"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 13}},
         {{"names", {"unshare"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38}}});
    auto kv = probe_kv({"syscall-errno", "getcwd", "unshare", "getpid"});
    EXPECT_EQ(kv["getcwd"], "EACCES");
    EXPECT_EQ(kv["unshare"], "ENOSYS");
    EXPECT_EQ(kv["getpid"], "0");
}

TEST_F(ProcessTest, SeccompArgumentFilter) {
    // personality(PER_LINUX32) is denied; the query personality(0xffffffff) is not.
    spec_["linux"]["seccomp"] = seccomp_allow_by_default(
        {{{"names", {"personality"}},
          {"action", "SCMP_ACT_ERRNO"},
          {"args", {{{"index", 0}, {"value", 8}, {"op", "SCMP_CMP_EQ"}}}}}});
    auto kv = probe_kv({"syscall-errno", "personality", "personality-linux32"});
    EXPECT_EQ(kv["personality"], "0");
    EXPECT_EQ(kv["personality-linux32"], "EPERM");
}

TEST_F(ProcessTest, SeccompKillTerminatesTheProcess) {
    spec_["linux"]["seccomp"] =
        seccomp_allow_by_default({{{"names", {"getcwd"}}, {"action", "SCMP_ACT_KILL"}}});
    auto r = run_probe({"syscall-errno", "getcwd"});
    // Killed by SIGSYS: `run` reports 128 + 31.
    EXPECT_EQ(r.status, 128 + 31) << r.describe();
    EXPECT_FALSE(contains(r.out, "getcwd=")) << r.out;
}

TEST_F(ProcessTest, SeccompWithNoNewPrivilegesFalse) {
    spec_["process"]["noNewPrivileges"] = false;
    spec_["linux"]["seccomp"] = seccomp_allow_by_default(
        {{{"names", {"sethostname"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}});
    set_all_caps(spec_, {"CAP_SYS_ADMIN"});
    auto kv = probe_kv({"seq", "nnp", "--", "syscall-errno", "sethostname"});
    EXPECT_EQ(kv["NoNewPrivs"], "0");
    EXPECT_EQ(kv["sethostname"], "EPERM");
}

TEST_F(ProcessTest, CapabilityGatesPrivilegedSyscall) {
    // sethostname needs CAP_SYS_ADMIN (in the container's UTS namespace).
    auto without = probe_kv({"syscall-errno", "sethostname"});
    EXPECT_EQ(without["sethostname"], "EPERM");
    set_all_caps(spec_, {"CAP_SYS_ADMIN"});
    auto with = probe_kv({"syscall-errno", "sethostname"});
    EXPECT_EQ(with["sethostname"], "0");
}

}  // namespace
}  // namespace berth::test
