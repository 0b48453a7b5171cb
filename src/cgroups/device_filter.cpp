// Device rule emulation (the v1 kernel algorithm) and the eBPF program built from it.

#include "berth/cgroups/device_filter.hpp"

#include <linux/bpf.h>

#include <algorithm>
#include <limits>

#include "berth/common/strings.hpp"

namespace berth::cgroups {

static_assert(kDevAccMknod == BPF_DEVCG_ACC_MKNOD && kDevAccRead == BPF_DEVCG_ACC_READ &&
              kDevAccWrite == BPF_DEVCG_ACC_WRITE);
static_assert(kDevBlock == BPF_DEVCG_DEV_BLOCK && kDevChar == BPF_DEVCG_DEV_CHAR);
static_assert(sizeof(BpfInsn) == sizeof(struct bpf_insn));

namespace {

std::string access_str(uint8_t a) {
    std::string s;
    if (a & kDevAccRead) s += 'r';
    if (a & kDevAccWrite) s += 'w';
    if (a & kDevAccMknod) s += 'm';
    return s;
}

std::string num_or_star(int64_t v) { return v < 0 ? "*" : std::to_string(v); }

Result<int64_t> device_number(const std::optional<int64_t>& v, const char* what) {
    if (!v || *v == -1) return -1;
    // BPF compares against a 32-bit immediate; real majors/minors are far below this.
    if (*v < 0 || *v > std::numeric_limits<int32_t>::max())
        return make_error(Errc::InvalidArgument, "device rule {} {} out of range", what, *v);
    return *v;
}

}  // namespace

std::string DeviceException::str() const {
    return fmt::format("{} {}:{} {}", type == kDevBlock ? 'b' : 'c', num_or_star(major),
                       num_or_star(minor), access_str(access));
}

Result<uint8_t> parse_device_access(const std::string& access) {
    if (access.empty()) return kDevAccAll;
    uint8_t a = 0;
    for (char c : access) {
        switch (c) {
            case 'r':
                a |= kDevAccRead;
                break;
            case 'w':
                a |= kDevAccWrite;
                break;
            case 'm':
                a |= kDevAccMknod;
                break;
            default:
                return make_error(Errc::InvalidArgument,
                                  "device rule access {:?}: unknown letter {:?}", access, c);
        }
    }
    return a;
}

void DeviceState::add(const DeviceException& e) {
    // The kernel merges the access of an exception for the same device pattern.
    for (auto& x : exceptions_) {
        if (x.same_device(e)) {
            x.access |= e.access;
            return;
        }
    }
    exceptions_.push_back(e);
}

void DeviceState::remove(const DeviceException& e) {
    // dev_exception_rm: only the exact same pattern loses the given access bits.
    for (auto it = exceptions_.begin(); it != exceptions_.end(); ++it) {
        if (!it->same_device(e)) continue;
        it->access &= static_cast<uint8_t>(~e.access);
        if (it->access == 0) exceptions_.erase(it);
        return;
    }
}

Result<void> DeviceState::apply(const oci::DeviceCgroupRule& rule) {
    uint8_t access = BERTH_TRY(parse_device_access(rule.access));
    int64_t major = BERTH_TRY(device_number(rule.major, "major"));
    int64_t minor = BERTH_TRY(device_number(rule.minor, "minor"));
    std::vector<uint8_t> types;
    if (rule.type.empty() || rule.type == "a") {
        if (major < 0 && minor < 0 && access == kDevAccAll) {
            default_allow_ = rule.allow;
            exceptions_.clear();
            return {};
        }
        types = {kDevChar, kDevBlock};
    } else if (rule.type == "c") {
        types = {kDevChar};
    } else if (rule.type == "b") {
        types = {kDevBlock};
    } else {
        return make_error(Errc::InvalidArgument, "device rule type {:?}: want a, b or c",
                          rule.type);
    }
    for (uint8_t t : types) {
        DeviceException e{t, major, minor, access};
        if (rule.allow == default_allow_)
            remove(e);
        else
            add(e);
    }
    return {};
}

bool DeviceState::allows(uint8_t type, uint32_t major, uint32_t minor,
                         uint8_t access) const noexcept {
    auto matches_dev = [&](const DeviceException& e) {
        return e.type == type && (e.major < 0 || e.major == major) &&
               (e.minor < 0 || e.minor == minor);
    };
    if (default_allow_) {
        // Denied if any exception matches even part of the access.
        return std::none_of(exceptions_.begin(), exceptions_.end(), [&](const DeviceException& e) {
            return matches_dev(e) && (e.access & access) != 0;
        });
    }
    // Allowed only if one exception covers all of the access.
    return std::any_of(exceptions_.begin(), exceptions_.end(), [&](const DeviceException& e) {
        return matches_dev(e) && (access & ~e.access) == 0;
    });
}

Result<DeviceState> DeviceState::from_list(const std::string& text, bool& complete) {
    DeviceState st(false);
    complete = true;
    for (const auto& line : split(text, '\n')) {
        auto f = split(std::string(trim(line)), ' ');
        if (f.size() == 1 && f[0].empty()) continue;
        if (f.size() != 3)
            return make_error(Errc::InvalidArgument, "devices.list line {:?}: want 3 fields", line);
        if (f[0] == "a") {
            st.default_allow_ = true;
            st.exceptions_.clear();
            complete = false;
            continue;
        }
        oci::DeviceCgroupRule r;
        r.allow = true;
        r.type = f[0];
        auto mm = split(f[1], ':');
        if (mm.size() != 2)
            return make_error(Errc::InvalidArgument, "devices.list line {:?}: bad major:minor",
                              line);
        auto num = [](const std::string& s) -> std::optional<int64_t> {
            if (s == "*") return std::nullopt;
            return parse_int(s);
        };
        r.major = num(mm[0]);
        r.minor = num(mm[1]);
        if ((mm[0] != "*" && !r.major) || (mm[1] != "*" && !r.minor))
            return make_error(Errc::InvalidArgument, "devices.list line {:?}: bad number", line);
        r.access = f[2];
        BERTH_TRY(st.apply(r));
    }
    return st;
}

Result<DeviceState> emulate_device_rules(const std::vector<oci::DeviceCgroupRule>& rules) {
    DeviceState st(false);
    for (size_t i = 0; i < rules.size(); ++i)
        BERTH_TRY_CTX(st.apply(rules[i]), "linux.resources.devices[{}]", i);
    return st;
}

namespace {

constexpr uint8_t R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5;

BpfInsn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    return BpfInsn{code, static_cast<uint8_t>(dst | (src << 4)), off, imm};
}
BpfInsn ldx_w(uint8_t dst, uint8_t src, int16_t off) {
    return insn(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0);
}
BpfInsn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) {
    return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
BpfInsn mov32_reg(uint8_t dst, uint8_t src) {
    return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
BpfInsn jmp_imm(uint8_t op, uint8_t dst, int32_t imm, int16_t off) {
    return insn(BPF_JMP | op | BPF_K, dst, 0, off, imm);
}
BpfInsn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

}  // namespace

std::vector<BpfInsn> build_device_program(const DeviceState& state) {
    std::vector<BpfInsn> p;
    // R2 = device type, R3 = requested access, R4 = major, R5 = minor.
    p.push_back(ldx_w(R2, R1, 0));
    p.push_back(alu32_imm(BPF_AND, R2, 0xFFFF));
    p.push_back(ldx_w(R3, R1, 0));
    p.push_back(alu32_imm(BPF_RSH, R3, 16));
    p.push_back(ldx_w(R4, R1, 4));
    p.push_back(ldx_w(R5, R1, 8));

    const bool allow_list = !state.default_allow();
    for (const auto& e : state.exceptions()) {
        // One block per exception; every failed test jumps to the next block. The exceptions
        // of an emulated state do not depend on order, so the blocks can be in any order.
        std::vector<BpfInsn> b;
        std::vector<size_t> jumps;  // indexes of "goto next" instructions
        auto goto_next = [&](BpfInsn i) {
            jumps.push_back(b.size());
            b.push_back(i);
        };
        goto_next(jmp_imm(BPF_JNE, R2, e.type, 0));
        if (e.access != kDevAccAll) {
            b.push_back(mov32_reg(R1, R3));
            if (allow_list) {
                // Allowed only if no requested bit falls outside the exception's access.
                b.push_back(alu32_imm(BPF_AND, R1, static_cast<int32_t>(~uint32_t{e.access})));
                goto_next(jmp_imm(BPF_JNE, R1, 0, 0));
            } else {
                // Denied if any requested bit is in the exception's access.
                b.push_back(alu32_imm(BPF_AND, R1, e.access));
                goto_next(jmp_imm(BPF_JEQ, R1, 0, 0));
            }
        }
        if (e.major >= 0) goto_next(jmp_imm(BPF_JNE, R4, static_cast<int32_t>(e.major), 0));
        if (e.minor >= 0) goto_next(jmp_imm(BPF_JNE, R5, static_cast<int32_t>(e.minor), 0));
        b.push_back(alu32_imm(BPF_MOV, R0, allow_list ? 1 : 0));
        b.push_back(exit_insn());
        for (size_t j : jumps) b[j].off = static_cast<int16_t>(b.size() - (j + 1));
        p.insert(p.end(), b.begin(), b.end());
    }
    p.push_back(alu32_imm(BPF_MOV, R0, allow_list ? 0 : 1));
    p.push_back(exit_insn());
    return p;
}

}  // namespace berth::cgroups
