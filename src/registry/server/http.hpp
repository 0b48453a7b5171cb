#pragma once
// The registry server's HTTP layer, independent of the stream (plain TCP or TLS): what a handler
// sees of a request (headers, query, a streaming body) and what it answers (a small body or a
// range of a file, streamed without reading it into memory).

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"

namespace berth::registry::server {

/// A request body, read as it arrives (chunked or with Content-Length).
class BodyReader {
public:
    virtual ~BodyReader() = default;
    /// Fills up to `cap` bytes; 0 at the end of the body. Unavailable when the peer is gone.
    [[nodiscard]] virtual Result<size_t> read(char* buf, size_t cap) = 0;
    /// The whole body; InvalidArgument when it is larger than `limit`.
    [[nodiscard]] Result<std::string> read_all(size_t limit);
};

/// What a handler sees of a request.
struct HttpRequest {
    std::string method;                                      ///< "GET", "HEAD", ...
    std::string path;                                        ///< undecoded path, without the query
    std::vector<std::pair<std::string, std::string>> query;  ///< decoded, in order
    std::vector<std::pair<std::string, std::string>> headers;  ///< names as sent
    std::string remote;                                        ///< peer address, for logs
    BodyReader* body = nullptr;

    /// First header of that name (case-insensitive).
    [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
    /// First query parameter of that name.
    [[nodiscard]] std::optional<std::string> param(std::string_view name) const;
};

/// A response: status, headers, and either `body` or `length` bytes of `file` from `offset`.
/// For HEAD, `head_length` gives the Content-Length of what a GET would send.
struct HttpResponse {
    unsigned status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    UniqueFd file;
    uint64_t offset = 0;
    uint64_t length = 0;
    std::optional<uint64_t> head_length;

    HttpResponse& set(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
};

using Handler = std::function<HttpResponse(HttpRequest&)>;

/// Percent-decoding ('+' is kept: only query values of forms treat it as a space, and
/// registries' parameters never contain one).
[[nodiscard]] std::string url_decode(std::string_view s);

/// Serves one accepted connection until the peer closes it or the socket is shut down
/// (Server::stop, or the server's watchdog when the connection idles too long). While it waits
/// for a request it stores the steady-clock time (ms) it started waiting in `*idle_since`, and 0
/// while it handles one, so the watchdog can tell idle keep-alive connections from busy ones.
/// `tls_ctx` is a boost::asio::ssl::context* or null for plain HTTP. Takes ownership of `fd`.
void serve_connection(int fd, void* tls_ctx, const Handler& handler,
                      std::atomic<int64_t>* idle_since, std::string remote);

/// Milliseconds of the steady clock (the unit of `idle_since`).
[[nodiscard]] int64_t steady_ms() noexcept;

}  // namespace berth::registry::server
