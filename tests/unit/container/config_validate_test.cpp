// validate(): moby's create-time checks and their exact messages (docker CLI users read them
// after "Error response from daemon: ").

#include <string>

#include <gtest/gtest.h>

#include "berth/container/config.hpp"

namespace berth::container {
namespace {

struct Case {
    const char* name;
    const char* body;
    const char* message;  // nullptr: valid
};

class Validate : public ::testing::TestWithParam<Case> {};

TEST_P(Validate, MobysMessage) {
    auto req = parse_create_request(GetParam().body);
    ASSERT_TRUE(req) << req.error().msg;
    auto r = validate(*req);
    if (!GetParam().message) {
        EXPECT_TRUE(r) << r.error().msg;
        return;
    }
    ASSERT_FALSE(r) << GetParam().body;
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_EQ(r.error().msg, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Create, Validate,
    ::testing::Values(
        Case{"Empty", "{}", nullptr},
        Case{"CliDefaults",
             R"({"Image":"busybox","HostConfig":{"NetworkMode":"default",
                 "RestartPolicy":{"Name":"no"},"LogConfig":{"Type":"","Config":{}},
                 "MemorySwappiness":-1}})",
             nullptr},
        // Restart policy and AutoRemove.
        Case{"RestartUnknown", R"({"HostConfig":{"RestartPolicy":{"Name":"sometimes"}}})",
             "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', "
             "'on-failure', or 'unless-stopped'"},
        Case{"RestartRetryWithAlways",
             R"({"HostConfig":{"RestartPolicy":{"Name":"always","MaximumRetryCount":3}}})",
             "invalid restart policy: maximum retry count can only be used with 'on-failure'"},
        Case{"RestartNegativeRetryWithNo",
             R"({"HostConfig":{"RestartPolicy":{"Name":"no","MaximumRetryCount":-1}}})",
             "invalid restart policy: maximum retry count can only be used with 'on-failure' and "
             "cannot be negative"},
        Case{"RestartNegativeRetry",
             R"({"HostConfig":{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":-1}}})",
             "invalid restart policy: maximum retry count cannot be negative"},
        Case{"RestartOnFailure",
             R"({"HostConfig":{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":5}}})",
             nullptr},
        Case{"AutoRemoveWithRestart",
             R"({"HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"always"}}})",
             "can't create 'AutoRemove' container with restart policy"},
        Case{"AutoRemoveWithNo",
             R"({"HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"no"}}})", nullptr},
        // Resources.
        Case{"MemoryTooSmall", R"({"HostConfig":{"Memory":1048576}})",
             "Minimum memory limit allowed is 6MB"},
        Case{"MemoryNegative", R"({"HostConfig":{"Memory":-1}})",
             "Minimum memory limit allowed is 6MB"},
        Case{"SwapBelowMemory", R"({"HostConfig":{"Memory":67108864,"MemorySwap":33554432}})",
             "Minimum memoryswap limit should be larger than memory limit, see usage"},
        Case{"SwapUnlimited", R"({"HostConfig":{"Memory":67108864,"MemorySwap":-1}})", nullptr},
        Case{"SwapWithoutMemory", R"({"HostConfig":{"MemorySwap":67108864}})",
             "You should always set the Memory limit when using Memoryswap limit, see usage"},
        Case{"Swappiness", R"({"HostConfig":{"MemorySwappiness":101}})",
             "Invalid value: 101, valid memory swappiness range is 0-100"},
        Case{"ReservationTooSmall", R"({"HostConfig":{"MemoryReservation":1024}})",
             "Minimum memory reservation allowed is 6MB"},
        Case{"ReservationAboveMemory",
             R"({"HostConfig":{"Memory":67108864,"MemoryReservation":134217728}})",
             "Minimum memory limit can not be less than memory reservation limit, see usage"},
        Case{"NanoCpusAndPeriod", R"({"HostConfig":{"NanoCpus":500000000,"CpuPeriod":100000}})",
             "Conflicting options: Nano CPUs and CPU Period cannot both be set"},
        Case{"NanoCpusAndQuota", R"({"HostConfig":{"NanoCpus":500000000,"CpuQuota":50000}})",
             "Conflicting options: Nano CPUs and CPU Quota cannot both be set"},
        Case{
            "CpuPeriodRange", R"({"HostConfig":{"CpuPeriod":10}})",
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"},
        Case{"CpuQuotaMin", R"({"HostConfig":{"CpuQuota":10}})",
             "CPU cfs quota can not be less than 1ms (i.e. 1000)"},
        Case{"BlkioWeight", R"({"HostConfig":{"BlkioWeight":5}})",
             "Range of blkio weight is from 10 to 1000"},
        Case{"Realtime", R"({"HostConfig":{"CpuRealtimePeriod":1000,"CpuRealtimeRuntime":2000}})",
             "cpu real-time runtime cannot be higher than cpu real-time period"},
        Case{"ShmNegative", R"({"HostConfig":{"ShmSize":-1}})", "SHM size can not be less than 0"},
        Case{"OomScoreAdj", R"({"HostConfig":{"OomScoreAdj":1001}})",
             "Invalid value 1001, range for oom score adj is [-1000, 1000]"},
        // Namespaces and network modes.
        Case{"IpcMode", R"({"HostConfig":{"IpcMode":"bogus"}})", "invalid IPC mode: bogus"},
        Case{"IpcContainer", R"({"HostConfig":{"IpcMode":"container:db"}})", nullptr},
        Case{"PidMode", R"({"HostConfig":{"PidMode":"container:"}})",
             "invalid PID mode: container:"},
        Case{"UtsMode", R"({"HostConfig":{"UTSMode":"private"}})", "invalid UTS mode: private"},
        Case{"CgroupnsMode", R"({"HostConfig":{"CgroupnsMode":"shared"}})",
             "invalid cgroup namespace mode: shared"},
        Case{"NetContainerEmpty", R"({"HostConfig":{"NetworkMode":"container:"}})",
             "Invalid network mode: invalid container format container:<name|id>"},
        Case{"NetContainerHostname",
             R"({"Hostname":"h","HostConfig":{"NetworkMode":"container:db"}})",
             "conflicting options: hostname and the network mode"},
        Case{"NetContainerDns",
             R"({"HostConfig":{"NetworkMode":"container:db","Dns":["8.8.8.8"]}})",
             "conflicting options: dns and the network mode"},
        Case{"NetContainerPublish",
             R"({"HostConfig":{"NetworkMode":"container:db","PublishAllPorts":true}})",
             "conflicting options: port publishing and the container type network mode"},
        Case{"NetContainerExpose",
             R"({"ExposedPorts":{"80/tcp":{}},"HostConfig":{"NetworkMode":"container:db"}})",
             "conflicting options: port exposing and the container type network mode"},
        Case{"NetHostMac",
             R"({"MacAddress":"02:42:ac:11:00:02","HostConfig":{"NetworkMode":"host"}})",
             "conflicting options: mac-address and the network mode"},
        Case{
            "NetHostLinks", R"({"HostConfig":{"NetworkMode":"host","Links":["db:db"]}})",
            "conflicting options: host type networking can't be used with links. This would result "
            "in undefined behavior"},
        Case{"NetHostHostname", R"({"Hostname":"h","HostConfig":{"NetworkMode":"host"}})", nullptr},
        Case{"UtsHostHostname", R"({"Hostname":"h","HostConfig":{"UTSMode":"host"}})",
             "conflicting options: hostname and the UTS mode"},
        Case{"UserNetwork", R"({"HostConfig":{"NetworkMode":"my_net"}})", nullptr},
        Case{"Isolation", R"({"HostConfig":{"Isolation":"hyperv"}})",
             "Invalid isolation: \"hyperv\" - linux only supports 'default'"},
        Case{"IsolationDefault", R"({"HostConfig":{"Isolation":"Default"}})", nullptr},
        // Ports and hosts.
        Case{"PortKey", R"({"HostConfig":{"PortBindings":{"http/tcp":[]}}})",
             "invalid port specification: \"http\""},
        Case{"HostPort", R"({"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"80a"}]}}})",
             "invalid port specification: \"80a\""},
        Case{"HostPortRange",
             R"({"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"8000-8010"}]}}})", nullptr},
        Case{"ExposedBad", R"({"ExposedPorts":{"99999/tcp":{}}})",
             "invalid port specification: \"99999\""},
        Case{"ExtraHostFormat", R"({"HostConfig":{"ExtraHosts":["nohost"]}})",
             "bad format for add-host: \"nohost\""},
        Case{"ExtraHostIp", R"({"HostConfig":{"ExtraHosts":["db:10.0.0"]}})",
             "invalid IP address in add-host: \"10.0.0\""},
        Case{"ExtraHostOk",
             R"({"HostConfig":{"ExtraHosts":["db:10.0.0.1","v6=[::1]","gw:host-gateway"]}})",
             nullptr},
        Case{"Annotations", R"({"HostConfig":{"Annotations":{"":"x"}}})",
             "invalid Annotations: the empty string is not permitted as an annotation key"},
        Case{"TmpfsRoot", R"({"HostConfig":{"Tmpfs":{"/":""}}})",
             "invalid specification: destination can't be '/'"},
        Case{"TmpfsRelative", R"({"HostConfig":{"Tmpfs":{"run":""}}})",
             "invalid mount path: 'run' mount path must be absolute"},
        // Config.
        Case{"WorkingDir", R"({"WorkingDir":"app"})",
             "the working directory 'app' is invalid, it needs to be an absolute path"},
        Case{"EnvEmptyKey", R"({"Env":["=x"]})", "invalid environment variable: =x"},
        Case{"HealthInterval", R"({"Healthcheck":{"Interval":1000}})",
             "Interval in Healthcheck cannot be less than 1ms"},
        Case{"HealthRetries", R"({"Healthcheck":{"Retries":-1}})",
             "Retries in Healthcheck cannot be negative"},
        Case{"HealthStartInterval", R"({"Healthcheck":{"StartInterval":5}})",
             "StartInterval in Healthcheck cannot be less than 1ms"},
        // Networking config.
        Case{"EndpointIPv4",
             R"({"NetworkingConfig":{"EndpointsConfig":)"
             R"({"n":{"IPAMConfig":{"IPv4Address":"fd00::1"}}}}})",
             "invalid config for network n: invalid IPv4 address: fd00::1"},
        // Log drivers.
        Case{"LogDriverUnknown", R"({"HostConfig":{"LogConfig":{"Type":"syslog"}}})",
             "logger: no log driver named 'syslog' is registered"},
        Case{"LogDriverNone", R"({"HostConfig":{"LogConfig":{"Type":"none","Config":{"x":"y"}}}})",
             nullptr},
        Case{"LogOptUnknown",
             R"({"HostConfig":{"LogConfig":{"Type":"json-file","Config":{"foo":"1"}}}})",
             "unknown log opt 'foo' for json-file log driver"},
        Case{"LogOptDefaultDriver",
             R"({"HostConfig":{"LogConfig":{"Config":{"max-size":"10m","max-file":"3",)"
             R"("mode":"non-blocking","max-buffer-size":"4m"}}}})",
             nullptr},
        Case{"LogMode", R"({"HostConfig":{"LogConfig":{"Config":{"mode":"fast"}}}})",
             "logger: logging mode not supported: fast"},
        Case{"LogBufferBlocking",
             R"({"HostConfig":{"LogConfig":{"Config":{"max-buffer-size":"4m"}}}})",
             "logger: max-buffer-size option is only supported with 'mode=non-blocking'"}),
    [](const ::testing::TestParamInfo<Case>& tp) { return std::string(tp.param.name); });

TEST(Validate, NanoCpusAboveTheHostsCpus) {
    CreateRequest req;
    req.host_config.nano_cpus = int64_t{1} << 50;
    auto r = validate(req);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().msg.rfind("Range of CPUs is from 0.01 to ", 0), 0u) << r.error().msg;
    EXPECT_NE(r.error().msg.find("CPUs available"), std::string::npos);
}

}  // namespace
}  // namespace berth::container
