#pragma once
// A tiny eBPF interpreter for the instructions build_device_program() emits, so that unit tests
// can run a device program against every access the kernel could ask about, without root.

#include <linux/bpf.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "berth/cgroups/device_filter.hpp"

namespace berth::cgroups::testing {

/// Runs `prog` on struct bpf_cgroup_dev_ctx {access << 16 | type, major, minor}; returns R0.
/// Throws on an instruction it doesn't know, a jump out of range, or a missing exit.
inline int64_t run_device_program(const std::vector<BpfInsn>& prog, uint32_t type, uint32_t access,
                                  uint32_t major, uint32_t minor) {
    uint32_t ctx[3] = {(access << 16) | type, major, minor};
    uint64_t r[11] = {};
    size_t pc = 0;
    for (int steps = 0; steps < 100000; ++steps) {
        if (pc >= prog.size()) throw std::runtime_error("pc out of range");
        const BpfInsn& i = prog[pc];
        uint8_t dst = i.regs & 0xf, src = i.regs >> 4;
        if (dst > 10 || src > 10) throw std::runtime_error("bad register");
        uint8_t cls = i.code & 0x07;
        ++pc;
        if (i.code == (BPF_LDX | BPF_W | BPF_MEM)) {
            if (src != 1 || i.off < 0 || i.off > 8 || i.off % 4)
                throw std::runtime_error("bad load");
            r[dst] = ctx[i.off / 4];
            continue;
        }
        if (cls == BPF_ALU) {
            uint32_t a = static_cast<uint32_t>(r[dst]);
            uint32_t b =
                (i.code & BPF_X) ? static_cast<uint32_t>(r[src]) : static_cast<uint32_t>(i.imm);
            switch (i.code & 0xf0) {
                case BPF_MOV:
                    a = b;
                    break;
                case BPF_AND:
                    a &= b;
                    break;
                case BPF_RSH:
                    a >>= b;
                    break;
                default:
                    throw std::runtime_error("unknown ALU op");
            }
            r[dst] = a;  // 32-bit ops zero-extend
            continue;
        }
        if (cls == BPF_JMP) {
            if ((i.code & 0xf0) == BPF_EXIT) return static_cast<int64_t>(r[0]);
            uint64_t a = r[dst];
            uint64_t b =
                (i.code & BPF_X) ? r[src] : static_cast<uint64_t>(static_cast<int64_t>(i.imm));
            bool take;
            switch (i.code & 0xf0) {
                case BPF_JEQ:
                    take = a == b;
                    break;
                case BPF_JNE:
                    take = a != b;
                    break;
                default:
                    throw std::runtime_error("unknown JMP op");
            }
            if (take) {
                if (i.off < 0) throw std::runtime_error("backward jump");
                pc += static_cast<size_t>(i.off);
            }
            continue;
        }
        throw std::runtime_error("unknown instruction class");
    }
    throw std::runtime_error("no exit");
}

}  // namespace berth::cgroups::testing
