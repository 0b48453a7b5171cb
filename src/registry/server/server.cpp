// Server: listening sockets, one thread per connection, the upload reaper, and stop().
#include "berth/registry/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

#include <boost/asio/ssl/context.hpp>

#include "berth/common/log.hpp"
#include "berth/common/strings.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/store/content_store.hpp"
#include "http.hpp"
#include "registry.hpp"

namespace berth::registry {

namespace {

struct Listener {
    UniqueFd fd;
    std::string address;
    std::thread thread;
};

struct Conn {
    int fd = -1;
    std::atomic<int64_t> idle_since{0};  ///< see server::serve_connection
    bool shut = false;
    std::thread thread;
    std::atomic<bool> done{false};
};

std::string format_addr(const struct sockaddr_storage& ss) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const struct sockaddr_in6*>(&ss);
        ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
        return fmt::format("[{}]:{}", buf, ntohs(a->sin6_port));
    }
    const auto* a = reinterpret_cast<const struct sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    return fmt::format("{}:{}", buf, ntohs(a->sin_port));
}

// "host:port", "[v6]:port", ":port" (every IPv4 address), "localhost:port".
Result<Listener> open_listener(const std::string& spec) {
    std::string host, port;
    if (!spec.empty() && spec[0] == '[') {
        size_t close = spec.find(']');
        if (close == std::string::npos || close + 1 >= spec.size() || spec[close + 1] != ':')
            return make_error(Errc::InvalidArgument, "listen address {}: expected [host]:port",
                              spec);
        host = spec.substr(1, close - 1);
        port = spec.substr(close + 2);
    } else {
        size_t colon = spec.rfind(':');
        if (colon == std::string::npos)
            return make_error(Errc::InvalidArgument, "listen address {}: expected host:port", spec);
        host = spec.substr(0, colon);
        port = spec.substr(colon + 1);
    }
    auto p = parse_uint(port);
    if (!p || *p > 65535)
        return make_error(Errc::InvalidArgument, "listen address {}: bad port", spec);
    if (host.empty()) host = "0.0.0.0";
    if (host == "localhost") host = "127.0.0.1";
    struct sockaddr_storage ss {};
    socklen_t len = 0;
    auto* v4 = reinterpret_cast<struct sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<struct sockaddr_in6*>(&ss);
    if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(*p));
        len = sizeof *v4;
    } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(*p));
        len = sizeof *v6;
    } else {
        return make_error(Errc::InvalidArgument, "listen address {}: {} is no IP address", spec,
                          host);
    }
    UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return BERTH_SYS_ERROR("socket for {}", spec);
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), reinterpret_cast<struct sockaddr*>(&ss), len) < 0)
        return BERTH_SYS_ERROR("bind {}", spec);
    if (::listen(fd.get(), 128) < 0) return BERTH_SYS_ERROR("listen on {}", spec);
    struct sockaddr_storage bound {};
    socklen_t blen = sizeof bound;
    ::getsockname(fd.get(), reinterpret_cast<struct sockaddr*>(&bound), &blen);
    Listener l;
    l.fd = std::move(fd);
    l.address = format_addr(bound);
    return l;
}

}  // namespace

struct Server::Impl {
    ServerOptions opts;
    std::unique_ptr<server::Registry> registry;
    std::unique_ptr<boost::asio::ssl::context> tls;
    server::Handler handler;
    std::vector<std::unique_ptr<Listener>> listeners;

    std::mutex mu;
    std::condition_variable cv;
    bool stopping = false;
    std::list<std::unique_ptr<Conn>> conns;
    std::thread reaper;

    void accept_loop(Listener* l) {
        for (;;) {
            struct sockaddr_storage peer {};
            socklen_t plen = sizeof peer;
            int fd = ::accept4(l->fd.get(), reinterpret_cast<struct sockaddr*>(&peer), &plen,
                               SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                int err = errno;
                std::unique_lock lk(mu);
                if (stopping) return;
                BLOG_WARN("registry: accept on {}: {}", l->address, std::strerror(err));
                if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                    // Out of descriptors: wait for connections to end rather than spin.
                    cv.wait_for(lk, std::chrono::milliseconds(100));
                    continue;
                }
                return;
            }
            std::string remote = format_addr(peer);
            std::lock_guard lk(mu);
            if (stopping) {
                ::close(fd);
                return;
            }
            // Join the threads of connections that ended, so they don't pile up.
            for (auto it = conns.begin(); it != conns.end();) {
                if ((*it)->done) {
                    (*it)->thread.join();
                    it = conns.erase(it);
                } else {
                    ++it;
                }
            }
            auto c = std::make_unique<Conn>();
            c->fd = fd;
            c->idle_since = server::steady_ms();
            Conn* cp = c.get();
            conns.push_back(std::move(c));
            // The connection works on a duplicate; this descriptor stays open (under mu) until
            // the connection ends, so stop() and the watchdog never shut down a reused number.
            int work_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
            if (work_fd < 0) {
                BPLOG_WARN("registry: dup connection from {}", remote);
                ::close(fd);
                conns.pop_back();
                continue;
            }
            cp->thread = std::thread([this, cp, work_fd, remote = std::move(remote)]() mutable {
                server::serve_connection(work_fd, tls.get(), handler, &cp->idle_since,
                                         std::move(remote));
                std::lock_guard lk2(mu);
                ::close(cp->fd);
                cp->fd = -1;
                cp->done = true;
            });
        }
    }

    // Shuts down keep-alive connections idle longer than the idle timeout (blocking reads
    // have no timeout of their own: Asio retries a timed-out recv). Called with mu held.
    void close_idle() {
        int64_t now = server::steady_ms();
        int64_t limit =
            std::chrono::duration_cast<std::chrono::milliseconds>(opts.idle_timeout).count();
        for (auto& c : conns) {
            int64_t since = c->idle_since.load();
            if (c->fd >= 0 && !c->shut && since != 0 && now - since > limit) {
                ::shutdown(c->fd, SHUT_RDWR);
                c->shut = true;
            }
        }
    }

    void reap_loop() {
        auto tick =
            std::min<std::chrono::milliseconds>(opts.reap_interval, std::chrono::seconds(5));
        auto last_reap = std::chrono::steady_clock::now();
        std::unique_lock lk(mu);
        while (!stopping) {
            cv.wait_for(lk, tick);
            if (stopping) break;
            close_idle();
            if (std::chrono::steady_clock::now() - last_reap < opts.reap_interval) continue;
            last_reap = std::chrono::steady_clock::now();
            lk.unlock();
            registry->reap();
            lk.lock();
        }
    }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
    stop();
}

Result<std::unique_ptr<Server>> Server::start(ServerOptions options) {
    if (options.listen.empty())
        return make_error(Errc::InvalidArgument, "registry server: no listen address");
    if (options.data_root.empty())
        return make_error(Errc::InvalidArgument, "registry server: no data root");
    if (options.tls_cert.empty() != options.tls_key.empty())
        return make_error(Errc::InvalidArgument,
                          "registry server: TLS needs both a certificate and a key");
    auto impl = std::make_unique<Impl>();
    impl->opts = options;
    // sendfile(2) has no MSG_NOSIGNAL: a client that hangs up mid-blob would raise SIGPIPE and
    // end the whole process, so ignore it unless the program already decided what it does.
    struct sigaction old {};
    if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
        ::signal(SIGPIPE, SIG_IGN);

    auto store = store::ContentStore::open_root(options.data_root);
    if (!store)
        return Unexpected(
            std::move(store.error()).wrap("open the content store in {}", options.data_root));
    std::optional<server::Htpasswd> auth;
    if (!options.htpasswd_file.empty())
        auth.emplace(BERTH_TRY(server::Htpasswd::load(options.htpasswd_file)));

    if (!options.tls_cert.empty()) {
        namespace ssl = boost::asio::ssl;
        auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
        boost::system::error_code ec;
        ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                             ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                             ssl::context::no_tlsv1_1,
                         ec);
        ctx->use_certificate_chain_file(options.tls_cert, ec);
        if (ec)
            return make_error(Errc::InvalidArgument, "load TLS certificate {}: {}",
                              options.tls_cert, ec.message());
        ctx->use_private_key_file(options.tls_key, ssl::context::pem, ec);
        if (ec)
            return make_error(Errc::InvalidArgument, "load TLS key {}: {}", options.tls_key,
                              ec.message());
        impl->tls = std::move(ctx);
    }

    server::RegistryConfig cfg;
    cfg.upload_expiry = options.upload_expiry;
    cfg.max_manifest_size = options.max_manifest_size;
    impl->registry = std::make_unique<server::Registry>(std::move(*store), std::move(auth), cfg);
    Impl* ip = impl.get();
    impl->handler = [ip](server::HttpRequest& req) { return ip->registry->handle(req); };

    for (const auto& spec : options.listen) {
        auto l = open_listener(spec);
        if (!l) return Unexpected(std::move(l.error()).wrap("registry server"));
        impl->listeners.push_back(std::make_unique<Listener>(std::move(*l)));
    }
    for (auto& l : impl->listeners) {
        Listener* lp = l.get();
        l->thread = std::thread([ip, lp] { ip->accept_loop(lp); });
        BLOG_INFO("registry: listening on {}{}", l->address, impl->tls ? " (TLS)" : "");
    }
    impl->reaper = std::thread([ip] { ip->reap_loop(); });
    return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::vector<std::string> Server::addresses() const {
    std::vector<std::string> out;
    for (const auto& l : impl_->listeners) out.push_back(l->address);
    return out;
}

size_t Server::reap_uploads() {
    return impl_->registry->reap();
}

void Server::stop() {
    if (!impl_) return;
    {
        std::lock_guard lk(impl_->mu);
        if (impl_->stopping) return;
        impl_->stopping = true;
        // shutdown(2) wakes the threads blocked in accept() and in reads.
        for (auto& l : impl_->listeners) ::shutdown(l->fd.get(), SHUT_RDWR);
        for (auto& c : impl_->conns)
            if (c->fd >= 0) ::shutdown(c->fd, SHUT_RDWR);
    }
    impl_->cv.notify_all();
    for (auto& l : impl_->listeners)
        if (l->thread.joinable()) l->thread.join();
    if (impl_->reaper.joinable()) impl_->reaper.join();
    // No new connections now; wait for the live ones.
    std::list<std::unique_ptr<Conn>> conns;
    {
        std::lock_guard lk(impl_->mu);
        conns.swap(impl_->conns);
    }
    for (auto& c : conns)
        if (c->thread.joinable()) c->thread.join();
    for (auto& l : impl_->listeners) l->fd.reset();
}

}  // namespace berth::registry
