// Device rules: the v1 emulation and the BPF program built from it, run in a tiny interpreter.

#include "berth/cgroups/device_filter.hpp"

#include <gtest/gtest.h>
#include <linux/bpf.h>

#include "bpf_interp.hpp"

namespace berth::cgroups {
namespace {

using testing::run_device_program;

oci::DeviceCgroupRule rule(bool allow, std::string type, std::optional<int64_t> major,
                           std::optional<int64_t> minor, std::string access) {
    return oci::DeviceCgroupRule{allow, std::move(type), major, minor, std::move(access)};
}

// What runc's specconv (and Docker) put in linux.resources.devices by default.
std::vector<oci::DeviceCgroupRule> docker_defaults() {
    return {
        rule(false, "", std::nullopt, std::nullopt, "rwm"),
        rule(true, "c", 1, 3, "rwm"),
        rule(true, "c", 1, 5, "rwm"),
        rule(true, "c", 1, 7, "rwm"),
        rule(true, "c", 1, 8, "rwm"),
        rule(true, "c", 1, 9, "rwm"),
        rule(true, "c", 5, 0, "rwm"),
        rule(true, "c", 5, 1, "rwm"),
        rule(true, "c", 5, 2, "rwm"),
        rule(true, "c", 136, std::nullopt, "rwm"),
        rule(true, "c", 10, 200, "rwm"),
        rule(false, "c", 10, 229, "rwm"),
        rule(true, "c", std::nullopt, std::nullopt, "m"),
        rule(true, "b", std::nullopt, std::nullopt, "m"),
    };
}

// The program must decide exactly like the emulated kernel, for every access combination.
void expect_program_matches_state(const DeviceState& st) {
    auto prog = build_device_program(st);
    ASSERT_LT(prog.size(), 4096u);
    for (uint8_t type : {kDevChar, kDevBlock}) {
        for (uint32_t major : {0u, 1u, 5u, 10u, 136u, 254u}) {
            for (uint32_t minor : {0u, 1u, 3u, 5u, 200u, 229u}) {
                for (uint8_t acc = 1; acc <= kDevAccAll; ++acc) {
                    bool want = st.allows(type, major, minor, acc);
                    int64_t got = run_device_program(prog, type, acc, major, minor);
                    ASSERT_EQ(got, want ? 1 : 0) << "type " << int(type) << " " << major << ":"
                                                 << minor << " access " << int(acc);
                }
            }
        }
    }
}

TEST(DeviceState, DockerDefaultsAllowListedDevicesOnly) {
    auto st = emulate_device_rules(docker_defaults());
    ASSERT_TRUE(st) << st.error().what();
    EXPECT_FALSE(st->default_allow());
    EXPECT_TRUE(st->allows(kDevChar, 1, 3, kDevAccRead | kDevAccWrite));    // /dev/null
    EXPECT_TRUE(st->allows(kDevChar, 136, 4, kDevAccRead | kDevAccWrite));  // /dev/pts/4
    EXPECT_FALSE(st->allows(kDevChar, 10, 229, kDevAccRead));               // /dev/fuse
    EXPECT_FALSE(st->allows(kDevBlock, 8, 0, kDevAccRead));                 // /dev/sda
    EXPECT_TRUE(st->allows(kDevBlock, 8, 0, kDevAccMknod));                 // mknod only
    EXPECT_FALSE(st->allows(kDevBlock, 8, 0, kDevAccMknod | kDevAccRead));
    expect_program_matches_state(*st);
}

TEST(DeviceState, AllowSameDeviceMergesAccess) {
    auto st = emulate_device_rules({rule(false, "a", std::nullopt, std::nullopt, ""),
                                    rule(true, "c", 1, 3, "r"), rule(true, "c", 1, 3, "w")});
    ASSERT_TRUE(st);
    ASSERT_EQ(st->exceptions().size(), 1u);
    EXPECT_EQ(st->exceptions()[0].str(), "c 1:3 rw");
    EXPECT_TRUE(st->allows(kDevChar, 1, 3, kDevAccRead | kDevAccWrite));
    expect_program_matches_state(*st);
}

TEST(DeviceState, DenyAfterAllowSubtractsAccess) {
    // A later deny of part of the access must win even for an open asking r and w together.
    auto st = emulate_device_rules({rule(false, "", std::nullopt, std::nullopt, "rwm"),
                                    rule(true, "c", 1, 3, "rwm"), rule(false, "c", 1, 3, "w")});
    ASSERT_TRUE(st);
    EXPECT_TRUE(st->allows(kDevChar, 1, 3, kDevAccRead));
    EXPECT_FALSE(st->allows(kDevChar, 1, 3, kDevAccWrite));
    EXPECT_FALSE(st->allows(kDevChar, 1, 3, kDevAccRead | kDevAccWrite));
    expect_program_matches_state(*st);
}

TEST(DeviceState, AllowAllThenDenyListIsABlockList) {
    auto st = emulate_device_rules({rule(true, "a", std::nullopt, std::nullopt, "rwm"),
                                    rule(false, "c", 10, 229, "rwm"),
                                    rule(false, "b", 8, std::nullopt, "w")});
    ASSERT_TRUE(st);
    EXPECT_TRUE(st->default_allow());
    EXPECT_FALSE(st->allows(kDevChar, 10, 229, kDevAccRead));
    EXPECT_TRUE(st->allows(kDevBlock, 8, 1, kDevAccRead));
    EXPECT_FALSE(st->allows(kDevBlock, 8, 1, kDevAccRead | kDevAccWrite));  // partial match denies
    EXPECT_TRUE(st->allows(kDevChar, 1, 3, kDevAccAll));
    expect_program_matches_state(*st);
}

TEST(DeviceState, PartialAccessTypeARuleCoversCharAndBlock) {
    auto st = emulate_device_rules({rule(false, "a", std::nullopt, std::nullopt, "rwm"),
                                    rule(true, "a", std::nullopt, std::nullopt, "m")});
    ASSERT_TRUE(st);
    EXPECT_FALSE(st->default_allow());
    EXPECT_EQ(st->exceptions().size(), 2u);
    EXPECT_TRUE(st->allows(kDevChar, 4, 4, kDevAccMknod));
    EXPECT_TRUE(st->allows(kDevBlock, 4, 4, kDevAccMknod));
    EXPECT_FALSE(st->allows(kDevBlock, 4, 4, kDevAccRead));
    expect_program_matches_state(*st);
}

TEST(DeviceState, NoRulesDeniesEverything) {
    auto st = emulate_device_rules({});
    ASSERT_TRUE(st);
    auto prog = build_device_program(*st);
    // Prologue (6) + "r0 = 0; exit".
    ASSERT_EQ(prog.size(), 8u);
    EXPECT_EQ(run_device_program(prog, kDevChar, kDevAccRead, 1, 3), 0);
}

TEST(DeviceState, RejectsBadRules) {
    EXPECT_EQ(emulate_device_rules({rule(true, "x", 1, 3, "rwm")}).error().code,
              Errc::InvalidArgument);
    EXPECT_EQ(emulate_device_rules({rule(true, "c", 1, 3, "rwx")}).error().code,
              Errc::InvalidArgument);
    EXPECT_EQ(emulate_device_rules({rule(true, "c", -5, 3, "r")}).error().code,
              Errc::InvalidArgument);
    EXPECT_EQ(emulate_device_rules({rule(true, "c", int64_t{1} << 40, 3, "r")}).error().code,
              Errc::InvalidArgument);
    auto e = emulate_device_rules({rule(true, "c", 1, 3, "r"), rule(true, "q", 1, 3, "r")});
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().msg.find("devices[1]"), std::string::npos) << e.error().msg;
}

TEST(DeviceState, ParsesDevicesList) {
    bool complete = false;
    auto st = DeviceState::from_list("c 1:3 rwm\nc 136:* rw\nb *:* m\n", complete);
    ASSERT_TRUE(st) << st.error().what();
    EXPECT_TRUE(complete);
    EXPECT_FALSE(st->default_allow());
    ASSERT_EQ(st->exceptions().size(), 3u);
    EXPECT_EQ(st->exceptions()[1].str(), "c 136:* rw");
    EXPECT_EQ(st->exceptions()[2].str(), "b *:* m");

    auto all = DeviceState::from_list("a *:* rwm\n", complete);
    ASSERT_TRUE(all);
    EXPECT_FALSE(complete);
    EXPECT_TRUE(all->default_allow());
    EXPECT_FALSE(DeviceState::from_list("c 1:3\n", complete));
}

TEST(DeviceProgram, HandAssembledShapeForOneRule) {
    // deny all, allow c 1:3 r: prologue, then one block testing type, access, major, minor.
    auto st = emulate_device_rules(
        {rule(false, "", std::nullopt, std::nullopt, "rwm"), rule(true, "c", 1, 3, "r")});
    ASSERT_TRUE(st);
    auto p = build_device_program(*st);
    // clang-format off
    std::vector<BpfInsn> want = {
        {BPF_LDX | BPF_W | BPF_MEM, 0x12, 0, 0},           // r2 = ctx->access_type
        {BPF_ALU | BPF_AND | BPF_K, 0x02, 0, 0xFFFF},      // r2 &= 0xFFFF  (type)
        {BPF_LDX | BPF_W | BPF_MEM, 0x13, 0, 0},           // r3 = ctx->access_type
        {BPF_ALU | BPF_RSH | BPF_K, 0x03, 0, 16},          // r3 >>= 16     (access)
        {BPF_LDX | BPF_W | BPF_MEM, 0x14, 4, 0},           // r4 = ctx->major
        {BPF_LDX | BPF_W | BPF_MEM, 0x15, 8, 0},           // r5 = ctx->minor
        {BPF_JMP | BPF_JNE | BPF_K, 0x02, 7, kDevChar},    // type != c -> next
        {BPF_ALU | BPF_MOV | BPF_X, 0x31, 0, 0},           // r1 = r3
        {BPF_ALU | BPF_AND | BPF_K, 0x01, 0, ~int32_t{kDevAccRead}},
        {BPF_JMP | BPF_JNE | BPF_K, 0x01, 4, 0},           // access beyond r -> next
        {BPF_JMP | BPF_JNE | BPF_K, 0x04, 3, 1},           // major != 1 -> next
        {BPF_JMP | BPF_JNE | BPF_K, 0x05, 2, 3},           // minor != 3 -> next
        {BPF_ALU | BPF_MOV | BPF_K, 0x00, 0, 1},           // allow
        {BPF_JMP | BPF_EXIT, 0, 0, 0},
        {BPF_ALU | BPF_MOV | BPF_K, 0x00, 0, 0},           // default: deny
        {BPF_JMP | BPF_EXIT, 0, 0, 0},
    };
    // clang-format on
    ASSERT_EQ(p.size(), want.size());
    for (size_t i = 0; i < p.size(); ++i) {
        EXPECT_EQ(p[i].code, want[i].code) << i;
        EXPECT_EQ(p[i].regs, want[i].regs) << i;
        EXPECT_EQ(p[i].off, want[i].off) << i;
        EXPECT_EQ(p[i].imm, want[i].imm) << i;
    }
}

}  // namespace
}  // namespace berth::cgroups
