// berth-shim's monitor loop (shim.hpp). Single-threaded: every descriptor is in one epoll set
// with its handler; nothing blocks except the bounded flushes at the very end.

#include "shim.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/resident.hpp"
#include "berth/common/time.hpp"
#include "berth/oci/spec_json.hpp"
#include "berth/shimproto/channel.hpp"

namespace berth::shim {

namespace {

constexpr size_t kReadChunk = 32 * 1024;
/// An attached client further behind than this stops the process's output (as a blocked
/// attach stream does in moby): output is never dropped, and memory stays bounded.
constexpr size_t kMaxPending = 1024 * 1024;
/// How long output may still come after the process exited (orphans holding the pipe).
constexpr int64_t kDrainNs = 2'000'000'000;
constexpr int kFinishFlushMs = 5000;
// How long the teardown after an exit waits for berthd to be done with it (finish_init).
constexpr int kMonitorHangUpMs = 2000;

int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
}

Result<std::pair<UniqueFd, UniqueFd>> make_pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return BERTH_SYS_ERROR("pipe");
    return std::pair<UniqueFd, UniqueFd>{UniqueFd(p[0]), UniqueFd(p[1])};
}

void set_nonblock(int fd) {
    int fl = ::fcntl(fd, F_GETFL);
    if (fl >= 0) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/// Points fds 0, 1 and 2 at `fds` (-1: /dev/null) for a process about to be cloned, which
/// inherits them, and back at /dev/null afterwards (the shim itself never uses them).
Result<void> set_stdio(const int (&fds)[3]) {
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null) return BERTH_SYS_ERROR("open /dev/null");
    for (int i = 0; i < 3; ++i)
        if (::dup2(fds[i] >= 0 ? fds[i] : null.get(), i) < 0) return BERTH_SYS_ERROR("dup2 {}", i);
    return {};
}

Result<void> reset_stdio() {
    const int none[3] = {-1, -1, -1};
    return set_stdio(none);
}

/// The process's stdio for `tty`: pipes we keep one end of. `want_stdin` false gives
/// /dev/null. Fills p.stdin_w and p.out; returns the child's ends.
Result<std::vector<UniqueFd>> make_stdio(Shim* /*unused*/, bool want_stdin, UniqueFd& stdin_w,
                                         UniqueFd (&out)[3]) {
    std::vector<UniqueFd> theirs(3);
    if (want_stdin) {
        auto [r, w] = BERTH_TRY(make_pipe());
        theirs[0] = std::move(r);
        stdin_w = std::move(w);
        set_nonblock(stdin_w.get());
    }
    for (int s = 1; s <= 2; ++s) {
        auto [r, w] = BERTH_TRY(make_pipe());
        out[s] = std::move(r);
        theirs[static_cast<size_t>(s)] = std::move(w);
        set_nonblock(out[s].get());
    }
    return theirs;
}

Result<UniqueFd> listen_seqpacket(const std::string& path) {
    auto sa = BERTH_TRY(shimproto::socket_address(path));
    auto& addr = sa.addr;
    UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return BERTH_SYS_ERROR("socket");
    ::unlink(path.c_str());
    if (::bind(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
        return BERTH_SYS_ERROR("bind {}", path);
    ::chmod(path.c_str(), 0600);
    if (::listen(fd.get(), 64) < 0) return BERTH_SYS_ERROR("listen on {}", path);
    return fd;
}

nlohmann::json error_reply(const Error& e) {
    return {{"error", e.what()}, {"code", static_cast<int>(e.code)}};
}

}  // namespace

Shim::Shim(shimproto::ShimConfig cfg, shimproto::ShimPaths paths, UniqueFd ready)
    : cfg_(std::move(cfg)), paths_(std::move(paths)), ready_(std::move(ready)) {
    globals_.root = cfg_.runtime_root;
}

void Shim::watch(int fd, uint32_t events, Handler h) {
    struct epoll_event ev {};
    ev.events = events;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0)
        BLOG_WARN("epoll add fd {}: {}", fd, std::strerror(errno));
    handlers_[fd] = std::move(h);
}

void Shim::modify(int fd, uint32_t events) {
    struct epoll_event ev {};
    ev.events = events;
    ev.data.fd = fd;
    (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
}

void Shim::unwatch(int fd) {
    (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    handlers_.erase(fd);
}

Result<void> Shim::setup_loop() {
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) return BERTH_SYS_ERROR("epoll_create1");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) return BERTH_SYS_ERROR("sigprocmask");
    signal_fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signal_fd_) return BERTH_SYS_ERROR("signalfd");
    watch(signal_fd_.get(), EPOLLIN, [this](uint32_t) { on_signal(); });
    listen_ = BERTH_TRY(listen_seqpacket(paths_.socket()));
    watch(listen_.get(), EPOLLIN, [this](uint32_t) { on_control_listen(); });
    if (cfg_.monitor_fd >= 0) {
        // berthd's monitor connection, inherited: a control connection that asked for events.
        int fd = cfg_.monitor_fd;
        int fl = ::fcntl(fd, F_GETFL);
        if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || ::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
            return BERTH_SYS_ERROR("set up the inherited monitor connection (fd {})", fd);
        controls_.emplace(fd, UniqueFd(fd));
        watch(fd, EPOLLIN, [this, fd](uint32_t) { on_control(fd); });
        monitors_.push_back(fd);
    }
    return {};
}

Result<void> Shim::start_init() {
    if (!cfg_.log_path.empty()) {
        auto opts = BERTH_TRY(logfile::parse_options(cfg_.log_opts));
        log_.emplace(BERTH_TRY(logfile::Writer::open(cfg_.log_path, opts)));
    }
    auto p = std::make_unique<Proc>();
    p->tty = cfg_.tty;
    p->close_stdin_on_eof = cfg_.stdin_once;
    std::vector<UniqueFd> theirs;
    if (!p->tty) {
        theirs = BERTH_TRY(make_stdio(this, cfg_.open_stdin, p->stdin_w, p->out));
        const int fds[3] = {theirs[0] ? theirs[0].get() : -1, theirs[1].get(), theirs[2].get()};
        BERTH_TRY(set_stdio(fds));
    }
    runtime::CreateOptions o;
    o.id = cfg_.id;
    o.bundle = cfg_.bundle;
    auto owned = runtime::run_owned(globals_, o);
    BERTH_TRY(reset_stdio());
    theirs.clear();
    if (!owned) return Unexpected(std::move(owned).error());
    p->child = std::move(owned->process);
    if (p->tty) {
        p->pty = std::move(owned->terminal);
        set_nonblock(p->pty.get());
    }
    if (!cfg_.open_stdin) p->stdin_closed = true;
    // Best effort: without it the exit is only reported later.
    std::string ns = "/proc/" + std::to_string(p->child.pid()) + "/ns/mnt";
    mnt_ns_.reset(::open(ns.c_str(), O_RDONLY | O_CLOEXEC));

    Proc& ref = *p;
    init_ = std::move(p);
    if (ref.tty) {
        watch(ref.pty.get(), EPOLLIN, [this, &ref](uint32_t ev) { on_output(ref, 1, ev); });
    } else {
        for (int s = 1; s <= 2; ++s)
            watch(ref.out[s].get(), EPOLLIN, [this, &ref, s](uint32_t ev) { on_output(ref, s, ev); });
        if (ref.stdin_w) watch(ref.stdin_w.get(), 0, [this, &ref](uint32_t) { write_stdin(ref); });
    }
    for (const auto& a : cfg_.attaches) {
        UniqueFd client(a.client_fd), done(a.done_fd);
        ::fcntl(client.get(), F_SETFD, FD_CLOEXEC);
        ::fcntl(done.get(), F_SETFD, FD_CLOEXEC);
        add_attachment(ref, std::move(client), std::move(done), a);
    }
    auto oom = runtime::watch_oom(globals_, cfg_.id);
    if (oom) {
        oom_.emplace(std::move(*oom));
        watch(oom_->fd(), EPOLLIN, [this](uint32_t) {
            auto n = oom_->consume();
            if (n && *n > 0) oom_killed_ = true;
        });
    } else {
        BLOG_DEBUG("no OOM watch for {}: {}", cfg_.id, oom.error().what());
    }
    return {};
}

void Shim::add_attachment(Proc& p, UniqueFd client, UniqueFd done,
                          const shimproto::AttachRequest& req) {
    std::string keys(kDefaultDetachKeys);  // moby's default escape sequence
    if (!req.detach_keys.empty()) {
        auto k = parse_detach_keys(req.detach_keys);
        if (k) keys = *k;
    }
    auto a = std::make_unique<Attachment>(std::move(client), std::move(done), req, p.tty,
                                          req.stdin_ ? keys : std::string());
    Attachment& ref = *a;
    p.atts.push_back(std::move(a));
    watch(ref.fd(), EPOLLIN, [this, &p, &ref](uint32_t ev) { on_client(p, ref, ev); });
    if (!ref.reading_stdin()) modify(ref.fd(), 0);  // still reports HUP/ERR
    // Bytes that came with the request (stdin typed before the hijack finished).
    on_client(p, ref, 0);
}

void Shim::update_interest(Proc& p) {
    bool over = false;
    for (const auto& a : p.atts) over = over || a->pending() > kMaxPending;
    p.output_paused = over;
    uint32_t in = over ? 0u : static_cast<uint32_t>(EPOLLIN);
    bool want_out = !p.stdin_buf.empty();
    if (p.tty) {
        if (p.pty) modify(p.pty.get(), in | (want_out ? static_cast<uint32_t>(EPOLLOUT) : 0u));
    } else {
        for (int s = 1; s <= 2; ++s)
            if (p.out[s]) modify(p.out[s].get(), in);
        if (p.stdin_w) modify(p.stdin_w.get(), want_out ? static_cast<uint32_t>(EPOLLOUT) : 0u);
    }
    for (const auto& a : p.atts) {
        if (a->gone()) continue;
        uint32_t ev = 0;
        if (a->reading_stdin() && p.stdin_buf.size() < kMaxPending) ev |= EPOLLIN;
        if (a->pending() > 0) ev |= EPOLLOUT;
        modify(a->fd(), ev);
    }
}

void Shim::on_output(Proc& p, int stream, uint32_t events) {
    int fd = p.tty ? p.pty.get() : p.out[stream].get();
    if (p.tty && (events & EPOLLOUT)) write_stdin(p);
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    static char buf[kReadChunk];
    // A few reads per wakeup keep one busy process from starving the others.
    for (int round = 0; round < 4 && !p.output_paused; ++round) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {  // EOF, or EIO from a pty whose other side is all closed
            close_output(p, stream);
            break;
        }
        std::string_view data(buf, static_cast<size_t>(n));
        if (log_ && p.exec_id.empty()) {
            auto w = log_->write(stream == 2 ? logfile::Stream::Stderr : logfile::Stream::Stdout,
                                 data, now_unix_nanos());
            if (!w) BLOG_WARN("log of {}: {}", cfg_.id, w.error().what());
        }
        for (auto& a : p.atts) {
            a->queue(stream, data);
            a->flush();
        }
    }
    update_interest(p);
}

void Shim::close_output(Proc& p, int stream) {
    if (p.tty) {
        if (!p.pty) return;
        unwatch(p.pty.get());
        p.pty.reset();
        return;
    }
    if (!p.out[stream]) return;
    unwatch(p.out[stream].get());
    p.out[stream].reset();
}

void Shim::write_stdin(Proc& p) {
    int fd = p.input_fd();
    while (fd >= 0 && !p.stdin_buf.empty()) {
        ssize_t n = ::write(fd, p.stdin_buf.data(), p.stdin_buf.size());
        if (n > 0) {
            p.stdin_buf.erase(0, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        // EPIPE: the process closed its stdin; drop what it will never read.
        p.stdin_buf.clear();
        if (!p.tty) close_stdin(p);
        break;
    }
    if (p.stdin_buf.empty() && p.stdin_closed && p.stdin_w) {
        unwatch(p.stdin_w.get());
        p.stdin_w.reset();
    }
    update_interest(p);
}

void Shim::close_stdin(Proc& p) {
    p.stdin_closed = true;
    if (!p.tty && p.stdin_w && p.stdin_buf.empty()) {
        unwatch(p.stdin_w.get());
        p.stdin_w.reset();
    }
}

void Shim::on_client(Proc& p, Attachment& a, uint32_t events) {
    if (a.gone()) return;
    if (events & EPOLLOUT) a.flush();
    std::string data;
    for (int round = 0; round < 4 && a.reading_stdin() && !a.gone(); ++round) {
        auto in = a.read_stdin(data);
        if (in == Attachment::Input::None) break;
        if (!data.empty() && !p.stdin_closed && p.input_fd() >= 0) {
            p.stdin_buf += data;
            write_stdin(p);
        }
        if (in == Attachment::Input::Detach) {
            end_attachment(p, a, true);
            return;
        }
        if (in == Attachment::Input::Eof) {
            // moby (container/stream/attach.go): with CloseStdin and no TTY the process gets
            // EOF and output keeps flowing; otherwise the end of stdin ends the attachment.
            if (p.close_stdin_on_eof && !p.tty) {
                close_stdin(p);
            } else {
                end_attachment(p, a, false);
                return;
            }
            break;
        }
    }
    if ((events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLIN)) {
        // The client closed the connection entirely (a half-close is EPOLLIN + EPOLLRDHUP).
        end_attachment(p, a, false);
        return;
    }
    if (a.gone()) {
        end_attachment(p, a, false);
        return;
    }
    update_interest(p);
}

void Shim::end_attachment(Proc& p, Attachment& a, bool detached) {
    unwatch(a.fd());
    nlohmann::json done = {{"detached", detached}};
    if (!p.exec_id.empty() && p.exited) done = {{"exit_code", p.exit_code}};
    a.finish(done, detached ? 0 : kFinishFlushMs);
    // Removed in the sweep after this round of events (handlers may still refer to it).
}

void Shim::on_control_listen() {
    for (;;) {
        int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) return;
        controls_.emplace(fd, UniqueFd(fd));
        watch(fd, EPOLLIN, [this, fd](uint32_t) { on_control(fd); });
    }
}

void Shim::on_control(int fd) {
    auto msg = shimproto::recv_message(fd);
    if (!msg) {
        if (msg.error().code == Errc::Unavailable || msg.error().code == Errc::Internal) {
            unwatch(fd);
            std::erase(monitors_, fd);
            controls_.erase(fd);
        }
        return;
    }
    std::string op = msg->body.value("op", "");
    nlohmann::json reply;
    if (op == "monitor") {
        monitors_.push_back(fd);
        reply = {{"pid", init_ ? init_->child.pid() : 0}};
    } else if (op == "attach") {
        reply = handle_attach(msg->body, msg->fds);
    } else if (op == "exec") {
        reply = handle_exec(msg->body, msg->fds);
    } else if (op == "resize") {
        reply = handle_resize(msg->body);
    } else {
        reply = {{"error", "unknown shim operation \"" + op + "\""}};
    }
    auto s = shimproto::send_message(fd, reply);
    if (!s) BLOG_DEBUG("reply to {}: {}", op, s.error().what());
}

nlohmann::json Shim::handle_attach(const nlohmann::json& body, std::vector<UniqueFd>& fds) {
    if (fds.size() != 2) return {{"error", "attach needs a client socket and a done channel"}};
    auto req = shimproto::parse_attach_request(body.value("attach", nlohmann::json::object()));
    if (!req) return error_reply(req.error());
    if (!init_ || init_->exited)
        return {{"error", "container " + cfg_.id + " is not running"}, {"code", static_cast<int>(Errc::Conflict)}};
    add_attachment(*init_, std::move(fds[0]), std::move(fds[1]), *req);
    return {{"ok", true}};
}

nlohmann::json Shim::handle_exec(const nlohmann::json& body, std::vector<UniqueFd>& fds) {
    auto req = shimproto::parse_exec_request(body);
    if (!req) return error_reply(req.error());
    if (!init_ || init_->exited)
        return {{"error", "container " + cfg_.id + " is not running"}, {"code", static_cast<int>(Errc::Conflict)}};
    if (!req->detached && fds.size() != 2)
        return {{"error", "an attached exec needs a client socket and a done channel"}};
    auto process = oci::parse_process(req->process_json, "exec process");
    if (!process) return error_reply(process.error());
    process->terminal = req->tty;

    auto p = std::make_unique<Proc>();
    p->exec_id = req->exec_id;
    p->tty = req->tty;
    p->close_stdin_on_eof = true;
    std::vector<UniqueFd> theirs;
    if (!p->tty) {
        auto t = make_stdio(this, req->attach.stdin_ && !req->detached, p->stdin_w, p->out);
        if (!t) return error_reply(t.error());
        theirs = std::move(*t);
        const int stdio[3] = {theirs[0] ? theirs[0].get() : -1, theirs[1].get(), theirs[2].get()};
        auto s = set_stdio(stdio);
        if (!s) return error_reply(s.error());
    }
    runtime::ExecOptions o;
    o.id = cfg_.id;
    o.process = std::move(*process);
    auto owned = runtime::exec_owned(globals_, o);
    (void)reset_stdio();
    theirs.clear();
    if (!owned) return error_reply(owned.error());
    p->child = std::move(owned->process);
    if (p->tty) {
        p->pty = std::move(owned->terminal);
        set_nonblock(p->pty.get());
    }
    if (!p->stdin_w && !p->tty) p->stdin_closed = true;
    if (p->tty && !(req->attach.stdin_ && !req->detached)) p->stdin_closed = true;

    Proc& ref = *p;
    pid_t pid = ref.child.pid();
    execs_[req->exec_id] = std::move(p);
    if (ref.tty) {
        watch(ref.pty.get(), EPOLLIN, [this, &ref](uint32_t ev) { on_output(ref, 1, ev); });
    } else {
        for (int s = 1; s <= 2; ++s)
            watch(ref.out[s].get(), EPOLLIN, [this, &ref, s](uint32_t ev) { on_output(ref, s, ev); });
        if (ref.stdin_w) watch(ref.stdin_w.get(), 0, [this, &ref](uint32_t) { write_stdin(ref); });
    }
    if (!req->detached) add_attachment(ref, std::move(fds[0]), std::move(fds[1]), req->attach);
    return {{"pid", pid}};
}

nlohmann::json Shim::handle_resize(const nlohmann::json& body) {
    Proc* p = find(body.value("exec_id", ""));
    if (!p) return {{"error", "no such process"}, {"code", static_cast<int>(Errc::NotFound)}};
    if (!p->tty || !p->pty) return {{"ok", true}};  // moby ignores a resize without a TTY
    struct winsize ws {};
    ws.ws_row = static_cast<unsigned short>(body.value("height", 0));
    ws.ws_col = static_cast<unsigned short>(body.value("width", 0));
    if (::ioctl(p->pty.get(), TIOCSWINSZ, &ws) < 0)
        return error_reply(sys_error(errno, "resize the terminal").value());
    return {{"ok", true}};
}

Shim::Proc* Shim::find(const std::string& exec_id) {
    if (exec_id.empty()) return init_.get();
    auto it = execs_.find(exec_id);
    return it == execs_.end() ? nullptr : it->second.get();
}

void Shim::on_signal() {
    struct signalfd_siginfo si;
    bool child = false;
    while (::read(signal_fd_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGCHLD) child = true;
        // SIGTERM, SIGINT, SIGHUP: the shim outlives berthd and terminals; it ends with the
        // container, never because someone signalled it.
    }
    if (child) reap();
}

void Shim::reap() {
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        Proc* p = nullptr;
        if (init_ && init_->child.pid() == pid) p = init_.get();
        for (auto& [id, e] : execs_)
            if (e->child.pid() == pid) p = e.get();
        if (!p) continue;
        (void)p->child.release();  // reaped here
        p->exited = true;
        p->exit_code = exit_code_of(status);
        p->drain_deadline_ns = now_unix_nanos() + kDrainNs;
        BLOG_DEBUG("{} {} exited with {}", p->exec_id.empty() ? "init" : "exec", pid, p->exit_code);
    }
}

void Shim::broadcast(const nlohmann::json& event) {
    for (int fd : monitors_) (void)shimproto::send_message(fd, event);
}

void Shim::finish_exec(Proc& p) {
    for (auto& a : p.atts)
        if (!a->gone()) {
            unwatch(a->fd());
            a->finish({{"exit_code", p.exit_code}}, kFinishFlushMs);
        }
    broadcast({{"event", "exec-exit"}, {"exec_id", p.exec_id}, {"exit_code", p.exit_code}});
    for (int s = 1; s <= 2; ++s) close_output(p, s);
    if (p.tty) close_output(p, 1);
    if (p.stdin_w) unwatch(p.stdin_w.get());
}

void Shim::finish_init() {
    Proc& p = *init_;
    if (log_) {
        auto f = log_->flush_partial();
        if (!f) BLOG_WARN("log of {}: {}", cfg_.id, f.error().what());
    }
    if (oom_) {
        struct pollfd pf {oom_->fd(), POLLIN, 0};
        if (::poll(&pf, 1, 0) == 1) {
            auto n = oom_->consume();
            if (n && *n > 0) oom_killed_ = true;
        }
    }
    shimproto::ExitRecord rec;
    rec.exit_code = p.exit_code;
    rec.oom_killed = oom_killed_;
    rec.finished_at_ns = now_unix_nanos();
    auto w = atomic_write_file(paths_.exit_file(), nlohmann::json(rec).dump(), 0644,
                               Durability::Volatile);
    if (!w) BLOG_ERROR("record the exit of {}: {}", cfg_.id, w.error().what());
    for (auto& [id, e] : execs_) {
        if (!e->exited) e->exit_code = 137;  // the pid namespace took it with the init
        e->exited = true;
        finish_exec(*e);
    }
    // berthd hears of the exit before the runtime's cleanup, so `docker run --rm` and `wait`
    // don't wait for it; and before the attached clients' streams end (they may take a while
    // to drain), as those clients wait for both. The execs' exits went first: berthd reads
    // nothing from us after this one.
    nlohmann::json ev = rec;
    ev["event"] = "exit";
    broadcast(ev);
    for (auto& a : p.atts)
        if (!a->gone()) a->finish({{"detached", false}}, kFinishFlushMs);
    // The teardown that follows (the container's mounts with its mount namespace, a cgroup
    // directory in every v1 hierarchy, the state directory) sets kernel threads to work (RCU
    // grace periods, cgroup release workers) that no scheduling policy of ours holds back: on
    // two cores they delayed berthd's handling of this very exit by a millisecond (perf sched).
    // So it waits until berthd hung up its monitor connection, which it does once it has acted
    // on the exit (waiters told, an --rm container removed); a while at most. A start of the
    // same container waits for the state directory to go (start_locked).
    (void)shimproto::wait_for_hang_up(monitors_, kMonitorHangUpMs);
    // Even then nobody waits for it, while clients and the next containers go on: SCHED_IDLE,
    // which any woken task preempts at once (at nice 10, tried, the scheduler let it finish
    // its slice first).
    struct sched_param idle_param {};
    (void)::sched_setscheduler(0, SCHED_IDLE, &idle_param);
    mnt_ns_.reset();
    auto r = runtime::remove(globals_, cfg_.id, true);
    if (!r) BLOG_WARN("delete container {}: {}", cfg_.id, r.error().what());
    ::unlink(paths_.socket().c_str());
    std::exit(0);
}

void Shim::maybe_finish(Proc& p) {
    if (!p.exited) return;
    if (p.outputs_open() && now_unix_nanos() < p.drain_deadline_ns) return;
    if (p.exec_id.empty()) finish_init();
    finish_exec(p);
    execs_.erase(p.exec_id);
}

int Shim::run() {
    auto ready = [&](const nlohmann::json& j) {
        std::string line = j.dump() + "\n";
        (void)write_all(ready_.get(), line, "the ready pipe");
        ready_.reset();
    };
    if (auto r = setup_loop(); !r) {
        ready(error_reply(r.error()));
        return 1;
    }
    if (auto r = start_init(); !r) {
        ready(error_reply(r.error()));
        ::unlink(paths_.socket().c_str());
        return 1;
    }
    ready({{"pid", init_->child.pid()}});
    // Creating the container parsed its spec and compiled seccomp, and an active container runs
    // the log and attach paths: once the loop has been idle for a while, give back the memory
    // and the code pages that work used (the shim lives as long as its container; its RSS is
    // the per-container overhead). Not at once: reading /proc/self/smaps takes a millisecond or
    // two, which a container that exits at once (`run --rm ... true`) would wait for.
    constexpr int kIdleDropMs = 2000;
    bool active = true;  // work done since the last drop (creating the container, to begin with)
    int64_t last_event_ns = now_unix_nanos();

    struct epoll_event events[32];
    for (;;) {
        int timeout = -1;
        auto drain_timeout = [&](const Proc& p) {
            if (!p.exited) return;
            int64_t ms = (p.drain_deadline_ns - now_unix_nanos()) / 1'000'000 + 1;
            int t = ms < 0 ? 0 : static_cast<int>(ms);
            timeout = timeout < 0 ? t : std::min(timeout, t);
        };
        drain_timeout(*init_);
        for (auto& [id, e] : execs_) drain_timeout(*e);

        if (active && (timeout < 0 || timeout > kIdleDropMs)) timeout = kIdleDropMs;

        int n = ::epoll_wait(epoll_.get(), events, 32, timeout);
        if (n < 0 && errno != EINTR) {
            BLOG_ERROR("epoll_wait: {}", std::strerror(errno));
            return 1;
        }
        if (n > 0) {
            active = true;
            last_event_ns = now_unix_nanos();
        } else if (n == 0 && active &&
                   now_unix_nanos() - last_event_ns >= kIdleDropMs * 1'000'000LL) {
            give_back_idle_memory();
            active = false;
        }
        for (int i = 0; i < n; ++i) {
            auto it = handlers_.find(events[i].data.fd);
            if (it == handlers_.end()) continue;
            Handler h = it->second;  // the handler may unwatch itself
            h(events[i].events);
        }
        // Sweep ended attachments, then see whether an exited process is done.
        auto sweep = [this](Proc& p) {
            for (auto& a : p.atts)
                if (a->gone() && a->fd() >= 0) {  // went away while we wrote to it
                    unwatch(a->fd());
                    a->finish({{"detached", false}}, 0);
                }
            std::erase_if(p.atts, [](const std::unique_ptr<Attachment>& a) { return a->gone(); });
        };
        sweep(*init_);
        for (auto& [id, e] : execs_) sweep(*e);
        std::vector<std::string> done;
        for (auto& [id, e] : execs_)
            if (e->exited) done.push_back(id);
        for (const auto& id : done) maybe_finish(*execs_[id]);
        maybe_finish(*init_);
    }
}

}  // namespace berth::shim
