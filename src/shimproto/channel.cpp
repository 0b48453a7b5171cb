// SOCK_SEQPACKET messages with descriptors (protocol.hpp says what travels on them).

#include "berth/shimproto/channel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace berth::shimproto {

namespace {
// A shim's requests carry two; a launch carries the new shim's stdio, its monitor connection
// and two per attach that waited for the start.
constexpr size_t kMaxFds = kMaxMessageFds;
}

Result<void> send_message(int sock, const nlohmann::json& body, const std::vector<int>& fds) {
    std::string text = body.dump();
    if (text.size() > kMaxMessage)
        return make_error(Errc::InvalidArgument, "shim message of {} bytes is too large", text.size());
    if (fds.size() > kMaxFds) return make_error(Errc::InvalidArgument, "too many descriptors");
    struct iovec iov {};
    iov.iov_base = text.data();
    iov.iov_len = text.size();
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
    if (!fds.empty()) {
        msg.msg_control = cbuf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    for (;;) {
        ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n >= 0) return {};
        if (errno == EINTR) continue;
        if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
            return make_error(Errc::Unavailable, "shim connection closed");
        return BERTH_SYS_ERROR("send a shim message");
    }
}

Result<Message> recv_message(int sock) {
    std::string buf(kMaxMessage, '\0');
    struct iovec iov {};
    iov.iov_base = buf.data();
    iov.iov_len = buf.size();
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    ssize_t n;
    do {
        n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == ECONNRESET) return make_error(Errc::Unavailable, "shim connection closed");
        return BERTH_SYS_ERROR("receive a shim message");
    }
    Message m;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            m.fds.emplace_back(fd);
        }
    }
    if (n == 0 && m.fds.empty()) return make_error(Errc::Unavailable, "shim connection closed");
    if (msg.msg_flags & MSG_TRUNC) return make_error(Errc::InvalidArgument, "shim message truncated");
    buf.resize(static_cast<size_t>(n));
    m.body = nlohmann::json::parse(buf, nullptr, false);
    if (!m.body.is_object())
        return make_error(Errc::InvalidArgument, "shim message is not a JSON object");
    return m;
}

Result<SocketAddress> socket_address(const std::string& path) {
    SocketAddress a;
    a.addr.sun_family = AF_UNIX;
    std::string p = path;
    if (p.size() >= sizeof a.addr.sun_path) {
        // sun_path holds 107 bytes; deep data roots (tests' temp dirs) need more. The directory
        // is reached through its descriptor instead: /proc/self/fd/<n>/<name>.
        auto slash = p.rfind('/');
        std::string dir = slash == 0 ? "/" : p.substr(0, slash);
        a.dir.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!a.dir) return BERTH_SYS_ERROR("open {}", dir);
        p = "/proc/self/fd/" + std::to_string(a.dir.get()) + "/" + p.substr(slash + 1);
        if (p.size() >= sizeof a.addr.sun_path)
            return make_error(Errc::InvalidArgument, "socket name too long: {}", path);
    }
    std::memcpy(a.addr.sun_path, p.c_str(), p.size() + 1);
    return a;
}

Result<UniqueFd> connect_seqpacket(const std::string& path) {
    auto sa = BERTH_TRY(socket_address(path));
    auto& addr = sa.addr;
    UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!fd) return BERTH_SYS_ERROR("socket");
    int r;
    do {
        r = ::connect(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        if (errno == ENOENT || errno == ECONNREFUSED)
            return make_error(Errc::Unavailable, "no shim listens on {}", path);
        return BERTH_SYS_ERROR("connect to {}", path);
    }
    return fd;
}

Result<std::pair<UniqueFd, UniqueFd>> seqpacket_pair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return BERTH_SYS_ERROR("socketpair");
    return std::pair<UniqueFd, UniqueFd>{UniqueFd(sv[0]), UniqueFd(sv[1])};
}

bool wait_for_hang_up(std::vector<int> socks, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!socks.empty()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        std::vector<struct pollfd> p;
        for (int fd : socks) p.push_back({fd, POLLIN, 0});
        int n = ::poll(p.data(), p.size(), static_cast<int>(left.count()));
        if (n < 0 && errno != EINTR) return false;
        for (const auto& x : p) {
            if (x.revents == 0) continue;
            char b[512];
            ssize_t r = ::recv(x.fd, b, sizeof b, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR) ||
                (x.revents & (POLLHUP | POLLERR)))
                std::erase(socks, x.fd);
        }
    }
    return true;
}

}  // namespace berth::shimproto
