// exec: run another process in a running container.

#include "berth/common/fs.hpp"
#include "berth/common/strings.hpp"
#include "berth/oci/spec_json.hpp"
#include "../commands.hpp"

namespace berth::cli {
namespace {

struct ExecFlags {
    runtime::ExecOptions o;
    std::string process_file, cwd, user;
    std::vector<std::string> env, caps, additional_gids;
    bool tty = false, no_new_privs = false;
    std::vector<std::string> args;
};

// runc's --user: "uid[:gid]", numeric.
Result<void> apply_user(oci::Process& p, const std::string& user) {
    auto parts = split(user, ':');
    auto uid = parse_uint(parts[0]);
    if (!uid || *uid > 0xffffffffu || parts.size() > 2)
        return make_error(Errc::InvalidArgument, "--user: expected uid[:gid], got \"{}\"", user);
    p.user.uid = static_cast<uint32_t>(*uid);
    if (parts.size() == 2) {
        auto gid = parse_uint(parts[1]);
        if (!gid || *gid > 0xffffffffu) return make_error(Errc::InvalidArgument, "--user: bad gid in \"{}\"", user);
        p.user.gid = static_cast<uint32_t>(*gid);
    }
    return {};
}

Result<oci::Process> build_process(Context& ctx, ExecFlags& f) {
    if (!f.process_file.empty()) {
        std::string text = BERTH_TRY(read_file(f.process_file == "-" ? "/dev/stdin" : f.process_file));
        return oci::parse_process(text, f.process_file);
    }
    // Start from the container's own process, as runc does, then apply the flags.
    oci::Spec spec = BERTH_TRY(runtime::container_spec(ctx.globals, f.o.id));
    oci::Process p = spec.process ? *spec.process : oci::Process{};
    p.args = f.args;
    if (p.args.empty()) return make_error(Errc::InvalidArgument, "exec: no command given");
    p.terminal = f.tty;
    p.console_size.reset();
    for (const auto& e : f.env) {
        // A later definition of the same variable replaces the earlier one.
        std::string key = e.substr(0, e.find('='));
        std::erase_if(p.env, [&](const std::string& x) { return x.substr(0, x.find('=')) == key; });
        p.env.push_back(e);
    }
    if (!f.cwd.empty()) p.cwd = f.cwd;
    if (!f.user.empty()) BERTH_TRY(apply_user(p, f.user));
    for (const auto& g : f.additional_gids) {
        auto gid = parse_uint(g);
        if (!gid || *gid > 0xffffffffu) return make_error(Errc::InvalidArgument, "--additional-gids: bad gid \"{}\"", g);
        p.user.additional_gids.push_back(static_cast<uint32_t>(*gid));
    }
    if (!f.caps.empty()) {
        if (!p.capabilities) p.capabilities = oci::Capabilities{};
        for (const auto& c : f.caps) {
            auto& cs = *p.capabilities;
            for (auto* set : {&cs.bounding, &cs.effective, &cs.permitted, &cs.ambient, &cs.inheritable})
                if (std::find(set->begin(), set->end(), c) == set->end()) set->push_back(c);
        }
    }
    if (f.no_new_privs) p.no_new_privileges = true;
    return p;
}

}  // namespace

void register_exec(CLI::App& app, Context& ctx) {
    static ExecFlags f;
    auto* e = app.add_subcommand("exec", "run a process in a running container");
    e->add_option("--console-socket", f.o.console_socket, "unix socket that receives the pty master");
    e->add_option("--cwd", f.cwd, "working directory in the container");
    e->add_option("-e,--env", f.env, "set an environment variable (KEY=value)")->allow_extra_args(false);
    e->add_flag("-t,--tty", f.tty, "allocate a pseudo-TTY");
    e->add_option("-u,--user", f.user, "uid[:gid]");
    e->add_option("-g,--additional-gids", f.additional_gids, "additional group ids")->allow_extra_args(false);
    e->add_option("-p,--process", f.process_file, "process.json to run instead of the command line");
    e->add_flag("-d,--detach", f.o.detach, "detach from the process");
    e->add_option("--pid-file", f.o.pid_file, "file to write the process pid to");
    static std::string ignored;
    e->add_option("--process-label,--apparmor", ignored, "accepted for compatibility");
    e->add_flag("--no-new-privs", f.no_new_privs, "set no_new_privs for the process");
    e->add_option("-c,--cap", f.caps, "add a capability")->allow_extra_args(false);
    e->add_option("--preserve-fds", f.o.preserve_fds, "pass this many extra fds (from 3)");
    // <id> <command> [args...]: everything from the first positional on is taken verbatim, so
    // the command's own flags ("sh -c ...") are never read as ours.
    e->prefix_command();
    e->footer("Usage: exec [options] <container-id> <command> [args...]");
    e->callback([&ctx, e] {
        std::vector<std::string> positional = e->remaining();
        if (positional.empty()) return fail(ctx, Error{Errc::InvalidArgument, 0, "exec: container id is required"});
        f.o.id = positional[0];
        f.args.assign(positional.begin() + 1, positional.end());
        auto p = build_process(ctx, f);
        if (!p) return fail(ctx, p.error());
        f.o.process = std::move(*p);
        auto r = runtime::exec(ctx.globals, f.o);
        if (!r) return fail(ctx, r.error());
        ctx.status = *r;
    });
}

}  // namespace berth::cli
