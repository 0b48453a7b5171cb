// berth: the command line client of berthd, with docker's command names, flags and output.

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "berth/api/client/host.hpp"
#include "berth/common/log.hpp"
#include "commands.hpp"

namespace berth::cli {

Result<api::client::Client*> Context::client() {
    if (!client_) {
        auto host = BERTH_TRY(api::client::parse_host(api::client::select_host(host_flag)));
        std::string pinned;
        for (const char* var : {"BERTH_API_VERSION", "DOCKER_API_VERSION"}) {
            const char* v = std::getenv(var);
            if (v && *v) {
                pinned = v;
                break;
            }
        }
        client_ = std::make_unique<api::client::Client>(std::move(host), pinned);
    }
    return client_.get();
}

void fail(Context& ctx, const Error& e) {
    std::fprintf(stderr, "%s\n", e.what().c_str());
    ctx.status = 1;
}

void out(std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
}

bool stdin_is_terminal() { return ::isatty(0) == 1; }
bool stdout_is_terminal() { return ::isatty(1) == 1; }

namespace {

// The first argument that is not a global option or its value: the verb.
std::string_view find_verb(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--") return {};
        if (a.empty() || a[0] != '-') return a;
        if (a == "-H" || a == "--host" || a == "-l" || a == "--log-level") ++i;
    }
    return {};
}

}  // namespace

}  // namespace berth::cli

int main(int argc, char** argv) {
    using namespace berth;
    // A closed pipe on stdout (berth save | head) is a write error we report, not a signal.
    ::signal(SIGPIPE, SIG_IGN);
    cli::Context ctx;
    CLI::App app{"A self-sufficient runtime for containers", "berth"};
    app.require_subcommand(1);
    app.set_version_flag("-v,--version", "Berth version 0.1.0");
    app.add_option("-H,--host", ctx.host_flag, "Daemon socket to connect to");
    app.add_option("-l,--log-level", ctx.log_level, "Set the logging level (\"debug\", \"info\", \"warn\", \"error\", \"fatal\")")
        ->check(CLI::IsMember({"debug", "info", "warn", "error", "fatal"}));
    app.add_flag("-D,--debug", ctx.debug, "Enable debug mode");
    app.parse_complete_callback([&] {
        log::Level lvl = log::Level::Info;
        if (ctx.debug || ctx.log_level == "debug") lvl = log::Level::Debug;
        else if (ctx.log_level == "warn") lvl = log::Level::Warn;
        else if (ctx.log_level == "error" || ctx.log_level == "fatal") lvl = log::Level::Error;
        log::init("", log::Format::Text, lvl);
    });

    // Build only the parsers of the verb's group (as berth-runtime does); --help and unknown
    // verbs get all of them.
    std::string_view verb = cli::find_verb(argc, argv);
    bool all = true;
    auto want = [&](std::initializer_list<std::string_view> verbs) {
        for (auto v : verbs)
            if (verb == v) return true;
        return all;
    };
    const std::initializer_list<std::string_view> kRunVerbs = {
        "run", "create", "start", "attach", "exec", "container"};
    const std::initializer_list<std::string_view> kContainerVerbs = {
        "ps", "events", "stop", "restart", "kill", "rm", "pause", "unpause", "wait", "rename", "logs",
        "top", "port", "diff", "export", "update", "stats", "cp", "container"};
    for (auto v : {"images", "inspect", "history", "tag", "rmi", "import", "save", "load", "image",
                   "version", "info", "system", "pull", "push", "login", "logout", "registry"})
        if (verb == v) all = false;
    for (auto v : kRunVerbs)
        if (verb == v) all = false;
    for (auto v : kContainerVerbs)
        if (verb == v) all = false;
    CLI::App* image = nullptr;
    CLI::App* system = nullptr;
    CLI::App* container = nullptr;
    if (want({"container"})) {
        container = app.add_subcommand("container", "Manage containers");
        container->require_subcommand(1);
    }
    if (want({"image"})) {
        image = app.add_subcommand("image", "Manage images");
        image->require_subcommand(1);
    }
    if (want({"system"})) {
        system = app.add_subcommand("system", "Manage Berth");
        system->require_subcommand(1);
    }
    if (want({"images", "inspect", "history", "tag", "rmi", "image"})) cli::register_images(app, image, ctx);
    if (want({"import", "save", "load", "image"})) cli::register_transfer(app, image, ctx);
    if (want({"pull", "push", "login", "logout", "registry", "image"}))
        cli::register_registry(app, image, ctx);
    if (want({"version", "info", "system"})) cli::register_system(app, system, ctx);
    if (want(kRunVerbs)) cli::register_run(app, container, ctx, all ? std::string_view{} : verb);
    if (want(kContainerVerbs)) cli::register_containers(app, container, ctx);

    // pflag takes "-H=false" for a short bool flag; CLI11 doesn't: spell history's as --human=.
    std::vector<std::string> args(argv, argv + argc);
    bool after_verb = false;
    for (size_t i = 1; i < args.size(); ++i) {
        if (args[i] == "history") after_verb = true;
        else if (after_verb && args[i].rfind("-H=", 0) == 0) args[i] = "--human=" + args[i].substr(3);
    }
    std::vector<char*> argv2;
    for (auto& a : args) argv2.push_back(a.data());
    try {
        app.parse(static_cast<int>(argv2.size()), argv2.data());
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // docker: 125 for flag errors, 1 for a wrong number of arguments.
        std::string what = e.what();
        auto flag = what.find(": -");
        if (dynamic_cast<const CLI::ExtrasError*>(&e) && flag != std::string::npos) {
            std::fprintf(stderr, "unknown flag: %s\nSee 'berth --help'.\n", what.substr(flag + 2).c_str());
            return 125;
        }
        std::fprintf(stderr, "%s\nSee 'berth --help'.\n", e.what());
        bool arg_error = dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr ||
                    dynamic_cast<const CLI::RequiredError*>(&e) != nullptr ||
                    dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr;
        return arg_error ? 1 : 125;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    // The command is done: end here, without tearing down the parsers (a CLI11 tree of a
    // hundred options) and the client, which the process' end makes moot (the kernel closes
    // the connections). It is the last step of every `berth run`.
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(ctx.status);
}
