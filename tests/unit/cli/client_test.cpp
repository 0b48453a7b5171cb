// The API client against a tiny HTTP server on a unix socket (raw sockets, one thread): version
// negotiation, error wording, JSON-lines streams, chunked uploads, downloads to an fd.

#include "berth/api/client/client.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "berth/common/fs.hpp"

namespace berth::api::client {
namespace {

struct Seen {
    std::string method, target, body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string header(const std::string& name) const {
        for (const auto& [k, v] : headers)
            if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
        return {};
    }
};

// Serves one connection at a time; `handler` returns the raw response bytes. With
// `keep_alive`, it serves the next request on the same connection until the client closes it.
class FakeDaemon {
public:
    using Handler = std::function<std::string(const Seen&)>;

    explicit FakeDaemon(Handler h, bool keep_alive = false)
        : handler_(std::move(h)), keep_alive_(keep_alive) {
        char tmpl[] = "/tmp/berth-test-cli-XXXXXX";
        dir_ = mkdtemp(tmpl);
        path_ = dir_ + "/d.sock";
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 8) != 0)
            ADD_FAILURE() << "bind " << path_;
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeDaemon() {
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        ::close(fd_);
        ::unlink(path_.c_str());
        ::rmdir(dir_.c_str());
    }

    Host host() const { return *parse_host("unix://" + path_); }
    std::vector<Seen> seen() {
        std::lock_guard<std::mutex> lk(mu_);
        return seen_;
    }
    int connections() {
        std::lock_guard<std::mutex> lk(mu_);
        return connections_;
    }

private:
    static bool read_more(int fd, std::string& buf) {
        char tmp[4096];
        ssize_t n = ::read(fd, tmp, sizeof tmp);
        if (n <= 0) return false;
        buf.append(tmp, static_cast<size_t>(n));
        return true;
    }

    void serve() {
        while (true) {
            int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) return;
            {
                std::lock_guard<std::mutex> lk(mu_);
                ++connections_;
            }
            std::string buf;
            while (handle(c, buf) && keep_alive_) {
            }
            ::close(c);
        }
    }

    // One request from `buf` and the connection; false when the connection is done.
    bool handle(int c, std::string& buf) {
        size_t end;
        while ((end = buf.find("\r\n\r\n")) == std::string::npos)
            if (!read_more(c, buf)) return false;
        Seen s;
        std::string head = buf.substr(0, end);
        buf.erase(0, end + 4);
        size_t line_end = head.find("\r\n");
        std::string request_line = head.substr(0, line_end);
        auto sp1 = request_line.find(' '), sp2 = request_line.rfind(' ');
        s.method = request_line.substr(0, sp1);
        s.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
        size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
        while (pos < head.size()) {
            size_t e = head.find("\r\n", pos);
            if (e == std::string::npos) e = head.size();
            std::string line = head.substr(pos, e - pos);
            auto colon = line.find(':');
            s.headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
            pos = e + 2;
        }
        if (s.header("Transfer-Encoding") == "chunked") {
            while (true) {
                size_t nl;
                while ((nl = buf.find("\r\n")) == std::string::npos)
                    if (!read_more(c, buf)) return false;
                size_t n = std::stoul(buf.substr(0, nl), nullptr, 16);
                buf.erase(0, nl + 2);
                while (buf.size() < n + 2)
                    if (!read_more(c, buf)) return false;
                s.body += buf.substr(0, n);
                buf.erase(0, n + 2);
                if (n == 0) break;
            }
        } else if (!s.header("Content-Length").empty()) {
            size_t n = std::stoul(s.header("Content-Length"));
            while (buf.size() < n)
                if (!read_more(c, buf)) return false;
            s.body = buf.substr(0, n);
            buf.erase(0, n);
        }
        {
            std::lock_guard<std::mutex> lk(mu_);
            seen_.push_back(s);
        }
        std::string resp = handler_(s);
        size_t off = 0;
        while (off < resp.size()) {
            ssize_t n = ::write(c, resp.data() + off, resp.size() - off);
            if (n <= 0) return false;
            off += static_cast<size_t>(n);
        }
        return true;
    }

    Handler handler_;
    bool keep_alive_ = false;
    int connections_ = 0;
    std::string dir_, path_;
    int fd_ = -1;
    std::thread thread_;
    std::mutex mu_;
    std::vector<Seen> seen_;
};

std::string reply(int status, const std::string& reason, const std::string& ctype,
                  const std::string& body, const std::string& extra = "") {
    std::string r = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
    if (!ctype.empty()) r += "Content-Type: " + ctype + "\r\n";
    r += extra;
    r += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    return r;
}

std::string ping_reply(const std::string& version) {
    std::string extra = version.empty() ? "" : "Api-Version: " + version + "\r\n";
    return reply(200, "OK", "text/plain; charset=utf-8", "", extra + "Ostype: linux\r\n");
}

TEST(Client, NegotiatesDownToTheDaemonsVersion) {
    // An API 1.40 daemon refuses newer versions in moby's words.
    FakeDaemon d([](const Seen& s) {
        if (s.target == "/_ping") return ping_reply("1.40");
        if (s.target.starts_with("/v1.44/"))
            return reply(400, "Bad Request", "application/json",
                         "{\"message\":\"client version 1.44 is too new. Maximum supported API "
                         "version is 1.40\"}\n");
        return reply(200, "OK", "application/json", "[]");
    });
    Client c(d.host());
    Request req;
    req.path = "/images/json";
    req.query = {{"all", "1"}};
    auto r = c.call_json(req);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_TRUE(r->is_array());
    auto seen = d.seen();
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0].target, "/v1.44/images/json?all=1");  // optimistic, refused
    EXPECT_EQ(seen[1].method, "HEAD");
    EXPECT_EQ(seen[1].target, "/_ping");
    EXPECT_EQ(seen[2].method, "GET");
    EXPECT_EQ(seen[2].target, "/v1.40/images/json?all=1");
    // Negotiated once per client.
    ASSERT_TRUE(c.call_json(req));
    EXPECT_EQ(d.seen().size(), 4u);
    EXPECT_EQ(d.seen().back().target, "/v1.40/images/json?all=1");
}

// HTTP/1.1 keep-alive: no "Connection: close" in the answer.
std::string kept_alive_reply(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.44\r\n"
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(Client, TheNextRequestGoesOnTheConnectionTheLastAnswerKept) {
    FakeDaemon d([](const Seen&) { return kept_alive_reply("{}"); }, true);
    Client c(d.host());
    Request create;
    create.method = "POST";
    create.path = "/containers/create";
    create.body = "{}";
    create.content_type = "application/json";
    ASSERT_TRUE(c.call_json(create));
    Request start;
    start.method = "POST";
    start.path = "/containers/x/start";
    ASSERT_TRUE(c.call(start));
    ASSERT_EQ(d.seen().size(), 2u);
    EXPECT_EQ(d.seen()[1].target, "/v1.44/containers/x/start");
    EXPECT_EQ(d.connections(), 1);
    // close_idle(): the next one connects again.
    c.close_idle();
    ASSERT_TRUE(c.call(start));
    EXPECT_EQ(d.connections(), 2);
}

TEST(Client, AConnectionTheDaemonClosedMeanwhileIsNotUsed) {
    // Keep-alive answers, but the daemon closes after each (as one that stops, or dockerd
    // after its idle timeout): the client sees the end of file and connects again.
    FakeDaemon d([](const Seen&) { return kept_alive_reply("[]"); }, false);
    Client c(d.host());
    Request req;
    req.path = "/containers/json";
    ASSERT_TRUE(c.call_json(req));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // its close reaches us
    auto r = c.call_json(req);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(d.seen().size(), 2u);
    EXPECT_EQ(d.connections(), 2);
}

TEST(Client, CurrentDaemonIsNotPingedFirst) {
    FakeDaemon d([](const Seen&) { return reply(200, "OK", "application/json", "[]"); });
    Client c(d.host());
    Request req;
    req.path = "/containers/json";
    ASSERT_TRUE(c.call_json(req));
    ASSERT_TRUE(c.call_json(req));
    auto seen = d.seen();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].target, "/v1.44/containers/json");
    EXPECT_EQ(seen[1].target, "/v1.44/containers/json");
}

TEST(Client, OtherBadRequestsAreNotRetried) {
    FakeDaemon d([](const Seen&) {
        return reply(400, "Bad Request", "application/json", "{\"message\":\"invalid filter\"}");
    });
    Client c(d.host());
    Request req;
    req.path = "/containers/json";
    auto r = c.call_json(req);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what().find("invalid filter"), std::string::npos);
    EXPECT_EQ(d.seen().size(), 1u);
}

TEST(Client, CapsTheVersionAndFallsBackWithoutHeader) {
    {
        FakeDaemon d([](const Seen&) { return ping_reply("1.50"); });
        Client c(d.host());
        EXPECT_EQ(c.api_version().value_or("?"), "1.44");
    }
    {
        FakeDaemon d([](const Seen&) { return ping_reply(""); });
        Client c(d.host());
        EXPECT_EQ(c.api_version().value_or("?"), "1.24");
    }
}

TEST(Client, RetriesPingWithGetAndHonoursAPinnedVersion) {
    FakeDaemon d([](const Seen& s) {
        if (s.method == "HEAD") return reply(404, "Not Found", "text/plain", "");
        return ping_reply("1.41");
    });
    Client c(d.host());
    EXPECT_EQ(c.api_version().value_or("?"), "1.41");
    auto seen = d.seen();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].method, "GET");
    EXPECT_EQ(seen[1].target, "/_ping");

    Client pinned(d.host(), "1.30");
    Request req;
    req.path = "/version";
    (void)pinned.call(req);
    EXPECT_EQ(d.seen().back().target, "/v1.30/version");
}

TEST(Client, DaemonErrorsReadLikeDockers) {
    FakeDaemon d([](const Seen& s) {
        if (s.target == "/_ping") return ping_reply("1.44");
        if (s.target.find("/json-error") != std::string::npos)
            return reply(404, "Not Found", "application/json", R"({"message":"No such image: x:latest"})" "\n");
        if (s.target.find("/conflict") != std::string::npos)
            return reply(409, "Conflict", "application/json", R"({"message":"conflict: in use"})");
        if (s.target.find("/text") != std::string::npos)
            return reply(500, "Internal Server Error", "text/plain", "plain failure\n");
        if (s.target.find("/jsonish") != std::string::npos)  // not exactly application/json
            return reply(400, "Bad Request", "application/json; charset=utf-8", R"({"message":"m"})");
        return reply(500, "Internal Server Error", "", "");
    });
    Client c(d.host());
    auto check = [&](const std::string& path, Errc code, const std::string& msg) {
        Request req;
        req.path = path;
        auto r = c.call(req);
        ASSERT_FALSE(r) << path;
        EXPECT_EQ(r.error().code, code) << path;
        EXPECT_EQ(r.error().what(), msg);
    };
    check("/json-error", Errc::NotFound, "Error response from daemon: No such image: x:latest");
    check("/conflict", Errc::Conflict, "Error response from daemon: conflict: in use");
    check("/text", Errc::Internal, "Error response from daemon: plain failure");
    check("/jsonish", Errc::InvalidArgument, R"(Error response from daemon: {"message":"m"})");
    check("/empty", Errc::Internal,
          "Error response from daemon: request returned 500 Internal Server Error for API route and version");
}

TEST(Client, CannotConnectSaysWhere) {
    Client c(*parse_host("unix:///tmp/berth-test-cli-no-such-dir/x.sock"));
    Request req;
    req.path = "/info";
    auto r = c.call(req);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Unavailable);
    EXPECT_EQ(r.error().what(),
              "Cannot connect to the Berth daemon at unix:///tmp/berth-test-cli-no-such-dir/x.sock. "
              "Is the berth daemon running?");
}

TEST(Client, StreamsJsonLinesAcrossChunks) {
    FakeDaemon d([](const Seen& s) {
        if (s.target == "/_ping") return ping_reply("1.44");
        // Messages split across chunk boundaries, one chunk holding two line ends.
        std::vector<std::string> chunks = {R"({"status":"Load)", "ing\"}\n{\"stream\":\"a\\n\"}\n{\"id\":",
                                           R"("x","status":"done"})", "\n"};
        std::string r = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (const auto& ch : chunks) {
            char len[16];
            std::snprintf(len, sizeof len, "%zx\r\n", ch.size());
            r += len + ch + "\r\n";
        }
        return r + "0\r\n\r\n";
    });
    Client c(d.host());
    Request req;
    req.method = "POST";
    req.path = "/images/load";
    std::vector<nlohmann::json> got;
    Response head;
    auto r = c.call_json_lines(req, [&](const nlohmann::json& m) -> Result<void> {
        got.push_back(m);
        return {};
    }, &head);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(head.status, 200u);
    EXPECT_EQ(head.content_type, "application/json");
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0]["status"], "Loading");
    EXPECT_EQ(got[1]["stream"], "a\n");
    EXPECT_EQ(got[2]["id"], "x");
}

TEST(Client, UploadsAFileWithContentLength) {
    FakeDaemon d([](const Seen& s) {
        if (s.target == "/_ping") return ping_reply("1.44");
        return reply(200, "OK", "application/json",
                     "{\"status\":\"size " + std::to_string(s.body.size()) + "\"}\n");
    });
    // 300 KiB from a file: its size is known, so Content-Length and sendfile (pipes stay
    // chunked: ClientUploadTest.PipeGoesChunked).
    char path[] = "/tmp/berth-test-cli-body-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    std::string data;
    for (int i = 0; i < 300 * 1024; ++i) data += static_cast<char>('a' + i % 26);
    ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ASSERT_EQ(::lseek(fd, 0, SEEK_SET), 0);
    FdBodySource body(fd, path);
    Client c(d.host());
    Request req;
    req.method = "POST";
    req.path = "/images/create";
    req.query = {{"fromSrc", "-"}, {"repo", "r:1"}, {"changes", "ENV A=1"}, {"changes", "CMD [\"sh\"]"}};
    req.content_type = "application/x-tar";
    req.stream_body = &body;
    std::string status;
    auto r = c.call_json_lines(req, [&](const nlohmann::json& m) -> Result<void> {
        status = m.value("status", "");
        return {};
    });
    ::close(fd);
    ::unlink(path);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(status, "size " + std::to_string(data.size()));
    auto seen = d.seen();
    const Seen& up = seen.back();
    EXPECT_EQ(up.header("Content-Length"), std::to_string(data.size()));
    EXPECT_EQ(up.header("Transfer-Encoding"), "");
    EXPECT_EQ(up.header("Content-Type"), "application/x-tar");
    EXPECT_EQ(up.body, data);
    EXPECT_EQ(up.target,
              "/v1.44/images/create?changes=ENV+A%3D1&changes=CMD+%5B%22sh%22%5D&fromSrc=-&repo=r%3A1");
}

TEST(Client, DownloadsToAnFd) {
    std::string big(200000, 'z');
    FakeDaemon d([&](const Seen& s) {
        if (s.target == "/_ping") return ping_reply("1.44");
        return reply(200, "OK", "application/x-tar", big);
    });
    char path[] = "/tmp/berth-test-cli-save-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    Client c(d.host());
    Request req;
    req.path = "/images/get";
    req.query = {{"names", "a"}, {"names", "b:1"}};
    auto r = c.call_to_fd(req, fd);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(d.seen().back().target, "/v1.44/images/get?names=a&names=b%3A1");
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0);
    EXPECT_EQ(st.st_size, static_cast<off_t>(big.size()));
    std::string got(big.size(), '\0');
    EXPECT_EQ(::pread(fd, got.data(), got.size(), 0), static_cast<ssize_t>(got.size()));
    EXPECT_EQ(got, big);
    ::close(fd);
    ::unlink(path);
}

// A Content-Length body is spliced: into a pipe directly (save | ...), and cut short it is an
// error that says so, not a short file.
TEST(Client, DownloadsIntoAPipeAndNoticesAShortBody) {
    std::string big;
    for (int i = 0; i < 300000; ++i) big.push_back(static_cast<char>('a' + i % 26));
    FakeDaemon d([&](const Seen& s) {
        if (s.target == "/_ping") return ping_reply("1.44");
        if (s.target.find("short") != std::string::npos) {
            std::string r = reply(200, "OK", "application/x-tar", big);
            auto cl = r.find("Content-Length: ");
            r.replace(cl, r.find("\r\n", cl) - cl, "Content-Length: " + std::to_string(big.size() + 1000));
            return r;  // the connection closes 1000 bytes early
        }
        return reply(200, "OK", "application/x-tar", big);
    });
    Client c(d.host());
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    std::string got;
    std::thread reader([&] {
        char buf[65536];
        ssize_t n;
        while ((n = ::read(p[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
    });
    Request req;
    req.path = "/images/get";
    req.query = {{"names", "a"}};
    auto r = c.call_to_fd(req, p[1]);
    ::close(p[1]);
    reader.join();
    ::close(p[0]);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(got, big);

    // A file opened for appending (`save >> f`) takes no splice: copied instead, after what
    // it already held.
    char apath[] = "/tmp/berth-test-cli-append-XXXXXX";
    int afd = mkstemp(apath);
    ASSERT_GE(afd, 0);
    ASSERT_EQ(::write(afd, "head", 4), 4);
    int append_fd = ::open(apath, O_WRONLY | O_APPEND | O_CLOEXEC);
    ::close(afd);
    ASSERT_GE(append_fd, 0);
    r = c.call_to_fd(req, append_fd);
    ::close(append_fd);
    ASSERT_TRUE(r) << r.error().what();
    auto appended = read_file(apath);
    ::unlink(apath);
    ASSERT_TRUE(appended);
    EXPECT_EQ(*appended, "head" + big);

    char path[] = "/tmp/berth-test-cli-short-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    req.query = {{"names", "short"}};
    r = c.call_to_fd(req, fd);
    ::close(fd);
    ::unlink(path);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what().find("ended 1000 bytes early"), std::string::npos)
        << r.error().what();
}

TEST(Client, ImageNamesStayReadableInThePath) {
    FakeDaemon d([](const Seen& s) {
        if (s.target == "/_ping") return ping_reply("1.44");
        return reply(200, "OK", "application/json", "{}");
    });
    Client c(d.host());
    Request req;
    req.path = "/images/localhost:5000/a/b@sha256:00 x/json";
    ASSERT_TRUE(c.call_json(req));
    EXPECT_EQ(d.seen().back().target, "/v1.44/images/localhost:5000/a/b@sha256:00%20x/json");
}

}  // namespace
}  // namespace berth::api::client
