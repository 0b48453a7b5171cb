// pull, push, login, logout (docker/cli image/pull.go, image/push.go, registry/login.go,
// registry/logout.go) and `registry serve`, which runs the berth-registry program.

#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>

#include "../commands.hpp"
#include "../credentials.hpp"
#include "../format/reference.hpp"
#include "../jsonmessage.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/strings.hpp"

namespace berth::cli {

using json = nlohmann::json;
using api::client::Request;

namespace {

void print_err(std::string_view s) {
    std::fflush(stdout);
    std::fwrite(s.data(), 1, s.size(), stderr);
}

// Streams a progress answer: printed on stdout as docker does, or only checked for errors
// when quiet (docker discards the output but still fails on errorDetail).
Result<void> stream_progress(api::client::Client& c, const Request& req, bool quiet) {
    auto printer = quiet ? JsonMessagePrinter([](std::string_view) {}, false, 200)
                         : JsonMessagePrinter::for_fd(1);
    return c.call_json_lines(req, [&](const json& m) { return printer.show(m); });
}

// -------------------------------------------------------------------------------------------
// pull

struct PullOptions {
    std::string remote, platform;
    bool quiet = false;
    bool all_tags = false;
    bool untrusted = true;  ///< berth has no content trust: accepted and ignored
};

void run_pull(Context& ctx, const PullOptions& o) {
    if (o.all_tags)
        return fail(ctx, Error{Errc::Unsupported, 0,
                               "berth does not support pulling all tags (--all-tags) yet"});
    auto ref = format::parse_normalized_named(o.remote);
    if (!ref) return fail(ctx, ref.error());
    std::string tag = ref->tag;
    if (ref->digest.empty() && tag.empty()) {
        tag = "latest";
        if (!o.quiet) out("Using default tag: latest\n");
        std::fflush(stdout);  // before an error on stderr
    }
    std::string full = ref->name;
    if (!tag.empty() && ref->digest.empty()) full += ":" + tag;
    if (!ref->digest.empty()) full += (ref->tag.empty() ? "" : ":" + ref->tag) + "@" + ref->digest;
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    Request req;
    req.method = "POST";
    req.path = "/images/create";
    req.query.emplace_back("fromImage", ref->name);
    req.query.emplace_back("tag", ref->digest.empty() ? tag : ref->digest);
    if (!o.platform.empty()) {
        std::string p = o.platform;
        for (auto& ch : p) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        req.query.emplace_back("platform", p);
    }
    req.headers.emplace_back("X-Registry-Auth", registry_auth_for_image(o.remote));
    if (auto r = stream_progress(**client, req, o.quiet); !r) return fail(ctx, r.error());
    out(full + "\n");
}

void add_pull_command(CLI::App* parent, Context& ctx) {
    auto o = std::make_shared<PullOptions>();
    auto* c = parent->add_subcommand("pull", "Download an image from a registry");
    c->add_flag("-a,--all-tags", o->all_tags, "Download all tagged images in the repository");
    c->add_flag("-q,--quiet", o->quiet, "Suppress verbose output");
    // docker's default for --platform comes from DOCKER_DEFAULT_PLATFORM.
    if (const char* p = std::getenv("DOCKER_DEFAULT_PLATFORM")) o->platform = p;
    c->add_option("--platform", o->platform, "Set platform if server is multi-platform capable");
    c->add_flag("--disable-content-trust", o->untrusted,
                "Skip image verification (always: no content trust)");
    c->add_option("name", o->remote, "NAME[:TAG|@DIGEST]")->required();
    c->callback([o, &ctx] { run_pull(ctx, *o); });
}

// -------------------------------------------------------------------------------------------
// push

struct PushOptions {
    std::string remote, platform;
    bool quiet = false;
    bool all_tags = false;
    bool untrusted = true;  ///< berth has no content trust: accepted and ignored
};

void run_push(Context& ctx, const PushOptions& o) {
    auto ref = format::parse_normalized_named(o.remote);
    if (!ref) return fail(ctx, ref.error());
    if (o.all_tags && (!ref->tag.empty() || !ref->digest.empty()))
        return fail(ctx, Error{Errc::InvalidArgument, 0, "tag can't be used with --all-tags/-a"});
    if (!ref->digest.empty())
        return fail(ctx, Error{Errc::InvalidArgument, 0, "cannot push a digest reference"});
    std::string tag = ref->tag;
    if (!o.all_tags && tag.empty()) {
        tag = "latest";
        if (!o.quiet) out("Using default tag: latest\n");
        std::fflush(stdout);  // before an error on stderr
    }
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    Request req;
    req.method = "POST";
    req.path = "/images/" + ref->name + "/push";  // the normalized name, as CLI 28 sends it
    if (!tag.empty()) req.query.emplace_back("tag", tag);
    if (!o.platform.empty())
        return fail(ctx,
                    Error{Errc::Unsupported, 0, "--platform needs API 1.46; berthd speaks 1.44"});
    req.headers.emplace_back("X-Registry-Auth", registry_auth_for_image(o.remote));
    if (auto r = stream_progress(**client, req, o.quiet); !r) return fail(ctx, r.error());
    if (o.quiet) out(ref->name + (tag.empty() ? "" : ":" + tag) + "\n");
}

void add_push_command(CLI::App* parent, Context& ctx) {
    auto o = std::make_shared<PushOptions>();
    auto* c = parent->add_subcommand("push", "Upload an image to a registry");
    c->add_flag("-a,--all-tags", o->all_tags, "Push all tags of an image to the repository");
    c->add_flag("-q,--quiet", o->quiet, "Suppress verbose output");
    c->add_option("--platform", o->platform, "Push a platform-specific manifest");
    c->add_flag("--disable-content-trust", o->untrusted,
                "Skip image signing (always: no content trust)");
    c->add_option("name", o->remote, "NAME[:TAG]")->required();
    c->callback([o, &ctx] { run_push(ctx, *o); });
}

// -------------------------------------------------------------------------------------------
// login / logout

struct LoginOptions {
    std::string server, user, password;
    bool password_stdin = false;
};

// Reads one line from the terminal on stdin, without echo when `secret`.
std::string read_line(bool secret) {
    struct termios old {};
    bool restore = secret && ::tcgetattr(0, &old) == 0;
    if (restore) {
        struct termios t = old;
        t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        (void)::tcsetattr(0, TCSANOW, &t);
    }
    std::string line;
    std::getline(std::cin, line);
    if (restore) {
        (void)::tcsetattr(0, TCSANOW, &old);
        out("\n");
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

// POST /auth with `c`; the daemon checks the credentials against the registry.
Result<json> registry_login(api::client::Client& client, const Credentials& c) {
    Request req;
    req.method = "POST";
    req.path = "/auth";
    req.content_type = "application/json";
    req.body =
        json{
            {"username", c.username}, {"password", c.password}, {"serveraddress", c.server_address}}
            .dump();
    return client.call_json(req);
}

// Stores the login as docker's file store does, with its warning about plain-text passwords.
Result<void> store_credentials(ConfigFile& config, const Credentials& c) {
    config.store(c);
    if (auto r = config.save(); !r)
        return make_error(Errc::Internal, "Error saving credentials: {}", r.error().what());
    if (!c.password.empty())
        print_err(
            fmt::format("\nWARNING! Your credentials are stored unencrypted in '{}'.\n"
                        "Configure a credential helper to remove this warning. See\n"
                        "https://docs.docker.com/go/credential-store/\n\n",
                        config.path()));
    return {};
}

// Sends the login and keeps it: the identity token replaces the password when there is one.
Result<std::string> login_and_store(api::client::Client& client, ConfigFile& config,
                                    Credentials c) {
    auto resp = BERTH_TRY(registry_login(client, c));
    std::string token = resp.value("IdentityToken", std::string());
    if (!token.empty()) {
        c.password.clear();
        c.identity_token = token;
    }
    BERTH_TRY(store_credentials(config, c));
    return resp.value("Status", std::string());
}

Result<std::string> run_login_steps(Context& ctx, LoginOptions o) {
    if (!o.password.empty()) {
        print_err("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
        if (o.password_stdin)
            return make_error(Errc::InvalidArgument,
                              "--password and --password-stdin are mutually exclusive");
    }
    if (o.password_stdin) {
        if (o.user.empty())
            return make_error(Errc::InvalidArgument,
                              "Must provide --username with --password-stdin");
        std::string all((std::istreambuf_iterator<char>(std::cin)),
                        std::istreambuf_iterator<char>());
        if (!all.empty() && all.back() == '\n') all.pop_back();
        if (!all.empty() && all.back() == '\r') all.pop_back();
        o.password = all;
    }
    std::string server =
        !o.server.empty() && o.server != "docker.io" ? o.server : std::string(kIndexServer);
    auto config = BERTH_TRY(ConfigFile::load_default());
    auto client = BERTH_TRY(ctx.client());
    std::string default_user;
    if (o.user.empty() && o.password.empty()) {
        if (auto stored = config.get(server); stored && !stored->username.empty()) {
            default_user = stored->username;
            if (!stored->password.empty()) {
                // CLI 28 writes this to stderr, the hint as a tui note.
                print_err(
                    fmt::format("Authenticating with existing credentials... [Username: "
                                "{}]\n\n Info -> To login with a different account, run "
                                "'berth logout' followed by 'berth login'\n\n\n",
                                stored->username));
                auto status = login_and_store(*client, config, *stored);
                if (status) return status;
                if (status.error().code == Errc::PermissionDenied)
                    print_err("Stored credentials invalid or expired\n");
                else
                    print_err("Login did not succeed, error: " + status.error().what() + "\n");
            }
        }
    }
    if ((o.user.empty() || o.password.empty()) && !stdin_is_terminal())
        return make_error(Errc::InvalidArgument,
                          "Error: Cannot perform an interactive login from a non TTY device");
    Credentials c;
    c.server_address = server;
    c.username = o.user;
    if (c.username.empty()) {
        out(default_user.empty() ? std::string("Username: ")
                                 : fmt::format("Username ({}): ", default_user));
        std::fflush(stdout);
        c.username = std::string(trim(read_line(false)));
        if (c.username.empty()) c.username = default_user;
        if (c.username.empty())
            return make_error(Errc::InvalidArgument, "Error: Non-null Username Required");
    }
    c.password = o.password;
    if (c.password.empty()) {
        out("Password: ");
        std::fflush(stdout);
        c.password = read_line(true);
        if (c.password.empty())
            return make_error(Errc::InvalidArgument, "Error: Password Required");
    }
    return login_and_store(*client, config, c);
}

void run_login(Context& ctx, const LoginOptions& o) {
    auto status = run_login_steps(ctx, o);
    if (!status) return fail(ctx, status.error());
    if (!status->empty()) out(*status + "\n");
}

void run_logout(Context& ctx, const std::string& server_arg) {
    bool is_default = server_arg.empty();
    std::string server = is_default ? std::string(kIndexServer) : server_arg;
    std::vector<std::string> keys{server};
    std::string hostname = server;
    if (!is_default) {
        // Older clients stored the registry in one of these forms too.
        hostname = convert_to_hostname(server);
        keys.insert(keys.end(), {hostname, "http://" + hostname, "https://" + hostname});
    }
    auto config = ConfigFile::load_default();
    if (!config) return fail(ctx, config.error());
    out("Removing login credentials for " + hostname + "\n");
    bool erased = false;
    for (const auto& k : keys) erased = config->erase(k) || erased;
    if (!erased) return;
    if (auto r = config->save(); !r) {
        print_err("WARNING: could not erase credentials:\n");
        print_err(server + ": " + r.error().what() + "\n");
    }
}

// -------------------------------------------------------------------------------------------
// registry serve

// The berth-registry program: next to this berth binary, else on PATH.
std::string find_registry_program() {
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        std::string path =
            dirname_of(std::string_view(self, static_cast<size_t>(n))) + "/berth-registry";
        if (::access(path.c_str(), X_OK) == 0) return path;
    }
    return "berth-registry";
}

void run_registry_serve(Context& ctx, const std::vector<std::string>& args) {
    std::string program = find_registry_program();
    std::vector<std::string> argv{program, "serve"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::fflush(stdout);
    ::execvp(program.c_str(), cargv.data());
    int err = errno;
    fail(ctx, Error{Errc::NotFound, 0,
                    fmt::format("berth registry serve: cannot run berth-registry ({}): it must be "
                                "installed next to berth or on PATH",
                                std::strerror(err))});
}

}  // namespace

void register_registry(CLI::App& app, CLI::App* image, Context& ctx) {
    add_pull_command(&app, ctx);
    add_push_command(&app, ctx);
    if (image) {
        add_pull_command(image, ctx);
        add_push_command(image, ctx);
    }
    auto lo = std::make_shared<LoginOptions>();
    auto* login = app.add_subcommand("login", "Authenticate to a registry");
    login->add_option("-u,--username", lo->user, "Username");
    login->add_option("-p,--password", lo->password, "Password or Personal Access Token (PAT)");
    login->add_flag("--password-stdin", lo->password_stdin, "Take the Password or PAT from stdin");
    login->add_option("server", lo->server, "SERVER");
    login->callback([lo, &ctx] { run_login(ctx, *lo); });

    auto server = std::make_shared<std::string>();
    auto* logout = app.add_subcommand("logout", "Log out from a registry");
    logout->add_option("server", *server, "SERVER");
    logout->callback([server, &ctx] { run_logout(ctx, *server); });

    auto* registry = app.add_subcommand("registry", "Run a registry");
    registry->require_subcommand(1);
    auto* serve = registry->add_subcommand(
        "serve", "Serve the OCI distribution API over a content store (runs berth-registry)");
    // Everything after "serve", --help included, belongs to berth-registry.
    serve->set_help_flag();
    serve->allow_extras();
    serve->prefix_command();
    serve->callback([serve, &ctx] { run_registry_serve(ctx, serve->remaining()); });
}

}  // namespace berth::cli
