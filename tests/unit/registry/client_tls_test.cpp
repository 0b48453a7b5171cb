// TLS against docker-registry on a non-loopback address (so it is not insecure): the server's
// CA and a client certificate come from certs.d (<dir>/<host:port>/ca.crt, client.cert/.key).

#include <gtest/gtest.h>

#include "berth/registry/client.hpp"
#include "blob_util.hpp"
#include "client_fixture.hpp"

namespace berth::registry {
namespace {

using test::registry::random_bytes;
using test::registry::RegistryEnv;
using test::registry::sink_to;
using test::registry::source_of;

class RegistryClientTls : public ::testing::Test {
protected:
    void SetUp() override {
        if (!RegistryEnv::available()) GTEST_SKIP() << "/usr/bin/docker-registry is missing";
        if (system("python3 -c 'import cryptography' 2>/dev/null") != 0) {
            GTEST_SKIP() << "python3-cryptography is missing";
        }
        auto ip = test::registry::non_loopback_ipv4();
        if (!ip) GTEST_SKIP() << "no non-loopback IPv4 address";
        auto env = RegistryEnv::start_tls(*ip);
        ASSERT_TRUE(env) << env.error().msg;
        env_ = std::move(*env);
    }

    ClientOptions options(std::vector<std::string> certs_dirs) {
        ClientOptions o = test::registry::fast_client_options();
        o.certs_dirs = std::move(certs_dirs);
        return o;
    }

    std::unique_ptr<RegistryEnv> env_;
};

TEST_F(RegistryClientTls, CertsDirCaAndClientCertificate) {
    auto repo = open_repository(env_->host(), "berth/tls", Access::Push,
                                options({"/nonexistent/certs.d", env_->certs_dir()}));
    ASSERT_TRUE(repo);
    std::string data = random_bytes(100000, 4);
    Digest d = digest_of(data);
    auto p = (*repo)->push_blob(d, data.size(), source_of(data));
    ASSERT_TRUE(p) << p.error().msg;
    std::string got;
    auto f = (*repo)->fetch_blob(d, data.size(), sink_to(got));
    ASSERT_TRUE(f) << f.error().msg;
    EXPECT_EQ(got, data);
}

TEST_F(RegistryClientTls, UnknownCaFailsWithoutPlainHttpFallback) {
    auto repo = open_repository(env_->host(), "berth/tls", Access::Pull, options({}));
    ASSERT_TRUE(repo);
    auto st = (*repo)->stat_blob(digest_of("x"));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::Unavailable) << st.error().msg;
    EXPECT_NE(st.error().msg.find("https://" + env_->host()), std::string::npos) << st.error().msg;
}

TEST_F(RegistryClientTls, InsecureRegistrySkipsVerification) {
    // Verification off, but the client certificate is still presented from certs.d.
    auto o = options({env_->certs_dir()});
    o.insecure_registries = {env_->host()};
    // Hide the CA: only the client certificate remains.
    std::string hd = env_->certs_dir() + "/" + env_->host();
    ASSERT_EQ(rename((hd + "/ca.crt").c_str(), (hd + "/ca.crt.off").c_str()), 0);
    auto repo = open_repository(env_->host(), "berth/tls", Access::Pull, o);
    ASSERT_TRUE(repo);
    auto st = (*repo)->stat_blob(digest_of("x"));
    ASSERT_TRUE(st) << st.error().msg;
    EXPECT_FALSE(st->has_value());
}

}  // namespace
}  // namespace berth::registry
