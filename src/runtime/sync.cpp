#include "sync.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "console.hpp"

namespace berth::runtime {

Result<SyncPair> make_sync_pair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return BERTH_SYS_ERROR("socketpair");
    return SyncPair{UniqueFd(sv[0]), UniqueFd(sv[1])};
}

int sync_send(int fd, SyncType type, int32_t value, const char* step) noexcept {
    SyncMsg m;
    m.type = type;
    m.value = value;
    if (step) {
        size_t n = ::strnlen(step, sizeof m.step - 1);
        std::memcpy(m.step, step, n);
        m.step[n] = '\0';
    }
    return send_with_fd(fd, &m, sizeof m, -1);
}

int sync_send_fd(int fd, SyncType type, int passed_fd) noexcept {
    SyncMsg m;
    m.type = type;
    return send_with_fd(fd, &m, sizeof m, passed_fd);
}

int sync_wait(int fd, SyncType type, int32_t* value) noexcept {
    SyncMsg m;
    for (;;) {
        ssize_t r = ::recv(fd, &m, sizeof m, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return errno;
        if (r == 0) return EPIPE;
        if (r != static_cast<ssize_t>(sizeof m) || m.type != type) return EPROTO;
        if (value) *value = m.value;
        return 0;
    }
}

Result<SyncMsg> sync_recv(int fd, UniqueFd* received) {
    SyncMsg m;
    struct iovec iov {&m, sizeof m};
    char cbuf[CMSG_SPACE(sizeof(int))] = {};
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    ssize_t r;
    do r = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    if (r < 0) return BERTH_SYS_ERROR("read from container init");
    if (r == 0) return make_error(Errc::Unavailable, "container init exited during setup");
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int passed;
        std::memcpy(&passed, CMSG_DATA(c), sizeof(int));
        if (received) received->reset(passed);
        else ::close(passed);
    }
    if (r != static_cast<ssize_t>(sizeof m)) return make_error(Errc::Internal, "short message from container init");
    m.step[sizeof m.step - 1] = '\0';
    return m;
}

Error sync_error(const SyncMsg& m) {
    return Error{errc_from_errno(m.value), m.value, m.step};
}

}  // namespace berth::runtime
