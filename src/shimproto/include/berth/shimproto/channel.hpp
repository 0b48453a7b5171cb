#pragma once
// Messages over SOCK_SEQPACKET unix sockets: one JSON object per packet, with up to a few
// file descriptors attached (SCM_RIGHTS). Packets keep message boundaries, so neither side
// needs framing, and descriptors arrive with the message that explains them.

#include <sys/un.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"

namespace berth::shimproto {

/// The largest message either side sends (requests carry at most a process and some stdin).
inline constexpr size_t kMaxMessage = 64 * 1024;
/// The most descriptors one message carries.
inline constexpr size_t kMaxMessageFds = 64;

struct Message {
    nlohmann::json body;
    std::vector<UniqueFd> fds;
};

/// Sends `body` with `fds` (borrowed) in one packet. Errors: Unavailable if the peer is gone.
[[nodiscard]] Result<void> send_message(int sock, const nlohmann::json& body,
                                        const std::vector<int>& fds = {});

/// Receives one packet. NotFound-free: Unavailable at EOF (peer closed), InvalidArgument for a
/// packet that is not a JSON object.
[[nodiscard]] Result<Message> recv_message(int sock);

/// A unix socket address for `path`. A path too long for sun_path goes through a descriptor
/// of its directory (kept in `dir`, which must stay open until bind/connect returns).
struct SocketAddress {
    struct sockaddr_un addr {};
    UniqueFd dir;
};
[[nodiscard]] Result<SocketAddress> socket_address(const std::string& path);

/// Connects to a shim's socket (SOCK_SEQPACKET, CLOEXEC). Unavailable when nobody listens.
[[nodiscard]] Result<UniqueFd> connect_seqpacket(const std::string& path);

/// A connected SOCK_SEQPACKET pair, both CLOEXEC.
[[nodiscard]] Result<std::pair<UniqueFd, UniqueFd>> seqpacket_pair();

/// Waits until the peer of every connection in `socks` has hung up (end of file, or an error),
/// dropping whatever they still send; `timeout_ms` at most. True when all have.
bool wait_for_hang_up(std::vector<int> socks, int timeout_ms);

}  // namespace berth::shimproto
