// The CLI's registry pieces: docker's config.json (read, merge, unknown keys kept, modes),
// X-Registry-Auth building, and the progress printer on and off a terminal for a recorded pull.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "berth/common/base64.hpp"
#include "credentials.hpp"
#include "jsonmessage.hpp"

namespace berth::cli {
namespace {

using json = nlohmann::json;

class ConfigFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-test-cliconfig-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string read(const std::string& path) {
        std::ifstream in(path);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    void write(const std::string& path, const std::string& text, mode_t mode) {
        std::ofstream(path) << text;
        ::chmod(path.c_str(), mode);
    }
    mode_t mode_of(const std::string& path) {
        struct stat st {};
        EXPECT_EQ(::stat(path.c_str(), &st), 0);
        return st.st_mode & 07777;
    }

    std::string dir_;
};

TEST_F(ConfigFileTest, NewFileIsPrivateAndTabIndented) {
    std::string path = dir_ + "/sub/config.json";
    auto f = ConfigFile::load(path);
    ASSERT_TRUE(f) << f.error().what();
    EXPECT_FALSE(f->get("localhost:5000"));
    f->store({"u", "p", "localhost:5000", "", ""});
    ASSERT_TRUE(f->save());
    EXPECT_EQ(mode_of(path), 0600u);
    EXPECT_EQ(mode_of(dir_ + "/sub"), 0700u);
    EXPECT_EQ(read(path),
              "{\n\t\"auths\": {\n\t\t\"localhost:5000\": {\n\t\t\t\"auth\": \"dTpw\"\n"
              "\t\t}\n\t}\n}");
    auto again = ConfigFile::load(path);
    auto c = again->get("localhost:5000");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->username, "u");
    EXPECT_EQ(c->password, "p");
    EXPECT_EQ(c->server_address, "localhost:5000");
}

TEST_F(ConfigFileTest, MergeKeepsOtherKeysOrderAndMode) {
    std::string path = dir_ + "/config.json";
    write(
        path,
        R"({"psFormat":"table {{.ID}}","auths":{"https://index.docker.io/v1/":{"auth":"aHViOnB3"}},)"
        R"("proxies":{"default":{"httpProxy":"http://p:3128"}}})",
        0644);
    auto f = ConfigFile::load(path);
    ASSERT_TRUE(f);
    f->store({"u", "", "localhost:5000", "tok", ""});
    ASSERT_TRUE(f->save());
    EXPECT_EQ(mode_of(path), 0644u);  // docker keeps an existing file's permissions
    auto text = read(path);
    auto j = nlohmann::ordered_json::parse(text);
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"psFormat", "auths", "proxies"}));
    EXPECT_EQ(j["proxies"]["default"]["httpProxy"], "http://p:3128");
    EXPECT_EQ(j["auths"]["https://index.docker.io/v1/"]["auth"], "aHViOnB3");
    EXPECT_EQ(json(j["auths"]["localhost:5000"]),
              (json{{"auth", base64_encode("u:")}, {"identitytoken", "tok"}}));
    auto hub = f->get(kIndexServer);
    ASSERT_TRUE(hub);
    EXPECT_EQ(hub->username, "hub");
    EXPECT_EQ(hub->password, "pw");
    EXPECT_TRUE(f->erase("localhost:5000"));
    EXPECT_FALSE(f->erase("localhost:5000"));
}

TEST_F(ConfigFileTest, LegacyKeysMatchByHostName) {
    std::string path = dir_ + "/config.json";
    write(path, R"({"auths":{"https://localhost:5000/v1/":{"auth":"dTpw"},"bad":{"auth":"!!"}}})",
          0600);
    auto f = ConfigFile::load(path);
    ASSERT_TRUE(f);
    auto c = f->get("localhost:5000");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->server_address, "https://localhost:5000/v1/");
    EXPECT_FALSE(f->get("bad"));  // undecodable auth: no credentials
    EXPECT_EQ(convert_to_hostname("http://h:1/v2/x"), "h:1");
    EXPECT_EQ(convert_to_hostname("h"), "h");
}

TEST_F(ConfigFileTest, BrokenFileIsAnError) {
    std::string path = dir_ + "/config.json";
    write(path, "{not json", 0600);
    auto f = ConfigFile::load(path);
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().what().find(path), std::string::npos);
    write(path, "", 0600);
    EXPECT_TRUE(ConfigFile::load(path));  // empty is fine, as docker treats it
}

TEST_F(ConfigFileTest, SaveWritesThroughASymlink) {
    std::string real = dir_ + "/real.json";
    write(real, R"({"auths":{}})", 0640);
    std::string link = dir_ + "/config.json";
    ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
    auto f = ConfigFile::load(link);
    f->store({"u", "p", "r", "", ""});
    ASSERT_TRUE(f->save());
    EXPECT_TRUE(std::filesystem::is_symlink(link));
    EXPECT_EQ(mode_of(real), 0640u);
    EXPECT_NE(read(real).find("dTpw"), std::string::npos);
}

TEST(RegistryAuthHeader, EncodesLikeTheDockerCli) {
    EXPECT_EQ(encode_auth_header(std::nullopt), "e30=");
    std::string h = encode_auth_header(Credentials{"u", "p?>", "localhost:5000", "", ""});
    EXPECT_EQ(h.find_first_of("+/"), std::string::npos);  // base64url
    auto decoded = base64_decode(h, Base64Alphabet::Url);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, R"({"username":"u","password":"p?>","serveraddress":"localhost:5000"})");
    EXPECT_EQ(auth_key_for_domain("docker.io"), "https://index.docker.io/v1/");
    EXPECT_EQ(auth_key_for_domain("localhost:5000"), "localhost:5000");
}

TEST_F(ConfigFileTest, AuthForImageUsesTheImagesRegistry) {
    std::string path = dir_ + "/config.json";
    write(
        path,
        R"({"auths":{"localhost:5000":{"auth":"dTpw"},"https://index.docker.io/v1/":{"auth":"aHViOnB3"}}})",
        0600);
    ::setenv("DOCKER_CONFIG", dir_.c_str(), 1);
    auto decode = [](const std::string& h) {
        return json::parse(base64_decode(h, Base64Alphabet::Url).value());
    };
    EXPECT_EQ(decode(registry_auth_for_image("localhost:5000/a/b:1")),
              (json{{"username", "u"}, {"password", "p"}, {"serveraddress", "localhost:5000"}}));
    EXPECT_EQ(decode(registry_auth_for_image("busybox"))["username"], "hub");
    EXPECT_EQ(decode(registry_auth_for_image("docker.io/library/busybox"))["serveraddress"],
              "https://index.docker.io/v1/");
    EXPECT_EQ(registry_auth_for_image("other.example:5000/x"), "e30=");
    EXPECT_EQ(registry_auth_for_image("Not A Ref"), "e30=");
    ::unsetenv("DOCKER_CONFIG");
}

// ---------------------------------------------------------------- progress printer

// A pull as moby streams it (two layers; progress updates interleaved).
const char* const kPullStream[] = {
    R"({"status":"Pulling from library/busybox","id":"latest"})",
    R"({"status":"Pulling fs layer","progressDetail":{},"id":"a"})",
    R"({"status":"Pulling fs layer","progressDetail":{},"id":"b"})",
    R"({"status":"Downloading","progressDetail":{"current":500,"total":2000},"progress":"[==>  ] 500B/2kB","id":"a"})",
    R"({"status":"Pull complete","progressDetail":{},"id":"a"})",
    R"({"status":"Digest: sha256:x"})",
};

std::string render(bool terminal, int width, Result<void>* last = nullptr) {
    std::string out;
    JsonMessagePrinter p([&](std::string_view s) { out += s; }, terminal, width);
    for (const char* line : kPullStream) {
        auto r = p.show(json::parse(line));
        if (last) *last = r;
    }
    return out;
}

TEST(JsonMessagePrinter, WithoutTerminalPrintsEachStatusOnceAndNoUpdates) {
    EXPECT_EQ(render(false, 200),
              "latest: Pulling from library/busybox\n"
              "a: Pulling fs layer\n"
              "b: Pulling fs layer\n"
              "a: Pull complete\n"
              "Digest: sha256:x\n");
}

TEST(JsonMessagePrinter, OnTerminalRedrawsEachIdsLineInPlace) {
    const std::string up1 = "\x1b[1A", up2 = "\x1b[2A", down1 = "\x1b[1B", down2 = "\x1b[2B";
    const std::string erase = "\x1b[2K\r";
    EXPECT_EQ(render(true, 80),
              "latest: Pulling from library/busybox\n"
              "\n" +
                  up1 + erase + "a: Pulling fs layer \r" + down1 + "\n" + up1 + erase +
                  "b: Pulling fs layer \r" + down1 + up2 + erase + "a: Downloading     500B/2kB\r" +
                  down2 + up2 + erase + "a: Pull complete \r" + down2 + "Digest: sha256:x\n");
    // Wider than 110 columns: the bar is drawn.
    std::string wide = render(true, 120);
    EXPECT_NE(wide.find("a: Downloading [============>                                      ]     "
                        "500B/2kB\r"),
              std::string::npos)
        << wide;
}

TEST(JsonMessagePrinter, ErrorsFailAuxIsHandedOver) {
    std::string out;
    json aux;
    JsonMessagePrinter p([&](std::string_view s) { out += s; }, false, 200,
                         [&](const json& a) { aux = a; });
    EXPECT_TRUE(p.show(json{{"progressDetail", json::object()}, {"aux", {{"Tag", "t"}}}}));
    EXPECT_EQ(aux, (json{{"Tag", "t"}}));
    EXPECT_TRUE(p.show(json{{"stream", "Step 1/2\n"}}));
    auto r = p.show(json{{"errorDetail", {{"message", "boom"}}}, {"error", "boom"}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "boom");
    EXPECT_EQ(out, "Step 1/2\n");
}

TEST(JsonProgressString, MatchesMobysJsonProgress) {
    EXPECT_EQ(json_progress_string(json::object(), 200, 0), "");
    EXPECT_EQ(json_progress_string(json{{"current", 1500000}}, 200, 0), "   1.5MB");
    EXPECT_EQ(json_progress_string(json{{"current", 3}, {"total", 2}}, 80, 0), "      3B");
    EXPECT_EQ(json_progress_string(json{{"current", 2}, {"total", 4}, {"units", "layers"}}, 80, 0),
              "2/4 layers");
    EXPECT_EQ(
        json_progress_string(json{{"current", 10}, {"total", 100}, {"hidecounts", true}}, 80, 0),
        "");
    // Time left: 10 s for 100 of 1000 bytes -> 90 s more.
    EXPECT_EQ(
        json_progress_string(json{{"current", 100}, {"total", 1000}, {"start", 1000}}, 80, 1010),
        "    100B/1kB 1m30s");
}

}  // namespace
}  // namespace berth::cli
