// run and exec: processes the runtime starts and, unless detached, stays with.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/scope_exit.hpp"
#include "berth/runtime/runtime.hpp"
#include "console.hpp"
#include "container.hpp"
#include "foreground.hpp"

namespace berth::runtime {
Result<int> run(const Globals& g, const CreateOptions& o) {
    // Detached, a terminal needs a console socket (create refuses it otherwise); in the
    // foreground the runtime holds the pty itself.
    auto cr = create_container(g, o, false, !o.detach);
    if (!cr) return Unexpected(std::move(cr).error());
    run_poststart(cr->spec, cr->rec);
    if (o.detach) {
        cr->launched.init.release();
        return 0;
    }
    auto code = stay_with(cr->launched.init, cr->terminal.get());
    BLOG_DEBUG("run {}: exited", o.id);
    Loaded l{cr->rec, cr->dir, "stopped"};
    auto d = destroy_container(l, std::move(cr->cgroup));
    if (!d) BLOG_WARN("delete {}: {}", o.id, d.error().what());
    BLOG_DEBUG("run {}: deleted", o.id);
    return code;
}

Result<OwnedProcess> run_owned(const Globals& g, const CreateOptions& o) {
    if (!o.console_socket.empty())
        return make_error(Errc::InvalidArgument, "run_owned: the monitor takes the terminal itself, not a console socket");
    auto cr = create_container(g, o, false, true);
    if (!cr) return Unexpected(std::move(cr).error());
    OwnedProcess out;
    if (cr->terminal) {
        auto master = recv_fd(cr->terminal.get());
        if (!master) {
            Loaded l{cr->rec, cr->dir, "running"};
            (void)destroy_container(l, std::move(cr->cgroup));
            return Unexpected(std::move(master).error().wrap("receive the container's pty master"));
        }
        out.terminal = std::move(*master);
    }
    run_poststart(cr->spec, cr->rec);
    out.process = std::move(cr->launched.init);
    return out;
}

namespace {

/// An exec'd process, our child, and our end of its terminal channel when we hold the pty.
struct ExecLaunched {
    ChildProcess process;
    UniqueFd terminal_sock;
};

Result<ExecLaunched> launch_exec(const Globals& g, const ExecOptions& o, bool own_terminal) {
    Loaded l = BERTH_TRY(load_container(g, o.id));
    if (l.status == "stopped") return make_error(Errc::Conflict, "cannot exec in a stopped container");
    if (l.status == "paused") return make_error(Errc::Conflict, "cannot exec in a paused container");
    oci::Spec spec = BERTH_TRY(container_spec(g, o.id));
    if (o.process.args.empty()) return make_error(Errc::InvalidArgument, "exec: process.args must not be empty");

    InitConfig c;
    c.id = o.id;
    c.bundle = l.rec.bundle;
    c.rootfs = l.rec.rootfs;
    c.spec = &spec;
    c.process = &o.process;
    c.is_exec = true;
    c.double_fork = true;  // setns(pid) applies to children: the process is a grandchild
    c.preserve_fds = o.preserve_fds;
    // Join every namespace the container has, through its init (user namespace first).
    static const std::pair<const char*, const char*> kNs[] = {
        {"user", "user"}, {"ipc", "ipc"}, {"uts", "uts"}, {"network", "net"}, {"pid", "pid"},
        {"cgroup", "cgroup"}, {"time", "time"}, {"mount", "mnt"}};
    if (spec.linux) {
        for (const auto& [type, file] : kNs) {
            bool has = false;
            for (const auto& ns : spec.linux->namespaces) has = has || ns.type == type;
            if (!has) continue;
            std::string path = "/proc/" + std::to_string(l.rec.pid) + "/ns/" + file;
            UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
            if (!fd) return BERTH_SYS_ERROR("open {}", path);
            c.joins.push_back({oci::namespace_flag(type), path, std::move(fd)});
        }
    }
    c.new_user_ns = false;
    if (o.process.capabilities) {
        c.has_caps = true;
        c.caps = BERTH_TRY(parse_capabilities(*o.process.capabilities));
    }
    c.state_root = g.root;
    if (auto prog = BERTH_TRY(seccomp_for(spec, g.root))) {
        c.has_seccomp = true;
        c.seccomp = std::move(*prog);
    }
    c.rlimits = BERTH_TRY(translate_rlimits(o.process));

    bool terminal = o.process.terminal;
    TerminalChannel term;
    UniqueFd console;
    if (terminal) {
        if (!o.console_socket.empty()) {
            console = BERTH_TRY(connect_unix_socket(o.console_socket));
            c.console_fd = console.get();
        } else if (!own_terminal) {
            return make_error(Errc::InvalidArgument,
                              "cannot allocate tty if berth-runtime will detach without setting console socket");
        } else {
            term = BERTH_TRY(make_terminal_channel());
            c.console_fd = term.theirs.get();
        }
    }
    auto mgr = BERTH_TRY(container_cgroup(l.rec));
    auto launched = launch(c, mgr.get(), nullptr);
    if (!launched) return Unexpected(std::move(launched).error().wrap("exec failed: unable to start container process"));
    term.theirs.reset();
    console.reset();
    if (!o.pid_file.empty())
        BERTH_TRY_CTX(atomic_write_file(o.pid_file, std::to_string(launched->init.pid()), 0644,
                                        Durability::Volatile),
                      "write pid file");
    return ExecLaunched{std::move(launched->init), std::move(term.ours)};
}

}  // namespace

Result<int> exec(const Globals& g, const ExecOptions& o) {
    auto e = BERTH_TRY(launch_exec(g, o, !o.detach));
    if (o.detach) {
        e.process.release();
        return 0;
    }
    return stay_with(e.process, e.terminal_sock.get());
}

Result<OwnedProcess> exec_owned(const Globals& g, const ExecOptions& o) {
    if (!o.console_socket.empty())
        return make_error(Errc::InvalidArgument, "exec_owned: the monitor takes the terminal itself, not a console socket");
    auto e = BERTH_TRY(launch_exec(g, o, true));
    OwnedProcess out;
    if (e.terminal_sock) {
        auto master = recv_fd(e.terminal_sock.get());
        if (!master) {
            (void)::kill(e.process.pid(), SIGKILL);
            (void)e.process.wait();
            return Unexpected(std::move(master).error().wrap("receive the exec's pty master"));
        }
        out.terminal = std::move(*master);
    }
    out.process = std::move(e.process);
    return out;
}

}  // namespace berth::runtime
