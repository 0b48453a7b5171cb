// Namespaces seen from inside: new ones differ from the host's, paths join existing ones (a netns
// bind-mounted to a file, another container's /proc/<pid>/ns/net), user namespaces map ids, and
// hostname, domainname and sysctls apply inside only.

#include <sys/stat.h>
#include <unistd.h>

#include "runtime_fixture.hpp"

namespace berth::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class NamespaceTest : public RuntimeTest {
protected:
    std::map<std::string, std::string> probe_kv(const std::vector<std::string>& args) {
        auto r = run_probe(args);
        EXPECT_TRUE(r.ok()) << r.describe();
        return parse_kv(r.out);
    }

    /// Makes a persistent network namespace bound to a file under the temp dir (TearDown
    /// unmounts it). Returns the file's path, empty on failure.
    std::string make_netns_file(const std::string& name) {
        std::string path = tmp_ + "/" + name;
        EXPECT_TRUE(write_text(path, ""));
        auto r = run_program({"unshare", "--net=" + path, "true"});
        EXPECT_TRUE(r.ok()) << r.describe();
        return r.ok() ? path : std::string();
    }
};

std::string ns_link_of_file(const std::string& path, const std::string& kind) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return {};
    return kind + ":[" + std::to_string(st.st_ino) + "]";
}

TEST_F(NamespaceTest, NewNamespacesDifferFromTheHost) {
    auto kv = probe_kv({"ns"});
    for (const char* kind : {"pid", "net", "ipc", "uts", "mnt"}) {
        ASSERT_FALSE(kv[kind].empty()) << kind;
        EXPECT_NE(kv[kind], ns_link(0, kind)) << kind << " should be a new namespace";
    }
    // runc's default spec has no user or cgroup namespace: those are the host's.
    EXPECT_EQ(kv["user"], ns_link(0, "user"));
    EXPECT_EQ(kv["cgroup"], ns_link(0, "cgroup"));
}

TEST_F(NamespaceTest, WithoutANamespaceTheHostsIsShared) {
    remove_namespace(spec_, "ipc");
    remove_namespace(spec_, "network");
    auto kv = probe_kv({"ns"});
    EXPECT_EQ(kv["ipc"], ns_link(0, "ipc"));
    EXPECT_EQ(kv["net"], ns_link(0, "net"));
    EXPECT_NE(kv["pid"], ns_link(0, "pid"));
}

TEST_F(NamespaceTest, CgroupNamespace) {
    set_namespace(spec_, "cgroup");
    auto r = run_probe({"seq", "ns", "--", "cgroup"});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto kv = parse_kv(r.out);
    EXPECT_NE(kv["cgroup"], ns_link(0, "cgroup"));
    // Inside its own cgroup namespace the container's cgroups are the roots.
    for (const auto& line : split_lines(r.out)) {
        auto f = split(line, ':');
        if (f.size() == 3 && !f[0].empty() && isdigit(static_cast<unsigned char>(f[0][0]))) {
            EXPECT_EQ(f[2], "/") << line;
        }
    }
}

TEST_F(NamespaceTest, NewNetworkNamespaceHasOnlyLoopback) {
    auto r = run_probe({"read", "/proc/self/net/dev"});
    ASSERT_TRUE(r.ok()) << r.describe();
    int interfaces = 0;
    for (const auto& line : split_lines(r.out)) {
        auto colon = line.find(':');
        if (colon == std::string::npos || contains(line, "|")) continue;
        std::string name = line.substr(0, colon);
        name.erase(0, name.find_first_not_of(' '));
        EXPECT_EQ(name, "lo") << r.out;
        ++interfaces;
    }
    EXPECT_EQ(interfaces, 1) << r.out;
}

// runc and crun bring up the loopback of a network namespace they create; /sys/class/net/lo/
// flags holds IFF_UP (0x1) then (0x9: UP|LOOPBACK; 0x8 while down).
TEST_F(NamespaceTest, NewNetworkNamespaceHasItsLoopbackUp) {
    auto r = run_probe({"read", "/sys/class/net/lo/flags"});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(std::stoul(r.out, nullptr, 16) & 0x1, 1u) << r.out;
}

TEST_F(NamespaceTest, AJoinedNetworkNamespaceIsLeftAsItIs) {
    std::string nsfile = make_netns_file("netns-lo-down");  // unshare leaves lo down
    ASSERT_FALSE(nsfile.empty());
    set_namespace(spec_, "network", nsfile);
    auto r = run_probe({"read", "/sys/class/net/lo/flags"});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(std::stoul(r.out, nullptr, 16) & 0x1, 0u) << r.out;
}

TEST_F(NamespaceTest, JoinNetworkNamespaceByPath) {
    std::string nsfile = make_netns_file("netns");
    ASSERT_FALSE(nsfile.empty());
    set_namespace(spec_, "network", nsfile);
    auto kv = probe_kv({"ns"});
    EXPECT_EQ(kv["net"], ns_link_of_file(nsfile, "net"));
    EXPECT_NE(kv["net"], ns_link(0, "net"));
}

TEST_F(NamespaceTest, JoinAnotherContainersNamespaces) {
    auto a = new_id();
    ASSERT_TRUE(start_container(a, {"sleep", "60"}).ok());
    pid_t pa = pid_of(a);
    ASSERT_GT(pa, 0);
    std::string proc = "/proc/" + std::to_string(pa) + "/ns/";
    set_namespace(spec_, "network", proc + "net");
    set_namespace(spec_, "ipc", proc + "ipc");
    set_namespace(spec_, "uts", proc + "uts");
    spec_.erase("hostname");  // the UTS namespace is A's; runc refuses a hostname for a joined one
    auto kv = probe_kv({"ns"});
    EXPECT_EQ(kv["net"], ns_link(pa, "net"));
    EXPECT_EQ(kv["ipc"], ns_link(pa, "ipc"));
    EXPECT_EQ(kv["uts"], ns_link(pa, "uts"));
    EXPECT_NE(kv["mnt"], ns_link(pa, "mnt"));
    EXPECT_NE(kv["pid"], ns_link(pa, "pid"));
}

TEST_F(NamespaceTest, JoinAnotherContainersPidNamespace) {
    auto a = new_id();
    ASSERT_TRUE(start_container(a, {"sleep", "60"}).ok());
    pid_t pa = pid_of(a);
    set_namespace(spec_, "pid", "/proc/" + std::to_string(pa) + "/ns/pid");
    EXPECT_EQ(probe_kv({"ns"})["pid"], ns_link(pa, "pid"));
    EXPECT_NE(probe_kv({"pid"})["pid"], "1");  // A's init is pid 1 there
}

/// "0   100000   65536\n" -> "0 100000 65536"
std::string squeeze(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '\t' || c == '\n') c = ' ';
        if (c == ' ' && (o.empty() || o.back() == ' ')) continue;
        o += c;
    }
    while (!o.empty() && o.back() == ' ') o.pop_back();
    return o;
}

TEST_F(NamespaceTest, UserNamespaceMapsIds) {
    set_namespace(spec_, "user");
    spec_["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    spec_["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
    auto ids = probe_kv({"seq", "ids", "--", "ns"});
    EXPECT_EQ(ids["uid"], "0");
    EXPECT_EQ(ids["gid"], "0");
    EXPECT_NE(ids["user"], ns_link(0, "user"));
    auto uid_map = run_probe({"read", "/proc/self/uid_map"});
    EXPECT_EQ(squeeze(uid_map.out), "0 100000 65536") << uid_map.describe();
    auto gid_map = run_probe({"read", "/proc/self/gid_map"});
    EXPECT_EQ(squeeze(gid_map.out), "0 200000 65536") << gid_map.describe();

    // From the host, the container's root is uid 100000, gid 200000.
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    auto status = read_text("/proc/" + std::to_string(pid_of(id)) + "/status").value_or("");
    EXPECT_TRUE(contains(status, "Uid:\t100000\t100000\t")) << status;
    EXPECT_TRUE(contains(status, "Gid:\t200000\t200000\t")) << status;
}

TEST_F(NamespaceTest, UserNamespaceNonRootUser) {
    set_namespace(spec_, "user");
    spec_["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    spec_["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    spec_["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"seq", "ids", "--", "sleep", "60"}).ok());
    ASSERT_TRUE(wait_output(id, "umask="));
    auto kv = parse_kv(container_output(id));
    EXPECT_EQ(kv["uid"], "1000");
    EXPECT_EQ(kv["gid"], "1000");
    auto status = read_text("/proc/" + std::to_string(pid_of(id)) + "/status").value_or("");
    EXPECT_TRUE(contains(status, "Uid:\t101000\t")) << status;
}

TEST_F(NamespaceTest, UserNamespaceRootHasCapabilitiesInsideOnly) {
    set_namespace(spec_, "user");
    spec_["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    spec_["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    set_all_caps(spec_, {"CAP_SYS_ADMIN"});
    // CAP_SYS_ADMIN in the user namespace that owns the container's UTS namespace is enough.
    auto kv = probe_kv({"syscall-errno", "sethostname"});
    EXPECT_EQ(kv["sethostname"], "0");
}

TEST_F(NamespaceTest, Hostname) {
    spec_["hostname"] = "bt-host";
    EXPECT_EQ(probe_kv({"hostname"})["hostname"], "bt-host");
}

TEST_F(NamespaceTest, Domainname) {
    // OCI runtime-spec 1.0.2 has "domainname"; runc 1.1 ignores it (runc 1.2 sets it).
    BERTH_SKIP_ON_RUNC("runc 1.1 does not set the domainname");
    spec_["hostname"] = "bt-host";
    spec_["domainname"] = "example.test";
    auto kv = probe_kv({"hostname"});
    EXPECT_EQ(kv["hostname"], "bt-host");
    EXPECT_EQ(kv["domainname"], "example.test");
}

TEST_F(NamespaceTest, TimeNamespaceShiftsBoottimeAndMonotonic) {
    // runtime-spec 1.1 time namespaces; runc 1.1 predates them.
    BERTH_SKIP_ON_RUNC("runc 1.1 does not support time namespaces");
    if (::access("/proc/self/ns/time", F_OK) != 0) GTEST_SKIP() << "kernel without time namespaces";
    constexpr long kYear = 365L * 24 * 3600;
    spec_["linux"]["namespaces"].push_back({{"type", "time"}});
    spec_["linux"]["timeOffsets"] = {{"boottime", {{"secs", kYear}, {"nanosecs", 0}}},
                                     {"monotonic", {{"secs", kYear}, {"nanosecs", 0}}}};
    auto r = run_probe({"read", "/proc/uptime"});
    ASSERT_TRUE(r.ok()) << r.describe();
    // /proc/uptime follows CLOCK_BOOTTIME of the reader's time namespace.
    double uptime = std::stod(r.out);
    EXPECT_GT(uptime, static_cast<double>(kYear)) << r.out;
}

TEST_F(NamespaceTest, HostnameWithoutUtsNamespaceIsRefused) {
    // Setting it would rename the host. Use the host's own name, so a buggy runtime changes
    // nothing.
    char host[256] = {};
    ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
    remove_namespace(spec_, "uts");
    spec_["hostname"] = host;
    auto id = new_id();
    set_probe_args({"exit", "0"});
    write_spec_for(id);
    auto r = rt({"create", "--bundle", bundle_, id});
    EXPECT_EQ(r.status, 1) << r.describe();
    expect_nothing_left(id);
}

TEST_F(NamespaceTest, Sysctls) {
    spec_["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"},
                                {"kernel.shm_rmid_forced", "1"},
                                {"net.ipv4.ping_group_range", "0 0"}};
    std::string host_forward = read_text("/proc/sys/net/ipv4/ip_forward").value_or("?");
    std::string host_shm = read_text("/proc/sys/kernel/shm_rmid_forced").value_or("?");
    auto r = run_probe({"seq", "sysctl", "net.ipv4.ip_forward", "--", "sysctl",
                        "kernel.shm_rmid_forced", "--", "sysctl", "net.ipv4.ping_group_range"});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto kv = parse_kv(r.out);
    EXPECT_EQ(kv["net.ipv4.ip_forward"], "1");
    EXPECT_EQ(kv["kernel.shm_rmid_forced"], "1");
    std::string range = kv["net.ipv4.ping_group_range"];
    for (auto& c : range)
        if (c == '\t') c = ' ';
    EXPECT_EQ(range, "0 0");
    EXPECT_EQ(read_text("/proc/sys/net/ipv4/ip_forward").value_or("?"), host_forward);
    EXPECT_EQ(read_text("/proc/sys/kernel/shm_rmid_forced").value_or("?"), host_shm);
}

TEST_F(NamespaceTest, IpcSysctlWithoutIpcNamespaceIsRefused) {
    // It would change the host. The value is the host's own, so a buggy runtime changes nothing.
    std::string host_shm = read_text("/proc/sys/kernel/shm_rmid_forced").value_or("0");
    while (!host_shm.empty() && host_shm.back() == '\n') host_shm.pop_back();
    remove_namespace(spec_, "ipc");
    spec_["linux"]["sysctl"] = {{"kernel.shm_rmid_forced", host_shm}};
    auto id = new_id();
    write_spec_for(id);
    auto r = rt({"create", "--bundle", bundle_, id});
    EXPECT_EQ(r.status, 1) << r.describe();
    expect_nothing_left(id);
}

TEST_F(NamespaceTest, NetSysctlWithoutNetworkNamespaceIsRefused) {
    std::string host_fwd = read_text("/proc/sys/net/ipv4/ip_forward").value_or("0");
    while (!host_fwd.empty() && host_fwd.back() == '\n') host_fwd.pop_back();
    remove_namespace(spec_, "network");
    spec_["linux"]["sysctl"] = {{"net.ipv4.ip_forward", host_fwd}};
    auto id = new_id();
    write_spec_for(id);
    auto r = rt({"create", "--bundle", bundle_, id});
    EXPECT_EQ(r.status, 1) << r.describe();
    expect_nothing_left(id);
}

}  // namespace
}  // namespace berth::test
