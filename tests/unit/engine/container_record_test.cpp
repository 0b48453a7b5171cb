// config.v2.json: the record's text, written from the settings' text kept between writes,
// reads back as the container it was written from.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "berth/container/config.hpp"
#include "containers_impl.hpp"

namespace berth::engine {
namespace {

Container sample() {
    auto req = container::parse_create_request(R"({
        "Image": "busybox", "Cmd": ["sh", "-c", "echo \"hi\""], "Env": ["A=1", "B=ü"],
        "Labels": {"com.example": "x"}, "Tty": true,
        "HostConfig": {"AutoRemove": true, "Memory": 67108864, "Binds": ["/a:/b:ro"],
                       "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}},
        "NetworkingConfig": {"EndpointsConfig": {"bridge": {"Aliases": ["web"]}}}})");
    EXPECT_TRUE(req) << req.error().what();
    Container c;
    c.id = std::string(64, 'a');
    c.name = "/web";
    c.created = 1700000000123456789;
    c.image_id = "sha256:" + std::string(64, 'b');
    c.path = "sh";
    c.args = {"-c", "echo \"hi\""};
    c.config = req->config;
    c.host_config = req->host_config;
    c.networking = req->networking_config;
    c.state.status = RunState::Running;
    c.state.pid = 4242;
    c.state.started_at = 1700000001000000000;
    c.state.has_been_started = true;
    c.restart_count = 2;
    c.log_path = "/var/lib/berth/containers/a/a-json.log";
    c.sandbox_key = "/run/berth/netns/0123456789ab";
    return c;
}

TEST(ContainerRecordTest, TextWithKeptSettingsReadsBackAsTheContainer) {
    Container c = sample();
    std::string settings = container_settings_json(c);
    std::string text = container_record_text(c, settings);
    auto j = nlohmann::json::parse(text, nullptr, false);
    ASSERT_TRUE(j.is_object()) << text;
    for (const char* k : {"Id", "Name", "State", "Config", "HostConfig", "NetworkingConfig", "SandboxKey"})
        EXPECT_TRUE(j.contains(k)) << k;

    auto back = container_from_json(text, "record");
    ASSERT_TRUE(back) << back.error().what();
    EXPECT_EQ(back->id, c.id);
    EXPECT_EQ(back->name, "/web");
    EXPECT_EQ(back->args, c.args);
    EXPECT_EQ(back->state.status, RunState::Running);
    EXPECT_EQ(back->state.pid, 4242);
    EXPECT_EQ(back->restart_count, 2);
    EXPECT_EQ(back->sandbox_key, c.sandbox_key);
    EXPECT_EQ(back->config.env, c.config.env);
    EXPECT_EQ(back->config.labels, c.config.labels);
    EXPECT_TRUE(back->config.tty);
    EXPECT_TRUE(back->host_config.auto_remove);
    EXPECT_EQ(back->host_config.restart_policy.name, "on-failure");
    EXPECT_EQ(back->host_config.restart_policy.maximum_retry_count, 3);
    EXPECT_EQ(back->host_config.binds, c.host_config.binds);
    // The whole settings come back as they went (the same text again).
    EXPECT_EQ(container_settings_json(*back), settings);
}

TEST(ContainerRecordTest, StateChangesNeedNoNewSettings) {
    Container c = sample();
    std::string settings = container_settings_json(c);
    c.state.status = RunState::Exited;
    c.state.exit_code = 3;
    c.state.pid = 0;
    auto back = container_from_json(container_record_text(c, settings), "record");
    ASSERT_TRUE(back) << back.error().what();
    EXPECT_EQ(back->state.status, RunState::Exited);
    EXPECT_EQ(back->state.exit_code, 3);
    EXPECT_EQ(back->state.pid, 0);
}

}  // namespace
}  // namespace berth::engine
