// Authentication against docker-registry: htpasswd (Basic) and token auth with a small token
// server (Bearer, scopes, scope upgrade on insufficient_scope, refresh tokens, login).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "berth/registry/client.hpp"
#include "blob_util.hpp"
#include "client_fixture.hpp"

namespace berth::registry {
namespace {

using test::registry::random_bytes;
using test::registry::RegistryEnv;
using test::registry::sink_to;
using test::registry::source_of;

ClientOptions opts_with(std::optional<AuthConfig> auth) {
    ClientOptions o = test::registry::fast_client_options();
    o.auth = std::move(auth);
    return o;
}

AuthConfig user_pass(const std::string& u, const std::string& p) {
    AuthConfig a;
    a.username = u;
    a.password = p;
    return a;
}

class RegistryClientAuth : public ::testing::Test {
protected:
    // Starts the registry; false (with the test failed or skipped) when it cannot.
    bool start(RegistryEnv::Auth mode) {
        if (!RegistryEnv::available() ||
            (mode == RegistryEnv::Auth::Token &&
             system("python3 -c 'import cryptography' 2>/dev/null") != 0)) {
            skipped_ = true;
            return false;
        }
        auto env = RegistryEnv::start(mode);
        EXPECT_TRUE(env) << env.error().msg;
        if (!env) return false;
        env_ = std::move(*env);
        return true;
    }
    bool skipped_ = false;

    // Pushes and reads back one blob; the first failure.
    Result<void> roundtrip(Repository& repo, unsigned seed) {
        std::string data = random_bytes(4000, seed);
        Digest d = digest_of(data);
        BERTH_TRY(repo.push_blob(d, data.size(), source_of(data)));
        std::string got;
        BERTH_TRY(repo.fetch_blob(d, data.size(), sink_to(got)));
        if (got != data) return make_error(Errc::Internal, "bytes differ");
        return {};
    }

    std::unique_ptr<Repository> open(const std::string& name, Access a,
                                     std::optional<AuthConfig> auth) {
        auto r = open_repository(env_->host(), name, a, opts_with(std::move(auth)));
        EXPECT_TRUE(r);
        return r ? std::move(*r) : nullptr;
    }

    std::unique_ptr<RegistryEnv> env_;
};

TEST_F(RegistryClientAuth, HtpasswdRightAndWrong) {
    if (!start(RegistryEnv::Auth::Htpasswd)) {
        if (skipped_) GTEST_SKIP() << "docker-registry or python3-cryptography is missing";
        return;
    }
    auto good = open("berth/basic", Access::Push, user_pass("user", "pass"));
    auto r = roundtrip(*good, 1);
    ASSERT_TRUE(r) << r.error().msg;

    auto bad = open("berth/basic", Access::Pull, user_pass("user", "wrong"));
    auto st = bad->stat_blob(digest_of("x"));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::PermissionDenied) << st.error().msg;
    EXPECT_NE(st.error().msg.find(env_->host() + "/berth/basic"), std::string::npos)
        << st.error().msg;

    auto anon = open("berth/basic", Access::Pull, std::nullopt);
    auto m = anon->get_manifest("latest");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, Errc::PermissionDenied) << m.error().msg;

    auto ok = login(env_->host(), user_pass("user", "pass"), opts_with(std::nullopt));
    ASSERT_TRUE(ok) << ok.error().msg;
    EXPECT_EQ(ok->status, "Login Succeeded");
    AuthConfig b64;
    b64.auth = "dXNlcjpwYXNz";  // user:pass
    EXPECT_TRUE(login(env_->host(), b64, opts_with(std::nullopt)));
    auto no = login(env_->host(), user_pass("user", "nope"), opts_with(std::nullopt));
    ASSERT_FALSE(no);
    EXPECT_EQ(no.error().code, Errc::PermissionDenied) << no.error().msg;
    EXPECT_NE(no.error().msg.find("UNAUTHORIZED"), std::string::npos) << no.error().msg;
}

TEST_F(RegistryClientAuth, TokenPullPushAndScopeUpgrade) {
    if (!start(RegistryEnv::Auth::Token)) {
        if (skipped_) GTEST_SKIP() << "docker-registry or python3-cryptography is missing";
        return;
    }
    // Opened for pull: the first upload gets 401 insufficient_scope and asks for push.
    auto repo = open("berth/tok", Access::Pull, user_pass("user", "pass"));
    auto r = roundtrip(*repo, 2);
    ASSERT_TRUE(r) << r.error().msg;
    auto log = env_->token_log();
    ASSERT_TRUE(log) << log.error().msg;
    auto j = nlohmann::json::parse(*log);
    bool saw_pull = false, saw_push = false;
    for (const auto& e : j) {
        for (const auto& s : e["scopes"]) {
            if (s == "repository:berth/tok:pull") saw_pull = true;
            if (s == "repository:berth/tok:pull,push") saw_push = true;
        }
        EXPECT_EQ(e["user"], "user");
    }
    EXPECT_TRUE(saw_pull) << *log;
    EXPECT_TRUE(saw_push) << *log;

    // Tokens are cached per scope: another stat needs no new token.
    size_t before = j.size();
    ASSERT_TRUE(repo->stat_blob(digest_of("y")));
    auto clone = repo->clone();
    ASSERT_TRUE(clone);
    ASSERT_TRUE((*clone)->stat_blob(digest_of("z")));
    EXPECT_EQ(nlohmann::json::parse(*env_->token_log()).size(), before);
}

TEST_F(RegistryClientAuth, TokenWrongCredentialsAndReader) {
    if (!start(RegistryEnv::Auth::Token)) {
        if (skipped_) GTEST_SKIP() << "docker-registry or python3-cryptography is missing";
        return;
    }
    auto bad = open("berth/tok", Access::Pull, user_pass("user", "wrong"));
    auto st = bad->stat_blob(digest_of("x"));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::PermissionDenied) << st.error().msg;
    EXPECT_NE(st.error().msg.find("incorrect username or password"), std::string::npos)
        << st.error().msg;

    // Anonymous callers get tokens without access: the registry says no.
    auto anon = open("berth/tok", Access::Pull, std::nullopt);
    auto m = anon->get_manifest("latest");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, Errc::PermissionDenied) << m.error().msg;

    // "reader" may pull but not push.
    auto reader = open("berth/tok", Access::Push, user_pass("reader", "rpass"));
    auto rs = reader->stat_blob(digest_of("x"));
    ASSERT_TRUE(rs) << rs.error().msg;
    std::string data = "abc";
    auto p = reader->push_blob(digest_of(data), data.size(), source_of(data));
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, Errc::PermissionDenied) << p.error().msg;
    EXPECT_NE(p.error().msg.find(env_->host() + "/berth/tok"), std::string::npos) << p.error().msg;

    auto no = login(env_->host(), user_pass("user", "wrong"), opts_with(std::nullopt));
    ASSERT_FALSE(no);
    EXPECT_EQ(no.error().code, Errc::PermissionDenied) << no.error().msg;
}

TEST_F(RegistryClientAuth, LoginGivesRefreshTokenThatWorks) {
    if (!start(RegistryEnv::Auth::Token)) {
        if (skipped_) GTEST_SKIP() << "docker-registry or python3-cryptography is missing";
        return;
    }
    auto li = login(env_->host(), user_pass("user", "pass"), opts_with(std::nullopt));
    ASSERT_TRUE(li) << li.error().msg;
    EXPECT_EQ(li->status, "Login Succeeded");
    ASSERT_FALSE(li->identity_token.empty());

    AuthConfig idt;
    idt.identity_token = li->identity_token;
    auto repo = open("berth/refresh", Access::Push, idt);
    auto r = roundtrip(*repo, 3);
    ASSERT_TRUE(r) << r.error().msg;

    auto j = nlohmann::json::parse(*env_->token_log());
    ASSERT_FALSE(j.empty());
    EXPECT_EQ(j[0]["method"], "GET");
    EXPECT_TRUE(j[0]["offline"].get<bool>());
    EXPECT_EQ(j[0]["client_id"], "docker");
    bool saw_refresh = false;
    for (const auto& e : j) {
        if (e["method"] == "POST" && e["grant_type"] == "refresh_token") saw_refresh = true;
    }
    EXPECT_TRUE(saw_refresh) << j.dump();

    // A bogus identity token is refused by the token server.
    AuthConfig bogus;
    bogus.identity_token = "nope";
    auto b = open("berth/refresh", Access::Pull, bogus);
    auto st = b->stat_blob(digest_of("x"));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::PermissionDenied);
}

}  // namespace
}  // namespace berth::registry
