#pragma once
// Test helpers for the registry client: Debian's docker-registry (distribution 2.8) started on
// 127.0.0.1:<free port> with its own config and storage in a temp dir, optionally behind
// htpasswd or a small token server (token_server.py), and the python fronts of proxy.py.
// Every process is killed by PID and reaped when its owner goes away.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/process.hpp"
#include "berth/common/result.hpp"

namespace berth::test::registry {

/// Where token_server.py and proxy.py live.
[[nodiscard]] std::string support_dir();

/// A directory under /tmp removed with everything in it on destruction.
class ScratchDir {
public:
    ScratchDir();
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::string path_;
};

/// A port nobody listens on right now (bound to 0, then closed).
[[nodiscard]] int free_port();

/// True once <ip>:port accepts connections.
[[nodiscard]] bool wait_port(int port, std::chrono::milliseconds timeout,
                             const std::string& ip = "127.0.0.1");

/// An IPv4 address of this host that is not loopback (for TLS tests that must not count as
/// insecure); nullopt when there is none.
[[nodiscard]] std::optional<std::string> non_loopback_ipv4();

/// A child process whose stdout and stderr go to `log`; SIGKILLed and reaped on destruction.
[[nodiscard]] Result<ChildProcess> spawn_logged(const std::vector<std::string>& argv,
                                                const std::string& log);

/// The contents of `path` once it exists (the python helpers write their ports there).
[[nodiscard]] std::optional<std::string> wait_file(const std::string& path,
                                                   std::chrono::milliseconds timeout);

/// A running docker-registry and, for token auth, its token server.
class RegistryEnv {
public:
    enum class Auth { None, Htpasswd, Token };

    /// Starts it. Htpasswd and Token know the users "user:pass" and "reader:rpass" (Token grants
    /// "reader" pull only). Unavailable when a helper does not come up.
    [[nodiscard]] static Result<std::unique_ptr<RegistryEnv>> start(Auth auth);

    /// Starts it over TLS on <ip>:<free port> (certificates made by make_certs.py), demanding a
    /// client certificate; certs_dir() then holds <ip>:<port>/{ca.crt,client.cert,client.key}.
    [[nodiscard]] static Result<std::unique_ptr<RegistryEnv>> start_tls(const std::string& ip);

    /// The certs.d directory made by start_tls().
    [[nodiscard]] std::string certs_dir() const { return dir_.path() + "/certs.d"; }

    /// True when /usr/bin/docker-registry is installed (tests skip otherwise).
    [[nodiscard]] static bool available();

    [[nodiscard]] const std::string& host() const { return host_; }  ///< "127.0.0.1:<port>"
    [[nodiscard]] int port() const { return port_; }
    [[nodiscard]] int token_port() const { return token_port_; }
    [[nodiscard]] const std::string& dir() const { return dir_.path(); }
    /// GET http://127.0.0.1:<token_port>/log (the token server's request log, JSON).
    [[nodiscard]] Result<std::string> token_log() const;

private:
    ScratchDir dir_;
    std::string host_;
    int port_ = 0;
    int token_port_ = 0;
    ChildProcess token_server_;
    ChildProcess registry_;
};

/// proxy.py in front of an upstream registry ("cut" or "redirect" mode).
class ProxyEnv {
public:
    /// `extra` goes on proxy.py's command line (--cut-after N, --basic u:p, ...).
    [[nodiscard]] static Result<std::unique_ptr<ProxyEnv>> start(const std::string& mode,
                                                                 const std::string& upstream,
                                                                 std::vector<std::string> extra);

    [[nodiscard]] const std::string& host() const { return host_; }  ///< the front
    /// GET /_stats of the front (JSON).
    [[nodiscard]] Result<std::string> stats() const;

private:
    ScratchDir dir_;
    std::string host_;
    int port_ = 0;
    ChildProcess proc_;
};

/// A plain HTTP GET on 127.0.0.1 (for the helpers' stats); the body.
[[nodiscard]] Result<std::string> http_get_local(int port, const std::string& path);

}  // namespace berth::test::registry
