#pragma once
// How a handler answers. Exactly one of: send*() (a whole answer), start_stream() (status and
// headers flushed at once, then chunks as they come: docker-api.md §3.1) or hijack() (the
// socket itself: §3.2). The standard headers (Api-Version, Ostype, Server,
// Docker-Experimental) are added to every answer by the server.

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/api/server/io.hpp"
#include "berth/common/result.hpp"

namespace berth::api {

/// A chunked streaming answer. Every write is sent as one chunk and flushed.
class StreamWriter : public Writer {
public:
    /// `fd` is borrowed from the connection.
    explicit StreamWriter(int fd) noexcept : fd_(fd) {}

    /// Sends `data` as one chunk (nothing for empty data: an empty chunk would end the body).
    /// Errors: Unavailable "client disconnected" once the peer is gone; stop the work then.
    [[nodiscard]] Result<void> write(std::string_view data) override;

    /// Sends the JSON document followed by "\n" (events, progress lines).
    [[nodiscard]] Result<void> write_json_line(const nlohmann::json& j);

    /// True if the client closed its end (checked without blocking). Lets a handler that is
    /// waiting for something to send (events) notice a client that went away.
    [[nodiscard]] bool client_gone() const noexcept;

    /// Ends the chunked body (the last chunk). The server calls it after the handler; calling
    /// it earlier is allowed. Errors: Unavailable.
    [[nodiscard]] Result<void> finish();

    /// Sends `last` as the last data chunk and ends the body, in one write: a client that
    /// reads to the end of the body (the docker CLI's wait) is woken once, not twice.
    [[nodiscard]] Result<void> finish(std::string_view last);
    /// finish() with write_json_line()'s line as the last chunk.
    [[nodiscard]] Result<void> finish_json_line(const nlohmann::json& j);

    [[nodiscard]] bool finished() const noexcept { return finished_; }
    [[nodiscard]] bool failed() const noexcept { return failed_; }

private:
    /// `data` as one chunk, followed by `after` (its "\r\n", and the last chunk with finish),
    /// in one write.
    Result<void> send_chunk(std::string_view data, std::string_view after);

    int fd_;
    bool finished_ = false;
    bool failed_ = false;
};

/// The client's socket after a hijack (docker-api.md §3.2). Bytes the HTTP parser had already
/// read past the request are returned first by read(). Reads return 0 when the client
/// half-closed its side; writes keep working until it closes the connection.
class HijackedStream : public BodyReader, public Writer {
public:
    HijackedStream(int fd, std::string leftover) noexcept
        : fd_(fd), leftover_(std::move(leftover)) {}

    /// Reads client bytes (stdin). 0 = the client shut down its write side (EOF on stdin).
    [[nodiscard]] Result<size_t> read(std::span<char> buf) override;

    /// Writes all of `data` to the client. Errors: Unavailable when the client is gone.
    [[nodiscard]] Result<void> write(std::string_view data) override;

    /// Half-closes: the client sees EOF on its read side; reading stays possible.
    [[nodiscard]] Result<void> close_write();

    /// The socket, borrowed (for poll() loops that also wait on a pty or a pipe). Read
    /// buffered_size() bytes through read() first: they are no longer in the socket.
    [[nodiscard]] int fd() const noexcept { return fd_; }

    /// Bytes already received but not yet returned by read().
    [[nodiscard]] size_t buffered_size() const noexcept { return leftover_.size() - pos_; }

private:
    int fd_;
    std::string leftover_;
    size_t pos_ = 0;
};

/// Multiplexed stream frames for attach/exec/logs without a TTY: each chunk is preceded by an
/// 8-byte header [stream, 0, 0, 0, size as big-endian uint32] (stream 0 stdin, 1 stdout,
/// 2 stderr).
enum class MuxStream : uint8_t { Stdin = 0, Stdout = 1, Stderr = 2 };

/// The 8-byte frame header for `size` bytes of `stream`.
std::string mux_header(MuxStream stream, uint32_t size);

/// Writes `data` to `out` as frames of `stream` (split at 4 GiB - 1, never in practice).
/// Errors: the writer's.
[[nodiscard]] Result<void> write_mux_frame(Writer& out, MuxStream stream, std::string_view data);

/// The answer side of one request; implemented by the server for each connection.
class ResponseWriter {
public:
    virtual ~ResponseWriter() = default;

    /// Adds a header to the answer that follows (before send/start_stream/hijack).
    void set_header(std::string name, std::string value) {
        extra_headers_.emplace_back(std::move(name), std::move(value));
    }

    /// Sends a whole answer. A HEAD request gets the headers only. Errors: Unavailable.
    [[nodiscard]] virtual Result<void> send(int status, std::string_view content_type,
                                            std::string_view body) = 0;

    /// Starts a chunked answer: status and headers are written and flushed now.
    /// The returned writer lives until the handler returns. Errors: Unavailable.
    [[nodiscard]] virtual Result<StreamWriter*> start_stream(int status,
                                                             std::string_view content_type) = 0;

    /// Starts an answer whose body is exactly `length` raw bytes (Content-Length, no chunks),
    /// which the handler writes itself to the returned socket (borrowed; -1 for a HEAD
    /// request: no body then). A body cut short by an error closes the connection, which is
    /// how the client learns of it. For large bodies whose size is known before the first
    /// byte (image save): the client can splice them, and no chunk framing is in between.
    /// Errors: Unavailable.
    [[nodiscard]] virtual Result<int> start_body(int status, std::string_view content_type,
                                                 uint64_t length) = 0;

    /// Takes over the connection. With an `Upgrade` header in the request the server answers
    /// "101 UPGRADED" with Content-Type application/vnd.docker.multiplexed-stream when
    /// `multiplexed` and the request's API version is >= 1.42, raw-stream otherwise; without
    /// it, "200 OK" with the raw-stream type, unchunked, closed at the end (old clients).
    /// The connection is closed when the handler returns. Errors: Unavailable.
    [[nodiscard]] virtual Result<HijackedStream*> hijack(bool multiplexed) = 0;

    /// True once an answer (whole, streamed or hijacked) has begun.
    [[nodiscard]] virtual bool started() const noexcept = 0;

    /// Sends `j` as application/json with `status`.
    [[nodiscard]] Result<void> send_json(int status, const nlohmann::json& j);

    /// Sends an answer without body (201, 204, 304, ...).
    [[nodiscard]] Result<void> send_status(int status);

    /// Sends `err` as {"message": ...} with the status of http_status_for(err.code).
    [[nodiscard]] Result<void> send_error(const Error& err);

protected:
    std::vector<std::pair<std::string, std::string>> extra_headers_;
};

/// A Writer that starts a streaming answer on its first write. Used where moby uses a
/// WriteFlusher: an error before anything was written can still become a normal HTTP error.
class LazyStream : public Writer {
public:
    LazyStream(ResponseWriter& rw, std::string content_type)
        : rw_(rw), content_type_(std::move(content_type)) {}

    /// Starts the 200 stream if needed, then writes `data`. Errors: Unavailable.
    [[nodiscard]] Result<void> write(std::string_view data) override;

    /// Starts the stream now even if nothing was written (for an empty but successful answer).
    [[nodiscard]] Result<void> start();

    [[nodiscard]] bool started() const noexcept { return stream_ != nullptr; }

private:
    ResponseWriter& rw_;
    std::string content_type_;
    StreamWriter* stream_ = nullptr;
};

}  // namespace berth::api
