#include "berth/container/seccomp_profile.hpp"

#include <sched.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "berth/common/strings.hpp"

namespace berth::container {

namespace {

/// A profile in Docker's format, before it is reduced for one container.
struct Filter {
    std::vector<std::string> caps;
    std::vector<std::string> arches;
    std::string min_kernel;
};

struct DockerSyscall {
    std::vector<std::string> names;
    std::string action;
    std::optional<uint32_t> errno_ret;
    std::vector<oci::SeccompArg> args;
    Filter includes, excludes;
};

struct DockerProfile {
    std::string default_action;
    std::optional<uint32_t> default_errno_ret;
    std::vector<std::string> architectures;
    std::vector<std::pair<std::string, std::vector<std::string>>> arch_map;
    std::vector<std::string> flags;
    std::string listener_path, listener_metadata;
    std::vector<DockerSyscall> syscalls;
};

// ---- The default profile as data ---------------------------------------------------------

// Syscalls every container may make: moby's default.json allowlist (the policy), plus the
// syscalls of newer kernels that Docker 25+ allows (futex2, fchmodat2, cachestat,
// map_shadow_stack). Space-separated to keep the table readable.
constexpr const char* kAllowAlways =
    "accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown "
    "chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime "
    "clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect "
    "copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old "
    "epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit "
    "exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir "
    "fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr "
    "flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 "
    "fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv "
    "futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid "
    "geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp "
    "getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32 "
    "getrlimit get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid "
    "gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init inotify_init1 "
    "inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents "
    "io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit io_uring_enter "
    "io_uring_register io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset "
    "landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr llistxattr "
    "_llseek lremovexattr lseek lsetxattr lstat lstat64 madvise map_shadow_stack membarrier "
    "memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap "
    "mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 "
    "mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync "
    "munlock munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open openat "
    "openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect "
    "poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 "
    "pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv "
    "recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat "
    "renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask "
    "rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 "
    "rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max "
    "sched_get_priority_min sched_getscheduler sched_rr_get_interval "
    "sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam "
    "sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop "
    "semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 "
    "setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority "
    "setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 "
    "setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid "
    "setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 "
    "sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx "
    "symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create "
    "timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime "
    "timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime "
    "timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat "
    "utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev";

// The namespace flags clone(2) may not carry without CAP_SYS_ADMIN.
constexpr uint64_t kCloneNsFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                   CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

/// One row of the default profile. Lists are space-separated; "" means none.
struct Row {
    const char* names;
    const char* inc_caps = "";
    const char* inc_arches = "";
    const char* exc_caps = "";
    const char* exc_arches = "";
    const char* min_kernel = "";
    // At most one argument condition per row (several rows make an OR, as in default.json).
    const char* arg_op = nullptr;
    unsigned arg_index = 0;
    uint64_t arg_value = 0;
    uint32_t errno_ret = 0;  ///< non-zero: SCMP_ACT_ERRNO with this errno instead of ALLOW
};

// clang-format off
constexpr Row kRows[] = {
    {kAllowAlways},
    {"process_vm_readv process_vm_writev ptrace", "", "", "", "", "4.8"},
    // Every socket family but AF_VSOCK (40), which reaches the host's hypervisor sockets.
    {"socket", "", "", "", "", "", "SCMP_CMP_NE", 0, 40},
    // personality(2) only with the harmless domains: PER_LINUX, PER_LINUX32, UNAME26 variants
    // and the query 0xffffffff.
    {"personality", "", "", "", "", "", "SCMP_CMP_EQ", 0, 0x0},
    {"personality", "", "", "", "", "", "SCMP_CMP_EQ", 0, 0x0008},
    {"personality", "", "", "", "", "", "SCMP_CMP_EQ", 0, 0x20000},
    {"personality", "", "", "", "", "", "SCMP_CMP_EQ", 0, 0x20008},
    {"personality", "", "", "", "", "", "SCMP_CMP_EQ", 0, 0xffffffff},
    {"sync_file_range2 swapcontext", "", "ppc64le"},
    {"arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls", "",
     "arm arm64"},
    {"arch_prctl", "", "amd64 x32"},
    {"modify_ldt", "", "amd64 x32 x86"},
    {"s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr", "", "s390 s390x"},
    {"riscv_flush_icache", "", "riscv64"},
    {"open_by_handle_at", "CAP_DAC_READ_SEARCH"},
    {"bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount "
     "mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname "
     "sethostname setns syslog umount umount2 unshare", "CAP_SYS_ADMIN"},
    // Without CAP_SYS_ADMIN, clone only without namespace flags (flags are argument 1 on s390).
    {"clone", "", "", "CAP_SYS_ADMIN", "s390 s390x", "", "SCMP_CMP_MASKED_EQ", 0, kCloneNsFlags},
    {"clone", "", "s390 s390x", "CAP_SYS_ADMIN", "", "", "SCMP_CMP_MASKED_EQ", 1, kCloneNsFlags},
    // clone3 passes its flags in memory seccomp can't read: ENOSYS makes glibc use clone.
    {"clone3", "", "", "CAP_SYS_ADMIN", "", "", nullptr, 0, 0, ENOSYS},
    {"reboot", "CAP_SYS_BOOT"},
    {"chroot", "CAP_SYS_CHROOT"},
    {"delete_module init_module finit_module", "CAP_SYS_MODULE"},
    {"acct", "CAP_SYS_PACCT"},
    {"kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
     "CAP_SYS_PTRACE"},
    {"iopl ioperm", "CAP_SYS_RAWIO"},
    {"settimeofday stime clock_settime clock_settime64", "CAP_SYS_TIME"},
    {"vhangup", "CAP_SYS_TTY_CONFIG"},
    {"get_mempolicy mbind set_mempolicy set_mempolicy_home_node", "CAP_SYS_NICE"},
    {"syslog", "CAP_SYSLOG"},
    {"bpf", "CAP_BPF"},
    {"perf_event_open", "CAP_PERFMON"},
};

// Native architecture -> the libseccomp architectures a container of it may use (archMap).
struct ArchFamily {
    const char* native;
    const char* arch;
    const char* sub_arches;
};
constexpr ArchFamily kArchMap[] = {
    {"amd64", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86 SCMP_ARCH_X32"},
    {"arm64", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"},
    {"mips64", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS SCMP_ARCH_MIPS64N32"},
    {"mips64n32", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPS SCMP_ARCH_MIPS64"},
    {"mipsel64", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL SCMP_ARCH_MIPSEL64N32"},
    {"mips3l64n32", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_MIPSEL SCMP_ARCH_MIPSEL64"},
    {"s390x", "SCMP_ARCH_S390X", "SCMP_ARCH_S390"},
    {"riscv64", "SCMP_ARCH_RISCV64", ""},
};

// libseccomp native name -> SCMP_ARCH_* (moby's nativeToSeccomp), to pick the archMap entry.
constexpr std::pair<const char*, const char*> kNativeToScmp[] = {
    {"x86", "SCMP_ARCH_X86"},         {"amd64", "SCMP_ARCH_X86_64"},
    {"arm", "SCMP_ARCH_ARM"},         {"arm64", "SCMP_ARCH_AARCH64"},
    {"mips64", "SCMP_ARCH_MIPS64"},   {"mips64n32", "SCMP_ARCH_MIPS64N32"},
    {"mipsel64", "SCMP_ARCH_MIPSEL64"}, {"mips3l64n32", "SCMP_ARCH_MIPSEL64N32"},
    {"mipsle", "SCMP_ARCH_MIPSEL"},   {"ppc", "SCMP_ARCH_PPC"},
    {"ppc64", "SCMP_ARCH_PPC64"},     {"ppc64le", "SCMP_ARCH_PPC64LE"},
    {"s390", "SCMP_ARCH_S390"},       {"s390x", "SCMP_ARCH_S390X"},
    {"riscv64", "SCMP_ARCH_RISCV64"},
};
// clang-format on

std::vector<std::string> words(std::string_view s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        size_t j = s.find(' ', i);
        if (j == std::string_view::npos) j = s.size();
        if (j > i) out.emplace_back(s.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

DockerProfile default_profile_data() {
    DockerProfile p;
    p.default_action = "SCMP_ACT_ERRNO";
    p.default_errno_ret = EPERM;
    for (const ArchFamily& f : kArchMap) p.arch_map.emplace_back(f.arch, words(f.sub_arches));
    for (const Row& r : kRows) {
        DockerSyscall s;
        s.names = words(r.names);
        s.action = r.errno_ret ? "SCMP_ACT_ERRNO" : "SCMP_ACT_ALLOW";
        if (r.errno_ret) s.errno_ret = r.errno_ret;
        if (r.arg_op) s.args.push_back(oci::SeccompArg{r.arg_index, r.arg_value, 0, r.arg_op});
        s.includes = Filter{words(r.inc_caps), words(r.inc_arches), r.min_kernel};
        s.excludes = Filter{words(r.exc_caps), words(r.exc_arches), ""};
        p.syscalls.push_back(std::move(s));
    }
    return p;
}

// ---- Reduction for one container (moby's setupSeccomp) -----------------------------------

/// "major.minor[.patch]" of a kernel release or a minKernel value; nullopt if unparsable.
std::optional<std::vector<int>> kernel_version(std::string_view s) {
    std::vector<int> v;
    size_t i = 0;
    while (v.size() < 3 && i < s.size() && s[i] >= '0' && s[i] <= '9') {
        int n = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') n = n * 10 + (s[i++] - '0');
        v.push_back(n);
        if (i < s.size() && s[i] == '.')
            ++i;
        else
            break;
    }
    if (v.size() < 2) return std::nullopt;
    v.resize(3, 0);
    return v;
}

Result<bool> kernel_at_least(const std::string& min) {
    auto want = kernel_version(min);
    if (!want)
        return make_error(Errc::InvalidArgument,
                          "invalid kernel version \"{}\": expected major.minor[.patch]", min);
    static const std::optional<std::vector<int>> have = [] {
        struct utsname u {};
        if (uname(&u) != 0) return std::optional<std::vector<int>>{};
        return kernel_version(u.release);
    }();
    if (!have) return false;
    return *have >= *want;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

Result<oci::Seccomp> reduce(const DockerProfile& p, const std::vector<std::string>& caps,
                            std::string_view arch, bool dedupe) {
    oci::Seccomp out;
    if (p.default_action.empty() && p.syscalls.empty()) return out;  // "no seccomp"
    if (!p.architectures.empty() && !p.arch_map.empty())
        return make_error(Errc::InvalidArgument,
                          "'architectures' and 'archMap' were specified in the seccomp profile, "
                          "use either 'architectures' or 'archMap'");
    out.architectures = p.architectures;
    std::string scmp_arch;
    for (const auto& [native, scmp] : kNativeToScmp)
        if (arch == native) scmp_arch = scmp;
    for (const auto& [a, subs] : p.arch_map) {
        if (a != scmp_arch || scmp_arch.empty()) continue;
        out.architectures.push_back(a);
        out.architectures.insert(out.architectures.end(), subs.begin(), subs.end());
        break;
    }
    out.default_action = p.default_action;
    out.default_errno_ret = p.default_errno_ret;
    out.flags = p.flags;
    out.listener_path = p.listener_path;
    out.listener_metadata = p.listener_metadata;

    std::set<std::string> always;  // names already allowed without conditions
    for (const DockerSyscall& s : p.syscalls) {
        const Filter& ex = s.excludes;
        const Filter& in = s.includes;
        if (!ex.arches.empty() && contains(ex.arches, arch)) continue;
        if (std::any_of(ex.caps.begin(), ex.caps.end(),
                        [&](const std::string& c) { return contains(caps, c); }))
            continue;
        if (!ex.min_kernel.empty() &&
            BERTH_TRY_CTX(kernel_at_least(ex.min_kernel), "excludes.minKernel"))
            continue;
        if (!in.arches.empty() && !contains(in.arches, arch)) continue;
        if (!std::all_of(in.caps.begin(), in.caps.end(),
                         [&](const std::string& c) { return contains(caps, c); }))
            continue;
        if (!in.min_kernel.empty() &&
            !BERTH_TRY_CTX(kernel_at_least(in.min_kernel), "includes.minKernel"))
            continue;

        oci::SeccompSyscall o;
        o.action = s.action;
        o.errno_ret = s.errno_ret;
        o.args = s.args;
        bool plain_allow = s.action == "SCMP_ACT_ALLOW" && s.args.empty();
        for (const std::string& n : s.names) {
            if (dedupe && plain_allow && always.count(n)) continue;
            o.names.push_back(n);
        }
        if (o.names.empty()) continue;
        if (plain_allow) always.insert(o.names.begin(), o.names.end());
        out.syscalls.push_back(std::move(o));
    }
    return out;
}

// ---- Docker-format JSON ------------------------------------------------------------------

using nlohmann::json;

std::vector<std::string> string_list(const json& j, const char* key) {
    std::vector<std::string> v;
    if (auto it = j.find(key); it != j.end() && !it->is_null())
        v = it->get<std::vector<std::string>>();
    return v;
}

std::string string_field(const json& j, const char* key) {
    if (auto it = j.find(key); it != j.end() && !it->is_null()) return it->get<std::string>();
    return {};
}

Filter parse_filter(const json& j, const char* key) {
    Filter f;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return f;
    f.caps = string_list(*it, "caps");
    f.arches = string_list(*it, "arches");
    f.min_kernel = string_field(*it, "minKernel");
    return f;
}

Result<DockerProfile> parse_profile(std::string_view text) {
    DockerProfile p;
    try {
        json j = json::parse(text);
        if (!j.is_object())
            return make_error(Errc::InvalidArgument,
                              "Decoding seccomp profile failed: not a JSON object");
        p.default_action = string_field(j, "defaultAction");
        if (auto it = j.find("defaultErrnoRet"); it != j.end() && !it->is_null())
            p.default_errno_ret = it->get<uint32_t>();
        p.architectures = string_list(j, "architectures");
        if (auto it = j.find("archMap"); it != j.end() && !it->is_null()) {
            for (const json& a : *it)
                p.arch_map.emplace_back(string_field(a, "architecture"),
                                        string_list(a, "subArchitectures"));
        }
        p.flags = string_list(j, "flags");
        p.listener_path = string_field(j, "listenerPath");
        p.listener_metadata = string_field(j, "listenerMetadata");
        if (auto it = j.find("syscalls"); it != j.end() && !it->is_null()) {
            size_t i = 0;
            for (const json& c : *it) {
                DockerSyscall s;
                std::string name = string_field(c, "name");
                s.names = string_list(c, "names");
                if (!name.empty() && !s.names.empty())
                    return make_error(Errc::InvalidArgument,
                                      "syscalls[{}]: 'name' and 'names' were specified in the "
                                      "seccomp profile, use either 'name' or 'names'",
                                      i);
                if (!name.empty()) s.names = {name};
                s.action = string_field(c, "action");
                if (s.action.empty())
                    return make_error(Errc::InvalidArgument, "syscalls[{}]: no action", i);
                if (auto e = c.find("errnoRet"); e != c.end() && !e->is_null())
                    s.errno_ret = e->get<uint32_t>();
                if (auto a = c.find("args"); a != c.end() && !a->is_null()) {
                    for (const json& arg : *a) {
                        oci::SeccompArg sa;
                        sa.index = arg.value("index", 0u);
                        sa.value = arg.value("value", uint64_t{0});
                        sa.value_two = arg.value("valueTwo", uint64_t{0});
                        sa.op = string_field(arg, "op");
                        s.args.push_back(std::move(sa));
                    }
                }
                s.includes = parse_filter(c, "includes");
                s.excludes = parse_filter(c, "excludes");
                p.syscalls.push_back(std::move(s));
                ++i;
            }
        }
    } catch (const json::exception& e) {
        return make_error(Errc::InvalidArgument, "Decoding seccomp profile failed: {}", e.what());
    }
    return p;
}

}  // namespace

std::string_view native_seccomp_arch() noexcept {
#if defined(__x86_64__) && defined(__ILP32__)
    return "x32";
#elif defined(__x86_64__)
    return "amd64";
#elif defined(__i386__)
    return "x86";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__arm__)
    return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return "ppc64le";
#elif defined(__powerpc64__)
    return "ppc64";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#else
    return "";
#endif
}

oci::Seccomp default_seccomp_profile(const std::vector<std::string>& caps, std::string_view arch) {
    // Every container start asks for it and nearly all with the same capabilities: the
    // reductions made are kept (building the table and reducing it took a fifth of a
    // millisecond of each start). The kernel doesn't change under us; the table is constant.
    static const DockerProfile data = default_profile_data();
    static std::mutex mu;
    static std::map<std::string, oci::Seccomp, std::less<>> made;
    std::string key(arch);
    for (const auto& c : caps) (key += '\n') += c;
    std::lock_guard lk(mu);
    if (auto it = made.find(key); it != made.end()) return it->second;
    // The built-in table has valid minKernel values only, so reduce cannot fail.
    auto r = reduce(data, caps, arch, true);
    oci::Seccomp out = r ? std::move(*r) : oci::Seccomp{};
    if (made.size() >= 32) made.clear();  // --cap-add/--cap-drop can make any number of sets
    made.emplace(std::move(key), out);
    return out;
}

Result<oci::Seccomp> parse_docker_seccomp_profile(std::string_view json_text,
                                                  const std::vector<std::string>& caps,
                                                  std::string_view arch) {
    DockerProfile p = BERTH_TRY(parse_profile(json_text));
    return reduce(p, caps, arch, false);
}

}  // namespace berth::container
