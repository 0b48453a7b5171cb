// run, create, start, attach, exec: the verbs that create containers or attach to them
// (docker/cli run.go, create.go, start.go, attach.go, exec.go, hijack.go, tty.go, signals.go).

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "../commands.hpp"
#include "../credentials.hpp"
#include "../format/reference.hpp"
#include "../jsonmessage.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/strings.hpp"
#include "run_flags.hpp"
#include "streams.hpp"

namespace berth::cli {

using json = nlohmann::json;
using api::client::Client;
using api::client::Request;

namespace {

void print_err(std::string_view s) {
    std::fflush(stdout);
    std::fwrite(s.data(), 1, s.size(), stderr);
}

// docker 28's reportError: "docker: <message>", then a pointer to the command's help.
void report_error(std::string_view verb, const std::string& msg, bool with_help) {
    std::string text = "berth: " + msg + "\n";
    if (with_help) text += fmt::format("\nRun 'berth {} --help' for more information\n", verb);
    print_err(text);
}

// A flag error as cobra prints it: the message, the usage line, the help pointer.
void report_flag_error(std::string_view verb, std::string_view usage, const std::string& msg) {
    print_err(
        fmt::format("{}\n\nUsage:  berth {} {}\n\nRun 'berth {} --help' for more information\n",
                    msg, verb, usage, verb));
}

// Reports a create body that could not be built: flag value errors as cobra does, the rest
// as reportError.
void report_build_error(std::string_view verb, const Error& e) {
    if (e.msg.rfind("invalid argument ", 0) == 0)
        report_flag_error(verb, "[OPTIONS] IMAGE [COMMAND] [ARG...]", e.msg);
    else
        report_error(verb, e.msg, true);
}

// runStartContainerErr: 127 for a missing executable, 126 for one that can't be run, 125
// for other daemon failures.
int start_error_code(const Error& e) {
    std::string m = e.what();
    if (m.rfind("Error response from daemon: ", 0) == 0) m = m.substr(28);
    if (m.find("executable file not found") != std::string::npos ||
        m.find("no such file or directory") != std::string::npos ||
        m.find("system cannot find the file specified") != std::string::npos)
        return 127;
    if (m.find("permission denied") != std::string::npos ||
        m.find("is a directory") != std::string::npos)
        return 126;
    return 125;
}

// POST /images/create for `image` with the credentials of its registry, progress printed on
// stderr as docker's pullImage does (nothing when quiet, but errors still fail).
Result<void> pull_image(Client& c, const std::string& image, const std::string& platform,
                        bool quiet) {
    auto ref = BERTH_TRY(format::parse_normalized_named(image));
    Request req;
    req.method = "POST";
    req.path = "/images/create";
    req.query.emplace_back("fromImage", ref.name);
    if (!ref.digest.empty())
        req.query.emplace_back("tag", ref.digest);
    else
        req.query.emplace_back("tag", ref.tag.empty() ? "latest" : ref.tag);
    if (!platform.empty()) req.query.emplace_back("platform", platform);
    req.headers.emplace_back("X-Registry-Auth", registry_auth_for_image(image));
    std::fflush(stdout);
    auto printer = quiet ? JsonMessagePrinter([](std::string_view) {}, false, 200)
                         : JsonMessagePrinter::for_fd(2);
    return c.call_json_lines(req, [&](const json& m) { return printer.show(m); });
}

// createContainer: create, on 404 pull and create again; writes --cidfile; prints warnings.
Result<std::string> create_container(Client& c, const ContainerOptions& o, const CreateRequest& cr,
                                     const std::string& image) {
    UniqueFd cid;
    if (!o.cidfile.empty()) {
        if (path_exists(o.cidfile))
            return make_error(
                Errc::AlreadyExists,
                "container ID file found, make sure the other container isn't running or delete {}",
                o.cidfile);
        cid.reset(::open(o.cidfile.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
        if (!cid) return BERTH_SYS_ERROR("failed to create the container ID file");
    }
    if (o.pull != "always" && o.pull != "missing" && o.pull != "never")
        return make_error(
            Errc::InvalidArgument,
            "invalid pull option: '{}': must be one of \"always\", \"missing\" or \"never\"",
            o.pull);
    if (o.pull == "always") BERTH_TRY(pull_image(c, image, o.platform, o.quiet));
    Request req;
    req.method = "POST";
    req.path = "/containers/create";
    if (!cr.name.empty()) req.query.emplace_back("name", cr.name);
    if (!cr.platform.empty()) req.query.emplace_back("platform", cr.platform);
    req.body = cr.body.dump();
    req.content_type = "application/json";
    auto r = c.call_json(req);
    if (!r && r.error().code == Errc::NotFound && o.pull == "missing") {
        auto ref = format::parse_normalized_named(image);
        std::string shown = image;
        if (ref) {
            shown = ref->familiar_name();
            if (!ref->digest.empty())
                shown += "@" + ref->digest;
            else
                shown += ":" + (ref->tag.empty() ? std::string("latest") : ref->tag);
        }
        print_err(fmt::format("Unable to find image '{}' locally\n", shown));
        BERTH_TRY(pull_image(c, image, o.platform, o.quiet));
        r = c.call_json(req);
    }
    if (!r) {
        if (cid) ::unlink(o.cidfile.c_str());
        return Unexpected(r.error());
    }
    std::string id = r->value("Id", std::string());
    if (auto w = r->find("Warnings"); w != r->end() && w->is_array())
        for (const auto& s : *w)
            if (s.is_string()) print_err("WARNING: " + s.get<std::string>() + "\n");
    if (cid) BERTH_TRY(write_all(cid.get(), id, o.cidfile));
    return id;
}

Result<void> resize(Client& c, const std::string& path_prefix, unsigned rows, unsigned cols) {
    Request req;
    req.method = "POST";
    req.path = path_prefix + "/resize";
    req.query = {{"h", std::to_string(rows)}, {"w", std::to_string(cols)}};
    return c.call(req).map([](auto&&) {});
}

// initTtySize: resize once, retrying up to 10 times while the process is not ready.
void init_tty_size(Client& c, const std::string& path_prefix) {
    auto [rows, cols] = terminal_size(1);
    if (rows == 0 && cols == 0) return;
    auto r = resize(c, path_prefix, rows, cols);
    for (int retry = 0; !r && retry < 10; ++retry) {
        std::this_thread::sleep_for(std::chrono::milliseconds((retry + 1) * 10));
        r = resize(c, path_prefix, rows, cols);
    }
    if (!r) print_err("failed to resize tty, using default size\n");
}

// Reads a wait answer: the StatusCode, or the error the daemon put in it.
Result<int> wait_status(api::client::OpenResponse& wait) {
    std::string body = BERTH_TRY(wait.read_all());
    try {
        auto j = json::parse(body);
        if (auto e = j.find("Error"); e != j.end() && e->is_object()) {
            std::string msg = e->value("Message", std::string());
            if (!msg.empty()) return make_error(Errc::Internal, "{}", msg);
        }
        return static_cast<int>(j.value("StatusCode", int64_t{0}));
    } catch (const json::exception& e) {
        return make_error(Errc::InvalidArgument, "decode the wait answer: {}", e.what());
    }
}

struct AttachPlan {
    bool in = false, out = true, err = true, tty = false;
    std::string detach_keys;  // as typed ("" = default)
    bool sig_proxy = true;
};

// The attach request of a container (before start in run and start -a).
Request attach_request(const std::string& id, const AttachPlan& p) {
    Request req;
    req.method = "POST";
    req.path = "/containers/" + id + "/attach";
    req.query.emplace_back("stream", "1");
    if (p.in) req.query.emplace_back("stdin", "1");
    if (p.out) req.query.emplace_back("stdout", "1");
    if (p.err) req.query.emplace_back("stderr", "1");
    if (!p.detach_keys.empty()) req.query.emplace_back("detachKeys", p.detach_keys);
    return req;
}

// The hijacked attach of a container.
Result<std::unique_ptr<api::client::HijackedConnection>> attach_container(Client& c,
                                                                          const std::string& id,
                                                                          const AttachPlan& p) {
    return c.hijack(attach_request(id, p));
}

// hijackedIOStreamer.stream with the terminal set up and signals proxied to `id`.
Result<StreamEnd> stream_attached(Client& c, api::client::HijackedConnection& conn,
                                  const std::string& id, const AttachPlan& p,
                                  const std::string& resize_prefix) {
    PumpOptions po;
    po.stdin_fd = p.in ? 0 : -1;
    po.stdout = p.out;
    po.stderr = p.err;
    po.tty = p.tty;
    if (!p.detach_keys.empty()) {
        auto keys = parse_detach_keys(p.detach_keys);
        // hijack.go: an invalid sequence falls back to the default one.
        if (keys) po.detach_keys = *keys;
    }
    if (p.sig_proxy && !id.empty()) {
        po.proxy_signals = proxied_signals();
        po.on_signal = [&c, id](int signo) {
            Request req;
            req.method = "POST";
            req.path = "/containers/" + id + "/kill";
            req.query.emplace_back("signal", signal_name(signo));
            (void)c.call(req);
        };
    }
    if (p.tty && stdout_is_terminal()) {
        po.on_resize = [&c, resize_prefix] {
            auto [rows, cols] = terminal_size(1);
            (void)resize(c, resize_prefix, rows, cols);
        };
    }
    RawTerminal raw;
    if (p.in && p.tty && stdin_is_terminal()) {
        BERTH_TRY(raw.make_raw(0));
        if (po.proxy_signals.empty()) {
            // Signals that would end us must not leave the terminal raw: restore it, then
            // die of the signal as we would have.
            po.proxy_signals = {SIGTERM, SIGHUP, SIGQUIT, SIGINT};
            po.on_signal = [&raw](int signo) {
                raw.restore();
                ::signal(signo, SIG_DFL);
                sigset_t set;
                sigemptyset(&set);
                sigaddset(&set, signo);
                ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
                ::raise(signo);
            };
        }
    }
    auto r = pump_hijacked(conn, po);
    raw.restore();
    return r;
}

// -------------------------------------------------------------------------------------------
// run / create

struct RunArgs {
    ContainerOptions o;
    std::vector<std::string> rest;  // IMAGE [COMMAND] [ARG...]
};

// Checks what CLI11 left (IMAGE [COMMAND] [ARG...]): the first word must be the image, not an
// unknown flag. Prints docker's message and returns the exit code, or 0 when fine.
int check_rest(const std::vector<std::string>& rest, std::string_view verb) {
    if (rest.empty()) {
        print_err(fmt::format(
            "berth: 'berth {0}' requires at least 1 argument\n\nUsage:  berth {0} [OPTIONS] IMAGE "
            "[COMMAND] [ARG...]\n\nSee 'berth {0} --help' for more information\n",
            verb));
        return 1;
    }
    if (rest[0].size() > 1 && rest[0][0] == '-') {
        report_flag_error(verb, "[OPTIONS] IMAGE [COMMAND] [ARG...]", "unknown flag: " + rest[0]);
        return 125;
    }
    return 0;
}

void run_create(Context& ctx, RunArgs& a) {
    if (int code = check_rest(a.rest, "create")) {
        ctx.status = code;
        return;
    }
    std::string image = a.rest[0];
    std::vector<std::string> args(a.rest.begin() + 1, a.rest.end());
    auto [rows, cols] =
        (a.o.tty && stdout_is_terminal()) ? terminal_size(1) : std::pair<unsigned, unsigned>{0, 0};
    auto cr = build_create_request(a.o, image, args, rows, cols);
    if (!cr) {
        report_build_error("create", cr.error());
        ctx.status = 125;
        return;
    }
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    auto id = create_container(**client, a.o, *cr, image);
    if (!id) return fail(ctx, id.error());
    out(*id + "\n");
}

void run_run(Context& ctx, RunArgs& a) {
    if (int code = check_rest(a.rest, "run")) {
        ctx.status = code;
        return;
    }
    if (a.o.detach && !a.o.attach.empty()) {
        print_err("conflicting options: cannot specify both --attach and --detach\n");
        ctx.status = 1;
        return;
    }
    ContainerOptions& o = a.o;
    std::string image = a.rest[0];
    std::vector<std::string> args(a.rest.begin() + 1, a.rest.end());
    auto [rows, cols] =
        (o.tty && stdout_is_terminal()) ? terminal_size(1) : std::pair<unsigned, unsigned>{0, 0};
    auto cr = build_create_request(o, image, args, rows, cols);
    if (!cr) {
        report_build_error("run", cr.error());
        ctx.status = 125;
        return;
    }
    const auto& body = cr->body;
    AttachPlan plan;
    plan.in = body["AttachStdin"].get<bool>();
    plan.out = body["AttachStdout"].get<bool>();
    plan.err = body["AttachStderr"].get<bool>();
    plan.tty = o.tty;
    plan.detach_keys = o.detach_keys;
    plan.sig_proxy = o.sig_proxy;
    if (!o.detach && plan.in && o.tty && !stdin_is_terminal()) {
        print_err("the input device is not a TTY\n");
        ctx.status = 1;
        return;
    }
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    Client& c = **client;
    auto created = create_container(c, o, *cr, image);
    if (!created) {
        report_error("run", created.error().what(), true);
        ctx.status = start_error_code(created.error());
        return;
    }
    std::string id = *created;
    bool attach = plan.in || plan.out || plan.err;
    if (!plan.out && !plan.err) {
        out(id + "\n");
        std::fflush(stdout);
    }
    std::unique_ptr<api::client::HijackedConnection> conn;
    Request wreq;
    wreq.method = "POST";
    wreq.path = "/containers/" + id + "/wait";
    wreq.query.emplace_back("condition", o.rm ? "removed" : "next-exit");
    Result<std::unique_ptr<api::client::OpenResponse>> wait = nullptr;
    // The attach and the wait both before the start, sent together (docker's CLI too sends the
    // wait while the attach is being set up); one at a time if that fails, for the error.
    bool together = false;
    if (attach) {
        if (auto both = c.hijack_and_open(attach_request(id, plan), wreq)) {
            conn = std::move(both->hijacked);
            wait = std::move(both->opened);
            together = true;
        }
    }
    if (!together) {
        if (attach) {
            auto h = attach_container(c, id, plan);
            if (!h) return fail(ctx, h.error());
            conn = std::move(*h);
        }
        wait = c.open(wreq);
    }

    Request sreq;
    sreq.method = "POST";
    sreq.path = "/containers/" + id + "/start";
    if (auto s = c.call(sreq); !s) {
        if (conn) conn->close();
        report_error("run", s.error().what(), false);
        if (o.rm && wait) (void)(*wait)->read_all();
        ctx.status = start_error_code(s.error());
        return;
    }
    if (attach && o.tty && stdout_is_terminal()) init_tty_size(c, "/containers/" + id);
    c.close_idle();  // the container may run for long: don't hold a daemon thread meanwhile
    if (conn) {
        auto end = stream_attached(c, *conn, id, plan, "/containers/" + id);
        if (!end) return fail(ctx, end.error());
        if (*end == StreamEnd::Detached) return;
    }
    if (!plan.out && !plan.err) return;
    if (!wait) {
        print_err(fmt::format("Error waiting for container: {}\n", wait.error().what()));
        ctx.status = 125;
        return;
    }
    auto status = wait_status(**wait);
    if (!status) {
        print_err(fmt::format("Error waiting for container: {}\n", status.error().what()));
        ctx.status = 125;
        return;
    }
    ctx.status = *status;
}

void add_run_like(CLI::App* parent, const std::string& name, Context& ctx, bool run) {
    auto a = std::make_shared<RunArgs>();
    auto* c = parent->add_subcommand(
        name, run ? "Create and run a new container from an image" : "Create a new container");
    add_container_flags(c, a->o, run);
    // docker's SetInterspersed(false): everything from the image on is the command.
    c->prefix_command();
    c->callback([a, c, &ctx, run] {
        a->rest = c->remaining();
        if (run)
            run_run(ctx, *a);
        else
            run_create(ctx, *a);
    });
}

// -------------------------------------------------------------------------------------------
// start

struct StartOptions {
    bool attach = false, interactive = false;
    std::string detach_keys;
    std::vector<std::string> containers;
};

void run_start(Context& ctx, const StartOptions& o) {
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    Client& c = **client;
    if (o.attach || o.interactive) {
        if (o.containers.size() > 1)
            return fail(ctx, Error{Errc::InvalidArgument, 0,
                                   "you cannot start and attach multiple containers at once"});
        Request ireq;
        ireq.path = "/containers/" + o.containers[0] + "/json";
        auto info = c.call_json(ireq);
        if (!info) return fail(ctx, info.error());
        const json& cfg = (*info)["Config"];
        std::string id = info->value("Id", o.containers[0]);
        AttachPlan plan;
        plan.tty = cfg.value("Tty", false);
        plan.in = o.interactive && cfg.value("OpenStdin", false);
        plan.detach_keys = o.detach_keys;
        plan.sig_proxy = !plan.tty;
        if (plan.in && plan.tty && !stdin_is_terminal()) {
            print_err("the input device is not a TTY\n");
            ctx.status = 1;
            return;
        }
        auto conn = attach_container(c, id, plan);
        if (!conn) return fail(ctx, conn.error());
        bool auto_remove = (*info)["HostConfig"].value("AutoRemove", false);
        Request wreq;
        wreq.method = "POST";
        wreq.path = "/containers/" + id + "/wait";
        wreq.query.emplace_back("condition", auto_remove ? "removed" : "next-exit");
        auto wait = c.open(wreq);
        Request sreq;
        sreq.method = "POST";
        sreq.path = "/containers/" + id + "/start";
        if (auto s = c.call(sreq); !s) return fail(ctx, s.error());
        if (plan.tty && stdout_is_terminal()) init_tty_size(c, "/containers/" + id);
        c.close_idle();
        auto end = stream_attached(c, **conn, id, plan, "/containers/" + id);
        if (!end) return fail(ctx, end.error());
        if (*end == StreamEnd::Detached) return;
        if (!wait) return fail(ctx, wait.error());
        auto status = wait_status(**wait);
        if (!status) return fail(ctx, status.error());
        ctx.status = *status;
        return;
    }
    std::vector<std::string> failed;
    for (const auto& name : o.containers) {
        Request req;
        req.method = "POST";
        req.path = "/containers/" + name + "/start";
        auto r = c.call(req);
        if (!r) {
            std::fflush(stdout);
            std::fprintf(stderr, "%s\n", r.error().what().c_str());
            failed.push_back(name);
            continue;
        }
        out(name + "\n");
    }
    if (!failed.empty()) {
        std::fflush(stdout);
        std::fprintf(stderr, "Error: failed to start containers: %s\n", join(failed, ", ").c_str());
        ctx.status = 1;
    }
}

void add_start(CLI::App* parent, Context& ctx) {
    auto o = std::make_shared<StartOptions>();
    auto* c = parent->add_subcommand("start", "Start one or more stopped containers");
    c->add_flag("-a,--attach", o->attach, "Attach STDOUT/STDERR and forward signals");
    c->add_option("--detach-keys", o->detach_keys,
                  "Override the key sequence for detaching a container");
    c->add_flag("-i,--interactive", o->interactive, "Attach container's STDIN");
    c->add_option("containers", o->containers, "CONTAINER")->required();
    c->callback([o, &ctx] { run_start(ctx, *o); });
}

// -------------------------------------------------------------------------------------------
// attach

struct AttachOptions {
    bool no_stdin = false, sig_proxy = true;
    std::string detach_keys, container;
};

void run_attach(Context& ctx, const AttachOptions& o) {
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    Client& c = **client;
    Request wreq;
    wreq.method = "POST";
    wreq.path = "/containers/" + o.container + "/wait";
    auto wait = c.open(wreq);
    Request ireq;
    ireq.path = "/containers/" + o.container + "/json";
    auto info = c.call_json(ireq);
    if (!info) return fail(ctx, info.error());
    const json& state = (*info)["State"];
    if (!state.value("Running", false))
        return fail(ctx, Error{Errc::Conflict, 0,
                               "You cannot attach to a stopped container, start it first"});
    if (state.value("Paused", false))
        return fail(ctx, Error{Errc::Conflict, 0,
                               "You cannot attach to a paused container, unpause it first"});
    if (state.value("Restarting", false))
        return fail(ctx,
                    Error{Errc::Conflict, 0,
                          "You cannot attach to a restarting container, wait until it is running"});
    const json& cfg = (*info)["Config"];
    std::string id = info->value("Id", o.container);
    AttachPlan plan;
    plan.tty = cfg.value("Tty", false);
    plan.in = !o.no_stdin && cfg.value("OpenStdin", false);
    plan.detach_keys = o.detach_keys;
    plan.sig_proxy = o.sig_proxy && !plan.tty;
    if (plan.in && plan.tty && !stdin_is_terminal()) {
        print_err("the input device is not a TTY\n");
        ctx.status = 1;
        return;
    }
    auto conn = attach_container(c, id, plan);
    if (!conn) return fail(ctx, conn.error());
    if (plan.tty && stdout_is_terminal()) {
        // attach.go resizes to h+1,w+1 then h,w so that the process redraws.
        auto [rows, cols] = terminal_size(1);
        (void)resize(c, "/containers/" + id, rows + 1, cols + 1);
        (void)resize(c, "/containers/" + id, rows, cols);
    }
    auto end = stream_attached(c, **conn, id, plan, "/containers/" + id);
    if (!end) return fail(ctx, end.error());
    if (*end == StreamEnd::Detached) return;
    if (!wait) return fail(ctx, wait.error());
    auto status = wait_status(**wait);
    if (!status) return fail(ctx, status.error());
    ctx.status = *status;
}

void add_attach(CLI::App* parent, Context& ctx) {
    auto o = std::make_shared<AttachOptions>();
    auto* c = parent->add_subcommand(
        "attach", "Attach local standard input, output, and error streams to a running container");
    c->add_option("--detach-keys", o->detach_keys,
                  "Override the key sequence for detaching a container");
    c->add_flag("--no-stdin", o->no_stdin, "Do not attach STDIN");
    c->add_flag("--sig-proxy{true}", o->sig_proxy, "Proxy all received signals to the process");
    c->add_option("container", o->container, "CONTAINER")->required();
    c->callback([o, &ctx] { run_attach(ctx, *o); });
}

// -------------------------------------------------------------------------------------------
// exec

struct ExecOptions {
    bool detach = false, interactive = false, tty = false, privileged = false;
    std::string detach_keys, user, workdir;
    std::vector<std::string> env, env_file, rest;
};

void run_exec(Context& ctx, ExecOptions& o, const std::vector<std::string>& rest) {
    if (!rest.empty() && rest[0].size() > 1 && rest[0][0] == '-') {
        report_flag_error("exec", "[OPTIONS] CONTAINER COMMAND [ARG...]",
                          "unknown flag: " + rest[0]);
        ctx.status = 125;
        return;
    }
    if (rest.size() < 2) {
        print_err(
            "berth: 'berth exec' requires at least 2 arguments\n\nUsage:  berth exec [OPTIONS] "
            "CONTAINER COMMAND [ARG...]\n\nSee 'berth exec --help' for more information\n");
        ctx.status = 1;
        return;
    }
    const std::string& container = rest[0];
    std::vector<std::string> cmd(rest.begin() + 1, rest.end());
    std::vector<std::string> env;
    for (const auto& f : o.env_file) {
        auto lines = read_kv_file(f, true);
        if (!lines) return fail(ctx, lines.error());
        env.insert(env.end(), lines->begin(), lines->end());
    }
    for (const auto& e : o.env) {
        if (e.find('=') == std::string::npos) {
            const char* v = std::getenv(e.c_str());
            env.push_back(v ? e + "=" + v : e);
        } else {
            env.push_back(e);
        }
    }
    if (!o.detach && o.interactive && o.tty && !stdin_is_terminal()) {
        print_err("the input device is not a TTY\n");
        ctx.status = 1;
        return;
    }
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    Client& c = **client;
    Request ireq;
    ireq.path = "/containers/" + container + "/json";
    if (auto info = c.call_json(ireq); !info) return fail(ctx, info.error());

    auto [rows, cols] =
        (o.tty && stdout_is_terminal()) ? terminal_size(1) : std::pair<unsigned, unsigned>{0, 0};
    nlohmann::ordered_json body;
    body["User"] = o.user;
    body["Privileged"] = o.privileged;
    body["Tty"] = o.tty;
    body["ConsoleSize"] = {rows, cols};
    body["AttachStdin"] = !o.detach && o.interactive;
    body["AttachStdout"] = !o.detach;
    body["AttachStderr"] = !o.detach;
    body["Detach"] = o.detach;
    body["DetachKeys"] = o.detach_keys;
    body["Env"] = env.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(env);
    body["WorkingDir"] = o.workdir;
    body["Cmd"] = cmd;
    Request creq;
    creq.method = "POST";
    creq.path = "/containers/" + container + "/exec";
    creq.body = body.dump();
    creq.content_type = "application/json";
    auto created = c.call_json(creq);
    if (!created) return fail(ctx, created.error());
    std::string exec_id = created->value("Id", std::string());
    if (exec_id.empty()) return fail(ctx, Error{Errc::Internal, 0, "exec ID empty"});

    Request sreq;
    sreq.method = "POST";
    sreq.path = "/exec/" + exec_id + "/start";
    sreq.content_type = "application/json";
    if (o.detach) {
        sreq.body = nlohmann::ordered_json{{"Detach", true}, {"Tty", o.tty}}.dump();
        if (auto r = c.call(sreq); !r) return fail(ctx, r.error());
        return;
    }
    sreq.body =
        nlohmann::ordered_json{{"Detach", false}, {"Tty", o.tty}, {"ConsoleSize", {rows, cols}}}
            .dump();
    auto conn = c.hijack(sreq);
    if (!conn) return fail(ctx, conn.error());
    if (o.tty && stdout_is_terminal()) init_tty_size(c, "/exec/" + exec_id);
    AttachPlan plan;
    plan.in = o.interactive;
    plan.tty = o.tty;
    plan.detach_keys = o.detach_keys;
    plan.sig_proxy = false;  // exec doesn't proxy signals
    auto end = stream_attached(c, **conn, "", plan, "/exec/" + exec_id);
    if (!end) return fail(ctx, end.error());
    if (*end == StreamEnd::Detached) return;
    Request jreq;
    jreq.path = "/exec/" + exec_id + "/json";
    auto inspect = c.call_json(jreq);
    if (!inspect) return fail(ctx, inspect.error());
    auto code = inspect->find("ExitCode");
    if (code != inspect->end() && code->is_number_integer()) ctx.status = code->get<int>();
}

void add_exec(CLI::App* parent, Context& ctx) {
    auto o = std::make_shared<ExecOptions>();
    auto* c = parent->add_subcommand("exec", "Execute a command in a running container");
    c->add_flag("-d,--detach", o->detach, "Detached mode: run command in the background");
    c->add_option("--detach-keys", o->detach_keys,
                  "Override the key sequence for detaching a container");
    c->add_option("-e,--env", o->env, "Set environment variables")->allow_extra_args(false);
    c->add_option("--env-file", o->env_file, "Read in a file of environment variables")
        ->allow_extra_args(false);
    c->add_flag("-i,--interactive", o->interactive, "Keep STDIN open even if not attached");
    c->add_flag("--privileged", o->privileged, "Give extended privileges to the command");
    c->add_flag("-t,--tty", o->tty, "Allocate a pseudo-TTY");
    c->add_option("-u,--user", o->user, "Username or UID (format: \"<name|uid>[:<group|gid>]\")");
    c->add_option("-w,--workdir", o->workdir, "Working directory inside the container");
    c->prefix_command();
    c->callback([o, c, &ctx] { run_exec(ctx, *o, c->remaining()); });
}

}  // namespace

void register_run(CLI::App& app, CLI::App* container, Context& ctx, std::string_view only) {
    // run and create carry docker's hundred-odd container flags each, and CLI11 checks every
    // new flag against those already added: building both took half a millisecond of every
    // `berth run`. A top-level verb builds its own parser only.
    auto want = [&](std::string_view verb) { return container || only.empty() || only == verb; };
    for (CLI::App* parent : {&app, container}) {
        if (!parent) continue;
        if (want("run")) add_run_like(parent, "run", ctx, true);
        if (want("create")) add_run_like(parent, "create", ctx, false);
        if (want("start")) add_start(parent, ctx);
        if (want("attach")) add_attach(parent, ctx);
        if (want("exec")) add_exec(parent, ctx);
    }
}

}  // namespace berth::cli
