#pragma once
// A deliberately small HTTP/1.1 client over a unix socket for the API tests: it writes raw
// requests and parses answers by hand, so the tests see exactly the bytes the server sends.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <strings.h>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace berth::api::test {

struct HttpResponse {
    std::string status_line;
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool chunked = false;

    std::optional<std::string> header(const std::string& name) const {
        for (const auto& [k, v] : headers)
            if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
        return std::nullopt;
    }
};

class TestClient {
public:
    explicit TestClient(const std::string& socket_path) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa {};
        sa.sun_family = AF_UNIX;
        std::strncpy(sa.sun_path, socket_path.c_str(), sizeof sa.sun_path - 1);
        if (::connect(fd_, reinterpret_cast<struct sockaddr*>(&sa), sizeof sa) < 0)
            throw std::runtime_error("connect " + socket_path + ": " + std::strerror(errno));
        struct timeval tv {
            10, 0
        };  // a hung server fails the test instead of hanging it
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~TestClient() { close(); }
    TestClient(const TestClient&) = delete;
    TestClient& operator=(const TestClient&) = delete;

    int fd() const { return fd_; }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

    void send_raw(const std::string& data) {
        size_t off = 0;
        while (off < data.size()) {
            ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
            if (n <= 0) throw std::runtime_error("send failed");
            off += static_cast<size_t>(n);
        }
    }

    /// Sends a request with a Content-Length body (none when empty and no body wanted).
    void send_request(const std::string& method, const std::string& target,
                      const std::string& body = "", const std::string& extra_headers = "") {
        std::string req =
            method + " " + target + " HTTP/1.1\r\nHost: api.moby.localhost\r\n" + extra_headers;
        if (!body.empty() || method == "POST" || method == "PUT")
            req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
        req += "\r\n" + body;
        send_raw(req);
    }

    /// A whole request/answer exchange.
    HttpResponse request(const std::string& method, const std::string& target,
                         const std::string& body = "", const std::string& extra_headers = "") {
        send_request(method, target, body, extra_headers);
        return read_response(method == "HEAD");
    }

    /// Reads the status line and headers only.
    HttpResponse read_head() {
        HttpResponse r;
        std::string line = read_line();
        r.status_line = line;
        if (line.size() >= 12) r.status = std::stoi(line.substr(9, 3));
        for (;;) {
            line = read_line();
            if (line.empty()) break;
            size_t colon = line.find(':');
            std::string v = line.substr(colon + 1);
            while (!v.empty() && v[0] == ' ') v.erase(0, 1);
            r.headers.emplace_back(line.substr(0, colon), v);
        }
        auto te = r.header("Transfer-Encoding");
        r.chunked = te && *te == "chunked";
        return r;
    }

    /// Reads one chunk of a chunked body; nullopt at the last (empty) chunk.
    std::optional<std::string> read_chunk() {
        std::string size_line = read_line();
        size_t n = std::stoul(size_line, nullptr, 16);
        if (n == 0) {
            read_line();  // the blank line after the last chunk (no trailers)
            return std::nullopt;
        }
        std::string data = read_exact(n);
        read_line();
        return data;
    }

    /// Reads a complete answer (body by Content-Length, chunked, or until EOF).
    HttpResponse read_response(bool head_request = false) {
        HttpResponse r = read_head();
        if (head_request || r.status == 204 || r.status == 304) return r;
        if (r.chunked) {
            while (auto c = read_chunk()) r.body += *c;
        } else if (auto cl = r.header("Content-Length")) {
            r.body = read_exact(std::stoul(*cl));
        } else {
            r.body = read_to_eof();
        }
        return r;
    }

    std::string read_exact(size_t n) {
        while (buf_.size() < n) {
            if (!fill()) throw std::runtime_error("unexpected EOF");
        }
        std::string out = buf_.substr(0, n);
        buf_.erase(0, n);
        return out;
    }

    std::string read_to_eof() {
        while (fill()) {
        }
        return std::exchange(buf_, std::string{});
    }

    std::string read_line() {
        for (;;) {
            size_t nl = buf_.find("\r\n");
            if (nl != std::string::npos) {
                std::string line = buf_.substr(0, nl);
                buf_.erase(0, nl + 2);
                return line;
            }
            if (!fill()) throw std::runtime_error("unexpected EOF reading a line");
        }
    }

    /// Reads more bytes; false at EOF. Throws on timeout.
    bool fill() {
        char tmp[65536];
        ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
        if (n < 0) throw std::runtime_error(std::string("recv: ") + std::strerror(errno));
        if (n == 0) return false;
        buf_.append(tmp, static_cast<size_t>(n));
        return true;
    }

    std::string& buffered() { return buf_; }

private:
    int fd_ = -1;
    std::string buf_;
};

}  // namespace berth::api::test
