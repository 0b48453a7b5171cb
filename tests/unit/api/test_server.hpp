#pragma once
// The route tests' server: an api::Server listening on a unix socket in a temporary directory
// of its own, running on a thread, with the routes the test registers.

#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/api/server/router.hpp"
#include "berth/api/server/server.hpp"
#include "test_client.hpp"

namespace berth::api::test {

class TestServer {
public:
    /// Makes the directory from `dir_template` ("/tmp/berth-test-x-XXXXXX"), lets `routes`
    /// register on the router, listens on <dir>/<socket_rel> (listen() creates missing
    /// directories) and serves on a thread.
    Result<void> start(const std::string& dir_template,
                       const std::function<void(Router&)>& routes,
                       const std::string& socket_rel = "berth.sock") {
        std::vector<char> tmpl(dir_template.begin(), dir_template.end());
        tmpl.push_back('\0');
        if (::mkdtemp(tmpl.data()) == nullptr)
            return make_error(Errc::Internal, "mkdtemp {}", dir_template);
        dir_ = tmpl.data();
        sock_ = dir_ + "/" + socket_rel;
        ServerOptions o;
        o.hosts = {"unix://" + sock_};
        server_ = std::make_unique<Server>(o);
        routes(server_->router());
        BERTH_TRY(server_->listen());
        thread_ = std::thread([this] { server_->run(); });
        return {};
    }

    /// Stops the server and joins its thread (run() has returned then). Idempotent.
    void stop() {
        if (server_) server_->stop();
        if (thread_.joinable()) thread_.join();
        server_.reset();
    }

    /// Stops, and removes the directory.
    ~TestServer() {
        stop();
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }

    const std::string& dir() const noexcept { return dir_; }
    const std::string& sock() const noexcept { return sock_; }

private:
    std::string dir_;
    std::string sock_;
    std::unique_ptr<Server> server_;
    std::thread thread_;
};

/// The "message" of a JSON error answer, or the body itself when it is not JSON.
inline std::string error_message(const HttpResponse& r) {
    try {
        return nlohmann::json::parse(r.body).value("message", "");
    } catch (...) {
        return "<not json: " + r.body + ">";
    }
}

/// Runs `cmd` through the shell (the real docker CLI, curl): its exit status and stdout+stderr.
inline std::pair<int, std::string> shell(const std::string& cmd) {
    std::FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr) return {-1, ""};
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int rc = ::pclose(p);
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

}  // namespace berth::api::test
