// Devices seen from inside: the default device nodes and /dev symlinks, device nodes from
// linux.devices, and the device cgroup's allow/deny rules.

#include "runtime_fixture.hpp"

namespace berth::test {
namespace {

using nlohmann::json;

class DeviceTest : public RuntimeTest {
protected:
    std::map<std::string, std::string> probe_kv(const std::vector<std::string>& args) {
        last_ = run_probe(args);
        return parse_kv(last_.out);
    }
    RunResult last_;
};

TEST_F(DeviceTest, DefaultDevicesExist) {
    struct Dev {
        const char* path;
        const char* major;
        const char* minor;
    };
    for (const Dev& d :
         {Dev{"/dev/null", "1", "3"}, Dev{"/dev/zero", "1", "5"}, Dev{"/dev/full", "1", "7"},
          Dev{"/dev/random", "1", "8"}, Dev{"/dev/urandom", "1", "9"}, Dev{"/dev/tty", "5", "0"}}) {
        auto kv = probe_kv({"stat", d.path});
        EXPECT_EQ(kv["type"], "chr") << d.path << "\n" << last_.describe();
        EXPECT_EQ(kv["major"], d.major) << d.path;
        EXPECT_EQ(kv["minor"], d.minor) << d.path;
        EXPECT_EQ(kv["mode"], "0666") << d.path;
    }
}

TEST_F(DeviceTest, DefaultDevicesWork) {
    auto kv = probe_kv({"seq", "write", "/dev/null", "x", "--", "open", "/dev/zero", "r", "--",
                        "open", "/dev/urandom", "r"});
    EXPECT_EQ(kv["write"], "ok") << last_.describe();
    EXPECT_EQ(kv["open"], "ok") << last_.describe();
    EXPECT_EQ(kv.count("error"), 0u) << last_.describe();
}

TEST_F(DeviceTest, DevSymlinks) {
    const std::vector<std::pair<std::string, std::string>> links = {
        {"/dev/fd", "/proc/self/fd"},       {"/dev/stdin", "/proc/self/fd/0"},
        {"/dev/stdout", "/proc/self/fd/1"}, {"/dev/stderr", "/proc/self/fd/2"},
        {"/dev/ptmx", "pts/ptmx"},
    };
    for (const auto& [path, target] : links) {
        auto kv = probe_kv({"stat", path});
        EXPECT_EQ(kv["type"], "lnk") << path << "\n" << last_.describe();
        EXPECT_EQ(kv["target"], target) << path;
    }
}

TEST_F(DeviceTest, ConfiguredDeviceNode) {
    spec_["linux"]["devices"] = {{{"path", "/dev/bt-null"},
                                  {"type", "c"},
                                  {"major", 1},
                                  {"minor", 3},
                                  {"fileMode", 0640},
                                  {"uid", 1000},
                                  {"gid", 1001}}};
    auto kv = probe_kv({"stat", "/dev/bt-null"});
    EXPECT_EQ(kv["type"], "chr") << last_.describe();
    EXPECT_EQ(kv["major"], "1");
    EXPECT_EQ(kv["minor"], "3");
    EXPECT_EQ(kv["mode"], "0640");
    EXPECT_EQ(kv["uid"], "1000");
    EXPECT_EQ(kv["gid"], "1001");
}

TEST_F(DeviceTest, ConfiguredDeviceNodeInASubdirectory) {
    spec_["linux"]["devices"] = {{{"path", "/dev/bt/sub/zero"},
                                  {"type", "c"},
                                  {"major", 1},
                                  {"minor", 5},
                                  {"fileMode", 0666},
                                  {"uid", 0},
                                  {"gid", 0}}};
    auto kv = probe_kv({"seq", "stat", "/dev/bt/sub/zero", "--", "open", "/dev/bt/sub/zero", "r"});
    EXPECT_EQ(kv["type"], "chr") << last_.describe();
    EXPECT_EQ(kv["minor"], "5");
    EXPECT_EQ(kv["open"], "ok") << last_.describe();
}

// The device cgroup tests use c 1:12, a minor of the mem driver that no longer exists: opening it
// gives ENXIO once the device cgroup lets the open through, and EPERM when the cgroup refuses.
// Nothing is ever opened for real, and no capability check is involved.
json unused_mem_minor() {
    return {{"path", "/dev/bt-dev"}, {"type", "c"}, {"major", 1}, {"minor", 12},
            {"fileMode", 0666},      {"uid", 0},    {"gid", 0}};
}

TEST_F(DeviceTest, DeviceCgroupDeniesAnUnlistedDevice) {
    spec_["linux"]["devices"] = {unused_mem_minor()};
    auto kv = probe_kv({"seq", "stat", "/dev/bt-dev", "--", "open", "/dev/bt-dev", "r"});
    EXPECT_EQ(kv["type"], "chr") << last_.describe();
    EXPECT_EQ(kv["error"], "EPERM") << last_.describe();
}

TEST_F(DeviceTest, DeviceCgroupAllowsAListedDevice) {
    spec_["linux"]["devices"] = {unused_mem_minor()};
    spec_["linux"]["resources"]["devices"].push_back(
        {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 12}, {"access", "rw"}});
    auto kv = probe_kv({"open", "/dev/bt-dev", "r"});
    EXPECT_EQ(kv["error"], "ENXIO") << "the device cgroup should let the open through\n"
                                    << last_.describe();
}

TEST_F(DeviceTest, DeviceCgroupAccessIsPerMode) {
    spec_["linux"]["devices"] = {unused_mem_minor()};
    spec_["linux"]["resources"]["devices"].push_back(
        {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 12}, {"access", "r"}});
    auto r = run_probe({"open", "/dev/bt-dev", "r"});
    EXPECT_EQ(parse_kv(r.out)["error"], "ENXIO") << r.describe();
    auto w = run_probe({"open", "/dev/bt-dev", "w"});
    EXPECT_EQ(parse_kv(w.out)["error"], "EPERM") << w.describe();
}

TEST_F(DeviceTest, DeviceCgroupWildcardMajorMinor) {
    spec_["linux"]["devices"] = {unused_mem_minor()};
    // No major/minor: every char device.
    spec_["linux"]["resources"]["devices"].push_back(
        {{"allow", true}, {"type", "c"}, {"access", "r"}});
    auto kv = probe_kv({"open", "/dev/bt-dev", "r"});
    EXPECT_EQ(kv["error"], "ENXIO") << last_.describe();
}

}  // namespace
}  // namespace berth::test
