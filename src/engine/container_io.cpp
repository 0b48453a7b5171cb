// Attach and exec (containers.hpp): the hijacked client socket is handed to the container's
// shim, which talks to the client directly; berthd waits on the done channel and records what
// the shim reports.

#include <fcntl.h>
#include <unistd.h>

#include "berth/common/detach_keys.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/strings.hpp"
#include "berth/container/names.hpp"
#include "berth/container/spec_builder.hpp"
#include "berth/oci/spec_json.hpp"
#include "berth/shimproto/channel.hpp"
#include "containers_impl.hpp"

namespace berth::engine {

namespace {

shimproto::AttachRequest to_shim(const AttachRequest& r, const ClientStream& client) {
    shimproto::AttachRequest a;
    a.stdin_ = r.stdin_;
    a.stdout_ = r.stdout_;
    a.stderr_ = r.stderr_;
    a.detach_keys = r.detach_keys;
    a.leftover = client.leftover;
    return a;
}

}  // namespace

Result<nlohmann::json> shim_call(const std::string& socket, const nlohmann::json& req,
                                 const std::vector<int>& fds) {
    auto conn = BERTH_TRY(shimproto::connect_seqpacket(socket));
    BERTH_TRY(shimproto::send_message(conn.get(), req, fds));
    auto reply = BERTH_TRY(shimproto::recv_message(conn.get()));
    if (reply.body.contains("error")) {
        Errc code = static_cast<Errc>(reply.body.value("code", static_cast<int>(Errc::Internal)));
        return make_error(code, "{}", reply.body.value("error", ""));
    }
    return reply.body;
}

namespace {

/// moby's check of a request's detachKeys (the shim parses them again to use them).
Result<void> check_detach_keys(const std::string& keys) {
    if (keys.empty()) return {};
    if (auto k = parse_detach_keys(keys); !k)
        return make_error(Errc::InvalidArgument, "Invalid detach keys ({}) provided: {}", keys,
                          k.error().what());
    return {};
}

/// Waits for the done channel's one packet (or its closing). Returns the message, or an
/// empty object when the channel closed without one.
nlohmann::json wait_done(int fd) {
    auto m = shimproto::recv_message(fd);
    if (!m) return nlohmann::json::object();
    return m->body;
}

}  // namespace

Result<ContainerService::RelayFn> ContainerService::prepare_attach(std::string_view name,
                                                                   const AttachRequest& r) {
    auto e = BERTH_TRY(find(name));
    BERTH_TRY(check_detach_keys(r.detach_keys));
    // A reservation that a start waits for until the relay hands its socket over (or is
    // dropped unused: the hijack failed).
    struct Reservation {
        std::shared_ptr<Entry> e;
        bool held = true;
        void release() {
            if (!held) return;
            held = false;
            {
                std::lock_guard lk(e->mu);
                --e->attach_reservations;
            }
            e->cv.notify_all();
        }
        ~Reservation() { release(); }
    };
    auto resv = std::make_shared<Reservation>();
    resv->e = e;
    {
        std::lock_guard lk(e->mu);
        auto st = e->c.state.status;
        // moby attaches to a stopped container too (`docker start -a` does it before start);
        // only a paused or dying one is refused.
        if (st == RunState::Dead || st == RunState::Removing || e->removed)
            return make_error(Errc::Conflict, "You cannot attach to a stopped container, start it first");
        if (st == RunState::Paused)
            return make_error(Errc::Conflict, "You cannot attach to a paused container, unpause it first");
        ++e->attach_reservations;
    }
    AttachRequest req = r;
    return RelayFn([this, e, req, resv](const ClientStream& client) -> Result<void> {
        auto [mine, theirs] = BERTH_TRY(shimproto::seqpacket_pair());
        UniqueFd dup(::fcntl(client.fd, F_DUPFD_CLOEXEC, 3));
        if (!dup) return BERTH_SYS_ERROR("dup the client socket");
        auto shim_req = to_shim(req, client);
        // Not under the op lock: a start holds it while it waits for this very hand-over.
        std::unique_lock lk(e->mu);
        e->cv.wait(lk, [&] { return !e->starting; });
        RunState st = e->c.state.status;
        if (st == RunState::Created || st == RunState::Restarting || st == RunState::Exited) {
            e->pending.push_back(PendingAttach{std::move(dup), std::move(theirs), shim_req});
            resv->held = false;
            --e->attach_reservations;
            lk.unlock();
            e->cv.notify_all();
        } else if (st == RunState::Running) {
            lk.unlock();
            shimproto::ShimPaths sp{shim_dir(e->c.id)};
            nlohmann::json body = {{"op", "attach"}, {"attach", shim_req}};
            auto called = shim_call(sp.socket(), body, {dup.get(), theirs.get()});
            resv->release();
            BERTH_TRY(called);
            dup.reset();
            theirs.reset();
        } else {
            return {};  // it is going away: nothing to relay (the reservation goes with resv)
        }
        publish(e->c, "attach");
        (void)wait_done(mine.get());
        return {};
    });
}

Result<void> ContainerService::resize(std::string_view name, int height, int width) {
    auto e = BERTH_TRY(find(name));
    {
        std::lock_guard lk(e->mu);
        if (e->c.state.status != RunState::Running)
            return make_error(Errc::Conflict, "Container {} is not running", e->c.id);
    }
    shimproto::ShimPaths sp{shim_dir(e->c.id)};
    BERTH_TRY(shim_call(sp.socket(), {{"op", "resize"}, {"exec_id", ""}, {"height", height},
                                      {"width", width}}));
    publish(e->c, "resize", {{"height", std::to_string(height)}, {"width", std::to_string(width)}});
    return {};
}

Result<std::string> ContainerService::exec_create(std::string_view name, ExecInstance x) {
    auto e = BERTH_TRY(find(name));
    {
        std::lock_guard lk(e->mu);
        if (e->c.state.status == RunState::Paused)
            return make_error(Errc::Conflict,
                              "Container {} is paused, unpause the container before exec", e->c.id);
        if (e->c.state.status != RunState::Running)
            return make_error(Errc::Conflict, "container {} is not running", e->c.id);
    }
    BERTH_TRY(check_detach_keys(x.detach_keys));
    x.id = container::generate_container_id();
    x.container_id = e->c.id;
    auto ex = std::make_shared<Exec>();
    ex->e = x;
    {
        std::lock_guard lk(mu_);
        execs_[x.id] = ex;
        std::lock_guard elk(e->mu);
        e->c.exec_ids.push_back(x.id);
    }
    publish(e->c, "exec_create: " + join(x.cmd, " "), {{"execID", x.id}});
    return x.id;
}

Result<ExecInstance> ContainerService::exec_get(const std::string& exec_id) const {
    std::shared_ptr<Exec> x;
    {
        std::lock_guard lk(mu_);
        auto it = execs_.find(exec_id);
        if (it == execs_.end()) return make_error(Errc::NotFound, "No such exec instance: {}", exec_id);
        x = it->second;
    }
    std::lock_guard lk(x->mu);
    return x->e;
}

Result<void> ContainerService::exec_resize(const std::string& exec_id, int height, int width) {
    auto x = BERTH_TRY(exec_get(exec_id));
    shimproto::ShimPaths sp{shim_dir(x.container_id)};
    BERTH_TRY(shim_call(sp.socket(), {{"op", "resize"}, {"exec_id", exec_id}, {"height", height},
                                      {"width", width}}));
    return {};
}

Result<std::string> ContainerService::exec_process_json(const Entry& e,
                                                       container::ExecConfig ec) const {
    // The running container's bundle (exec needs one: it runs).
    std::string spec_text = BERTH_TRY(read_file(shim_dir(e.c.id) + "/config.json"));
    auto spec = BERTH_TRY(oci::parse_spec(spec_text));
    ec.group_add = e.c.host_config.group_add;  // moby re-applies it for `exec -u`
    auto process =
        BERTH_TRY(container::build_exec_process(spec, ec, container_dir(e.c.id) + "/merged"));
    return oci::to_json(process);
}

Result<ContainerService::RelayFn> ContainerService::prepare_exec_start(const std::string& exec_id,
                                                                       bool detach) {
    std::shared_ptr<Exec> x;
    {
        std::lock_guard lk(mu_);
        auto it = execs_.find(exec_id);
        if (it == execs_.end()) return make_error(Errc::NotFound, "No such exec instance: {}", exec_id);
        x = it->second;
    }
    ExecInstance ei;
    {
        std::lock_guard lk(x->mu);
        if (x->e.running) return make_error(Errc::Conflict, "Error: Exec command {} is already running", exec_id);
        if (x->e.started) return make_error(Errc::Conflict, "Error: Exec command {} has already run", exec_id);
        x->e.started = true;
        ei = x->e;
    }
    auto e = BERTH_TRY(find(ei.container_id));
    {
        std::lock_guard lk(e->mu);
        if (e->c.state.status == RunState::Paused)
            return make_error(Errc::Conflict,
                              "Container {} is paused, unpause the container before exec", e->c.id);
        if (e->c.state.status != RunState::Running)
            return make_error(Errc::Conflict, "container {} is not running", e->c.id);
    }
    container::ExecConfig ec;
    ec.cmd = ei.cmd;
    ec.env = ei.env;
    ec.user = ei.user;
    ec.working_dir = ei.working_dir;
    ec.tty = ei.tty;
    ec.privileged = ei.privileged;
    ec.console_size = ei.console_size;

    shimproto::ExecRequest req;
    req.exec_id = exec_id;
    req.process_json = BERTH_TRY(exec_process_json(*e, std::move(ec)));
    req.tty = ei.tty;
    req.detached = detach;
    req.attach.stdin_ = ei.attach_stdin;
    req.attach.stdout_ = ei.attach_stdout;
    req.attach.stderr_ = ei.attach_stderr;
    req.attach.detach_keys = ei.detach_keys;
    std::string socket = shimproto::ShimPaths{shim_dir(e->c.id)}.socket();
    std::string cmdline = join(ei.cmd, " ");

    auto started = [this, x, e, cmdline](int pid) {
        {
            std::lock_guard lk(x->mu);
            x->e.running = true;
            x->e.pid = pid;
        }
        publish(e->c, "exec_start: " + cmdline, {{"execID", x->e.id}});
    };
    auto failed = [x](const Error&) {
        // moby (daemon/exec.go): an exec that could not start has exit code 126, whatever
        // the reason; the CLI reports that code.
        std::lock_guard lk(x->mu);
        x->e.running = false;
        x->e.exit_code = 126;
    };
    if (detach) {
        nlohmann::json body = nlohmann::json(req);
        body["op"] = "exec";
        auto reply = shim_call(socket, body);
        if (!reply) {
            failed(reply.error());
            return make_error(reply.error().code, "OCI runtime exec failed: {}: unknown",
                              reply.error().what());
        }
        started(reply->value("pid", 0));
        return RelayFn();
    }
    return RelayFn([=, this](const ClientStream& client) -> Result<void> {
        auto [mine, theirs] = BERTH_TRY(shimproto::seqpacket_pair());
        UniqueFd dup(::fcntl(client.fd, F_DUPFD_CLOEXEC, 3));
        if (!dup) return BERTH_SYS_ERROR("dup the client socket");
        shimproto::ExecRequest r2 = req;
        r2.attach.leftover = client.leftover;
        nlohmann::json body = nlohmann::json(r2);
        body["op"] = "exec";
        auto reply = shim_call(socket, body, {dup.get(), theirs.get()});
        dup.reset();
        theirs.reset();
        if (!reply) {
            failed(reply.error());
            return make_error(reply.error().code, "OCI runtime exec failed: {}: unknown",
                              reply.error().what());
        }
        started(reply->value("pid", 0));
        auto done = wait_done(mine.get());
        {
            std::lock_guard lk(x->mu);
            x->e.running = false;
            if (done.contains("exit_code")) x->e.exit_code = done["exit_code"].get<int>();
            else if (!x->e.exit_code) x->e.exit_code = 137;  // the shim went away
        }
        x->cv.notify_all();
        return {};
    });
}

}  // namespace berth::engine
