#include "connection.hpp"

#include <fcntl.h>
#include <poll.h>
#include <strings.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "berth/api/server/http_status.hpp"
#include "berth/api/server/query.hpp"
#include "berth/common/log.hpp"

namespace berth::api::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

namespace {

// How long a hijacked stream waits for its client to read the response head.
constexpr std::chrono::milliseconds kHeadReadWait{200};

// Waits until the peer has read what was written to `fd` (SIOCOUTQ: on a unix socket, the bytes
// it has not read yet; on TCP, those it has not acknowledged), `limit` at most.
void wait_until_read(int fd, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    auto pause = std::chrono::microseconds(10);
    for (;;) {
        int queued = 0;
        if (::ioctl(fd, SIOCOUTQ, &queued) != 0 || queued <= 0) return;
        if (std::chrono::steady_clock::now() >= deadline) return;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
}

// A blocking SyncReadStream/SyncWriteStream over a socket fd, so that Beast's synchronous
// parser reads straight from the connection thread's socket (no io_context per connection).
class FdStream {
public:
    explicit FdStream(int fd) noexcept : fd_(fd) {}

    template <class MutableBufferSequence>
    size_t read_some(const MutableBufferSequence& buffers, beast::error_code& ec) {
        ec = {};
        for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers);
             ++it) {
            net::mutable_buffer b = *it;
            if (b.size() == 0) continue;
            for (;;) {
                ssize_t n = ::recv(fd_, b.data(), b.size(), 0);
                if (n > 0) return static_cast<size_t>(n);
                if (n == 0) {
                    ec = net::error::eof;
                    return 0;
                }
                if (errno == EINTR) continue;
                ec = beast::error_code(errno, beast::system_category());
                return 0;
            }
        }
        return 0;
    }

    template <class MutableBufferSequence>
    size_t read_some(const MutableBufferSequence& buffers) {
        beast::error_code ec;
        size_t n = read_some(buffers, ec);
        if (ec) throw beast::system_error(ec);
        return n;
    }

    template <class ConstBufferSequence>
    size_t write_some(const ConstBufferSequence& buffers, beast::error_code& ec) {
        ec = {};
        struct iovec iov[16];
        size_t n = 0;
        for (auto it = net::buffer_sequence_begin(buffers);
             it != net::buffer_sequence_end(buffers) && n < 16; ++it) {
            net::const_buffer b = *it;
            iov[n++] = {const_cast<void*>(b.data()), b.size()};
        }
        struct msghdr mh {};
        mh.msg_iov = iov;
        mh.msg_iovlen = n;
        for (;;) {
            ssize_t w = ::sendmsg(fd_, &mh, MSG_NOSIGNAL);
            if (w >= 0) return static_cast<size_t>(w);
            if (errno == EINTR) continue;
            ec = beast::error_code(errno, beast::system_category());
            return 0;
        }
    }

    template <class ConstBufferSequence>
    size_t write_some(const ConstBufferSequence& buffers) {
        beast::error_code ec;
        size_t n = write_some(buffers, ec);
        if (ec) throw beast::system_error(ec);
        return n;
    }

private:
    int fd_;
};

using Parser = http::request_parser<http::buffer_body>;

constexpr size_t kBodyReadBuffer = 256 * 1024;

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t w = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<size_t>(w));
    }
    return true;
}

// Waits until `fd` has the `events` (a non-blocking socket or pipe said EAGAIN). False if
// poll itself failed.
bool wait_for(int fd, short events) {
    struct pollfd pfd {
        fd, events, 0
    };
    for (;;) {
        int r = ::poll(&pfd, 1, -1);
        if (r > 0) return true;
        if (r < 0 && errno != EINTR) return false;
    }
}

// The request body, pulled from the parser in caller-sized pieces, or, once splice_to() was
// used on a Content-Length body, taken straight from the socket ("raw" mode: the parser is
// left behind, `remaining_` frames the body, and done() tells serve_connection() that the
// body was consumed so the connection can carry the next request).
class ConnBodyReader : public BodyReader {
public:
    ConnBodyReader(int fd, FdStream& s, beast::flat_buffer& buf, Parser& p, bool expect_continue)
        : fd_(fd), s_(s), buf_(buf), p_(p), expect_continue_(expect_continue) {}

    Result<size_t> read(std::span<char> out) override {
        if (out.empty() || done()) return size_t{0};
        BERTH_TRY(send_continue());
        if (raw_) return read_raw(out);
        // Beast reads at most the buffer's free capacity (512 bytes after a small header):
        // 400,000 recv calls for a 200 MiB import. A big buffer while a body is read keeps
        // that to a few hundred; it is freed with the connection.
        if (buf_.capacity() < kBodyReadBuffer) buf_.reserve(kBodyReadBuffer);
        for (;;) {
            p_.get().body().data = out.data();
            p_.get().body().size = out.size();
            beast::error_code ec;
            http::read(s_, buf_, p_, ec);
            if (ec == http::error::need_buffer) ec = {};
            if (ec) return make_error(Errc::Unavailable, "read request body: {}", ec.message());
            size_t got = out.size() - p_.get().body().size;
            delivered_ += got;
            if (got > 0 || p_.is_done()) return got;
        }
    }

    Result<size_t> splice_to(int pipe_wr, size_t max) override {
        if (!raw_) {
            // A chunked body has framing between its bytes: only the parser can read it.
            auto length = p_.content_length();
            if (p_.chunked() || !length)
                return make_error(Errc::Unsupported, "splice a body without Content-Length");
            remaining_ = *length - delivered_;
            raw_ = true;
        }
        if (max == 0 || done()) return size_t{0};
        BERTH_TRY(send_continue());
        size_t want = static_cast<size_t>(std::min<uint64_t>(max, remaining_));
        // The bytes read with the headers (or by an earlier read()) go first, copied: at most
        // one buffer's worth per request.
        if (buf_.size() > 0) {
            size_t n = std::min(want, buf_.size());
            BERTH_TRY(write_pipe(pipe_wr, static_cast<const char*>(buf_.data().data()), n));
            buf_.consume(n);
            remaining_ -= n;
            return n;
        }
        if (!can_splice_) return copy_to_pipe(pipe_wr, want);
        for (;;) {
            ssize_t n = ::splice(fd_, nullptr, pipe_wr, nullptr, want, SPLICE_F_MOVE);
            if (n > 0) {
                remaining_ -= static_cast<uint64_t>(n);
                return static_cast<size_t>(n);
            }
            if (n == 0) return short_body();
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                // Either side may be non-blocking: wait for data, then for room.
                if (!wait_for(fd_, POLLIN) || !wait_for(pipe_wr, POLLOUT))
                    return BERTH_SYS_ERROR("poll the connection while splicing a request body");
                continue;
            }
            if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
                // A socket type without splice support: copy through user space instead.
                can_splice_ = false;
                return copy_to_pipe(pipe_wr, want);
            }
            if (errno == EPIPE) return pipe_error("splice a request body into a pipe");
            return make_error(Errc::Unavailable, "read request body: {}", std::strerror(errno));
        }
    }

    /// True when the whole body was consumed (by the parser or by raw reads).
    bool done() const noexcept { return raw_ ? remaining_ == 0 : p_.is_done(); }

    // Reads and drops what is left of the body, up to `limit` bytes. False if more remains
    // or the read failed (the connection must then be closed).
    bool drain(size_t limit) {
        char tmp[16384];
        size_t total = 0;
        while (!done()) {
            auto n = read(std::span<char>(tmp, sizeof tmp));
            if (!n) return false;
            total += *n;
            if (total > limit) return false;
        }
        return true;
    }

private:
    Result<void> send_continue() {
        if (!expect_continue_) return {};
        // curl and others wait for this before sending a big body.
        expect_continue_ = false;
        if (!write_all(fd_, "HTTP/1.1 100 Continue\r\n\r\n"))
            return make_error(Errc::Unavailable, "client disconnected");
        return {};
    }

    // A failure on the pipe side: Internal whatever the errno, so that the caller tells it
    // from the client's failures (Unavailable).
    static Unexpected pipe_error(std::string_view what) {
        return Unexpected(Error{Errc::Internal, errno, std::string(what)});
    }

    Unexpected short_body() const {
        return make_error(Errc::Unavailable,
                          "read request body: client disconnected with {} bytes of the body unsent",
                          remaining_);
    }

    // Raw mode's read(): buffered bytes first, then the socket, never past the body's end.
    Result<size_t> read_raw(std::span<char> out) {
        size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), remaining_));
        if (buf_.size() > 0) {
            size_t n = std::min(want, buf_.size());
            std::memcpy(out.data(), buf_.data().data(), n);
            buf_.consume(n);
            remaining_ -= n;
            return n;
        }
        for (;;) {
            ssize_t n = ::recv(fd_, out.data(), want, 0);
            if (n > 0) {
                remaining_ -= static_cast<uint64_t>(n);
                return static_cast<size_t>(n);
            }
            if (n == 0) return short_body();
            if (errno == EINTR) continue;
            if (errno == EAGAIN && wait_for(fd_, POLLIN)) continue;
            return make_error(Errc::Unavailable, "read request body: {}", std::strerror(errno));
        }
    }

    // Writes all of `data` to the pipe (which may be non-blocking).
    static Result<void> write_pipe(int pipe_wr, const char* data, size_t n) {
        while (n > 0) {
            ssize_t w = ::write(pipe_wr, data, n);
            if (w > 0) {
                data += w;
                n -= static_cast<size_t>(w);
                continue;
            }
            if (w < 0 && errno == EINTR) continue;
            if (w < 0 && errno == EAGAIN && wait_for(pipe_wr, POLLOUT)) continue;
            return pipe_error("write a request body into a pipe");
        }
        return {};
    }

    // splice_to() where splice(2) does not work: one read() and its write into the pipe.
    Result<size_t> copy_to_pipe(int pipe_wr, size_t want) {
        std::vector<char> tmp(std::min<size_t>(want, kBodyReadBuffer));
        size_t n = BERTH_TRY(read_raw(std::span<char>(tmp.data(), tmp.size())));
        BERTH_TRY(write_pipe(pipe_wr, tmp.data(), n));
        return n;
    }

    int fd_;
    FdStream& s_;
    beast::flat_buffer& buf_;
    Parser& p_;
    bool expect_continue_;
    uint64_t delivered_ = 0;   ///< body bytes read() got from the parser
    bool raw_ = false;         ///< the parser is left behind (splice_to() was used)
    uint64_t remaining_ = 0;   ///< raw mode: body bytes still on the socket or in buf_
    bool can_splice_ = true;
};

std::string standard_headers(const ServerInfo& info) {
    return fmt::format(
        "Api-Version: {}\r\nDocker-Experimental: false\r\nOstype: linux\r\n"
        "Server: Docker/{} (linux)\r\n",
        info.api_version, info.server_version);
}

class ConnResponseWriter : public ResponseWriter {
public:
    ConnResponseWriter(int fd, const Request& req, const ServerInfo& info, bool keep_alive,
                       beast::flat_buffer& buf, ConnBodyReader& body)
        : fd_(fd), req_(req), info_(info), keep_alive_(keep_alive), buf_(buf), body_(body) {}

    Result<void> send(int status, std::string_view content_type, std::string_view body) override {
        if (started_) return make_error(Errc::Internal, "answer already started");
        started_ = true;
        bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
        std::string head = status_line(status) + standard_headers(info_);
        if (!content_type.empty()) head += fmt::format("Content-Type: {}\r\n", content_type);
        if (!no_body) head += fmt::format("Content-Length: {}\r\n", body.size());
        head += extra() + "\r\n";
        if (!no_body && req_.method != "HEAD") head.append(body);
        if (!write_all(fd_, head)) {
            broken_ = true;
            return make_error(Errc::Unavailable, "client disconnected");
        }
        return {};
    }

    Result<StreamWriter*> start_stream(int status, std::string_view content_type) override {
        if (started_) return make_error(Errc::Internal, "answer already started");
        started_ = true;
        std::string head = status_line(status) + standard_headers(info_);
        if (!content_type.empty()) head += fmt::format("Content-Type: {}\r\n", content_type);
        head += "Transfer-Encoding: chunked\r\n" + extra() + "\r\n";
        if (req_.method == "HEAD") keep_alive_ = false;  // no body may follow; just close
        stream_.emplace(fd_);
        if (!write_all(fd_, head)) {
            broken_ = true;
            return make_error(Errc::Unavailable, "client disconnected");
        }
        return &*stream_;
    }

    Result<int> start_body(int status, std::string_view content_type, uint64_t length) override {
        if (started_) return make_error(Errc::Internal, "answer already started");
        started_ = true;
        std::string head = status_line(status) + standard_headers(info_);
        if (!content_type.empty()) head += fmt::format("Content-Type: {}\r\n", content_type);
        head += fmt::format("Content-Length: {}\r\n", length) + extra() + "\r\n";
        if (!write_all(fd_, head)) {
            broken_ = true;
            return make_error(Errc::Unavailable, "client disconnected");
        }
        return req_.method == "HEAD" ? -1 : fd_;
    }

    Result<HijackedStream*> hijack(bool multiplexed) override {
        if (started_) return make_error(Errc::Internal, "answer already started");
        started_ = true;
        hijacked_ = true;
        // What is left of a request body is not stdin; bytes after it are.
        if (!body_.drain(1u << 20))
            return make_error(Errc::Unavailable, "read request body before hijack");
        std::string leftover(static_cast<const char*>(buf_.data().data()), buf_.data().size());
        buf_.consume(buf_.size());
        bool upgrade = req_.header("Upgrade").has_value();
        std::string head;
        if (upgrade) {
            const char* type = multiplexed && req_.version_at_least("1.42")
                                   ? "application/vnd.docker.multiplexed-stream"
                                   : "application/vnd.docker.raw-stream";
            head = fmt::format(
                "HTTP/1.1 101 UPGRADED\r\nContent-Type: {}\r\nConnection: Upgrade\r\n"
                "Upgrade: tcp\r\n",
                type);
        } else {
            head = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n";
        }
        head += standard_headers(info_) + extra() + "\r\n";
        hijacked_stream_.emplace(fd_, std::move(leftover));
        if (!write_all(fd_, head)) {
            broken_ = true;
            return make_error(Errc::Unavailable, "client disconnected");
        }
        // The stream's first bytes (an exec's output: it starts right after this) must not
        // reach the client with the head: docker-py reads the head through http.client's
        // buffered reader and then the stream from the socket underneath, so whatever that
        // buffer took in with the head is lost (exec_run returned no output). moby's exec
        // starts too slowly for that to happen; ours does not. Bounded, for a client that
        // reads nothing before it writes.
        wait_until_read(fd_, kHeadReadWait);
        return &*hijacked_stream_;
    }

    bool started() const noexcept override { return started_; }

    bool hijacked() const noexcept { return hijacked_; }
    bool broken() const noexcept { return broken_ || (stream_ && stream_->failed()); }
    bool keep_alive() const noexcept { return keep_alive_; }
    StreamWriter* stream() noexcept { return stream_ ? &*stream_ : nullptr; }

private:
    std::string status_line(int status) const {
        return fmt::format("HTTP/1.1 {} {}\r\n", status, http_reason(status));
    }
    std::string extra() const {
        std::string out;
        for (const auto& [k, v] : extra_headers_) out += fmt::format("{}: {}\r\n", k, v);
        if (!keep_alive_) out += "Connection: close\r\n";
        return out;
    }

    int fd_;
    const Request& req_;
    const ServerInfo& info_;
    bool keep_alive_;
    beast::flat_buffer& buf_;
    ConnBodyReader& body_;
    bool started_ = false;
    bool hijacked_ = false;
    bool broken_ = false;
    std::optional<StreamWriter> stream_;
    std::optional<HijackedStream> hijacked_stream_;
};

void send_bad_request(int fd, const ServerInfo& info, int status, const std::string& msg) {
    std::string body = nlohmann::json{{"message", msg}}.dump() + "\n";
    std::string out = fmt::format("HTTP/1.1 {} {}\r\n", status, http_reason(status)) +
                      standard_headers(info) +
                      fmt::format(
                          "Content-Type: application/json\r\nContent-Length: {}\r\n"
                          "Connection: close\r\n\r\n",
                          body.size()) +
                      body;
    (void)write_all(fd, out);
}

}  // namespace

void serve_connection(int fd, const Router& router, const ServerInfo& info) {
    FdStream stream(fd);
    beast::flat_buffer buf;
    for (;;) {
        Parser parser;
        parser.header_limit(1u << 20);  // X-Registry-Config can hold many credentials
        // Bodies are streamed, never held whole. (Not boost::none: Beast 1.74 compares the length
        // against the optional, and "none" is smaller than everything.)
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());
        beast::error_code ec;
        http::read_header(stream, buf, parser, ec);
        if (ec == http::error::end_of_stream || ec == net::error::eof ||
            ec == net::error::connection_reset || ec == net::error::broken_pipe ||
            ec == net::error::bad_descriptor || ec == net::error::not_connected)
            return;
        if (ec) {
            int status = ec == http::error::header_limit ? 431 : 400;
            send_bad_request(fd, info, status, "malformed HTTP request: " + ec.message());
            return;
        }
        auto& msg = parser.get();
        Request req;
        req.method = std::string(msg.method_string());
        req.target = std::string(msg.target());
        std::string_view target = msg.target();
        size_t q = target.find('?');
        req.path = percent_decode(target.substr(0, q), false);
        if (q != std::string_view::npos) req.query = Query::parse(target.substr(q + 1));
        for (const auto& f : msg)
            req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        req.server = &info;
        auto expect = req.header("Expect");
        bool expect_continue = expect && strcasecmp(expect->c_str(), "100-continue") == 0;

        ConnBodyReader body(fd, stream, buf, parser, expect_continue);
        req.set_body(&body);
        ConnResponseWriter rw(fd, req, info, parser.keep_alive(), buf, body);
        bool ok = router.dispatch(req, rw);

        if (rw.hijacked() || rw.broken() || !ok) return;
        if (!rw.started()) {
            (void)rw.send_error(Error{Errc::Internal, 0, "handler sent no answer"});
        }
        if (StreamWriter* s = rw.stream(); s != nullptr && !s->finished()) {
            if (req.method == "HEAD" || !s->finish()) return;
        }
        // Keep the framing right for the next request: the handler may have answered without
        // reading the whole body (an error before import started).
        if (!body.done() && !body.drain(16u << 20)) return;
        if (!rw.keep_alive()) return;
    }
}

}  // namespace berth::api::detail
