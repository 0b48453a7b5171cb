// compile_seccomp is checked by running its programs: each case forks a child that sets
// no_new_privs (so no privilege is needed), loads the filter and makes system calls.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/seccomp.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>

#include "berth/common/fs.hpp"
#include "berth/runtime/seccomp.hpp"

namespace berth::runtime {
namespace {

constexpr int kLoadFailed = 250;
constexpr int kMarkerErrno = 123;  // ENOMEDIUM: an errno no syscall here returns on its own

oci::SeccompSyscall rule(std::vector<std::string> names, std::string action,
                         std::optional<uint32_t> errno_ret = std::nullopt,
                         std::vector<oci::SeccompArg> args = {}) {
    oci::SeccompSyscall s;
    s.names = std::move(names);
    s.action = std::move(action);
    s.errno_ret = errno_ret;
    s.args = std::move(args);
    return s;
}

oci::SeccompArg arg(unsigned index, const char* op, uint64_t value, uint64_t value_two = 0) {
    oci::SeccompArg a;
    a.index = index;
    a.op = op;
    a.value = value;
    a.value_two = value_two;
    return a;
}

oci::Seccomp profile(std::string default_action, std::vector<oci::SeccompSyscall> syscalls) {
    oci::Seccomp s;
    s.default_action = std::move(default_action);
    s.syscalls = std::move(syscalls);
    return s;
}

struct ChildResult {
    bool exited = false;
    int code = -1;
    bool signaled = false;
    int sig = 0;
};

// Forks; the child loads `p` and exits with body(notify_fd)'s value. No core dumps for the
// SIGSYS cases.
ChildResult run_filtered(const SeccompProgram& p, const std::function<int(int)>& body) {
    pid_t pid = ::fork();
    if (pid == 0) {
        rlimit no_core{0, 0};
        ::setrlimit(RLIMIT_CORE, &no_core);
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(kLoadFailed);
        int notify_fd = -1;
        if (load_seccomp(p, &notify_fd) != 0) ::_exit(kLoadFailed);
        ::_exit(body(notify_fd));
    }
    ChildResult r;
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return r;
    r.exited = WIFEXITED(status);
    r.code = r.exited ? WEXITSTATUS(status) : -1;
    r.signaled = WIFSIGNALED(status);
    r.sig = r.signaled ? WTERMSIG(status) : 0;
    return r;
}

// The errno of a raw syscall, or 0 if it succeeded.
int errno_of(long rc) { return rc < 0 ? errno : 0; }

SeccompProgram compile_ok(const oci::Seccomp& s) {
    auto r = compile_seccomp(s);
    EXPECT_TRUE(r) << (r ? "" : r.error().what());
    return r ? *r : SeccompProgram{};
}

std::string compile_error(const oci::Seccomp& s) {
    auto r = compile_seccomp(s);
    EXPECT_FALSE(r);
    if (r) return "";
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    return r.error().msg;
}

TEST(Seccomp, ErrnoRetDefaultsToEperm) {
    auto p = compile_ok(profile("SCMP_ACT_ALLOW", {rule({"getcwd"}, "SCMP_ACT_ERRNO")}));
    EXPECT_FALSE(p.has_listener);
    auto r = run_filtered(p, [](int) {
        char buf[256];
        return errno_of(::syscall(SYS_getcwd, buf, sizeof(buf)));
    });
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, EPERM);
}

TEST(Seccomp, ErrnoRetIsReturned) {
    auto p = compile_ok(
        profile("SCMP_ACT_ALLOW", {rule({"mkdirat", "mkdir"}, "SCMP_ACT_ERRNO", EXDEV)}));
    auto r = run_filtered(p, [](int) {
        return errno_of(::syscall(SYS_mkdirat, AT_FDCWD, "/nonexistent-berth/x", 0700));
    });
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, EXDEV);
}

TEST(Seccomp, UnfilteredSyscallsStillWork) {
    auto p = compile_ok(profile("SCMP_ACT_ALLOW", {rule({"getcwd"}, "SCMP_ACT_ERRNO")}));
    auto r = run_filtered(p, [](int) { return errno_of(::syscall(SYS_getppid)); });
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, 0);
}

#if defined(__x86_64__)
// An allow-list profile: default errno, the few syscalls the child needs allowed. The largest
// listed number decides where the -ENOSYS stub starts (x86_64: rseq is 334).
oci::Seccomp allow_list(std::string default_action, std::optional<uint32_t> default_errno,
                        std::vector<std::string> extra = {}) {
    std::vector<std::string> names = {"exit_group", "exit", "rseq"};
    names.insert(names.end(), extra.begin(), extra.end());
    auto s = profile(std::move(default_action), {rule(names, "SCMP_ACT_ALLOW")});
    s.default_errno_ret = default_errno;
    return s;
}

TEST(Seccomp, DefaultErrnoRet) {
    auto p = compile_ok(allow_list("SCMP_ACT_ERRNO", ENOTSUP));
    auto r = run_filtered(p, [](int) { return errno_of(::syscall(SYS_getppid)); });
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, ENOTSUP);
}

TEST(Seccomp, DefaultErrnoWithoutErrnoRetIsEperm) {
    auto p = compile_ok(allow_list("SCMP_ACT_ERRNO", std::nullopt, {"getpid"}));
    auto r = run_filtered(p, [](int) {
        if (errno_of(::syscall(SYS_getpid)) != 0) return 1;  // allowed
        return errno_of(::syscall(SYS_getppid));
    });
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, EPERM);
}

// runc's patchbpf: syscalls newer than every one the profile names get ENOSYS, so programs
// fall back to older calls instead of failing with EPERM.
TEST(Seccomp, SyscallsNewerThanTheProfileGetEnosys) {
    for (const std::vector<std::string>& arches :
         {std::vector<std::string>{},
          std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"},
          std::vector<std::string>{"SCMP_ARCH_X86_64"}}) {
        auto s = allow_list("SCMP_ACT_ERRNO", std::nullopt);
        s.architectures = arches;
        auto p = compile_ok(s);
        auto r = run_filtered(p, [](int) {
            if (errno_of(::syscall(SYS_getppid)) != EPERM) return 1;  // 110 < 334: the filter
            if (errno_of(::syscall(SYS_pidfd_open, ::getpid(), 0)) != ENOSYS) return 2;  // 434
            if (errno_of(::syscall(1000)) != ENOSYS) return 3;
            return 0;
        });
        ASSERT_TRUE(r.exited) << arches.size();
        EXPECT_EQ(r.code, 0) << arches.size();
    }
}

// x32 calls are x86_64 calls with bit 30 set; the stub must give them their own limit, and
// leave them to libseccomp's bad-arch kill when the profile has no x32 part. (The filter runs
// before the kernel looks at the number, so this holds on kernels without the x32 ABI too.)
TEST(Seccomp, EnosysStubKeepsX32Apart) {
    constexpr long kX32 = 0x40000000L;
    auto s = allow_list("SCMP_ACT_ERRNO", std::nullopt);
    s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X32"};
    auto r = run_filtered(compile_ok(s), [](int) {
        if (errno_of(::syscall(kX32 | SYS_getppid)) != EPERM) return 1;
        if (errno_of(::syscall(kX32 | 1000)) != ENOSYS) return 2;
        return 0;
    });
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, 0);

    s.architectures = {"SCMP_ARCH_X86_64"};
    r = run_filtered(compile_ok(s), [](int) { return errno_of(::syscall(kX32 | 1000)); });
    ASSERT_TRUE(r.signaled);
    EXPECT_EQ(r.sig, SIGSYS);
}

TEST(Seccomp, NoEnosysStubWithAnAllowDefault) {
    auto p = compile_ok(profile("SCMP_ACT_ALLOW", {rule({"getcwd"}, "SCMP_ACT_ERRNO")}));
    auto q = compile_ok(profile("SCMP_ACT_ERRNO", {rule({"getcwd"}, "SCMP_ACT_ALLOW")}));
    // The errno-default one carries the stub; the allow-default one is libseccomp's alone.
    EXPECT_GT(q.instructions.size(), p.instructions.size());
}

TEST(Seccomp, KillProcessDefault) {
    auto p = compile_ok(allow_list("SCMP_ACT_KILL_PROCESS", std::nullopt));
    auto r = run_filtered(p, [](int) { return errno_of(::syscall(SYS_getppid)); });
    ASSERT_TRUE(r.signaled);
    EXPECT_EQ(r.sig, SIGSYS);
}

TEST(Seccomp, KillIsKillThread) {
    auto p = compile_ok(allow_list("SCMP_ACT_KILL", std::nullopt));
    auto r = run_filtered(p, [](int) { return errno_of(::syscall(SYS_getppid)); });
    ASSERT_TRUE(r.signaled);  // the only thread died, so did the process
    EXPECT_EQ(r.sig, SIGSYS);
}

TEST(Seccomp, LargeProfileUsesTheBinaryTree) {
    std::vector<std::string> names = {
        "read",     "write",      "open",      "close",     "stat",      "fstat",
        "lstat",    "poll",       "lseek",     "mmap",      "mprotect",  "munmap",
        "brk",      "rt_sigaction", "rt_sigprocmask", "ioctl", "pread64", "pwrite64",
        "readv",    "writev",     "access",    "pipe",      "select",    "sched_yield",
        "mremap",   "msync",      "mincore",   "madvise",   "dup",       "dup2",
        "pause",    "nanosleep",  "getitimer", "alarm",     "setitimer", "getpid"};
    auto p = compile_ok(allow_list("SCMP_ACT_ERRNO", std::nullopt, names));
    auto r = run_filtered(p, [](int) {
        if (errno_of(::syscall(SYS_getpid)) != 0) return 1;
        if (errno_of(::syscall(SYS_sched_yield)) != 0) return 2;
        if (errno_of(::syscall(SYS_getppid)) != EPERM) return 3;
        if (errno_of(::syscall(SYS_umask, 022)) != EPERM) return 4;
        return 0;
    });
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, 0);
}
#endif  // __x86_64__

TEST(Seccomp, TrapSendsSigsys) {
    auto p = compile_ok(profile("SCMP_ACT_ALLOW", {rule({"getppid"}, "SCMP_ACT_TRAP")}));
    auto r = run_filtered(p, [](int) { return errno_of(::syscall(SYS_getppid)); });
    ASSERT_TRUE(r.signaled);
    EXPECT_EQ(r.sig, SIGSYS);
}

TEST(Seccomp, LogAllows) {
    auto p = compile_ok(profile("SCMP_ACT_ALLOW", {rule({"getppid"}, "SCMP_ACT_LOG")}));
    auto r = run_filtered(p, [](int) { return errno_of(::syscall(SYS_getppid)); });
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, 0);
}

TEST(Seccomp, RuleWithTheDefaultActionIsSkipped) {
    auto p = compile_ok(profile("SCMP_ACT_ALLOW", {rule({"getppid"}, "SCMP_ACT_ALLOW"),
                                                   rule({"getcwd"}, "SCMP_ACT_ERRNO")}));
    auto r = run_filtered(p, [](int) { return errno_of(::syscall(SYS_getppid)); });
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, 0);
}

TEST(Seccomp, UnknownSyscallNamesAreSkipped) {
    auto p = compile_ok(profile(
        "SCMP_ACT_ALLOW",
        {rule({"no_such_syscall_berth", "getcwd", "another_future_call"}, "SCMP_ACT_ERRNO")}));
    auto r = run_filtered(p, [](int) {
        char buf[64];
        return errno_of(::syscall(SYS_getcwd, buf, sizeof(buf)));
    });
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, EPERM);
}

// umask(2) takes any value and cannot fail, so the filter is the only source of an errno.
struct ArgCase {
    const char* op;
    uint64_t value;
    uint64_t value_two;
    std::vector<std::pair<unsigned, bool>> calls;  ///< umask argument → filtered?
};

TEST(Seccomp, ArgumentOperators) {
    const ArgCase cases[] = {
        {"SCMP_CMP_EQ", 022, 0, {{022, true}, {023, false}, {0, false}}},
        {"SCMP_CMP_NE", 022, 0, {{022, false}, {023, true}, {0, true}}},
        {"SCMP_CMP_LT", 10, 0, {{9, true}, {10, false}, {11, false}}},
        {"SCMP_CMP_LE", 10, 0, {{9, true}, {10, true}, {11, false}}},
        {"SCMP_CMP_GT", 10, 0, {{9, false}, {10, false}, {11, true}}},
        {"SCMP_CMP_GE", 10, 0, {{9, false}, {10, true}, {11, true}}},
        // value is the mask, valueTwo what the masked argument must equal.
        {"SCMP_CMP_MASKED_EQ", 0700, 0100, {{0144, true}, {0100, true}, {0200, false}, {0, false}}},
    };
    for (const auto& c : cases) {
        auto p = compile_ok(profile(
            "SCMP_ACT_ALLOW", {rule({"umask"}, "SCMP_ACT_ERRNO", kMarkerErrno,
                                    {arg(0, c.op, c.value, c.value_two)})}));
        for (const auto& [value, filtered] : c.calls) {
            unsigned v = value;
            auto r = run_filtered(p, [v](int) { return errno_of(::syscall(SYS_umask, v)); });
            ASSERT_TRUE(r.exited) << c.op;
            EXPECT_EQ(r.code, filtered ? kMarkerErrno : 0) << c.op << " umask(0" << std::oct << v
                                                           << ")";
        }
    }
}

TEST(Seccomp, ConditionsOnDifferentArgumentsAreAnded) {
    // getpriority(which, who): errno only for which == PRIO_PROCESS and who == 4242.
    auto p = compile_ok(profile("SCMP_ACT_ALLOW",
                                {rule({"getpriority"}, "SCMP_ACT_ERRNO", kMarkerErrno,
                                      {arg(0, "SCMP_CMP_EQ", PRIO_PROCESS),
                                       arg(1, "SCMP_CMP_EQ", 4242)})}));
    auto r = run_filtered(p, [](int) {
        if (errno_of(::syscall(SYS_getpriority, PRIO_PROCESS, 4242)) != kMarkerErrno) return 1;
        if (errno_of(::syscall(SYS_getpriority, PRIO_PROCESS, 0)) == kMarkerErrno) return 2;
        if (errno_of(::syscall(SYS_getpriority, PRIO_PGRP, 4242)) == kMarkerErrno) return 3;
        return 0;
    });
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, 0);
}

TEST(Seccomp, ConditionsOnTheSameArgumentBecomeSeparateRules) {
    // As runc: two conditions on arg 0 are two rules, so either value matches.
    auto p = compile_ok(profile("SCMP_ACT_ALLOW",
                                {rule({"umask"}, "SCMP_ACT_ERRNO", kMarkerErrno,
                                      {arg(0, "SCMP_CMP_EQ", 1), arg(0, "SCMP_CMP_EQ", 2)})}));
    auto r = run_filtered(p, [](int) {
        if (errno_of(::syscall(SYS_umask, 1)) != kMarkerErrno) return 1;
        if (errno_of(::syscall(SYS_umask, 2)) != kMarkerErrno) return 2;
        if (errno_of(::syscall(SYS_umask, 3)) != 0) return 3;
        return 0;
    });
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, 0);
}

// The child loads a filter with a notify rule on getppid, forks a grandchild (which inherits
// the filter) and answers its getppid through the listener.
int notify_round_trip(int notify_fd) {
    if (notify_fd < 0) return 10;
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(::syscall(SYS_getppid) == 4242 ? 0 : 1);
    if (pid < 0) return 11;
    seccomp_notif req;
    std::memset(&req, 0, sizeof(req));
    if (::ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) return 12;
    if (req.data.nr != SYS_getppid) return 13;
    seccomp_notif_resp resp;
    std::memset(&resp, 0, sizeof(resp));
    resp.id = req.id;
    resp.val = 4242;
    if (::ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0) return 14;
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) return 15;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 16;
}

TEST(Seccomp, NotifyGivesAListener) {
    auto p = compile_ok(profile("SCMP_ACT_ALLOW", {rule({"getppid"}, "SCMP_ACT_NOTIFY")}));
    EXPECT_TRUE(p.has_listener);
    EXPECT_EQ(p.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER, 0u);  // added by load_seccomp
    auto r = run_filtered(p, notify_round_trip);
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, 0);
}

TEST(Seccomp, WaitKillableRecvWithAListener) {
    auto s = profile("SCMP_ACT_ALLOW", {rule({"getppid"}, "SCMP_ACT_NOTIFY")});
    s.flags = {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
    auto p = compile_ok(s);
    auto known = seccomp_known_flags();
    if (std::find(known.begin(), known.end(), "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") ==
        known.end())
        GTEST_SKIP() << "kernel lacks SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux >= 5.19)";
    EXPECT_EQ(p.flags, unsigned{SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV});
    auto r = run_filtered(p, notify_round_trip);
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, 0);
}

TEST(Seccomp, WaitKillableRecvWithoutAListenerIsDropped) {
    auto s = profile("SCMP_ACT_ALLOW", {rule({"getcwd"}, "SCMP_ACT_ERRNO")});
    s.flags = {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
    auto p = compile_ok(s);
    EXPECT_EQ(p.flags, 0u);
    auto r = run_filtered(p, [](int) { return 0; });
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, 0);
}

TEST(Seccomp, FlagsAreCarriedAndLoad) {
    auto s = profile("SCMP_ACT_ALLOW", {rule({"getcwd"}, "SCMP_ACT_ERRNO")});
    s.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
               "SECCOMP_FILTER_FLAG_TSYNC"};
    auto p = compile_ok(s);
    // TSYNC is accepted and ignored, as in runc.
    EXPECT_EQ(p.flags, unsigned{SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW});
    auto r = run_filtered(p, [](int) {
        char buf[64];
        return errno_of(::syscall(SYS_getcwd, buf, sizeof(buf)));
    });
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, EPERM);
}

TEST(Seccomp, ErrorsNameTheField) {
    EXPECT_EQ(compile_error(profile("SCMP_ACT_ALLOW", {rule({"getcwd"}, "SCMP_ACT_ERRNO"),
                                                       rule({"getppid"}, "SCMP_ACT_FOO")})),
              "linux.seccomp.syscalls[1].action: unknown action SCMP_ACT_FOO");
    EXPECT_EQ(compile_error(profile("SCMP_ACT_NOPE", {})),
              "linux.seccomp.defaultAction: unknown action SCMP_ACT_NOPE");
    EXPECT_EQ(compile_error(profile("SCMP_ACT_ALLOW",
                                    {rule({"umask"}, "SCMP_ACT_ERRNO", std::nullopt,
                                          {arg(0, "SCMP_CMP_EQ", 1), arg(1, "SCMP_CMP_XX", 1)})})),
              "linux.seccomp.syscalls[0].args[1].op: unknown operator SCMP_CMP_XX");
    EXPECT_EQ(compile_error(profile("SCMP_ACT_ALLOW",
                                    {rule({"umask"}, "SCMP_ACT_ERRNO", std::nullopt,
                                          {arg(6, "SCMP_CMP_EQ", 1)})})),
              "linux.seccomp.syscalls[0].args[0].index: 6 is not an argument index (0-5)");

    auto s = profile("SCMP_ACT_ALLOW", {});
    s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"};
    EXPECT_EQ(compile_error(s),
              "linux.seccomp.architectures[1]: unknown architecture SCMP_ARCH_VAX");

    s = profile("SCMP_ACT_ALLOW", {});
    s.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_BOGUS"};
    EXPECT_EQ(compile_error(s), "linux.seccomp.flags[1]: unknown flag SECCOMP_FILTER_FLAG_BOGUS");

    EXPECT_EQ(compile_error(profile("SCMP_ACT_NOTIFY", {})),
              "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
    EXPECT_NE(compile_error(profile("SCMP_ACT_ALLOW", {rule({"write"}, "SCMP_ACT_NOTIFY")}))
                  .find("linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY cannot be used for write"),
              std::string::npos);
    EXPECT_EQ(compile_error(profile("SCMP_ACT_ALLOW", {rule({"getcwd", ""}, "SCMP_ACT_ERRNO")})),
              "linux.seccomp.syscalls[0].names[1]: empty syscall name");
}

TEST(Seccomp, EveryArchitectureCompiles) {
    // libseccomp must accept each name we advertise, together with the native one; those of
    // the other byte order cannot join the filter and are skipped with a warning.
    for (const auto& a : seccomp_known_archs()) {
        auto s = profile("SCMP_ACT_ERRNO", {rule({"getcwd", "exit_group"}, "SCMP_ACT_ALLOW")});
        s.architectures = {a};
        auto r = compile_seccomp(s);
        EXPECT_TRUE(r) << a << ": " << (r ? "" : r.error().what());
    }
}

class SeccompCache : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-test-seccomp-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        cache_ = dir_ + "/cache";
    }
    void TearDown() override { (void)remove_all(dir_); }

    std::vector<std::string> entries() const {
        std::vector<std::string> out;
        if (DIR* d = ::opendir(cache_.c_str())) {
            while (dirent* e = ::readdir(d))
                if (e->d_name[0] != '.') out.push_back(cache_ + "/" + e->d_name);
            ::closedir(d);
        }
        return out;
    }

    std::string dir_, cache_;
};

TEST_F(SeccompCache, HitGivesTheSameProgram) {
    auto s = profile("SCMP_ACT_ERRNO", {rule({"getcwd", "exit_group", "rseq"}, "SCMP_ACT_ALLOW"),
                                        rule({"getppid"}, "SCMP_ACT_NOTIFY")});
    s.flags = {"SECCOMP_FILTER_FLAG_LOG"};
    auto fresh = compile_ok(s);
    auto first = compile_seccomp_cached(s, cache_);
    ASSERT_TRUE(first) << first.error().what();
    ASSERT_EQ(entries().size(), 1u);
    struct stat st {};
    ASSERT_EQ(::stat(cache_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    auto second = compile_seccomp_cached(s, cache_);
    ASSERT_TRUE(second) << second.error().what();
    for (const auto* p : {&*first, &*second}) {
        EXPECT_EQ(p->flags, fresh.flags);
        EXPECT_EQ(p->has_listener, fresh.has_listener);
        ASSERT_EQ(p->instructions.size(), fresh.instructions.size());
        EXPECT_EQ(std::memcmp(p->instructions.data(), fresh.instructions.data(),
                              fresh.instructions.size() * sizeof(sock_filter)),
                  0);
    }
    // Another profile is another entry.
    s.syscalls[0].names.push_back("getpid");
    ASSERT_TRUE(compile_seccomp_cached(s, cache_));
    EXPECT_EQ(entries().size(), 2u);
}

TEST_F(SeccompCache, BadEntriesAreIgnoredAndReplaced) {
    auto s = profile("SCMP_ACT_ALLOW", {rule({"getcwd"}, "SCMP_ACT_ERRNO")});
    auto fresh = compile_ok(s);
    ASSERT_TRUE(compile_seccomp_cached(s, cache_));
    auto files = entries();
    ASSERT_EQ(files.size(), 1u);
    const std::string entry = files[0];
    auto good = read_file(entry);
    ASSERT_TRUE(good);

    auto check = [&](const char* what) {
        auto r = compile_seccomp_cached(s, cache_);
        ASSERT_TRUE(r) << what;
        ASSERT_EQ(r->instructions.size(), fresh.instructions.size()) << what;
        EXPECT_EQ(std::memcmp(r->instructions.data(), fresh.instructions.data(),
                              fresh.instructions.size() * sizeof(sock_filter)),
                  0)
            << what;
    };
    // Truncated.
    ASSERT_TRUE(atomic_write_file(entry, good->substr(0, good->size() - 3), 0600));
    check("truncated");
    // Same name, different key (a hash collision or a stale entry): a program that allows all.
    std::string other = *good;
    other[20] ^= 1;
    ASSERT_TRUE(atomic_write_file(entry, other, 0600));
    check("other key");
    // Writable by others: never trusted, even with the right content.
    ASSERT_TRUE(atomic_write_file(entry, other, 0600));
    ASSERT_EQ(::chmod(entry.c_str(), 0666), 0);
    check("world-writable");
    // A symlink in place of the entry.
    ASSERT_EQ(::unlink(entry.c_str()), 0);
    ASSERT_EQ(::symlink("/etc/passwd", entry.c_str()), 0);
    check("symlink");
}

TEST_F(SeccompCache, UnwritableCacheStillCompiles) {
    ASSERT_TRUE(atomic_write_file(cache_, "not a directory", 0600));
    auto r = compile_seccomp_cached(profile("SCMP_ACT_ALLOW", {rule({"getcwd"}, "SCMP_ACT_ERRNO")}),
                                    cache_);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_FALSE(r->instructions.empty());
    // Errors in the profile are still errors.
    auto bad = compile_seccomp_cached(profile("SCMP_ACT_NOPE", {}), dir_ + "/cache2");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().msg, "linux.seccomp.defaultAction: unknown action SCMP_ACT_NOPE");
}

TEST(Seccomp, LoadFailureIsAnErrno) {
    SeccompProgram empty;
    EXPECT_EQ(load_seccomp(empty, nullptr), EINVAL);
}

TEST(Seccomp, KnownLists) {
    auto actions = seccomp_known_actions();
    EXPECT_EQ(actions.size(), 9u);
    EXPECT_TRUE(std::is_sorted(actions.begin(), actions.end()));
    EXPECT_NE(std::find(actions.begin(), actions.end(), "SCMP_ACT_KILL_PROCESS"), actions.end());
    auto ops = seccomp_known_operators();
    EXPECT_EQ(ops.size(), 7u);
    EXPECT_NE(std::find(ops.begin(), ops.end(), "SCMP_CMP_MASKED_EQ"), ops.end());
    auto archs = seccomp_known_archs();
    for (const char* a : {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
                          "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_S390X"})
        EXPECT_NE(std::find(archs.begin(), archs.end(), a), archs.end()) << a;
    auto flags = seccomp_known_flags();
    for (const char* f : {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                          "SECCOMP_FILTER_FLAG_SPEC_ALLOW"})
        EXPECT_NE(std::find(flags.begin(), flags.end(), f), flags.end()) << f;
}

}  // namespace
}  // namespace berth::runtime
