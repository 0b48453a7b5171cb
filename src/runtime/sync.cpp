#include "sync.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

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
    for (;;) {
        ssize_t r = ::send(fd, &m, sizeof m, MSG_NOSIGNAL);
        if (r == static_cast<ssize_t>(sizeof m)) return 0;
        if (r < 0 && errno == EINTR) continue;
        return r < 0 ? errno : EIO;
    }
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

Result<SyncMsg> sync_recv(int fd) {
    SyncMsg m;
    for (;;) {
        ssize_t r = ::recv(fd, &m, sizeof m, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return BERTH_SYS_ERROR("read from container init");
        if (r == 0) return make_error(Errc::Unavailable, "container init exited during setup");
        if (r != static_cast<ssize_t>(sizeof m))
            return make_error(Errc::Internal, "short message from container init");
        m.step[sizeof m.step - 1] = '\0';
        return m;
    }
}

Error sync_error(const SyncMsg& m) {
    return Error{errc_from_errno(m.value), m.value, m.step};
}

}  // namespace berth::runtime
