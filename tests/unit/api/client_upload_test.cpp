// The client's uploads against the real API server: a file body goes with Content-Length and
// sendfile(2) (and arrives through the server's splice path), a pipe body stays chunked, and a
// daemon that answers before reading the body still gets its error shown.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "berth/api/client/client.hpp"
#include "berth/api/server/router.hpp"
#include "body_pump.hpp"
#include "test_server.hpp"

namespace berth::api {
namespace {

using json = nlohmann::json;

struct Seen {
    std::string content_length;
    std::string transfer_encoding;
    std::string body;
    size_t spliced = 0;
};

std::string make_body(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 13 + i / 1000) % 253);
    return s;
}

// A temporary file holding `data`, removed at the end.
class TempFile {
public:
    explicit TempFile(const std::string& data) {
        char tmpl[] = "/tmp/berth-test-upload-XXXXXX";
        fd_ = ::mkstemp(tmpl);
        path_ = tmpl;
        size_t off = 0;
        while (off < data.size()) {
            ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
            if (n <= 0) break;
            off += static_cast<size_t>(n);
        }
        ::lseek(fd_, 0, SEEK_SET);
    }
    ~TempFile() {
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    int fd() const { return fd_; }
    const std::string& path() const { return path_; }

private:
    int fd_ = -1;
    std::string path_;
};

class ClientUploadTest : public ::testing::Test {
protected:
    void SetUp() override {
        ::signal(SIGPIPE, SIG_IGN);  // as berth and berthd
        auto r = server_.start("/tmp/berth-test-upload-XXXXXX", [&](Router& rt) {
            rt.add("GET", "/_ping", [](Request&, ResponseWriter& rw) -> Result<void> {
                return rw.send(200, "text/plain", "OK");
            });
            // Splices the body into a pipe drained by a thread, as consume_body() does.
            rt.add("POST", "/upload", [this](Request& req, ResponseWriter& rw) -> Result<void> {
                Seen s;
                s.content_length = req.header("Content-Length").value_or("");
                s.transfer_encoding = req.header("Transfer-Encoding").value_or("");
                int fds[2];
                if (::pipe2(fds, O_CLOEXEC) != 0) return BERTH_SYS_ERROR("pipe");
                std::thread reader([&] {
                    char buf[65536];
                    for (;;) {
                        ssize_t n = ::read(fds[0], buf, sizeof buf);
                        if (n <= 0) break;
                        s.body.append(buf, static_cast<size_t>(n));
                    }
                });
                test::PumpStats stats;
                Result<void> res = test::pump_body(req.body(), fds[1], stats);
                s.spliced = stats.spliced;
                ::close(fds[1]);
                reader.join();
                ::close(fds[0]);
                size_t size = s.body.size();
                {
                    std::lock_guard lk(mu_);
                    seen_ = std::move(s);
                }
                BERTH_TRY(res);
                return rw.send_json(200, json{{"size", size}});
            });
            // Answers an error without reading the body (a bad reference in import).
            rt.add("POST", "/refuse", [](Request&, ResponseWriter&) -> Result<void> {
                return make_error(Errc::InvalidArgument, "invalid reference format");
            });
        });
        ASSERT_TRUE(r) << r.error().what();
    }

    client::Client client() {
        return client::Client(*client::parse_host("unix://" + server_.sock()), "1.44");
    }

    Seen seen() {
        std::lock_guard lk(mu_);
        return seen_;
    }

    test::TestServer server_;
    std::mutex mu_;
    Seen seen_;
};

client::Request upload_request(const std::string& path, client::BodySource& body) {
    client::Request req;
    req.method = "POST";
    req.path = path;
    req.content_type = "application/x-tar";
    req.stream_body = &body;
    return req;
}

TEST_F(ClientUploadTest, FileGoesWithContentLengthAndSendfile) {
    const std::string data = make_body(6u << 20);
    TempFile f(data);
    client::FdBodySource body(f.fd(), f.path());
    auto range = body.fd_range();
    ASSERT_TRUE(range.has_value());
    EXPECT_EQ(range->size, data.size());
    auto c = client();
    auto r = c.call_json(upload_request("/upload", body));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ((*r)["size"], data.size());
    auto s = seen();
    EXPECT_EQ(s.content_length, std::to_string(data.size()));
    EXPECT_EQ(s.transfer_encoding, "");
    EXPECT_TRUE(s.body == data);
    EXPECT_GT(s.spliced, 0u);
}

TEST_F(ClientUploadTest, FileFromItsCurrentOffset) {
    // `berth import - < file` after something read the start: the rest of the file is sent.
    const std::string data = make_body(100000);
    TempFile f(data);
    ASSERT_EQ(::lseek(f.fd(), 1000, SEEK_SET), 1000);
    client::FdBodySource body(f.fd(), f.path());
    auto c = client();
    auto r = c.call_json(upload_request("/upload", body));
    ASSERT_TRUE(r) << r.error().what();
    auto s = seen();
    EXPECT_EQ(s.content_length, std::to_string(data.size() - 1000));
    EXPECT_TRUE(s.body == data.substr(1000));
}

TEST_F(ClientUploadTest, EmptyFile) {
    TempFile f("");
    client::FdBodySource body(f.fd(), f.path());
    auto c = client();
    auto r = c.call_json(upload_request("/upload", body));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ((*r)["size"], 0);
    EXPECT_EQ(seen().content_length, "0");
}

TEST_F(ClientUploadTest, PipeGoesChunked) {
    // stdin from a pipe (`cat x.tar | berth import -`): length unknown, so chunked.
    const std::string data = make_body(1u << 20);
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    std::thread writer([&] {
        size_t off = 0;
        while (off < data.size()) {
            ssize_t n = ::write(fds[1], data.data() + off, data.size() - off);
            if (n <= 0) break;
            off += static_cast<size_t>(n);
        }
        ::close(fds[1]);
    });
    client::FdBodySource body(fds[0], "stdin");
    EXPECT_FALSE(body.fd_range().has_value());
    auto c = client();
    auto r = c.call_json(upload_request("/upload", body));
    writer.join();
    ::close(fds[0]);
    ASSERT_TRUE(r) << r.error().what();
    auto s = seen();
    EXPECT_EQ(s.transfer_encoding, "chunked");
    EXPECT_EQ(s.content_length, "");
    EXPECT_TRUE(s.body == data);
    EXPECT_EQ(s.spliced, 0u);
}

TEST_F(ClientUploadTest, EarlyErrorAnswerIsShown) {
    // 40 MiB: more than the server drains (16 MiB) before it closes the connection, so the
    // client's sendfile meets a closed socket and must still read the answer.
    const std::string data = make_body(40u << 20);
    TempFile f(data);
    client::FdBodySource body(f.fd(), f.path());
    auto c = client();
    auto r = c.call(upload_request("/refuse", body));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_NE(r.error().msg.find("invalid reference format"), std::string::npos) << r.error().msg;
}

}  // namespace
}  // namespace berth::api
