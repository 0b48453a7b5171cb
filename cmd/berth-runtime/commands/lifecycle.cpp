// create, start, run, delete, kill, state, list, ps.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include <nlohmann/json.hpp>

#include "berth/common/process.hpp"
#include "berth/common/strings.hpp"
#include "../commands.hpp"

namespace berth::cli {
namespace {

void add_create_flags(CLI::App* c, runtime::CreateOptions& o) {
    c->add_option("-b,--bundle", o.bundle, "path to the bundle directory");
    c->add_option("--console-socket", o.console_socket, "unix socket that receives the pty master");
    c->add_option("--pid-file", o.pid_file, "file to write the container init's pid to");
    c->add_flag("--no-pivot", o.no_pivot, "use MS_MOVE and chroot instead of pivot_root (initramfs)");
    c->add_flag("--no-new-keyring", o.no_new_keyring, "keep the caller's session keyring");
    c->add_option("--preserve-fds", o.preserve_fds, "pass this many extra fds (from 3) to the process");
    c->add_option("id", o.id, "container id")->required();
}

nlohmann::ordered_json state_json(const runtime::ContainerInfo& i) {
    nlohmann::ordered_json j;
    j["ociVersion"] = i.state.oci_version;
    j["id"] = i.state.id;
    j["pid"] = i.state.pid;
    j["status"] = i.state.status;
    j["bundle"] = i.state.bundle;
    j["rootfs"] = i.rootfs;
    j["created"] = i.created;
    j["owner"] = i.owner;
    if (!i.state.annotations.empty()) j["annotations"] = i.state.annotations;
    return j;
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
    // Like Go's tabwriter with padding 3, as runc's list uses.
    std::vector<size_t> w;
    for (const auto& r : rows)
        for (size_t i = 0; i < r.size(); ++i) {
            if (w.size() <= i) w.push_back(0);
            w[i] = std::max(w[i], r[i].size());
        }
    for (const auto& r : rows) {
        std::string line;
        for (size_t i = 0; i < r.size(); ++i) {
            line += r[i];
            if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 3, ' ');
        }
        std::printf("%s\n", line.c_str());
    }
}

}  // namespace

void register_lifecycle(CLI::App& app, Context& ctx) {
    // Values the parsers write into; they outlive parsing (the callbacks run at its end).
    static runtime::CreateOptions create_opts, run_opts;
    static std::string id;
    if (ctx.wants("create")) {
        auto* create = app.add_subcommand("create", "create a container");
        add_create_flags(create, create_opts);
        create->callback([&] {
            if (auto r = runtime::create(ctx.globals, create_opts); !r) fail(ctx, r.error());
        });
    }

    if (ctx.wants("run")) {
        auto* run = app.add_subcommand("run", "create and start a container, and wait for it");
        add_create_flags(run, run_opts);
        run->add_flag("-d,--detach", run_opts.detach, "detach from the container's process");
        static bool keep = false;
        run->add_flag("--keep", keep, "accepted for runc compatibility");
        run->callback([&] {
            auto r = runtime::run(ctx.globals, run_opts);
            if (!r) return fail(ctx, r.error());
            ctx.status = *r;
        });
    }

    if (ctx.wants("start")) {
        auto* start = app.add_subcommand("start", "start a created container");
        start->add_option("id", id)->required();
        start->callback([&] {
            if (auto r = runtime::start(ctx.globals, id); !r) fail(ctx, r.error());
        });
    }

    if (ctx.wants("delete")) {
        static bool force = false;
        auto* del = app.add_subcommand("delete", "delete a container");
        del->add_flag("-f,--force", force, "kill the container first if it is running");
        del->add_option("id", id)->required();
        del->callback([&] {
            auto r = runtime::remove(ctx.globals, id, force);
            // runc: deleting a missing container with --force is not an error.
            if (!r && !(force && r.error().code == Errc::NotFound)) fail(ctx, r.error());
        });
    }

    if (ctx.wants("kill")) {
        static bool all = false;
        static std::vector<std::string> kill_args;
        auto* kill = app.add_subcommand("kill", "send a signal to the container's init");
        kill->add_flag("-a,--all", all, "send the signal to every process of the container");
        kill->add_option("args", kill_args, "<id> [signal]")->required()->expected(1, 2);
        kill->callback([&] {
            std::string sig = kill_args.size() > 1 ? kill_args[1] : "SIGTERM";
            auto s = runtime::parse_signal(sig);
            if (!s) return fail(ctx, s.error());
            if (auto r = runtime::kill(ctx.globals, kill_args[0], *s, all); !r) fail(ctx, r.error());
        });
    }

    if (ctx.wants("state")) {
        auto* st = app.add_subcommand("state", "print the state of a container");
        st->add_option("id", id)->required();
        st->callback([&] {
            auto r = runtime::state(ctx.globals, id);
            if (!r) return fail(ctx, r.error());
            std::printf("%s\n", state_json(*r).dump(2).c_str());
        });
    }

    if (ctx.wants("list")) {
        static std::string format = "table";
        static bool quiet = false;
        auto* ls = app.add_subcommand("list", "list containers");
        ls->alias("ls");
        ls->add_option("-f,--format", format, "table or json")->check(CLI::IsMember({"table", "json"}));
        ls->add_flag("-q,--quiet", quiet, "print only ids");
        ls->callback([&] {
            auto r = runtime::list(ctx.globals);
            if (!r) return fail(ctx, r.error());
            if (quiet) {
                for (const auto& c : *r) std::printf("%s\n", c.state.id.c_str());
            } else if (format == "json") {
                nlohmann::ordered_json arr = nlohmann::ordered_json::array();
                for (const auto& c : *r) arr.push_back(state_json(c));
                std::printf("%s\n", r->empty() ? "null" : arr.dump().c_str());
            } else {
                std::vector<std::vector<std::string>> rows{{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
                for (const auto& c : *r)
                    rows.push_back({c.state.id, std::to_string(c.state.pid), c.state.status, c.state.bundle,
                                    c.created, c.owner});
                print_table(rows);
            }
        });
    }

    if (ctx.wants("ps")) {
        static std::string ps_format = "table";
        auto* ps = app.add_subcommand("ps", "list the processes of a container");
        ps->add_option("-f,--format", ps_format, "table or json")->check(CLI::IsMember({"table", "json"}));
        ps->prefix_command();  // <id> [ps options], taken verbatim
        ps->callback([&ctx, ps] {
            std::vector<std::string> ps_args = ps->remaining();
            if (ps_args.empty()) return fail(ctx, Error{Errc::InvalidArgument, 0, "ps: container id is required"});
            auto r = runtime::pids(ctx.globals, ps_args[0]);
            if (!r) return fail(ctx, r.error());
            if (ps_format == "json") {
                std::printf("%s\n", nlohmann::json(*r).dump().c_str());
                return;
            }
            Command c;
            c.path = "ps";
            c.args = {"ps"};
            if (ps_args.size() > 1) c.args.insert(c.args.end(), ps_args.begin() + 1, ps_args.end());
            else c.args.push_back("-ef");
            c.capture_stdout = true;
            auto out = run_command(c);
            if (!out) return fail(ctx, out.error());
            auto lines = split(out->out, '\n');
            if (lines.empty()) return;
            // Find the PID column in the header, then keep the container's lines.
            auto header = split(std::string(trim(lines[0])), ' ');
            header.erase(std::remove(header.begin(), header.end(), ""), header.end());
            size_t col = std::find(header.begin(), header.end(), "PID") - header.begin();
            if (col == header.size()) return fail(ctx, Error{Errc::InvalidArgument, 0, "couldn't find PID field in ps output"});
            std::set<pid_t> want(r->begin(), r->end());
            std::printf("%s\n", lines[0].c_str());
            for (size_t i = 1; i < lines.size(); ++i) {
                auto f = split(std::string(trim(lines[i])), ' ');
                f.erase(std::remove(f.begin(), f.end(), ""), f.end());
                if (f.size() <= col) continue;
                auto p = parse_int(f[col]);
                if (p && want.count(static_cast<pid_t>(*p))) std::printf("%s\n", lines[i].c_str());
            }
        });
    }
}

}  // namespace berth::cli
