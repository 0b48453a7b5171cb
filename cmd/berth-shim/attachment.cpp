// Attached clients: framing, non-blocking output, stdin with the detach-key matcher.

#include "attachment.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "berth/common/time.hpp"
#include "berth/shimproto/channel.hpp"

namespace berth::shim {

Attachment::Attachment(UniqueFd client, UniqueFd done, const shimproto::AttachRequest& req,
                       bool tty, std::string detach_seq)
    : client_(std::move(client)),
      done_(std::move(done)),
      stdin_(req.stdin_),
      stdout_(req.stdout_),
      stderr_(req.stderr_),
      tty_(tty),
      escape_(std::move(detach_seq)),
      leftover_(req.leftover) {}

void Attachment::queue(int stream, std::string_view data) {
    if (gone_ || data.empty() || !wants_output(stream)) return;
    if (out_pos_ > 0 && out_pos_ == out_.size()) {
        out_.clear();
        out_pos_ = 0;
    }
    if (!tty_) {
        // [stream, 0, 0, 0, size as big-endian uint32] (docker-api.md §3.2).
        uint32_t n = static_cast<uint32_t>(data.size());
        char h[8] = {static_cast<char>(stream), 0, 0, 0, static_cast<char>(n >> 24),
                     static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
        out_.append(h, sizeof h);
    }
    out_.append(data);
}

void Attachment::flush() {
    while (!gone_ && pending() > 0) {
        ssize_t n = ::send(client_.get(), out_.data() + out_pos_, pending(),
                           MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            out_pos_ += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        gone_ = true;  // EPIPE, ECONNRESET: the client is gone
    }
    if (pending() == 0) {
        out_.clear();
        out_pos_ = 0;
        // Keep a long-lived attachment small after a burst of output.
        if (out_.capacity() > 64 * 1024) out_.shrink_to_fit();
    }
}

Attachment::Input Attachment::read_stdin(std::string& out) {
    out.clear();
    if (!reading_stdin()) return Input::None;
    if (!leftover_.empty()) {
        bool detached = escape_.feed(leftover_, out);
        leftover_.clear();
        if (detached) return Input::Detach;
        if (!out.empty()) return Input::Data;
    }
    char buf[16 * 1024];
    ssize_t n;
    do {
        n = ::recv(client_.get(), buf, sizeof buf, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Input::None;
    if (n <= 0) {
        stdin_done_ = true;
        escape_.flush(out);
        return Input::Eof;
    }
    if (escape_.feed(std::string_view(buf, static_cast<size_t>(n)), out)) return Input::Detach;
    return out.empty() ? Input::None : Input::Data;
}

void Attachment::finish(const nlohmann::json& done, int timeout_ms) {
    int64_t deadline = now_unix_nanos() + int64_t{timeout_ms} * 1'000'000;
    while (!gone_ && pending() > 0) {
        flush();
        if (gone_ || pending() == 0) break;
        int64_t left_ms = (deadline - now_unix_nanos()) / 1'000'000;
        if (left_ms <= 0) break;
        struct pollfd p {client_.get(), POLLOUT, 0};
        (void)::poll(&p, 1, static_cast<int>(left_ms));
    }
    client_.reset();
    if (done_) (void)shimproto::send_message(done_.get(), done);
    done_.reset();
    gone_ = true;
}

}  // namespace berth::shim
