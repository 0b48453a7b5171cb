#pragma once
// One libcurl easy handle and one HTTP exchange on it (no redirects, no auth, no retries: the
// session layer, session.hpp, decides those). Keeps connections alive between exchanges.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/common/result.hpp"

namespace berth::registry::client {

/// TLS settings for one host: verification on or off, extra CA files (certs.d *.crt) added to
/// the system store, and a client certificate (certs.d *.cert + *.key).
struct TlsConfig {
    bool verify = true;
    std::vector<std::string> ca_files;
    std::string client_cert;
    std::string client_key;
};

struct HttpResponse;

/// A request as sent: the body, when there is one, is in memory (uploads send chunks).
struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::string> headers;  ///< "Name: value"
    std::optional<std::string_view> body;
    /// Receives the body of a 2xx answer as it arrives (false aborts the transfer); without
    /// one, and for other statuses, the body is buffered in HttpResponse::body.
    std::function<bool(const HttpResponse&, std::string_view)> sink;
    /// Bodies buffered beyond this are cut (HttpResponse::truncated).
    size_t max_body = 4u << 20;
    /// Whole-exchange limit (0: none, only the stall timeout), for small exchanges such as the
    /// ping, where a server that never answers a TLS hello must not hold us for long.
    long timeout_ms = 0;
};

/// What came back: status, headers (names lower-cased, in order) and the buffered body.
struct HttpResponse {
    long status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool truncated = false;
    std::string url;  ///< the URL asked

    /// First value of header `lname` (lower-case name).
    [[nodiscard]] std::optional<std::string> header(std::string_view lname) const;
    /// Every value of header `lname`.
    [[nodiscard]] std::vector<std::string> header_all(std::string_view lname) const;
};

/// Why an exchange failed below HTTP; `sink_aborted` when the sink refused bytes.
struct TransportFailure {
    int curl_code = 0;
    bool sink_aborted = false;
    bool tls = false;  ///< the failure was in the TLS handshake (or the peer is not TLS)
    uint64_t body_bytes = 0;
};

/// Connection timeouts for every exchange.
struct HttpTimeouts {
    long connect_ms = 30000;
    long stall_ms = 60000;
};

/// Owns a CURL easy handle. Move-only; not thread-safe (one per Repository handle).
class HttpConnection {
public:
    HttpConnection(std::string user_agent, HttpTimeouts timeouts);
    ~HttpConnection();
    HttpConnection(HttpConnection&&) noexcept;
    HttpConnection& operator=(HttpConnection&&) noexcept;
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    /// Performs one exchange. Errors are transport failures (Unavailable; `failure` says more);
    /// any HTTP status is a success here.
    [[nodiscard]] Result<HttpResponse> perform(const HttpRequest& req, const TlsConfig& tls,
                                               TransportFailure* failure = nullptr);

private:
    void* curl_ = nullptr;
    std::string user_agent_;
    HttpTimeouts timeouts_;
};

/// Resolves `location` (absolute, or relative to `base`) to an absolute URL, keeping its query.
[[nodiscard]] Result<std::string> resolve_url(const std::string& base, const std::string& location);

/// "scheme://host:port" of a URL (lower-cased host, default ports filled), for comparing
/// origins; empty when unparsable.
[[nodiscard]] std::string url_origin(const std::string& url);

/// "host[:port]" of a URL as written (for certs.d lookups).
[[nodiscard]] std::string url_host_port(const std::string& url);

/// ASCII lower case (header names, hosts, auth schemes).
[[nodiscard]] std::string ascii_lower(std::string_view s);

/// Percent-encodes a query value.
[[nodiscard]] std::string url_escape(std::string_view s);

}  // namespace berth::registry::client
