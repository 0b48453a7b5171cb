#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/common/fs.hpp"
#include "berth/oci/spec_json.hpp"
#include "berth/oci/validate.hpp"

namespace berth::oci {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using ojson = nlohmann::ordered_json;

// Every field Berth knows, in the runtime-spec's (Go struct) member order, so that the
// serialised form must equal it member for member and in order.
constexpr const char* kFullConfig = R"json({
  "ociVersion": "1.2.0",
  "process": {
    "terminal": true,
    "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 4294967295],
             "username": "someone"},
    "args": ["/bin/sh", "-c", "echo \"hi\" \u00e9"],
    "env": ["PATH=/bin:/usr/bin", "TERM=xterm"],
    "cwd": "/work",
    "capabilities": {
      "bounding": ["CAP_KILL", "CAP_CHOWN"],
      "effective": ["CAP_KILL"],
      "inheritable": ["CAP_CHOWN"],
      "permitted": ["CAP_KILL", "CAP_CHOWN"],
      "ambient": ["CAP_KILL"]
    },
    "rlimits": [
      {"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 1024},
      {"type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 0}
    ],
    "noNewPrivileges": true,
    "apparmorProfile": "docker-default",
    "oomScoreAdj": -500,
    "selinuxLabel": "system_u:system_r:container_t:s0"
  },
  "root": {"path": "/var/lib/rootfs", "readonly": true},
  "hostname": "box",
  "domainname": "example.org",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "ro"]},
    {"destination": "/tmp"}
  ],
  "hooks": {
    "prestart": [{"path": "/bin/pre", "args": ["pre", "x"], "env": ["A=1"], "timeout": 5}],
    "createRuntime": [{"path": "/bin/cr"}],
    "createContainer": [{"path": "/bin/cc"}],
    "startContainer": [{"path": "/bin/sc"}],
    "poststart": [{"path": "/bin/ps1"}, {"path": "/bin/ps2", "timeout": 1}],
    "poststop": [{"path": "/bin/stop"}]
  },
  "annotations": {"com.example.key": "v", "org.opencontainers.image.title": "t"},
  "linux": {
    "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}],
    "sysctl": {"kernel.shmmax": "1", "net.ipv4.ip_forward": "1"},
    "resources": {
      "devices": [
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}
      ],
      "memory": {"limit": 536870912, "reservation": 268435456, "swap": -1, "kernel": -1,
                 "kernelTCP": 1048576, "swappiness": 60, "disableOOMKiller": false,
                 "useHierarchy": true, "checkBeforeUpdate": true},
      "cpu": {"shares": 1024, "quota": 50000, "burst": 10000, "period": 100000,
              "realtimeRuntime": 950000, "realtimePeriod": 1000000, "cpus": "0-1", "mems": "0",
              "idle": 0},
      "pids": {"limit": 100},
      "blockIO": {
        "weight": 500,
        "leafWeight": 300,
        "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 300},
                         {"major": 8, "minor": 16, "weight": 200}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
        "throttleWriteBpsDevice": [{"major": 8, "minor": 1, "rate": 700}],
        "throttleReadIOPSDevice": [{"major": 8, "minor": 2, "rate": 800}],
        "throttleWriteIOPSDevice": [{"major": 8, "minor": 3, "rate": 900}]
      },
      "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
      "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
      "unified": {"io.max": "8:0 rbps=1048576", "memory.high": "max"}
    },
    "cgroupsPath": "/berth/c1",
    "namespaces": [
      {"type": "pid"}, {"type": "network", "path": "/var/run/netns/n1"}, {"type": "ipc"},
      {"type": "uts"}, {"type": "mount"}, {"type": "user"}, {"type": "cgroup"}, {"type": "time"}
    ],
    "devices": [
      {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0,
       "gid": 0},
      {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0}
    ],
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "defaultErrnoRet": 1,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      "flags": ["SECCOMP_FILTER_FLAG_LOG"],
      "listenerPath": "/run/agent.sock",
      "listenerMetadata": "meta",
      "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                  {"index": 1, "value": 255, "valueTwo": 4, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
      ]
    },
    "rootfsPropagation": "rslave",
    "maskedPaths": ["/proc/kcore"],
    "readonlyPaths": ["/proc/sys"],
    "mountLabel": "system_u:object_r:container_file_t:s0",
    "personality": {"domain": "LINUX32", "flags": ["SOMEFLAG"]},
    "timeOffsets": {"boottime": {"secs": 1, "nanosecs": 2}, "monotonic": {"secs": -86400}}
  }
})json";

Spec parse_ok(std::string_view text) {
    auto r = parse_spec(text);
    EXPECT_TRUE(r) << r.error().what();
    return r ? *r : Spec{};
}

/// The error message of a document that must fail to parse.
std::string parse_err(std::string_view text) {
    auto r = parse_spec(text);
    EXPECT_FALSE(r) << "parsed: " << text;
    if (r) return "";
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    return r.error().what();
}

TEST(SpecJson, FullConfigParsesEveryField) {
    Spec s = parse_ok(kFullConfig);
    EXPECT_EQ(s.oci_version, "1.2.0");
    ASSERT_TRUE(s.process);
    const Process& p = *s.process;
    EXPECT_TRUE(p.terminal);
    ASSERT_TRUE(p.console_size);
    EXPECT_EQ(p.console_size->height, 24u);
    EXPECT_EQ(p.console_size->width, 80u);
    EXPECT_EQ(p.user.uid, 1000u);
    EXPECT_EQ(p.user.gid, 1001u);
    EXPECT_EQ(p.user.umask, 18u);
    EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{5, 4294967295u}));
    EXPECT_EQ(p.user.username, "someone");
    EXPECT_EQ(p.args, (std::vector<std::string>{"/bin/sh", "-c", "echo \"hi\" \xc3\xa9"}));
    EXPECT_EQ(p.env.size(), 2u);
    EXPECT_EQ(p.cwd, "/work");
    ASSERT_TRUE(p.capabilities);
    EXPECT_EQ(p.capabilities->bounding, (std::vector<std::string>{"CAP_KILL", "CAP_CHOWN"}));
    EXPECT_EQ(p.capabilities->inheritable, (std::vector<std::string>{"CAP_CHOWN"}));
    EXPECT_EQ(p.capabilities->ambient, (std::vector<std::string>{"CAP_KILL"}));
    ASSERT_EQ(p.rlimits.size(), 2u);
    EXPECT_EQ(p.rlimits[0].type, "RLIMIT_NOFILE");
    EXPECT_EQ(p.rlimits[0].soft, 1024u);
    EXPECT_EQ(p.rlimits[0].hard, 4096u);
    EXPECT_EQ(p.rlimits[1].hard, UINT64_MAX);
    EXPECT_TRUE(p.no_new_privileges);
    EXPECT_EQ(p.apparmor_profile, "docker-default");
    EXPECT_EQ(p.oom_score_adj, -500);
    EXPECT_EQ(p.selinux_label, "system_u:system_r:container_t:s0");

    ASSERT_TRUE(s.root);
    EXPECT_EQ(s.root->path, "/var/lib/rootfs");
    EXPECT_TRUE(s.root->readonly);
    EXPECT_EQ(s.hostname, "box");
    EXPECT_EQ(s.domainname, "example.org");
    ASSERT_EQ(s.mounts.size(), 3u);
    EXPECT_EQ(s.mounts[1].destination, "/data");
    EXPECT_EQ(s.mounts[1].type, "bind");
    EXPECT_EQ(s.mounts[1].source, "/srv/data");
    EXPECT_EQ(s.mounts[1].options, (std::vector<std::string>{"rbind", "ro"}));
    EXPECT_EQ(s.mounts[2].type, "");

    ASSERT_TRUE(s.hooks);
    ASSERT_EQ(s.hooks->prestart.size(), 1u);
    EXPECT_EQ(s.hooks->prestart[0].path, "/bin/pre");
    EXPECT_EQ(s.hooks->prestart[0].args, (std::vector<std::string>{"pre", "x"}));
    EXPECT_EQ(s.hooks->prestart[0].env, (std::vector<std::string>{"A=1"}));
    EXPECT_EQ(s.hooks->prestart[0].timeout, 5);
    EXPECT_EQ(s.hooks->create_runtime.at(0).path, "/bin/cr");
    EXPECT_EQ(s.hooks->create_container.at(0).path, "/bin/cc");
    EXPECT_EQ(s.hooks->start_container.at(0).path, "/bin/sc");
    EXPECT_EQ(s.hooks->poststart.size(), 2u);
    EXPECT_FALSE(s.hooks->poststart[0].timeout);
    EXPECT_EQ(s.hooks->poststop.at(0).path, "/bin/stop");
    EXPECT_EQ(s.annotations.at("com.example.key"), "v");

    ASSERT_TRUE(s.linux);
    const Linux& l = *s.linux;
    ASSERT_EQ(l.uid_mappings.size(), 1u);
    EXPECT_EQ(l.uid_mappings[0].host_id, 100000u);
    EXPECT_EQ(l.uid_mappings[0].size, 65536u);
    EXPECT_EQ(l.gid_mappings.at(0).host_id, 200000u);
    EXPECT_EQ(l.sysctl.at("net.ipv4.ip_forward"), "1");
    ASSERT_TRUE(l.resources);
    const Resources& r = *l.resources;
    ASSERT_EQ(r.devices.size(), 2u);
    EXPECT_FALSE(r.devices[0].allow);
    EXPECT_FALSE(r.devices[0].major);
    EXPECT_EQ(r.devices[1].type, "c");
    EXPECT_EQ(r.devices[1].major, 10);
    EXPECT_EQ(r.devices[1].minor, 229);
    EXPECT_EQ(r.devices[1].access, "rw");
    ASSERT_TRUE(r.memory);
    EXPECT_EQ(r.memory->limit, 536870912);
    EXPECT_EQ(r.memory->reservation, 268435456);
    EXPECT_EQ(r.memory->swap, -1);
    EXPECT_EQ(r.memory->kernel, -1);
    EXPECT_EQ(r.memory->kernel_tcp, 1048576);
    EXPECT_EQ(r.memory->swappiness, 60u);
    EXPECT_EQ(r.memory->disable_oom_killer, false);
    EXPECT_EQ(r.memory->use_hierarchy, true);
    EXPECT_EQ(r.memory->check_before_update, true);
    ASSERT_TRUE(r.cpu);
    EXPECT_EQ(r.cpu->shares, 1024u);
    EXPECT_EQ(r.cpu->quota, 50000);
    EXPECT_EQ(r.cpu->burst, 10000u);
    EXPECT_EQ(r.cpu->period, 100000u);
    EXPECT_EQ(r.cpu->realtime_runtime, 950000);
    EXPECT_EQ(r.cpu->realtime_period, 1000000u);
    EXPECT_EQ(r.cpu->cpus, "0-1");
    EXPECT_EQ(r.cpu->mems, "0");
    EXPECT_EQ(r.cpu->idle, 0);
    ASSERT_TRUE(r.pids);
    EXPECT_EQ(r.pids->limit, 100);
    ASSERT_TRUE(r.block_io);
    EXPECT_EQ(r.block_io->weight, 500);
    EXPECT_EQ(r.block_io->leaf_weight, 300);
    ASSERT_EQ(r.block_io->weight_device.size(), 2u);
    EXPECT_EQ(r.block_io->weight_device[1].minor, 16);
    EXPECT_FALSE(r.block_io->weight_device[1].leaf_weight);
    EXPECT_EQ(r.block_io->throttle_read_bps_device.at(0).rate, 600u);
    EXPECT_EQ(r.block_io->throttle_write_bps_device.at(0).rate, 700u);
    EXPECT_EQ(r.block_io->throttle_read_iops_device.at(0).rate, 800u);
    EXPECT_EQ(r.block_io->throttle_write_iops_device.at(0).minor, 3);
    ASSERT_EQ(r.hugepage_limits.size(), 1u);
    EXPECT_EQ(r.hugepage_limits[0].page_size, "2MB");
    EXPECT_EQ(r.hugepage_limits[0].limit, 209715200u);
    ASSERT_TRUE(r.network);
    EXPECT_EQ(r.network->class_id, 1048577u);
    EXPECT_EQ(r.network->priorities.at(0).name, "eth0");
    EXPECT_EQ(r.network->priorities.at(0).priority, 500u);
    EXPECT_EQ(r.unified.at("memory.high"), "max");

    EXPECT_EQ(l.cgroups_path, "/berth/c1");
    ASSERT_EQ(l.namespaces.size(), 8u);
    EXPECT_EQ(l.namespaces[1].type, "network");
    EXPECT_EQ(l.namespaces[1].path, "/var/run/netns/n1");
    ASSERT_EQ(l.devices.size(), 2u);
    EXPECT_EQ(l.devices[0].file_mode, 438u);
    EXPECT_EQ(l.devices[0].uid, 0u);
    EXPECT_FALSE(l.devices[1].file_mode);
    EXPECT_EQ(l.devices[1].type, "b");
    ASSERT_TRUE(l.seccomp);
    EXPECT_EQ(l.seccomp->default_action, "SCMP_ACT_ERRNO");
    EXPECT_EQ(l.seccomp->default_errno_ret, 1u);
    EXPECT_EQ(l.seccomp->architectures.size(), 2u);
    EXPECT_EQ(l.seccomp->flags, (std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"}));
    EXPECT_EQ(l.seccomp->listener_path, "/run/agent.sock");
    EXPECT_EQ(l.seccomp->listener_metadata, "meta");
    ASSERT_EQ(l.seccomp->syscalls.size(), 3u);
    EXPECT_EQ(l.seccomp->syscalls[1].args.at(1).index, 1u);
    EXPECT_EQ(l.seccomp->syscalls[1].args.at(1).value, 255u);
    EXPECT_EQ(l.seccomp->syscalls[1].args.at(1).value_two, 4u);
    EXPECT_EQ(l.seccomp->syscalls[1].args.at(1).op, "SCMP_CMP_MASKED_EQ");
    EXPECT_EQ(l.seccomp->syscalls[2].errno_ret, 38u);
    EXPECT_EQ(l.rootfs_propagation, "rslave");
    EXPECT_EQ(l.masked_paths, (std::vector<std::string>{"/proc/kcore"}));
    EXPECT_EQ(l.readonly_paths, (std::vector<std::string>{"/proc/sys"}));
    EXPECT_EQ(l.mount_label, "system_u:object_r:container_file_t:s0");
    ASSERT_TRUE(l.personality);
    EXPECT_EQ(l.personality->domain, "LINUX32");
    EXPECT_EQ(l.personality->flags, (std::vector<std::string>{"SOMEFLAG"}));
    ASSERT_EQ(l.time_offsets.size(), 2u);
    EXPECT_EQ(l.time_offsets.at("monotonic").secs, -86400);
    EXPECT_EQ(l.time_offsets.at("boottime").nanosecs, 2u);

    EXPECT_TRUE(validate(s)) << validate(s).error().what();
}

TEST(SpecJson, FullConfigRoundTripsMemberForMemberInOrder) {
    Spec s = parse_ok(kFullConfig);
    std::string out = to_json(s);
    // Same members, same values, same order (ordered_json compares order).
    EXPECT_EQ(ojson::parse(out), ojson::parse(kFullConfig)) << out;
    // And parsing the output gives back the same thing.
    Spec again = parse_ok(out);
    EXPECT_EQ(to_json(again), out);
    EXPECT_EQ(to_json(again, true), to_json(s, true));
    EXPECT_EQ(ojson::parse(to_json(s, true)), ojson::parse(out));
}

TEST(SpecJson, EachSpecGetsItsOwnSeccompProfileAndTheSameTextAsWithout) {
    // to_json keeps the last profile's text: a spec with another one must not get it.
    Spec a = parse_ok(kFullConfig);
    ASSERT_TRUE(a.linux && a.linux->seccomp);
    Spec b = a;
    b.linux->seccomp->default_action = "SCMP_ACT_KILL";
    b.linux->seccomp->syscalls.front().names.push_back("getcwd");
    Spec none = a;
    none.linux->seccomp.reset();
    for (int round = 0; round < 2; ++round) {
        for (const Spec* s : {&a, &b, &none, &a}) {
            std::string out = to_json(*s);
            Spec back = parse_ok(out);
            ASSERT_TRUE(back.linux);
            EXPECT_EQ(back.linux->seccomp, s->linux->seccomp) << out;
            // The same document as the pretty one, which is built whole.
            EXPECT_EQ(ojson::parse(out), ojson::parse(to_json(*s, true)));
        }
    }
}

TEST(SpecJson, PrettyOutputUsesTabsLikeRunc) {
    Spec s;
    s.oci_version = "1.2.0";
    s.hostname = "h";
    EXPECT_EQ(to_json(s, true), "{\n\t\"ociVersion\": \"1.2.0\",\n\t\"hostname\": \"h\"\n}");
    EXPECT_EQ(to_json(s), R"({"ociVersion":"1.2.0","hostname":"h"})");
}

TEST(SpecJson, MinimalDocumentLeavesDefaults) {
    Spec s = parse_ok(R"({"ociVersion": "1.0.0"})");
    EXPECT_EQ(s.oci_version, "1.0.0");
    EXPECT_FALSE(s.process);
    EXPECT_FALSE(s.root);
    EXPECT_FALSE(s.hooks);
    EXPECT_FALSE(s.linux);
    EXPECT_TRUE(s.mounts.empty());
    EXPECT_EQ(to_json(s), R"({"ociVersion":"1.0.0"})");
}

TEST(SpecJson, EmptySectionsAndFalseValuesAreOmittedButPresentOptionalsKept) {
    Spec s;
    s.oci_version = "1.2.0";
    s.process = Process{};
    s.process->args = {"sh"};
    s.linux = Linux{};
    s.linux->resources = Resources{};
    s.linux->resources->memory = MemoryResources{};
    s.linux->resources->memory->disable_oom_killer = false;
    s.linux->resources->pids = PidsResources{};
    s.hooks = Hooks{};
    EXPECT_EQ(to_json(s),
              R"({"ociVersion":"1.2.0","process":{"user":{"uid":0,"gid":0},"args":["sh"],)"
              R"("cwd":"/"},"hooks":{},"linux":{"resources":{"memory":{"disableOOMKiller":false},)"
              R"("pids":{"limit":0}}}})");
    Spec back = parse_ok(to_json(s));
    EXPECT_TRUE(back.hooks);
    ASSERT_TRUE(back.linux && back.linux->resources && back.linux->resources->memory);
    EXPECT_EQ(back.linux->resources->memory->disable_oom_killer, false);
    EXPECT_FALSE(back.linux->resources->memory->limit);
    EXPECT_FALSE(back.linux->resources->cpu);
    EXPECT_EQ(to_json(back), to_json(s));
}

TEST(SpecJson, NullMeansAbsentAndUnknownFieldsAreIgnored) {
    Spec s = parse_ok(R"({
        "ociVersion": "1.2.0",
        "process": {"args": ["sh"], "cwd": "/", "capabilities": null, "scheduler": {"policy": "SCHED_OTHER"},
                    "ioPriority": {"class": "IOPRIO_CLASS_RT", "priority": 1}, "env": null},
        "linux": {"seccomp": null, "intelRdt": {"closID": "x"}, "resources": {"rdma": {"m": {}}}},
        "windows": {"layerFolders": []},
        "vm": 7,
        "hooks": null,
        "mounts": [{"destination": "/a", "uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}]
    })");
    ASSERT_TRUE(s.process);
    EXPECT_FALSE(s.process->capabilities);
    EXPECT_TRUE(s.process->env.empty());
    ASSERT_TRUE(s.linux);
    EXPECT_FALSE(s.linux->seccomp);
    EXPECT_TRUE(s.linux->resources);
    EXPECT_FALSE(s.hooks);
    ASSERT_EQ(s.mounts.size(), 1u);
}

TEST(SpecJson, OfMembersWithTheSameNameTheLastCounts) {
    // Go's encoding/json (runc) keeps the last; so do both of parse_spec's parsers.
    Spec s = parse_ok(R"({
        "ociVersion": "1.0.0", "hostname": "first", "hostname": "last",
        "annotations": {"k": "1", "j": "x", "k": "2"},
        "linux": {"maskedPaths": ["/a"], "maskedPaths": ["/b", "/c"]}
    })");
    EXPECT_EQ(s.hostname, "last");
    EXPECT_EQ(s.annotations, (std::map<std::string, std::string>{{"j", "x"}, {"k", "2"}}));
    ASSERT_TRUE(s.linux);
    EXPECT_EQ(s.linux->masked_paths, (std::vector<std::string>{"/b", "/c"}));
    // The last one is what is checked, too.
    EXPECT_THAT(parse_err(R"({"hostname": "ok", "hostname": 5})"),
                HasSubstr("hostname: expected a string, got 5"));
    EXPECT_EQ(parse_ok(R"({"hostname": 5, "hostname": "ok"})").hostname, "ok");
}

TEST(SpecJson, StringsKeepEscapedNulsAndUnicode) {
    using namespace std::string_literals;
    Spec s = parse_ok(R"({"ociVersion": "1.0.0", "hostname": "a\u0000b",
                          "process": {"cwd": "/", "env": ["X=\u00e9\ud83d\ude00", "Y=\"\\/\t"]}})");
    EXPECT_EQ(s.hostname, "a\0b"s);
    ASSERT_TRUE(s.process);
    EXPECT_EQ(s.process->env,
              (std::vector<std::string>{"X=\xc3\xa9\xf0\x9f\x98\x80", "Y=\"\\/\t"}));
}

TEST(SpecJson, MissingCwdStaysEmptyForValidateToReport) {
    Spec s = parse_ok(R"({"ociVersion": "1.2.0", "process": {"args": ["sh"]}})");
    ASSERT_TRUE(s.process);
    EXPECT_EQ(s.process->cwd, "");
}

// ---- errors: full messages ------------------------------------------------------------------

TEST(SpecJsonErrors, FullMessages) {
    EXPECT_EQ(parse_err(R"({"process": {"user": {"uid": "0"}}})"),
              "config.json: process.user.uid: expected an unsigned 32-bit integer, got string");
    EXPECT_EQ(
        parse_err(R"({"linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": 7}]}})"),
        "config.json: linux.namespaces[2].type: expected a string, got 7");
    EXPECT_EQ(parse_err("[]"), "config.json: expected an object, got array");
    EXPECT_EQ(parse_err(R"({"process": []})"),
              "config.json: process: expected an object, got array");
    EXPECT_EQ(parse_err(R"({"annotations": {"com.example.x": 1}})"),
              R"(config.json: annotations["com.example.x"]: expected a string, got 1)");
    EXPECT_EQ(parse_err(R"({"linux": {"resources": {"memory": {"limit": 9223372036854775808}}}})"),
              "config.json: linux.resources.memory.limit: expected a signed 64-bit integer, got "
              "9223372036854775808");
    EXPECT_EQ(parse_err(R"({"process": {"terminal": "yes"}})"),
              "config.json: process.terminal: expected a boolean, got string");
}

TEST(SpecJsonErrors, CustomOriginAndEntryPoints) {
    auto r = parse_spec(R"({"ociVersion": 1})", "/b/config.json");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "/b/config.json: ociVersion: expected a string, got 1");

    auto res = parse_resources(R"({"memory": {"limit": "1g"}})");
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, Errc::InvalidArgument);
    EXPECT_EQ(res.error().what(),
              "resources: memory.limit: expected a signed 64-bit integer, got string");

    auto proc = parse_process(R"({"user": {"gid": -1}})");
    ASSERT_FALSE(proc);
    EXPECT_EQ(proc.error().what(),
              "process.json: user.gid: expected an unsigned 32-bit integer, got -1");
}

struct ErrorCase {
    const char* json;
    const char* path_and_what;  // the message after "config.json: "
};

class SpecJsonErrorPaths : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(SpecJsonErrorPaths, NamesThePath) {
    const ErrorCase& c = GetParam();
    EXPECT_EQ(parse_err(c.json), std::string("config.json: ") + c.path_and_what);
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(All, SpecJsonErrorPaths, ::testing::Values(
    ErrorCase{R"({"ociVersion": null, "root": "rootfs"})", "root: expected an object, got string"},
    ErrorCase{R"({"root": {"path": 1}})", "root.path: expected a string, got 1"},
    ErrorCase{R"({"root": {"readonly": 1}})", "root.readonly: expected a boolean, got 1"},
    ErrorCase{R"({"hostname": []})", "hostname: expected a string, got array"},
    ErrorCase{R"({"domainname": {}})", "domainname: expected a string, got object"},
    ErrorCase{R"({"process": {"consoleSize": {"height": -1}}})",
              "process.consoleSize.height: expected an unsigned 32-bit integer, got -1"},
    ErrorCase{R"({"process": {"consoleSize": {"width": 1.5}}})",
              "process.consoleSize.width: expected an unsigned 32-bit integer, got 1.5"},
    ErrorCase{R"({"process": {"user": 0}})", "process.user: expected an object, got 0"},
    ErrorCase{R"({"process": {"user": {"uid": 4294967296}}})",
              "process.user.uid: expected an unsigned 32-bit integer, got 4294967296"},
    ErrorCase{R"({"process": {"user": {"uid": -1}}})",
              "process.user.uid: expected an unsigned 32-bit integer, got -1"},
    ErrorCase{R"({"process": {"user": {"uid": true}}})",
              "process.user.uid: expected an unsigned 32-bit integer, got boolean"},
    ErrorCase{R"({"process": {"user": {"umask": 1e3}}})",
              "process.user.umask: expected an unsigned 32-bit integer, got 1000.0"},
    ErrorCase{R"({"process": {"user": {"additionalGids": [1, "2"]}}})",
              "process.user.additionalGids[1]: expected an unsigned 32-bit integer, got string"},
    ErrorCase{R"({"process": {"user": {"username": 5}}})",
              "process.user.username: expected a string, got 5"},
    ErrorCase{R"({"process": {"args": "sh"}})", "process.args: expected an array, got string"},
    ErrorCase{R"({"process": {"args": ["sh", null]}})",
              "process.args[1]: expected a string, got null"},
    ErrorCase{R"({"process": {"env": [1]}})", "process.env[0]: expected a string, got 1"},
    ErrorCase{R"({"process": {"cwd": 0}})", "process.cwd: expected a string, got 0"},
    ErrorCase{R"({"process": {"capabilities": []}})",
              "process.capabilities: expected an object, got array"},
    ErrorCase{R"({"process": {"capabilities": {"ambient": [false]}}})",
              "process.capabilities.ambient[0]: expected a string, got boolean"},
    ErrorCase{R"({"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "soft": -5}]}})",
              "process.rlimits[0].soft: expected an unsigned 64-bit integer, got -5"},
    ErrorCase{R"({"process": {"rlimits": [{}, {"hard": "x"}]}})",
              "process.rlimits[1].hard: expected an unsigned 64-bit integer, got string"},
    ErrorCase{R"({"process": {"rlimits": [{}, {"hard": 18446744073709551616}]}})",
              "process.rlimits[1].hard: expected an unsigned 64-bit integer, got 1.8446744073709552e+19"},
    ErrorCase{R"({"process": {"noNewPrivileges": "true"}})",
              "process.noNewPrivileges: expected a boolean, got string"},
    ErrorCase{R"({"process": {"oomScoreAdj": 2147483648}})",
              "process.oomScoreAdj: expected a signed 32-bit integer, got 2147483648"},
    ErrorCase{R"({"process": {"oomScoreAdj": -2147483649}})",
              "process.oomScoreAdj: expected a signed 32-bit integer, got -2147483649"},
    ErrorCase{R"({"process": {"apparmorProfile": 1}})",
              "process.apparmorProfile: expected a string, got 1"},
    ErrorCase{R"({"process": {"selinuxLabel": 1}})",
              "process.selinuxLabel: expected a string, got 1"},
    ErrorCase{R"({"mounts": {}})", "mounts: expected an array, got object"},
    ErrorCase{R"({"mounts": [{"destination": "/a"}, "x"]})",
              "mounts[1]: expected an object, got string"},
    ErrorCase{R"({"mounts": [{"destination": "/a", "options": ["ro", 1]}]})",
              "mounts[0].options[1]: expected a string, got 1"},
    ErrorCase{R"({"mounts": [{"source": 1}]})", "mounts[0].source: expected a string, got 1"},
    ErrorCase{R"({"mounts": [{"type": 1}]})", "mounts[0].type: expected a string, got 1"},
    ErrorCase{R"({"hooks": {"prestart": {}}})", "hooks.prestart: expected an array, got object"},
    ErrorCase{R"({"hooks": {"createRuntime": [{"path": 1}]}})",
              "hooks.createRuntime[0].path: expected a string, got 1"},
    ErrorCase{R"({"hooks": {"createContainer": [{"args": [1]}]}})",
              "hooks.createContainer[0].args[0]: expected a string, got 1"},
    ErrorCase{R"({"hooks": {"startContainer": [{"env": "A=1"}]}})",
              "hooks.startContainer[0].env: expected an array, got string"},
    ErrorCase{R"({"hooks": {"poststart": [{"path": "/x"}, {"timeout": "5"}]}})",
              "hooks.poststart[1].timeout: expected a signed 32-bit integer, got string"},
    ErrorCase{R"({"hooks": {"poststop": [{"timeout": 1.5}]}})",
              "hooks.poststop[0].timeout: expected a signed 32-bit integer, got 1.5"},
    ErrorCase{R"({"annotations": []})", "annotations: expected an object, got array"},
    ErrorCase{R"({"annotations": {"simple": true}})",
              "annotations.simple: expected a string, got boolean"},
    ErrorCase{R"({"linux": 1})", "linux: expected an object, got 1"},
    ErrorCase{R"({"linux": {"uidMappings": [{"containerID": 0, "hostID": -1, "size": 1}]}})",
              "linux.uidMappings[0].hostID: expected an unsigned 32-bit integer, got -1"},
    ErrorCase{R"({"linux": {"gidMappings": [{"size": 4294967296}]}})",
              "linux.gidMappings[0].size: expected an unsigned 32-bit integer, got 4294967296"},
    ErrorCase{R"({"linux": {"gidMappings": [{"containerID": "0"}]}})",
              "linux.gidMappings[0].containerID: expected an unsigned 32-bit integer, got string"},
    ErrorCase{R"({"linux": {"sysctl": {"net.ipv4.ip_forward": 1}}})",
              R"(linux.sysctl["net.ipv4.ip_forward"]: expected a string, got 1)"},
    ErrorCase{R"({"linux": {"namespaces": {}}})", "linux.namespaces: expected an array, got object"},
    ErrorCase{R"({"linux": {"namespaces": [{"type": "pid", "path": 3}]}})",
              "linux.namespaces[0].path: expected a string, got 3"},
    ErrorCase{R"({"linux": {"devices": [{"path": "/dev/x", "type": "c", "major": "1"}]}})",
              "linux.devices[0].major: expected a signed 64-bit integer, got string"},
    ErrorCase{R"({"linux": {"devices": [{"minor": 1.5}]}})",
              "linux.devices[0].minor: expected a signed 64-bit integer, got 1.5"},
    ErrorCase{R"({"linux": {"devices": [{"fileMode": -438}]}})",
              "linux.devices[0].fileMode: expected an unsigned 32-bit integer, got -438"},
    ErrorCase{R"({"linux": {"devices": [{"uid": "0"}]}})",
              "linux.devices[0].uid: expected an unsigned 32-bit integer, got string"},
    ErrorCase{R"({"linux": {"devices": [{"gid": -1}]}})",
              "linux.devices[0].gid: expected an unsigned 32-bit integer, got -1"},
    ErrorCase{R"({"linux": {"cgroupsPath": 1}})", "linux.cgroupsPath: expected a string, got 1"},
    ErrorCase{R"({"linux": {"resources": []}})", "linux.resources: expected an object, got array"},
    ErrorCase{R"({"linux": {"resources": {"devices": [{"allow": "yes"}]}}})",
              "linux.resources.devices[0].allow: expected a boolean, got string"},
    ErrorCase{R"({"linux": {"resources": {"devices": [{"major": "*"}]}}})",
              "linux.resources.devices[0].major: expected a signed 64-bit integer, got string"},
    ErrorCase{R"({"linux": {"resources": {"devices": [{"access": 7}]}}})",
              "linux.resources.devices[0].access: expected a string, got 7"},
    ErrorCase{R"({"linux": {"resources": {"memory": {"reservation": "x"}}}})",
              "linux.resources.memory.reservation: expected a signed 64-bit integer, got string"},
    ErrorCase{R"({"linux": {"resources": {"memory": {"swap": 1.5}}}})",
              "linux.resources.memory.swap: expected a signed 64-bit integer, got 1.5"},
    ErrorCase{R"({"linux": {"resources": {"memory": {"kernel": true}}}})",
              "linux.resources.memory.kernel: expected a signed 64-bit integer, got boolean"},
    ErrorCase{R"({"linux": {"resources": {"memory": {"kernelTCP": []}}}})",
              "linux.resources.memory.kernelTCP: expected a signed 64-bit integer, got array"},
    ErrorCase{R"({"linux": {"resources": {"memory": {"swappiness": -1}}}})",
              "linux.resources.memory.swappiness: expected an unsigned 64-bit integer, got -1"},
    ErrorCase{R"({"linux": {"resources": {"memory": {"disableOOMKiller": 0}}}})",
              "linux.resources.memory.disableOOMKiller: expected a boolean, got 0"},
    ErrorCase{R"({"linux": {"resources": {"memory": {"useHierarchy": "no"}}}})",
              "linux.resources.memory.useHierarchy: expected a boolean, got string"},
    ErrorCase{R"({"linux": {"resources": {"memory": {"checkBeforeUpdate": 1}}}})",
              "linux.resources.memory.checkBeforeUpdate: expected a boolean, got 1"},
    ErrorCase{R"({"linux": {"resources": {"cpu": {"shares": -2}}}})",
              "linux.resources.cpu.shares: expected an unsigned 64-bit integer, got -2"},
    ErrorCase{R"({"linux": {"resources": {"cpu": {"quota": "max"}}}})",
              "linux.resources.cpu.quota: expected a signed 64-bit integer, got string"},
    ErrorCase{R"({"linux": {"resources": {"cpu": {"burst": -1}}}})",
              "linux.resources.cpu.burst: expected an unsigned 64-bit integer, got -1"},
    ErrorCase{R"({"linux": {"resources": {"cpu": {"period": -1}}}})",
              "linux.resources.cpu.period: expected an unsigned 64-bit integer, got -1"},
    ErrorCase{R"({"linux": {"resources": {"cpu": {"realtimeRuntime": 0.5}}}})",
              "linux.resources.cpu.realtimeRuntime: expected a signed 64-bit integer, got 0.5"},
    ErrorCase{R"({"linux": {"resources": {"cpu": {"realtimePeriod": -1}}}})",
              "linux.resources.cpu.realtimePeriod: expected an unsigned 64-bit integer, got -1"},
    ErrorCase{R"({"linux": {"resources": {"cpu": {"cpus": 1}}}})",
              "linux.resources.cpu.cpus: expected a string, got 1"},
    ErrorCase{R"({"linux": {"resources": {"cpu": {"mems": 0}}}})",
              "linux.resources.cpu.mems: expected a string, got 0"},
    ErrorCase{R"({"linux": {"resources": {"cpu": {"idle": "1"}}}})",
              "linux.resources.cpu.idle: expected a signed 64-bit integer, got string"},
    ErrorCase{R"({"linux": {"resources": {"pids": {"limit": "max"}}}})",
              "linux.resources.pids.limit: expected a signed 64-bit integer, got string"},
    ErrorCase{R"({"linux": {"resources": {"blockIO": {"weight": 65536}}}})",
              "linux.resources.blockIO.weight: expected an unsigned 16-bit integer, got 65536"},
    ErrorCase{R"({"linux": {"resources": {"blockIO": {"leafWeight": -1}}}})",
              "linux.resources.blockIO.leafWeight: expected an unsigned 16-bit integer, got -1"},
    ErrorCase{R"({"linux": {"resources": {"blockIO": {"weightDevice": [{"weight": 70000}]}}}})",
              "linux.resources.blockIO.weightDevice[0].weight: expected an unsigned 16-bit "
              "integer, got 70000"},
    ErrorCase{R"({"linux": {"resources": {"blockIO": {"weightDevice": [{"leafWeight": "1"}]}}}})",
              "linux.resources.blockIO.weightDevice[0].leafWeight: expected an unsigned 16-bit "
              "integer, got string"},
    ErrorCase{R"({"linux": {"resources": {"blockIO": {"throttleReadBpsDevice": [{"rate": -1}]}}}})",
              "linux.resources.blockIO.throttleReadBpsDevice[0].rate: expected an unsigned 64-bit "
              "integer, got -1"},
    ErrorCase{R"({"linux": {"resources": {"blockIO": {"throttleWriteBpsDevice": [{"major": "8"}]}}}})",
              "linux.resources.blockIO.throttleWriteBpsDevice[0].major: expected a signed 64-bit "
              "integer, got string"},
    ErrorCase{R"({"linux": {"resources": {"blockIO": {"throttleReadIOPSDevice": [1]}}}})",
              "linux.resources.blockIO.throttleReadIOPSDevice[0]: expected an object, got 1"},
    ErrorCase{R"({"linux": {"resources": {"blockIO": {"throttleWriteIOPSDevice": [{"minor": 1.1}]}}}})",
              "linux.resources.blockIO.throttleWriteIOPSDevice[0].minor: expected a signed 64-bit "
              "integer, got 1.1"},
    ErrorCase{R"({"linux": {"resources": {"hugepageLimits": [{"pageSize": 2}]}}})",
              "linux.resources.hugepageLimits[0].pageSize: expected a string, got 2"},
    ErrorCase{R"({"linux": {"resources": {"hugepageLimits": [{"limit": -1}]}}})",
              "linux.resources.hugepageLimits[0].limit: expected an unsigned 64-bit integer, got -1"},
    ErrorCase{R"({"linux": {"resources": {"network": {"classID": -1}}}})",
              "linux.resources.network.classID: expected an unsigned 32-bit integer, got -1"},
    ErrorCase{R"({"linux": {"resources": {"network": {"priorities": [{"name": "eth0", "priority": "1"}]}}}})",
              "linux.resources.network.priorities[0].priority: expected an unsigned 32-bit "
              "integer, got string"},
    ErrorCase{R"({"linux": {"resources": {"unified": {"memory.max": 1}}}})",
              R"(linux.resources.unified["memory.max"]: expected a string, got 1)"},
    ErrorCase{R"({"linux": {"rootfsPropagation": 1}})",
              "linux.rootfsPropagation: expected a string, got 1"},
    ErrorCase{R"({"linux": {"seccomp": {"defaultAction": 1}}})",
              "linux.seccomp.defaultAction: expected a string, got 1"},
    ErrorCase{R"({"linux": {"seccomp": {"defaultErrnoRet": -1}}})",
              "linux.seccomp.defaultErrnoRet: expected an unsigned 32-bit integer, got -1"},
    ErrorCase{R"({"linux": {"seccomp": {"architectures": "SCMP_ARCH_X86"}}})",
              "linux.seccomp.architectures: expected an array, got string"},
    ErrorCase{R"({"linux": {"seccomp": {"flags": [1]}}})",
              "linux.seccomp.flags[0]: expected a string, got 1"},
    ErrorCase{R"({"linux": {"seccomp": {"listenerPath": 1}}})",
              "linux.seccomp.listenerPath: expected a string, got 1"},
    ErrorCase{R"({"linux": {"seccomp": {"listenerMetadata": 1}}})",
              "linux.seccomp.listenerMetadata: expected a string, got 1"},
    ErrorCase{R"({"linux": {"seccomp": {"syscalls": [{"names": ["read"]}, {"names": "write"}]}}})",
              "linux.seccomp.syscalls[1].names: expected an array, got string"},
    ErrorCase{R"({"linux": {"seccomp": {"syscalls": [{"action": 1}]}}})",
              "linux.seccomp.syscalls[0].action: expected a string, got 1"},
    ErrorCase{R"({"linux": {"seccomp": {"syscalls": [{"errnoRet": 4294967296}]}}})",
              "linux.seccomp.syscalls[0].errnoRet: expected an unsigned 32-bit integer, got "
              "4294967296"},
    ErrorCase{R"({"linux": {"seccomp": {"syscalls": [{"args": [{"index": -1}]}]}}})",
              "linux.seccomp.syscalls[0].args[0].index: expected an unsigned 32-bit integer, got -1"},
    ErrorCase{R"({"linux": {"seccomp": {"syscalls": [{"args": [{"value": -1}]}]}}})",
              "linux.seccomp.syscalls[0].args[0].value: expected an unsigned 64-bit integer, got -1"},
    ErrorCase{R"({"linux": {"seccomp": {"syscalls": [{"args": [{"valueTwo": "1"}]}]}}})",
              "linux.seccomp.syscalls[0].args[0].valueTwo: expected an unsigned 64-bit integer, "
              "got string"},
    ErrorCase{R"({"linux": {"seccomp": {"syscalls": [{"args": [{"op": 1}]}]}}})",
              "linux.seccomp.syscalls[0].args[0].op: expected a string, got 1"},
    ErrorCase{R"({"linux": {"maskedPaths": [1]}})", "linux.maskedPaths[0]: expected a string, got 1"},
    ErrorCase{R"({"linux": {"readonlyPaths": "/proc"}})",
              "linux.readonlyPaths: expected an array, got string"},
    ErrorCase{R"({"linux": {"mountLabel": 1}})", "linux.mountLabel: expected a string, got 1"},
    ErrorCase{R"({"linux": {"personality": {"domain": 1}}})",
              "linux.personality.domain: expected a string, got 1"},
    ErrorCase{R"({"linux": {"personality": {"flags": [1]}}})",
              "linux.personality.flags[0]: expected a string, got 1"},
    ErrorCase{R"({"linux": {"timeOffsets": {"monotonic": {"secs": "1"}}}})",
              "linux.timeOffsets.monotonic.secs: expected a signed 64-bit integer, got string"},
    ErrorCase{R"({"linux": {"timeOffsets": {"boottime": {"nanosecs": -1}}}})",
              "linux.timeOffsets.boottime.nanosecs: expected an unsigned 32-bit integer, got -1"},
    ErrorCase{R"({"linux": {"timeOffsets": {"boottime": 5}}})",
              "linux.timeOffsets.boottime: expected an object, got 5"},
    ErrorCase{R"({"linux": {"timeOffsets": {"weird clock": 5}}})",
              R"(linux.timeOffsets["weird clock"]: expected an object, got 5)"}
));
// clang-format on

// ---- integer ranges -------------------------------------------------------------------------

TEST(SpecJsonRanges, BoundariesAccepted) {
    Spec s = parse_ok(R"({
        "process": {"user": {"uid": 4294967295, "gid": 0}, "oomScoreAdj": -2147483648,
                    "rlimits": [{"type": "RLIMIT_CPU", "soft": 18446744073709551615,
                                 "hard": 18446744073709551615}]},
        "linux": {"resources": {
            "memory": {"limit": -1, "swap": 9223372036854775807, "reservation": -9223372036854775808},
            "blockIO": {"weight": 65535, "leafWeight": 0},
            "cpu": {"quota": -1}},
          "timeOffsets": {"monotonic": {"secs": -9223372036854775808, "nanosecs": 4294967295}}}
    })");
    EXPECT_EQ(s.process->user.uid, 4294967295u);
    EXPECT_EQ(s.process->oom_score_adj, INT32_MIN);
    EXPECT_EQ(s.process->rlimits[0].soft, UINT64_MAX);
    EXPECT_EQ(s.linux->resources->memory->limit, -1);
    EXPECT_EQ(s.linux->resources->memory->swap, INT64_MAX);
    EXPECT_EQ(s.linux->resources->memory->reservation, INT64_MIN);
    EXPECT_EQ(s.linux->resources->block_io->weight, 65535);
    EXPECT_EQ(s.linux->resources->cpu->quota, -1);
    EXPECT_EQ(s.linux->time_offsets.at("monotonic").secs, INT64_MIN);
    EXPECT_EQ(s.linux->time_offsets.at("monotonic").nanosecs, 4294967295u);
    // Round trip keeps the extremes exact (no detour through double).
    Spec back = parse_ok(to_json(s));
    EXPECT_EQ(back.process->rlimits[0].hard, UINT64_MAX);
    EXPECT_EQ(back.linux->resources->memory->reservation, INT64_MIN);
}

TEST(SpecJsonRanges, JustPastBoundariesRejected) {
    EXPECT_THAT(parse_err(R"({"process": {"oomScoreAdj": -2147483649}})"),
                HasSubstr("process.oomScoreAdj: expected a signed 32-bit integer"));
    EXPECT_THAT(
        parse_err(R"({"linux": {"resources": {"memory": {"limit": -9223372036854775809}}}})"),
        HasSubstr("linux.resources.memory.limit: expected a signed 64-bit integer"));
    EXPECT_THAT(
        parse_err(R"({"linux": {"resources": {"blockIO": {"weight": -1}}}})"),
        HasSubstr("linux.resources.blockIO.weight: expected an unsigned 16-bit integer, got -1"));
    EXPECT_THAT(parse_err(R"({"process": {"consoleSize": {"height": 4294967296}}})"),
                HasSubstr("process.consoleSize.height: expected an unsigned 32-bit integer"));
}

// ---- malformed JSON -------------------------------------------------------------------------

TEST(SpecJsonMalformed, ReportsLineAndColumn) {
    EXPECT_EQ(parse_err("{\n  \"a\": tru,\n}"),
              "config.json: malformed JSON at line 2, column 11: syntax error while parsing value "
              "- invalid literal; last read: '\"a\": tru,'");
    EXPECT_THAT(parse_err(""), StartsWith("config.json: malformed JSON at line 1, column 1: "));
    EXPECT_THAT(parse_err("{\"a\":1"),
                StartsWith("config.json: malformed JSON at line 1, column 7: syntax error"));
    EXPECT_THAT(parse_err("{\n\n   x"),
                StartsWith("config.json: malformed JSON at line 3, column 4: "));
    EXPECT_THAT(parse_err("[1,\n2,]"),
                StartsWith("config.json: malformed JSON at line 2, column 3: "));
    EXPECT_THAT(parse_err("{} trailing"),
                StartsWith("config.json: malformed JSON at line 1, column 6: "));
    EXPECT_THAT(
        parse_err("{\"a\": \"\xff\"}"),
        AllOf(StartsWith("config.json: malformed JSON at line 1, column 8: "), HasSubstr("UTF-8")));
    EXPECT_EQ(parse_err(R"({"process": {"user": {"uid": 1e400}}})"),
              "config.json: malformed JSON: number overflow parsing '1e400'");
    auto r = parse_resources("{", "update.json");
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().what(), StartsWith("update.json: malformed JSON at line 1, column 2: "));
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
}

TEST(SpecJsonMalformed, ANulByteInAStringIsMalformed) {
    using namespace std::string_literals;
    EXPECT_THAT(parse_err("{\"hostname\": \"a\0b\"}"s),
                AllOf(StartsWith("config.json: malformed JSON at line 1, column 16: "),
                      HasSubstr("U+0000")));
}

TEST(SpecJsonMalformed, TruncationsAndByteFlipsNeverThrow) {
    // A cheap stand-in for the fuzz target: every failure must come back as a Result.
    const std::string full = kFullConfig;
    for (size_t n = 0; n < full.size(); n += 7) {
        Result<Spec> r;
        ASSERT_NO_THROW(r = parse_spec(std::string_view(full).substr(0, n))) << n;
        ASSERT_FALSE(r) << n;
        EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    }
    for (size_t i = 0; i < full.size(); i += 13) {
        for (char c : {'0', '"', '[', '{', 'n', '-', '\xff'}) {
            std::string text = full;
            text[i] = c;
            Result<Spec> r;
            ASSERT_NO_THROW(r = parse_spec(text)) << i;
            if (!r) {
                EXPECT_EQ(r.error().code, Errc::InvalidArgument);
            }
        }
    }
}

// ---- load_spec ------------------------------------------------------------------------------

class LoadSpec : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-oci-test-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { (void)remove_all(dir_); }
    std::string dir_;
};

TEST_F(LoadSpec, MissingFileIsNotFound) {
    auto r = load_spec(dir_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::NotFound);
    EXPECT_EQ(r.error().what(), "open " + dir_ + "/config.json: no such file or directory");
}

TEST_F(LoadSpec, ReadsAndNamesTheFileInErrors) {
    ASSERT_TRUE(atomic_write_file(dir_ + "/config.json", kFullConfig));
    auto r = load_spec(dir_);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->hostname, "box");

    ASSERT_TRUE(atomic_write_file(dir_ + "/config.json", R"({"process": {"user": {"uid": "x"}}})"));
    auto bad = load_spec(dir_ + "/");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().what(), dir_ +
                                      "/config.json: process.user.uid: expected an unsigned "
                                      "32-bit integer, got string");
}

// ---- Process, Resources, State --------------------------------------------------------------

TEST(ProcessJson, RoundTrip) {
    Process p;
    p.terminal = true;
    p.console_size = ConsoleSize{40, 120};
    p.user.uid = 7;
    p.user.additional_gids = {1, 2};
    p.args = {"/bin/ls", "-l"};
    p.env = {"A=1"};
    p.cwd = "/tmp";
    p.capabilities = Capabilities{};
    p.capabilities->effective = {"CAP_KILL"};
    p.rlimits = {Rlimit{"RLIMIT_NOFILE", 10, 20}};
    p.no_new_privileges = true;
    p.oom_score_adj = 0;
    std::string text = to_json(p);
    EXPECT_EQ(text,
              R"({"terminal":true,"consoleSize":{"height":40,"width":120},"user":{"uid":7,"gid":0,)"
              R"("additionalGids":[1,2]},"args":["/bin/ls","-l"],"env":["A=1"],"cwd":"/tmp",)"
              R"("capabilities":{"effective":["CAP_KILL"]},"rlimits":[{"type":"RLIMIT_NOFILE",)"
              R"("hard":20,"soft":10}],"noNewPrivileges":true,"oomScoreAdj":0})");
    auto back = parse_process(text);
    ASSERT_TRUE(back) << back.error().what();
    EXPECT_EQ(back->console_size->width, 120u);
    EXPECT_EQ(back->oom_score_adj, 0);
    EXPECT_EQ(back->rlimits[0].hard, 20u);
    EXPECT_EQ(to_json(*back), text);
    EXPECT_EQ(to_json(*back, true), to_json(p, true));
}

TEST(ResourcesJson, RoundTripInRuncUpdateFormat) {
    const char* text =
        R"({"memory":{"limit":-1,"swap":-1},"cpu":{"shares":512,"quota":-1,"cpus":"0"},)"
        R"("pids":{"limit":-1},"blockIO":{"weight":10},"unified":{"pids.max":"max"}})";
    auto r = parse_resources(text);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->memory->limit, -1);
    EXPECT_EQ(r->cpu->shares, 512u);
    EXPECT_EQ(r->pids->limit, -1);
    EXPECT_EQ(r->block_io->weight, 10);
    EXPECT_EQ(to_json(*r), text);
    EXPECT_EQ(to_json(Resources{}), "{}");
}

TEST(StateJson, MatchesRuntimeSpecState) {
    State st;
    st.id = "c1";
    st.status = "running";
    st.pid = 42;
    st.bundle = "/b";
    st.annotations = {{"k", "v"}};
    EXPECT_EQ(to_json(st),
              R"({"ociVersion":"1.2.0","id":"c1","status":"running","pid":42,"bundle":"/b",)"
              R"("annotations":{"k":"v"}})");
    State stopped;
    stopped.id = "c2";
    stopped.status = "stopped";
    stopped.bundle = "/b2";
    EXPECT_EQ(to_json(stopped),
              R"({"ociVersion":"1.2.0","id":"c2","status":"stopped","pid":0,"bundle":"/b2"})");
}

TEST(SpecJson, InvalidUtf8IsReplacedNotThrown) {
    Spec s;
    s.oci_version = "1.2.0";
    s.hostname = "bad\xff";
    std::string out;
    EXPECT_NO_THROW(out = to_json(s));
    EXPECT_THAT(out, HasSubstr("bad\xef\xbf\xbd"));
    EXPECT_TRUE(parse_spec(out));
}

TEST(SpecJson, ControlCharactersAndQuotesSurviveRoundTrip) {
    Spec s;
    s.oci_version = "1.2.0";
    s.annotations = {{"weird \"key\"\n", "tab\there \\ \x01"}};
    auto back = parse_spec(to_json(s));
    ASSERT_TRUE(back) << back.error().what();
    EXPECT_EQ(back->annotations, s.annotations);
}

}  // namespace
}  // namespace berth::oci
