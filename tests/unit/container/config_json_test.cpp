// Create bodies as docker CLI 28, docker-py 5 and compose 1.29 send them; moby's JSON names;
// errors naming the field; to_json's shape and the parse(to_json(x)) == x round trip.

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "berth/container/config.hpp"

namespace berth::container {
namespace {

using json = nlohmann::json;

// What `docker run -it -p 8080:80 -e A=1 -m 64m --name web busybox sh` sends (CLI 28.2, trimmed
// of nothing: zero values included, as the CLI marshals the whole struct).
constexpr const char* kCliBody = R"({
  "Hostname":"","Domainname":"","User":"","AttachStdin":true,"AttachStdout":true,
  "AttachStderr":true,"ExposedPorts":{"80/tcp":{}},"Tty":true,"OpenStdin":true,"StdinOnce":true,
  "Env":["A=1"],"Cmd":["sh"],"Image":"busybox","Volumes":{},"WorkingDir":"","Entrypoint":null,
  "OnBuild":null,"Labels":{},
  "HostConfig":{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},
    "NetworkMode":"default","PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]},
    "RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":false,"VolumeDriver":"",
    "VolumesFrom":null,"ConsoleSize":[50,200],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"",
    "Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"",
    "Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,
    "PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"",
    "UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":67108864,"NanoCpus":0,
    "CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],
    "BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,
    "CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"",
    "Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,
    "MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":null,"PidsLimit":null,"Ulimits":[],
    "CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,
    "ReadonlyPaths":null},
  "NetworkingConfig":{"EndpointsConfig":{}}
})";

TEST(ConfigJson, ParsesTheCliBody) {
    auto r = parse_create_request(kCliBody);
    ASSERT_TRUE(r) << r.error().msg;
    const Config& c = r->config;
    EXPECT_TRUE(c.tty && c.open_stdin && c.stdin_once && c.attach_stdin);
    EXPECT_EQ(c.exposed_ports, (std::vector<std::string>{"80/tcp"}));
    EXPECT_EQ(c.env, (std::vector<std::string>{"A=1"}));
    ASSERT_TRUE(c.cmd);
    EXPECT_EQ(*c.cmd, (std::vector<std::string>{"sh"}));
    EXPECT_FALSE(c.entrypoint);
    EXPECT_EQ(c.image, "busybox");
    EXPECT_TRUE(c.volumes.empty());
    const HostConfig& h = r->host_config;
    EXPECT_EQ(h.network_mode, "default");
    ASSERT_EQ(h.port_bindings.count("80/tcp"), 1u);
    EXPECT_EQ(h.port_bindings.at("80/tcp").at(0).host_port, "8080");
    EXPECT_EQ(h.restart_policy.name, "no");
    EXPECT_EQ(h.console_size, (std::vector<int>{50, 200}));
    EXPECT_EQ(h.memory, 67108864);
    EXPECT_FALSE(h.memory_swappiness);  // -1 = unset
    EXPECT_FALSE(h.pids_limit);
    EXPECT_FALSE(h.oom_kill_disable);
    ASSERT_TRUE(h.oom_score_adj);
    EXPECT_EQ(*h.oom_score_adj, 0);
    EXPECT_TRUE(r->networking_config.endpoints_config.empty());
}

// Captured from `docker create` (CLI 28.2.2, API 1.47) with most flags: -it -p -e -m --cpus
// --restart --entrypoint "" -v --mount --health-* --ulimit --device --log-opt --network --ip
// --network-alias --add-host --dns --sysctl --tmpfs --pids-limit --stop-timeout --label.
constexpr const char* kCliRunBody =
    R"({"Hostname":"","Domainname":"","User":"","AttachStdin":true,"AttachStdout":true)"
    R"(,"AttachStderr":true,"ExposedPorts":{"80/tcp":{}},"Tty":true,"OpenStdin":true)"
    R"(,"StdinOnce":true,"Env":["A=1"],"Cmd":["sh"],"Healthcheck":{"Test":["CMD-SHELL")"
    R"(,"true"],"Interval":5000000000},"Image":"busybox","Volumes":{"/anon":{}})"
    R"(,"WorkingDir":"","Entrypoint":[""],"OnBuild":null,"Labels":{"a":"b"})"
    R"(,"StopTimeout":20,"HostConfig":{"Binds":["/h:/c:ro"],"ContainerIDFile":"")"
    R"(,"LogConfig":{"Type":"","Config":{"max-size":"10m"}},"NetworkMode":"mynet")"
    R"(,"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]})"
    R"(,"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},"AutoRemove":false)"
    R"(,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null)"
    R"(,"CapDrop":null,"CgroupnsMode":"","Dns":["1.1.1.1"],"DnsOptions":[],"DnsSearch":[])"
    R"(,"ExtraHosts":["db:10.0.0.2"],"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null)"
    R"(,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false)"
    R"(,"ReadonlyRootfs":false,"SecurityOpt":null,"Tmpfs":{"/run":"rw"},"UTSMode":"")"
    R"(,"UsernsMode":"","ShmSize":0,"Sysctls":{"net.core.somaxconn":"1024"},"Isolation":"")"
    R"(,"CpuShares":0,"Memory":67108864,"NanoCpus":1500000000,"CgroupParent":"")"
    R"(,"BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[])"
    R"(,"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[])"
    R"(,"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0)"
    R"(,"CpusetCpus":"","CpusetMems":"","Devices":[{"PathOnHost":"/dev/fuse")"
    R"(,"PathInContainer":"/dev/fuse","CgroupPermissions":"rwm"}],"DeviceCgroupRules":null)"
    R"(,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1)"
    R"(,"OomKillDisable":false,"PidsLimit":100,"Ulimits":[{"Name":"nofile","Hard":2048)"
    R"(,"Soft":1024}],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0)"
    R"(,"Mounts":[{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1048576}}])"
    R"(,"MaskedPaths":null,"ReadonlyPaths":null})"
    R"(,"NetworkingConfig":{"EndpointsConfig":{"mynet":{"IPAMConfig":{"IPv4Address":"172.18.0.5"})"
    R"(,"Links":null,"Aliases":["web"],"MacAddress":"","DriverOpts":null,"GwPriority":0)"
    R"(,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0)"
    R"(,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})";

// Captured from docker-py 5.0.3 containers.create() (nulls in Healthcheck, no zero values).
constexpr const char* kDockerPyBody =
    R"({"ExposedPorts":{"6379/tcp":{}},"Tty":false,"OpenStdin":false,"StdinOnce":false)"
    R"(,"AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Env":["A=1"])"
    R"(,"Cmd":["redis-server","--appendonly","yes"],"Image":"redis","Volumes":{"/data":{}})"
    R"(,"NetworkDisabled":false,"Entrypoint":["/bin/sh","-c"])"
    R"(,"HostConfig":{"Memory":67108864,"NetworkMode":"default")"
    R"(,"RestartPolicy":{"Name":"always"},"Binds":["data:/data:rw"])"
    R"(,"PortBindings":{"6379/tcp":[{"HostIp":"","HostPort":"6379"}]})"
    R"(,"Ulimits":[{"Name":"nofile","Soft":1,"Hard":2}]},"Labels":{"x":"y"})"
    R"(,"StopSignal":"SIGINT","Healthcheck":{"Test":["CMD","true"],"Interval":5000000000)"
    R"(,"Timeout":null,"Retries":null,"StartPeriod":null}})";

TEST(ConfigJson, CapturedCliBodyRoundTripsToTheSameJson) {
    auto r = parse_create_request(kCliRunBody);
    ASSERT_TRUE(r) << r.error().msg;
    EXPECT_TRUE(validate(*r)) << validate(*r).error().msg;
    EXPECT_EQ(r->config.entrypoint, (std::vector<std::string>{""}));
    EXPECT_EQ(r->host_config.nano_cpus, 1'500'000'000);
    EXPECT_EQ(r->host_config.pids_limit, 100);
    EXPECT_EQ(r->networking_config.endpoints_config.at("mynet").ipv4_address, "172.18.0.5");

    // What we write is what the CLI wrote, but for MemorySwappiness: -1 is "unset", null.
    json sent = json::parse(kCliRunBody);
    sent["HostConfig"]["MemorySwappiness"] = nullptr;
    json config;
    to_json(config, r->config);
    json host;
    to_json(host, r->host_config);
    json net;
    to_json(net, r->networking_config);
    json sent_config = sent;
    sent_config.erase("HostConfig");
    sent_config.erase("NetworkingConfig");
    EXPECT_EQ(config, sent_config);
    EXPECT_EQ(host, sent["HostConfig"]);
    EXPECT_EQ(net, sent["NetworkingConfig"]);
}

TEST(ConfigJson, CapturedDockerPyBody) {
    auto r = parse_create_request(kDockerPyBody);
    ASSERT_TRUE(r) << r.error().msg;
    EXPECT_TRUE(validate(*r)) << validate(*r).error().msg;
    EXPECT_EQ(r->config.entrypoint, (std::vector<std::string>{"/bin/sh", "-c"}));
    ASSERT_TRUE(r->config.healthcheck);
    EXPECT_EQ(r->config.healthcheck->interval, 5'000'000'000);
    EXPECT_EQ(r->config.healthcheck->timeout, 0);
    EXPECT_EQ(r->host_config.restart_policy.name, "always");
    EXPECT_EQ(r->host_config.ulimits.at(0).soft, 1);
}

TEST(ConfigJson, ParsesTheSparseComposeBody) {
    // compose 1.29 / docker-py 5: keys missing rather than zero, strings for Cmd.
    auto r = parse_create_request(R"({
      "Image":"redis","Cmd":"redis-server --appendonly yes","Tty":false,
      "Labels":{"com.docker.compose.project":"p","com.docker.compose.oneoff":"False"},
      "Volumes":{"/data":{}},"NetworkDisabled":false,
      "HostConfig":{"NetworkMode":"p_default","Binds":["p_data:/data:rw"],
                    "LogConfig":{"Type":"","Config":{}},"PortBindings":{"6379":[{"HostPort":""}]}},
      "NetworkingConfig":{"EndpointsConfig":{"p_default":{"Aliases":["redis"],"IPAMConfig":{}}}}
    })");
    ASSERT_TRUE(r) << r.error().msg;
    ASSERT_TRUE(r->config.cmd);
    EXPECT_EQ(*r->config.cmd, (std::vector<std::string>{"redis-server --appendonly yes"}));
    EXPECT_EQ(r->config.volumes, (std::vector<std::string>{"/data"}));
    EXPECT_EQ(r->config.labels.at("com.docker.compose.oneoff"), "False");
    EXPECT_EQ(r->host_config.binds, (std::vector<std::string>{"p_data:/data:rw"}));
    EXPECT_EQ(r->host_config.port_bindings.count("6379/tcp"), 1u);  // "/tcp" added
    EXPECT_EQ(r->host_config.shm_size, 0);
    const auto& ep = r->networking_config.endpoints_config.at("p_default");
    EXPECT_EQ(ep.aliases, (std::vector<std::string>{"redis"}));
    EXPECT_TRUE(ep.ipv4_address.empty());
}

TEST(ConfigJson, NullIsAbsentAndMissingHostConfigIsDefault) {
    auto r = parse_create_request(
        R"({"Image":"x","Cmd":null,"Env":null,"Labels":null,"HostConfig":null,
            "Healthcheck":null,"StopTimeout":null,"NetworkingConfig":null})");
    ASSERT_TRUE(r) << r.error().msg;
    EXPECT_FALSE(r->config.cmd);
    EXPECT_FALSE(r->config.healthcheck);
    EXPECT_FALSE(r->config.stop_timeout);
    EXPECT_EQ(r->host_config, HostConfig{});
}

TEST(ConfigJson, MemberNamesMatchIgnoringCaseAsInGo) {
    auto r = parse_create_request(R"({"image":"x","hostconfig":{"memory":67108864}})");
    ASSERT_TRUE(r) << r.error().msg;
    EXPECT_EQ(r->config.image, "x");
    EXPECT_EQ(r->host_config.memory, 67108864);
    // An exact match wins over a case-insensitive one.
    r = parse_create_request(R"({"image":"lower","Image":"exact"})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->config.image, "exact");
}

TEST(ConfigJson, StrSliceForms) {
    auto cmd = [](const char* v) {
        auto r = parse_create_request(std::string(R"({"Cmd":)") + v + "}");
        EXPECT_TRUE(r) << v;
        return r ? r->config.cmd : std::nullopt;
    };
    EXPECT_EQ(cmd(R"("ls -l")"), (std::vector<std::string>{"ls -l"}));
    EXPECT_EQ(cmd(R"("")"), (std::vector<std::string>{""}));
    EXPECT_EQ(cmd(R"([])"), (std::vector<std::string>{}));
    EXPECT_EQ(cmd(R"(["a","b"])"), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(cmd("null"), std::nullopt);

    auto r = parse_create_request(R"({"Entrypoint":[""],"Shell":"/bin/bash"})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->config.entrypoint, (std::vector<std::string>{""}));
    EXPECT_EQ(r->config.shell, (std::vector<std::string>{"/bin/bash"}));
}

TEST(ConfigJson, HealthcheckInNanoseconds) {
    auto r = parse_create_request(
        R"({"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":30000000000,
            "Timeout":5000000000,"StartPeriod":1000000,"StartInterval":2000000,"Retries":3}})");
    ASSERT_TRUE(r) << r.error().msg;
    ASSERT_TRUE(r->config.healthcheck);
    EXPECT_EQ(r->config.healthcheck->interval, 30'000'000'000);
    EXPECT_EQ(r->config.healthcheck->timeout, 5'000'000'000);
    EXPECT_EQ(r->config.healthcheck->start_interval, 2'000'000);
    EXPECT_EQ(r->config.healthcheck->retries, 3);
}

TEST(ConfigJson, MountsWithOptions) {
    auto r = parse_create_request(R"({"HostConfig":{"Mounts":[
      {"Type":"bind","Source":"/h","Target":"/c","ReadOnly":true,
       "BindOptions":{"Propagation":"rshared","NonRecursive":true,"CreateMountpoint":true}},
      {"Type":"volume","Source":"v","Target":"/v",
       "VolumeOptions":{"NoCopy":true,"Labels":{"a":"b"},"Subpath":"sub",
                        "DriverConfig":{"Name":"local","Options":{"type":"nfs"}}}},
      {"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1048576,"Mode":448,
                                                  "Options":[["noexec"]]}}]}})");
    ASSERT_TRUE(r) << r.error().msg;
    const auto& m = r->host_config.mounts;
    ASSERT_EQ(m.size(), 3u);
    EXPECT_TRUE(m[0].read_only);
    EXPECT_EQ(m[0].bind_options->propagation, "rshared");
    EXPECT_TRUE(m[0].bind_options->create_mountpoint);
    EXPECT_EQ(m[1].volume_options->driver_name, "local");
    EXPECT_EQ(m[1].volume_options->driver_options.at("type"), "nfs");
    EXPECT_EQ(m[1].volume_options->subpath, "sub");
    EXPECT_EQ(m[2].tmpfs_options->size_bytes, 1048576);
    EXPECT_EQ(m[2].tmpfs_options->mode, 0700u);
    EXPECT_EQ(m[2].tmpfs_options->options.at(0).at(0), "noexec");
}

TEST(ConfigJson, ResourceFields) {
    auto r = parse_create_request(R"({"HostConfig":{
      "Ulimits":[{"Name":"nofile","Soft":1024,"Hard":2048}],
      "Devices":[{"PathOnHost":"/dev/fuse","PathInContainer":"/dev/fuse",
                  "CgroupPermissions":"rwm"}],
      "BlkioWeightDevice":[{"Path":"/dev/sda","Weight":300}],
      "BlkioDeviceReadBps":[{"Path":"/dev/sda","Rate":1048576}],
      "PidsLimit":-1,"MemorySwappiness":60,"OomKillDisable":true,"Init":true,
      "Tmpfs":{"/run":"rw,size=64m"},"Sysctls":{"net.ipv4.ip_forward":"1"}}})");
    ASSERT_TRUE(r) << r.error().msg;
    const auto& h = r->host_config;
    EXPECT_EQ(h.ulimits.at(0).hard, 2048);
    EXPECT_EQ(h.devices.at(0).cgroup_permissions, "rwm");
    EXPECT_EQ(h.blkio_weight_device.at(0).weight, 300);
    EXPECT_EQ(h.blkio_device_read_bps.at(0).rate, 1048576u);
    EXPECT_EQ(h.pids_limit, -1);  // kept as sent; default_host_config makes it unlimited
    EXPECT_EQ(h.memory_swappiness, 60);
    EXPECT_EQ(h.oom_kill_disable, true);
    EXPECT_EQ(h.init, true);
    EXPECT_EQ(h.tmpfs.at("/run"), "rw,size=64m");
}

struct BadBody {
    const char* body;
    const char* message;
};

class ConfigJsonErrors : public ::testing::TestWithParam<BadBody> {};

TEST_P(ConfigJsonErrors, NameTheField) {
    auto r = parse_create_request(GetParam().body);
    ASSERT_FALSE(r) << GetParam().body;
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_EQ(r.error().msg, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Paths, ConfigJsonErrors,
    ::testing::Values(
        BadBody{R"({"HostConfig":{"Memory":"64m"}})",
                "HostConfig.Memory: expected a number, got string"},
        BadBody{R"({"HostConfig":{"Memory":1.5}})",
                "HostConfig.Memory: expected an integer, got 1.5"},
        BadBody{R"({"Tty":"yes"})", "Tty: expected a boolean, got string"},
        BadBody{R"({"Env":"A=1"})", "Env: expected an array, got string"},
        BadBody{R"({"Env":["A=1",2]})", "Env[1]: expected a string, got number"},
        BadBody{R"({"Cmd":{"a":1}})", "Cmd: expected a string or an array of strings, got object"},
        BadBody{R"({"Entrypoint":[1]})", "Entrypoint[0]: expected a string, got number"},
        BadBody{R"({"Labels":{"a.b":1}})", R"(Labels["a.b"]: expected a string, got number)"},
        BadBody{R"({"ExposedPorts":{"80/tcp":true}})",
                R"(ExposedPorts["80/tcp"]: expected an object, got boolean)"},
        BadBody{R"({"ExposedPorts":["80/tcp"]})", "ExposedPorts: expected an object, got array"},
        BadBody{R"({"Healthcheck":{"Interval":"30s"}})",
                "Healthcheck.Interval: expected a number, got string"},
        BadBody{R"({"StopTimeout":"10"})", "StopTimeout: expected a number, got string"},
        BadBody{R"({"HostConfig":[]})", "HostConfig: expected an object, got array"},
        BadBody{R"({"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":8080}]}}})",
                R"(HostConfig.PortBindings["80/tcp"][0].HostPort: expected a string, got number)"},
        BadBody{R"({"HostConfig":{"PortBindings":{"80/tcp":{"HostPort":"1"}}}})",
                R"(HostConfig.PortBindings["80/tcp"]: expected an array, got object)"},
        BadBody{R"({"HostConfig":{"BlkioWeight":70000}})",
                "HostConfig.BlkioWeight: number 70000 out of range [0, 65535]"},
        BadBody{R"({"HostConfig":{"ConsoleSize":[-1,80]}})",
                "HostConfig.ConsoleSize[0]: number -1 out of range [0, 65535]"},
        BadBody{R"({"HostConfig":{"RestartPolicy":{"MaximumRetryCount":"3"}}})",
                "HostConfig.RestartPolicy.MaximumRetryCount: expected a number, got string"},
        BadBody{R"({"HostConfig":{"LogConfig":{"Config":{"max-size":10}}}})",
                R"(HostConfig.LogConfig.Config["max-size"]: expected a string, got number)"},
        BadBody{R"({"HostConfig":{"Ulimits":[{"Name":"nofile","Soft":"1"}]}})",
                "HostConfig.Ulimits[0].Soft: expected a number, got string"},
        BadBody{R"({"HostConfig":{"Mounts":[{"TmpfsOptions":{"Mode":-1}}]}})",
                "HostConfig.Mounts[0].TmpfsOptions.Mode: number -1 out of range [0, 4294967295]"},
        BadBody{R"({"HostConfig":{"Mounts":[{"VolumeOptions":{"DriverConfig":{"Name":3}}}]}})",
                "HostConfig.Mounts[0].VolumeOptions.DriverConfig.Name: expected a string, got "
                "number"},
        BadBody{R"({"HostConfig":{"PidsLimit":true}})",
                "HostConfig.PidsLimit: expected a number, got boolean"},
        BadBody{R"({"NetworkingConfig":{"EndpointsConfig":{"n":{"Aliases":"a"}}}})",
                "NetworkingConfig.EndpointsConfig.n.Aliases: expected an array, got string"},
        BadBody{R"({"NetworkingConfig":{"EndpointsConfig":{"my-net":)"
                R"({"IPAMConfig":{"IPv4Address":1}}}}})",
                R"(NetworkingConfig.EndpointsConfig["my-net"].IPAMConfig.IPv4Address: )"
                "expected a string, got number"},
        BadBody{R"([1,2])", "request body: expected an object, got array"}));

TEST(ConfigJson, InvalidJson) {
    auto r = parse_create_request(R"({"Image": )");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_EQ(r.error().msg,
              "invalid JSON in request body: parse error at line 1, column 11: syntax error while "
              "parsing value - unexpected end of input; expected '[', '{', or a literal");
    auto empty = parse_create_request("");
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().msg, "invalid JSON in request body: empty body");
}

TEST(ConfigJson, ParseConfigAndHostConfigPrefixTheirOrigin) {
    auto c = parse_config(json::parse(R"({"User":5})"), "Config");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().msg, "Config.User: expected a string, got number");
    auto h = parse_host_config(json::parse(R"({"Privileged":1})"), "HostConfig");
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().msg, "HostConfig.Privileged: expected a boolean, got number");
    auto ok = parse_host_config(json::parse(R"({"Privileged":true})"), "HostConfig");
    ASSERT_TRUE(ok);
    EXPECT_TRUE(ok->privileged);
}

TEST(ConfigJson, ToJsonWritesMobysShape) {
    json c;
    to_json(c, Config{});
    EXPECT_TRUE(c.at("Env").is_null());
    EXPECT_TRUE(c.at("Cmd").is_null());
    EXPECT_TRUE(c.at("Entrypoint").is_null());
    EXPECT_TRUE(c.at("Volumes").is_null());
    EXPECT_TRUE(c.at("OnBuild").is_null());
    EXPECT_EQ(c.at("Labels"), json::object());
    EXPECT_EQ(c.at("Hostname"), "");
    EXPECT_EQ(c.at("AttachStdin"), false);
    for (const char* omitted : {"ExposedPorts", "Healthcheck", "ArgsEscaped", "NetworkDisabled",
                                "MacAddress", "StopSignal", "StopTimeout", "Shell"})
        EXPECT_FALSE(c.contains(omitted)) << omitted;

    Config with;
    with.exposed_ports = {"80/tcp"};
    with.volumes = {"/data"};
    with.cmd = std::vector<std::string>{};
    to_json(c, with);
    EXPECT_EQ(c.at("ExposedPorts"), json::parse(R"({"80/tcp":{}})"));
    EXPECT_EQ(c.at("Volumes"), json::parse(R"({"/data":{}})"));
    EXPECT_EQ(c.at("Cmd"), json::array());

    json h;
    to_json(h, HostConfig{});
    EXPECT_TRUE(h.at("Binds").is_null());
    EXPECT_EQ(h.at("LogConfig"), json::parse(R"({"Type":"","Config":{}})"));
    EXPECT_EQ(h.at("PortBindings"), json::object());
    EXPECT_EQ(h.at("RestartPolicy"), json::parse(R"({"Name":"","MaximumRetryCount":0})"));
    EXPECT_EQ(h.at("ConsoleSize"), json::parse("[0,0]"));
    EXPECT_EQ(h.at("Dns"), json::array());
    EXPECT_EQ(h.at("BlkioWeightDevice"), json::array());
    EXPECT_EQ(h.at("Ulimits"), json::array());
    EXPECT_TRUE(h.at("MemorySwappiness").is_null());
    EXPECT_TRUE(h.at("PidsLimit").is_null());
    EXPECT_TRUE(h.at("DeviceRequests").is_null());
    EXPECT_EQ(h.at("IOMaximumBandwidth"), 0);
    for (const char* omitted : {"Annotations", "StorageOpt", "Tmpfs", "Sysctls", "Runtime",
                                "Mounts", "Init", "KernelMemoryTCP"})
        EXPECT_FALSE(h.contains(omitted)) << omitted;

    NetworkingConfig n;
    n.endpoints_config["net"].aliases = {"web"};
    json nj;
    to_json(nj, n);
    const json& ep = nj.at("EndpointsConfig").at("net");
    EXPECT_TRUE(ep.at("IPAMConfig").is_null());
    EXPECT_EQ(ep.at("Aliases"), json::parse(R"(["web"])"));
    EXPECT_TRUE(ep.at("Links").is_null());
    EXPECT_EQ(ep.at("IPAddress"), "");
}

/// Every field set to something other than its zero value.
CreateRequest everything() {
    CreateRequest r;
    Config& c = r.config;
    c.hostname = "h";
    c.domainname = "example.com";
    c.user = "1000:1000";
    c.attach_stdin = c.attach_stdout = c.attach_stderr = true;
    c.exposed_ports = {"53/udp", "80/tcp"};
    c.tty = c.open_stdin = c.stdin_once = true;
    c.env = {"A=1", "B"};
    c.cmd = std::vector<std::string>{"sh", "-c", "echo hi"};
    c.healthcheck = oci::HealthConfig{{"CMD", "true"}, 1'000'000'000, 2'000'000'000,
                                      3'000'000'000,   4'000'000'000, 5};
    c.args_escaped = true;
    c.image = "busybox:latest";
    c.volumes = {"/a", "/b"};
    c.working_dir = "/w";
    c.entrypoint = std::vector<std::string>{"/init"};
    c.network_disabled = true;
    c.mac_address = "02:42:ac:11:00:02";
    c.on_build = {"RUN true"};
    c.labels = {{"a", "1"}, {"b.c", "2"}};
    c.stop_signal = "SIGINT";
    c.stop_timeout = 30;
    c.shell = {"/bin/bash", "-c"};

    HostConfig& h = r.host_config;
    h.binds = {"/h:/c:ro"};
    h.container_id_file = "/tmp/cid";
    h.log_config = {"json-file", {{"max-size", "10m"}}};
    h.network_mode = "bridge";
    h.port_bindings = {{"80/tcp", {{"127.0.0.1", "8080"}, {"", "8081"}}}, {"53/udp", {}}};
    h.restart_policy = {"on-failure", 3};
    h.auto_remove = true;
    h.volume_driver = "local";
    h.volumes_from = {"other:ro"};
    h.console_size = {24, 80};
    h.annotations = {{"io.x", "y"}};
    h.cap_add = {"NET_ADMIN"};
    h.cap_drop = {"MKNOD"};
    h.cgroupns_mode = "private";
    h.dns = {"1.1.1.1"};
    h.dns_options = {"ndots:2"};
    h.dns_search = {"example.com"};
    h.extra_hosts = {"db:10.0.0.2"};
    h.group_add = {"audio"};
    h.ipc_mode = "shareable";
    h.cgroup = "container:x";
    h.links = {"db:db"};
    h.oom_score_adj = 500;
    h.pid_mode = "host";
    h.privileged = h.publish_all_ports = h.readonly_rootfs = true;
    h.security_opt = {"no-new-privileges"};
    h.storage_opt = {{"size", "10G"}};
    h.tmpfs = {{"/run", "rw"}};
    h.uts_mode = "host";
    h.userns_mode = "host";
    h.shm_size = 1 << 20;
    h.sysctls = {{"net.core.somaxconn", "1024"}};
    h.runtime = "runc";
    h.isolation = "default";
    h.masked_paths = {"/proc/kcore"};
    h.readonly_paths = {"/proc/sys"};
    Mount bind{"bind",       "/src",      "/dst",
               true,         "cached",    Mount::BindOptions{"rslave", true, true, true, true},
               std::nullopt, std::nullopt};
    Mount vol{"volume",
              "v",
              "/v",
              false,
              "",
              std::nullopt,
              Mount::VolumeOptions{true, {{"l", "1"}}, "local", {{"o", "2"}}, "sub"},
              std::nullopt};
    Mount tmp{"tmpfs",      "",
              "/t",         false,
              "",           std::nullopt,
              std::nullopt, Mount::TmpfsOptions{1 << 20, 0700, {{"noexec"}, {"nr_inodes", "100"}}}};
    h.mounts = {bind, vol, tmp};
    h.init = false;
    h.cpu_shares = 512;
    h.memory = 64 << 20;
    h.nano_cpus = 500'000'000;
    h.cgroup_parent = "berth-test";
    h.blkio_weight = 300;
    h.blkio_weight_device = {{"/dev/sda", 200}};
    h.blkio_device_read_bps = {{"/dev/sda", 1}};
    h.blkio_device_write_bps = {{"/dev/sda", 2}};
    h.blkio_device_read_iops = {{"/dev/sda", 3}};
    h.blkio_device_write_iops = {{"/dev/sda", 4}};
    h.cpu_period = 100000;
    h.cpu_quota = 50000;
    h.cpu_realtime_period = 1000;
    h.cpu_realtime_runtime = 500;
    h.cpuset_cpus = "0-1";
    h.cpuset_mems = "0";
    h.devices = {{"/dev/fuse", "/dev/fuse", "rwm"}};
    h.device_cgroup_rules = {"c 1:3 rwm"};
    h.kernel_memory_tcp = 1 << 20;
    h.memory_reservation = 32 << 20;
    h.memory_swap = 128 << 20;
    h.memory_swappiness = 10;
    h.oom_kill_disable = true;
    h.pids_limit = 100;
    h.ulimits = {{"nofile", 1024, 2048}};

    EndpointSettings ep;
    ep.aliases = {"web"};
    ep.links = {"db:db"};
    ep.ipv4_address = "172.18.0.10";
    ep.ipv6_address = "fd00::10";
    ep.link_local_ips = {"169.254.0.1"};
    ep.mac_address = "02:42:ac:12:00:0a";
    ep.driver_opts = {{"k", "v"}};
    ep.gw_priority = 10;
    r.networking_config.endpoints_config = {{"net", ep}, {"other", EndpointSettings{}}};
    return r;
}

json body_of(const CreateRequest& r) {
    json body;
    to_json(body, r.config);
    json h;
    to_json(h, r.host_config);
    json n;
    to_json(n, r.networking_config);
    body["HostConfig"] = h;
    body["NetworkingConfig"] = n;
    return body;
}

TEST(ConfigJson, RoundTripsEveryField) {
    CreateRequest want = everything();
    auto got = parse_create_request(body_of(want).dump());
    ASSERT_TRUE(got) << got.error().msg;
    EXPECT_EQ(got->config, want.config);
    EXPECT_EQ(got->host_config, want.host_config);
    EXPECT_EQ(got->networking_config, want.networking_config);
    // And the serialisation is stable.
    EXPECT_EQ(body_of(*got), body_of(want));
}

TEST(ConfigJson, RoundTripsZeroValues) {
    CreateRequest want;
    auto got = parse_create_request(body_of(want).dump());
    ASSERT_TRUE(got) << got.error().msg;
    EXPECT_EQ(*got, want);
    // Set-but-empty optionals survive too.
    want.config.cmd = std::vector<std::string>{};
    want.config.entrypoint = std::vector<std::string>{""};
    want.host_config.oom_score_adj = 0;
    want.host_config.pids_limit = 0;
    want.host_config.oom_kill_disable = false;
    want.config.stop_timeout = 0;
    want.config.healthcheck = oci::HealthConfig{};
    got = parse_create_request(body_of(want).dump());
    ASSERT_TRUE(got) << got.error().msg;
    EXPECT_EQ(*got, want);
}

}  // namespace
}  // namespace berth::container
