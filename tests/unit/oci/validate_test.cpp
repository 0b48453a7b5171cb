#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>

#include "berth/oci/spec_json.hpp"
#include "berth/oci/validate.hpp"

namespace berth::oci {
namespace {

/// runc's default spec, which is valid, with a user namespace for the mapping cases.
Spec base() {
    return default_spec();
}

Linux& lx(Spec& s) {
    return *s.linux;
}

/// The message validate() gives for `s`, or "" if it passes.
std::string error_of(const Spec& s) {
    auto r = validate(s);
    if (r) return "";
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    return r.error().what();
}

TEST(Validate, DefaultSpecsAreValid) {
    EXPECT_EQ(error_of(default_spec()), "");
    EXPECT_EQ(error_of(default_spec(true, 1000, 1000)), "");
}

TEST(Validate, FullMessagesAndCustomOrigin) {
    Spec s = base();
    lx(s).namespaces[2].type = "foo";
    EXPECT_EQ(error_of(s), "config.json: linux.namespaces[2].type: unknown namespace type \"foo\"");
    auto r = validate(s, "/b/config.json");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(),
              "/b/config.json: linux.namespaces[2].type: unknown namespace type \"foo\"");

    Spec p = base();
    p.process->cwd = "rel";
    EXPECT_EQ(error_of(p), "config.json: process.cwd: must be an absolute path, got \"rel\"");

    Spec sys = base();
    lx(sys).sysctl["net.ipv4.ip_forward"] = "1";
    lx(sys).namespaces.erase(lx(sys).namespaces.begin() + 1);  // network
    EXPECT_EQ(error_of(sys),
              "config.json: linux.sysctl[\"net.ipv4.ip_forward\"]: sysctl \"net.ipv4.ip_forward\" "
              "needs a network namespace in linux.namespaces");
}

struct Case {
    const char* name;
    std::function<void(Spec&)> mutate;
    const char* expected;  // the message after "config.json: "; "" means valid
};

class ValidateRules : public ::testing::TestWithParam<Case> {};

TEST_P(ValidateRules, Check) {
    Spec s = base();
    GetParam().mutate(s);
    std::string want = GetParam().expected;
    if (want.empty())
        EXPECT_EQ(error_of(s), "");
    else
        EXPECT_EQ(error_of(s), "config.json: " + want);
}

void drop_ns(Spec& s, const std::string& type) {
    auto& v = s.linux->namespaces;
    v.erase(std::remove_if(v.begin(), v.end(), [&](const Namespace& n) { return n.type == type; }),
            v.end());
}

void add_user_ns(Spec& s) {
    s.linux->namespaces.push_back({"user", ""});
    s.linux->uid_mappings = {{0, 1000, 1}};
    s.linux->gid_mappings = {{0, 1000, 1}};
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    return info.param.name;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(All, ValidateRules, ::testing::Values(
    // ociVersion
    Case{"VersionEmpty", [](Spec& s) { s.oci_version.clear(); }, "ociVersion: required, must not be empty"},
    Case{"VersionTwo", [](Spec& s) { s.oci_version = "2.0.0"; }, "ociVersion: unsupported version \"2.0.0\", expected 1.x"},
    Case{"VersionOld", [](Spec& s) { s.oci_version = "1.0.2-dev"; }, ""},
    // root
    Case{"RootMissing", [](Spec& s) { s.root.reset(); }, "root: required, must be an object with a path"},
    Case{"RootPathEmpty", [](Spec& s) { s.root->path.clear(); }, "root.path: required, must not be empty"},
    Case{"RootPathAbsolute", [](Spec& s) { s.root->path = "/var/lib/x"; }, ""},
    // process
    Case{"NoProcessIsFine", [](Spec& s) { s.process.reset(); }, ""},
    Case{"ArgsEmpty", [](Spec& s) { s.process->args.clear(); }, "process.args: must not be empty"},
    Case{"CwdEmpty", [](Spec& s) { s.process->cwd.clear(); }, "process.cwd: required, must be an absolute path"},
    Case{"EnvNoEquals", [](Spec& s) { s.process->env.push_back("FOO"); },
         "process.env[2]: invalid environment variable \"FOO\": missing '='"},
    Case{"EnvEmptyName", [](Spec& s) { s.process->env.push_back("=x"); },
         "process.env[2]: invalid environment variable \"=x\": empty name"},
    Case{"EnvEmptyValueOk", [](Spec& s) { s.process->env.push_back("A="); }, ""},
    Case{"CapLowercase", [](Spec& s) { s.process->capabilities->effective.push_back("cap_kill"); },
         "process.capabilities.effective[3]: invalid capability name \"cap_kill\", expected CAP_*"},
    Case{"CapNoPrefix", [](Spec& s) { s.process->capabilities->ambient = {"KILL"}; },
         "process.capabilities.ambient[0]: invalid capability name \"KILL\", expected CAP_*"},
    Case{"CapInheritable", [](Spec& s) { s.process->capabilities->inheritable = {"CAP_"}; },
         "process.capabilities.inheritable[0]: invalid capability name \"CAP_\", expected CAP_*"},
    Case{"CapUnknownButWellFormedOk", [](Spec& s) { s.process->capabilities->bounding.push_back("CAP_FUTURE_THING"); }, ""},
    Case{"RlimitUnknown", [](Spec& s) { s.process->rlimits.push_back({"RLIMIT_FOO", 1, 1}); },
         "process.rlimits[1].type: unknown rlimit type \"RLIMIT_FOO\""},
    Case{"RlimitDuplicate", [](Spec& s) { s.process->rlimits.push_back({"RLIMIT_NOFILE", 1, 1}); },
         "process.rlimits[1].type: duplicate rlimit type \"RLIMIT_NOFILE\""},
    Case{"RlimitSoftAboveHard", [](Spec& s) { s.process->rlimits[0].soft = 2048; },
         "process.rlimits[0]: soft limit 2048 is greater than hard limit 1024"},
    Case{"RlimitAllKnown", [](Spec& s) {
            s.process->rlimits.clear();
            for (const char* type : {"RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE",
                                  "RLIMIT_LOCKS", "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
                                  "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO",
                                  "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"})
                s.process->rlimits.push_back({type, 1, 2});
         }, ""},
    // mounts
    Case{"MountDestinationEmpty", [](Spec& s) { s.mounts[3].destination.clear(); },
         "mounts[3].destination: required, must not be empty"},
    Case{"MountDestinationRelativeAcceptedLikeRunc", [](Spec& s) { s.mounts.push_back({"data", "bind", "/x", {"bind"}, {}}); }, ""},
    // hooks
    Case{"HookRelativePath", [](Spec& s) { s.hooks = Hooks{}; s.hooks->poststop = {{"/ok", {}, {}, {}}, {"hook.sh", {}, {}, {}}}; },
         "hooks.poststop[1].path: must be an absolute path, got \"hook.sh\""},
    Case{"HookZeroTimeout", [](Spec& s) { s.hooks = Hooks{}; s.hooks->create_runtime = {{"/h", {}, {}, 0}}; },
         "hooks.createRuntime[0].timeout: must be greater than zero, got 0"},
    Case{"HookStartContainer", [](Spec& s) { s.hooks = Hooks{}; s.hooks->start_container = {{"", {}, {}, {}}}; },
         "hooks.startContainer[0].path: must be an absolute path, got \"\""},
    Case{"HookOk", [](Spec& s) { s.hooks = Hooks{}; s.hooks->prestart = {{"/bin/true", {"true"}, {}, 3}}; }, ""},
    // namespaces
    Case{"NsDuplicate", [](Spec& s) { lx(s).namespaces.push_back({"pid", ""}); },
         "linux.namespaces[5].type: duplicate namespace type \"pid\""},
    Case{"NsRelativePath", [](Spec& s) { lx(s).namespaces[1].path = "netns/x"; },
         "linux.namespaces[1].path: must be an absolute path, got \"netns/x\""},
    Case{"NsEmptyType", [](Spec& s) { lx(s).namespaces[0].type = ""; },
         "linux.namespaces[0].type: unknown namespace type \"\""},
    Case{"NsAllKnown", [](Spec& s) { add_user_ns(s); lx(s).namespaces.push_back({"cgroup", ""}); lx(s).namespaces.push_back({"time", ""}); }, ""},
    Case{"NoLinuxAtAll", [](Spec& s) { s.linux.reset(); s.hostname.clear(); }, ""},
    // user namespace and mappings
    Case{"MappingsWithoutUserNs", [](Spec& s) { lx(s).uid_mappings = {{0, 1000, 1}}; },
         "linux.uidMappings: user namespace mappings given without a user namespace"},
    Case{"GidMappingsWithoutUserNs", [](Spec& s) { lx(s).gid_mappings = {{0, 1000, 1}}; },
         "linux.gidMappings: user namespace mappings given without a user namespace"},
    Case{"NewUserNsWithoutMappings", [](Spec& s) { lx(s).namespaces.push_back({"user", ""}); },
         "linux.uidMappings: a new user namespace needs uidMappings and gidMappings"},
    Case{"NewUserNsWithoutGidMappings", [](Spec& s) { add_user_ns(s); lx(s).gid_mappings.clear(); },
         "linux.gidMappings: a new user namespace needs gidMappings too"},
    Case{"NewUserNsWithoutUidMappings", [](Spec& s) { add_user_ns(s); lx(s).uid_mappings.clear(); },
         "linux.uidMappings: a new user namespace needs uidMappings too"},
    Case{"JoinedUserNsNeedsNoMappings", [](Spec& s) { lx(s).namespaces.push_back({"user", "/proc/1/ns/user"}); }, ""},
    // hostname / domainname
    Case{"HostnameWithoutUts", [](Spec& s) { drop_ns(s, "uts"); },
         "hostname: setting a hostname needs a uts namespace in linux.namespaces"},
    Case{"DomainnameWithoutUts", [](Spec& s) { drop_ns(s, "uts"); s.hostname.clear(); s.domainname = "x"; },
         "domainname: setting a domainname needs a uts namespace in linux.namespaces"},
    Case{"NoHostnameNoUtsOk", [](Spec& s) { drop_ns(s, "uts"); s.hostname.clear(); }, ""},
    Case{"HostnameWithJoinedUtsOk", [](Spec& s) { drop_ns(s, "uts"); lx(s).namespaces.push_back({"uts", "/proc/1/ns/uts"}); }, ""},
    // sysctl
    Case{"SysctlNetWithNetnsOk", [](Spec& s) { lx(s).sysctl["net.core.somaxconn"] = "256"; }, ""},
    Case{"SysctlNetWithSlashes", [](Spec& s) { drop_ns(s, "network"); lx(s).sysctl["net/ipv4/conf/eth0.100/rp_filter"] = "1"; },
         "linux.sysctl[\"net/ipv4/conf/eth0.100/rp_filter\"]: sysctl \"net.ipv4.conf.eth0/100.rp_filter\" needs a network namespace in linux.namespaces"},
    Case{"SysctlIpcWithoutIpc", [](Spec& s) { drop_ns(s, "ipc"); lx(s).sysctl["kernel.shmmax"] = "1"; },
         "linux.sysctl[\"kernel.shmmax\"]: sysctl \"kernel.shmmax\" needs an ipc namespace in linux.namespaces"},
    Case{"SysctlMqueueWithoutIpc", [](Spec& s) { drop_ns(s, "ipc"); lx(s).sysctl["fs.mqueue.msg_max"] = "1"; },
         "linux.sysctl[\"fs.mqueue.msg_max\"]: sysctl \"fs.mqueue.msg_max\" needs an ipc namespace in linux.namespaces"},
    Case{"SysctlIpcOk", [](Spec& s) { lx(s).sysctl["kernel.sem"] = "1 2 3 4"; lx(s).sysctl["fs.mqueue.queues_max"] = "3"; }, ""},
    Case{"SysctlDomainnameWithUtsOk", [](Spec& s) { lx(s).sysctl["kernel.domainname"] = "x"; }, ""},
    Case{"SysctlHostnameConflicts", [](Spec& s) { lx(s).sysctl["kernel.hostname"] = "x"; },
         "linux.sysctl[\"kernel.hostname\"]: sysctl \"kernel.hostname\" conflicts with the hostname field; set that instead"},
    Case{"SysctlNotNamespaced", [](Spec& s) { lx(s).sysctl["vm.swappiness"] = "1"; },
         "linux.sysctl[\"vm.swappiness\"]: sysctl \"vm.swappiness\" is not in a separate kernel namespace"},
    Case{"SysctlDomainnameWithoutUts", [](Spec& s) { drop_ns(s, "uts"); s.hostname.clear(); lx(s).sysctl["kernel.domainname"] = "x"; },
         "linux.sysctl[\"kernel.domainname\"]: sysctl \"kernel.domainname\" is not in a separate kernel namespace"},
    // resources
    Case{"DeviceRuleBadType", [](Spec& s) { lx(s).resources->devices.push_back({true, "x", 1, 1, "r"}); },
         "linux.resources.devices[1].type: unknown device type \"x\", expected a, c or b"},
    Case{"DeviceRuleBadAccess", [](Spec& s) { lx(s).resources->devices.push_back({true, "c", 1, {}, "rx"}); },
         "linux.resources.devices[1].access: invalid access \"rx\", expected letters of \"rwm\""},
    Case{"DeviceRuleOk", [](Spec& s) { lx(s).resources->devices.push_back({true, "a", {}, {}, "m"}); lx(s).resources->devices.push_back({true, "", {}, {}, ""}); }, ""},
    Case{"SwapBelowLimit", [](Spec& s) { MemoryResources m; m.limit = 200; m.swap = 100; lx(s).resources->memory = m; },
         "linux.resources.memory.swap: memory+swap limit 100 is less than the memory limit 200"},
    Case{"SwapUnlimitedOk", [](Spec& s) { MemoryResources m; m.limit = 200; m.swap = -1; lx(s).resources->memory = m; }, ""},
    Case{"WeightDeviceEmpty", [](Spec& s) { BlockIoResources b; b.weight_device = {{8, 0, 10, {}}, {8, 16, {}, {}}}; lx(s).resources->block_io = b; },
         "linux.resources.blockIO.weightDevice[1]: needs weight or leafWeight"},
    Case{"HugepageBadSize", [](Spec& s) { lx(s).resources->hugepage_limits = {{"2M", 1}}; },
         "linux.resources.hugepageLimits[0].pageSize: invalid page size \"2M\", expected <size><unit>B such as 2MB"},
    Case{"HugepageOk", [](Spec& s) { lx(s).resources->hugepage_limits = {{"64KB", 1}, {"1GB", 2}}; }, ""},
    Case{"UnifiedSlash", [](Spec& s) { lx(s).resources->unified["../memory.max"] = "1"; },
         "linux.resources.unified[\"../memory.max\"]: invalid cgroup v2 file name \"../memory.max\", expected <controller>.<file>"},
    Case{"UnifiedNoDot", [](Spec& s) { lx(s).resources->unified["cgroup"] = "1"; },
         "linux.resources.unified.cgroup: invalid cgroup v2 file name \"cgroup\", expected <controller>.<file>"},
    // cgroupsPath
    Case{"CgroupsPathDotDot", [](Spec& s) { lx(s).cgroups_path = "/a/../b"; },
         "linux.cgroupsPath: must not contain \"..\", got \"/a/../b\""},
    Case{"CgroupsPathSystemdDotDot", [](Spec& s) { lx(s).cgroups_path = "system.slice:..:x"; },
         "linux.cgroupsPath: must not contain \"..\", got \"system.slice:..:x\""},
    Case{"CgroupsPathOk", [](Spec& s) { lx(s).cgroups_path = "system.slice:berth:a..b"; }, ""},
    Case{"CgroupsPathRelativeOk", [](Spec& s) { lx(s).cgroups_path = "berth/c1"; }, ""},
    // devices
    Case{"DeviceBadType", [](Spec& s) { lx(s).devices = {{"x", "/dev/x", 1, 1, {}, {}, {}}}; },
         "linux.devices[0].type: unknown device type \"x\", expected c, b, u or p"},
    Case{"DeviceRelativePath", [](Spec& s) { lx(s).devices = {{"c", "/dev/null", 1, 3, {}, {}, {}}, {"p", "dev/fifo", 0, 0, {}, {}, {}}}; },
         "linux.devices[1].path: must be an absolute path, got \"dev/fifo\""},
    Case{"DeviceAllTypesOk", [](Spec& s) { lx(s).devices = {{"c", "/a", 1, 1, {}, {}, {}}, {"b", "/b", 8, 0, {}, {}, {}}, {"u", "/c", 1, 2, {}, {}, {}}, {"p", "/d", 0, 0, {}, {}, {}}}; }, ""},
    // propagation
    Case{"PropagationBad", [](Spec& s) { lx(s).rootfs_propagation = "recursive"; },
         "linux.rootfsPropagation: unknown propagation \"recursive\""},
    Case{"PropagationOk", [](Spec& s) { lx(s).rootfs_propagation = "rprivate"; }, ""},
    // seccomp
    Case{"SeccompDefaultUnknown", [](Spec& s) { lx(s).seccomp = Seccomp{}; lx(s).seccomp->default_action = "ALLOW"; },
         "linux.seccomp.defaultAction: unknown seccomp action \"ALLOW\""},
    Case{"SeccompDefaultNotify", [](Spec& s) { lx(s).seccomp = Seccomp{}; lx(s).seccomp->default_action = "SCMP_ACT_NOTIFY"; },
         "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"},
    Case{"SeccompDefaultErrnoWithAllow", [](Spec& s) { lx(s).seccomp = Seccomp{}; lx(s).seccomp->default_action = "SCMP_ACT_ALLOW"; lx(s).seccomp->default_errno_ret = 1; },
         "linux.seccomp.defaultErrnoRet: not allowed with default action \"SCMP_ACT_ALLOW\""},
    Case{"SeccompArchUnknown", [](Spec& s) { lx(s).seccomp = Seccomp{}; lx(s).seccomp->default_action = "SCMP_ACT_ALLOW"; lx(s).seccomp->architectures = {"SCMP_ARCH_X86_64", "x86"}; },
         "linux.seccomp.architectures[1]: unknown seccomp architecture \"x86\""},
    Case{"SeccompFlagUnknown", [](Spec& s) { lx(s).seccomp = Seccomp{}; lx(s).seccomp->default_action = "SCMP_ACT_ALLOW"; lx(s).seccomp->flags = {"SECCOMP_FILTER_FLAG_BOGUS"}; },
         "linux.seccomp.flags[0]: unknown seccomp flag \"SECCOMP_FILTER_FLAG_BOGUS\""},
    Case{"SeccompMetadataWithoutListener", [](Spec& s) { lx(s).seccomp = Seccomp{}; lx(s).seccomp->default_action = "SCMP_ACT_ALLOW"; lx(s).seccomp->listener_metadata = "m"; },
         "linux.seccomp.listenerMetadata: must not be set without listenerPath"},
    Case{"SeccompSyscallNoNames", [](Spec& s) { lx(s).seccomp = Seccomp{}; lx(s).seccomp->default_action = "SCMP_ACT_ALLOW"; lx(s).seccomp->syscalls = {{{}, "SCMP_ACT_ERRNO", {}, {}}}; },
         "linux.seccomp.syscalls[0].names: must contain at least one syscall name"},
    Case{"SeccompSyscallActionUnknown", [](Spec& s) { lx(s).seccomp = Seccomp{}; lx(s).seccomp->default_action = "SCMP_ACT_ALLOW"; lx(s).seccomp->syscalls = {{{"read"}, "SCMP_ACT_ALLOW", {}, {}}, {{"mkdir"}, "DENY", {}, {}}}; },
         "linux.seccomp.syscalls[1].action: unknown seccomp action \"DENY\""},
    Case{"SeccompErrnoWithKill", [](Spec& s) { lx(s).seccomp = Seccomp{}; lx(s).seccomp->default_action = "SCMP_ACT_ALLOW"; lx(s).seccomp->syscalls = {{{"mkdir"}, "SCMP_ACT_KILL", 1u, {}}}; },
         "linux.seccomp.syscalls[0].errnoRet: not allowed with action \"SCMP_ACT_KILL\""},
    Case{"SeccompNotifyWrite", [](Spec& s) { lx(s).seccomp = Seccomp{}; lx(s).seccomp->default_action = "SCMP_ACT_ALLOW"; lx(s).seccomp->listener_path = "/a"; lx(s).seccomp->syscalls = {{{"read", "write"}, "SCMP_ACT_NOTIFY", {}, {}}}; },
         "linux.seccomp.syscalls[0].names: SCMP_ACT_NOTIFY cannot be used for the write syscall"},
    Case{"SeccompArgIndex", [](Spec& s) { lx(s).seccomp = Seccomp{}; lx(s).seccomp->default_action = "SCMP_ACT_ALLOW"; lx(s).seccomp->syscalls = {{{"clone"}, "SCMP_ACT_ERRNO", {}, {{0, 1, 0, "SCMP_CMP_EQ"}, {6, 1, 0, "SCMP_CMP_EQ"}}}}; },
         "linux.seccomp.syscalls[0].args[1].index: syscall argument index 6 out of range 0-5"},
    Case{"SeccompArgOp", [](Spec& s) { lx(s).seccomp = Seccomp{}; lx(s).seccomp->default_action = "SCMP_ACT_ALLOW"; lx(s).seccomp->syscalls = {{{"clone"}, "SCMP_ACT_ERRNO", {}, {{0, 1, 0, "EQ"}}}}; },
         "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"EQ\""},
    Case{"SeccompDockerLikeOk", [](Spec& s) {
            Seccomp sc;
            sc.default_action = "SCMP_ACT_ERRNO";
            sc.default_errno_ret = 1;
            sc.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
            sc.syscalls = {{{"accept", "read", "write"}, "SCMP_ACT_ALLOW", {}, {}},
                           {{"personality"}, "SCMP_ACT_ALLOW", {}, {{0, 0, 0, "SCMP_CMP_EQ"}}},
                           {{"clone3"}, "SCMP_ACT_ERRNO", 38u, {}},
                           {{"ptrace"}, "SCMP_ACT_TRACE", 1u, {}},
                           {{"mkdirat"}, "SCMP_ACT_NOTIFY", {}, {}}};
            sc.listener_path = "/run/agent.sock";
            lx(s).seccomp = sc;
         }, ""},
    // masked / readonly paths
    Case{"MaskedPathsWithoutMountNs", [](Spec& s) { drop_ns(s, "mount"); },
         "linux.maskedPaths: needs a mount namespace in linux.namespaces"},
    Case{"ReadonlyPathsWithoutMountNs", [](Spec& s) { drop_ns(s, "mount"); lx(s).masked_paths.clear(); },
         "linux.readonlyPaths: needs a mount namespace in linux.namespaces"},
    Case{"MaskedPathRelative", [](Spec& s) { lx(s).masked_paths.push_back("proc/x"); },
         "linux.maskedPaths[10]: must be an absolute path, got \"proc/x\""},
    Case{"ReadonlyPathRelative", [](Spec& s) { lx(s).readonly_paths[0] = ""; },
         "linux.readonlyPaths[0]: must be an absolute path, got \"\""},
    // personality
    Case{"PersonalityBad", [](Spec& s) { lx(s).personality = Personality{"LINUX64", {}}; },
         "linux.personality.domain: unknown domain \"LINUX64\", expected LINUX or LINUX32"},
    Case{"PersonalityOk", [](Spec& s) { lx(s).personality = Personality{"LINUX", {}}; }, ""},
    // time namespace
    Case{"TimeOffsetsWithoutTimeNs", [](Spec& s) { lx(s).time_offsets["monotonic"] = {1, 0}; },
         "linux.timeOffsets: time offsets given without a time namespace"},
    Case{"TimeOffsetsUnknownClock", [](Spec& s) { lx(s).namespaces.push_back({"time", ""}); lx(s).time_offsets["realtime"] = {1, 0}; },
         "linux.timeOffsets.realtime: unknown clock \"realtime\", expected monotonic or boottime"},
    Case{"TimeOffsetsOk", [](Spec& s) { lx(s).namespaces.push_back({"time", ""}); lx(s).time_offsets["boottime"] = {-5, 3}; }, ""}
), case_name);
// clang-format on

TEST(Validate, ParsedMissingCwdIsReported) {
    auto s = parse_spec(R"({"ociVersion": "1.2.0", "root": {"path": "rootfs"},
                            "process": {"args": ["sh"]}})");
    ASSERT_TRUE(s) << s.error().what();
    auto r = validate(*s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "config.json: process.cwd: required, must be an absolute path");
}

}  // namespace
}  // namespace berth::oci
