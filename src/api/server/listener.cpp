#include "listener.hpp"

#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"

namespace berth::api::detail {

namespace {

Result<gid_t> lookup_group(const std::string& name) {
    std::vector<char> buf(16384);
    struct group gr {};
    struct group* res = nullptr;
    int rc = getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &res);
    if (rc != 0 || res == nullptr) return make_error(Errc::NotFound, "group {} not found", name);
    return res->gr_gid;
}

// moby's --group: a named group must exist; by default "docker", then "berth", else root.
Result<gid_t> socket_gid(const std::string& wanted) {
    if (!wanted.empty()) {
        auto g = lookup_group(wanted);
        if (!g) return make_error(Errc::InvalidArgument, "socket group {}: no such group", wanted);
        return *g;
    }
    for (const char* name : {"docker", "berth"}) {
        if (auto g = lookup_group(name)) return *g;
    }
    return gid_t{0};
}

Result<ListenSocket> open_unix(const std::string& path, mode_t mode, const std::string& group) {
    struct sockaddr_un sa {};
    sa.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof sa.sun_path)
        return make_error(Errc::InvalidArgument, "unix socket path \"{}\" is empty or too long",
                          path);
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    gid_t gid = BERTH_TRY(socket_gid(group));
    BERTH_TRY_CTX(mkdir_all(dirname_of(path), 0755), "create the directory of {}", path);

    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return make_error(Errc::AlreadyExists, "listen on {}: exists and is not a socket",
                              path);
        // A socket file nobody accepts on is left over from a daemon that died: replace it.
        // One that answers belongs to a running daemon: leave it alone.
        UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!probe) return BERTH_SYS_ERROR("probe socket {}", path);
        if (::connect(probe.get(), reinterpret_cast<struct sockaddr*>(&sa), sizeof sa) == 0)
            return make_error(Errc::AlreadyExists,
                              "listen on {}: another daemon is listening on it", path);
        if (errno != ECONNREFUSED && errno != ENOENT)
            return BERTH_SYS_ERROR("probe socket {}", path);
        if (::unlink(path.c_str()) < 0 && errno != ENOENT)
            return BERTH_SYS_ERROR("remove stale socket {}", path);
        BLOG_INFO("api: removed stale socket {}", path);
    }

    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return BERTH_SYS_ERROR("create unix socket for {}", path);
    if (::bind(fd.get(), reinterpret_cast<struct sockaddr*>(&sa), sizeof sa) < 0)
        return BERTH_SYS_ERROR("bind {}", path);
    if (::chmod(path.c_str(), mode) < 0) return BERTH_SYS_ERROR("chmod {}", path);
    if (::chown(path.c_str(), 0, gid) < 0 && geteuid() == 0)
        return BERTH_SYS_ERROR("chown {} to gid {}", path, gid);
    if (::listen(fd.get(), SOMAXCONN) < 0) return BERTH_SYS_ERROR("listen on {}", path);
    ListenSocket ls;
    ls.fd = std::move(fd);
    ls.family = AF_UNIX;
    ls.address = "unix://" + path;
    ls.unix_path = path;
    return ls;
}

Result<ListenSocket> open_tcp(const std::string& hostport) {
    std::string host;
    std::string port = "2375";
    if (!hostport.empty() && hostport[0] == '[') {
        size_t close = hostport.find(']');
        if (close == std::string::npos)
            return make_error(Errc::InvalidArgument, "bad tcp address \"{}\"", hostport);
        host = hostport.substr(1, close - 1);
        if (close + 1 < hostport.size() && hostport[close + 1] == ':')
            port = hostport.substr(close + 2);
    } else {
        size_t colon = hostport.rfind(':');
        host = hostport.substr(0, colon);
        if (colon != std::string::npos) port = hostport.substr(colon + 1);
    }
    if (host.empty()) host = "0.0.0.0";
    struct addrinfo hints {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    struct addrinfo* res = nullptr;
    int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0)
        return make_error(Errc::InvalidArgument, "resolve tcp address {}: {}", hostport,
                          gai_strerror(rc));
    std::unique_ptr<struct addrinfo, decltype(&::freeaddrinfo)> guard(res, ::freeaddrinfo);
    UniqueFd fd(::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return BERTH_SYS_ERROR("create tcp socket for {}", hostport);
    int one = 1;
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), res->ai_addr, res->ai_addrlen) < 0)
        return BERTH_SYS_ERROR("bind tcp {}", hostport);
    if (::listen(fd.get(), SOMAXCONN) < 0) return BERTH_SYS_ERROR("listen on tcp {}", hostport);
    struct sockaddr_storage ss {};
    socklen_t len = sizeof ss;
    char name[INET6_ADDRSTRLEN] = "";
    int real_port = 0;
    if (::getsockname(fd.get(), reinterpret_cast<struct sockaddr*>(&ss), &len) == 0) {
        if (ss.ss_family == AF_INET) {
            auto* in = reinterpret_cast<struct sockaddr_in*>(&ss);
            ::inet_ntop(AF_INET, &in->sin_addr, name, sizeof name);
            real_port = ntohs(in->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            auto* in6 = reinterpret_cast<struct sockaddr_in6*>(&ss);
            ::inet_ntop(AF_INET6, &in6->sin6_addr, name, sizeof name);
            real_port = ntohs(in6->sin6_port);
        }
    }
    BLOG_WARN("api: listening on tcp {} without TLS: anyone who can reach it is root", hostport);
    ListenSocket ls;
    ls.family = res->ai_family;
    ls.fd = std::move(fd);
    ls.address = ls.family == AF_INET6 ? fmt::format("tcp://[{}]:{}", name, real_port)
                                       : fmt::format("tcp://{}:{}", name, real_port);
    return ls;
}

}  // namespace

Result<ListenSocket> open_listener(const std::string& host, mode_t socket_mode,
                                   const std::string& socket_group) {
    if (host.rfind("unix://", 0) == 0) return open_unix(host.substr(7), socket_mode, socket_group);
    if (host.rfind("tcp://", 0) == 0) return open_tcp(host.substr(6));
    if (host.rfind("fd://", 0) == 0)
        return make_error(Errc::Unsupported, "listen on {}: socket activation is not supported",
                          host);
    return make_error(Errc::InvalidArgument,
                      "listen on \"{}\": expected unix:///path or tcp://host:port", host);
}

}  // namespace berth::api::detail
