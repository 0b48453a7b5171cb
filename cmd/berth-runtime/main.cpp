// berth-runtime: an OCI runtime with runc's command line.

#include <unistd.h>

#include <cstdio>

#include "berth/common/log.hpp"
#include "commands.hpp"

namespace berth::cli {

void fail(Context& ctx, const Error& e) {
    BLOG_ERROR("{}", e.what());
    ctx.status = 1;
}

std::string_view find_verb(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--") return {};
        if (a.empty() || a[0] != '-') return a;
        // Global options whose value is the next argument.
        if (a == "--log" || a == "--log-format" || a == "--root" || a == "--criu") ++i;
    }
    return {};
}

void (*register_for(std::string_view verb))(CLI::App&, Context&) {
    for (auto v : {"create", "start", "run", "delete", "kill", "state", "list", "ls", "ps"})
        if (verb == v) return register_lifecycle;
    if (verb == "exec") return register_exec;
    for (auto v : {"pause", "resume", "update", "events"})
        if (verb == v) return register_resources;
    for (auto v : {"features", "spec"})
        if (verb == v) return register_info;
    return nullptr;
}

}  // namespace berth::cli

int main(int argc, char** argv) {
    using namespace berth;
    cli::Context ctx;
    CLI::App app{"berth-runtime: an OCI container runtime (runc compatible)", "berth-runtime"};
    app.require_subcommand(1);
    app.set_version_flag("-v,--version", std::string("berth-runtime version 0.1.0\nspec: ") + oci::kOciVersion);
    bool debug = false, systemd = false;
    std::string log_path, log_format = "text", criu, rootless;
    app.add_flag("--debug", debug, "enable debug logging");
    app.add_option("--log", log_path, "log file (default: stderr)");
    app.add_option("--log-format", log_format, "log format: text or json")->check(CLI::IsMember({"text", "json"}));
    app.add_option("--root", ctx.globals.root, "root directory for container state");
    app.add_option("--criu", criu, "ignored (checkpoint/restore is not supported)");
    app.add_flag("--systemd-cgroup", systemd, "use systemd cgroups (not supported)");
    app.add_option("--rootless", rootless, "accepted for runc compatibility and ignored")->expected(0, 1);
    app.parse_complete_callback([&] {
        log::init(log_path, log_format == "json" ? log::Format::Json : log::Format::Text,
                  debug ? log::Level::Debug : log::Level::Warn);
        ctx.globals.systemd_cgroup = systemd;
        BLOG_DEBUG("arguments parsed");
    });
    // Build only the parser of the verb being run: constructing all of them was a fifth of the
    // instructions of a whole `run`. Unknown verbs and --help get every verb.
    using Register = void (*)(CLI::App&, cli::Context&);
    std::string_view verb = cli::find_verb(argc, argv);
    Register only = cli::register_for(verb);
    if (only) {
        ctx.verb = verb == "ls" ? "list" : std::string(verb);
        only(app, ctx);
    } else {
        cli::register_lifecycle(app, ctx);
        cli::register_exec(app, ctx);
        cli::register_resources(app, ctx);
        cli::register_info(app, ctx);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);
        log::init(log_path, log_format == "json" ? log::Format::Json : log::Format::Text, log::Level::Warn);
        BLOG_ERROR("{}", e.what());
        return 1;
    } catch (const std::exception& e) {
        BLOG_ERROR("{}", e.what());
        return 1;
    }
    return ctx.status;
}
