// The user's Config over the image's, the defaults dockerd fills in, and the process
// environment: moby's rules (daemon/commit.go merge, create.go, adaptContainerSettings,
// CreateDaemonEnvironment).

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "berth/container/merge.hpp"

namespace berth::container {
namespace {

using Strings = std::vector<std::string>;
using OptStrings = std::optional<Strings>;

struct CommandCase {
    const char* name;
    OptStrings user_entrypoint;
    OptStrings user_cmd;
    Strings image_entrypoint;
    Strings image_cmd;
    OptStrings want_entrypoint;
    OptStrings want_cmd;
};

class MergeCommand : public ::testing::TestWithParam<CommandCase> {};

TEST_P(MergeCommand, FollowsMoby) {
    const auto& p = GetParam();
    Config user;
    user.entrypoint = p.user_entrypoint;
    user.cmd = p.user_cmd;
    oci::ContainerConfig image;
    image.entrypoint = p.image_entrypoint;
    image.cmd = p.image_cmd;
    Config got = merge_image_config(user, image);
    EXPECT_EQ(got.entrypoint, p.want_entrypoint);
    EXPECT_EQ(got.cmd, p.want_cmd);
}

const Strings kSh{"/bin/sh"};
const Strings kEntry{"/docker-entrypoint.sh"};
const Strings kNginx{"nginx", "-g", "daemon off;"};
const Strings kLs{"ls", "-l"};

INSTANTIATE_TEST_SUITE_P(
    Table, MergeCommand,
    ::testing::Values(
        // docker run image: everything from the image.
        CommandCase{"NothingSet", std::nullopt, std::nullopt, kEntry, kNginx, kEntry, kNginx},
        // docker run image ls -l: the image's entrypoint, the user's cmd.
        CommandCase{"UserCmd", std::nullopt, kLs, kEntry, kNginx, kEntry, kLs},
        // docker run --entrypoint /bin/sh image: the image's cmd is dropped.
        CommandCase{"UserEntrypoint", kSh, std::nullopt, kEntry, kNginx, kSh, std::nullopt},
        CommandCase{"UserBoth", kSh, kLs, kEntry, kNginx, kSh, kLs},
        // --entrypoint "": [""] counts as set (image cmd dropped), then is cleared.
        CommandCase{"EmptyEntrypointString", Strings{""}, std::nullopt, kEntry, kNginx,
                    std::nullopt, std::nullopt},
        CommandCase{"EmptyEntrypointStringWithCmd", Strings{""}, kLs, kEntry, kNginx, std::nullopt,
                    kLs},
        // Entrypoint [] (API): cleared, and the image's cmd is used.
        CommandCase{"EmptyEntrypointArray", Strings{}, std::nullopt, kEntry, kNginx, Strings{},
                    kNginx},
        // Cmd [] is "unset" for the merge.
        CommandCase{"EmptyCmdArray", std::nullopt, Strings{}, kEntry, kNginx, kEntry, kNginx},
        // An image without entrypoint/cmd leaves them nil.
        CommandCase{"ImageHasNone", std::nullopt, std::nullopt, {}, {}, std::nullopt, std::nullopt},
        CommandCase{"ImageCmdOnly", std::nullopt, std::nullopt, {}, kSh, std::nullopt, kSh}),
    [](const ::testing::TestParamInfo<CommandCase>& tp) { return std::string(tp.param.name); });

TEST(Merge, EnvUserFirstThenImageKeysNotSet) {
    Config user;
    user.env = {"B=user", "C=3"};
    oci::ContainerConfig image;
    image.env = {"PATH=/usr/bin", "B=image", "D=4"};
    EXPECT_EQ(merge_image_config(user, image).env,
              (Strings{"B=user", "C=3", "PATH=/usr/bin", "D=4"}));

    Config none;
    EXPECT_EQ(merge_image_config(none, image).env, image.env);

    // A bare "KEY" in the user's Env also counts as setting KEY.
    Config unset;
    unset.env = {"B"};
    EXPECT_EQ(merge_image_config(unset, image).env, (Strings{"B", "PATH=/usr/bin", "D=4"}));
}

TEST(Merge, SetsAndLabelsAreUnions) {
    Config user;
    user.exposed_ports = {"8080/tcp"};
    user.volumes = {"/user"};
    user.labels = {{"shared", "user"}, {"mine", "1"}};
    oci::ContainerConfig image;
    image.exposed_ports = {"80/tcp", "8080/tcp"};
    image.volumes = {"/data"};
    image.labels = {{"shared", "image"}, {"theirs", "2"}};
    Config got = merge_image_config(user, image);
    EXPECT_EQ(got.exposed_ports, (Strings{"80/tcp", "8080/tcp"}));
    EXPECT_EQ(got.volumes, (Strings{"/data", "/user"}));
    EXPECT_EQ(got.labels, (std::map<std::string, std::string>{
                              {"mine", "1"}, {"shared", "user"}, {"theirs", "2"}}));
}

TEST(Merge, ScalarsFromImageWhenEmpty) {
    oci::ContainerConfig image;
    image.user = "nginx";
    image.working_dir = "/usr/share/nginx/";
    image.stop_signal = "SIGQUIT";
    image.shell = {"/bin/bash", "-c"};
    image.on_build = {"RUN true"};
    Config got = merge_image_config(Config{}, image);
    EXPECT_EQ(got.user, "nginx");
    EXPECT_EQ(got.working_dir, "/usr/share/nginx");  // cleaned
    EXPECT_EQ(got.stop_signal, "SIGQUIT");
    // moby's merge leaves Shell and OnBuild alone.
    EXPECT_TRUE(got.shell.empty());
    EXPECT_TRUE(got.on_build.empty());

    Config user;
    user.user = "root";
    user.working_dir = "/app/./x/..";
    user.stop_signal = "SIGTERM";
    got = merge_image_config(user, image);
    EXPECT_EQ(got.user, "root");
    EXPECT_EQ(got.working_dir, "/app");
    EXPECT_EQ(got.stop_signal, "SIGTERM");
}

TEST(Merge, HealthcheckFieldsFillFromImage) {
    oci::ContainerConfig image;
    image.healthcheck = oci::HealthConfig{{"CMD", "curl", "-f", "localhost"}, 30, 10, 5, 1, 3};

    Config none;
    EXPECT_EQ(merge_image_config(none, image).healthcheck, image.healthcheck);

    Config partial;
    partial.healthcheck = oci::HealthConfig{};
    partial.healthcheck->interval = 60;
    auto got = merge_image_config(partial, image).healthcheck;
    ASSERT_TRUE(got);
    EXPECT_EQ(got->test, image.healthcheck->test);
    EXPECT_EQ(got->interval, 60);
    EXPECT_EQ(got->timeout, 10);
    EXPECT_EQ(got->retries, 3);

    Config disabled;
    disabled.healthcheck = oci::HealthConfig{{"NONE"}, 0, 0, 0, 0, 0};
    got = merge_image_config(disabled, image).healthcheck;
    ASSERT_TRUE(got);
    EXPECT_EQ(got->test, (Strings{"NONE"}));

    Config no_image_check;
    EXPECT_FALSE(merge_image_config(no_image_check, oci::ContainerConfig{}).healthcheck);
}

TEST(Merge, NoCommandSpecified) {
    oci::ContainerConfig empty_image;
    auto r = merge_and_verify_config(Config{}, &empty_image);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_EQ(r.error().msg, "no command specified");

    // `--entrypoint ""` on an image with only a Cmd: the Cmd is dropped too.
    oci::ContainerConfig cmd_image;
    cmd_image.cmd = {"sh"};
    Config cleared;
    cleared.entrypoint = Strings{""};
    r = merge_and_verify_config(cleared, &cmd_image);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().msg, "no command specified");

    // No image config at all (scratch-like): the user's command alone.
    Config user;
    user.cmd = Strings{"/hello"};
    r = merge_and_verify_config(user, nullptr);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->cmd, Strings{"/hello"});
    EXPECT_FALSE(merge_and_verify_config(Config{}, nullptr));
}

TEST(Defaults, Hostname) {
    const std::string id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    HostConfig bridge;
    EXPECT_EQ(default_config(Config{}, id, bridge, "myhost").hostname, "0123456789ab");
    HostConfig host;
    host.network_mode = "host";
    EXPECT_EQ(default_config(Config{}, id, host, "myhost").hostname, "myhost");
    Config named;
    named.hostname = "web";
    EXPECT_EQ(default_config(named, id, bridge, "myhost").hostname, "web");
}

TEST(Defaults, HostConfig) {
    HostConfig h = default_host_config(HostConfig{}, /*cgroup_v2=*/false);
    EXPECT_EQ(h.restart_policy.name, "no");
    EXPECT_EQ(h.network_mode, "default");
    EXPECT_EQ(h.log_config.type, "json-file");
    EXPECT_EQ(h.ipc_mode, "private");
    EXPECT_EQ(h.cgroupns_mode, "host");
    EXPECT_EQ(h.shm_size, 64 * 1024 * 1024);
    EXPECT_EQ(h.oom_kill_disable, false);
    EXPECT_EQ(h.memory_swap, 0);
    EXPECT_FALSE(h.memory_swappiness);
    EXPECT_EQ(h.isolation, "");
    EXPECT_EQ(default_host_config(HostConfig{}, true).cgroupns_mode, "private");

    HostConfig set;
    set.restart_policy.name = "always";
    set.network_mode = "host";
    set.log_config.type = "none";
    set.ipc_mode = "shareable";
    set.cgroupns_mode = "host";
    set.shm_size = 1024;
    set.memory = 64 << 20;
    set.pids_limit = 0;
    set.oom_kill_disable = true;
    h = default_host_config(set, true);
    EXPECT_EQ(h.restart_policy.name, "always");
    EXPECT_EQ(h.network_mode, "host");
    EXPECT_EQ(h.log_config.type, "none");
    EXPECT_EQ(h.ipc_mode, "shareable");
    EXPECT_EQ(h.cgroupns_mode, "host");
    EXPECT_EQ(h.shm_size, 1024);
    EXPECT_EQ(h.memory_swap, int64_t{128} << 20);  // twice Memory
    EXPECT_FALSE(h.pids_limit);                    // 0 = unlimited
    EXPECT_EQ(h.oom_kill_disable, true);

    set.pids_limit = 100;
    set.memory_swap = -1;
    h = default_host_config(set, true);
    EXPECT_EQ(h.pids_limit, 100);
    EXPECT_EQ(h.memory_swap, -1);
}

TEST(ProcessEnv, DefaultsThenConfigEnv) {
    Config c;
    EXPECT_EQ(process_env(c, "abc"),
              (Strings{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                       "HOSTNAME=abc"}));
    c.tty = true;
    c.env = {"PATH=/custom", "A=1", "TERM", "HOSTNAME=override", "A=2"};
    // PATH and HOSTNAME replaced in place, TERM removed, A appended twice (moby does not index
    // appended entries).
    EXPECT_EQ(process_env(c, "abc"), (Strings{"PATH=/custom", "HOSTNAME=override", "A=1", "A=2"}));
}

TEST(EntrypointAndArgs, AsInspectShowsThem) {
    Config c;
    EXPECT_EQ(entrypoint_and_args(c), (std::pair<std::string, Strings>{"", {}}));
    c.cmd = Strings{"nginx", "-g", "daemon off;"};
    EXPECT_EQ(entrypoint_and_args(c),
              (std::pair<std::string, Strings>{"nginx", {"-g", "daemon off;"}}));
    c.entrypoint = Strings{"/entry.sh", "--flag"};
    EXPECT_EQ(entrypoint_and_args(c), (std::pair<std::string, Strings>{
                                          "/entry.sh", {"--flag", "nginx", "-g", "daemon off;"}}));
}

}  // namespace
}  // namespace berth::container
