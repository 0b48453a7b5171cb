#pragma once
// Where the berth CLI finds the daemon: -H, then BERTH_HOST, then DOCKER_HOST, in the URL forms
// the docker CLI accepts.

#include <cstdint>
#include <string>
#include <string_view>

#include "berth/common/result.hpp"

namespace berth::api::client {

/// The socket berthd listens on by default (and the CLI's default host).
inline constexpr std::string_view kDefaultHost = "unix:///run/berth/berth.sock";
/// Port of "tcp://host" without one (docker's DefaultHTTPPort).
inline constexpr uint16_t kDefaultTcpPort = 2375;

/// A parsed daemon address.
struct Host {
    enum class Kind { Unix, Tcp };
    Kind kind = Kind::Unix;
    std::string path;     ///< Unix: the socket path
    std::string address;  ///< Tcp: host name or IP (without brackets)
    uint16_t port = 0;    ///< Tcp: port
    std::string url;      ///< canonical form, shown in messages: "unix:///p", "tcp://h:p"
};

/// Parses "unix:///path", "tcp://host[:port]", "http://host[:port]", a bare socket path
/// ("/run/x.sock", "./x.sock") or a bare "host:port". An empty string is kDefaultHost.
/// InvalidArgument ("Invalid bind address format: ...") for other schemes (ssh://, fd://) and
/// malformed addresses.
[[nodiscard]] Result<Host> parse_host(std::string_view s);

/// The host to use: `flag` if not empty, else $BERTH_HOST, else $DOCKER_HOST, else kDefaultHost.
std::string select_host(std::string_view flag);

}  // namespace berth::api::client
