// The server's zero-copy request bodies: BodyReader::splice_to() on Content-Length bodies
// (buffered bytes first, then splice(2) from the socket), its fallback for chunked bodies,
// short bodies, mixing with read(), and keep-alive after a spliced body.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "berth/api/server/router.hpp"
#include "body_pump.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

namespace berth::api {
namespace {

using test::TestClient;
using json = nlohmann::json;

// What the /test/splice route saw.
struct Outcome {
    std::string body;
    std::string error;
    Errc code = Errc::Internal;
    bool unsupported = false;
    size_t spliced = 0;  ///< bytes that went through splice_to()
};

// The pattern byte at `i` of a test body.
char pattern(size_t i) { return static_cast<char>((i * 7 + i / 4096) % 251); }

std::string make_body(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = pattern(i);
    return s;
}

// Moves the body into a small pipe (64 KiB, smaller than the body and than the server's read
// buffer) with splice_to(), as consume_body() does, with a reader thread on the other end.
// ?mix=N reads the first N bytes with read() first; chunked bodies fall back to read().
Result<void> splice_route(Request& req, ResponseWriter& rw, Outcome& out, std::mutex& mu) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return BERTH_SYS_ERROR("pipe");
    ::fcntl(fds[1], F_SETPIPE_SZ, 64 * 1024);
    std::string got;
    std::thread reader([&] {
        char buf[16384];
        for (;;) {
            ssize_t n = ::read(fds[0], buf, sizeof buf);
            if (n <= 0) break;
            got.append(buf, static_cast<size_t>(n));
        }
    });
    Outcome o;
    Result<void> result;
    std::string mix_arg = req.query.get("mix");
    size_t mix = mix_arg.empty() ? 0 : static_cast<size_t>(std::stoul(mix_arg));
    std::string head;
    while (head.size() < mix && result) {
        std::vector<char> buf(mix - head.size());
        auto n = req.body().read(std::span<char>(buf.data(), buf.size()));
        if (!n) {
            result = Unexpected(n.error());
            break;
        }
        if (*n == 0) break;
        head.append(buf.data(), *n);
    }
    if (result) (void)::write(fds[1], head.data(), head.size());
    if (result) {
        test::PumpStats stats;
        result = test::pump_body(req.body(), fds[1], stats);
        o.spliced = stats.spliced;
        o.unsupported = stats.unsupported;
    }
    ::close(fds[1]);
    reader.join();
    ::close(fds[0]);
    o.body = std::move(got);
    if (!result) {
        o.error = result.error().what();
        o.code = result.error().code;
    }
    {
        std::lock_guard lk(mu);
        out = o;
    }
    if (!result) return Unexpected(result.error());
    return rw.send_json(200, json{{"size", o.body.size()}, {"spliced", o.spliced}});
}

class SpliceBodyTest : public ::testing::Test {
protected:
    void SetUp() override {
        ::signal(SIGPIPE, SIG_IGN);  // as berthd: a pipe whose reader left is EPIPE
        auto r = server_.start("/tmp/berth-test-splice-XXXXXX", [&](Router& rt) {
            rt.add("POST", "/test/splice", [this](Request& req, ResponseWriter& rw) {
                return splice_route(req, rw, outcome_, mu_);
            });
            rt.add("GET", "/_ping", [](Request&, ResponseWriter& rw) -> Result<void> {
                return rw.send(200, "text/plain", "OK");
            });
        });
        ASSERT_TRUE(r) << r.error().what();
    }

    Outcome outcome() {
        std::lock_guard lk(mu_);
        return outcome_;
    }

    // Waits until the route recorded an outcome (after a client went away, no answer comes).
    Outcome wait_outcome() {
        for (int i = 0; i < 500; ++i) {
            {
                std::lock_guard lk(mu_);
                if (!outcome_.error.empty()) return outcome_;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return outcome();
    }

    // Sends with `send` on a thread while the answer is read (a body bigger than the socket
    // buffers blocks its sender), checks that the route got `body` whole and that the
    // connection carries the next request.
    void exchange(TestClient& c, const std::function<void()>& send, const std::string& body) {
        std::thread sender(send);
        auto r = c.read_response();
        sender.join();
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_TRUE(outcome().body == body);
        EXPECT_EQ(c.request("GET", "/_ping").body, "OK");
    }

    test::TestServer server_;
    std::mutex mu_;
    Outcome outcome_;
};

TEST_F(SpliceBodyTest, BigBodySplicedAndConnectionKeptAlive) {
    // 5 MiB: bigger than the pipe (64 KiB) and the server's read buffer (256 KiB). Sent with
    // the headers in one go, so the first bytes arrive in the header read's buffer.
    const std::string body = make_body(5u << 20);
    TestClient c(server_.sock());
    exchange(c, [&] { c.send_request("POST", "/test/splice", body); }, body);
    auto o = outcome();
    EXPECT_FALSE(o.unsupported);
    EXPECT_EQ(o.spliced, body.size());
    // Keep-alive after a spliced body also when the next request was sent right behind the
    // body (pipelined): its bytes stay for the next parser.
    std::string small = make_body(1000);
    c.send_request("POST", "/test/splice", small);
    c.send_request("GET", "/_ping");
    auto r2 = c.read_response();
    EXPECT_EQ(r2.status, 200) << r2.body;
    EXPECT_TRUE(outcome().body == small);
    EXPECT_EQ(c.read_response().body, "OK");
}

TEST_F(SpliceBodyTest, BodyArrivingLaterIsSpliced) {
    // The headers first, the body in pieces afterwards: splice(2) waits on the socket.
    const std::string body = make_body(3u << 20);
    TestClient c(server_.sock());
    c.send_raw("POST /test/splice HTTP/1.1\r\nHost: x\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n");
    exchange(c, [&] {
        for (size_t off = 0; off < body.size(); off += 700000) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            c.send_raw(body.substr(off, 700000));
        }
    }, body);
}

TEST_F(SpliceBodyTest, ReadThenSplice) {
    // A consumer that read() the start (a header sniff) then splices the rest.
    const std::string body = make_body(1u << 20);
    TestClient c(server_.sock());
    exchange(c, [&] { c.send_request("POST", "/test/splice?mix=1000", body); }, body);
    EXPECT_EQ(outcome().spliced, body.size() - 1000);
}

TEST_F(SpliceBodyTest, ExpectContinueThenSplice) {
    const std::string body = make_body(300000);
    TestClient c(server_.sock());
    c.send_raw("POST /test/splice HTTP/1.1\r\nHost: x\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n\r\n");
    EXPECT_EQ(c.read_line(), "HTTP/1.1 100 Continue");
    EXPECT_EQ(c.read_line(), "");
    c.send_raw(body);
    auto r = c.read_response();
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(outcome().body == body);
}

TEST_F(SpliceBodyTest, ChunkedBodyIsUnsupportedAndReadInstead) {
    const std::string body = make_body(400000);
    TestClient c(server_.sock());
    std::string req =
        "POST /test/splice HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (size_t off = 0; off < body.size(); off += 100000) {
        char head[32];
        std::snprintf(head, sizeof head, "%zx\r\n", std::min<size_t>(100000, body.size() - off));
        req += head + body.substr(off, 100000) + "\r\n";
    }
    req += "0\r\n\r\n";
    exchange(c, [&] { c.send_raw(req); }, body);
    EXPECT_TRUE(outcome().unsupported);
}

TEST_F(SpliceBodyTest, EmptyBody) {
    TestClient c(server_.sock());
    auto r = c.request("POST", "/test/splice", "");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["size"], 0);
}

TEST_F(SpliceBodyTest, ClientGoneMidBodyIsAnError) {
    // 2 MiB declared, 1 MiB sent, then the client closes.
    const std::string body = make_body(1u << 20);
    {
        TestClient c(server_.sock());
        c.send_raw("POST /test/splice HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                   std::to_string(2u << 20) + "\r\n\r\n" + body);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    auto o = wait_outcome();
    EXPECT_EQ(o.code, Errc::Unavailable) << o.error;
    EXPECT_NE(o.error.find("client disconnected"), std::string::npos) << o.error;
    EXPECT_LE(o.body.size(), body.size());
    // The server still serves others.
    TestClient c2(server_.sock());
    EXPECT_EQ(c2.request("GET", "/_ping").body, "OK");
}

TEST_F(SpliceBodyTest, ShortBodyInTheHeaderBufferIsAnError) {
    // The few bytes sent all arrived with the headers; the rest never comes.
    {
        TestClient c(server_.sock());
        c.send_raw("POST /test/splice HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
        ::shutdown(c.fd(), SHUT_WR);
        auto r = c.read_response();
        EXPECT_EQ(r.status, 503) << r.body;
    }
    auto o = wait_outcome();
    EXPECT_EQ(o.code, Errc::Unavailable) << o.error;
    EXPECT_EQ(o.body, "abc");
}

TEST_F(SpliceBodyTest, ConsumerGoneIsAPipeError) {
    // The pipe's reader left (the image service failed): Internal with EPIPE, not the client.
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    ::close(fds[0]);
    std::atomic<int> code{-1};
    test::TestServer s2;
    auto st = s2.start("/tmp/berth-test-splice-XXXXXX", [&](Router& rt) {
        rt.add("POST", "/test/gone", [&](Request& req, ResponseWriter& rw) -> Result<void> {
            auto n = req.body().splice_to(fds[1], 1 << 20);
            code = n ? 0 : static_cast<int>(n.error().code) * 1000 + n.error().sys_errno;
            return rw.send(200, "text/plain", "done");
        });
    });
    ASSERT_TRUE(st) << st.error().what();
    TestClient c(s2.sock());
    // Past the header buffer, so that splice(2) itself meets the closed pipe.
    c.send_raw("POST /test/gone HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    c.send_raw("0123456789");
    auto r = c.read_response();
    EXPECT_EQ(r.body, "done");
    EXPECT_EQ(code.load(), static_cast<int>(Errc::Internal) * 1000 + EPIPE);
    ::close(fds[1]);
}

}  // namespace
}  // namespace berth::api
