#include "console.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace berth::runtime {

Result<UniqueFd> connect_unix_socket(const std::string& path) {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) return BERTH_SYS_ERROR("socket");
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
        return make_error(Errc::InvalidArgument, "console socket path too long: {}", path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(s.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
        return BERTH_SYS_ERROR("connect to console socket {}", path);
    return s;
}

Result<TerminalChannel> make_terminal_channel() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return BERTH_SYS_ERROR("socketpair");
    return TerminalChannel{UniqueFd(sv[0]), UniqueFd(sv[1])};
}

int send_with_fd(int socket_fd, const void* data, size_t len, int fd) noexcept {
    char cbuf[CMSG_SPACE(sizeof(int))] = {};
    struct iovec iov {};
    iov.iov_base = const_cast<void*>(data);
    iov.iov_len = len;
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fd >= 0) {
        msg.msg_control = cbuf;
        msg.msg_controllen = sizeof cbuf;
        struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    for (;;) {
        ssize_t r = ::sendmsg(socket_fd, &msg, MSG_NOSIGNAL);
        if (r == static_cast<ssize_t>(len)) return 0;
        if (r < 0 && errno == EINTR) continue;
        return r < 0 ? errno : EIO;
    }
}

int send_fd(int socket_fd, int fd, const char* name) noexcept {
    return send_with_fd(socket_fd, name, std::strlen(name), fd);
}

Result<UniqueFd> recv_fd(int socket_fd) {
    char name[4096];
    char cbuf[CMSG_SPACE(sizeof(int))] = {};
    struct iovec iov {name, sizeof name};
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    for (;;) {
        ssize_t r = ::recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return BERTH_SYS_ERROR("receive console fd");
        break;
    }
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) return make_error(Errc::Internal, "no fd received on console socket");
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return UniqueFd(fd);
}

int setup_console(int socket_fd, const oci::ConsoleSize* size, bool mount_console,
                  const char** step) noexcept {
    *step = "open /dev/ptmx";
    int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return errno;
    int unlock = 0;
    *step = "unlock pty";
    if (::ioctl(master, TIOCSPTLCK, &unlock) < 0) return errno;
    unsigned ptn = 0;
    *step = "get pty number";
    if (::ioctl(master, TIOCGPTN, &ptn) < 0) return errno;
    char name[64];
    std::snprintf(name, sizeof name, "/dev/pts/%u", ptn);
    *step = "open pty slave";
    int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (slave < 0) slave = ::open(name, O_RDWR | O_NOCTTY);
    if (slave < 0) return errno;
    if (size && (size->width || size->height)) {
        struct winsize ws {};
        ws.ws_row = static_cast<unsigned short>(size->height);
        ws.ws_col = static_cast<unsigned short>(size->width);
        *step = "set console size";
        if (::ioctl(master, TIOCSWINSZ, &ws) < 0) return errno;
    }
    if (mount_console) {
        // /dev/console is a bind mount of the pty slave (runtime-spec, "Default Devices").
        int f = ::open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (f >= 0) ::close(f);
        *step = "bind pty on /dev/console";
        if (::mount(name, "/dev/console", nullptr, MS_BIND, nullptr) < 0) return errno;
    }
    *step = "send pty master to console socket";
    int err = send_fd(socket_fd, master, name);
    if (err) return err;
    ::close(master);
    *step = "make pty stdio";
    for (int i = 0; i < 3; ++i)
        if (::dup2(slave, i) < 0) return errno;
    if (slave > 2) ::close(slave);
    *step = "set controlling terminal";
    if (::ioctl(0, TIOCSCTTY, 0) < 0) return errno;
    return 0;
}

}  // namespace berth::runtime
