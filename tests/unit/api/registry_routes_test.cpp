// The registry routes (pull through POST /images/create?fromImage=, POST /images/{name}/push,
// POST /auth) over a unix socket with a fake backend: progress streams, errors before and after
// the first line, X-Registry-Auth decoding, the push's aux line; then the real docker CLI and
// the berth binary against the same server.

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "berth/api/server/routes.hpp"
#include "berth/api/server/server.hpp"
#include "berth/api/types/registry.hpp"
#include "berth/common/base64.hpp"
#include "fake_backends.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

namespace berth::api {
namespace {

using json = nlohmann::json;
using test::HttpResponse;
using test::TestClient;
using test::shell;

const std::string kDigest = "sha256:" + std::string(64, 'd');
const std::string kLayer = "aaaaaaaaaaaa";

// FakeImageBackend plus pull, push and auth with canned behaviour chosen by the name.
class FakeRegistryBackend : public test::FakeImageBackend {
public:
    Result<PullResult> pull(const PullParams& p, ProgressSink& progress) override {
        {
            std::lock_guard lk(mu);
            last_pull = p;
        }
        if (p.name.find("nosuch") != std::string::npos)
            return make_error(Errc::NotFound,
                              "pull access denied for nosuch, repository does not exist or may "
                              "require 'docker login'");
        if (p.tag == "missing")
            return make_error(Errc::NotFound,
                              "manifest for busybox:missing not found: manifest unknown");
        if (p.name == "Bad")
            return make_error(Errc::InvalidArgument,
                              "invalid reference format: repository name "
                              "(library/Bad) must be lowercase");
        BERTH_TRY(
            progress.status(p.digest.empty() ? p.tag : p.digest, "Pulling from library/busybox"));
        if (p.name.find("late") != std::string::npos)
            return make_error(Errc::Unavailable, "unexpected EOF");
        BERTH_TRY(progress.progress(kLayer, "Pulling fs layer", 0, 0));
        BERTH_TRY(progress.progress(kLayer, "Downloading", 500, 2000));
        BERTH_TRY(progress.progress(kLayer, "Downloading", 2000, 2000));
        BERTH_TRY(progress.progress(kLayer, "Verifying Checksum", 0, 0));
        BERTH_TRY(progress.progress(kLayer, "Download complete", 0, 0));
        BERTH_TRY(progress.progress(kLayer, "Extracting", 2000, 2000));
        BERTH_TRY(progress.progress(kLayer, "Pull complete", 0, 0));
        return PullResult{kDigest, true};
    }

    Result<std::vector<types::PushResult>> push(const PushParams& p,
                                                ProgressSink& progress) override {
        {
            std::lock_guard lk(mu);
            last_push = p;
        }
        if (p.name.find("nosuch") != std::string::npos)
            return make_error(Errc::NotFound, "An image does not exist locally with the tag: {}",
                              p.name);
        BERTH_TRY(progress.status("", "The push refers to repository [docker.io/library/busybox]"));
        if (p.name.find("late") != std::string::npos)
            return make_error(Errc::PermissionDenied,
                              "denied: requested access to the resource is denied");
        BERTH_TRY(progress.progress(kLayer, "Preparing", 0, 0));
        BERTH_TRY(progress.progress(kLayer, "Pushing", 50, 100));
        BERTH_TRY(progress.progress(kLayer, "Pushed", 0, 0));
        return std::vector<types::PushResult>{{p.tag.empty() ? "latest" : p.tag, kDigest, 527}};
    }

    Result<types::AuthResponse> auth(const types::AuthConfig& a) override {
        {
            std::lock_guard lk(mu);
            last_auth = a;
        }
        if (a.password != "secret")
            return make_error(Errc::PermissionDenied,
                              "Get \"https://{}/v2/\": unauthorized: incorrect username or "
                              "password",
                              a.server_address);
        types::AuthResponse r;
        if (a.username == "tok") r.identity_token = "refresh-123";
        return r;
    }

    std::mutex mu;
    PullParams last_pull;
    PushParams last_push;
    types::AuthConfig last_auth;
};

class RegistryRoutesTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto r = server_.start("/tmp/berth-test-regroutes-XXXXXX", [&](Router& rt) {
            register_ping_routes(rt);
            register_system_routes(rt, system_);
            register_image_routes(rt, fake_);
        });
        ASSERT_TRUE(r) << r.error().what();
        dir_ = server_.dir();
        sock_ = server_.sock();
    }

    void TearDown() override {
        server_.stop();
    }

    HttpResponse req(const std::string& method, const std::string& target,
                     const std::string& body = "", const std::string& headers = "") {
        TestClient c(sock_);
        return c.request(method, target, body, headers);
    }

    static std::vector<json> lines(const HttpResponse& r) {
        std::vector<json> out;
        std::istringstream in(r.body);
        std::string line;
        while (std::getline(in, line))
            if (!line.empty()) out.push_back(json::parse(line));
        return out;
    }

    static std::string message(const HttpResponse& r) { return test::error_message(r); }

    std::string dir_;
    std::string sock_;
    test::FakeSystemBackend system_;
    FakeRegistryBackend fake_;
    test::TestServer server_;  // last: stopped before the backends go
};

// ---------------------------------------------------------------- pull

TEST_F(RegistryRoutesTest, PullStreamsProgressThenDigestAndStatus) {
    auto r = req("POST", "/v1.44/images/create?fromImage=docker.io%2Flibrary%2Fbusybox&tag=latest",
                 "", "X-Registry-Auth: e30=\r\n");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    auto l = lines(r);
    ASSERT_EQ(l.size(), 10u) << r.body;
    EXPECT_EQ(l[0], (json{{"status", "Pulling from library/busybox"}, {"id", "latest"}}));
    EXPECT_EQ(l[1]["status"], "Pulling fs layer");
    EXPECT_EQ(l[1]["progressDetail"], json::object());
    EXPECT_EQ(l[2]["progressDetail"], (json{{"current", 500}, {"total", 2000}}));
    EXPECT_EQ(l[8], (json{{"status", "Digest: " + kDigest}}));
    EXPECT_EQ(l[9], (json{{"status", "Status: Downloaded newer image for busybox:latest"}}));
    EXPECT_EQ(fake_.last_pull.name, "docker.io/library/busybox");
    EXPECT_EQ(fake_.last_pull.tag, "latest");
    EXPECT_EQ(fake_.last_pull.digest, "");
    EXPECT_EQ(fake_.last_pull.platform, "");
    EXPECT_EQ(fake_.last_pull.auth, types::AuthConfig{});
}

TEST_F(RegistryRoutesTest, PullTagParameterMayBeADigestAndOverridesTheReference) {
    auto r = req("POST", "/v1.44/images/create?fromImage=busybox:1.36&tag=" + kDigest);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(fake_.last_pull.name, "busybox");
    EXPECT_EQ(fake_.last_pull.tag, "");
    EXPECT_EQ(fake_.last_pull.digest, kDigest);
    EXPECT_EQ(lines(r).back()["status"], "Status: Downloaded newer image for busybox@" + kDigest);
    r = req("POST", "/v1.44/images/create?fromImage=localhost:5000/a/b:v1");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(fake_.last_pull.name, "localhost:5000/a/b");
    EXPECT_EQ(fake_.last_pull.tag, "v1");
    r = req("POST", "/v1.44/images/create?fromImage=localhost:5000/a/b:v1&tag=v2");
    EXPECT_EQ(fake_.last_pull.tag, "v2");
    // A port is not a tag; no tag at all means every tag (pull -a, with its trailing ':').
    r = req("POST", "/v1.44/images/create?fromImage=localhost:5000/a:");
    EXPECT_EQ(fake_.last_pull.name, "localhost:5000/a");
    EXPECT_TRUE(fake_.last_pull.all_tags());
    r = req("POST", "/v1.44/images/create?fromImage=busybox@" + kDigest);
    EXPECT_EQ(fake_.last_pull.name, "busybox");
    EXPECT_EQ(fake_.last_pull.digest, kDigest);
}

TEST_F(RegistryRoutesTest, PullErrorsBeforeOutputAreHttpErrors) {
    auto r = req("POST", "/v1.44/images/create?fromImage=nosuch&tag=latest");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    EXPECT_EQ(message(r),
              "pull access denied for nosuch, repository does not exist or may require 'docker "
              "login'");
    r = req("POST", "/v1.44/images/create?fromImage=busybox&tag=missing");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(message(r), "manifest for busybox:missing not found: manifest unknown");
    r = req("POST", "/v1.44/images/create?fromImage=Bad&tag=latest");
    EXPECT_EQ(r.status, 400);
    r = req("POST", "/v1.44/images/create?fromImage=busybox&tag=a%20b");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(message(r), "invalid tag format");
    r = req("POST", "/v1.44/images/create?fromImage=busybox&tag=sha256:zz");
    EXPECT_EQ(r.status, 400) << r.body;
    r = req("POST", "/v1.44/images/create?fromImage=scratch&tag=latest");
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(message(r), "'scratch' is a reserved name");
    r = req("POST", "/v1.44/images/create?fromImage=busybox&tag=latest&platform=linux%2F%2Fx");
    EXPECT_EQ(r.status, 400);
}

TEST_F(RegistryRoutesTest, PullErrorAfterOutputIsAnErrorLine) {
    auto r = req("POST", "/v1.44/images/create?fromImage=late&tag=latest");
    ASSERT_EQ(r.status, 200);
    auto l = lines(r);
    ASSERT_EQ(l.size(), 2u) << r.body;
    EXPECT_EQ(l[1], (json{{"errorDetail", {{"message", "unexpected EOF"}}},
                          {"error", "unexpected EOF"}}));
}

TEST_F(RegistryRoutesTest, PullPlatformIsLowercasedAndIgnoredBefore132) {
    auto r =
        req("POST", "/v1.44/images/create?fromImage=busybox&tag=latest&platform=Linux%2FARM64");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(fake_.last_pull.platform, "linux/arm64");
    r = req("POST", "/v1.31/images/create?fromImage=busybox&tag=latest&platform=linux%2Farm64");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(fake_.last_pull.platform, "");
}

TEST_F(RegistryRoutesTest, RegistryAuthHeaderIsDecodedLeniently) {
    types::AuthConfig a;
    a.username = "u";
    a.password = "p>?>?~";  // JSON whose base64 differs between the two alphabets
    a.server_address = "localhost:5000";
    std::string text = json(a).dump();
    std::string url = base64_encode(text, Base64Alphabet::Url);
    std::string std_ = base64_encode(text, Base64Alphabet::Std);
    ASSERT_NE(url, std_);
    std::string url_unpadded = base64_encode(text, Base64Alphabet::Url, false);
    for (const auto& h : {url, std_, url_unpadded}) {
        fake_.last_pull = {};
        auto r = req("POST", "/v1.44/images/create?fromImage=busybox&tag=latest", "",
                     "X-Registry-Auth: " + h + "\r\n");
        ASSERT_EQ(r.status, 200) << h;
        EXPECT_EQ(fake_.last_pull.auth, a) << h;
    }
    // Garbage is ignored (anonymous), as moby does for pulls.
    for (const std::string& h :
         std::vector<std::string>{"!!!garbage", base64_encode("not json"), base64_encode("[1]")}) {
        fake_.last_pull.auth.username = "stale";
        auto r = req("POST", "/v1.44/images/create?fromImage=busybox&tag=latest", "",
                     "X-Registry-Auth: " + h + "\r\n");
        ASSERT_EQ(r.status, 200) << h;
        EXPECT_EQ(fake_.last_pull.auth, types::AuthConfig{}) << h;
    }
}

// ---------------------------------------------------------------- push

TEST_F(RegistryRoutesTest, PushStreamEndsWithDigestLineAndAux) {
    types::AuthConfig a;
    a.username = "u";
    a.password = "secret";
    auto r = req("POST", "/v1.44/images/localhost:5000/a/b/push?tag=t1", "",
                 "X-Registry-Auth: " + types::encode_registry_auth(a) + "\r\n");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    auto l = lines(r);
    ASSERT_EQ(l.size(), 6u) << r.body;
    EXPECT_EQ(l[0],
              (json{{"status", "The push refers to repository [docker.io/library/busybox]"}}));
    EXPECT_EQ(l[4], (json{{"status", "t1: digest: " + kDigest + " size: 527"}}));
    EXPECT_EQ(l[5], (json{{"progressDetail", json::object()},
                          {"aux", {{"Tag", "t1"}, {"Digest", kDigest}, {"Size", 527}}}}));
    EXPECT_EQ(fake_.last_push.name, "localhost:5000/a/b");
    EXPECT_EQ(fake_.last_push.tag, "t1");
    EXPECT_EQ(fake_.last_push.auth.username, "u");
    EXPECT_EQ(fake_.last_push.auth.password, "secret");
}

TEST_F(RegistryRoutesTest, PushAuthFromTheBodyWithoutHeader) {
    // moby's old form: no header, the AuthConfig as the body; neither is a 400.
    auto r = req("POST", "/v1.44/images/busybox/push?tag=latest",
                 R"({"username":"bodyuser","password":"pw"})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(fake_.last_push.auth.username, "bodyuser");
    r = req("POST", "/v1.44/images/busybox/push?tag=latest");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(message(r),
              "bad parameters and missing X-Registry-Auth: invalid X-Registry-Auth "
              "header: EOF");
    // An invalid header is ignored, not an error.
    r = req("POST", "/v1.44/images/busybox/push", "", "X-Registry-Auth: %%%\r\n");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(fake_.last_push.tag, "");  // every tag
    EXPECT_EQ(fake_.last_push.auth, types::AuthConfig{});
}

TEST_F(RegistryRoutesTest, PushErrors) {
    auto r = req("POST", "/v1.44/images/nosuch/push?tag=latest", "", "X-Registry-Auth: e30=\r\n");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(message(r), "An image does not exist locally with the tag: nosuch");
    r = req("POST", "/v1.44/images/late/push?tag=latest", "", "X-Registry-Auth: e30=\r\n");
    ASSERT_EQ(r.status, 200);
    auto l = lines(r);
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(l[1]["errorDetail"]["message"], "denied: requested access to the resource is denied");
    r = req("POST", "/v1.44/images/busybox/push?tag=-bad", "", "X-Registry-Auth: e30=\r\n");
    EXPECT_EQ(r.status, 400);
}

// ---------------------------------------------------------------- auth

TEST_F(RegistryRoutesTest, AuthAnswersStatusAndIdentityToken) {
    const std::string j = "Content-Type: application/json\r\n";
    auto r = req("POST", "/v1.44/auth",
                 R"({"username":"u","password":"secret","serveraddress":"localhost:5000"})", j);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body), (json{{"Status", "Login Succeeded"}}));
    EXPECT_EQ(fake_.last_auth.server_address, "localhost:5000");
    r = req("POST", "/v1.44/auth", R"({"username":"tok","password":"secret"})", j);
    EXPECT_EQ(json::parse(r.body),
              (json{{"Status", "Login Succeeded"}, {"IdentityToken", "refresh-123"}}));
    r = req("POST", "/v1.44/auth",
            R"({"username":"u","password":"bad","serveraddress":"localhost:5000"})", j);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    EXPECT_EQ(message(r),
              "Get \"https://localhost:5000/v2/\": unauthorized: incorrect username "
              "or password");
    r = req("POST", "/v1.44/auth", "{", j);
    EXPECT_EQ(r.status, 400);
    r = req("POST", "/v1.44/auth", R"({"username":1})", j);
    EXPECT_EQ(r.status, 400);
}

// ---------------------------------------------------------------- real clients

json read_json_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
}

const std::string kPullOutput =
    "Using default tag: latest\n"
    "latest: Pulling from library/busybox\n"
    "aaaaaaaaaaaa: Pulling fs layer\n"
    "aaaaaaaaaaaa: Verifying Checksum\n"
    "aaaaaaaaaaaa: Download complete\n"
    "aaaaaaaaaaaa: Pull complete\n"
    "Digest: " +
    kDigest +
    "\n"
    "Status: Downloaded newer image for busybox:latest\n"
    "docker.io/library/busybox:latest\n";

TEST_F(RegistryRoutesTest, DockerCliPullPushLogin) {
    if (std::system("command -v docker >/dev/null 2>&1") != 0) GTEST_SKIP() << "no docker CLI";
    std::string cfg = dir_ + "/docker";
    const std::string docker =
        "DOCKER_HOST=unix://" + sock_ + " DOCKER_CONFIG=" + cfg + " timeout 20 docker ";
    auto [rc, out] = shell(docker + "pull busybox");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, kPullOutput);
    EXPECT_EQ(fake_.last_pull.name, "docker.io/library/busybox");
    EXPECT_EQ(json(fake_.last_pull.auth), json::object());  // "e30=" without a login
    std::tie(rc, out) = shell(docker + "pull nosuch");
    EXPECT_EQ(rc, 1);
    EXPECT_EQ(out,
              "Using default tag: latest\n"
              "Error response from daemon: pull access denied for nosuch, repository does not "
              "exist or may require 'docker login'\n");
    std::tie(rc, out) = shell(docker + "pull late");
    EXPECT_EQ(rc, 1);
    EXPECT_NE(out.find("unexpected EOF\n"), std::string::npos) << out;
    std::tie(rc, out) = shell(docker + "pull -q busybox:1");
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(out, "docker.io/library/busybox:1\n");

    std::tie(rc, out) = shell(docker + "push localhost:5000/b:t");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out,
              "The push refers to repository [docker.io/library/busybox]\n"
              "aaaaaaaaaaaa: Preparing\n"
              "aaaaaaaaaaaa: Pushed\n"
              "t: digest: " +
                  kDigest + " size: 527\n");
    EXPECT_EQ(fake_.last_push.name, "localhost:5000/b");
    EXPECT_EQ(fake_.last_push.tag, "t");
    std::tie(rc, out) = shell(docker + "push nosuch");
    EXPECT_EQ(rc, 1);
    // The CLI sends the normalized name in the path.
    EXPECT_NE(out.find("An image does not exist locally with the tag: docker.io/library/nosuch"),
              std::string::npos)
        << out;

    std::tie(rc, out) = shell(docker + "login -u u -p wrong localhost:5000");
    EXPECT_EQ(rc, 1);
    EXPECT_NE(out.find("unauthorized: incorrect username or password"), std::string::npos) << out;
    std::tie(rc, out) = shell(docker + "login -u u -p secret localhost:5000");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("Login Succeeded\n"), std::string::npos) << out;
    EXPECT_EQ(fake_.last_auth.username, "u");
    EXPECT_EQ(fake_.last_auth.server_address, "localhost:5000");
    json conf = read_json_file(cfg + "/config.json");
    EXPECT_EQ(conf["auths"]["localhost:5000"]["auth"], base64_encode("u:secret"));
    // The stored login goes along with pulls from that registry.
    std::tie(rc, out) = shell(docker + "pull localhost:5000/b");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(fake_.last_pull.auth.username, "u");
    EXPECT_EQ(fake_.last_pull.auth.password, "secret");
    EXPECT_EQ(fake_.last_pull.auth.server_address, "localhost:5000");
}

TEST_F(RegistryRoutesTest, BerthCliPullPushLoginLogout) {
    std::string cfg = dir_ + "/berth";
    const std::string berth =
        "DOCKER_CONFIG=" + cfg + " timeout 20 " BERTH_CLI_BINARY " -H unix://" + sock_ + " ";
    auto [rc, out] = shell(berth + "pull busybox");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, kPullOutput);
    EXPECT_EQ(fake_.last_pull.auth, types::AuthConfig{});
    std::tie(rc, out) = shell(berth + "pull nosuch");
    EXPECT_EQ(rc, 1);
    EXPECT_EQ(out,
              "Using default tag: latest\n"
              "Error response from daemon: pull access denied for nosuch, repository does not "
              "exist or may require 'docker login'\n");
    std::tie(rc, out) = shell(berth + "pull late");
    EXPECT_EQ(rc, 1);
    EXPECT_EQ(out,
              "Using default tag: latest\nlatest: Pulling from library/busybox\n"
              "unexpected EOF\n");
    std::tie(rc, out) = shell(berth + "pull -q --platform Linux/AMD64 busybox@" + kDigest);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(out, "docker.io/library/busybox@" + kDigest + "\n");
    EXPECT_EQ(fake_.last_pull.platform, "linux/amd64");
    EXPECT_EQ(fake_.last_pull.digest, kDigest);

    std::tie(rc, out) = shell(berth + "push localhost:5000/b:t");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out,
              "The push refers to repository [docker.io/library/busybox]\n"
              "aaaaaaaaaaaa: Preparing\n"
              "aaaaaaaaaaaa: Pushed\n"
              "t: digest: " +
                  kDigest + " size: 527\n");
    std::tie(rc, out) = shell(berth + "push -q localhost:5000/b");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "localhost:5000/b:latest\n");
    EXPECT_EQ(fake_.last_push.tag, "latest");
    EXPECT_EQ(fake_.last_push.name, "localhost:5000/b");
    std::tie(rc, out) = shell(berth + "push nosuch");
    EXPECT_EQ(rc, 1);
    EXPECT_EQ(out,
              "Using default tag: latest\nError response from daemon: An image does not "
              "exist locally with the tag: docker.io/library/nosuch\n");

    std::tie(rc, out) = shell(berth + "login -u u -p wrong localhost:5000");
    EXPECT_EQ(rc, 1);
    EXPECT_NE(out.find("Error response from daemon: Get \"https://localhost:5000/v2/\": "
                       "unauthorized: incorrect username or password"),
              std::string::npos)
        << out;
    EXPECT_FALSE(std::filesystem::exists(cfg + "/config.json"));
    std::tie(rc, out) =
        shell("echo secret | " + berth + "login -u u --password-stdin localhost:5000");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "\nWARNING! Your credentials are stored unencrypted in '" + cfg +
                       "/config.json'.\nConfigure a credential helper to remove this warning. "
                       "See\nhttps://docs.docker.com/go/credential-store/\n\nLogin Succeeded\n");
    EXPECT_EQ(fake_.last_auth.password, "secret");
    json conf = read_json_file(cfg + "/config.json");
    EXPECT_EQ(conf, (json{{"auths", {{"localhost:5000", {{"auth", base64_encode("u:secret")}}}}}}));
    struct stat st {};
    ASSERT_EQ(::stat((cfg + "/config.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    // Without flags the stored login is tried; without a terminal there is no prompt.
    std::tie(rc, out) = shell(berth + "login localhost:5000 </dev/null");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out.rfind("Authenticating with existing credentials... [Username: u]\n", 0), 0u)
        << out;
    EXPECT_TRUE(out.ends_with("\nLogin Succeeded\n")) << out;
    std::tie(rc, out) = shell(berth + "login -u u --password-stdin localhost:5000 </dev/null");
    EXPECT_EQ(rc, 1);
    EXPECT_EQ(out, "Error: Cannot perform an interactive login from a non TTY device\n");
    // An identity token replaces the password in the file.
    std::tie(rc, out) = shell(berth + "login -u tok -p secret");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(fake_.last_auth.server_address, "https://index.docker.io/v1/");
    conf = read_json_file(cfg + "/config.json");
    EXPECT_EQ(conf["auths"]["https://index.docker.io/v1/"],
              (json{{"auth", base64_encode("tok:")}, {"identitytoken", "refresh-123"}}));
    // Pulls and pushes carry the stored credentials of the image's registry.
    std::tie(rc, out) = shell(berth + "pull -q localhost:5000/b");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(fake_.last_pull.auth.username, "u");
    EXPECT_EQ(fake_.last_pull.auth.password, "secret");
    EXPECT_EQ(fake_.last_pull.auth.server_address, "localhost:5000");
    std::tie(rc, out) = shell(berth + "push -q busybox");
    EXPECT_EQ(fake_.last_push.auth.username, "tok");
    EXPECT_EQ(fake_.last_push.auth.identity_token, "refresh-123");

    std::tie(rc, out) = shell(berth + "logout localhost:5000");
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(out, "Removing login credentials for localhost:5000\n");
    conf = read_json_file(cfg + "/config.json");
    EXPECT_FALSE(conf["auths"].contains("localhost:5000"));
    std::tie(rc, out) = shell(berth + "logout");
    EXPECT_EQ(out, "Removing login credentials for https://index.docker.io/v1/\n");
    EXPECT_EQ(read_json_file(cfg + "/config.json"), (json{{"auths", json::object()}}));
}

// `berth registry serve` runs berth-registry (next to berth, else on PATH) with every argument.
TEST_F(RegistryRoutesTest, BerthRegistryServeRunsTheRegistryProgram) {
    // A copy of the CLI alone in a directory: no berth-registry next to it (the build has one
    // next to the original), so only PATH can provide it.
    std::string alone = dir_ + "/alone";
    std::filesystem::create_directories(alone);
    std::filesystem::copy_file(BERTH_CLI_BINARY, alone + "/berth");
    std::string cli = alone + "/berth";
    auto [rc, out] = shell("PATH=/nonexistent " + cli + " registry serve --listen x");
    EXPECT_EQ(rc, 1);
    EXPECT_NE(out.find("cannot run berth-registry"), std::string::npos) << out;
    std::string fake = dir_ + "/bin";
    std::filesystem::create_directories(fake);
    std::ofstream(fake + "/berth-registry") << "#!/bin/sh\necho \"$@\"\n";
    ::chmod((fake + "/berth-registry").c_str(), 0755);
    std::tie(rc, out) = shell("PATH=" + fake + ":/usr/bin:/bin " + cli +
                              " registry serve --listen 127.0.0.1:5000 --data-root /d --help");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "serve --listen 127.0.0.1:5000 --data-root /d --help\n");
}

}  // namespace
}  // namespace berth::api
