// End to end, as root: the spec build_spec makes for Docker's defaults runs under the runtime
// with a busybox rootfs, and the process inside sees Docker's capability set and seccomp mode
// (read from /proc/self/status, as `docker run busybox grep Cap /proc/self/status` shows).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "berth/container/spec_builder.hpp"
#include "berth/oci/spec_json.hpp"
#include "runtime_fixture.hpp"

namespace berth::container {
namespace {

class SpecRootTest : public test::RuntimeTest {
protected:
    /// Builds the spec for `in` (rootfs and cgroup filled in) and runs it; returns stdout.
    std::string run_spec(SpecInputs in) {
        std::string id = new_id();
        in.id = std::string(64, 'b');
        in.rootfs = rootfs_;
        in.cgroups_path = cgroup_of(id);
        in.host.network_mode = "none";
        in.host.ipc_mode = "private";
        in.host.cgroupns_mode = "host";
        auto s = build_spec(in);
        EXPECT_TRUE(s.has_value()) << s.error().what();
        if (!s) return "";
        spec_ = nlohmann::json::parse(oci::to_json(*s));
        auto r = run_container(id, {});
        EXPECT_EQ(r.status, 0) << r.describe();
        return r.out;
    }
};

std::string status_field(const std::string& status, const std::string& key) {
    size_t p = status.find("\n" + key + ":");
    if (p == std::string::npos) return "<missing>";
    p += key.size() + 2;
    size_t e = status.find('\n', p);
    std::string v = status.substr(p, e - p);
    while (!v.empty() && (v[0] == '\t' || v[0] == ' ')) v.erase(0, 1);
    return v;
}

TEST_F(SpecRootTest, DefaultsGiveDockersCapsAndSeccomp) {
    SpecInputs in;
    in.config.cmd = std::vector<std::string>{"/bin/cat", "/proc/self/status"};
    std::string out = run_spec(in);
    EXPECT_EQ(status_field(out, "CapEff"), "00000000a80425fb") << out;
    EXPECT_EQ(status_field(out, "CapBnd"), "00000000a80425fb");
    EXPECT_EQ(status_field(out, "CapInh"), "0000000000000000");
    EXPECT_EQ(status_field(out, "Seccomp"), "2");
    EXPECT_EQ(status_field(out, "NoNewPrivs"), "0");
}

TEST_F(SpecRootTest, SeccompRefusesMountAndUnshare) {
    SpecInputs in;
    in.host.tmpfs = {{"/run", "size=1m"}};
    in.host.security_opt = {"no-new-privileges"};
    in.config.cmd = std::vector<std::string>{
        "/bin/sh", "-c",
        "grep NoNewPrivs /proc/self/status; unshare -u true && echo unshare-ok; "
        "grep ' /run ' /proc/mounts; cat /proc/sys/net/ipv4/ip_unprivileged_port_start; "
        "echo home=$HOME"};
    std::string out = run_spec(in);
    EXPECT_NE(out.find("NoNewPrivs:\t1"), std::string::npos) << out;
    EXPECT_EQ(out.find("unshare-ok"), std::string::npos) << out;
    EXPECT_NE(out.find("tmpfs /run tmpfs rw,nosuid,nodev,noexec"), std::string::npos) << out;
    EXPECT_NE(out.find("\n0\n"), std::string::npos) << out;
    EXPECT_NE(out.find("home=/root"), std::string::npos) << out;
}

TEST_F(SpecRootTest, PrivilegedHasEverything) {
    SpecInputs in;
    in.host.privileged = true;
    in.config.cmd = std::vector<std::string>{"/bin/cat", "/proc/self/status"};
    std::string out = run_spec(in);
    EXPECT_EQ(status_field(out, "Seccomp"), "0") << out;
    std::string eff = status_field(out, "CapEff");
    EXPECT_EQ(eff, status_field(out, "CapBnd"));
    EXPECT_NE(eff, "00000000a80425fb");
}

}  // namespace
}  // namespace berth::container
