// The default seccomp profile: its shape per capabilities and architecture, that libseccomp on
// this machine knows its names, that the runtime compiles it, and that a process under it gets
// Docker's answers (EPERM for unshare, ENOSYS for clone3, AF_VSOCK refused). Docker-format
// profiles: parsing and the includes/excludes reduction.

#include <gtest/gtest.h>

#include <sched.h>
#include <seccomp.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <set>
#include <string>

#include "berth/container/seccomp_profile.hpp"
#include "berth/container/spec_builder.hpp"
#include "berth/runtime/seccomp.hpp"

namespace berth::container {
namespace {

// Syscalls of kernels newer than libseccomp 2.5.4 (Debian 12): the runtime skips them there.
const std::set<std::string> kNewerThanLibseccomp = {
    "cachestat", "fchmodat2", "map_shadow_stack", "futex_wake", "futex_wait", "futex_requeue",
};

std::vector<const oci::SeccompSyscall*> entries_for(const oci::Seccomp& s, const std::string& n) {
    std::vector<const oci::SeccompSyscall*> out;
    for (const auto& e : s.syscalls)
        for (const auto& name : e.names)
            if (name == n) out.push_back(&e);
    return out;
}

bool plainly_allowed(const oci::Seccomp& s, const std::string& n) {
    for (const auto* e : entries_for(s, n))
        if (e->action == "SCMP_ACT_ALLOW" && e->args.empty()) return true;
    return false;
}

TEST(DefaultSeccomp, ShapeForDefaultCaps) {
    oci::Seccomp s = default_seccomp_profile(default_capabilities(), "amd64");
    EXPECT_EQ(s.default_action, "SCMP_ACT_ERRNO");
    EXPECT_EQ(s.default_errno_ret, std::optional<uint32_t>(EPERM));
    EXPECT_EQ(s.architectures,
              (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));

    // No name is allowed twice without conditions.
    std::map<std::string, int> plain;
    for (const auto& e : s.syscalls)
        if (e.action == "SCMP_ACT_ALLOW" && e.args.empty())
            for (const auto& n : e.names) ++plain[n];
    for (const auto& [n, count] : plain) EXPECT_EQ(count, 1) << n;
    EXPECT_GT(plain.size(), 300u);

    for (const char* n : {"read", "write", "execve", "futex", "arch_prctl", "modify_ldt", "chroot",
                          "ptrace", "io_uring_setup"})
        EXPECT_TRUE(plainly_allowed(s, n)) << n;
    for (const char* n :
         {"mount", "umount2", "unshare", "setns", "reboot", "init_module", "bpf", "perf_event_open",
          "kexec_load", "open_by_handle_at", "settimeofday", "syslog", "acct", "iopl", "add_key",
          "keyctl", "userfaultfd", "set_tls", "kcmp"})
        EXPECT_TRUE(entries_for(s, n).empty()) << n;

    // clone: only without namespace flags (argument 0 on x86).
    auto clone = entries_for(s, "clone");
    ASSERT_EQ(clone.size(), 1u);
    ASSERT_EQ(clone[0]->args.size(), 1u);
    EXPECT_EQ(clone[0]->args[0].index, 0u);
    EXPECT_EQ(clone[0]->args[0].op, "SCMP_CMP_MASKED_EQ");
    EXPECT_EQ(clone[0]->args[0].value, uint64_t{0x7E020000});
    EXPECT_EQ(clone[0]->args[0].value_two, 0u);
    // clone3: ENOSYS, so glibc falls back to clone.
    auto clone3 = entries_for(s, "clone3");
    ASSERT_EQ(clone3.size(), 1u);
    EXPECT_EQ(clone3[0]->action, "SCMP_ACT_ERRNO");
    EXPECT_EQ(clone3[0]->errno_ret, std::optional<uint32_t>(ENOSYS));
    // personality: five safe values, one rule each.
    auto pers = entries_for(s, "personality");
    ASSERT_EQ(pers.size(), 5u);
    std::set<uint64_t> values;
    for (const auto* e : pers) values.insert(e->args.at(0).value);
    EXPECT_EQ(values, (std::set<uint64_t>{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}));
    // socket: anything but AF_VSOCK.
    auto sock = entries_for(s, "socket");
    ASSERT_EQ(sock.size(), 1u);
    EXPECT_EQ(sock[0]->args.at(0).op, "SCMP_CMP_NE");
    EXPECT_EQ(sock[0]->args.at(0).value, 40u);
}

TEST(DefaultSeccomp, CapabilitiesUnlockGroups) {
    std::vector<std::string> caps = default_capabilities();
    caps.insert(caps.end(),
                {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_BOOT", "CAP_SYS_MODULE",
                 "CAP_SYS_TIME", "CAP_SYS_NICE", "CAP_SYSLOG", "CAP_BPF", "CAP_PERFMON",
                 "CAP_DAC_READ_SEARCH", "CAP_SYS_RAWIO", "CAP_SYS_PACCT", "CAP_SYS_TTY_CONFIG"});
    oci::Seccomp s = default_seccomp_profile(caps, "amd64");
    for (const char* n :
         {"mount", "umount2", "unshare", "setns", "clone", "clone3", "reboot", "init_module", "bpf",
          "perf_event_open", "open_by_handle_at", "settimeofday", "syslog", "kcmp", "pidfd_getfd",
          "mbind", "iopl", "acct", "vhangup"})
        EXPECT_TRUE(plainly_allowed(s, n)) << n;
    // With CAP_SYS_ADMIN, clone has no argument filter and clone3 no ENOSYS.
    EXPECT_EQ(entries_for(s, "clone").size(), 1u);
    EXPECT_EQ(entries_for(s, "clone3").size(), 1u);

    std::vector<std::string> no_chroot;
    for (const auto& c : default_capabilities())
        if (c != "CAP_SYS_CHROOT") no_chroot.push_back(c);
    EXPECT_TRUE(entries_for(default_seccomp_profile(no_chroot, "amd64"), "chroot").empty());
}

TEST(DefaultSeccomp, ArchitectureFamilies) {
    oci::Seccomp arm = default_seccomp_profile(default_capabilities(), "arm64");
    EXPECT_EQ(arm.architectures, (std::vector<std::string>{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}));
    EXPECT_TRUE(plainly_allowed(arm, "set_tls"));
    EXPECT_TRUE(entries_for(arm, "arch_prctl").empty());
    oci::Seccomp s390 = default_seccomp_profile(default_capabilities(), "s390x");
    auto clone = entries_for(s390, "clone");
    ASSERT_EQ(clone.size(), 1u);
    EXPECT_EQ(clone[0]->args.at(0).index, 1u);  // s390 passes flags second
}

// Every name resolves on one of the profile's architectures, unless libseccomp is older than
// the syscall (those are skipped by the runtime, as runc does).
TEST(DefaultSeccomp, NamesResolveWithLibseccomp) {
    std::vector<std::string> caps = all_capabilities();
    oci::Seccomp s = default_seccomp_profile(caps, native_seccomp_arch());
    const uint32_t arches[] = {SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32, SCMP_ARCH_AARCH64,
                               SCMP_ARCH_ARM};
    std::set<std::string> unresolved;
    for (const auto& e : s.syscalls) {
        for (const auto& n : e.names) {
            bool ok = false;
            for (uint32_t a : arches)
                ok = ok || seccomp_syscall_resolve_name_arch(a, n.c_str()) != __NR_SCMP_ERROR;
            if (!ok) unresolved.insert(n);
        }
    }
    for (const auto& n : unresolved)
        EXPECT_TRUE(kNewerThanLibseccomp.count(n)) << "libseccomp does not know " << n;
}

TEST(DefaultSeccomp, RuntimeCompilesIt) {
    for (bool all : {false, true}) {
        auto caps = all ? all_capabilities() : default_capabilities();
        auto prog = runtime::compile_seccomp(default_seccomp_profile(caps));
        ASSERT_TRUE(prog.has_value()) << prog.error().what();
        EXPECT_GT(prog->instructions.size(), 100u);
    }
}

// A child under the default profile (no_new_privs, so no privilege needed) sees what a Docker
// container sees.
TEST(DefaultSeccomp, BehavesLikeDockers) {
    auto prog = runtime::compile_seccomp(default_seccomp_profile(default_capabilities()));
    ASSERT_TRUE(prog.has_value()) << prog.error().what();
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(100);
        if (runtime::load_seccomp(*prog, nullptr) != 0) _exit(101);
        if (getpid() <= 0) _exit(102);
        if (unshare(CLONE_NEWUTS) != -1 || errno != EPERM) _exit(103);
        if (syscall(SYS_clone3, nullptr, 0) != -1 || errno != ENOSYS) _exit(104);
        if (socket(AF_VSOCK, SOCK_STREAM, 0) != -1 || errno != EPERM) _exit(105);
        if (personality(0xffffffff) == -1) _exit(106);
        if (personality(0x0400000 /* ADDR_NO_RANDOMIZE */) != -1 || errno != EPERM) _exit(107);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0) _exit(108);
        if (syscall(SYS_mount, "none", "/", "tmpfs", 0, nullptr) != -1 || errno != EPERM)
            _exit(109);
        pid_t c = fork();  // glibc's fork is clone without namespace flags
        if (c < 0) _exit(110);
        if (c == 0) _exit(0);
        int st = 0;
        if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0) _exit(111);
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "step that failed: " << WEXITSTATUS(status);
}

constexpr const char* kProfile = R"({
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 1,
  "archMap": [
    {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
  ],
  "syscalls": [
    {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "basic"},
    {"name": "getpid", "action": "SCMP_ACT_ALLOW"},
    {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
     "excludes": {"caps": ["CAP_KILL"]}},
    {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
    {"names": ["set_tls"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
    {"names": ["old"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "1.0"}},
    {"names": ["future"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "999.0"}},
    {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 40, "valueTwo": 0, "op": "SCMP_CMP_NE"}]}
  ]
})";

TEST(DockerProfile, ParsesAndReduces) {
    auto r = parse_docker_seccomp_profile(kProfile, {"CAP_KILL"}, "amd64");
    ASSERT_TRUE(r.has_value()) << r.error().what();
    EXPECT_EQ(r->default_action, "SCMP_ACT_ERRNO");
    EXPECT_EQ(r->default_errno_ret, std::optional<uint32_t>(1));
    EXPECT_EQ(r->architectures,
              (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
    std::vector<std::string> names;
    for (const auto& e : r->syscalls) names.push_back(e.names.at(0));
    EXPECT_EQ(names, (std::vector<std::string>{"read", "getpid", "arch_prctl", "old", "socket"}));
    EXPECT_EQ(r->syscalls.back().args.at(0).value, 40u);
    EXPECT_EQ(r->syscalls.back().args.at(0).op, "SCMP_CMP_NE");

    r = parse_docker_seccomp_profile(kProfile, {"CAP_SYS_ADMIN"}, "arm64");
    ASSERT_TRUE(r.has_value());
    names.clear();
    for (const auto& e : r->syscalls) names.push_back(e.names.at(0));
    EXPECT_EQ(names, (std::vector<std::string>{"read", "getpid", "mount", "kill", "set_tls", "old",
                                               "socket"}));
    EXPECT_EQ(r->syscalls[3].errno_ret, std::optional<uint32_t>(38));
    EXPECT_EQ(r->architectures, (std::vector<std::string>{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}));
}

TEST(DockerProfile, Errors) {
    auto r = parse_docker_seccomp_profile("{nope", {}, "amd64");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_NE(r.error().msg.find("Decoding seccomp profile failed"), std::string::npos);

    r = parse_docker_seccomp_profile(
        R"({"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
            "archMap":[{"architecture":"SCMP_ARCH_X86_64"}]})",
        {}, "amd64");
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().msg.find("use either 'architectures' or 'archMap'"), std::string::npos);

    r = parse_docker_seccomp_profile(
        R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"name":"a","names":["b"],
            "action":"SCMP_ACT_ALLOW"}]})",
        {}, "amd64");
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().msg.find("use either 'name' or 'names'"), std::string::npos);

    r = parse_docker_seccomp_profile(R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":7})", {},
                                     "amd64");
    ASSERT_FALSE(r.has_value());

    // No default action and no syscalls: no seccomp at all.
    r = parse_docker_seccomp_profile("{}", {}, "amd64");
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->default_action.empty());
}

}  // namespace
}  // namespace berth::container
