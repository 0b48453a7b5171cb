#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/fs.hpp"
#include "berth/common/process.hpp"
#include "berth/common/strings.hpp"
#include "berth/oci/spec_json.hpp"
#include "berth/oci/validate.hpp"

namespace berth::oci {
namespace {

std::optional<std::string> find_runc() {
    std::vector<std::string> dirs = {"/usr/sbin", "/usr/bin",        "/sbin",
                                     "/bin",      "/usr/local/sbin", "/usr/local/bin"};
    if (const char* path = ::getenv("PATH")) {
        auto more = split(path, ':');
        dirs.insert(dirs.begin(), more.begin(), more.end());
    }
    for (const auto& d : dirs) {
        std::string p = d + "/runc";
        if (!d.empty() && ::access(p.c_str(), X_OK) == 0) return p;
    }
    return std::nullopt;
}

/// What `runc spec [--rootless]` writes, with its ociVersion replaced by ours; nullopt (and a
/// GTEST_SKIP in the caller) if runc isn't installed.
std::optional<std::string> runc_spec(bool rootless) {
    auto runc = find_runc();
    if (!runc) return std::nullopt;
    char tmpl[] = "/tmp/berth-oci-runcspec-XXXXXX";
    if (!::mkdtemp(tmpl)) return std::nullopt;
    std::string dir = tmpl;
    Command cmd;
    cmd.path = *runc;
    cmd.args = {"runc", "spec", "--bundle", dir};
    if (rootless) cmd.args.push_back("--rootless");
    cmd.timeout = std::chrono::milliseconds(20000);
    auto r = run_command(cmd);
    std::optional<std::string> text;
    if (r && r->status.ok()) {
        auto f = read_file(dir + "/config.json");
        if (f) text = *f;
    }
    (void)remove_all(dir);
    if (!text) return std::nullopt;
    // Replace runc's own spec version ("1.0.2-dev" in runc 1.1) by the one we implement.
    const std::string key = "\"ociVersion\": \"";
    size_t at = text->find(key);
    if (at == std::string::npos) return std::nullopt;
    size_t end = text->find('"', at + key.size());
    text->replace(at + key.size(), end - at - key.size(), kOciVersion);
    return text;
}

TEST(DefaultSpec, EqualsRuncSpecByteForByte) {
    auto want = runc_spec(false);
    if (!want) GTEST_SKIP() << "runc is not installed";
    EXPECT_EQ(to_json(default_spec(), true), *want);
}

TEST(DefaultSpec, RootlessEqualsRuncSpecRootless) {
    auto want = runc_spec(true);
    if (!want) GTEST_SKIP() << "runc is not installed";
    // runc maps its effective ids.
    EXPECT_EQ(to_json(default_spec(true, ::geteuid(), ::getegid()), true), *want);
}

TEST(DefaultSpec, Contents) {
    Spec s = default_spec();
    EXPECT_EQ(s.oci_version, kOciVersion);
    ASSERT_TRUE(s.process);
    EXPECT_TRUE(s.process->terminal);
    EXPECT_EQ(s.process->args, (std::vector<std::string>{"sh"}));
    EXPECT_EQ(s.process->cwd, "/");
    EXPECT_TRUE(s.process->no_new_privileges);
    ASSERT_TRUE(s.process->capabilities);
    EXPECT_TRUE(s.process->capabilities->inheritable.empty());
    EXPECT_EQ(s.process->capabilities->bounding.size(), 3u);
    ASSERT_TRUE(s.root);
    EXPECT_EQ(s.root->path, "rootfs");
    EXPECT_TRUE(s.root->readonly);
    EXPECT_EQ(s.hostname, "runc");
    ASSERT_EQ(s.mounts.size(), 7u);
    EXPECT_EQ(s.mounts[5].destination, "/sys");
    EXPECT_EQ(s.mounts[5].type, "sysfs");
    ASSERT_TRUE(s.linux);
    ASSERT_EQ(s.linux->namespaces.size(), 5u);
    EXPECT_EQ(s.linux->namespaces[1].type, "network");
    ASSERT_TRUE(s.linux->resources);
    ASSERT_EQ(s.linux->resources->devices.size(), 1u);
    EXPECT_FALSE(s.linux->resources->devices[0].allow);
    EXPECT_EQ(s.linux->resources->devices[0].access, "rwm");
    EXPECT_TRUE(s.linux->uid_mappings.empty());
    EXPECT_EQ(s.linux->masked_paths.size(), 10u);
    EXPECT_EQ(s.linux->readonly_paths.size(), 5u);
    EXPECT_TRUE(validate(s));
}

TEST(DefaultSpec, RootlessVariant) {
    Spec s = default_spec(true, 1234, 5678);
    ASSERT_TRUE(s.linux);
    std::vector<std::string> types;
    for (const auto& n : s.linux->namespaces) types.push_back(n.type);
    EXPECT_EQ(types, (std::vector<std::string>{"pid", "ipc", "uts", "mount", "user"}));
    ASSERT_EQ(s.linux->uid_mappings.size(), 1u);
    EXPECT_EQ(s.linux->uid_mappings[0].container_id, 0u);
    EXPECT_EQ(s.linux->uid_mappings[0].host_id, 1234u);
    EXPECT_EQ(s.linux->uid_mappings[0].size, 1u);
    ASSERT_EQ(s.linux->gid_mappings.size(), 1u);
    EXPECT_EQ(s.linux->gid_mappings[0].host_id, 5678u);
    EXPECT_FALSE(s.linux->resources);
    EXPECT_EQ(s.mounts[2].destination, "/dev/pts");
    EXPECT_EQ(s.mounts[2].options, (std::vector<std::string>{"nosuid", "noexec", "newinstance",
                                                             "ptmxmode=0666", "mode=0620"}));
    EXPECT_EQ(s.mounts[5].type, "none");
    EXPECT_EQ(s.mounts[5].source, "/sys");
    EXPECT_EQ(s.mounts[5].options[0], "rbind");
    EXPECT_TRUE(validate(s));
}

TEST(DefaultSpec, RoundTripsThroughJson) {
    for (bool rootless : {false, true}) {
        Spec s = default_spec(rootless, 1000, 1000);
        std::string text = to_json(s, true);
        auto back = parse_spec(text);
        ASSERT_TRUE(back) << back.error().what();
        EXPECT_EQ(to_json(*back, true), text);
    }
}

}  // namespace
}  // namespace berth::oci
