#include "berth/api/server/response.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "berth/api/server/http_status.hpp"

namespace berth::api {

namespace {

// Writes every byte of the iovecs; MSG_NOSIGNAL so a vanished client is an EPIPE, not a
// SIGPIPE that would kill the daemon.
Result<void> send_all(int fd, struct iovec* iov, int n) {
    while (n > 0) {
        struct msghdr mh {};
        mh.msg_iov = iov;
        mh.msg_iovlen = static_cast<size_t>(n);
        ssize_t w = ::sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return make_error(Errc::Unavailable, "client disconnected ({})", std::strerror(errno));
        }
        auto left = static_cast<size_t>(w);
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            ++iov;
            --n;
        }
        if (n > 0) {
            iov->iov_base = static_cast<char*>(iov->iov_base) + left;
            iov->iov_len -= left;
        }
    }
    return {};
}

Result<void> send_all(int fd, std::string_view data) {
    struct iovec iov {
        const_cast<char*>(data.data()), data.size()
    };
    return send_all(fd, &iov, data.empty() ? 0 : 1);
}

// A JSON document and "\n"; invalid UTF-8 in a string is replaced rather than thrown about.
std::string json_line(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

Result<void> StreamWriter::send_chunk(std::string_view data, std::string_view after) {
    std::string head = fmt::format("{:x}\r\n", data.size());
    struct iovec iov[3] = {{head.data(), head.size()},
                           {const_cast<char*>(data.data()), data.size()},
                           {const_cast<char*>(after.data()), after.size()}};
    auto r = send_all(fd_, iov, 3);
    if (!r) failed_ = true;
    return r;
}

Result<void> StreamWriter::write(std::string_view data) {
    if (failed_ || finished_)
        return make_error(Errc::Unavailable, "client disconnected (stream closed)");
    if (data.empty()) return {};
    return send_chunk(data, "\r\n");
}

Result<void> StreamWriter::write_json_line(const nlohmann::json& j) {
    return write(json_line(j));
}

Result<void> StreamWriter::finish_json_line(const nlohmann::json& j) {
    return finish(json_line(j));
}

bool StreamWriter::client_gone() const noexcept {
    if (failed_) return true;
    struct pollfd p {
        fd_, POLLRDHUP, 0
    };
    int r = ::poll(&p, 1, 0);
    return r > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

Result<void> StreamWriter::finish() {
    if (finished_) return {};
    if (failed_) return make_error(Errc::Unavailable, "client disconnected (stream closed)");
    finished_ = true;
    auto r = send_all(fd_, "0\r\n\r\n");
    if (!r) failed_ = true;
    return r;
}

Result<void> StreamWriter::finish(std::string_view last) {
    if (last.empty()) return finish();
    if (failed_ || finished_)
        return make_error(Errc::Unavailable, "client disconnected (stream closed)");
    finished_ = true;
    return send_chunk(last, "\r\n0\r\n\r\n");  // the chunk's end, then the last chunk
}

Result<size_t> HijackedStream::read(std::span<char> buf) {
    if (buf.empty()) return size_t{0};
    if (pos_ < leftover_.size()) {
        size_t n = std::min(buf.size(), leftover_.size() - pos_);
        std::memcpy(buf.data(), leftover_.data() + pos_, n);
        pos_ += n;
        return n;
    }
    for (;;) {
        ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
        if (n >= 0) return static_cast<size_t>(n);
        if (errno == EINTR) continue;
        if (errno == ECONNRESET || errno == EPIPE) return size_t{0};
        return make_error(Errc::Unavailable, "read from hijacked client: {}", std::strerror(errno));
    }
}

Result<void> HijackedStream::write(std::string_view data) {
    return send_all(fd_, data);
}

Result<void> HijackedStream::close_write() {
    if (::shutdown(fd_, SHUT_WR) < 0)
        return make_error(Errc::Unavailable, "half-close hijacked client: {}",
                          std::strerror(errno));
    return {};
}

std::string mux_header(MuxStream stream, uint32_t size) {
    std::string h(8, '\0');
    h[0] = static_cast<char>(stream);
    h[4] = static_cast<char>((size >> 24) & 0xff);
    h[5] = static_cast<char>((size >> 16) & 0xff);
    h[6] = static_cast<char>((size >> 8) & 0xff);
    h[7] = static_cast<char>(size & 0xff);
    return h;
}

Result<void> write_mux_frame(Writer& out, MuxStream stream, std::string_view data) {
    constexpr size_t kMax = 0xffffffffu;
    do {
        std::string_view part = data.substr(0, kMax);
        data.remove_prefix(part.size());
        std::string frame = mux_header(stream, static_cast<uint32_t>(part.size()));
        frame.append(part);
        BERTH_TRY(out.write(frame));
    } while (!data.empty());
    return {};
}

Result<void> ResponseWriter::send_json(int status, const nlohmann::json& j) {
    return send(status, "application/json",
                j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

Result<void> ResponseWriter::send_status(int status) {
    return send(status, "", "");
}

Result<void> ResponseWriter::send_error(const Error& err) {
    return send_json(http_status_for(err.code), nlohmann::json{{"message", err.what()}});
}

Result<void> LazyStream::write(std::string_view data) {
    BERTH_TRY(start());
    return stream_->write(data);
}

Result<void> LazyStream::start() {
    if (stream_ == nullptr) stream_ = BERTH_TRY(rw_.start_stream(200, content_type_));
    return {};
}

}  // namespace berth::api
