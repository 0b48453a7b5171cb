#pragma once
// Opening listening sockets from daemon host URLs (private to the server).

#include <sys/types.h>

#include <string>

#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"

namespace berth::api::detail {

/// A bound, listening socket.
struct ListenSocket {
    UniqueFd fd;
    int family = 0;         ///< AF_UNIX, AF_INET, AF_INET6
    std::string address;    ///< "unix:///path" or "tcp://host:port" (actual port)
    std::string unix_path;  ///< removed when the server stops
};

/// Opens "unix:///path" (parent created, stale socket replaced, mode and group applied) or
/// "tcp://host:port". Errors: see Server::listen().
[[nodiscard]] Result<ListenSocket> open_listener(const std::string& host, mode_t socket_mode,
                                                 const std::string& socket_group);

}  // namespace berth::api::detail
