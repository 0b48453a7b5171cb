#pragma once
// The registry client's entry points: open a Repository (repository.hpp) on a real registry over
// libcurl, and log in (what POST /auth does). Authentication follows docker-api.md §5.2: the
// challenge of GET /v2/ (cached per host), Basic, or Bearer tokens per scope from the realm, with
// a password, an identity (refresh) token or a registry token; TLS with the system CAs plus
// certs.d; insecure and loopback registries tried over HTTPS, then plain HTTP.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/registry/repository.hpp"

namespace berth::registry {

/// Credentials for one registry: the decoded X-Registry-Auth (docker-api.md §5.1) or an entry of
/// config.json. Any subset may be set; precedence: registry_token, identity_token, then
/// username/password (or `auth`, base64 of "user:pass", when those are empty).
struct AuthConfig {
    std::string username;
    std::string password;
    std::string auth;            ///< base64("user:pass"), as config.json stores it
    std::string identity_token;  ///< a refresh token from an earlier login
    std::string registry_token;  ///< a bearer token used as is
    std::string server_address;
};

/// Retries of idempotent requests (connection errors, 5xx, 429): `attempts` tries in all, with
/// exponential back-off from `base_delay` (doubling, capped at `max_delay`), or Retry-After.
struct RetryPolicy {
    int attempts = 4;
    std::chrono::milliseconds base_delay{500};
    std::chrono::milliseconds max_delay{10000};
    /// How to wait; tests inject a recorder. Default: sleep_for.
    std::function<void(std::chrono::milliseconds)> sleep;
};

/// How the client talks to registries. The defaults are dockerd's.
struct ClientOptions {
    /// Credentials for a host ("docker.io", "127.0.0.1:5000"); nullopt = anonymous. Called
    /// once per open_repository(). When unset, `auth` is used for every host.
    std::function<std::optional<AuthConfig>(std::string_view host)> credentials;
    std::optional<AuthConfig> auth;
    /// --insecure-registry entries: "host[:port]" or a CIDR ("10.0.0.0/8"). Loopback hosts are
    /// always insecure (HTTPS without verification, then plain HTTP).
    std::vector<std::string> insecure_registries;
    /// Per-host TLS material: <dir>/<host[:port]>/*.crt (CAs), *.cert + *.key (client certs).
    std::vector<std::string> certs_dirs{"/etc/berth/certs.d", "/etc/docker/certs.d"};
    std::string user_agent = "berth/0.1.0";
    std::chrono::milliseconds connect_timeout{30000};
    /// A transfer that moves no byte for this long is broken (and resumed or retried).
    std::chrono::milliseconds stall_timeout{60000};
    RetryPolicy retry;
    /// Upload chunk size: blobs up to this size go in one PUT; larger ones in PATCHes of it.
    size_t chunk_size = 8u << 20;
};

/// Whether a repository is opened for reading only or for pushing too (the token scope).
enum class Access { Pull, Push };

/// A Repository on `registry_host` ("docker.io", "localhost:5000", as references name it) for
/// `repository_name` ("library/busybox"). Nothing is sent yet: the first operation pings /v2/
/// and authenticates. clone() shares the challenge, tokens and scheme (thread-safe).
/// InvalidArgument for an empty host or name.
[[nodiscard]] Result<std::unique_ptr<Repository>> open_repository(std::string_view registry_host,
                                                                  std::string_view repository_name,
                                                                  Access access,
                                                                  const ClientOptions& options);

/// What a successful login returns (POST /auth's answer).
struct LoginResult {
    std::string status = "Login Succeeded";
    std::string identity_token;  ///< the refresh token the token server gave, if any
};

/// Checks `auth` against `registry_host`: GET /v2/ through the challenge flow (asking the token
/// server for an offline refresh token). PermissionDenied with the registry's message for wrong
/// credentials; Unavailable when the registry cannot be reached.
[[nodiscard]] Result<LoginResult> login(std::string_view registry_host, const AuthConfig& auth,
                                        const ClientOptions& options);

/// The host the API lives on: "docker.io" (and "index.docker.io") -> "registry-1.docker.io",
/// anything else as is.
[[nodiscard]] std::string api_host_for(std::string_view registry_host);

/// The key credentials are stored under in config.json: "https://index.docker.io/v1/" for
/// Docker Hub, the host itself otherwise.
[[nodiscard]] std::string credentials_key_for(std::string_view registry_host);

/// True when `host` ("host[:port]") is loopback or matches an --insecure-registry entry.
[[nodiscard]] bool is_insecure_registry(std::string_view host,
                                        const std::vector<std::string>& insecure_registries);

}  // namespace berth::registry
