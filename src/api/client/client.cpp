// The Engine API client over Boost.Beast, one connection per request (see client.hpp).

#include "berth/api/client/client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <strings.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "berth/common/fs.hpp"
#include "berth/common/strings.hpp"

namespace berth::api::client {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using json = nlohmann::json;
using Socket = net::generic::stream_protocol::socket;

namespace {

constexpr std::string_view kUserAgent = "Berth-Client/0.1.0 (linux)";

Errc errc_for_status(unsigned status) {
    switch (status) {
        case 400: return Errc::InvalidArgument;
        case 401:
        case 403: return Errc::PermissionDenied;
        case 404: return Errc::NotFound;
        case 409: return Errc::Conflict;
        case 501: return Errc::Unsupported;
        case 503: return Errc::Unavailable;
        default: return Errc::Internal;
    }
}

std::string query_escape(std::string_view s) { return percent_encode(s, "-_.~", true); }

// Path segments keep '/', ':' and '@' (image names), escape the rest as Go's url.URL does.
std::string path_escape(std::string_view s) { return percent_encode(s, "-_.~/:@!$&'()*+,;="); }

}  // namespace

std::string encode_query(const Query& q) {
    Query sorted = q;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string out;
    for (const auto& [k, v] : sorted) {
        if (!out.empty()) out += '&';
        out += query_escape(k);
        out += '=';
        out += query_escape(v);
    }
    return out;
}

int compare_versions(std::string_view a, std::string_view b) {
    auto pa = split(a, '.'), pb = split(b, '.');
    for (size_t i = 0; i < std::max(pa.size(), pb.size()); ++i) {
        int64_t x = i < pa.size() ? parse_int(pa[i]).value_or(0) : 0;
        int64_t y = i < pb.size() ? parse_int(pb[i]).value_or(0) : 0;
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

Result<size_t> FdBodySource::read(char* buf, size_t n) {
    while (true) {
        ssize_t r = ::read(fd_, buf, n);
        if (r >= 0) return static_cast<size_t>(r);
        if (errno == EINTR) continue;
        return BERTH_SYS_ERROR("read {}", name_);
    }
}

std::optional<FdRange> FdBodySource::fd_range() {
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    off_t pos = ::lseek(fd_, 0, SEEK_CUR);
    if (pos < 0) return std::nullopt;
    uint64_t size = pos < st.st_size ? static_cast<uint64_t>(st.st_size - pos) : 0;
    return FdRange{fd_, static_cast<uint64_t>(pos), size};
}

std::string Response::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
    return {};
}

Error daemon_error(unsigned status, std::string_view content_type, std::string_view body) {
    std::string message;
    if (content_type == "application/json" && !body.empty()) {
        try {
            auto j = json::parse(body);
            if (j.is_object() && j.contains("message") && j["message"].is_string())
                message = std::string(trim(j["message"].get<std::string>()));
        } catch (const json::exception&) {
            message = std::string(trim(body));
        }
    } else {
        message = std::string(trim(body));
    }
    if (message.empty())
        message = fmt::format("request returned {} {} for API route and version",
                              status, http::obsolete_reason(static_cast<http::status>(status)));
    return Error{errc_for_status(status), 0, "Error response from daemon: " + message};
}

namespace {

// One HTTP exchange on its own connection.
class Connection {
public:
    explicit Connection(net::io_context& ioc) : sock_(ioc) {}

    Result<void> connect(const Host& host) {
        boost::system::error_code ec;
        if (host.kind == Host::Kind::Unix) {
            net::local::stream_protocol::endpoint ep(host.path);
            sock_.connect(net::generic::stream_protocol::endpoint(ep), ec);
        } else {
            net::ip::tcp::resolver resolver(sock_.get_executor());
            auto results = resolver.resolve(host.address, std::to_string(host.port), ec);
            if (!ec) {
                ec = net::error::host_not_found;
                for (const auto& r : results) {
                    boost::system::error_code e2;
                    if (sock_.is_open()) sock_.close(e2);
                    sock_.connect(net::generic::stream_protocol::endpoint(r.endpoint()), ec);
                    if (!ec) break;
                }
            }
        }
        if (ec) return unreachable(host, ec);
        return {};
    }

    static Unexpected unreachable(const Host& host, const boost::system::error_code& ec) {
        Error e{Errc::Unavailable, 0,
                fmt::format("Cannot connect to the Berth daemon at {}. Is the berth daemon running?",
                            host.url)};
        (void)ec;
        return Unexpected(std::move(e));
    }

    Result<void> send(const Host& host, const std::string& target, const Request& req) {
        boost::system::error_code ec;
        auto set_common = [&](auto& m) {
            m.method_string(req.method);
            m.target(target);
            m.version(11);
            m.set(http::field::host, host.kind == Host::Kind::Unix ? std::string("api.moby.localhost")
                                                                   : host.address + ":" + std::to_string(host.port));
            m.set(http::field::user_agent, kUserAgent);
            if (!req.content_type.empty()) m.set(http::field::content_type, req.content_type);
            for (const auto& [k, v] : req.headers) m.set(k, v);
        };
        if (req.stream_body) {
            http::request<http::empty_body> m;
            set_common(m);
            if (auto range = req.stream_body->fd_range()) {
                m.content_length(range->size);
                http::request_serializer<http::empty_body> sr(m);
                http::write_header(sock_, sr, ec);
                if (ec) return write_failed(ec);
                return send_range(*range);
            }
            m.chunked(true);
            http::request_serializer<http::empty_body> sr(m);
            http::write_header(sock_, sr, ec);
            if (ec) return write_failed(ec);
            std::array<char, 64 * 1024> buf;
            while (true) {
                size_t n = BERTH_TRY(req.stream_body->read(buf.data(), buf.size()));
                if (n == 0) break;
                net::write(sock_, http::make_chunk(net::buffer(buf.data(), n)), ec);
                // The daemon may answer (an error) and close before it read the whole body:
                // stop sending and read its answer.
                if (ec) return {};
            }
            net::write(sock_, http::make_chunk_last(), ec);
            return {};
        }
        http::request<http::string_body> m;
        set_common(m);
        if (!req.body.empty() || req.method == "POST" || req.method == "PUT") {
            m.body() = req.body;
            m.prepare_payload();
        }
        http::write(sock_, m, ec);
        if (ec) return write_failed(ec);
        return {};
    }

    // Sends the file range after the headers: sendfile(2) hands the file's pages to the
    // socket without copying them through this process (read/write where it can't).
    Result<void> send_range(const FdRange& range) {
        int sock = sock_.native_handle();
        auto off = static_cast<off_t>(range.offset);
        uint64_t left = range.size;
        bool use_sendfile = true;
        std::vector<char> buf;
        while (left > 0) {
            size_t want = static_cast<size_t>(std::min<uint64_t>(left, 1u << 30));
            ssize_t n;
            if (use_sendfile) {
                n = ::sendfile(sock, range.fd, &off, want);
                if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
                    use_sendfile = false;  // a file system without splice support
                    continue;
                }
            } else {
                buf.resize(64 * 1024);
                n = ::pread(range.fd, buf.data(), std::min(want, buf.size()), off);
                if (n > 0) {
                    boost::system::error_code ec;
                    net::write(sock_, net::buffer(buf.data(), static_cast<size_t>(n)), ec);
                    if (ec) return {};  // the daemon answered early: read its answer
                    off += n;
                }
            }
            if (n > 0) {
                left -= static_cast<uint64_t>(n);
                continue;
            }
            if (n == 0)
                return make_error(Errc::InvalidArgument,
                                  "send the request body: the file ended {} bytes early", left);
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                struct pollfd pfd {
                    sock, POLLOUT, 0
                };
                (void)::poll(&pfd, 1, -1);
                continue;
            }
            // The daemon may answer (an error) and close before it read the whole body: stop
            // sending and read its answer.
            if (errno == EPIPE || errno == ECONNRESET) return {};
            return BERTH_SYS_ERROR("send the request body to the daemon");
        }
        return {};
    }

    Result<Response> read_head(bool is_head) {
        // No limit (save streams GiBs). Not boost::none: Beast 1.74 compares the length with
        // the optional and a disengaged one counts as smaller than any length.
        parser_.emplace();
        parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
        if (is_head) parser_->skip(true);
        boost::system::error_code ec;
        http::read_header(sock_, buf_, *parser_, ec);
        if (ec) return make_error(Errc::Unavailable, "read the daemon's answer: {}", ec.message());
        Response r;
        const auto& m = parser_->get();
        r.status = m.result_int();
        for (const auto& f : m) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        r.content_type = r.header("Content-Type");
        return r;
    }

    Result<void> read_body(const std::function<Result<void>(std::string_view)>& on_data) {
        std::array<char, 64 * 1024> chunk;
        while (!parser_->is_done()) {
            parser_->get().body().data = chunk.data();
            parser_->get().body().size = chunk.size();
            boost::system::error_code ec;
            // As in the server: without a big buffer Beast reads 512 bytes at a time.
            if (buf_.capacity() < 256 * 1024) buf_.reserve(256 * 1024);
            // read_some: hand over what arrived (events, logs -f, stats stream a little at a
            // time); read() would wait for the whole buffer.
            http::read_some(sock_, buf_, *parser_, ec);
            if (ec == http::error::need_buffer) ec = {};
            if (ec) return make_error(Errc::Unavailable, "read the daemon's answer: {}", ec.message());
            size_t n = chunk.size() - parser_->get().body().size;
            if (n) BERTH_TRY(on_data(std::string_view(chunk.data(), n)));
        }
        return {};
    }

    /// Writes the body to `fd`. A body with a Content-Length (image save) is spliced from the
    /// socket into `fd` (through a pipe unless `fd` is one): the kernel moves the pages, this
    /// process never copies them. Others go through read_body(). The connection is done after.
    Result<void> read_body_to_fd(int fd) {
        auto length = parser_->content_length();
        if (parser_->chunked() || !length || parser_->is_done())
            return read_body([fd](std::string_view d) { return write_fd(fd, d); });
        uint64_t left = *length;
        // Body bytes that came with the head.
        std::string early = take_buffered();
        if (early.size() > left) early.resize(static_cast<size_t>(left));
        BERTH_TRY(write_fd(fd, early));
        left -= early.size();
        return splice_exact(sock_.native_handle(), fd, left);
    }

    /// The whole answer was read and the daemon keeps the connection (HTTP/1.1 keep-alive):
    /// the next request can go on it. (Not after a spliced body: its bytes went past the
    /// parser.)
    [[nodiscard]] bool reusable() const {
        return parser_ && parser_->is_done() && parser_->keep_alive() && buf_.size() == 0 &&
               sock_.is_open();
    }

    /// Nothing came from the daemon since the last answer, not even an end of file (it closes
    /// idle connections when it stops, dockerd after an idle timeout).
    [[nodiscard]] bool still_open() {
        struct pollfd p {sock_.native_handle(), POLLIN | POLLRDHUP, 0};
        return ::poll(&p, 1, 0) == 0;
    }

    /// Gives up the socket (after a 101): the fd, which the caller now owns.
    UniqueFd release_socket() {
        boost::system::error_code ec;
        int fd = sock_.release(ec);
        return UniqueFd(ec ? -1 : fd);
    }

    /// The bytes read from the socket past what the parser consumed.
    std::string take_buffered() {
        std::string s(static_cast<const char*>(buf_.data().data()), buf_.size());
        buf_.consume(buf_.size());
        return s;
    }

private:
    static Result<void> write_fd(int fd, std::string_view d) {
        return write_all(fd, d, "the daemon's answer");
    }

    // Moves exactly `left` bytes from the socket to `to`; read/write where splice is refused
    // (a target that doesn't take it: a file opened for appending, `save >> f`, or on a file
    // system without splice).
    static Result<void> splice_exact(int sock, int to, uint64_t left) {
        struct stat st {};
        bool to_pipe = ::fstat(to, &st) == 0 && S_ISFIFO(st.st_mode);
        UniqueFd pr, pw;
        if (!to_pipe) {
            int p[2];
            if (::pipe2(p, O_CLOEXEC) < 0) return BERTH_SYS_ERROR("pipe");
            pr.reset(p[0]);
            pw.reset(p[1]);
            (void)::fcntl(pw.get(), F_SETPIPE_SZ, 1 << 20);
        }
        constexpr unsigned kFlags = SPLICE_F_MOVE | SPLICE_F_MORE;
        bool moved = false;  // bytes have reached `to`
        while (left > 0) {
            size_t want = static_cast<size_t>(std::min<uint64_t>(left, 1u << 20));
            ssize_t n = ::splice(sock, nullptr, to_pipe ? to : pw.get(), nullptr, want, kFlags);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) {
                struct pollfd p {sock, POLLIN, 0};
                (void)::poll(&p, 1, -1);
                continue;
            }
            if (n < 0 && errno == EINVAL && !moved) return copy_exact(sock, to, left);
            if (n < 0) return BERTH_SYS_ERROR("read the daemon's answer");
            if (n == 0)
                return make_error(Errc::Unavailable,
                                  "read the daemon's answer: it ended {} bytes early", left);
            left -= static_cast<uint64_t>(n);
            moved = moved || to_pipe;
            for (ssize_t in_pipe = to_pipe ? 0 : n; in_pipe > 0;) {
                ssize_t m = ::splice(pr.get(), nullptr, to, nullptr, static_cast<size_t>(in_pipe),
                                     kFlags);
                if (m < 0 && errno == EINTR) continue;
                if (m < 0 && errno == EINVAL && !moved) {
                    // What waits in our pipe, then the rest, by read and write.
                    BERTH_TRY(copy_exact(pr.get(), to, static_cast<uint64_t>(in_pipe)));
                    return copy_exact(sock, to, left);
                }
                if (m <= 0) return BERTH_SYS_ERROR("write the daemon's answer");
                moved = true;
                in_pipe -= m;
            }
        }
        return {};
    }

    // Reads exactly `left` bytes from `from` (the socket, or our pipe) and writes them to `to`.
    static Result<void> copy_exact(int from, int to, uint64_t left) {
        std::vector<char> buf(256 * 1024);
        while (left > 0) {
            ssize_t n = ::read(from, buf.data(), static_cast<size_t>(std::min<uint64_t>(left, buf.size())));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) {
                struct pollfd p {from, POLLIN, 0};
                (void)::poll(&p, 1, -1);
                continue;
            }
            if (n < 0) return BERTH_SYS_ERROR("read the daemon's answer");
            if (n == 0)
                return make_error(Errc::Unavailable,
                                  "read the daemon's answer: it ended {} bytes early", left);
            BERTH_TRY(write_fd(to, std::string_view(buf.data(), static_cast<size_t>(n))));
            left -= static_cast<uint64_t>(n);
        }
        return {};
    }

    static Unexpected write_failed(const boost::system::error_code& ec) {
        return make_error(Errc::Unavailable, "send the request to the daemon: {}", ec.message());
    }

    Socket sock_;
    beast::flat_buffer buf_;
    std::optional<http::response_parser<http::buffer_body>> parser_;  ///< one per answer
};

}  // namespace

Result<Ping> Client::ping() {
    Request req;
    req.method = "HEAD";
    req.path = "/_ping";
    req.versioned = false;
    Response head;
    auto r = call_stream(req, [](std::string_view) -> Result<void> { return {}; }, &head);
    if (!r && r.error().code == Errc::Unavailable && head.status == 0) return Unexpected(r.error());
    if (head.status != 200 && head.status != 500) {
        req.method = "GET";
        head = Response{};
        r = call_stream(req, [](std::string_view) -> Result<void> { return {}; }, &head);
        if (!r && head.status == 0) return Unexpected(r.error());
    }
    Ping p;
    p.api_version = head.header("Api-Version");
    p.os_type = head.header("Ostype");
    p.experimental = head.header("Docker-Experimental") == "true";
    return p;
}

Result<std::string> Client::api_version() {
    if (negotiated_) return version_;
    Ping p = BERTH_TRY(ping());
    std::string v = p.api_version.empty() ? std::string(kFallbackApiVersion) : p.api_version;
    if (compare_versions(v, kMaxApiVersion) > 0) v = std::string(kMaxApiVersion);
    version_ = v;
    negotiated_ = true;
    return version_;
}

namespace {

// The error for a non-2xx answer, its body read (up to 1 MiB) from `conn`.
Error error_answer(Connection& conn, const Response& r) {
    std::string body;
    (void)conn.read_body([&](std::string_view d) -> Result<void> {
        if (body.size() < (1 << 20)) body.append(d);
        return {};
    });
    return daemon_error(r.status, r.content_type, body);
}

}  // namespace

Result<std::string> Client::request_version(const Request& req) {
    if (negotiated_ || req.stream_body != nullptr || req.method == "HEAD") return api_version();
    optimistic_ = true;
    return std::string(kMaxApiVersion);
}

bool Client::renegotiated(const Request& req, const Error& err) {
    if (!optimistic_ || negotiated_ || !req.versioned || err.code != Errc::InvalidArgument ||
        err.what().find("is too new") == std::string::npos)
        return false;
    optimistic_ = false;
    return api_version().has_value();
}

Result<std::string> Client::target_for(const Request& req) {
    std::string target;
    if (req.versioned) target = "/v" + BERTH_TRY(request_version(req));
    target += path_escape(req.path);
    if (!req.query.empty()) target += "?" + encode_query(req.query);
    return target;
}

struct Client::Impl {
    net::io_context ioc;
    /// The connection the last answer left open, for the next request: it reaches the
    /// daemon's thread that served the last one, without a connect and an accept.
    std::unique_ptr<Connection> idle;
};

Client::Client(Host host, std::string pinned_version)
    : host_(std::move(host)), version_(std::move(pinned_version)), negotiated_(!version_.empty()),
      impl_(std::make_unique<Impl>()) {}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

void Client::close_idle() {
    impl_->idle.reset();
}

template <class OnBody>
Result<void> Client::with_answer(const Request& req, Response* head, const OnBody& on_body) {
    auto attempt = [&]() -> Result<void> {
        std::string target = BERTH_TRY(target_for(req));
        std::unique_ptr<Connection> conn = std::move(impl_->idle);
        if (conn && !conn->still_open()) conn.reset();
        if (!conn) {
            conn = std::make_unique<Connection>(impl_->ioc);
            BERTH_TRY(conn->connect(host_));
        }
        BERTH_TRY(conn->send(host_, target, req));
        Response r = BERTH_TRY(conn->read_head(req.method == "HEAD"));
        if (head) *head = r;
        Result<void> done = r.status / 100 == 2 || r.status == 304
                                ? on_body(*conn)
                                : Unexpected(error_answer(*conn, r));
        if (conn->reusable()) impl_->idle = std::move(conn);
        return done;
    };
    auto r = attempt();
    if (!r && renegotiated(req, r.error())) r = attempt();
    return r;
}

Result<void> Client::call_stream(const Request& req,
                                 const std::function<Result<void>(std::string_view)>& on_data,
                                 Response* head) {
    return with_answer(req, head, [&](Connection& conn) { return conn.read_body(on_data); });
}

struct OpenResponse::Impl {
    net::io_context ioc;
    Connection conn{ioc};
    Response head;
};

OpenResponse::OpenResponse(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OpenResponse::~OpenResponse() = default;

const Response& OpenResponse::head() const { return impl_->head; }

Result<void> OpenResponse::read_body(const std::function<Result<void>(std::string_view)>& on_data) {
    return impl_->conn.read_body(on_data);
}

Result<std::string> OpenResponse::read_all() {
    std::string body;
    BERTH_TRY(read_body([&](std::string_view d) -> Result<void> {
        body.append(d);
        return {};
    }));
    return body;
}

namespace {

Request upgrade_request(const Request& req) {
    Request up = req;
    up.headers.emplace_back("Connection", "Upgrade");
    up.headers.emplace_back("Upgrade", "tcp");
    return up;
}

// The head of an open() request: its answer, kept with the connection.
Result<std::unique_ptr<OpenResponse>> finish_open(std::unique_ptr<OpenResponse::Impl> impl,
                                                  const Request& req) {
    impl->head = BERTH_TRY(impl->conn.read_head(req.method == "HEAD"));
    const Response& r = impl->head;
    if (r.status / 100 != 2 && r.status != 304) return Unexpected(error_answer(impl->conn, r));
    return std::make_unique<OpenResponse>(std::move(impl));
}

// The head of a hijack() request: on a 101 (or 200), its raw connection.
Result<std::unique_ptr<HijackedConnection>> finish_hijack(Connection& conn, const Request& req) {
    Response r = BERTH_TRY(conn.read_head(false));
    if (r.status != 101 && r.status != 200) return Unexpected(error_answer(conn, r));
    std::string buffered = conn.take_buffered();
    UniqueFd fd = conn.release_socket();
    if (!fd) return make_error(Errc::Internal, "take the connection of {} {}", req.method, req.path);
    return std::make_unique<HijackedConnection>(std::move(fd), std::move(buffered), std::move(r));
}

}  // namespace

Result<std::unique_ptr<OpenResponse>> Client::open(const Request& req) {
    auto attempt = [&]() -> Result<std::unique_ptr<OpenResponse>> {
        std::string target = BERTH_TRY(target_for(req));
        auto impl = std::make_unique<OpenResponse::Impl>();
        BERTH_TRY(impl->conn.connect(host_));
        BERTH_TRY(impl->conn.send(host_, target, req));
        return finish_open(std::move(impl), req);
    };
    auto r = attempt();
    if (!r && renegotiated(req, r.error())) r = attempt();
    return r;
}

Result<std::unique_ptr<HijackedConnection>> Client::hijack(const Request& req) {
    Request up = upgrade_request(req);
    auto attempt = [&]() -> Result<std::unique_ptr<HijackedConnection>> {
        std::string target = BERTH_TRY(target_for(up));
        Connection conn(impl_->ioc);
        BERTH_TRY(conn.connect(host_));
        BERTH_TRY(conn.send(host_, target, up));
        return finish_hijack(conn, req);
    };
    auto r = attempt();
    if (!r && renegotiated(up, r.error())) r = attempt();
    return r;
}

Result<Client::HijackAndOpen> Client::hijack_and_open(const Request& hijack_req,
                                                      const Request& open_req) {
    Request up = upgrade_request(hijack_req);
    auto attempt = [&]() -> Result<HijackAndOpen> {
        std::string hijack_target = BERTH_TRY(target_for(up));
        std::string open_target = BERTH_TRY(target_for(open_req));
        Connection conn(impl_->ioc);
        BERTH_TRY(conn.connect(host_));
        BERTH_TRY(conn.send(host_, hijack_target, up));
        auto impl = std::make_unique<OpenResponse::Impl>();
        BERTH_TRY(impl->conn.connect(host_));
        BERTH_TRY(impl->conn.send(host_, open_target, open_req));
        // Both are on their way: the daemon answers them together.
        HijackAndOpen both;
        both.hijacked = BERTH_TRY(finish_hijack(conn, hijack_req));
        both.opened = BERTH_TRY(finish_open(std::move(impl), open_req));
        return both;
    };
    auto r = attempt();
    if (!r && renegotiated(up, r.error())) r = attempt();
    return r;
}

Result<size_t> HijackedConnection::read(char* buf, size_t n) {
    if (!buffered_.empty()) {
        size_t k = std::min(n, buffered_.size());
        std::memcpy(buf, buffered_.data(), k);
        buffered_.erase(0, k);
        return k;
    }
    while (true) {
        ssize_t r = ::read(fd_.get(), buf, n);
        if (r >= 0) return static_cast<size_t>(r);
        if (errno == EINTR) continue;
        // A daemon that closes after the process exited may reset instead of FIN.
        if (errno == ECONNRESET) return size_t{0};
        return BERTH_SYS_ERROR("read the hijacked connection");
    }
}

Result<void> HijackedConnection::write(std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return BERTH_SYS_ERROR("write to the hijacked connection");
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

Result<void> HijackedConnection::close_write() {
    if (::shutdown(fd_.get(), SHUT_WR) != 0 && errno != ENOTCONN)
        return BERTH_SYS_ERROR("half-close the hijacked connection");
    return {};
}

Result<Response> Client::call(const Request& req) {
    Response r;
    std::string body;
    BERTH_TRY(call_stream(req, [&](std::string_view d) -> Result<void> {
        body.append(d);
        return {};
    }, &r));
    r.body = std::move(body);
    return r;
}

Result<json> Client::call_json(const Request& req) {
    Response r = BERTH_TRY(call(req));
    try {
        return json::parse(r.body);
    } catch (const json::exception& e) {
        return make_error(Errc::InvalidArgument, "decode the daemon's answer to {} {}: {}", req.method,
                          req.path, e.what());
    }
}

Result<void> Client::call_json_lines(const Request& req,
                                     const std::function<Result<void>(const json&)>& on_message,
                                     Response* head) {
    std::string pending;
    auto flush_line = [&](std::string_view line) -> Result<void> {
        if (trim(line).empty()) return {};
        json j;
        try {
            j = json::parse(line);
        } catch (const json::exception& e) {
            return make_error(Errc::InvalidArgument, "decode a message from the daemon's {} {} stream: {}",
                              req.method, req.path, e.what());
        }
        return on_message(j);
    };
    auto on_data = [&](std::string_view d) -> Result<void> {
        pending.append(d);
        size_t start = 0;
        while (true) {
            size_t nl = pending.find('\n', start);
            if (nl == std::string::npos) break;
            BERTH_TRY(flush_line(std::string_view(pending).substr(start, nl - start)));
            start = nl + 1;
        }
        pending.erase(0, start);
        return {};
    };
    BERTH_TRY(call_stream(req, on_data, head));
    return flush_line(pending);
}

Result<void> Client::call_to_fd(const Request& req, int fd) {
    return with_answer(req, nullptr, [fd](Connection& conn) { return conn.read_body_to_fd(fd); });
}

}  // namespace berth::api::client
