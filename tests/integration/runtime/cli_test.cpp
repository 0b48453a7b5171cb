// The runtime's command line beyond the lifecycle: global flags (--root, --log, --log-format),
// features, spec, and create/run flags (--bundle, --no-pivot, --preserve-fds).

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "runtime_fixture.hpp"

namespace berth::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class CliTest : public RuntimeTest {};

bool has_string(const json& arr, const std::string& s) {
    if (!arr.is_array()) return false;
    return std::any_of(arr.begin(), arr.end(),
                       [&](const json& v) { return v.is_string() && v.get<std::string>() == s; });
}

TEST_F(CliTest, VersionExitsZero) {
    auto r = rt_raw({"--version"});
    EXPECT_TRUE(r.ok()) << r.describe();
    EXPECT_FALSE(r.out.empty()) << r.describe();
}

TEST_F(CliTest, UnknownCommandFails) {
    auto r = rt({"no-such-command"});
    EXPECT_NE(r.status, 0) << r.describe();
}

TEST_F(CliTest, FeaturesDescribesTheRuntime) {
    auto r = rt_raw({"features"});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto f = json::parse(r.out, nullptr, false);
    ASSERT_TRUE(f.is_object()) << r.out;
    EXPECT_TRUE(f["ociVersionMin"].is_string()) << r.out;
    EXPECT_TRUE(f["ociVersionMax"].is_string()) << r.out;
    for (const char* h : {"prestart", "createRuntime", "createContainer", "startContainer",
                          "poststart", "poststop"})
        EXPECT_TRUE(has_string(f["hooks"], h)) << "hook " << h << " missing in " << r.out;
    for (const char* o : {"ro", "rw", "nosuid", "nodev", "noexec", "bind", "rbind", "rprivate",
                          "rslave", "rshared"})
        EXPECT_TRUE(has_string(f["mountOptions"], o)) << "mount option " << o << " missing";
    ASSERT_TRUE(f["linux"].is_object()) << r.out;
    for (const char* ns : {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"})
        EXPECT_TRUE(has_string(f["linux"]["namespaces"], ns)) << "namespace " << ns;
    EXPECT_TRUE(has_string(f["linux"]["capabilities"], "CAP_SYS_ADMIN")) << r.out;
    EXPECT_TRUE(has_string(f["linux"]["capabilities"], "CAP_CHOWN")) << r.out;
    // This host has cgroup v1 controllers.
    EXPECT_EQ(f["linux"]["cgroup"].value("v1", false), true) << r.out;
    EXPECT_EQ(f["linux"]["seccomp"].value("enabled", false), true) << r.out;
    EXPECT_TRUE(has_string(f["linux"]["seccomp"]["actions"], "SCMP_ACT_ERRNO")) << r.out;
    EXPECT_TRUE(has_string(f["linux"]["seccomp"]["archs"], "SCMP_ARCH_X86_64")) << r.out;
}

TEST_F(CliTest, SpecWritesADefaultConfig) {
    std::string dir = make_tmp_dir("spec");
    auto r = rt_raw({"spec", "--bundle", dir});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto text = read_text(dir + "/config.json");
    ASSERT_TRUE(text.has_value());
    auto s = json::parse(*text, nullptr, false);
    ASSERT_TRUE(s.is_object()) << *text;
    EXPECT_TRUE(s["ociVersion"].is_string());
    EXPECT_EQ(s["process"].value("terminal", false), true);
    EXPECT_EQ(s["process"]["args"], json::array({"sh"}));
    EXPECT_EQ(s["root"].value("path", ""), "rootfs");
    std::set<std::string> nss;
    for (const auto& ns : s["linux"]["namespaces"]) nss.insert(ns.value("type", ""));
    EXPECT_EQ(nss, (std::set<std::string>{"pid", "network", "ipc", "uts", "mount"}));
    EXPECT_TRUE(has_string(s["linux"]["maskedPaths"], "/proc/kcore"));
    EXPECT_TRUE(has_string(s["linux"]["readonlyPaths"], "/proc/sys"));

    // A second spec does not overwrite it.
    ASSERT_TRUE(write_text(dir + "/config.json", "{\"mine\": true}"));
    auto again = rt_raw({"spec", "--bundle", dir});
    EXPECT_EQ(again.status, 1) << again.describe();
    EXPECT_TRUE(contains(again.err, "exists")) << again.describe();
    EXPECT_EQ(read_text(dir + "/config.json").value_or(""), "{\"mine\": true}");
}

TEST_F(CliTest, SpecRootlessAddsAUserNamespace) {
    std::string dir = make_tmp_dir("spec-rootless");
    auto r = rt_raw({"spec", "--rootless", "--bundle", dir});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto s = json::parse(read_text(dir + "/config.json").value_or(""), nullptr, false);
    ASSERT_TRUE(s.is_object());
    bool userns = false;
    for (const auto& ns : s["linux"]["namespaces"]) userns |= ns.value("type", "") == "user";
    EXPECT_TRUE(userns) << s.dump(2);
    EXPECT_TRUE(s["linux"]["uidMappings"].is_array()) << s.dump(2);
    EXPECT_TRUE(s["linux"]["gidMappings"].is_array()) << s.dump(2);
}

TEST_F(CliTest, LogFormatJsonWritesOneJsonObjectPerLine) {
    std::string log = tmp_ + "/runtime.log";
    auto r = rt({"--log", log, "--log-format", "json", "state", "bt-no-such-container"});
    EXPECT_EQ(r.status, 1) << r.describe();
    auto text = read_text(log);
    ASSERT_TRUE(text.has_value()) << "no log file";
    bool found = false;
    for (const auto& line : split_lines(*text)) {
        if (line.empty()) continue;
        auto j = json::parse(line, nullptr, false);
        ASSERT_TRUE(j.is_object()) << "not JSON: " << line;
        EXPECT_TRUE(j.contains("level") && j.contains("msg") && j.contains("time")) << line;
        if (j.value("level", "") == "error" &&
            contains(j.value("msg", ""), "container does not exist"))
            found = true;
    }
    EXPECT_TRUE(found) << *text;
}

TEST_F(CliTest, LogTextFormatGoesToTheLogFile) {
    // --root must come first here: it is a global flag like --log.
    std::string log = tmp_ + "/runtime.log";
    auto r = rt_raw({"--root", state_root_, "--log", log, "state", "bt-no-such-container"});
    EXPECT_EQ(r.status, 1) << r.describe();
    EXPECT_TRUE(contains(read_text(log).value_or(""), "container does not exist"))
        << read_text(log).value_or("(no log)");
}

TEST_F(CliTest, LogJsonRecordsCreateFailures) {
    // containerd reads the runtime's JSON log to report why create failed.
    set_probe_args({});
    spec_["process"]["args"] = {"/no/such/binary"};
    auto id = new_id();
    write_spec_for(id);
    std::string log = tmp_ + "/create.log";
    auto r = rt({"--log", log, "--log-format", "json", "create", "--bundle", bundle_, id});
    EXPECT_EQ(r.status, 1) << r.describe();
    bool error_line = false;
    for (const auto& line : split_lines(read_text(log).value_or(""))) {
        auto j = json::parse(line, nullptr, false);
        if (j.is_object() && j.value("level", "") == "error") error_line = true;
    }
    EXPECT_TRUE(error_line) << read_text(log).value_or("(no log)");
}

TEST_F(CliTest, RootFlagSeparatesStateDirectories) {
    auto id = new_id();
    ASSERT_TRUE(create_container(id, {"sleep", "60"}).ok());
    std::string other = tmp_ + "/other-root";
    auto r = rt_raw({"--root", other, "state", id});
    EXPECT_EQ(r.status, 1) << r.describe();
    auto l = rt_raw({"--root", other, "list", "-q"});
    EXPECT_TRUE(l.ok()) << l.describe();
    EXPECT_EQ(l.out, "");
    EXPECT_TRUE(exists(state_root_ + "/" + id)) << "state should live under --root";
}

TEST_F(CliTest, BundleDefaultsToTheWorkingDirectory) {
    auto id = new_id();
    set_probe_args({"pid"});
    write_spec_for(id);
    RunOptions o;
    o.cwd = bundle_;
    auto r = rt({"run", id}, o);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(parse_kv(r.out)["pid"], "1") << r.out;
}

TEST_F(CliTest, CreateWithBundleFromAnotherDirectory) {
    auto id = new_id();
    set_probe_args({"sleep", "60"});
    write_spec_for(id);
    RunOptions o;
    o.cwd = "/";
    auto r = rt({"create", "--bundle", bundle_, id}, o);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(state(id).value("bundle", ""), bundle_);
}

TEST_F(CliTest, NoPivotRunsTheContainer) {
    auto r = run_probe({"seq", "pid", "--", "stat", "/probe", "--", "cwd"}, {"--no-pivot"});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto kv = parse_kv(r.out);
    EXPECT_EQ(kv["pid"], "1");
    EXPECT_EQ(kv["type"], "reg");
    EXPECT_EQ(kv["cwd"], "/");
}

TEST_F(CliTest, PreserveFdsPassesExtraFds) {
    std::string path = tmp_ + "/fd3.txt";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    RunOptions o;
    o.pass_fds = {fd};
    auto r = run_probe({"seq", "fds", "--", "write-fd", "3", "through-fd-3"},
                       {"--preserve-fds", "1"}, o);
    ::close(fd);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_TRUE(contains(r.out, "fd.3=")) << r.out;
    EXPECT_EQ(read_text(path).value_or(""), "through-fd-3");
}

TEST_F(CliTest, FdsAreNotPassedWithoutPreserveFds) {
    std::string path = tmp_ + "/fd3.txt";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    RunOptions o;
    o.pass_fds = {fd};
    auto r = run_probe({"fds"}, {}, o);
    ::close(fd);
    ASSERT_TRUE(r.ok()) << r.describe();
    auto kv = parse_kv(r.out);
    for (const auto& [k, v] : kv) {
        int n = atoi(k.substr(3).c_str());
        EXPECT_LE(n, 2) << "fd leaked into the container: " << k << "=" << v;
    }
}

}  // namespace
}  // namespace berth::test
