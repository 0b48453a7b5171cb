#pragma once
// Device access rules: the cgroup v1 devices controller's semantics, emulated in user space,
// and the cgroup v2 BPF_PROG_TYPE_CGROUP_DEVICE program built from them.
//
// Both managers start from "deny everything" and apply linux.resources.devices in order, as
// runc does (its specconv puts the default device list after a deny-all). v1 lets the kernel
// apply the rules; v2 has no devices controller, so the same rules are emulated here (the
// kernel's exception-list algorithm: merge on allow, subtract on deny) and the resulting state
// is compiled to a small eBPF program, as runc's devicefilter and crun's ebpf.c do. Emulating
// first means v1 and v2 agree even for overlapping or partial-access rules.

#include <cstdint>
#include <string>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/oci/spec.hpp"

namespace berth::cgroups {

/// Access bits, the kernel's BPF_DEVCG_ACC_* values.
inline constexpr uint8_t kDevAccMknod = 1, kDevAccRead = 2, kDevAccWrite = 4;
inline constexpr uint8_t kDevAccAll = kDevAccMknod | kDevAccRead | kDevAccWrite;
/// Device types, the kernel's BPF_DEVCG_DEV_* values.
inline constexpr uint8_t kDevBlock = 1, kDevChar = 2;

/// One exception of the v1 devices controller ("c 1:3 rwm"); major/minor -1 = wildcard.
struct DeviceException {
    uint8_t type = kDevChar;  ///< kDevChar or kDevBlock
    int64_t major = -1;
    int64_t minor = -1;
    uint8_t access = 0;  ///< kDevAcc* bits

    /// "c 1:3 rwm" (the devices.list / devices.allow syntax).
    [[nodiscard]] std::string str() const;
    /// Same device pattern (type, major, minor), access not compared.
    [[nodiscard]] bool same_device(const DeviceException& o) const noexcept {
        return type == o.type && major == o.major && minor == o.minor;
    }
    bool operator==(const DeviceException&) const = default;
};

/// The state of a devices cgroup: a default and exceptions to it.
class DeviceState {
public:
    /// Starts as the v1 root does (allow all) when `default_allow`, else as deny-all.
    explicit DeviceState(bool default_allow = false) : default_allow_(default_allow) {}

    /// Applies one spec rule as writing it to devices.allow/deny would. A rule of type "a"
    /// with wildcard major/minor and full access resets the state; other "a" rules stand for
    /// both "c" and "b". InvalidArgument for an unknown type or access letter, or numbers
    /// out of range.
    [[nodiscard]] Result<void> apply(const oci::DeviceCgroupRule& rule);

    /// True if an access of `access` bits to the device is allowed (the kernel's check).
    [[nodiscard]] bool allows(uint8_t type, uint32_t major, uint32_t minor,
                              uint8_t access) const noexcept;

    [[nodiscard]] bool default_allow() const noexcept { return default_allow_; }
    [[nodiscard]] const std::vector<DeviceException>& exceptions() const noexcept {
        return exceptions_;
    }

    /// Parses devices.list ("a *:* rwm" means allow-all: the kernel does not list the
    /// exceptions of an allow-all cgroup, so `complete` is false then).
    [[nodiscard]] static Result<DeviceState> from_list(const std::string& text, bool& complete);

private:
    void add(const DeviceException& e);
    void remove(const DeviceException& e);

    bool default_allow_;
    std::vector<DeviceException> exceptions_;
};

/// Parses one spec rule's access string ("rwm", any order; empty = "rwm").
[[nodiscard]] Result<uint8_t> parse_device_access(const std::string& access);

/// Emulates `rules` from deny-all (what the v1 manager writes and the v2 program enforces).
[[nodiscard]] Result<DeviceState> emulate_device_rules(
    const std::vector<oci::DeviceCgroupRule>& rules);

/// One eBPF instruction, laid out as the kernel's struct bpf_insn.
struct BpfInsn {
    uint8_t code = 0;
    uint8_t regs = 0;  ///< dst_reg in the low nibble, src_reg in the high nibble
    int16_t off = 0;
    int32_t imm = 0;
    bool operator==(const BpfInsn&) const = default;
};
static_assert(sizeof(BpfInsn) == 8);

/// Compiles a device state into a BPF_PROG_TYPE_CGROUP_DEVICE program (returns 1 = allow,
/// 0 = deny). The context is struct bpf_cgroup_dev_ctx {u32 access_type (access << 16 | type);
/// u32 major; u32 minor;}. Pure function: no syscalls.
[[nodiscard]] std::vector<BpfInsn> build_device_program(const DeviceState& state);

/// Loads `prog` and attaches it to the cgroup directory `dir` with BPF_F_ALLOW_MULTI,
/// replacing (or, without BPF_F_REPLACE, detaching after the attach) the programs attached
/// there before, as runc does on update. Errors name the bpf command and the directory.
[[nodiscard]] Result<void> attach_device_program(const std::string& dir,
                                                 const std::vector<BpfInsn>& prog);

/// Number of BPF_CGROUP_DEVICE programs attached directly to `dir` (tests, diagnostics).
[[nodiscard]] Result<size_t> count_device_programs(const std::string& dir);

}  // namespace berth::cgroups
