// linux.seccomp → classic BPF with libseccomp, then a raw seccomp(2) at load time.
//
// The shape follows runc (libcontainer/seccomp/seccomp_linux.go and patchbpf/): libseccomp
// builds the filter, we export it as BPF, prepend an "-ENOSYS for syscalls newer than the
// profile" stub, and load the result ourselves so that the flags (LOG, SPEC_ALLOW,
// NEW_LISTENER, ...) and no_new_privs stay under the runtime's control.

#include "berth/runtime/seccomp.hpp"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/unique_fd.hpp"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_GET_ACTION_AVAIL
#define SECCOMP_GET_ACTION_AVAIL 2
#endif

namespace berth::runtime {
namespace {

constexpr const char* kPath = "linux.seccomp";
// The kernel's BPF_MAXINSNS: a longer program is refused with EINVAL at load time.
constexpr size_t kMaxInstructions = 4096;
// x32 system calls are x86_64 ones with this bit set in the number (__X32_SYSCALL_BIT).
constexpr uint32_t kX32SyscallBit = 0x40000000U;

enum class Action { KillThread, KillProcess, Trap, Errno, Trace, Allow, Log, Notify };

struct ActionName {
    std::string_view name;
    Action action;
};

// runc's table (libcontainer/seccomp/config.go); SCMP_ACT_KILL is KILL_THREAD there too.
constexpr std::array<ActionName, 9> kActions{{
    {"SCMP_ACT_KILL", Action::KillThread},
    {"SCMP_ACT_KILL_THREAD", Action::KillThread},
    {"SCMP_ACT_KILL_PROCESS", Action::KillProcess},
    {"SCMP_ACT_TRAP", Action::Trap},
    {"SCMP_ACT_ERRNO", Action::Errno},
    {"SCMP_ACT_TRACE", Action::Trace},
    {"SCMP_ACT_ALLOW", Action::Allow},
    {"SCMP_ACT_LOG", Action::Log},
    {"SCMP_ACT_NOTIFY", Action::Notify},
}};

struct OpName {
    std::string_view name;
    scmp_compare op;
};

constexpr std::array<OpName, 7> kOperators{{
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
}};

struct ArchName {
    std::string_view name;
    uint32_t token;  ///< SCMP_ARCH_*
};

// Every name runc accepts (config.go) that this libseccomp knows.
constexpr ArchName kArchs[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#endif
};

struct FlagName {
    std::string_view name;
    unsigned flag;
};

// TSYNC is accepted and ignored, as runc does: the container's init is single-threaded, and
// TSYNC together with NEW_LISTENER is EINVAL.
constexpr std::array<FlagName, 4> kFlags{{
    {"SECCOMP_FILTER_FLAG_TSYNC", 0},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
}};

std::optional<Action> find_action(std::string_view name) {
    for (const auto& a : kActions)
        if (a.name == name) return a.action;
    return std::nullopt;
}

std::optional<scmp_compare> find_operator(std::string_view name) {
    for (const auto& o : kOperators)
        if (o.name == name) return o.op;
    return std::nullopt;
}

std::optional<uint32_t> find_arch(std::string_view name) {
    for (const auto& a : kArchs)
        if (a.name == name) return a.token;
    return std::nullopt;
}

// The libseccomp action value; errno_ret only matters for ERRNO and TRACE.
uint32_t scmp_action(Action a, std::optional<uint32_t> errno_ret) {
    uint32_t ret = errno_ret.value_or(EPERM);
    switch (a) {
        case Action::KillThread: return SCMP_ACT_KILL_THREAD;
        case Action::KillProcess: return SCMP_ACT_KILL_PROCESS;
        case Action::Trap: return SCMP_ACT_TRAP;
        case Action::Errno: return SCMP_ACT_ERRNO(ret);
        case Action::Trace: return SCMP_ACT_TRACE(ret);
        case Action::Allow: return SCMP_ACT_ALLOW;
        case Action::Log: return SCMP_ACT_LOG;
        case Action::Notify: return SCMP_ACT_NOTIFY;
    }
    return SCMP_ACT_KILL_PROCESS;
}

// Actions after which an unknown syscall should still run (runc's isAllowAction): a filter
// with such a default needs no -ENOSYS stub.
bool is_allow_like(Action a) {
    return a == Action::Allow || a == Action::Log || a == Action::Trace;
}

struct CtxDeleter {
    void operator()(void* ctx) const noexcept { seccomp_release(ctx); }
};

// --- -ENOSYS stub --------------------------------------------------------------------------
//
// A profile written for an older kernel lists no rule for system calls added since, so they
// would get the default action (usually EPERM or a kill). Programs (glibc first) probe new
// syscalls and fall back only on ENOSYS, so runc prepends a stub returning ENOSYS for any
// syscall number above the largest one the profile names, per architecture. We do the same.

// A tiny assembler with symbolic jump targets, so the stub's offsets are computed, not counted.
class StubAssembler {
public:
    static constexpr int kNone = -1;
    int new_label() {
        labels_.push_back(-1);
        return static_cast<int>(labels_.size()) - 1;
    }
    void bind(int label) { labels_[label] = static_cast<int>(insns_.size()); }
    void stmt(uint16_t code, uint32_t k) { insns_.push_back({{code, 0, 0, k}, kNone, kNone}); }
    // Conditional jump: a label, or kNone for "fall through".
    void jump(uint16_t code, uint32_t k, int jt, int jf) {
        insns_.push_back({{code, 0, 0, k}, jt, jf});
    }
    void ja(int label) { insns_.push_back({{BPF_JMP | BPF_JA, 0, 0, 0}, label, kNone, true}); }

    // Resolves the labels; nullopt if a conditional jump is longer than 255 instructions.
    std::optional<std::vector<sock_filter>> finish() const {
        std::vector<sock_filter> out;
        out.reserve(insns_.size());
        for (size_t i = 0; i < insns_.size(); ++i) {
            sock_filter f = insns_[i].f;
            auto dist = [&](int label) -> long {
                return labels_[label] - static_cast<long>(i) - 1;
            };
            if (insns_[i].is_ja) {
                f.k = static_cast<uint32_t>(dist(insns_[i].jt));
            } else {
                if (insns_[i].jt != kNone) {
                    long d = dist(insns_[i].jt);
                    if (d < 0 || d > 255) return std::nullopt;
                    f.jt = static_cast<uint8_t>(d);
                }
                if (insns_[i].jf != kNone) {
                    long d = dist(insns_[i].jf);
                    if (d < 0 || d > 255) return std::nullopt;
                    f.jf = static_cast<uint8_t>(d);
                }
            }
            out.push_back(f);
        }
        return out;
    }

private:
    struct Insn {
        sock_filter f;
        int jt;
        int jf;
        bool is_ja = false;
    };
    std::vector<Insn> insns_;
    std::vector<int> labels_;
};

// The AUDIT_ARCH_* value the kernel reports in seccomp_data.arch for a libseccomp arch token.
uint32_t audit_arch(uint32_t token) { return token == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : token; }

// Builds the stub for the given architectures; empty if there is nothing to patch.
std::optional<std::vector<sock_filter>> build_enosys_stub(const oci::Seccomp& s,
                                                          const std::vector<uint32_t>& arches) {
    // audit arch → (libseccomp arch → largest syscall number the profile names).
    std::map<uint32_t, std::map<uint32_t, uint32_t>> last;
    for (uint32_t arch : arches) {
        int largest = -1;
        for (const auto& sc : s.syscalls)
            for (const auto& name : sc.names) {
                int nr = seccomp_syscall_resolve_name_arch(arch, name.c_str());
                if (nr >= 0) largest = std::max(largest, nr);  // negative: unknown or pseudo
            }
        if (largest > 0) last[audit_arch(arch)][arch] = static_cast<uint32_t>(largest);
    }
    if (last.empty()) return std::vector<sock_filter>{};

    StubAssembler a;
    const int filter = a.new_label();
    const int enosys = a.new_label();
    std::vector<std::pair<uint32_t, int>> sections;
    for (const auto& [native, _] : last) sections.emplace_back(native, a.new_label());

    a.stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
    for (const auto& [native, label] : sections)
        a.jump(BPF_JMP | BPF_JEQ | BPF_K, native, label, StubAssembler::kNone);
    a.ja(filter);

    for (const auto& [native, label] : sections) {
        const auto& per_arch = last[native];
        a.bind(label);
        a.stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
        if (native == AUDIT_ARCH_X86_64) {
            auto amd64 = per_arch.find(SCMP_ARCH_X86_64);
            auto x32 = per_arch.find(SCMP_ARCH_X32);
            const int x32_check = a.new_label();
            const int out = a.new_label();
            // Bit 30 set: an x32 call. Route it to its own limit, or to the filter if the
            // profile has no x32 part (libseccomp then applies its bad-arch action).
            a.jump(BPF_JMP | BPF_JSET | BPF_K, kX32SyscallBit,
                   x32 != per_arch.end() ? x32_check : out, StubAssembler::kNone);
            if (amd64 != per_arch.end())
                a.jump(BPF_JMP | BPF_JGT | BPF_K, amd64->second, enosys, out);
            else
                a.ja(out);
            a.bind(x32_check);
            if (x32 != per_arch.end())
                a.jump(BPF_JMP | BPF_JGT | BPF_K, x32->second, enosys, StubAssembler::kNone);
            a.bind(out);
            a.ja(filter);
            continue;
        }
        const auto& [arch, largest] = *per_arch.begin();
        if (arch == SCMP_ARCH_S390 || arch == SCMP_ARCH_S390X) {
            // s390 multiplexes large syscall numbers through number 0 (setup(2)); the kernel
            // leaves unknown ones there, so 0 must get ENOSYS too (runc does the same).
            a.jump(BPF_JMP | BPF_JEQ | BPF_K, 0, enosys, StubAssembler::kNone);
        }
        a.jump(BPF_JMP | BPF_JGT | BPF_K, largest, enosys, StubAssembler::kNone);
        a.ja(filter);
    }
    a.bind(enosys);
    a.stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
    a.bind(filter);
    return a.finish();
}

// seccomp_export_bpf writes to an fd (libseccomp 2.5.4 has no in-memory export); a memfd
// takes any size without a reader thread.
Result<std::vector<sock_filter>> export_bpf(scmp_filter_ctx ctx) {
    UniqueFd fd(::memfd_create("berth-seccomp-bpf", MFD_CLOEXEC));
    if (!fd) return BERTH_SYS_ERROR("{}: memfd_create for the BPF export", kPath);
    int rc = seccomp_export_bpf(ctx, fd.get());
    if (rc < 0) return sys_error(-rc, "{}: export the compiled BPF program", kPath);
    off_t size = ::lseek(fd.get(), 0, SEEK_END);
    if (size < 0) return BERTH_SYS_ERROR("{}: size the BPF export", kPath);
    if (size % sizeof(sock_filter) != 0)
        return make_error(Errc::Internal, "{}: BPF export of {} bytes is not whole instructions",
                          kPath, size);
    std::vector<sock_filter> insns(static_cast<size_t>(size) / sizeof(sock_filter));
    auto* p = reinterpret_cast<char*>(insns.data());
    size_t done = 0;
    while (done < static_cast<size_t>(size)) {
        ssize_t n = ::pread(fd.get(), p + done, static_cast<size_t>(size) - done,
                            static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return BERTH_SYS_ERROR("{}: read back the BPF export", kPath);
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    if (done != static_cast<size_t>(size))
        return make_error(Errc::Internal, "{}: BPF export shrank while reading it", kPath);
    return insns;
}

// Asks the kernel whether it knows a filter flag: with a NULL program a known flag fails on
// the copy (EFAULT), an unknown one on the flag check (EINVAL). libseccomp probes the same way.
bool kernel_knows_flag(unsigned flag) noexcept {
    if (flag == 0) return true;
    if (flag & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) flag |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, nullptr);
    return rc < 0 && errno == EFAULT;
}

}  // namespace

Result<SeccompProgram> compile_seccomp(const oci::Seccomp& s) {
    // Validate the names first, so a bad profile fails with the field that is wrong.
    auto default_action = find_action(s.default_action);
    if (!default_action)
        return make_error(Errc::InvalidArgument, "{}.defaultAction: unknown action {}", kPath,
                          s.default_action.empty() ? "\"\"" : s.default_action);
    if (*default_action == Action::Notify)
        // The init must still write the listener fd to its parent; a notify default would
        // make that write wait on an agent that has not got the fd yet (runc refuses it too).
        return make_error(Errc::InvalidArgument,
                          "{}.defaultAction: SCMP_ACT_NOTIFY cannot be the default action", kPath);

    SeccompProgram prog;
    for (size_t i = 0; i < s.flags.size(); ++i) {
        auto it = std::find_if(kFlags.begin(), kFlags.end(),
                               [&](const FlagName& f) { return f.name == s.flags[i]; });
        if (it == kFlags.end())
            return make_error(Errc::InvalidArgument, "{}.flags[{}]: unknown flag {}", kPath, i,
                              s.flags[i]);
        prog.flags |= it->flag;
    }

    std::vector<uint32_t> arches;
    for (size_t i = 0; i < s.architectures.size(); ++i) {
        auto arch = find_arch(s.architectures[i]);
        if (!arch)
            return make_error(Errc::InvalidArgument,
                              "{}.architectures[{}]: unknown architecture {}", kPath, i,
                              s.architectures[i]);
        arches.push_back(*arch);
    }

    struct Rule {
        size_t index;
        Action action;
        uint32_t scmp_action;
        std::vector<scmp_arg_cmp> args;
        bool same_index_twice;
    };
    std::vector<Rule> rules;
    for (size_t i = 0; i < s.syscalls.size(); ++i) {
        const auto& sc = s.syscalls[i];
        auto action = find_action(sc.action);
        if (!action)
            return make_error(Errc::InvalidArgument, "{}.syscalls[{}].action: unknown action {}",
                              kPath, i, sc.action.empty() ? "\"\"" : sc.action);
        Rule r{i, *action, scmp_action(*action, sc.errno_ret), {}, false};
        std::array<int, 6> per_index{};
        for (size_t j = 0; j < sc.args.size(); ++j) {
            const auto& arg = sc.args[j];
            auto op = find_operator(arg.op);
            if (!op)
                return make_error(Errc::InvalidArgument,
                                  "{}.syscalls[{}].args[{}].op: unknown operator {}", kPath, i, j,
                                  arg.op.empty() ? "\"\"" : arg.op);
            if (arg.index >= per_index.size())
                return make_error(Errc::InvalidArgument,
                                  "{}.syscalls[{}].args[{}].index: {} is not an argument index "
                                  "(0-5)",
                                  kPath, i, j, arg.index);
            if (++per_index[arg.index] > 1) r.same_index_twice = true;
            // For MASKED_EQ, datum_a is the mask (value) and datum_b the expected (valueTwo).
            r.args.push_back(scmp_arg_cmp{arg.index, *op, arg.value, arg.value_two});
        }
        for (size_t n = 0; n < sc.names.size(); ++n) {
            if (sc.names[n].empty())
                return make_error(Errc::InvalidArgument,
                                  "{}.syscalls[{}].names[{}]: empty syscall name", kPath, i, n);
            if (*action == Action::Notify && sc.names[n] == "write")
                return make_error(Errc::InvalidArgument,
                                  "{}.syscalls[{}]: SCMP_ACT_NOTIFY cannot be used for write "
                                  "(the init writes the listener fd to its parent)",
                                  kPath, i);
        }
        if (*action == Action::Notify && !sc.names.empty()) prog.has_listener = true;
        rules.push_back(std::move(r));
    }

    const uint32_t def = scmp_action(*default_action, s.default_errno_ret);
    std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(def));
    if (!ctx) return make_error(Errc::Internal, "{}: seccomp_init failed", kPath);

    // no_new_privs is the runtime's decision (process.noNewPrivileges), not libseccomp's.
    if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0); rc < 0)
        return sys_error(-rc, "{}: clear libseccomp's no_new_privs attribute", kPath);
    size_t syscall_count = 0;
    for (const auto& sc : s.syscalls) syscall_count += sc.names.size();
    if (syscall_count > 32) {
        // A binary tree of syscall numbers instead of a linear list (runc does the same past
        // 32 rules; libseccomp <= 2.5.4 misbehaves with the tree and no rules at all).
        if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2); rc < 0)
            BLOG_DEBUG("seccomp binary tree optimisation unavailable: {}", std::strerror(-rc));
    }

    std::vector<uint32_t> added;
    for (size_t i = 0; i < arches.size(); ++i) {
        int rc = seccomp_arch_add(ctx.get(), arches[i]);
        if (rc == -EDOM) {
            // An architecture of the other endianness cannot share a filter with the native
            // one, and this kernel can never run its system calls anyway (runc fails here).
            BLOG_WARN("{}.architectures[{}]: {} ignored: its byte order differs from this host's",
                      kPath, i, s.architectures[i]);
            continue;
        }
        if (rc < 0 && rc != -EEXIST)  // the native arch is always in already
            return sys_error(-rc, "{}.architectures[{}]: add architecture {}", kPath, i,
                             s.architectures[i]);
        added.push_back(arches[i]);
    }

    for (const auto& r : rules) {
        // libseccomp refuses a rule whose action is the default one; it is redundant anyway.
        if (r.scmp_action == def) continue;
        for (const auto& name : s.syscalls[r.index].names) {
            int nr = seccomp_syscall_resolve_name(name.c_str());
            if (nr == __NR_SCMP_ERROR) {
                // The profile may be newer than this libseccomp or kernel.
                BLOG_DEBUG("seccomp: unknown syscall {} ignored", name);
                continue;
            }
            int rc = 0;
            if (r.same_index_twice) {
                // libseccomp cannot AND two conditions on one argument; runc falls back to one
                // rule per condition (an OR), and so do we, to accept the same profiles.
                for (const auto& cmp : r.args) {
                    rc = seccomp_rule_add_array(ctx.get(), r.scmp_action, nr, 1, &cmp);
                    if (rc < 0) break;
                }
            } else {
                rc = seccomp_rule_add_array(ctx.get(), r.scmp_action, nr,
                                            static_cast<unsigned>(r.args.size()),
                                            r.args.empty() ? nullptr : r.args.data());
            }
            if (rc < 0)
                return sys_error(-rc, "{}.syscalls[{}]: add rule for syscall {}", kPath, r.index,
                                 name);
        }
    }

    prog.instructions = BERTH_TRY(export_bpf(ctx.get()));

    const bool default_is_enosys =
        *default_action == Action::Errno && s.default_errno_ret.value_or(EPERM) == ENOSYS;
    if (!is_allow_like(*default_action) && !default_is_enosys) {
        // With no architectures listed the filter holds the native one only (runc's stub then
        // does nothing; protecting the native arch is what the stub is for, so we do).
        std::vector<uint32_t> stub_arches = added;
        if (stub_arches.empty()) stub_arches.push_back(seccomp_arch_native());
        auto stub = build_enosys_stub(s, stub_arches);
        if (!stub) {
            BLOG_WARN("seccomp: -ENOSYS stub does not fit short jumps; loading the filter as is");
        } else {
            prog.instructions.insert(prog.instructions.begin(), stub->begin(), stub->end());
        }
    }

    if (prog.instructions.empty())
        return make_error(Errc::Internal, "{}: libseccomp produced an empty program", kPath);
    if (prog.instructions.size() > kMaxInstructions)
        return make_error(Errc::InvalidArgument,
                          "{}: the filter has {} instructions, more than the kernel's {}", kPath,
                          prog.instructions.size(), kMaxInstructions);
    if ((prog.flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) && !prog.has_listener) {
        // The kernel refuses the flag without a listener; with no notify rule it means nothing.
        BLOG_DEBUG("seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored without a notify rule");
        prog.flags &= ~static_cast<unsigned>(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
    }
    return prog;
}

int load_seccomp(const SeccompProgram& p, int* notify_fd) noexcept {
    if (p.instructions.empty() || p.instructions.size() > kMaxInstructions) return EINVAL;
    sock_fprog fprog{};
    fprog.len = static_cast<unsigned short>(p.instructions.size());
    fprog.filter = const_cast<sock_filter*>(p.instructions.data());
    unsigned long flags = p.flags;
    if (p.has_listener) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
    if (rc < 0) return errno;
    if (p.has_listener) {
        if (notify_fd != nullptr)
            *notify_fd = static_cast<int>(rc);
        else
            ::close(static_cast<int>(rc));  // nobody to hand it to; don't leak it into execve
    }
    return 0;
}

namespace {

// --- cache of compiled programs ------------------------------------------------------------

constexpr std::string_view kCacheMagic = "BERTH-SECCOMP-BPF 1\n";

void put_str(std::string& out, std::string_view v) {
    out += std::to_string(v.size());
    out += ':';
    out += v;
    out += ';';
}
void put_num(std::string& out, uint64_t v) { put_str(out, std::to_string(v)); }
void put_opt(std::string& out, const std::optional<uint32_t>& v) {
    if (v)
        put_num(out, *v);
    else
        put_str(out, "-");
}

// Everything the compiled program depends on, unambiguously (length-prefixed strings): the
// profile, libseccomp's version (its code generator) and the kernel release (libseccomp checks
// actions against the kernel).
std::string cache_key(const oci::Seccomp& s) {
    std::string k(kCacheMagic);
    const scmp_version* v = seccomp_version();
    put_str(k, fmt::format("libseccomp {}.{}.{}", v->major, v->minor, v->micro));
    utsname u{};
    if (::uname(&u) == 0) put_str(k, u.release);
    put_str(k, s.default_action);
    put_opt(k, s.default_errno_ret);
    put_num(k, s.architectures.size());
    for (const auto& a : s.architectures) put_str(k, a);
    put_num(k, s.flags.size());
    for (const auto& f : s.flags) put_str(k, f);
    put_num(k, s.syscalls.size());
    for (const auto& sc : s.syscalls) {
        put_num(k, sc.names.size());
        for (const auto& n : sc.names) put_str(k, n);
        put_str(k, sc.action);
        put_opt(k, sc.errno_ret);
        put_num(k, sc.args.size());
        for (const auto& a : sc.args) {
            put_num(k, a.index);
            put_num(k, a.value);
            put_num(k, a.value_two);
            put_str(k, a.op);
        }
    }
    return k;
}

// FNV-1a: only names the file; the full key inside it decides whether an entry matches.
uint64_t fnv1a(std::string_view s) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return h;
}

template <class T>
void put_raw(std::string& out, const T& v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof(v));
}

template <class T>
bool get_raw(std::string_view& in, T& v) {
    if (in.size() < sizeof(v)) return false;
    std::memcpy(&v, in.data(), sizeof(v));
    in.remove_prefix(sizeof(v));
    return true;
}

// Entry: u64 key length, key, u32 flags, u8 has_listener, u32 count, instructions (host order).
std::string encode_entry(const std::string& key, const SeccompProgram& p) {
    std::string out;
    put_raw(out, static_cast<uint64_t>(key.size()));
    out += key;
    put_raw(out, static_cast<uint32_t>(p.flags));
    put_raw(out, static_cast<uint8_t>(p.has_listener));
    put_raw(out, static_cast<uint32_t>(p.instructions.size()));
    out.append(reinterpret_cast<const char*>(p.instructions.data()),
               p.instructions.size() * sizeof(sock_filter));
    return out;
}

std::optional<SeccompProgram> decode_entry(std::string_view in, const std::string& key) {
    uint64_t key_len = 0;
    if (!get_raw(in, key_len) || key_len != key.size() || in.size() < key_len) return std::nullopt;
    if (in.substr(0, key_len) != key) return std::nullopt;
    in.remove_prefix(key_len);
    uint32_t flags = 0, count = 0;
    uint8_t listener = 0;
    if (!get_raw(in, flags) || !get_raw(in, listener) || !get_raw(in, count)) return std::nullopt;
    if (count == 0 || count > kMaxInstructions || in.size() != count * sizeof(sock_filter))
        return std::nullopt;
    SeccompProgram p;
    p.flags = flags;
    p.has_listener = listener != 0;
    p.instructions.resize(count);
    std::memcpy(p.instructions.data(), in.data(), in.size());
    return p;
}

// Only trust what we wrote ourselves: a regular file (no symlink), owned by our euid, that
// nobody else can write; in a directory with the same properties.
std::optional<std::string> read_trusted(const std::string& dir, const std::string& path) {
    struct stat st {};
    if (::lstat(dir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() ||
        (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return std::nullopt;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd || ::fstat(fd.get(), &st) < 0) return std::nullopt;
    if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return std::nullopt;
    std::string data(static_cast<size_t>(st.st_size), '\0');
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::read(fd.get(), data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return std::nullopt;
        done += static_cast<size_t>(n);
    }
    return data;
}

}  // namespace

Result<SeccompProgram> compile_seccomp_cached(const oci::Seccomp& s, const std::string& cache_dir) {
    if (cache_dir.empty()) return compile_seccomp(s);
    const std::string key = cache_key(s);
    const std::string path = path_join(cache_dir, fmt::format("{:016x}.bpf", fnv1a(key)));
    if (auto data = read_trusted(cache_dir, path))
        if (auto p = decode_entry(*data, key)) return std::move(*p);

    SeccompProgram p = BERTH_TRY(compile_seccomp(s));
    // Best effort: a cache that cannot be written only costs the next container the compile.
    if (auto r = mkdir_all(cache_dir, 0700); !r) {
        BLOG_DEBUG("seccomp cache: {}", r.error().what());
    } else if (auto w = atomic_write_file(path, encode_entry(key, p), 0600); !w) {
        BLOG_DEBUG("seccomp cache: {}", w.error().what());
    }
    return p;
}

std::vector<std::string> seccomp_known_actions() {
    std::vector<std::string> out;
    for (const auto& a : kActions) out.emplace_back(a.name);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> seccomp_known_operators() {
    std::vector<std::string> out;
    for (const auto& o : kOperators) out.emplace_back(o.name);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> seccomp_known_archs() {
    std::vector<std::string> out;
    for (const auto& a : kArchs) out.emplace_back(a.name);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> seccomp_known_flags() {
    std::vector<std::string> out;
    for (const auto& f : kFlags)
        if (kernel_knows_flag(f.flag)) out.emplace_back(f.name);
    return out;
}

}  // namespace berth::runtime
