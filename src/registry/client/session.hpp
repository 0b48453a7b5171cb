#pragma once
// What the handles on one registry share (Session: scheme found by the ping, the auth challenge,
// tokens per scope, TLS settings per host; thread-safe) and what each handle owns (Requester: a
// libcurl connection plus the request loop: authorization, redirects, 401 handling, retries).

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/registry/client.hpp"
#include "http.hpp"

namespace berth::registry::client {

/// One challenge of a WWW-Authenticate header: scheme lower-cased ("bearer", "basic") and its
/// parameters (names lower-cased, values unquoted).
struct Challenge {
    std::string scheme;
    std::map<std::string, std::string> params;

    [[nodiscard]] std::string param(const std::string& name) const {
        auto it = params.find(name);
        return it == params.end() ? std::string() : it->second;
    }
};

/// Parses a WWW-Authenticate value (quoted values may hold commas: scope="repo:x:pull,push").
[[nodiscard]] std::vector<Challenge> parse_www_authenticate(std::string_view value);

/// Adds `scope` ("repository:<name>:<actions>") to `scopes`, merging the actions of an entry for
/// the same resource. Returns true if anything changed.
bool merge_scope(std::vector<std::string>& scopes, std::string_view scope);

/// The error a registry's answer stands for: code from the status (404 NotFound, 401/403
/// PermissionDenied, 429 and 5xx Unavailable, other 4xx InvalidArgument), message
/// "<what>: <CODE>: <message>" from the body's {"errors":[...]} (or the status).
[[nodiscard]] Error registry_error(const HttpResponse& resp, std::string_view what);

/// State shared by every handle on one registry (open_repository() and its clones).
class Session {
public:
    Session(std::string registry, ClientOptions options, std::optional<AuthConfig> creds);

    [[nodiscard]] const std::string& registry() const { return registry_; }
    [[nodiscard]] const std::string& api_host() const { return api_host_; }
    [[nodiscard]] const ClientOptions& options() const { return options_; }
    [[nodiscard]] const std::optional<AuthConfig>& creds() const { return creds_; }
    [[nodiscard]] bool insecure() const { return insecure_; }

    /// TLS settings for a host[:port] (certs.d; verification off for insecure hosts).
    [[nodiscard]] TlsConfig tls_for(const std::string& host_port);

    // Everything below is guarded by mu_.
    [[nodiscard]] std::string scheme();
    void set_scheme(std::string s);
    [[nodiscard]] std::optional<Challenge> challenge();
    void set_challenge(std::optional<Challenge> c);
    [[nodiscard]] std::optional<std::string> cached_token(const std::string& key);
    void store_token(const std::string& key, std::string token, std::chrono::seconds ttl);
    void drop_token(const std::string& key);
    [[nodiscard]] std::string refresh_token();
    void set_refresh_token(std::string t);

    /// Serialises the ping so that concurrent first requests probe the scheme once.
    std::mutex ping_mu;

private:
    struct Token {
        std::string value;
        std::chrono::steady_clock::time_point expires;
    };
    std::string registry_;
    std::string api_host_;
    ClientOptions options_;
    std::optional<AuthConfig> creds_;
    bool insecure_ = false;

    std::mutex mu_;
    std::string scheme_;
    std::optional<Challenge> challenge_;
    std::map<std::string, Token> tokens_;
    std::string refresh_token_;
    std::map<std::string, TlsConfig> tls_;
};

/// One request as the repository code describes it.
struct Call {
    std::string method = "GET";
    std::string url;  ///< "/v2/..." (on the registry) or an absolute URL (a Location)
    std::vector<std::string> headers;
    std::optional<std::string_view> body;
    std::function<bool(const HttpResponse&, std::string_view)> sink;
    size_t max_body = 4u << 20;
    bool idempotent = true;  ///< retried on connection errors, 5xx and 429
};

/// A connection plus the request loop, for one handle (not thread-safe).
class Requester {
public:
    explicit Requester(std::shared_ptr<Session> session);

    [[nodiscard]] Session& session() { return *session_; }
    [[nodiscard]] const std::shared_ptr<Session>& shared_session() const { return session_; }

    /// Sends `call` with authorization for `scopes` (which grow when the registry asks for more
    /// with insufficient_scope), following redirects (dropping Authorization on an origin
    /// change), answering one 401 with fresh credentials, and retrying idempotent calls.
    /// Errors are transport failures (Unavailable) and auth failures; any status is returned.
    [[nodiscard]] Result<HttpResponse> send(const Call& call, std::vector<std::string>& scopes);

    /// Finds the scheme and challenge with GET /v2/ (once per session).
    [[nodiscard]] Result<void> ping();

    /// Login: the challenge, then a token without scope asking for a refresh token (Bearer) or
    /// GET /v2/ with Basic. Returns the refresh token, if the token server gave one.
    [[nodiscard]] Result<std::string> login();

    /// What the last failed exchange said below HTTP.
    [[nodiscard]] const TransportFailure& last_failure() const { return last_failure_; }

    /// Waits before retry `attempt` (1-based): Retry-After when given, else back-off.
    void back_off(int attempt, const HttpResponse* resp);

private:
    [[nodiscard]] Result<std::string> authorization(const std::vector<std::string>& scopes,
                                                    bool offline);
    [[nodiscard]] Result<std::string> fetch_token(const Challenge& ch,
                                                  const std::vector<std::string>& scopes,
                                                  bool offline);
    [[nodiscard]] Result<HttpResponse> exchange(HttpRequest req, const std::string& auth,
                                                TransportFailure* tf);
    [[nodiscard]] std::string absolute(const std::string& url);

    std::shared_ptr<Session> session_;
    HttpConnection conn_;
    TransportFailure last_failure_;
};

}  // namespace berth::registry::client
