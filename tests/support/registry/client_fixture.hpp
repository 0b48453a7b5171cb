#pragma once
// A GoogleTest fixture with an anonymous docker-registry per test, and client options with
// quick retries, for the registry client's tests.

#include <gtest/gtest.h>

#include <memory>

#include "berth/registry/client.hpp"
#include "registry_env.hpp"

namespace berth::test::registry {

/// Client options for tests: no certs.d, three attempts 10 ms apart, `chunk` upload chunks.
inline berth::registry::ClientOptions fast_client_options(size_t chunk = 64 << 10) {
    berth::registry::ClientOptions o;
    o.retry.attempts = 3;
    o.retry.base_delay = std::chrono::milliseconds(10);
    o.chunk_size = chunk;
    o.certs_dirs.clear();
    return o;
}

/// Starts an anonymous registry before each test (skipped without docker-registry).
class PlainRegistryTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!RegistryEnv::available()) GTEST_SKIP() << "/usr/bin/docker-registry is missing";
        auto env = RegistryEnv::start(RegistryEnv::Auth::None);
        ASSERT_TRUE(env) << env.error().msg;
        env_ = std::move(*env);
    }

    std::unique_ptr<RegistryEnv> env_;
};

}  // namespace berth::test::registry
