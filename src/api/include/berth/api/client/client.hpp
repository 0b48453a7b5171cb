#pragma once
// The Engine API client the berth CLI uses: synchronous HTTP/1.1 over a unix or TCP socket
// (Boost.Beast), with the docker CLI's version negotiation and error wording.
//
// Every call opens its own connection: a CLI run makes a handful of requests, and a fresh
// connection per request keeps streamed and hijacked requests (attach, exec) simple, since
// such a connection is never reused. hijack() takes the socket from the response parser after
// the 101 answer; open() keeps a response whose body is read later (run's wait, sent before
// start and read after the container exits).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/api/client/host.hpp"
#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"

namespace berth::api::client {

/// The newest API version this client speaks (it lowers it to the daemon's).
inline constexpr std::string_view kMaxApiVersion = "1.44";
/// The version assumed when the daemon's ping has no Api-Version header (docker's fallback).
inline constexpr std::string_view kFallbackApiVersion = "1.24";

/// Query parameters in order; repeated keys allowed ("names=a&names=b").
using Query = std::vector<std::pair<std::string, std::string>>;

/// Encodes a query as Go's url.Values.Encode does: keys sorted (stable), QueryEscape'd values.
std::string encode_query(const Query& q);

/// Compares two "X.Y" API versions: <0, 0, >0.
int compare_versions(std::string_view a, std::string_view b);

/// The bytes of a request body as a range of a file descriptor: the client sends them with
/// Content-Length and sendfile(2), never through a buffer of its own.
struct FdRange {
    int fd = -1;            ///< not owned
    uint64_t offset = 0;    ///< where the body starts in the file
    uint64_t size = 0;      ///< the body's length
};

/// A request body produced piece by piece (import and load upload hundreds of MiB). Sent with
/// Content-Length and sendfile(2) when fd_range() gives its bytes as a file range, otherwise
/// read() piece by piece and sent with chunked transfer encoding.
class BodySource {
public:
    virtual ~BodySource() = default;
    /// Fills up to `n` bytes of `buf`; returns 0 at the end of the body.
    [[nodiscard]] virtual Result<size_t> read(char* buf, size_t n) = 0;
    /// The body as a file range when its length is known up front (a regular file); nullopt
    /// (the default) when it is only known at its end (a pipe).
    [[nodiscard]] virtual std::optional<FdRange> fd_range() { return std::nullopt; }
};

/// A BodySource over a file descriptor it does not own (a file, or stdin). A regular file is
/// sent from its current offset to its end as a file range.
class FdBodySource final : public BodySource {
public:
    explicit FdBodySource(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
    [[nodiscard]] Result<size_t> read(char* buf, size_t n) override;
    [[nodiscard]] std::optional<FdRange> fd_range() override;

private:
    int fd_;
    std::string name_;
};

/// One API request. `path` is without the version prefix ("/images/json"); the client adds
/// "/v<negotiated>" unless `versioned` is false (ping).
struct Request {
    std::string method = "GET";
    std::string path;
    Query query;
    std::string body;                     ///< sent as is when not empty (and no stream_body)
    std::string content_type;             ///< "application/json" when body is JSON
    BodySource* stream_body = nullptr;    ///< if set: sent as BodySource says, body is ignored
    std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
    bool versioned = true;
};

/// A response whose body was read whole.
struct Response {
    unsigned status = 0;
    std::string content_type;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    /// The value of header `name` (case-insensitive), or "".
    [[nodiscard]] std::string header(std::string_view name) const;
};

/// What the daemon's /_ping says.
struct Ping {
    std::string api_version;  ///< "" when the daemon sent none
    std::string os_type;
    bool experimental = false;
};

/// Builds the error for a non-2xx answer as the docker client does: the JSON `message` when
/// Content-Type is exactly application/json, else the body text, as
/// "Error response from daemon: <message>"; the category follows the status (404 NotFound,
/// 409 Conflict, 400 InvalidArgument, 401/403 PermissionDenied, 501 Unsupported,
/// 503 Unavailable, otherwise Internal).
Error daemon_error(unsigned status, std::string_view content_type, std::string_view body);

/// A response whose status line and headers were read and whose body is still on the socket.
/// Owns its connection (and may outlive the Client).
class OpenResponse {
public:
    struct Impl;
    explicit OpenResponse(std::unique_ptr<Impl> impl);
    ~OpenResponse();
    OpenResponse(const OpenResponse&) = delete;
    OpenResponse& operator=(const OpenResponse&) = delete;

    /// Status and headers.
    [[nodiscard]] const Response& head() const;
    /// Reads the body to its end, handing it to `on_data` as it arrives.
    [[nodiscard]] Result<void> read_body(const std::function<Result<void>(std::string_view)>& on_data);
    /// Reads the whole body.
    [[nodiscard]] Result<std::string> read_all();

private:
    std::unique_ptr<Impl> impl_;
};

/// The raw connection of a hijacked request (attach, exec start): bytes flow both ways after
/// the daemon's 101 (or 200) answer. Owns the socket.
class HijackedConnection {
public:
    /// `fd`: the connected socket; `buffered`: bytes the HTTP parser read past the headers.
    HijackedConnection(UniqueFd fd, std::string buffered, Response head)
        : fd_(std::move(fd)), buffered_(std::move(buffered)), head_(std::move(head)) {}

    /// The socket, for poll(); read through read() so buffered bytes come first.
    [[nodiscard]] int fd() const { return fd_.get(); }
    /// True while bytes read with the headers have not been returned by read() yet.
    [[nodiscard]] bool has_buffered() const { return !buffered_.empty(); }
    /// The 101/200 answer's status and headers.
    [[nodiscard]] const Response& head() const { return head_; }
    /// Reads up to `n` bytes (buffered ones first); 0 at the end of the stream.
    [[nodiscard]] Result<size_t> read(char* buf, size_t n);
    /// Writes all of `data`.
    [[nodiscard]] Result<void> write(std::string_view data);
    /// Half-closes: the daemon sees EOF on the stream's stdin, output keeps flowing.
    [[nodiscard]] Result<void> close_write();
    /// Closes the socket.
    void close() { fd_.reset(); }

private:
    UniqueFd fd_;
    std::string buffered_;
    Response head_;
};

/// A client for one daemon. Not thread-safe; cheap to create.
class Client {
public:
    /// `pinned_version` (e.g. from DOCKER_API_VERSION) skips negotiation when not empty.
    explicit Client(Host host, std::string pinned_version = "");
    ~Client();
    Client(Client&&) noexcept;
    Client& operator=(Client&&) noexcept;

    /// The daemon's address.
    [[nodiscard]] const Host& host() const { return host_; }

    /// HEAD /_ping (GET when the answer is neither 200 nor 500). Unavailable with
    /// "Cannot connect to the Berth daemon at <url>. Is the berth daemon running?" when the
    /// socket can't be reached.
    [[nodiscard]] Result<Ping> ping();

    /// The version used for requests: negotiated on first use (min of the daemon's and
    /// kMaxApiVersion; kFallbackApiVersion if the daemon didn't say), or the pinned one.
    [[nodiscard]] Result<std::string> api_version();

    /// Sends a request and reads the whole answer. Non-2xx (except 304) answers become
    /// daemon_error(); transport failures are Unavailable.
    [[nodiscard]] Result<Response> call(const Request& req);

    /// call() and parse the body as JSON (InvalidArgument naming the route if it isn't JSON).
    [[nodiscard]] Result<nlohmann::json> call_json(const Request& req);

    /// Sends a request and hands the body to `on_data` as it arrives (progress streams, save).
    /// A failing on_data stops the transfer and its error is returned. `head` receives the
    /// status and headers (body empty) when not null.
    [[nodiscard]] Result<void> call_stream(const Request& req,
                                           const std::function<Result<void>(std::string_view)>& on_data,
                                           Response* head = nullptr);

    /// call_stream() split into newline-separated JSON values (pull/import/load progress).
    [[nodiscard]] Result<void> call_json_lines(const Request& req,
                                               const std::function<Result<void>(const nlohmann::json&)>& on_message,
                                               Response* head = nullptr);

    /// The body written to `fd` (save to a file or stdout); spliced, not copied through this
    /// process, when the answer has a Content-Length.
    [[nodiscard]] Result<void> call_to_fd(const Request& req, int fd);

    /// Sends a request and reads the status line and headers only; the body stays on the
    /// connection for OpenResponse::read_body(). Non-2xx answers are daemon_error()s (their
    /// body read here).
    [[nodiscard]] Result<std::unique_ptr<OpenResponse>> open(const Request& req);

    /// Sends a request with "Connection: Upgrade" and "Upgrade: tcp" and, on a 101 answer
    /// (or a 200, which daemons send to requests without Upgrade and docker-py accepts), hands
    /// over the raw connection. Other answers are daemon_error()s.
    [[nodiscard]] Result<std::unique_ptr<HijackedConnection>> hijack(const Request& req);

    struct HijackAndOpen {
        std::unique_ptr<HijackedConnection> hijacked;
        std::unique_ptr<OpenResponse> opened;
    };
    /// hijack() and open() of two requests at once: both are sent before either answer is
    /// read, so the daemon handles them together (run's attach and wait, which must both be in
    /// place before its start: one round trip instead of two). The hijack's error first.
    [[nodiscard]] Result<HijackAndOpen> hijack_and_open(const Request& hijack_req,
                                                        const Request& open_req);

    /// Closes the connection kept open for the next request (HTTP/1.1 keep-alive: call(),
    /// call_stream() and call_to_fd() reuse the last one whose answer they read whole), which
    /// holds a daemon thread while it waits: before a long wait of the command's own.
    void close_idle();

private:
    // "/v<version><path>?<query>" for a request.
    [[nodiscard]] Result<std::string> target_for(const Request& req);

    struct Impl;
    Host host_;
    // The version in a request's path: the negotiated one; before any negotiation,
    // kMaxApiVersion without a ping (one round trip less per command), except for a request
    // that could not be sent again (a streamed body) or whose error has no body (HEAD).
    Result<std::string> request_version(const Request& req);
    // After `err` answered a request sent with the optimistic version: true if the daemon
    // refused that version ("client version 1.44 is too new. Maximum supported API version is
    // 1.41", moby's words) and the version is now negotiated, so the request can be sent again.
    bool renegotiated(const Request& req, const Error& err);
    // Sends `req` and, for a 2xx/304 head, hands the connection to `on_body` (an error answer
    // becomes the Error); once more if the version had to be renegotiated. Defined and used
    // in client.cpp only.
    template <class OnBody>
    Result<void> with_answer(const Request& req, Response* head, const OnBody& on_body);

    std::string version_;
    bool negotiated_ = false;
    bool optimistic_ = false;  ///< requests went with kMaxApiVersion, no ping yet
    std::unique_ptr<Impl> impl_;
};

}  // namespace berth::api::client
