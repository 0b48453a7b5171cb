#pragma once
// The Engine API server: listeners (unix sockets, TCP), one thread per accepted connection
// doing plain blocking HTTP/1.1 with keep-alive, so long streams (events, import, save,
// hijacked attach) never hold up other requests and need no callbacks.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "berth/api/server/request.hpp"
#include "berth/api/server/router.hpp"
#include "berth/common/result.hpp"

namespace berth::api {

/// Where and how to listen, and what to advertise.
struct ServerOptions {
    /// "unix:///run/berth/berth.sock" or "tcp://127.0.0.1:2375" ("fd://" is not supported).
    std::vector<std::string> hosts;
    /// Mode of unix sockets (moby: 0660).
    mode_t socket_mode = 0660;
    /// Group owning unix sockets (moby's --group). Empty: "docker" if that group exists, else
    /// "berth" if it exists, else root. A named group that does not exist is an error.
    std::string socket_group;
    ServerInfo info;
};

/// The server. Typical use: Server s(opts); register routes on s.router(); s.listen();
/// s.run() (blocks) while another thread (signals) calls s.stop().
class Server {
public:
    explicit Server(ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// The routes; add them before run().
    [[nodiscard]] Router& router() noexcept;

    /// Opens every listener. A unix socket's parent directory is created; an existing socket
    /// file nobody accepts on (stale) is replaced. Errors: AlreadyExists if another daemon is
    /// listening on a socket path (or the path is not a socket), InvalidArgument for a bad
    /// host or group, Unsupported for fd://, or the bind/listen failure.
    [[nodiscard]] Result<void> listen();

    /// Accepts and serves until stop(). Returns after the listeners are closed and every
    /// connection thread has ended (their sockets are shut down by stop(); handlers must end
    /// when their client is gone, as StreamWriter/BodyReader errors tell them).
    void run();

    /// Makes run() return: closes listeners, shuts down open connections. Thread-safe;
    /// callable before or during run(), more than once. Not async-signal-safe (it locks):
    /// call it from a signal-handling thread (sigwait/signalfd), not from a handler.
    void stop();

    /// The addresses actually listened on ("unix:///path", "tcp://127.0.0.1:40123" with the
    /// real port when 0 was asked); valid after listen().
    [[nodiscard]] std::vector<std::string> addresses() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace berth::api
