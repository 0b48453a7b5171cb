#include "console_socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace berth::test {

ConsoleSocket::ConsoleSocket(std::string path) : path_(std::move(path)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof addr.sun_path) return;
    memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 4) != 0) {
        ::close(fd);
        return;
    }
    listen_fd_ = fd;
}

ConsoleSocket::~ConsoleSocket() {
    if (master_fd_ >= 0) ::close(master_fd_);
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        ::unlink(path_.c_str());
    }
}

int ConsoleSocket::receive_master(std::chrono::milliseconds timeout, std::string* error) {
    auto set_error = [&](const std::string& what) {
        if (error) *error = what + ": " + strerror(errno);
        return -1;
    };
    if (listen_fd_ < 0) {
        errno = EBADF;
        return set_error("console socket is not listening");
    }
    pollfd p{listen_fd_, POLLIN, 0};
    int pr = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (pr <= 0) {
        if (pr == 0) errno = ETIMEDOUT;
        return set_error("waiting for the runtime to connect to the console socket");
    }
    int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return set_error("accept on the console socket");
    char data[4096];
    iovec iov{data, sizeof data};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    pollfd cp{conn, POLLIN, 0};
    if (::poll(&cp, 1, static_cast<int>(timeout.count())) <= 0) {
        ::close(conn);
        errno = ETIMEDOUT;
        return set_error("waiting for the pty master on the console socket");
    }
    ssize_t n = ::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    ::close(conn);
    if (n < 0) return set_error("recvmsg on the console socket");
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
            if (master_fd_ >= 0) ::close(master_fd_);
            master_fd_ = fd;
            return fd;
        }
    }
    errno = EPROTO;
    return set_error("no SCM_RIGHTS fd in the console socket message");
}

bool ConsoleSocket::write_master(const std::string& data) {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::write(master_fd_, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        left -= static_cast<size_t>(n);
    }
    return true;
}

std::string ConsoleSocket::read_until(const std::string& needle,
                                      std::chrono::milliseconds timeout) {
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (master_fd_ >= 0) {
        if (!needle.empty() && got.find(needle) != std::string::npos) break;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{master_fd_, POLLIN, 0};
        int pr = ::poll(&p, 1, static_cast<int>(left.count()));
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) break;
        char buf[4096];
        ssize_t n = ::read(master_fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // EIO: every slave fd is closed (the container exited)
        got.append(buf, static_cast<size_t>(n));
    }
    return got;
}

}  // namespace berth::test
