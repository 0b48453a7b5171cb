// The API server end to end over a unix socket in a temp dir, with fake backends: status
// codes, headers, bodies, streaming, hijack.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>
#include <tuple>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "berth/api/server/query.hpp"
#include "berth/api/server/routes.hpp"
#include "berth/api/server/server.hpp"
#include "berth/common/time.hpp"
#include "fake_backends.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

namespace berth::api {
namespace {

using test::HttpResponse;
using test::TestClient;
using test::shell;
using json = nlohmann::json;

std::string url_encode(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            char b[4];
            std::snprintf(b, sizeof b, "%%%02X", c);
            out += b;
        }
    }
    return out;
}

// Test-only routes: a hijacked echo (what attach/exec will do) and a stream the test releases.
void add_test_routes(Router& r, std::atomic<bool>& release) {
    r.add("POST", "/test/echo", [](Request& req, ResponseWriter& rw) -> Result<void> {
        bool mux = req.query.get("tty") != "1";
        HijackedStream* s = BERTH_TRY(rw.hijack(mux));
        char buf[4096];
        for (;;) {
            size_t n = BERTH_TRY(s->read(std::span<char>(buf, sizeof buf)));
            if (n == 0) break;  // the client half-closed: stdin EOF
            std::string_view data(buf, n);
            if (mux)
                BERTH_TRY(write_mux_frame(*s, MuxStream::Stdout, data));
            else
                BERTH_TRY(s->write(data));
        }
        if (mux)
            BERTH_TRY(write_mux_frame(*s, MuxStream::Stderr, "bye"));
        else
            BERTH_TRY(s->write("bye"));
        return {};
    });
    r.add("POST", "/test/json", [](Request& req, ResponseWriter& rw) -> Result<void> {
        json j = BERTH_TRY(req.json_body(req.query.get_bool("allow_empty")));
        return rw.send_json(200, json{{"got", j}});
    });
    r.add("GET", "/test/slow", [&release](Request&, ResponseWriter& rw) -> Result<void> {
        StreamWriter* s = BERTH_TRY(rw.start_stream(200, "text/plain"));
        BERTH_TRY(s->write("first\n"));
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        BERTH_TRY(s->write("second\n"));
        return {};
    });
}

class ApiServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto r = server_.start("/tmp/berth-test-api-XXXXXX", [&](Router& rt) {
            register_ping_routes(rt);
            register_system_routes(rt, system_);
            register_image_routes(rt, images_);
            add_test_routes(rt, release_);
        }, "run/berth.sock");
        ASSERT_TRUE(r) << r.error().what();
        dir_ = server_.dir();
        sock_ = server_.sock();
    }

    void TearDown() override {
        release_ = true;
        server_.stop();
    }

    void expect_standard_headers(const HttpResponse& r) {
        EXPECT_EQ(r.header("Api-Version"), "1.44") << r.status_line;
        EXPECT_EQ(r.header("Ostype"), "linux");
        EXPECT_EQ(r.header("Server"), "Docker/0.1.0 (linux)");
        EXPECT_EQ(r.header("Docker-Experimental"), "false");
    }

    json body_json(const HttpResponse& r) { return json::parse(r.body); }

    std::string dir_;
    std::string sock_;
    test::FakeSystemBackend system_;
    test::FakeImageBackend images_;
    std::atomic<bool> release_{false};
    test::TestServer server_;  // last: stopped before the backends go
};

TEST_F(ApiServerTest, PingGetAndHeadOnOneConnection) {
    TestClient c(sock_);
    auto head = c.request("HEAD", "/_ping");
    EXPECT_EQ(head.status, 200);
    expect_standard_headers(head);
    EXPECT_EQ(head.header("Swarm"), "inactive");
    EXPECT_FALSE(head.header("Builder-Version"));
    EXPECT_TRUE(c.buffered().empty());      // no body after a HEAD answer
    auto get = c.request("GET", "/_ping");  // keep-alive: same connection
    EXPECT_EQ(get.status, 200);
    EXPECT_EQ(get.body, "OK");
    EXPECT_EQ(get.header("Pragma"), "no-cache");
    EXPECT_NE(get.header("Cache-Control")->find("no-cache"), std::string::npos);
    expect_standard_headers(get);
    auto v = c.request("GET", "/v1.44/_ping");
    EXPECT_EQ(v.status, 200);
}

TEST_F(ApiServerTest, VersionNegotiation) {
    TestClient c(sock_);
    for (const char* path : {"/version", "/v1.24/version", "/v1.44/version", "/v1.30/version"}) {
        auto r = c.request("GET", path);
        EXPECT_EQ(r.status, 200) << path;
        EXPECT_EQ(r.header("Content-Type"), "application/json");
        auto j = body_json(r);
        EXPECT_EQ(j["ApiVersion"], "1.44");
        EXPECT_EQ(j["MinAPIVersion"], "1.24");
        EXPECT_EQ(j["Version"], "0.1.0");
        EXPECT_EQ(j["KernelVersion"], "6.1.0-test");
    }
    auto old = c.request("GET", "/v1.12/version");
    EXPECT_EQ(old.status, 400);
    expect_standard_headers(old);
    EXPECT_EQ(old.header("Content-Type"), "application/json");
    EXPECT_EQ(body_json(old)["message"],
              "client version 1.12 is too old. Minimum supported API version is 1.24, please "
              "upgrade your client to a newer version");
    auto too_new = c.request("GET", "/v1.45/version");
    EXPECT_EQ(too_new.status, 400);
    EXPECT_EQ(body_json(too_new)["message"],
              "client version 1.45 is too new. Maximum supported API version is 1.44");
    EXPECT_EQ(c.request("GET", "/v1.99/info").status, 400);
}

TEST_F(ApiServerTest, UnknownPathOrMethodIs404PageNotFound) {
    TestClient c(sock_);
    for (auto [method, path] :
         std::vector<std::pair<std::string, std::string>>{{"GET", "/nope"},
                                                          {"GET", "/v1.44/nope"},
                                                          {"DELETE", "/version"},
                                                          {"POST", "/v1.44/images/json"},
                                                          {"GET", "/v1.12/nope"}}) {
        auto r = c.request(method, path);
        EXPECT_EQ(r.status, 404) << method << " " << path;
        EXPECT_EQ(r.header("Content-Type"), "application/json");
        EXPECT_EQ(body_json(r)["message"], "page not found");
        expect_standard_headers(r);
    }
    EXPECT_EQ(c.request("HEAD", "/version").status, 200);  // HEAD works where GET does
}

TEST_F(ApiServerTest, ErrorsMapToStatusWithJsonMessage) {
    TestClient c(sock_);
    auto nf = c.request("GET", "/v1.44/images/nosuch:latest/json");
    EXPECT_EQ(nf.status, 404);
    EXPECT_EQ(nf.header("Content-Type"), "application/json");
    EXPECT_EQ(body_json(nf)["message"], "No such image: nosuch:latest");
    expect_standard_headers(nf);
    auto conflict = c.request("DELETE", "/v1.44/images/inuse");
    EXPECT_EQ(conflict.status, 409);
    EXPECT_NE(body_json(conflict)["message"].get<std::string>().find("must be forced"),
              std::string::npos);
    auto tag_nf = c.request("POST", "/images/nosuch/tag?repo=x&tag=1");
    EXPECT_EQ(tag_nf.status, 404);
    auto tag_bad = c.request("POST", "/images/busybox/tag");
    EXPECT_EQ(tag_bad.status, 400);
}

TEST_F(ApiServerTest, ImageNamesWithSlashesColonsAndDigests) {
    TestClient c(sock_);
    auto r = c.request("GET", "/v1.44/images/localhost:5000/a/b:1/json");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(images_.last_name, "localhost:5000/a/b:1");
    auto j = body_json(r);
    EXPECT_TRUE(j["ContainerConfig"].is_object());
    EXPECT_FALSE(j.contains("VirtualSize"));
    EXPECT_EQ(j["Config"]["Cmd"][0], "sh");
    r = c.request("GET", "/images/busybox@sha256:" + std::string(64, 'f') + "/history");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(images_.last_name, "busybox@sha256:" + std::string(64, 'f'));
    EXPECT_EQ(body_json(r)[1]["Id"], "<missing>");
    r = c.request("GET", "/v1.43/images/sha256:" + std::string(64, 'a') + "/json");
    EXPECT_EQ(images_.last_name, "sha256:" + std::string(64, 'a'));
    EXPECT_EQ(body_json(r)["VirtualSize"], 4096);  // still there below 1.44
}

TEST_F(ApiServerTest, ImageListFiltersBothEncodings) {
    TestClient c(sock_);
    auto r =
        c.request("GET", "/images/json?all=1&filters=" +
                             url_encode(R"({"label":{"a=b":true},"dangling":{"false":true}})"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(images_.last_list.all);
    EXPECT_EQ(images_.last_list.filters.get("label"), (std::vector<std::string>{"a=b"}));
    EXPECT_EQ(images_.last_list.filters.get("dangling"), (std::vector<std::string>{"false"}));
    auto j = body_json(r);
    ASSERT_EQ(j.size(), 2u);
    EXPECT_EQ(j[0]["RepoTags"][0], "busybox:latest");
    EXPECT_TRUE(j[1]["RepoTags"].is_array());
    EXPECT_FALSE(j[0].contains("VirtualSize"));

    r = c.request("GET", "/images/json?filters=" + url_encode(R"({"label":["x=y","z"]})"));
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(images_.last_list.filters.get("label"), (std::vector<std::string>{"x=y", "z"}));
    EXPECT_FALSE(images_.last_list.all);

    r = c.request("GET", "/images/json?filters=");
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(images_.last_list.filters.empty());

    r = c.request("GET", "/images/json?filters=" + url_encode(R"({"colour":["red"]})"));
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(body_json(r)["message"], "invalid filter 'colour'");
    r = c.request("GET", "/images/json?filters=%7Bbroken");
    EXPECT_EQ(r.status, 400);

    r = c.request("GET", "/v1.40/images/json?filter=busy*");
    EXPECT_EQ(images_.last_list.filters.get("reference"), (std::vector<std::string>{"busy*"}));
    EXPECT_EQ(body_json(r)[0]["VirtualSize"], 4096);
}

TEST_F(ApiServerTest, LenientBooleansOnDelete) {
    TestClient c(sock_);
    auto r = c.request("DELETE", "/images/busybox?force=True&noprune=False");
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(images_.last_force);
    EXPECT_FALSE(images_.last_noprune);
    auto j = body_json(r);
    EXPECT_EQ(j[0], json({{"Untagged", "busybox:latest"}}));
    EXPECT_EQ(j[1]["Deleted"], "sha256:" + std::string(64, 'a'));
    c.request("DELETE", "/images/busybox?force=none&noprune=yes");
    EXPECT_FALSE(images_.last_force);
    EXPECT_TRUE(images_.last_noprune);
    c.request("DELETE", "/images/busybox?force=0&noprune=");
    EXPECT_FALSE(images_.last_force);
    EXPECT_FALSE(images_.last_noprune);
}

TEST_F(ApiServerTest, TagAnswers201) {
    TestClient c(sock_);
    auto r = c.request("POST", "/v1.44/images/busybox/tag?repo=docker.io%2Flibrary%2Fb&tag=1");
    EXPECT_EQ(r.status, 201);
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(images_.last_tag, "docker.io/library/b:1");
    expect_standard_headers(r);
}

TEST_F(ApiServerTest, PruneAlwaysAnswersJson) {
    TestClient c(sock_);
    auto r = c.request(
        "POST", "/v1.44/images/prune?filters=" + url_encode(R"({"dangling":{"true":true}})"));
    ASSERT_EQ(r.status, 200);
    auto j = body_json(r);
    EXPECT_EQ(j["SpaceReclaimed"], 1234);
    EXPECT_EQ(j["ImagesDeleted"][0]["Deleted"], "sha256:" + std::string(64, 'd'));
    EXPECT_EQ(images_.last_filters.get("dangling"), (std::vector<std::string>{"true"}));
    r = c.request("POST", "/images/prune?filters=" + url_encode(R"({"reference":["x"]})"));
    EXPECT_EQ(r.status, 400);
}

TEST_F(ApiServerTest, ChunkedImportUpload) {
    TestClient c(sock_);
    const size_t total = 3u << 20;
    std::string req =
        "POST /v1.44/images/create?fromSrc=-&repo=r&tag=1&message=hello&changes=CMD+%5B%22sh%22%5D"
        "&changes=ENV+A%3D1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";
    c.send_raw(req);
    uint64_t sum = 0;
    std::string chunk(100000, '\0');
    for (size_t off = 0; off < total; off += chunk.size()) {
        size_t n = std::min(chunk.size(), total - off);
        for (size_t i = 0; i < n; ++i) {
            chunk[i] = static_cast<char>((off + i) % 253);
            sum += static_cast<unsigned char>(chunk[i]);
        }
        char head[32];
        std::snprintf(head, sizeof head, "%zx\r\n", n);
        c.send_raw(head + chunk.substr(0, n) + "\r\n");
    }
    c.send_raw("0\r\n\r\n");
    auto r = c.read_response();
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    EXPECT_TRUE(r.chunked);
    EXPECT_EQ(json::parse(r.body)["status"], "sha256:" + std::to_string(total));
    EXPECT_EQ(images_.imported_bytes, total);
    EXPECT_EQ(images_.imported_sum, sum);
    EXPECT_EQ(images_.last_import.repo, "r");
    EXPECT_EQ(images_.last_import.tag, "1");
    EXPECT_EQ(images_.last_import.message, "hello");
    EXPECT_EQ(images_.last_import.changes, (std::vector<std::string>{"CMD [\"sh\"]", "ENV A=1"}));
    // The connection is still usable after the chunked upload.
    EXPECT_EQ(c.request("GET", "/_ping").body, "OK");
}

TEST_F(ApiServerTest, ImportAndPullErrors) {
    TestClient c(sock_);
    auto pull = c.request("POST", "/v1.44/images/create?fromImage=busybox&tag=latest");
    EXPECT_EQ(pull.status, 501);
    EXPECT_NE(body_json(pull)["message"].get<std::string>().find("pull is not supported yet"),
              std::string::npos);
    auto url = c.request("POST", "/images/create?fromSrc=http%3A%2F%2Fexample.com%2Fx.tar");
    EXPECT_EQ(url.status, 501);
    auto none = c.request("POST", "/images/create");
    EXPECT_EQ(none.status, 400);
    // An error before any output is a plain HTTP error, even with an unread body.
    auto bad = c.request("POST", "/images/create?fromSrc=-&repo=bad", std::string(1000, 'x'));
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.header("Content-Type"), "application/json");
    EXPECT_EQ(c.request("GET", "/_ping").body, "OK");  // the unread body was drained
    // After output started: 200 and an error line.
    auto late = c.request("POST", "/images/create?fromSrc=-&message=fail-late", "data");
    EXPECT_EQ(late.status, 200);
    EXPECT_NE(late.body.find(R"("errorDetail":{"message":"not a tar archive"})"),
              std::string::npos);
    EXPECT_NE(late.body.find(R"("error":"not a tar archive")"), std::string::npos);
}

TEST_F(ApiServerTest, ExpectContinueUpload) {
    TestClient c(sock_);
    c.send_raw(
        "POST /images/create?fromSrc=- HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        "Expect: 100-continue\r\n\r\n");
    EXPECT_EQ(c.read_line(), "HTTP/1.1 100 Continue");
    EXPECT_EQ(c.read_line(), "");
    c.send_raw("hello");
    auto r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(json::parse(r.body)["status"], "sha256:5");
}

TEST_F(ApiServerTest, LoadAnswersJsonLines) {
    TestClient c(sock_);
    auto r = c.request("POST", "/v1.44/images/load?quiet=1", "tarbytes",
                       "Content-Type: application/x-tar\r\n");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    EXPECT_TRUE(images_.last_quiet);
    EXPECT_EQ(r.body, "{\"stream\":\"Loaded image: busybox:latest\\n\"}\n");  // quiet: no bar
    r = c.request("POST", "/v1.44/images/load?quiet=0", "tarbytes");
    EXPECT_NE(r.body.find("Loading layer"), std::string::npos);
    EXPECT_NE(r.body.find("progressDetail"), std::string::npos);
    r = c.request("POST", "/v1.44/images/load", "bad");
    EXPECT_EQ(r.status, 200);
    auto j = json::parse(r.body);
    EXPECT_EQ(j["error"], "invalid tar header");
    EXPECT_EQ(j["errorDetail"]["message"], "invalid tar header");
}

TEST_F(ApiServerTest, SaveSendsABigBodyWithItsLength) {
    TestClient c(sock_);
    c.send_request("GET", "/v1.44/images/get?names=busybox&names=alpine%3A3");
    auto head = c.read_head();
    ASSERT_EQ(head.status, 200);
    EXPECT_EQ(head.header("Content-Type"), "application/x-tar");
    // The size is known before the first byte: a Content-Length, raw bytes, no chunks.
    EXPECT_FALSE(head.chunked);
    EXPECT_EQ(head.header("Content-Length"), std::to_string(test::FakeImageBackend::kSaveSize));
    std::string body = c.read_exact(test::FakeImageBackend::kSaveSize);
    ASSERT_EQ(body.size(), test::FakeImageBackend::kSaveSize);
    bool pattern_ok = true;
    for (size_t i = 0; i < body.size(); ++i)
        if (static_cast<unsigned char>(body[i]) != i % 251) pattern_ok = false;
    EXPECT_TRUE(pattern_ok);
    // The connection stays usable: the body ended where its length said.
    auto ping = c.request("GET", "/_ping");
    EXPECT_EQ(ping.status, 200);
    EXPECT_EQ(ping.body, "OK");
    EXPECT_EQ(images_.last_names, (std::vector<std::string>{"busybox", "alpine:3"}));
    auto one = c.request("GET", "/images/localhost:5000/x:1/get");
    EXPECT_EQ(one.status, 200);
    EXPECT_EQ(images_.last_names, (std::vector<std::string>{"localhost:5000/x:1"}));
    auto missing = c.request("GET", "/images/missing/get");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(body_json(missing)["message"], "No such image: missing");
}

TEST_F(ApiServerTest, StreamingAnswerArrivesBeforeHandlerEnds) {
    TestClient c(sock_);
    c.send_request("GET", "/test/slow");
    auto head = c.read_head();
    EXPECT_EQ(head.status, 200);
    expect_standard_headers(head);
    EXPECT_EQ(c.read_chunk(), "first\n");  // the handler is still blocked
    release_ = true;
    EXPECT_EQ(c.read_chunk(), "second\n");
    EXPECT_EQ(c.read_chunk(), std::nullopt);
}

TEST_F(ApiServerTest, EventsStreamLive) {
    TestClient c(sock_);
    c.send_request("GET", "/v1.44/events?filters=" + url_encode(R"({"type":["container"]})"));
    auto head = c.read_head();  // before any event exists
    ASSERT_EQ(head.status, 200);
    EXPECT_EQ(head.header("Content-Type"), "application/json");
    EXPECT_TRUE(head.chunked);
    types::EventMessage img;
    img.type = "image";
    img.action = "tag";
    img.actor_id = "sha256:aa";
    img.time_nano = now_unix_nanos();
    system_.publish(img);  // filtered out
    types::EventMessage die;
    die.type = "container";
    die.action = "die";
    die.actor_id = "c1";
    die.attributes = {{"image", "busybox"}, {"exitCode", "0"}};
    die.time_nano = img.time_nano;
    system_.publish(die);
    auto line = c.read_chunk();
    ASSERT_TRUE(line);
    auto j = json::parse(*line);
    EXPECT_EQ(j["status"], "die");
    EXPECT_EQ(j["id"], "c1");
    EXPECT_EQ(j["from"], "busybox");
    EXPECT_EQ(j["Actor"]["Attributes"]["exitCode"], "0");
}

TEST_F(ApiServerTest, EventsClientDisconnectStopsTheStream) {
    {
        TestClient c(sock_);
        c.send_request("GET", "/events");
        ASSERT_EQ(c.read_head().status, 200);
        EXPECT_EQ(system_.live_subscriptions(), 1);
    }
    for (int i = 0; i < 200 && system_.live_subscriptions() > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(system_.live_subscriptions(), 0);
}

TEST_F(ApiServerTest, EventsSinceUntilInThePastEnds) {
    int64_t base = 1'700'000'000'000'000'000;
    for (int i = 0; i < 3; ++i) {
        types::EventMessage m;
        m.type = "image";
        m.action = "tag";
        m.actor_id = "sha256:" + std::to_string(i);
        m.time_nano = base + i * 1'000'000'000LL;
        system_.publish(m);
    }
    TestClient c(sock_);
    auto r = c.request("GET", "/events?since=1700000001&until=1700000002.5");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, json({{"Type", "image"},
                            {"Action", "tag"},
                            {"Actor", {{"ID", "sha256:1"}, {"Attributes", json::object()}}},
                            {"scope", "local"},
                            {"time", 1700000001},
                            {"timeNano", base + 1'000'000'000},
                            {"status", "tag"},
                            {"id", "sha256:1"}})
                              .dump() +
                          "\n" +
                          json({{"Type", "image"},
                                {"Action", "tag"},
                                {"Actor", {{"ID", "sha256:2"}, {"Attributes", json::object()}}},
                                {"scope", "local"},
                                {"time", 1700000002},
                                {"timeNano", base + 2'000'000'000},
                                {"status", "tag"},
                                {"id", "sha256:2"}})
                              .dump() +
                          "\n");
    EXPECT_EQ(*system_.last_event_query.since_ns, base + 1'000'000'000);
    auto bad = c.request("GET", "/events?since=1700000005&until=1700000001");
    EXPECT_EQ(bad.status, 400);
    auto badf = c.request("GET", "/events?filters=" + url_encode(R"({"colour":["x"]})"));
    EXPECT_EQ(badf.status, 400);
}

TEST_F(ApiServerTest, HijackUpgradeEchoWithMultiplexedFrames) {
    TestClient c(sock_);
    // Stdin bytes in the same packet as the request: they must not be lost in the parser.
    c.send_raw(
        "POST /v1.44/test/echo?stdin=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
        "Upgrade: tcp\r\nContent-Length: 0\r\n\r\nhello");
    auto head = c.read_head();
    EXPECT_EQ(head.status_line, "HTTP/1.1 101 UPGRADED");
    EXPECT_EQ(head.header("Content-Type"), "application/vnd.docker.multiplexed-stream");
    EXPECT_EQ(head.header("Upgrade"), "tcp");
    EXPECT_EQ(head.header("Connection"), "Upgrade");
    expect_standard_headers(head);
    EXPECT_EQ(c.read_exact(8), mux_header(MuxStream::Stdout, 5));
    EXPECT_EQ(c.read_exact(5), "hello");
    c.send_raw("world!");
    EXPECT_EQ(c.read_exact(8), mux_header(MuxStream::Stdout, 6));
    EXPECT_EQ(c.read_exact(6), "world!");
    ::shutdown(c.fd(), SHUT_WR);  // stdin EOF; output keeps flowing
    EXPECT_EQ(c.read_exact(8), mux_header(MuxStream::Stderr, 3));
    EXPECT_EQ(c.read_exact(3), "bye");
    EXPECT_EQ(c.read_to_eof(), "");  // closed by the server after the handler
}

TEST_F(ApiServerTest, HijackRawStreamBelow142AndWithTty) {
    for (std::string target : {"/v1.41/test/echo", "/v1.44/test/echo?tty=1"}) {
        TestClient c(sock_);
        c.send_raw("POST " + target +
                   " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                   "Upgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
        auto head = c.read_head();
        EXPECT_EQ(head.status, 101) << target;
        EXPECT_EQ(head.header("Content-Type"), "application/vnd.docker.raw-stream") << target;
        if (target.find("tty=1") != std::string::npos) {
            c.send_raw("abc");
            EXPECT_EQ(c.read_exact(3), "abc");  // the JSON body was not taken as stdin
            ::shutdown(c.fd(), SHUT_WR);
            EXPECT_EQ(c.read_to_eof(), "bye");
        }
    }
}

TEST_F(ApiServerTest, HijackWithoutUpgradeHeaderAnswers200Raw) {
    TestClient c(sock_);
    c.send_raw("POST /v1.44/test/echo?tty=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    auto head = c.read_head();
    EXPECT_EQ(head.status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(head.header("Content-Type"), "application/vnd.docker.raw-stream");
    EXPECT_FALSE(head.header("Transfer-Encoding"));
    c.send_raw("x");
    EXPECT_EQ(c.read_exact(1), "x");
    ::shutdown(c.fd(), SHUT_WR);
    EXPECT_EQ(c.read_to_eof(), "bye");
}

TEST_F(ApiServerTest, SystemRoutes) {
    TestClient c(sock_);
    auto info = c.request("GET", "/v1.44/info");
    ASSERT_EQ(info.status, 200);
    auto j = body_json(info);
    EXPECT_EQ(j["ServerVersion"], "0.1.0");
    EXPECT_EQ(j["Swarm"]["LocalNodeState"], "inactive");
    EXPECT_EQ(j["Runtimes"]["runc"]["path"], "berth-runtime");
    auto df = c.request("GET", "/v1.44/system/df");
    ASSERT_EQ(df.status, 200);
    j = body_json(df);
    EXPECT_EQ(j["LayersSize"], 4096);
    EXPECT_EQ(j["Images"][0]["RepoTags"][0], "busybox:latest");
    EXPECT_TRUE(j["Containers"].is_array());
    EXPECT_TRUE(j["Volumes"].is_array());
    EXPECT_TRUE(j["BuildCache"].is_array());
    df = c.request("GET", "/v1.44/system/df?type=image");
    j = body_json(df);
    EXPECT_TRUE(system_.last_df.images);
    EXPECT_FALSE(system_.last_df.containers);
    EXPECT_TRUE(j["Containers"].is_null());
    EXPECT_EQ(c.request("GET", "/v1.44/system/df?type=bogus").status, 400);
    auto check = c.request("POST", "/berth/system/check?repair=1");
    ASSERT_EQ(check.status, 200);
    j = body_json(check);
    EXPECT_EQ(j["Problems"].size(), 1u);
    EXPECT_EQ(j["Repairs"].size(), 1u);
    check = c.request("POST", "/v1.44/berth/system/check?repair=0");
    EXPECT_TRUE(body_json(check)["Repairs"].empty());
}

TEST_F(ApiServerTest, JsonBodies) {
    TestClient c(sock_);
    auto ok = c.request("POST", "/test/json", R"({"Image":"busybox","Cmd":["sh"]})",
                        "Content-Type: application/json\r\n");
    ASSERT_EQ(ok.status, 200);
    EXPECT_EQ(body_json(ok)["got"]["Cmd"][0], "sh");
    auto bad = c.request("POST", "/test/json", R"({"Image":)");
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(body_json(bad)["message"].get<std::string>().rfind("invalid JSON: ", 0), 0u);
    auto empty = c.request("POST", "/test/json", "");
    EXPECT_EQ(empty.status, 400);
    auto allowed = c.request("POST", "/test/json?allow_empty=1", "");
    EXPECT_EQ(allowed.status, 200);
    EXPECT_TRUE(body_json(allowed)["got"].is_null());
}

TEST_F(ApiServerTest, MalformedRequestGets400AndClose) {
    TestClient c(sock_);
    c.send_raw("THIS IS NOT HTTP\r\n\r\n");
    auto r = c.read_response();
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.header("Connection"), "close");
}

TEST_F(ApiServerTest, SocketModeAndSecondDaemonRefused) {
    struct stat st {};
    ASSERT_EQ(::stat(sock_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0660u);
    ServerOptions o;
    o.hosts = {"unix://" + sock_};
    Server second(o);
    auto r = second.listen();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::AlreadyExists);
    EXPECT_EQ(TestClient(sock_).request("GET", "/_ping").body, "OK");  // first one untouched
}

TEST_F(ApiServerTest, StopEndsOpenStreams) {
    TestClient c(sock_);
    c.send_request("GET", "/events");
    ASSERT_EQ(c.read_head().status, 200);
    server_.stop();  // joins the server's thread: run() returns although a stream was open
    EXPECT_EQ(system_.live_subscriptions(), 0);
    EXPECT_FALSE(std::filesystem::exists(sock_));
}

TEST(ApiServerListen, StaleSocketReplacedAndBadHostsRefused) {
    char tmpl[] = "/tmp/berth-test-api-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string dir = tmpl;
    std::string path = dir + "/stale.sock";
    {
        // A socket file whose owner is gone.
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa {};
        sa.sun_family = AF_UNIX;
        std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
        ASSERT_EQ(::bind(fd, reinterpret_cast<struct sockaddr*>(&sa), sizeof sa), 0);
        ::close(fd);
    }
    ServerOptions o;
    o.hosts = {"unix://" + path};
    {
        Server s(o);
        auto r = s.listen();
        EXPECT_TRUE(r) << r.error().what();
    }
    std::string regular = dir + "/file";
    std::FILE* f = std::fopen(regular.c_str(), "w");
    std::fclose(f);
    o.hosts = {"unix://" + regular};
    EXPECT_EQ(Server(o).listen().error().code, Errc::AlreadyExists);
    o.hosts = {"fd://"};
    EXPECT_EQ(Server(o).listen().error().code, Errc::Unsupported);
    o.hosts = {"http://x"};
    EXPECT_EQ(Server(o).listen().error().code, Errc::InvalidArgument);
    o.hosts = {"unix://" + dir + "/g.sock"};
    o.socket_group = "berth-test-no-such-group";
    EXPECT_EQ(Server(o).listen().error().code, Errc::InvalidArgument);
    std::filesystem::remove_all(dir);
}

TEST(ApiServerListen, TcpOnLoopback) {
    ServerOptions o;
    o.hosts = {"tcp://127.0.0.1:0"};
    Server s(o);
    register_ping_routes(s.router());
    ASSERT_TRUE(s.listen());
    auto addr = s.addresses().at(0);
    ASSERT_EQ(addr.rfind("tcp://127.0.0.1:", 0), 0u) << addr;
    int port = std::stoi(addr.substr(16));
    std::thread t([&] { s.run(); });
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa {};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<struct sockaddr*>(&sa), sizeof sa), 0);
    std::string req = "GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
    std::string got;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<size_t>(n));
    ::close(fd);
    EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
    EXPECT_NE(got.find("Connection: close"), std::string::npos);
    EXPECT_EQ(got.substr(got.size() - 2), "OK");
    s.stop();
    t.join();
}

// The real docker CLI against the test server (skipped when docker is not installed).
TEST_F(ApiServerTest, DockerCliVersion) {
    if (std::system("command -v docker >/dev/null 2>&1") != 0) GTEST_SKIP() << "no docker CLI";
    std::string cmd = "DOCKER_HOST=unix://" + sock_ + " DOCKER_CONFIG=" + dir_ +
                      " docker version --format '{{.Server.APIVersion}} {{.Server.Version}}' 2>&1";
    std::FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    int rc = ::pclose(p);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "1.44 0.1.0\n");
}

// The real docker CLI (Go client: chunked uploads, exact Content-Type checks, streams) over
// the image and system routes.
TEST_F(ApiServerTest, DockerCliImageCommands) {
    if (std::system("command -v docker >/dev/null 2>&1") != 0) GTEST_SKIP() << "no docker CLI";
    const std::string docker =
        "DOCKER_HOST=unix://" + sock_ + " DOCKER_CONFIG=" + dir_ + " docker ";
    auto [rc, out] = shell(docker + "images --format '{{.Repository}}:{{.Tag}}'");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("busybox:latest"), std::string::npos) << out;
    std::tie(rc, out) =
        shell(docker + "info --format '{{.ServerVersion}} {{.Swarm.LocalNodeState}}'");
    EXPECT_EQ(out, "0.1.0 inactive\n");
    std::tie(rc, out) = shell(docker + "system df");
    EXPECT_EQ(rc, 0) << out;
    std::tie(rc, out) = shell(docker + "tag busybox b:1");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(images_.last_tag, "docker.io/library/b:1");
    std::tie(rc, out) = shell(docker + "rmi -f busybox");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("Untagged: busybox:latest"), std::string::npos) << out;
    EXPECT_TRUE(images_.last_force);
    std::tie(rc, out) = shell(docker + "rmi inuse");
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("must be forced"), std::string::npos) << out;
    std::tie(rc, out) = shell(docker + "image prune -f");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("Total reclaimed space: 1.234kB"), std::string::npos) << out;
    std::tie(rc, out) = shell(docker + "history busybox");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("<missing>"), std::string::npos) << out;
    std::tie(rc, out) = shell(docker + "image inspect --format '{{.Os}}' busybox");
    EXPECT_EQ(out, "linux\n");
    std::tie(rc, out) = shell(docker + "image inspect nosuch");
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("No such image: nosuch"), std::string::npos) << out;

    std::string tar = dir_ + "/saved.tar";
    std::tie(rc, out) = shell(docker + "save -o " + tar + " busybox alpine");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(std::filesystem::file_size(tar), test::FakeImageBackend::kSaveSize);
    std::tie(rc, out) = shell(docker + "load -i " + tar);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("Loaded image: busybox:latest"), std::string::npos) << out;
    std::tie(rc, out) = shell(docker + "import -c 'CMD [\"sh\"]' -m msg " + tar + " r:1");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "sha256:" + std::to_string(test::FakeImageBackend::kSaveSize) + "\n");
    EXPECT_EQ(images_.last_import.repo, "r:1");
    EXPECT_EQ(images_.last_import.changes, (std::vector<std::string>{"CMD [\"sh\"]"}));
    std::tie(rc, out) = shell(docker + "pull busybox");
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("pull is not supported yet"), std::string::npos) << out;

    types::EventMessage m;
    m.type = "container";
    m.action = "start";
    m.actor_id = "c0ffee";
    m.attributes = {{"name", "web"}};
    m.time_nano = 1'700'000'001'000'000'000;
    system_.publish(m);
    std::tie(rc, out) = shell(docker + "events --since 1700000000 --until 1700000002");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("container start c0ffee (name=web)"), std::string::npos) << out;
}

}  // namespace
}  // namespace berth::api
