// The container verbs that don't attach: stop, restart, kill, rm, ps, wait, top, rename, pause,
// unpause, port, logs, export, diff, update, container prune, events, stats, container inspect
// (docker/cli cli/command/container/*.go and cli/command/system/events.go).

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "../commands.hpp"
#include "../format/json_text.hpp"
#include "../format/output.hpp"
#include "../format/table_writer.hpp"
#include "../format/template.hpp"
#include "../format/units.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/strings.hpp"
#include "berth/common/time.hpp"
#include "container_format.hpp"
#include "run_flags.hpp"
#include "streams.hpp"

namespace berth::cli {

using json = nlohmann::json;
using api::client::Client;
using api::client::Request;

namespace {

int64_t now_unix() {
    return static_cast<int64_t>(std::time(nullptr));
}

void print_err(const std::string& s) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s\n", s.c_str());
}

// --since / --until of logs and events: the API's timestamps, both relative to one "now".
Result<void> add_time_window(Request& req, const std::string& since, const std::string& until) {
    int64_t now = now_unix_nanos();
    for (const auto& [key, value] : {std::pair{"since", &since}, std::pair{"until", &until}}) {
        if (value->empty()) continue;
        req.query.emplace_back(key, BERTH_TRY(api_timestamp(*value, now)));
    }
    return {};
}

Result<json> filters_json(const std::vector<std::string>& specs) {
    json f = json::object();
    for (const auto& kv : specs) {
        auto eq = kv.find('=');
        if (eq == std::string::npos)
            return make_error(Errc::InvalidArgument, "bad format of filter (expected name=value)");
        f[std::string(trim(std::string_view(kv).substr(0, eq)))]
         [std::string(trim(std::string_view(kv).substr(eq + 1)))] = true;
    }
    return f;
}

// One request per container, the name printed on success and errors on stderr (exit 1 if any).
void for_each_container(Context& ctx, const std::vector<std::string>& names,
                        const std::function<Request(const std::string&)>& make) {
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    std::vector<std::string> errors;
    for (const auto& name : names) {
        auto r = (*client)->call(make(name));
        if (!r) {
            errors.push_back(r.error().what());
            continue;
        }
        out(name + "\n");
    }
    if (!errors.empty()) {
        for (const auto& e : errors) print_err(e);
        ctx.status = 1;
    }
}

Request post(const std::string& path, api::client::Query q = {}) {
    Request r;
    r.method = "POST";
    r.path = path;
    r.query = std::move(q);
    return r;
}

// -------------------------------------------------------------------------------------------
// stop / restart / kill / rm / pause / unpause / wait / rename

void add_stop_like(CLI::App* parent, const std::string& verb, Context& ctx) {
    struct O {
        std::string timeout, signal;
        std::vector<std::string> names;
    };
    auto o = std::make_shared<O>();
    auto* c = parent->add_subcommand(verb, verb == "stop" ? "Stop one or more running containers"
                                                          : "Restart one or more containers");
    c->add_option("-s,--signal", o->signal, "Signal to send to the container");
    c->add_option("-t,--timeout", o->timeout, "Seconds to wait before killing the container");
    c->add_option("names", o->names, "CONTAINER")->required();
    c->callback([o, &ctx, verb] {
        if (!o->timeout.empty() && !parse_int(o->timeout))
            return fail(ctx,
                        Error{Errc::InvalidArgument, 0,
                              fmt::format("invalid argument \"{}\" for \"-t, --timeout\" flag: "
                                          "strconv.ParseInt: parsing \"{}\": invalid syntax",
                                          o->timeout, o->timeout)});
        for_each_container(ctx, o->names, [&](const std::string& n) {
            api::client::Query q;
            if (!o->signal.empty()) q.emplace_back("signal", o->signal);
            if (!o->timeout.empty()) q.emplace_back("t", o->timeout);
            return post("/containers/" + n + "/" + verb, q);
        });
    });
}

void add_kill(CLI::App* parent, Context& ctx) {
    struct O {
        std::string signal;
        std::vector<std::string> names;
    };
    auto o = std::make_shared<O>();
    auto* c = parent->add_subcommand("kill", "Kill one or more running containers");
    c->add_option("-s,--signal", o->signal, "Signal to send to the container");
    c->add_option("names", o->names, "CONTAINER")->required();
    c->callback([o, &ctx] {
        for_each_container(ctx, o->names, [&](const std::string& n) {
            api::client::Query q;
            if (!o->signal.empty()) q.emplace_back("signal", o->signal);
            return post("/containers/" + n + "/kill", q);
        });
    });
}

void add_rm(CLI::App* parent, const std::string& name, Context& ctx, bool alias) {
    struct O {
        bool force = false, volumes = false, link = false;
        std::vector<std::string> names;
    };
    auto o = std::make_shared<O>();
    auto* c = parent->add_subcommand(name, "Remove one or more containers");
    if (alias) c->alias("remove");
    c->add_flag("-f,--force", o->force, "Force the removal of a running container (uses SIGKILL)");
    c->add_flag("-l,--link", o->link, "Remove the specified link");
    c->add_flag("-v,--volumes", o->volumes,
                "Remove anonymous volumes associated with the container");
    c->add_option("names", o->names, "CONTAINER")->required();
    c->callback([o, &ctx] {
        for_each_container(ctx, o->names, [&](const std::string& n) {
            Request r;
            r.method = "DELETE";
            r.path = "/containers/" + n;
            if (o->force) r.query.emplace_back("force", "1");
            if (o->link) r.query.emplace_back("link", "1");
            if (o->volumes) r.query.emplace_back("v", "1");
            return r;
        });
    });
}

void add_simple(CLI::App* parent, const std::string& verb, const std::string& help, Context& ctx) {
    auto names = std::make_shared<std::vector<std::string>>();
    auto* c = parent->add_subcommand(verb, help);
    c->add_option("names", *names, "CONTAINER")->required();
    c->callback([names, &ctx, verb] {
        for_each_container(ctx, *names, [&](const std::string& n) {
            return post("/containers/" + n + "/" + verb);
        });
    });
}

void add_wait(CLI::App* parent, Context& ctx) {
    auto names = std::make_shared<std::vector<std::string>>();
    auto* c = parent->add_subcommand(
        "wait", "Block until one or more containers stop, then print their exit codes");
    c->add_option("names", *names, "CONTAINER")->required();
    c->callback([names, &ctx] {
        auto client = ctx.client();
        if (!client) return fail(ctx, client.error());
        std::vector<std::string> errors;
        for (const auto& n : *names) {
            auto r = (*client)->call_json(post("/containers/" + n + "/wait"));
            if (!r) {
                errors.push_back(r.error().what());
                continue;
            }
            out(std::to_string(r->value("StatusCode", int64_t{0})) + "\n");
        }
        if (!errors.empty()) {
            for (const auto& e : errors) print_err(e);
            ctx.status = 1;
        }
    });
}

void add_rename(CLI::App* parent, Context& ctx) {
    auto args = std::make_shared<std::vector<std::string>>();
    auto* c = parent->add_subcommand("rename", "Rename a container");
    c->add_option("args", *args, "CONTAINER NEW_NAME")->required()->expected(2);
    c->callback([args, &ctx] {
        auto client = ctx.client();
        if (!client) return fail(ctx, client.error());
        std::string name(trim((*args)[1]));
        if (name.empty() || (*args)[0].empty())
            return fail(ctx, Error{Errc::InvalidArgument, 0,
                                   "Error: Neither old nor new names may be empty"});
        auto r = (*client)->call(post("/containers/" + (*args)[0] + "/rename", {{"name", name}}));
        if (!r) {
            print_err(r.error().what());
            return fail(ctx, Error{Errc::Internal, 0,
                                   "Error: failed to rename container named " + (*args)[0]});
        }
    });
}

// -------------------------------------------------------------------------------------------
// ps

void add_ps(CLI::App* parent, const std::string& name, Context& ctx, bool aliases) {
    struct O {
        bool all = false, quiet = false, size = false, no_trunc = false, latest = false;
        int last = -1;
        std::vector<std::string> filters;
        std::string format;
    };
    auto o = std::make_shared<O>();
    auto* c = parent->add_subcommand(name, "List containers");
    if (aliases) {
        c->alias("list");
        c->alias("ps");
    }
    c->add_flag("-a,--all", o->all, "Show all containers (default shows just running)");
    c->add_option("-f,--filter", o->filters, "Filter output based on conditions provided")
        ->allow_extra_args(false);
    c->add_option("--format", o->format, "Format output using a custom template");
    c->add_option("-n,--last", o->last, "Show n last created containers (includes all states)");
    c->add_flag("-l,--latest", o->latest,
                "Show the latest created container (includes all states)");
    c->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
    c->add_flag("-q,--quiet", o->quiet, "Only display container IDs");
    c->add_flag("-s,--size", o->size, "Display total file sizes");
    c->callback([o, &ctx] {
        auto client = ctx.client();
        if (!client) return fail(ctx, client.error());
        auto f = filters_json(o->filters);
        if (!f) return fail(ctx, f.error());
        std::string format = o->format;
        if (format.empty() || format == "table") {
            if (o->quiet)
                format = "{{.ID}}";
            else
                format = std::string(o->size ? kPsTableSize : kPsTable);
        }
        // docker asks for sizes when the template shows them.
        bool size = o->size || format.find(".Size") != std::string::npos;
        Request req;
        req.path = "/containers/json";
        int limit = o->latest ? 1 : o->last;
        if (o->all || limit > 0) req.query.emplace_back("all", "1");
        if (limit > 0) req.query.emplace_back("limit", std::to_string(limit));
        if (size) req.query.emplace_back("size", "1");
        if (!f->empty()) req.query.emplace_back("filters", f->dump());
        auto list = (*client)->call_json(req);
        if (!list) return fail(ctx, list.error());
        std::vector<json> rows;
        int64_t now = now_unix();
        if (list->is_array())
            for (const auto& ct : *list) rows.push_back(container_row(ct, !o->no_trunc, now));
        auto text =
            format::render_rows(format, rows, container_headers(), "*formatter.ContainerContext");
        if (!text) return fail(ctx, text.error());
        out(*text);
    });
}

// -------------------------------------------------------------------------------------------
// logs

void add_logs(CLI::App* parent, Context& ctx) {
    struct O {
        bool follow = false, timestamps = false, details = false;
        std::string since, until, tail = "all", container;
    };
    auto o = std::make_shared<O>();
    auto* c = parent->add_subcommand("logs", "Fetch the logs of a container");
    c->add_flag("--details", o->details, "Show extra details provided to logs");
    c->add_flag("-f,--follow", o->follow, "Follow log output");
    c->add_option("--since", o->since,
                  "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. "
                  "\"42m\" for 42 minutes)");
    c->add_option("-n,--tail", o->tail,
                  "Number of lines to show from the end of the logs (default \"all\")");
    c->add_flag("-t,--timestamps", o->timestamps, "Show timestamps");
    c->add_option("--until", o->until,
                  "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. "
                  "\"42m\" for 42 minutes)");
    c->add_option("container", o->container, "CONTAINER")->required();
    c->callback([o, &ctx] {
        auto client = ctx.client();
        if (!client) return fail(ctx, client.error());
        Request ireq;
        ireq.path = "/containers/" + o->container + "/json";
        auto info = (*client)->call_json(ireq);
        if (!info) return fail(ctx, info.error());
        bool tty = (*info)["Config"].value("Tty", false);
        Request req;
        req.path = "/containers/" + o->container + "/logs";
        req.query = {{"stdout", "1"}, {"stderr", "1"}};
        if (auto w = add_time_window(req, o->since, o->until); !w) return fail(ctx, w.error());
        if (o->timestamps) req.query.emplace_back("timestamps", "1");
        if (o->details) req.query.emplace_back("details", "1");
        if (o->follow) req.query.emplace_back("follow", "1");
        req.query.emplace_back("tail", o->tail);
        FrameDemuxer demux;
        auto write = [](int stream, std::string_view d) -> Result<void> {
            return write_all(stream == 2 ? 2 : 1, d, stream == 2 ? "stderr" : "stdout");
        };
        auto r = (*client)->call_stream(req, [&](std::string_view d) -> Result<void> {
            if (tty) return write(1, d);
            return demux.feed(d, write);
        });
        if (!r) return fail(ctx, r.error());
    });
}

// -------------------------------------------------------------------------------------------
// top / port / diff / export

void add_top(CLI::App* parent, Context& ctx) {
    auto* c = parent->add_subcommand("top", "Display the running processes of a container");
    // CONTAINER [ps OPTIONS]: everything after the container goes to ps.
    c->prefix_command();
    c->callback([c, &ctx] {
        auto all = c->remaining();
        if (all.empty()) {
            std::fprintf(stderr,
                         "berth: 'berth top' requires at least 1 argument\n\nUsage:  berth top "
                         "CONTAINER [ps OPTIONS]\n\nSee 'berth top --help' for more information\n");
            ctx.status = 1;
            return;
        }
        auto client = ctx.client();
        if (!client) return fail(ctx, client.error());
        Request req;
        req.path = "/containers/" + all[0] + "/top";
        if (all.size() > 1)
            req.query.emplace_back("ps_args",
                                   join(std::vector<std::string>(all.begin() + 1, all.end()), " "));
        auto r = (*client)->call_json(req);
        if (!r) return fail(ctx, r.error());
        format::TableWriter tw(20, 3);  // top's own tabwriter: minwidth 20
        std::vector<std::string> titles;
        if (r->contains("Titles") && (*r)["Titles"].is_array())
            for (const auto& t : (*r)["Titles"])
                titles.push_back(t.is_string() ? t.get<std::string>() : t.dump());
        tw.write(join(titles, "\t") + "\n");
        if (r->contains("Processes") && (*r)["Processes"].is_array())
            for (const auto& p : (*r)["Processes"]) {
                std::vector<std::string> cells;
                for (const auto& v : p)
                    cells.push_back(v.is_string() ? v.get<std::string>() : v.dump());
                tw.write(join(cells, "\t") + "\n");
            }
        out(tw.flush());
    });
}

void add_port(CLI::App* parent, Context& ctx) {
    auto args = std::make_shared<std::vector<std::string>>();
    auto* c = parent->add_subcommand("port",
                                     "List port mappings or a specific mapping for the container");
    c->add_option("args", *args, "CONTAINER [PRIVATE_PORT[/PROTO]]")->required()->expected(1, 2);
    c->callback([args, &ctx] {
        auto client = ctx.client();
        if (!client) return fail(ctx, client.error());
        Request req;
        req.path = "/containers/" + (*args)[0] + "/json";
        auto info = (*client)->call_json(req);
        if (!info) return fail(ctx, info.error());
        std::string want;
        if (args->size() == 2) {
            want = (*args)[1];
            if (want.find('/') == std::string::npos) want += "/tcp";
        }
        auto text = port_lines((*info)["NetworkSettings"], want);
        if (!text)
            return fail(ctx, Error{Errc::NotFound, 0,
                                   fmt::format("Error: No public port '{}' published for {}",
                                               (*args)[1], (*args)[0])});
        out(*text);
    });
}

void add_diff(CLI::App* parent, Context& ctx) {
    auto name = std::make_shared<std::string>();
    auto* c = parent->add_subcommand(
        "diff", "Inspect changes to files or directories on a container's filesystem");
    c->add_option("container", *name, "CONTAINER")->required();
    c->callback([name, &ctx] {
        auto client = ctx.client();
        if (!client) return fail(ctx, client.error());
        Request req;
        req.path = "/containers/" + *name + "/changes";
        auto r = (*client)->call_json(req);
        if (!r) return fail(ctx, r.error());
        std::string text;
        if (r->is_array())
            for (const auto& ch : *r) {
                int kind = ch.value("Kind", 0);
                text += std::string(kind == 1   ? "A"
                                    : kind == 2 ? "D"
                                                : "C") +
                        " " + ch.value("Path", std::string()) + "\n";
            }
        out(text);
    });
}

void add_export(CLI::App* parent, Context& ctx) {
    struct O {
        std::string output, container;
    };
    auto o = std::make_shared<O>();
    auto* c = parent->add_subcommand("export", "Export a container's filesystem as a tar archive");
    c->add_option("-o,--output", o->output, "Write to a file, instead of STDOUT");
    c->add_option("container", o->container, "CONTAINER")->required();
    c->callback([o, &ctx] {
        if (o->output.empty() && stdout_is_terminal())
            return fail(
                ctx, Error{Errc::InvalidArgument, 0,
                           "cowardly refusing to save to a terminal. Use the -o flag or redirect"});
        auto client = ctx.client();
        if (!client) return fail(ctx, client.error());
        UniqueFd file;
        int fd = 1;
        if (!o->output.empty()) {
            file.reset(::open(o->output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
            if (!file)
                return fail(ctx, Error{Errc::Internal, errno,
                                       fmt::format("failed to export container: open {}: {}",
                                                   o->output, std::strerror(errno))});
            fd = file.get();
        }
        Request req;
        req.path = "/containers/" + o->container + "/export";
        auto r = (*client)->call_to_fd(req, fd);
        if (!r) return fail(ctx, r.error());
    });
}

// -------------------------------------------------------------------------------------------
// update

void add_update(CLI::App* parent, Context& ctx) {
    struct O {
        std::string memory, memory_swap, memory_reservation, cpus, cpuset_cpus, cpuset_mems,
            restart;
        int64_t cpu_shares = 0, cpu_period = 0, cpu_quota = 0, pids_limit = 0, blkio_weight = 0;
        std::vector<std::string> names;
        CLI::App* app = nullptr;
    };
    auto o = std::make_shared<O>();
    auto* c = parent->add_subcommand("update", "Update configuration of one or more containers");
    o->app = c;
    c->add_option("--blkio-weight", o->blkio_weight,
                  "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)");
    c->add_option("--cpu-period", o->cpu_period,
                  "Limit CPU CFS (Completely Fair Scheduler) period");
    c->add_option("--cpu-quota", o->cpu_quota, "Limit CPU CFS (Completely Fair Scheduler) quota");
    c->add_option("-c,--cpu-shares", o->cpu_shares, "CPU shares (relative weight)");
    c->add_option("--cpus", o->cpus, "Number of CPUs");
    c->add_option("--cpuset-cpus", o->cpuset_cpus, "CPUs in which to allow execution (0-3, 0,1)");
    c->add_option("--cpuset-mems", o->cpuset_mems, "MEMs in which to allow execution (0-3, 0,1)");
    c->add_option("-m,--memory", o->memory, "Memory limit");
    c->add_option("--memory-reservation", o->memory_reservation, "Memory soft limit");
    c->add_option("--memory-swap", o->memory_swap,
                  "Swap limit equal to memory plus swap: -1 to enable unlimited swap");
    c->add_option("--pids-limit", o->pids_limit,
                  "Tune container pids limit (set -1 for unlimited)");
    c->add_option("--restart", o->restart, "Restart policy to apply when a container exits");
    c->add_option("names", o->names, "CONTAINER")->required();
    c->callback([o, &ctx] {
        bool any = false;
        for (const char* flag :
             {"--blkio-weight", "--cpu-period", "--cpu-quota", "--cpu-shares", "--cpus",
              "--cpuset-cpus", "--cpuset-mems", "--memory", "--memory-reservation", "--memory-swap",
              "--pids-limit", "--restart"})
            any = any || o->app->count(flag) > 0;
        if (!any)
            return fail(ctx, Error{Errc::InvalidArgument, 0,
                                   "you must provide one or more flags when using this command"});
        auto mem = [&](const std::string& v) -> Result<int64_t> {
            if (v.empty()) return int64_t{0};
            if (v == "-1") return int64_t{-1};
            return ram_in_bytes(v);
        };
        auto memory = mem(o->memory), swap = mem(o->memory_swap), res = mem(o->memory_reservation);
        for (auto* r : {&memory, &swap, &res})
            if (!*r) return fail(ctx, r->error());
        int64_t nano = 0;
        if (!o->cpus.empty())
            nano = static_cast<int64_t>(std::llround(std::strtod(o->cpus.c_str(), nullptr) * 1e9));
        nlohmann::ordered_json body;
        body["BlkioWeight"] = o->blkio_weight;
        body["CpuShares"] = o->cpu_shares;
        body["Memory"] = *memory;
        body["NanoCpus"] = nano;
        body["CpuPeriod"] = o->cpu_period;
        body["CpuQuota"] = o->cpu_quota;
        body["CpusetCpus"] = o->cpuset_cpus;
        body["CpusetMems"] = o->cpuset_mems;
        body["MemoryReservation"] = *res;
        body["MemorySwap"] = *swap;
        if (o->app->count("--pids-limit")) body["PidsLimit"] = o->pids_limit;
        if (!o->restart.empty()) {
            auto colon = o->restart.find(':');
            body["RestartPolicy"] = {
                {"Name", o->restart.substr(0, colon)},
                {"MaximumRetryCount", colon == std::string::npos
                                          ? 0
                                          : parse_int(o->restart.substr(colon + 1)).value_or(0)}};
        }
        auto client = ctx.client();
        if (!client) return fail(ctx, client.error());
        std::vector<std::string> errors;
        for (const auto& n : o->names) {
            Request req = post("/containers/" + n + "/update");
            req.body = body.dump();
            req.content_type = "application/json";
            auto r = (*client)->call_json(req);
            if (!r) {
                errors.push_back(r.error().what());
                continue;
            }
            if (auto w = r->find("Warnings"); w != r->end() && w->is_array())
                for (const auto& s : *w)
                    if (s.is_string()) print_err("WARNING: " + s.get<std::string>());
            out(n + "\n");
        }
        if (!errors.empty()) {
            for (const auto& e : errors) print_err(e);
            ctx.status = 1;
        }
    });
}

// -------------------------------------------------------------------------------------------
// container prune

void add_prune(CLI::App* parent, Context& ctx) {
    struct O {
        bool force = false;
        std::vector<std::string> filters;
    };
    auto o = std::make_shared<O>();
    auto* c = parent->add_subcommand("prune", "Remove all stopped containers");
    c->add_option("--filter", o->filters, "Provide filter values (e.g. \"until=<timestamp>\")")
        ->allow_extra_args(false);
    c->add_flag("-f,--force", o->force, "Do not prompt for confirmation");
    c->callback([o, &ctx] {
        auto f = filters_json(o->filters);
        if (!f) return fail(ctx, f.error());
        if (!o->force) {
            out("WARNING! This will remove all stopped containers.\nAre you sure you want to "
                "continue? [y/N] ");
            std::fflush(stdout);
            std::string answer;
            std::getline(std::cin, answer);
            std::string_view a = trim(answer);
            if (a != "y" && a != "Y") return;
        }
        auto client = ctx.client();
        if (!client) return fail(ctx, client.error());
        Request req = post("/containers/prune");
        if (!f->empty()) req.query.emplace_back("filters", f->dump());
        auto r = (*client)->call_json(req);
        if (!r) return fail(ctx, r.error());
        std::string text;
        if (auto d = r->find("ContainersDeleted"); d != r->end() && d->is_array() && !d->empty()) {
            text += "Deleted Containers:\n";
            for (const auto& id : *d) text += id.get<std::string>() + "\n";
            text += "\n";
        }
        text += "Total reclaimed space: " +
                format::human_size(static_cast<double>(r->value("SpaceReclaimed", int64_t{0})), 4) +
                "\n";
        out(text);
    });
}

// -------------------------------------------------------------------------------------------
// events

void add_events(CLI::App* parent, const std::string& name, Context& ctx) {
    struct O {
        std::string since, until, format;
        std::vector<std::string> filters;
    };
    auto o = std::make_shared<O>();
    auto* c = parent->add_subcommand(name, "Get real time events from the server");
    c->add_option("-f,--filter", o->filters, "Filter output based on conditions provided")
        ->allow_extra_args(false);
    c->add_option("--format", o->format, "Format output using a custom template");
    c->add_option("--since", o->since, "Show all events created since timestamp");
    c->add_option("--until", o->until, "Stream events until this timestamp");
    c->callback([o, &ctx] {
        auto f = filters_json(o->filters);
        if (!f) return fail(ctx, f.error());
        std::optional<format::Template> tmpl;
        bool as_json = o->format == "json" || o->format == "{{json .}}";
        if (!o->format.empty() && !as_json) {
            auto t = format::Template::parse(o->format);
            if (!t) return fail(ctx, std::move(t.error()).wrap("template parsing error"));
            tmpl = std::move(*t);
        }
        auto client = ctx.client();
        if (!client) return fail(ctx, client.error());
        Request req;
        req.path = "/events";
        if (auto w = add_time_window(req, o->since, o->until); !w) return fail(ctx, w.error());
        if (!f->empty()) req.query.emplace_back("filters", f->dump());
        auto r = (*client)->call_json_lines(req, [&](const json& ev) -> Result<void> {
            std::string line;
            if (as_json)
                line = format::go_json(ev) + "\n";
            else if (tmpl) {
                // events.Message's Go field names for the lower-case legacy keys.
                json msg = ev;
                for (auto [go, key] : {std::pair{"Status", "status"},
                                       {"ID", "id"},
                                       {"From", "from"},
                                       {"Scope", "scope"},
                                       {"Time", "time"},
                                       {"TimeNano", "timeNano"}})
                    // Go struct fields: absent ones print as zero values.
                    msg[go] = ev.contains(key) ? ev[key] : (go[0] == 'T' ? json(0) : json(""));
                BERTH_TRY(tmpl->execute(msg, line));
                line += "\n";
            } else
                line = event_line(ev);
            out(line);
            std::fflush(stdout);
            return {};
        });
        if (!r) return fail(ctx, r.error());
    });
}

// -------------------------------------------------------------------------------------------
// stats

void add_stats(CLI::App* parent, Context& ctx) {
    struct O {
        bool all = false, no_stream = false, no_trunc = false;
        std::string format;
        std::vector<std::string> names;
    };
    auto o = std::make_shared<O>();
    auto* c = parent->add_subcommand(
        "stats", "Display a live stream of container(s) resource usage statistics");
    c->add_flag("-a,--all", o->all, "Show all containers (default shows just running)");
    c->add_option("--format", o->format, "Format output using a custom template");
    c->add_flag("--no-stream", o->no_stream,
                "Disable streaming stats and only pull the first result");
    c->add_flag("--no-trunc", o->no_trunc, "Do not truncate output");
    c->add_option("names", o->names, "CONTAINER");
    c->callback([o, &ctx] {
        auto client = ctx.client();
        if (!client) return fail(ctx, client.error());
        std::string format = o->format;
        if (format.empty() || format == "table") format = std::string(kStatsTable);
        std::vector<std::string> names = o->names;
        if (names.empty()) {
            Request lreq;
            lreq.path = "/containers/json";
            if (o->all) lreq.query.emplace_back("all", "1");
            auto list = (*client)->call_json(lreq);
            if (!list) return fail(ctx, list.error());
            for (const auto& ct : *list) names.push_back(ct.value("Id", std::string()));
        }
        std::string shown_as = o->names.empty() ? "" : "name";
        if (o->no_stream) {
            // One document each; the daemon takes the two samples (precpu_stats).
            std::vector<json> rows;
            std::vector<std::string> errors;
            for (const auto& n : names) {
                Request req;
                req.path = "/containers/" + n + "/stats";
                req.query = {{"stream", "0"}};
                auto st = (*client)->call_json(req);
                if (!st) {
                    errors.push_back(st.error().what());
                    continue;
                }
                rows.push_back(stats_row(*st, shown_as.empty() ? "" : n, !o->no_trunc));
            }
            if (!errors.empty()) {
                for (const auto& e : errors) print_err(e);
                ctx.status = 1;
                return;
            }
            auto text =
                format::render_rows(format, rows, stats_headers(), "*formatter.statsContext");
            if (!text) return fail(ctx, text.error());
            out(*text);
            return;
        }
        // Live: a stats stream per container (stream=1, one document a second), each read by
        // its own thread and client; the table is redrawn from the latest documents.
        auto version = (*client)->api_version();
        if (!version) return fail(ctx, version.error());
        struct Shared {
            std::mutex mu;
            std::map<std::string, json> latest;
        };
        auto shared = std::make_shared<Shared>();
        for (const auto& n : names) {
            std::thread([shared, n, host = (*client)->host(), v = *version] {
                Client stream_client(host, v);
                Request req;
                req.path = "/containers/" + n + "/stats";
                req.query = {{"stream", "1"}};
                (void)stream_client.call_json_lines(req, [&](const json& doc) -> Result<void> {
                    std::lock_guard<std::mutex> lk(shared->mu);
                    shared->latest[n] = doc;
                    return {};
                });
            }).detach();
        }
        while (true) {
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            std::vector<json> rows;
            {
                std::lock_guard<std::mutex> lk(shared->mu);
                for (const auto& n : names) {
                    auto it = shared->latest.find(n);
                    json doc = it == shared->latest.end() ? json{{"id", n}} : it->second;
                    rows.push_back(stats_row(doc, shown_as.empty() ? "" : n, !o->no_trunc));
                }
            }
            auto text =
                format::render_rows(format, rows, stats_headers(), "*formatter.statsContext");
            if (!text) return fail(ctx, text.error());
            if (stdout_is_terminal()) out("\033[2J\033[H");
            out(*text);
            std::fflush(stdout);
        }
    });
}

// -------------------------------------------------------------------------------------------
// container inspect

void add_container_inspect(CLI::App* parent, Context& ctx) {
    struct O {
        std::string format;
        bool size = false;
        std::vector<std::string> names;
    };
    auto o = std::make_shared<O>();
    auto* c =
        parent->add_subcommand("inspect", "Display detailed information on one or more containers");
    c->add_option("-f,--format", o->format, "Format output using a custom template");
    c->add_flag("-s,--size", o->size, "Display total file sizes");
    c->add_option("names", o->names, "CONTAINER")->required();
    c->callback([o, &ctx] {
        auto client = ctx.client();
        if (!client) return fail(ctx, client.error());
        std::vector<std::string> raws, errors;
        std::string formatted;
        std::optional<format::Template> tmpl;
        if (!o->format.empty() && o->format != "json") {
            auto t = format::Template::parse(o->format);
            if (!t) return fail(ctx, std::move(t.error()).wrap("template parsing error"));
            tmpl = std::move(*t);
        }
        for (const auto& n : o->names) {
            Request req;
            req.path = "/containers/" + n + "/json";
            if (o->size) req.query.emplace_back("size", "1");
            auto r = (*client)->call(req);
            if (!r) {
                errors.push_back(r.error().what());
                continue;
            }
            if (tmpl) {
                json value;
                try {
                    value = json::parse(r->body);
                } catch (const json::exception& e) {
                    return fail(ctx,
                                Error{Errc::InvalidArgument, 0,
                                      fmt::format("decode the container {}: {}", n, e.what())});
                }
                std::string one;
                auto ok = tmpl->execute(value, one, true, "");
                if (!ok) return fail(ctx, std::move(ok.error()).wrap("template parsing error"));
                formatted += one + "\n";
            } else {
                raws.push_back(r->body);
            }
        }
        if (!tmpl) {
            std::string joined = "[" + join(raws, ",") + "]";
            out((o->format.empty() ? format::json_indent(joined) : format::json_compact(joined)) +
                "\n");
        } else {
            out(formatted.empty() ? "\n" : formatted);
        }
        if (!errors.empty()) {
            for (const auto& e : errors) print_err(e);
            ctx.status = 1;
        }
    });
}

}  // namespace

void register_containers(CLI::App& app, CLI::App* container, Context& ctx) {
    add_ps(&app, "ps", ctx, false);
    add_events(&app, "events", ctx);
    for (CLI::App* parent : {&app, container}) {
        if (!parent) continue;
        add_stop_like(parent, "stop", ctx);
        add_stop_like(parent, "restart", ctx);
        add_kill(parent, ctx);
        add_rm(parent, parent == container ? "rm" : "rm", ctx, parent == container);
        add_simple(parent, "pause", "Pause all processes within one or more containers", ctx);
        add_simple(parent, "unpause", "Unpause all processes within one or more containers", ctx);
        add_wait(parent, ctx);
        add_rename(parent, ctx);
        add_logs(parent, ctx);
        add_top(parent, ctx);
        add_port(parent, ctx);
        add_diff(parent, ctx);
        add_export(parent, ctx);
        add_update(parent, ctx);
        add_stats(parent, ctx);
        add_cp(parent, ctx);
    }
    if (container) {
        add_ps(container, "ls", ctx, true);
        add_prune(container, ctx);
        add_container_inspect(container, ctx);
    }
}

}  // namespace berth::cli
