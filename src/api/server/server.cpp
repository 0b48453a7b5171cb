#include "berth/api/server/server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>

#include "berth/common/log.hpp"
#include "berth/common/resident.hpp"
#include "connection.hpp"
#include "listener.hpp"

namespace berth::api {

namespace net = boost::asio;
using Protocol = net::generic::stream_protocol;
using Acceptor = net::basic_socket_acceptor<Protocol>;

struct Server::Impl {
    explicit Impl(ServerOptions o) : options(std::move(o)) {}

    ServerOptions options;
    Router router;
    net::io_context io;
    std::vector<detail::ListenSocket> sockets;
    std::vector<std::unique_ptr<Acceptor>> acceptors;

    std::mutex mu;
    std::condition_variable idle;
    std::set<int> connections;  // fds of live connections, shut down by stop()
    size_t workers = 0;         // connection threads alive, serving or waiting for the next
    size_t waiting = 0;         // of those, the ones waiting in work_cv for a handed-over fd
    std::deque<int> handoff;    // accepted fds for the waiting workers
    std::condition_variable work_cv;
    bool stopping = false;
    /// Fires a while after the last connection closed (used on the io thread only).
    net::steady_timer idle_timer{io};

    /// How long the daemon must have had no connection before it drops the code pages the
    /// requests ran (see drop_clean_file_pages()) and trims the heap: long enough that a
    /// client's next command (a script's next `docker run`) does not fault them all back in.
    static constexpr std::chrono::seconds kIdleDrop{3};
    /// How long a connection thread waits for the next connection before it exits. A command
    /// opens several connections one after another (`run`: create, attach, wait, start); each
    /// new thread would cost a clone, its stack's first faults and an exit.
    static constexpr std::chrono::seconds kLinger{2};

    // accept4(SOCK_CLOEXEC) by hand on readiness: Asio's accept() leaves the new descriptor
    // inheritable, and every process berthd starts (a shim per container) would hold every
    // client connection open at that moment, so that a client whose connection berthd closed
    // saw no end until that shim exited (`run --rm` waited for its shim's cleanup).
    void accept_next(Acceptor& a) {
        a.async_wait(Acceptor::wait_read, [this, &a](const boost::system::error_code& ec) {
            if (ec == net::error::operation_aborted) return;
            if (ec) BLOG_WARN("api: accept: {}", ec.message());
            for (;;) {
                int fd = ::accept4(a.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
                if (fd >= 0) {
                    start_connection(fd);
                    continue;
                }
                if (errno == EINTR || errno == ECONNABORTED) continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                    BLOG_WARN("api: accept: {}", std::strerror(errno));
                break;
            }
            if (a.is_open()) accept_next(a);
        });
    }

    void start_connection(int fd) {
        std::lock_guard lk(mu);
        if (stopping) {
            ::close(fd);
            return;
        }
        if (waiting > handoff.size()) {  // a thread is free: no new one
            connections.insert(fd);
            handoff.push_back(fd);
            work_cv.notify_one();
            return;
        }
        try {
            std::thread([this, fd] { worker_main(fd); }).detach();
        } catch (const std::system_error& e) {
            BLOG_ERROR("api: cannot start a connection thread: {}", e.what());
            ::close(fd);
            return;
        }
        connections.insert(fd);
        ++workers;
    }

    /// Serves `fd`, then the connections handed over while it waits (kLinger at most).
    void worker_main(int fd) {
        for (;;) {
            detail::serve_connection(fd, router, options.info);
            std::unique_lock lk(mu);
            // Closed under the lock, after leaving the set, so stop() never shuts down a
            // descriptor number that was reused by someone else.
            connections.erase(fd);
            ::close(fd);
            // The daemon goes idle: kIdleDrop later, if no connection came meanwhile, trim
            // and drop. Posted before the lock is released: from then on run() and ~Server
            // may return and free this Impl (a stream ended by stop()).
            if (connections.empty()) net::post(io, [this] { arm_idle_drop(); });
            ++waiting;
            work_cv.wait_for(lk, kLinger, [&] { return stopping || !handoff.empty(); });
            --waiting;
            if (handoff.empty()) {
                --workers;
                idle.notify_all();
                return;  // touches nothing of this Impl from here on
            }
            fd = handoff.front();
            handoff.pop_front();
        }
    }

    /// On the io thread: kIdleDrop from now, if no connection is open then, drop the clean
    /// code pages (re-arming cancels the previous wait).
    void arm_idle_drop() {
        idle_timer.expires_after(kIdleDrop);
        idle_timer.async_wait([this](const boost::system::error_code& ec) {
            if (ec) return;  // re-armed by a later close, or stopping
            {
                std::lock_guard lk(mu);
                if (!connections.empty() || stopping) return;
            }
            // Give the memory the requests freed back to the kernel (glibc keeps it in the
            // arenas otherwise; idle RSS is a target, ARCHITECTURE.md "What fast means"), and
            // the code pages they ran. Not at each last close: a client's commands come one
            // after another and would fault it all back in each time.
            give_back_idle_memory();
        });
    }

    void shutdown_connections() {
        std::lock_guard lk(mu);
        for (int fd : connections) ::shutdown(fd, SHUT_RDWR);
    }
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
    stop();
    std::unique_lock lk(impl_->mu);
    impl_->idle.wait(lk, [&] { return impl_->workers == 0; });
    for (const auto& s : impl_->sockets)
        if (!s.unix_path.empty()) ::unlink(s.unix_path.c_str());
}

Router& Server::router() noexcept {
    return impl_->router;
}

Result<void> Server::listen() {
    for (const auto& host : impl_->options.hosts) {
        auto s =
            detail::open_listener(host, impl_->options.socket_mode, impl_->options.socket_group);
        if (!s) return Unexpected(std::move(s).error());
        BLOG_INFO("api: listening on {}", s->address);
        auto acc = std::make_unique<Acceptor>(impl_->io);
        boost::system::error_code ec;
        acc->assign(Protocol(s->family, 0), s->fd.get(), ec);
        if (!ec) acc->non_blocking(true, ec);  // accept_next() accepts until EAGAIN
        if (ec) return make_error(Errc::Internal, "listen on {}: {}", host, ec.message());
        (void)s->fd.release();  // the acceptor owns it now
        impl_->acceptors.push_back(std::move(acc));
        impl_->sockets.push_back(std::move(*s));
    }
    return {};
}

void Server::run() {
    for (auto& a : impl_->acceptors) impl_->accept_next(*a);
    // Start-up (loading the stores, libcurl and what it loads) touched code an idle daemon
    // never runs again: a daemon nobody talks to goes idle too.
    impl_->arm_idle_drop();
    impl_->io.run();
    for (auto& a : impl_->acceptors) {
        boost::system::error_code ec;
        a->close(ec);
    }
    for (const auto& s : impl_->sockets)
        if (!s.unix_path.empty()) ::unlink(s.unix_path.c_str());
    impl_->shutdown_connections();
    std::unique_lock lk(impl_->mu);
    impl_->work_cv.notify_all();
    impl_->idle.wait(lk, [&] { return impl_->workers == 0; });
}

void Server::stop() {
    {
        std::lock_guard lk(impl_->mu);
        impl_->stopping = true;
        for (int fd : impl_->connections) ::shutdown(fd, SHUT_RDWR);
        impl_->work_cv.notify_all();  // waiting workers exit
    }
    impl_->io.stop();
}

std::vector<std::string> Server::addresses() const {
    std::vector<std::string> out;
    for (const auto& s : impl_->sockets) out.push_back(s.address);
    return out;
}

}  // namespace berth::api
