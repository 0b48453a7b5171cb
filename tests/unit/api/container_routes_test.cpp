// The container and exec routes end to end over a unix socket with a fake backend: status
// codes, bodies, version differences, streams (wait, logs, stats), hijacks (attach, exec), and
// the real docker CLI against them.

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>
#include <tuple>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "berth/api/server/routes.hpp"
#include "berth/api/server/server.hpp"
#include "berth/api/types/container.hpp"
#include "berth/common/base64.hpp"
#include "berth/oci/image_spec.hpp"
#include "fake_backends.hpp"
#include "fake_container_backend.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

namespace berth::api {
namespace {

using test::FakeContainerBackend;
using test::HttpResponse;
using test::TestClient;
using test::shell;
using json = nlohmann::json;

const std::string kJson = "Content-Type: application/json\r\n";

class ContainerRoutesTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto r = server_.start("/tmp/berth-test-croutes-XXXXXX", [&](Router& rt) {
            register_ping_routes(rt);
            register_system_routes(rt, system_);
            register_container_routes(rt, fake_);
        });
        ASSERT_TRUE(r) << r.error().what();
        dir_ = server_.dir();
        sock_ = server_.sock();
    }

    void TearDown() override {
        fake_.release();
        server_.stop();
    }

    HttpResponse req(const std::string& method, const std::string& target,
                     const std::string& body = "", const std::string& headers = "") {
        TestClient c(sock_);
        return c.request(method, target, body, headers);
    }

    static json body_json(const HttpResponse& r) { return json::parse(r.body); }

    static std::string message(const HttpResponse& r) { return test::error_message(r); }

    std::string dir_;
    std::string sock_;
    test::FakeSystemBackend system_;
    FakeContainerBackend fake_;
    test::TestServer server_;  // last: stopped before the backends go
};

// ---------------------------------------------------------------- create

TEST_F(ContainerRoutesTest, CreateAnswers201WithWarningsArray) {
    auto r =
        req("POST", "/v1.44/containers/create?name=web&platform=linux%2Famd64",
            R"({"Image":"busybox","Cmd":["sh"],"HostConfig":{"NetworkMode":"default"}})", kJson);
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    json j = body_json(r);
    EXPECT_EQ(j["Id"], FakeContainerBackend::kId);
    EXPECT_TRUE(j["Warnings"].is_array());
    EXPECT_TRUE(j["Warnings"].empty());
    EXPECT_EQ(fake_.last_create.name, "web");
    EXPECT_EQ(fake_.last_create.platform, "linux/amd64");
    EXPECT_EQ(fake_.last_create.request.config.image, "busybox");
    EXPECT_EQ(fake_.last_create.request.host_config.network_mode, "bridge");  // "default" resolved
}

TEST_F(ContainerRoutesTest, CreateVersionAdjustments) {
    // Below 1.41 the platform is ignored; below 1.25 AutoRemove is the client's job; below
    // 1.42 ConsoleSize is ignored.
    auto r =
        req("POST", "/v1.24/containers/create?platform=linux%2Farm64",
            R"({"Image":"busybox","HostConfig":{"AutoRemove":true,"ConsoleSize":[24,80]}})", kJson);
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(fake_.last_create.platform, "");
    EXPECT_FALSE(fake_.last_create.request.host_config.auto_remove);
    EXPECT_EQ(fake_.last_create.request.host_config.console_size, (std::vector<int>{0, 0}));
    r = req("POST", "/v1.44/containers/create",
            R"({"Image":"busybox","HostConfig":{"AutoRemove":true,"PidsLimit":-1}})", kJson);
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_TRUE(fake_.last_create.request.host_config.auto_remove);
    EXPECT_FALSE(fake_.last_create.request.host_config.pids_limit);  // -1 = unlimited = unset
    // Several networks only from 1.44.
    std::string two = R"({"Image":"busybox","HostConfig":{"NetworkMode":"a"},)"
                      R"("NetworkingConfig":{"EndpointsConfig":{"a":{},"b":{}}}})";
    r = req("POST", "/v1.43/containers/create", two, kJson);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(message(r), "Container cannot be created with multiple network endpoints: a, b");
    r = req("POST", "/v1.44/containers/create", two, kJson);
    EXPECT_EQ(r.status, 201) << r.body;
}

TEST_F(ContainerRoutesTest, CreateMacAddressMigratesWithWarning) {
    auto r = req("POST", "/v1.44/containers/create",
                 R"({"Image":"busybox","MacAddress":"02:42:ac:11:00:02"})", kJson);
    ASSERT_EQ(r.status, 201) << r.body;
    json j = body_json(r);
    ASSERT_EQ(j["Warnings"].size(), 1u);
    EXPECT_NE(j["Warnings"][0].get<std::string>().find("MacAddress field is now deprecated"),
              std::string::npos);
    const auto& eps = fake_.last_create.request.networking_config.endpoints_config;
    ASSERT_EQ(eps.count("bridge"), 1u);
    EXPECT_EQ(eps.at("bridge").mac_address, "02:42:ac:11:00:02");
    EXPECT_EQ(fake_.last_create.request.config.mac_address, "");
}

TEST_F(ContainerRoutesTest, CreateErrors) {
    auto r = req("POST", "/v1.44/containers/create", R"({"Image":"nosuchimage"})", kJson);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(message(r), "No such image: nosuchimage:latest");
    r = req("POST", "/v1.44/containers/create?name=taken", R"({"Image":"busybox"})", kJson);
    EXPECT_EQ(r.status, 409);
    r = req("POST", "/v1.44/containers/create", "", kJson);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(message(r), "invalid JSON: got EOF while reading request body");
    r = req("POST", "/v1.44/containers/create", "null", kJson);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(message(r), "config cannot be empty in order to create a container");
    r = req("POST", "/v1.44/containers/create", R"({"Image":"busybox"})",
            "Content-Type: text/plain\r\n");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(message(r).find("must be 'application/json'"), std::string::npos) << r.body;
    r = req("POST", "/v1.44/containers/create",
            R"({"Image":"busybox","HostConfig":{"Memory":"lots"}})", kJson);
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(message(r).find("Memory"), std::string::npos) << r.body;  // names the field
    r = req("POST", "/v1.44/containers/create", "{not json", kJson);
    EXPECT_EQ(r.status, 400);
    r = req("POST", "/v1.44/containers/create",
            R"({"Image":"busybox","HostConfig":{"Mounts":[{"Type":"bind","Source":"/a",)"
            R"("Target":"/b","VolumeOptions":{"NoCopy":true}}]}})",
            kJson);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(message(r), "VolumeOptions must not be specified on mount type \"bind\"");
}

// ---------------------------------------------------------------- lifecycle

TEST_F(ContainerRoutesTest, StartStopRestartKill) {
    auto r = req("POST", "/v1.44/containers/web/start");
    EXPECT_EQ(r.status, 204);
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(fake_.last_id, "web");
    r = req("POST", "/v1.44/containers/running/start");
    EXPECT_EQ(r.status, 304);
    r = req("POST", "/v1.44/containers/nosuch/start");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(message(r), "No such container: nosuch");
    r = req("POST", "/v1.44/containers/web/start", R"({"Binds":["/a:/b"]})", kJson);
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(message(r).find("removed in v1.24"), std::string::npos);
    r = req("POST", "/v1.44/containers/web/start", "{}", kJson);  // an empty object is fine
    EXPECT_EQ(r.status, 204);

    r = req("POST", "/v1.44/containers/web/stop?t=3&signal=HUP");
    EXPECT_EQ(r.status, 204);
    EXPECT_EQ(fake_.last_timeout, 3);
    EXPECT_EQ(fake_.last_signal, "HUP");
    r = req("POST", "/v1.41/containers/web/stop?signal=HUP");  // signal is 1.42+
    EXPECT_EQ(r.status, 204);
    EXPECT_FALSE(fake_.last_timeout);
    EXPECT_EQ(fake_.last_signal, "");
    r = req("POST", "/v1.44/containers/stopped/stop");
    EXPECT_EQ(r.status, 304);
    r = req("POST", "/v1.44/containers/web/stop?t=soon");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(message(r), "strconv.Atoi: parsing \"soon\": invalid syntax");

    r = req("POST", "/v1.44/containers/web/restart?t=0");
    EXPECT_EQ(r.status, 204);
    EXPECT_EQ(fake_.last_timeout, 0);

    r = req("POST", "/v1.44/containers/web/kill");
    EXPECT_EQ(r.status, 204);
    EXPECT_EQ(fake_.last_signal, "KILL");
    r = req("POST", "/v1.44/containers/web/kill?signal=SIGHUP");
    EXPECT_EQ(fake_.last_signal, "SIGHUP");
    r = req("POST", "/v1.44/containers/stopped/kill?signal=TERM");
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(message(r), "cannot kill container: stopped: container " + FakeContainerBackend::kId +
                              " is not running");

    r = req("POST", "/containers/web/pause");  // unversioned path too
    EXPECT_EQ(r.status, 204);
    r = req("POST", "/v1.44/containers/web/unpause");
    EXPECT_EQ(r.status, 204);
    r = req("POST", "/v1.44/containers/running/unpause");
    EXPECT_EQ(r.status, 409);
}

TEST_F(ContainerRoutesTest, DeleteRenameResizeTop) {
    auto r = req("DELETE", "/v1.44/containers/web?force=1&v=True&link=False");
    EXPECT_EQ(r.status, 204);
    EXPECT_TRUE(fake_.last_force);
    EXPECT_TRUE(fake_.last_volumes);
    EXPECT_FALSE(fake_.last_link);
    r = req("DELETE", "/v1.44/containers/running");
    EXPECT_EQ(r.status, 409);
    EXPECT_NE(message(r).find("stop the container before removing"), std::string::npos);

    r = req("POST", "/v1.44/containers/web/rename?name=db");
    EXPECT_EQ(r.status, 204);
    EXPECT_EQ(fake_.last_new_name, "db");
    r = req("POST", "/v1.44/containers/web/rename");
    EXPECT_EQ(r.status, 400);

    r = req("POST", "/v1.44/containers/web/resize?h=40&w=120");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(fake_.last_h, 40);
    EXPECT_EQ(fake_.last_w, 120);
    r = req("POST", "/v1.44/containers/web/resize?h=x&w=120");
    EXPECT_EQ(r.status, 400);
    r = req("POST", "/v1.44/containers/web/resize?w=120");
    EXPECT_EQ(r.status, 400);

    r = req("GET", "/v1.44/containers/web/top?ps_args=aux");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(fake_.last_ps_args, "aux");
    json j = body_json(r);
    EXPECT_EQ(j["Titles"][1], "PID");
    EXPECT_EQ(j["Processes"][0][1], "4242");
    r = req("GET", "/v1.44/containers/stopped/top");
    EXPECT_EQ(r.status, 409);
}

// ---------------------------------------------------------------- wait

TEST_F(ContainerRoutesTest, WaitSendsHeadersBeforeTheResult) {
    fake_.wait_mode = FakeContainerBackend::WaitMode::Block;
    fake_.wait_status = 3;
    TestClient c(sock_);
    c.send_request("POST", "/v1.44/containers/web/wait?condition=next-exit");
    auto head = c.read_head();  // must arrive while the wait is still blocked
    EXPECT_EQ(head.status, 200);
    EXPECT_TRUE(head.chunked);
    EXPECT_EQ(head.header("Content-Type"), "application/json");
    EXPECT_EQ(fake_.last_condition, WaitCondition::NextExit);
    EXPECT_EQ(fake_.waits_prepared, 1);
    fake_.release();
    // The answer and the end of the body come in one write: the client's first read after
    // the exit has both (`docker run` reads the body to its end before it exits).
    ASSERT_TRUE(c.fill());
    EXPECT_EQ(c.buffered(), "1e\r\n{\"Error\":null,\"StatusCode\":3}\n\r\n0\r\n\r\n");
    auto chunk = c.read_chunk();
    ASSERT_TRUE(chunk);
    EXPECT_EQ(*chunk, "{\"Error\":null,\"StatusCode\":3}\n");
    EXPECT_FALSE(c.read_chunk());
}

TEST_F(ContainerRoutesTest, WaitConditionsErrorsAndLegacy) {
    auto r = req("POST", "/v1.44/containers/web/wait");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(body_json(r), (json{{"StatusCode", 0}, {"Error", nullptr}}));
    EXPECT_EQ(fake_.last_condition, WaitCondition::NotRunning);
    r = req("POST", "/v1.44/containers/web/wait?condition=removed");
    EXPECT_EQ(fake_.last_condition, WaitCondition::Removed);
    r = req("POST", "/v1.44/containers/web/wait?condition=soon");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(message(r), "invalid condition: \"soon\"");
    r = req("POST", "/v1.44/containers/nosuch/wait");
    EXPECT_EQ(r.status, 404);
    fake_.wait_status = 99;  // the fake's "removal failed"
    r = req("POST", "/v1.44/containers/web/wait?condition=removed");
    EXPECT_EQ(body_json(r), (json{{"StatusCode", 99}, {"Error", {{"Message", "removal failed"}}}}));
    // Before 1.30: no condition, one whole answer.
    r = req("POST", "/v1.29/containers/web/wait?condition=soon");
    EXPECT_EQ(r.status, 200);
    EXPECT_FALSE(r.chunked);
    EXPECT_EQ(body_json(r)["StatusCode"], 99);
}

TEST_F(ContainerRoutesTest, WaitStopsWhenTheClientLeaves) {
    fake_.wait_mode = FakeContainerBackend::WaitMode::Block;
    {
        TestClient c(sock_);
        c.send_request("POST", "/v1.44/containers/web/wait?condition=next-exit");
        EXPECT_EQ(c.read_head().status, 200);
    }  // `run -d` drops its wait
    for (int i = 0; i < 200 && !fake_.saw_cancel; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(fake_.saw_cancel);
}

// ---------------------------------------------------------------- list and inspect

TEST_F(ContainerRoutesTest, ListShapeAndOptions) {
    auto r = req("GET",
                 "/v1.44/containers/json?all=1&limit=-1&size=0&trunc_cmd=0&before=abc&filters=" +
                     std::string("%7B%22label%22%3A%5B%22a%3Db%22%5D%7D"));  // {"label":["a=b"]}
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(fake_.last_list.all);
    EXPECT_EQ(fake_.last_list.limit, -1);
    EXPECT_EQ(fake_.last_list.before, "abc");
    EXPECT_EQ(fake_.last_list.filters.get("label"), (std::vector<std::string>{"a=b"}));
    json j = body_json(r);
    ASSERT_EQ(j.size(), 1u);
    const json& c = j[0];
    EXPECT_EQ(c["Id"], FakeContainerBackend::kId);
    EXPECT_EQ(c["Names"], json({"/web"}));
    EXPECT_EQ(c["Created"], 1700000000);
    EXPECT_EQ(
        c["Ports"][0],
        (json{{"IP", "0.0.0.0"}, {"PrivatePort", 80}, {"PublicPort", 8080}, {"Type", "tcp"}}));
    EXPECT_EQ(c["Ports"][1], (json{{"PrivatePort", 443}, {"Type", "tcp"}}));
    EXPECT_EQ(c["HostConfig"], (json{{"NetworkMode", "bridge"}}));
    EXPECT_EQ(c["NetworkSettings"]["Networks"]["bridge"]["IPAddress"], "172.17.0.2");
    EXPECT_TRUE(c["NetworkSettings"]["Networks"]["bridge"]["Aliases"].is_null());
    EXPECT_TRUE(c["Mounts"].is_array());
    EXPECT_FALSE(c.contains("SizeRw"));
    EXPECT_EQ(c["Status"], "Up 2 minutes");
    r = req("GET", "/v1.44/containers/json?size=1");
    EXPECT_EQ(body_json(r)[0]["SizeRw"], 12);
}

TEST_F(ContainerRoutesTest, ListFilterValidation) {
    auto get = [&](const std::string& filters_json) {
        std::string enc;
        for (unsigned char ch : filters_json) {
            char b[4];
            std::snprintf(b, sizeof b, "%%%02X", ch);
            enc += b;
        }
        return req("GET", "/v1.44/containers/json?filters=" + enc);
    };
    auto r = get(R"({"colour":{"red":true}})");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(message(r), "invalid filter 'colour'");
    r = get(R"({"status":{"sleeping":true}})");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(message(r), "invalid filter 'status=sleeping'");
    r = get(R"({"health":["sick"]})");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(message(r), "Unrecognised filter value for health: sick");
    r = get(R"({"exited":["x"]})");
    EXPECT_EQ(r.status, 400);
    r = get(R"({"is-task":["maybe"]})");
    EXPECT_EQ(r.status, 400);
    r = get(R"({"status":["running","exited","paused"],"exited":["0"],"name":["web"],)"
            R"("label":{"com.docker.compose.project=p":true},"ancestor":["busybox"]})");
    EXPECT_EQ(r.status, 200) << r.body;
    r = req("GET", "/v1.44/containers/json?limit=ten");
    EXPECT_EQ(r.status, 400);
    r = req("GET", "/v1.44/containers/json?filters=");
    EXPECT_EQ(r.status, 200);
}

TEST_F(ContainerRoutesTest, InspectShape) {
    auto r = req("GET", "/v1.44/containers/web/json");
    ASSERT_EQ(r.status, 200) << r.body;
    json j = body_json(r);
    EXPECT_EQ(j["Id"], FakeContainerBackend::kId);
    EXPECT_EQ(j["Name"], "/web");
    EXPECT_EQ(j["Created"], "2023-11-14T22:13:20.123456789Z");
    EXPECT_EQ(j["Args"], json({"-c", "sleep 100"}));
    EXPECT_EQ(j["State"]["Status"], "running");
    EXPECT_EQ(j["State"]["Pid"], 4242);
    EXPECT_EQ(j["State"]["StartedAt"], "2023-11-14T22:13:21Z");
    EXPECT_EQ(j["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
    EXPECT_FALSE(j["State"].contains("Health"));
    EXPECT_TRUE(j["ExecIDs"].is_null());
    EXPECT_EQ(j["Driver"], "overlay2");
    EXPECT_EQ(j["Platform"], "linux");
    EXPECT_EQ(j["GraphDriver"], (json{{"Name", "overlay2"}, {"Data", json::object()}}));
    EXPECT_TRUE(j["HostConfig"].is_object());
    EXPECT_EQ(j["HostConfig"]["NetworkMode"], "bridge");
    EXPECT_TRUE(j["Config"].is_object());
    EXPECT_EQ(j["Config"]["Image"], "busybox");
    EXPECT_EQ(j["Config"]["Tty"], false);
    EXPECT_TRUE(j["Mounts"].is_array());
    const json& ns = j["NetworkSettings"];
    EXPECT_EQ(ns["Ports"]["80/tcp"], json::parse(R"([{"HostIp":"0.0.0.0","HostPort":"8080"}])"));
    EXPECT_TRUE(ns["Ports"]["443/tcp"].is_null());
    EXPECT_EQ(ns["Networks"]["bridge"]["Aliases"], json({FakeContainerBackend::kId.substr(0, 12)}));
    EXPECT_FALSE(j.contains("SizeRw"));
    EXPECT_FALSE(fake_.last_size);
    r = req("GET", "/v1.44/containers/web/json?size=1");
    j = body_json(r);
    EXPECT_TRUE(fake_.last_size);
    EXPECT_EQ(j["SizeRw"], 12);
    EXPECT_EQ(j["SizeRootFs"], 4096);
    r = req("GET", "/v1.44/containers/nosuch/json");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    EXPECT_EQ(message(r), "No such container: nosuch");
}

// ---------------------------------------------------------------- attach

TEST_F(ContainerRoutesTest, AttachHijacksWithMultiplexedFrames) {
    TestClient c(sock_);
    c.send_raw(
        "POST /v1.44/containers/web/attach?stream=1&stdin=1&stdout=1&stderr=1&detachKeys=ctrl-x "
        "HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n");
    auto head = c.read_head();
    EXPECT_EQ(head.status_line, "HTTP/1.1 101 UPGRADED");
    EXPECT_EQ(head.header("Content-Type"), "application/vnd.docker.multiplexed-stream");
    EXPECT_TRUE(fake_.last_attach.stream && fake_.last_attach.stdin_ && fake_.last_attach.stdout_ &&
                fake_.last_attach.stderr_);
    EXPECT_FALSE(fake_.last_attach.logs);
    EXPECT_EQ(fake_.last_attach.detach_keys, "ctrl-x");
    c.send_raw("hi\n");
    EXPECT_EQ(c.read_exact(8), mux_header(MuxStream::Stdout, 3));
    EXPECT_EQ(c.read_exact(3), "hi\n");
    ::shutdown(c.fd(), SHUT_WR);  // stdin EOF; output continues
    EXPECT_EQ(c.read_exact(8), mux_header(MuxStream::Stderr, 3));
    EXPECT_EQ(c.read_exact(3), "bye");
    EXPECT_EQ(c.read_to_eof(), "");
}

TEST_F(ContainerRoutesTest, AttachTtyIsRawAndErrorsComeBeforeTheHijack) {
    fake_.tty = true;
    {
        TestClient c(sock_);
        c.send_raw(
            "POST /v1.44/containers/web/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: x\r\n"
            "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n");
        auto head = c.read_head();
        EXPECT_EQ(head.status, 101);
        EXPECT_EQ(head.header("Content-Type"), "application/vnd.docker.raw-stream");
        c.send_raw("ls\r");
        EXPECT_EQ(c.read_exact(3), "ls\r");
        ::shutdown(c.fd(), SHUT_WR);
        EXPECT_EQ(c.read_to_eof(), "bye");
    }
    auto r = req("POST", "/v1.44/containers/stopped/attach?stream=1&stdout=1", "",
                 "Connection: Upgrade\r\nUpgrade: tcp\r\n");
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(message(r), "You cannot attach to a stopped container, start it first");
    r = req("POST", "/v1.44/containers/nosuch/attach?stream=1&stdout=1", "",
            "Connection: Upgrade\r\nUpgrade: tcp\r\n");
    EXPECT_EQ(r.status, 404);
    r = req("GET", "/v1.44/containers/web/attach/ws");
    EXPECT_EQ(r.status, 501);
}

// ---------------------------------------------------------------- logs

TEST_F(ContainerRoutesTest, LogsFramesAndTimestamps) {
    auto r = req("GET", "/v1.44/containers/web/logs?stdout=1&stderr=1&timestamps=1&tail=all");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.chunked);
    EXPECT_EQ(r.header("Content-Type"), "application/vnd.docker.multiplexed-stream");
    std::string l1 = "2023-11-14T22:13:20.500000000Z hello\n";
    std::string l2 = "2023-11-14T22:13:21.000000000Z oops\n";
    EXPECT_EQ(r.body, mux_header(MuxStream::Stdout, static_cast<uint32_t>(l1.size())) + l1 +
                          mux_header(MuxStream::Stderr, static_cast<uint32_t>(l2.size())) + l2);
    EXPECT_EQ(fake_.last_logs.tail, -1);
    EXPECT_TRUE(fake_.last_logs.timestamps);
    EXPECT_FALSE(fake_.last_logs.follow);

    // Only stdout; details; tail N; since/until as the CLI (sec.nanos) and docker-py (int) send.
    r = req("GET",
            "/v1.44/containers/web/logs?stdout=1&details=1&tail=5&since=1700000000.5&until="
            "1700000100");
    EXPECT_EQ(r.body, mux_header(MuxStream::Stdout, 14) + "tag=web hello\n");
    EXPECT_EQ(fake_.last_logs.tail, 5);
    EXPECT_EQ(fake_.last_logs.since_ns, 1'700'000'000'500'000'000);
    EXPECT_EQ(fake_.last_logs.until_ns, 1'700'000'100'000'000'000);
    r = req("GET", "/v1.44/containers/web/logs?stderr=1&since=0&tail=bogus");
    EXPECT_FALSE(fake_.last_logs.since_ns);
    EXPECT_EQ(fake_.last_logs.tail, -1);

    // Below 1.42 the media type is always raw-stream (the frames are still there).
    r = req("GET", "/v1.41/containers/web/logs?stdout=1");
    EXPECT_EQ(r.header("Content-Type"), "application/vnd.docker.raw-stream");
    EXPECT_EQ(r.body.substr(0, 8), mux_header(MuxStream::Stdout, 6));

    fake_.tty = true;
    r = req("GET", "/v1.44/containers/web/logs?stdout=1&stderr=1");
    EXPECT_EQ(r.header("Content-Type"), "application/vnd.docker.raw-stream");
    EXPECT_EQ(r.body, "hello\noops\n");
}

TEST_F(ContainerRoutesTest, LogsErrors) {
    auto r = req("GET", "/v1.44/containers/web/logs");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(message(r), "Bad parameters: you must choose at least one stream");
    r = req("GET", "/v1.44/containers/nosuch/logs?stdout=1");
    EXPECT_EQ(r.status, 404);
    r = req("GET", "/v1.44/containers/web/logs?stdout=1&since=yesterday");
    EXPECT_EQ(r.status, 400);
    // An error after the stream began goes in band on the system-error stream (3).
    fake_.logs_fail = true;
    r = req("GET", "/v1.44/containers/web/logs?stdout=1");
    EXPECT_EQ(r.status, 200);
    std::string err = "Error grabbing logs: log file is corrupt\n";
    EXPECT_EQ(r.body, mux_header(MuxStream::Stdout, 6) + "hello\n" +
                          mux_header(static_cast<MuxStream>(3), static_cast<uint32_t>(err.size())) +
                          err);
}

TEST_F(ContainerRoutesTest, LogsFollowSendsHeadersAtOnceAndStopsWhenTheClientLeaves) {
    fake_.follow_blocks = true;
    {
        TestClient c(sock_);
        c.send_request("GET", "/v1.44/containers/web/logs?stdout=1&follow=1");
        auto head = c.read_head();
        EXPECT_EQ(head.status, 200);
        EXPECT_TRUE(head.chunked);
        EXPECT_TRUE(fake_.last_logs.follow);
    }
    for (int i = 0; i < 200 && !fake_.saw_cancel; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(fake_.saw_cancel);
}

// ---------------------------------------------------------------- the rest

TEST_F(ContainerRoutesTest, UpdateStatsExportChangesPrune) {
    auto r = req("POST", "/v1.44/containers/web/update",
                 R"({"Memory":67108864,"PidsLimit":-1,"RestartPolicy":{"Name":"always"}})", kJson);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(body_json(r), (json{{"Warnings", json::array()}}));
    EXPECT_EQ(fake_.last_update.memory, 67108864);
    EXPECT_EQ(fake_.last_update.pids_limit, 0);  // -1 and 0: unlimited
    EXPECT_EQ(fake_.last_update.restart_policy.name, "always");
    r = req("POST", "/v1.44/containers/web/update", R"({"Memory":"big"})", kJson);
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(message(r).find("Memory"), std::string::npos) << r.body;
    r = req("POST", "/v1.44/containers/web/update", "[1]", kJson);
    EXPECT_EQ(r.status, 400);

    r = req("GET", "/v1.44/containers/web/stats?stream=0");
    ASSERT_EQ(r.status, 200);
    EXPECT_FALSE(r.chunked);
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    EXPECT_EQ(body_json(r)["name"], "/web");
    EXPECT_FALSE(fake_.last_stats.stream);
    r = req("GET", "/v1.44/containers/web/stats?stream=false&one-shot=1");
    EXPECT_TRUE(fake_.last_stats.one_shot);
    r = req("GET", "/v1.40/containers/web/stats?stream=false&one-shot=1");
    EXPECT_FALSE(fake_.last_stats.one_shot);  // 1.41+
    {
        TestClient c(sock_);
        c.send_request("GET", "/v1.44/containers/web/stats");
        auto head = c.read_head();
        EXPECT_TRUE(head.chunked);
        EXPECT_TRUE(fake_.last_stats.stream);
        for (int i = 0; i < 3; ++i) {
            auto chunk = c.read_chunk();
            ASSERT_TRUE(chunk);
            EXPECT_EQ(json::parse(*chunk)["n"], i);
        }
    }
    r = req("GET", "/v1.44/containers/nosuch/stats");
    EXPECT_EQ(r.status, 404);

    r = req("GET", "/v1.44/containers/web/export");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Type"), "application/x-tar");
    EXPECT_EQ(r.body, std::string(512, 'T') + std::string(512, 'U'));
    r = req("GET", "/v1.44/containers/nosuch/export");
    EXPECT_EQ(r.status, 404);

    r = req("GET", "/v1.44/containers/web/changes");
    EXPECT_EQ(body_json(r), json::parse(R"([{"Path":"/tmp","Kind":0},{"Path":"/tmp/new",)"
                                        R"("Kind":1},{"Path":"/etc/x","Kind":2}])"));

    r = req("POST", "/v1.44/containers/prune?filters=%7B%22until%22%3A%5B%2210m%22%5D%7D");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(body_json(r),
              (json{{"ContainersDeleted", {FakeContainerBackend::kId}}, {"SpaceReclaimed", 2048}}));
    EXPECT_EQ(fake_.last_prune.get("until"), (std::vector<std::string>{"10m"}));
    r = req("POST", "/v1.44/containers/prune?filters=%7B%22status%22%3A%5B%22x%22%5D%7D");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(message(r), "invalid filter 'status'");
}

TEST_F(ContainerRoutesTest, ArchiveHeadGetPut) {
    auto r = req("HEAD", "/v1.44/containers/web/archive?path=%2Fetc%2Fhostname");
    ASSERT_EQ(r.status, 200);
    auto stat_header = r.header("X-Docker-Container-Path-Stat");
    ASSERT_TRUE(stat_header);
    auto decoded = berth::base64_decode(*stat_header);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(json::parse(*decoded), (json{{"name", "hostname"},
                                           {"size", 5},
                                           {"mode", 0644},
                                           {"mtime", "2023-11-14T22:13:20Z"},
                                           {"linkTarget", ""}}));
    r = req("GET", "/v1.44/containers/web/archive?path=/etc/hostname");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Type"), "application/x-tar");
    EXPECT_EQ(r.header("X-Docker-Container-Path-Stat"), stat_header);
    EXPECT_EQ(r.body, "TARBYTES");
    r = req("GET", "/v1.44/containers/web/archive?path=/missing");
    EXPECT_EQ(r.status, 404);
    r = req("GET", "/v1.44/containers/web/archive");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(message(r), "bad parameter: path cannot be empty");
    r = req("PUT", "/v1.44/containers/web/archive?path=/tmp&noOverwriteDirNonDir=true&copyUIDGID=1",
            "tar-data", "Content-Type: application/x-tar\r\n");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(fake_.last_path, "/tmp");
    EXPECT_TRUE(fake_.last_no_overwrite);
    EXPECT_TRUE(fake_.last_copy_uid_gid);
    EXPECT_EQ(fake_.put_body, "tar-data");
    r = req("PUT", "/v1.44/containers/web/archive?path=/etc/hostname", "x");
    EXPECT_EQ(r.status, 400);
}

TEST(GoFileMode, MatchesGoOsFileMode) {
    using types::go_file_mode;
    EXPECT_EQ(go_file_mode(S_IFREG | 0644), 0644u);
    EXPECT_EQ(go_file_mode(S_IFDIR | 0755), (1u << 31) | 0755u);
    EXPECT_EQ(go_file_mode(S_IFLNK | 0777), (1u << 27) | 0777u);
    EXPECT_EQ(go_file_mode(S_IFCHR | 0666), (1u << 26) | (1u << 21) | 0666u);
    EXPECT_EQ(go_file_mode(S_IFBLK | 0660), (1u << 26) | 0660u);
    EXPECT_EQ(go_file_mode(S_IFIFO | 0600), (1u << 25) | 0600u);
    EXPECT_EQ(go_file_mode(S_IFSOCK | 0755), (1u << 24) | 0755u);
    EXPECT_EQ(go_file_mode(S_IFREG | S_ISUID | 0755), (1u << 23) | 0755u);
    EXPECT_EQ(go_file_mode(S_IFREG | S_ISGID | 0755), (1u << 22) | 0755u);
    EXPECT_EQ(go_file_mode(S_IFDIR | S_ISVTX | 0777), (1u << 31) | (1u << 20) | 0777u);
    for (mode_t m :
         {S_IFREG | 0644, S_IFDIR | S_ISVTX | 01777, S_IFLNK | 0777, S_IFCHR | 0620, S_IFBLK | 0600,
          S_IFIFO | 0600, S_IFSOCK | 0700, S_IFREG | S_ISUID | 04755, S_IFREG | S_ISGID | 02755})
        EXPECT_EQ(types::st_mode_from_go(go_file_mode(m)), m) << std::oct << m;
}

TEST(ContainerTypes, ZeroTimesAndExecInspect) {
    EXPECT_EQ(types::go_time_string(0), "0001-01-01T00:00:00Z");
    types::ExecInspect e;
    e.id = "x";
    json j = e;
    EXPECT_TRUE(j["ExitCode"].is_null());
    EXPECT_TRUE(j["DetachKeys"].is_null());
    EXPECT_FALSE(j["ProcessConfig"].contains("privileged"));
    e.exit_code = 0;
    e.detach_keys = std::string("\x10\x11", 2);
    j = e;
    EXPECT_EQ(j["ExitCode"], 0);
    EXPECT_EQ(j["DetachKeys"], "EBE=");
    types::WaitResponse w;
    EXPECT_EQ(json(w).dump(), R"({"Error":null,"StatusCode":0})");
    types::ContainerInspect c;
    j = c;
    EXPECT_TRUE(j["NetworkSettings"]["Networks"].is_object());
    EXPECT_TRUE(j["NetworkSettings"]["Ports"].is_object());
    EXPECT_TRUE(j["State"].is_object());
    EXPECT_EQ(j["Args"], json::array());
}

// ---------------------------------------------------------------- exec

TEST_F(ContainerRoutesTest, ExecCreate) {
    auto r = req("POST", "/v1.44/containers/web/exec",
                 R"({"User":"nobody","Privileged":false,"Tty":true,"ConsoleSize":[24,80],)"
                 R"("AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"Detach":false,)"
                 R"("DetachKeys":"ctrl-x","Env":["A=1"],"WorkingDir":"/tmp","Cmd":["sh"]})",
                 kJson);
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(body_json(r), (json{{"Id", FakeContainerBackend::kExecId}}));
    const auto& p = fake_.last_exec_create;
    EXPECT_EQ(p.cmd, (std::vector<std::string>{"sh"}));
    EXPECT_EQ(p.env, (std::vector<std::string>{"A=1"}));
    EXPECT_EQ(p.user, "nobody");
    EXPECT_EQ(p.working_dir, "/tmp");
    EXPECT_EQ(p.detach_keys, "ctrl-x");
    EXPECT_TRUE(p.tty && p.attach_stdin && p.attach_stdout && p.attach_stderr);
    EXPECT_EQ(p.console_size, (std::vector<int>{24, 80}));
    r = req("POST", "/v1.41/containers/web/exec", R"({"Cmd":["sh"],"ConsoleSize":[24,80]})", kJson);
    EXPECT_EQ(r.status, 201);
    EXPECT_TRUE(fake_.last_exec_create.console_size.empty());

    r = req("POST", "/v1.44/containers/web/exec", R"({"Cmd":[]})", kJson);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(message(r), "No exec command specified");
    r = req("POST", "/v1.44/containers/web/exec", "", kJson);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(message(r), "No exec command specified");
    r = req("POST", "/v1.44/containers/web/exec", R"({"Cmd":["sh"],"Tty":"yes"})", kJson);
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(message(r).find("Tty"), std::string::npos) << r.body;
    r = req("POST", "/v1.44/containers/web/exec", R"({"Cmd":["sh",1]})", kJson);
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(message(r).find("Cmd[1]"), std::string::npos) << r.body;
    r = req("POST", "/v1.44/containers/stopped/exec", R"({"Cmd":["sh"]})", kJson);
    EXPECT_EQ(r.status, 409);
    r = req("POST", "/v1.44/containers/nosuch/exec", R"({"Cmd":["sh"]})", kJson);
    EXPECT_EQ(r.status, 404);
}

TEST_F(ContainerRoutesTest, ExecStartDetachedAndHijacked) {
    const std::string start = "/v1.44/exec/" + FakeContainerBackend::kExecId + "/start";
    auto r = req("POST", start, R"({"Detach":true,"Tty":false})", kJson);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "");
    EXPECT_TRUE(fake_.last_exec_start.detach);
    r = req("POST", "/v1.44/exec/nosuch/start", R"({"Detach":true})", kJson);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(message(r), "No such exec instance: nosuch");

    {
        TestClient c(sock_);
        std::string body = R"({"Detach":false,"Tty":false,"ConsoleSize":[24,80]})";
        c.send_raw("POST " + start +
                   " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n" + kJson +
                   "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body + "abc");
        auto head = c.read_head();
        EXPECT_EQ(head.status, 101);
        EXPECT_EQ(head.header("Content-Type"), "application/vnd.docker.multiplexed-stream");
        EXPECT_TRUE(fake_.last_exec_start.console_size.empty());  // no TTY: no size
        EXPECT_EQ(c.read_exact(8), mux_header(MuxStream::Stdout, 3));
        EXPECT_EQ(c.read_exact(3), "abc");
        ::shutdown(c.fd(), SHUT_WR);
        EXPECT_EQ(c.read_exact(8), mux_header(MuxStream::Stderr, 3));
        EXPECT_EQ(c.read_exact(3), "bye");
        EXPECT_EQ(c.read_to_eof(), "");
    }
    {
        // A start failure after the hijack is written into the stream, as moby does.
        fake_.exec_fails = true;
        TestClient c(sock_);
        std::string body = R"({"Tty":true,"ConsoleSize":[24,80]})";
        c.send_raw("POST " + start + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n" +
                   "Upgrade: tcp\r\n" + kJson + "Content-Length: " + std::to_string(body.size()) +
                   "\r\n\r\n" + body);
        auto head = c.read_head();
        EXPECT_EQ(head.header("Content-Type"), "application/vnd.docker.raw-stream");
        EXPECT_EQ(fake_.last_exec_start.console_size, (std::vector<int>{24, 80}));
        EXPECT_EQ(c.read_to_eof(), "exec failed: executable file not found\r\n");
    }
}

TEST_F(ContainerRoutesTest, ExecResizeAndInspect) {
    const std::string base = "/v1.44/exec/" + FakeContainerBackend::kExecId;
    auto r = req("POST", base + "/resize?h=24&w=80");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(fake_.last_h, 24);
    r = req("POST", base + "/resize?h=24&w=wide");
    EXPECT_EQ(r.status, 400);
    r = req("POST", "/v1.44/exec/nosuch/resize?h=1&w=1");
    EXPECT_EQ(r.status, 404);
    fake_.exec_exit_code = 7;
    r = req("GET", base + "/json");
    ASSERT_EQ(r.status, 200);
    json j = body_json(r);
    EXPECT_EQ(j["ID"], FakeContainerBackend::kExecId);
    EXPECT_EQ(j["ContainerID"], FakeContainerBackend::kId);
    EXPECT_EQ(j["ExitCode"], 7);
    EXPECT_EQ(j["Running"], false);
    EXPECT_EQ(
        j["ProcessConfig"],
        (json{
            {"tty", false}, {"entrypoint", "echo"}, {"arguments", {"hi"}}, {"privileged", false}}));
    r = req("GET", "/v1.44/exec/nosuch/json");
    EXPECT_EQ(r.status, 404);
}

// ---------------------------------------------------------------- the real docker CLI

TEST_F(ContainerRoutesTest, DockerCliContainerCommands) {
    if (std::system("command -v docker >/dev/null 2>&1") != 0) GTEST_SKIP() << "no docker CLI";
    const std::string docker =
        "DOCKER_HOST=unix://" + sock_ + " DOCKER_CONFIG=" + dir_ + " timeout 20 docker ";
    const std::string short_id = FakeContainerBackend::kId.substr(0, 12);

    auto [rc, out] = shell(docker + "ps --format '{{.ID}} {{.Names}} {{.Status}} {{.Ports}}'");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, short_id + " web Up 2 minutes 443/tcp, 0.0.0.0:8080->80/tcp\n");
    std::tie(rc, out) = shell(docker + "ps -a --filter status=sleeping");
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("invalid filter 'status=sleeping'"), std::string::npos) << out;
    std::tie(rc, out) =
        shell(docker + "inspect --format '{{.State.Status}} {{.Name}} {{.Config.Image}}' web");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "running /web busybox\n");
    std::tie(rc, out) = shell(docker + "port web");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "80/tcp -> 0.0.0.0:8080\n");
    std::tie(rc, out) = shell(docker + "container inspect nosuch");
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("No such container: nosuch"), std::string::npos) << out;

    fake_.wait_status = 5;
    std::tie(rc, out) = shell(docker + "wait web");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "5\n");
    fake_.wait_status = 0;

    std::tie(rc, out) = shell(docker + "logs -t web");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("2023-11-14T22:13:20.500000000Z hello\n"), std::string::npos) << out;
    EXPECT_NE(out.find("2023-11-14T22:13:21.000000000Z oops\n"), std::string::npos) << out;

    std::tie(rc, out) =
        shell(docker + "stop -t 3 web && " + docker + "start web && " + docker + "restart web && " +
              docker + "kill -s HUP web && " + docker + "pause web && " + docker +
              "unpause web && " + docker + "rename web db && " + docker + "rm -f web");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_TRUE(fake_.last_force);
    std::tie(rc, out) = shell(docker + "stop stopped");  // 304 is success for the CLI
    EXPECT_EQ(rc, 0) << out;
    std::tie(rc, out) = shell(docker + "top web");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("sleep 100"), std::string::npos) << out;
    std::tie(rc, out) = shell(docker + "diff web");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "C /tmp\nA /tmp/new\nD /etc/x\n");
    std::tie(rc, out) = shell(docker + "container prune -f");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find(FakeContainerBackend::kId), std::string::npos) << out;
    std::tie(rc, out) = shell(docker + "stats --no-stream --format '{{.Name}}' web");
    EXPECT_EQ(rc, 0) << out;

    // run -d: create -> wait -> start -> the ID.
    std::tie(rc, out) = shell(docker + "run -d --name web busybox sleep 100");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, FakeContainerBackend::kId + "\n");
    EXPECT_EQ(fake_.last_create.name, "web");
    EXPECT_EQ(fake_.last_create.request.config.cmd, (std::vector<std::string>{"sleep", "100"}));
    // run attached: create -> attach (hijack) -> wait -> start; output, then the exit status.
    fake_.attach_output = "hi from busybox\n";
    fake_.wait_mode = FakeContainerBackend::WaitMode::AfterStart;
    fake_.wait_status = 3;
    std::tie(rc, out) = shell(docker + "run busybox echo hi");
    EXPECT_EQ(rc, 3) << out;
    EXPECT_EQ(out, "hi from busybox\n");
    fake_.wait_status = 0;
    std::tie(rc, out) = shell(docker + "run --rm nosuchimage");
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("Unable to find image 'nosuchimage:latest' locally"), std::string::npos)
        << out;

    // exec: create -> start (hijack) -> inspect for the exit code.
    fake_.exec_output = "hi from exec\n";
    fake_.exec_exit_code = 4;
    std::tie(rc, out) = shell(docker + "exec web echo hi");
    EXPECT_EQ(rc, 4) << out;
    EXPECT_EQ(out, "hi from exec\n");
    EXPECT_EQ(fake_.last_exec_create.cmd, (std::vector<std::string>{"echo", "hi"}));
    std::tie(rc, out) = shell(docker + "exec -d web sleep 1");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_TRUE(fake_.last_exec_start.detach);

    // cp both ways.
    std::string local = dir_ + "/cp-src";
    std::filesystem::create_directories(local);
    std::tie(rc, out) = shell(docker + "cp " + local + " web:/tmp");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(fake_.last_path, "/tmp");
    std::tie(rc, out) = shell(docker + "cp web:/etc/hostname -");  // the tar as it comes
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "TARBYTES");
    std::tie(rc, out) = shell(docker + "cp web:/missing " + dir_);
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("Could not find the file /missing"), std::string::npos) << out;
}

// docker-py (Debian's python3-docker) over the same routes: list + inspect, run (create,
// start, inspect, logs follow, wait), exec_run (hijacked exec, then inspect for the exit code).
TEST_F(ContainerRoutesTest, DockerPyContainerCommands) {
    if (std::system("python3 -c 'import docker' >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "no docker-py";
    fake_.exec_output = "hi from exec\n";
    fake_.exec_exit_code = 2;
    std::string script = dir_ + "/t.py";
    std::FILE* f = std::fopen(script.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(
        "import docker, sys\n"
        "c = docker.DockerClient(base_url='unix://' + sys.argv[1], timeout=20)\n"
        "print([x.name for x in c.containers.list()])\n"
        "print(repr(c.containers.run('busybox', 'echo hi')))\n"
        "ct = c.containers.get('web')\n"
        "print(ct.status, ct.attrs['Config']['Image'], ct.attrs['HostConfig']['NetworkMode'])\n"
        "r = ct.exec_run('echo hi')\n"
        "print(r.exit_code, repr(r.output))\n"
        "print(ct.wait()['StatusCode'])\n"
        "print(repr(ct.logs(stdout=True, stderr=True)))\n"
        "try:\n"
        "    c.containers.get('nosuch')\n"
        "except docker.errors.NotFound as e:\n"
        "    print('NotFound', e.explanation)\n",
        f);
    std::fclose(f);
    auto [rc, out] = shell("timeout 60 python3 " + script + " " + sock_);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out,
              "['web']\n"
              "b'hello\\n'\n"
              "running busybox bridge\n"
              "2 b'hi from exec\\n'\n"
              "0\n"
              "b'hello\\noops\\n'\n"
              "NotFound No such container: nosuch\n");
}

}  // namespace
}  // namespace berth::api
