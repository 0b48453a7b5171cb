// One HTTP/1.1 connection of the registry server: Beast's parser over a blocking socket (plain or
// TLS), keep-alive, Expect: 100-continue, chunked request bodies streamed to the handler, and
// responses streamed from files (sendfile(2) on plain TCP).
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <limits>
#include <sstream>
#include <type_traits>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "berth/common/log.hpp"
#include "http.hpp"

namespace berth::registry::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void parse_query(std::string_view q, std::vector<std::pair<std::string, std::string>>& out) {
    while (!q.empty()) {
        size_t amp = q.find('&');
        std::string_view kv = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        if (kv.empty()) continue;
        size_t eq = kv.find('=');
        if (eq == std::string_view::npos)
            out.emplace_back(url_decode(kv), "");
        else
            out.emplace_back(url_decode(kv.substr(0, eq)), url_decode(kv.substr(eq + 1)));
    }
}

constexpr size_t kChunk = 1 << 20;

// The per-stream part: Stream is tcp::socket or ssl::stream<tcp::socket>.
template <class Stream>
class Connection {
public:
    Connection(Stream& stream, const Handler& handler, std::atomic<int64_t>* idle_since,
               std::string remote)
        : stream_(stream), handler_(handler), idle_since_(idle_since), remote_(std::move(remote)) {}

    void run() {
        for (;;) {
            idle_since_->store(steady_ms());
            http::request_parser<http::buffer_body> parser;
            parser.body_limit(std::numeric_limits<std::uint64_t>::max());
            parser.header_limit(64 * 1024);
            beast::error_code ec;
            http::read_header(stream_, buffer_, parser, ec);
            idle_since_->store(0);
            if (ec) {
                if (ec != http::error::end_of_stream && ec != net::error::eof &&
                    ec != net::error::connection_reset && ec != net::ssl::error::stream_truncated)
                    BLOG_DEBUG("registry: {}: read request: {}", remote_, ec.message());
                return;
            }
            if (!serve_one(parser)) return;
        }
    }

private:
    class Body : public BodyReader {
    public:
        Body(Connection& c, http::request_parser<http::buffer_body>& p) : c_(c), p_(p) {}
        Result<size_t> read(char* buf, size_t cap) override {
            if (failed_) return make_error(Errc::Unavailable, "read request body: connection lost");
            if (expect_continue_ && !continue_sent_) {
                continue_sent_ = true;
                static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
                beast::error_code ec;
                net::write(c_.stream_, net::buffer(k100.data(), k100.size()), ec);
                if (ec) {
                    failed_ = true;
                    return make_error(Errc::Unavailable, "send 100 Continue: {}", ec.message());
                }
            }
            while (!p_.is_done()) {
                auto& b = p_.get().body();
                b.data = buf;
                b.size = cap;
                beast::error_code ec;
                http::read(c_.stream_, c_.buffer_, p_, ec);
                if (ec == http::error::need_buffer) ec = {};
                if (ec) {
                    failed_ = true;
                    return make_error(Errc::Unavailable, "read request body: {}", ec.message());
                }
                size_t n = cap - b.size;
                if (n > 0) return n;
            }
            return size_t{0};
        }
        bool expect_continue_ = false;
        bool continue_sent_ = false;
        bool failed_ = false;

    private:
        Connection& c_;
        http::request_parser<http::buffer_body>& p_;
    };

    // Handles one request whose header is read; false to close the connection.
    bool serve_one(http::request_parser<http::buffer_body>& parser) {
        auto& msg = parser.get();
        HttpRequest req;
        req.method = std::string(msg.method_string());
        std::string_view target(msg.target().data(), msg.target().size());
        size_t qpos = target.find('?');
        req.path = std::string(target.substr(0, qpos));
        if (qpos != std::string_view::npos) parse_query(target.substr(qpos + 1), req.query);
        for (const auto& f : msg)
            req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        req.remote = remote_;
        Body body(*this, parser);
        auto expect = req.header("Expect");
        body.expect_continue_ = expect && iequals(*expect, "100-continue");
        req.body = &body;
        bool keep_alive = msg.keep_alive();
        bool is_head = msg.method() == http::verb::head;

        HttpResponse res = handler_(req);
        BLOG_DEBUG("registry: {} {} {} -> {}", remote_, req.method, target, res.status);

        // Whatever of the body the handler left unread: drain a little, else close (a client
        // that waits for 100 Continue sends nothing more, so never wait for it).
        if (!parser.is_done() && !body.failed_) {
            if (body.expect_continue_ && !body.continue_sent_) {
                keep_alive = false;
            } else {
                std::string scratch(64 * 1024, '\0');
                size_t drained = 0;
                while (!parser.is_done() && drained < (4u << 20)) {
                    auto n = body.read(scratch.data(), scratch.size());
                    if (!n || *n == 0) break;
                    drained += *n;
                }
                if (!parser.is_done()) keep_alive = false;
            }
        }
        if (body.failed_) return false;
        return write_response(res, keep_alive, is_head, msg.version());
    }

    bool write_response(HttpResponse& res, bool keep_alive, bool is_head, unsigned version) {
        http::response<http::empty_body> head;
        head.version(version);
        head.result(res.status);
        head.set(http::field::server, "berth-registry");
        for (auto& [k, v] : res.headers) head.insert(k, v);
        uint64_t length = res.file ? res.length : res.body.size();
        if (res.head_length) length = *res.head_length;
        bool no_body =
            res.status == 204 || res.status == 304 || (res.status >= 100 && res.status < 200);
        if (!no_body) head.content_length(length);
        head.keep_alive(keep_alive);
        std::string hdr;
        {
            // Serialize the header by hand into one buffer so small responses go out in one
            // write.
            std::ostringstream os;
            os << head.base();
            hdr = os.str();
        }
        beast::error_code ec;
        bool send_body = !is_head && !no_body && !res.head_length;
        if (send_body && !res.file) {
            hdr += res.body;
            net::write(stream_, net::buffer(hdr), ec);
        } else {
            net::write(stream_, net::buffer(hdr), ec);
            if (!ec && send_body && res.file && res.length > 0) {
                if (!send_file(res.file.get(), res.offset, res.length)) return false;
            }
        }
        if (ec) {
            BLOG_DEBUG("registry: {}: write response: {}", remote_, ec.message());
            return false;
        }
        return keep_alive;
    }

    bool send_file(int fd, uint64_t offset, uint64_t length) {
        if constexpr (std::is_same_v<Stream, tcp::socket>) {
            off_t off = static_cast<off_t>(offset);
            uint64_t left = length;
            while (left > 0) {
                ssize_t n = ::sendfile(stream_.native_handle(), fd, &off,
                                       std::min<uint64_t>(left, 1u << 30));
                if (n < 0 && errno == EINTR) continue;
                if (n < 0 && errno == EAGAIN) {
                    struct pollfd p {};
                    p.fd = stream_.native_handle();
                    p.events = POLLOUT;
                    ::poll(&p, 1, 1000);
                    continue;
                }
                if (n <= 0) {
                    BPLOG_DEBUG("registry: {}: sendfile", remote_);
                    return false;
                }
                left -= static_cast<uint64_t>(n);
            }
            return true;
        } else {
            std::string buf(kChunk, '\0');
            uint64_t left = length;
            uint64_t off = offset;
            while (left > 0) {
                ssize_t n = ::pread(fd, buf.data(), std::min<uint64_t>(left, buf.size()),
                                    static_cast<off_t>(off));
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) return false;
                beast::error_code ec;
                net::write(stream_, net::buffer(buf.data(), static_cast<size_t>(n)), ec);
                if (ec) return false;
                left -= static_cast<uint64_t>(n);
                off += static_cast<uint64_t>(n);
            }
            return true;
        }
    }

    Stream& stream_;
    const Handler& handler_;
    std::atomic<int64_t>* idle_since_;
    std::string remote_;
    beast::flat_buffer buffer_;
};

}  // namespace

Result<std::string> BodyReader::read_all(size_t limit) {
    std::string out;
    char buf[65536];
    for (;;) {
        size_t n = BERTH_TRY(read(buf, sizeof buf));
        if (n == 0) return out;
        if (out.size() + n > limit)
            return make_error(Errc::InvalidArgument, "request body larger than {} bytes", limit);
        out.append(buf, n);
    }
}

std::optional<std::string> HttpRequest::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return v;
    return std::nullopt;
}

std::optional<std::string> HttpRequest::param(std::string_view name) const {
    for (const auto& [k, v] : query)
        if (k == name) return v;
    return std::nullopt;
}

std::string url_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h >= 0 && l >= 0) {
                out += static_cast<char>(h * 16 + l);
                i += 2;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

int64_t steady_ms() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void serve_connection(int fd, void* tls_ctx, const Handler& handler,
                      std::atomic<int64_t>* idle_since, std::string remote) {
    net::io_context ioc;
    tcp::socket sock(ioc);
    struct sockaddr_storage ss {};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<struct sockaddr*>(&ss), &len);
    beast::error_code ec;
    sock.assign(ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
    if (ec) {
        ::close(fd);
        return;
    }
    sock.set_option(tcp::no_delay(true), ec);
    try {
        if (tls_ctx == nullptr) {
            Connection<tcp::socket> c(sock, handler, idle_since, std::move(remote));
            c.run();
        } else {
            net::ssl::stream<tcp::socket&> tls(sock, *static_cast<net::ssl::context*>(tls_ctx));
            // A peer that never completes the handshake counts as idle (the watchdog ends it).
            idle_since->store(steady_ms());
            tls.handshake(net::ssl::stream_base::server, ec);
            if (ec) {
                BLOG_DEBUG("registry: {}: TLS handshake: {}", remote, ec.message());
                return;
            }
            Connection<net::ssl::stream<tcp::socket&>> c(tls, handler, idle_since,
                                                         std::move(remote));
            c.run();
            tls.shutdown(ec);
        }
    } catch (const std::exception& e) {
        // Beast reports failures through error codes here; anything thrown is a bug worth a
        // line in the log, not a dead server.
        BLOG_WARN("registry: {}: connection failed: {}", remote, e.what());
    }
    sock.close(ec);
}

}  // namespace berth::registry::server
