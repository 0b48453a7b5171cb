// images / image ls, inspect / image inspect, history, tag, rmi / image rm, image prune.

#include <ctime>
#include <iostream>
#include <map>
#include <memory>

#include "berth/common/strings.hpp"
#include "../commands.hpp"
#include "../format/json_text.hpp"
#include "../format/output.hpp"
#include "../format/reference.hpp"
#include "../format/template.hpp"
#include "../format/units.hpp"

namespace berth::cli {

using json = nlohmann::json;
using api::client::Request;

namespace {

constexpr std::string_view kImagesTable = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
constexpr std::string_view kImagesTableDigests =
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
constexpr std::string_view kHistoryTable =
    "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
constexpr std::string_view kHistoryTableNonHuman =
    "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";

int64_t now_unix() { return static_cast<int64_t>(std::time(nullptr)); }

int64_t int_field(const json& j, const char* key, int64_t dflt = 0) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number()) return dflt;
    return it->get<int64_t>();
}

std::string str_field(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return {};
    return it->get<std::string>();
}

// Adds "key=value" to a filters object ({"key":{"value":true}}, the CLI's encoding).
Result<void> add_filter(json& filters, const std::string& kv) {
    auto eq = kv.find('=');
    if (eq == std::string::npos)
        return make_error(Errc::InvalidArgument, "bad format of filter (expected name=value)");
    std::string key(trim(std::string_view(kv).substr(0, eq)));
    std::string value(trim(std::string_view(kv).substr(eq + 1)));
    filters[key][value] = true;
    return {};
}

Result<json> build_filters(const std::vector<std::string>& specs) {
    json f = json::object();
    for (const auto& s : specs) BERTH_TRY(add_filter(f, s));
    return f;
}

// -------------------------------------------------------------------------------------------
// images

struct ImagesOptions {
    bool all = false, quiet = false, no_trunc = false, digests = false;
    std::vector<std::string> filters;
    std::string format;
    std::string reference;
};

void run_images(Context& ctx, const ImagesOptions& o) {
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    auto filters = build_filters(o.filters);
    if (!filters) return fail(ctx, filters.error());
    if (!o.reference.empty()) (*filters)["reference"][o.reference] = true;
    Request req;
    req.path = "/images/json";
    if (o.all) req.query.emplace_back("all", "1");
    if (!filters->empty()) req.query.emplace_back("filters", filters->dump());
    auto list = (*client)->call_json(req);
    if (!list) return fail(ctx, list.error());

    std::string format = o.format;
    if (format.empty() || format == "table") {
        if (o.quiet) format = "{{.ID}}";
        else format = std::string(o.digests ? kImagesTableDigests : kImagesTable);
    } else if (format::is_table_format(format) && o.digests &&
               format.find("{{.Digest}}") == std::string::npos) {
        // docker inserts the digest column after the first column of a custom table.
        auto tab = format.find("\\t");
        if (tab != std::string::npos) format.insert(tab, "\\t{{.Digest}}");
    }
    std::vector<json> rows;
    int64_t now = now_unix();
    if (list->is_array())
        for (const auto& img : *list)
            for (auto& r : image_rows(img, o.digests, !o.no_trunc, now)) rows.push_back(std::move(r));
    auto text = format::render_rows(format, rows, image_headers(), "*formatter.imageContext");
    if (!text) return fail(ctx, text.error());
    out(*text);
}

void add_images_command(CLI::App* parent, const std::string& name, Context& ctx, bool alias_list) {
    auto o = std::make_shared<ImagesOptions>();
    auto* c = parent->add_subcommand(name, "List images");
    if (alias_list) c->alias("list");
    c->add_flag("-a,--all", o->all, "Show all images (default hides intermediate images)");
    c->add_flag("--digests", o->digests, "Show digests");
    c->add_option("-f,--filter", o->filters, "Filter output based on conditions provided")->allow_extra_args(false);
    c->add_option("--format", o->format, "Format output using a custom template");
    c->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
    c->add_flag("-q,--quiet", o->quiet, "Only show image IDs");
    c->add_option("reference", o->reference, "REPOSITORY[:TAG]");
    c->callback([o, &ctx] { run_images(ctx, *o); });
}

// -------------------------------------------------------------------------------------------
// inspect

struct InspectOptions {
    std::string format;
    std::vector<std::string> names;
    std::string type;
    bool size = false;
};

void run_inspect(Context& ctx, const InspectOptions& o, bool generic) {
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    if (generic && !o.type.empty() && o.type != "image" && o.type != "container") {
        return fail(ctx, Error{Errc::Unsupported, 0,
                               fmt::format("\"{}\" is not a valid value for --type", o.type)});
    }
    std::vector<std::string> raws, errors;
    std::string formatted;
    std::optional<format::Template> tmpl;
    if (!o.format.empty() && o.format != "json") {
        auto t = format::Template::parse(o.format);
        if (!t) return fail(ctx, std::move(t.error()).wrap("template parsing error"));
        tmpl = std::move(*t);
    }
    for (const auto& name : o.names) {
        // docker inspect: a container first, then an image (unless --type says which).
        Result<api::client::Response> r = Unexpected(Error{Errc::NotFound, 0, ""});
        if (generic && o.type != "image") {
            Request creq;
            creq.path = "/containers/" + name + "/json";
            if (o.size) creq.query.emplace_back("size", "1");
            r = (*client)->call(creq);
        }
        if (!r && r.error().code == Errc::NotFound && (!generic || o.type != "container")) {
            Request req;
            req.path = "/images/" + name + "/json";
            r = (*client)->call(req);
        }
        if (!r) {
            if (generic && o.type == "container" && r.error().code == Errc::NotFound)
                errors.push_back("Error: No such container: " + name);
            else if (generic && r.error().code == Errc::NotFound)
                errors.push_back("Error: No such object: " + name);
            else
                errors.push_back(r.error().what());
            continue;
        }
        if (tmpl) {
            json value;
            try {
                value = json::parse(r->body);
            } catch (const json::exception& e) {
                return fail(ctx, Error{Errc::InvalidArgument, 0, fmt::format("decode the image {}: {}", name, e.what())});
            }
            // Like docker's raw fallback: missingkey=error on the object's own fields.
            std::string one;
            auto ok = tmpl->execute(value, one, true, "");
            if (!ok) {
                // docker's TemplateInspector still flushes what earlier objects gave, or an
                // empty line; the failed one's partial output is dropped.
                out(formatted.empty() ? "\n" : formatted);
                return fail(ctx, std::move(ok.error()).wrap("template parsing error"));
            }
            formatted += one + "\n";
        } else {
            raws.push_back(r->body);
        }
    }
    if (o.format.empty() || o.format == "json") {
        std::string joined = "[";
        for (size_t i = 0; i < raws.size(); ++i) {
            if (i) joined += ",";
            joined += raws[i];
        }
        joined += "]";
        out((o.format.empty() ? format::json_indent(joined) : format::json_compact(joined)) + "\n");
    } else {
        out(formatted.empty() ? "\n" : formatted);
    }
    if (!errors.empty()) {
        std::fflush(stdout);
        for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
        ctx.status = 1;
    }
}

void add_inspect_command(CLI::App* parent, const std::string& name, Context& ctx, bool generic) {
    auto o = std::make_shared<InspectOptions>();
    auto* c = parent->add_subcommand(name, generic ? "Return low-level information on Docker objects"
                                                   : "Display detailed information on one or more images");
    c->add_option("-f,--format", o->format, "Format output using a custom template");
    if (generic) {
        c->add_option("--type", o->type, "Only inspect objects of the given type");
        c->add_flag("-s,--size", o->size, "Display total file sizes if the type is container");
    }
    c->add_option("names", o->names, "IMAGE")->required();
    c->callback([o, &ctx, generic] { run_inspect(ctx, *o, generic); });
}

// -------------------------------------------------------------------------------------------
// history

struct HistoryOptions {
    std::string image, format;
    bool human = true, no_trunc = false, quiet = false;
};

void run_history(Context& ctx, const HistoryOptions& o) {
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    Request req;
    req.path = "/images/" + o.image + "/history";
    auto list = (*client)->call_json(req);
    if (!list) return fail(ctx, list.error());
    std::string format = o.format;
    if (format.empty() || format == "table") {
        if (o.quiet) format = "{{.ID}}";
        else format = std::string(o.human ? kHistoryTable : kHistoryTableNonHuman);
    }
    int64_t now = now_unix();
    std::vector<json> rows;
    for (const auto& h : *list) {
        json row;
        std::string id = str_field(h, "Id");
        row["ID"] = o.no_trunc ? id : format::truncate_id(id);
        int64_t created = int_field(h, "Created");
        char buf[64];
        time_t t = static_cast<time_t>(created);
        struct tm tm {};
        localtime_r(&t, &tm);
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm);
        std::string rfc = buf;
        // RFC 3339 wants "+01:00" or "Z", strftime gives "+0100".
        if (rfc.size() >= 5) {
            std::string off = rfc.substr(rfc.size() - 5);
            rfc = rfc.substr(0, rfc.size() - 5) + (off == "+0000" ? "Z" : off.substr(0, 3) + ":" + off.substr(3));
        }
        row["CreatedAt"] = rfc;
        row["CreatedSince"] = o.human ? format::human_duration((now - created) * 1000000000LL) + " ago" : rfc;
        std::string by = str_field(h, "CreatedBy");
        for (char& ch : by)
            if (ch == '\t') ch = ' ';
        row["CreatedBy"] = o.no_trunc ? by : format::ellipsis(by, 45);
        int64_t size = int_field(h, "Size");
        row["Size"] = o.human ? format::human_size(static_cast<double>(size)) : std::to_string(size);
        row["Comment"] = str_field(h, "Comment");
        rows.push_back(std::move(row));
    }
    static const json headers = {{"ID", "IMAGE"},         {"CreatedSince", "CREATED"},
                                 {"CreatedAt", "CREATED AT"}, {"CreatedBy", "CREATED BY"},
                                 {"Size", "SIZE"},         {"Comment", "COMMENT"}};
    auto text = format::render_rows(format, rows, headers, "*image.historyContext");
    if (!text) return fail(ctx, text.error());
    out(*text);
}

void add_history_command(CLI::App* parent, Context& ctx) {
    auto o = std::make_shared<HistoryOptions>();
    auto* c = parent->add_subcommand("history", "Show the history of an image");
    c->add_option("--format", o->format, "Format output using a custom template");
    // A flag that also takes "--human=false", as docker's bool flags do.
    c->add_flag("-H,--human", o->human, "Print sizes and dates in human readable format (default true)");
    c->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
    c->add_flag("-q,--quiet", o->quiet, "Only show image IDs");
    c->add_option("image", o->image, "IMAGE")->required();
    c->callback([o, &ctx] { run_history(ctx, *o); });
}

// -------------------------------------------------------------------------------------------
// tag

void run_tag(Context& ctx, const std::string& source, const std::string& target) {
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    if (source.empty())
        return fail(ctx, Error{Errc::InvalidArgument, 0,
                               fmt::format("Error parsing reference: \"{}\" is not a valid repository/tag: invalid reference format", source)});
    auto ref = format::parse_normalized_named(target);
    if (!ref)
        return fail(ctx, std::move(ref.error())
                             .wrap("Error parsing reference: \"{}\" is not a valid repository/tag", target));
    if (!ref->digest.empty())
        return fail(ctx, Error{Errc::InvalidArgument, 0, "refusing to create a tag with a digest reference"});
    Request req;
    req.method = "POST";
    req.path = "/images/" + source + "/tag";
    req.query = {{"repo", ref->name}, {"tag", ref->tag.empty() ? "latest" : ref->tag}};
    auto r = (*client)->call(req);
    if (!r) return fail(ctx, r.error());
}

void add_tag_command(CLI::App* parent, Context& ctx) {
    auto args = std::make_shared<std::vector<std::string>>();
    auto* c = parent->add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
    c->add_option("args", *args, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")->required()->expected(2);
    c->callback([args, &ctx] { run_tag(ctx, (*args)[0], (*args)[1]); });
}

// -------------------------------------------------------------------------------------------
// rmi

struct RmiOptions {
    bool force = false, no_prune = false;
    std::vector<std::string> images;
};

void run_rmi(Context& ctx, const RmiOptions& o) {
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    std::vector<std::string> errors;
    for (const auto& name : o.images) {
        Request req;
        req.method = "DELETE";
        req.path = "/images/" + name;
        if (o.force) req.query.emplace_back("force", "1");
        if (o.no_prune) req.query.emplace_back("noprune", "1");
        auto r = (*client)->call_json(req);
        if (!r) {
            errors.push_back(r.error().what());
            continue;
        }
        std::string text;
        for (const auto& d : *r) {
            std::string deleted = str_field(d, "Deleted");
            if (!deleted.empty()) text += "Deleted: " + deleted + "\n";
            else text += "Untagged: " + str_field(d, "Untagged") + "\n";
        }
        out(text);
    }
    if (!errors.empty()) {
        std::fflush(stdout);
        std::string all;
        for (size_t i = 0; i < errors.size(); ++i) all += (i ? "\n" : "") + errors[i];
        fail(ctx, Error{Errc::Internal, 0, all});
    }
}

void add_rmi_command(CLI::App* parent, const std::string& name, Context& ctx, bool aliases) {
    auto o = std::make_shared<RmiOptions>();
    auto* c = parent->add_subcommand(name, "Remove one or more images");
    if (aliases) c->alias("remove");
    c->add_flag("-f,--force", o->force, "Force removal of the image");
    c->add_flag("--no-prune", o->no_prune, "Do not delete untagged parents");
    c->add_option("images", o->images, "IMAGE")->required();
    c->callback([o, &ctx] { run_rmi(ctx, *o); });
}

// -------------------------------------------------------------------------------------------
// image prune

struct PruneOptions {
    bool all = false, force = false;
    std::vector<std::string> filters;
};

void run_prune(Context& ctx, const PruneOptions& o) {
    auto filters = build_filters(o.filters);
    if (!filters) return fail(ctx, filters.error());
    (*filters)["dangling"][o.all ? "false" : "true"] = true;
    if (!o.force) {
        std::string warning = o.all ? "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?"
                                    : "WARNING! This will remove all dangling images.\nAre you sure you want to continue?";
        out(warning + " [y/N] ");
        std::fflush(stdout);
        std::string answer;
        std::getline(std::cin, answer);
        std::string_view a = trim(answer);
        if (a != "y" && a != "Y") return;  // docker: cancelled, exit 0, nothing more
    }
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    Request req;
    req.method = "POST";
    req.path = "/images/prune";
    req.query.emplace_back("filters", filters->dump());
    auto report = (*client)->call_json(req);
    if (!report) return fail(ctx, report.error());
    std::string text;
    auto deleted = report->find("ImagesDeleted");
    if (deleted != report->end() && deleted->is_array() && !deleted->empty()) {
        text += "Deleted Images:\n";
        for (const auto& d : *deleted) {
            std::string u = str_field(d, "Untagged");
            if (!u.empty()) text += "untagged: " + u + "\n";
            else text += "deleted: " + str_field(d, "Deleted") + "\n";
        }
        text += "\n";
    }
    text += "Total reclaimed space: " + format::human_size(static_cast<double>(int_field(*report, "SpaceReclaimed")), 4) + "\n";
    out(text);
}

void add_prune_command(CLI::App* parent, Context& ctx) {
    auto o = std::make_shared<PruneOptions>();
    auto* c = parent->add_subcommand("prune", "Remove unused images");
    c->add_flag("-a,--all", o->all, "Remove all unused images, not just dangling ones");
    c->add_option("--filter", o->filters, "Provide filter values (e.g. \"until=<timestamp>\")")->allow_extra_args(false);
    c->add_flag("-f,--force", o->force, "Do not prompt for confirmation");
    c->callback([o, &ctx] { run_prune(ctx, *o); });
}

}  // namespace

const json& image_headers() {
    static const json h = {{"ID", "IMAGE ID"},         {"Repository", "REPOSITORY"},
                           {"Tag", "TAG"},             {"Digest", "DIGEST"},
                           {"CreatedSince", "CREATED"}, {"CreatedAt", "CREATED AT"},
                           {"Size", "SIZE"},           {"Containers", "CONTAINERS"},
                           {"VirtualSize", "VIRTUAL SIZE"}, {"SharedSize", "SHARED SIZE"},
                           {"UniqueSize", "UNIQUE SIZE"}};
    return h;
}

std::vector<json> image_rows(const json& img, bool digests, bool trunc, int64_t now) {
    std::vector<std::string> tags, dgsts;
    if (auto it = img.find("RepoTags"); it != img.end() && it->is_array())
        for (const auto& t : *it)
            if (t.is_string()) tags.push_back(t.get<std::string>());
    if (auto it = img.find("RepoDigests"); it != img.end() && it->is_array())
        for (const auto& t : *it)
            if (t.is_string()) dgsts.push_back(t.get<std::string>());

    std::string id = str_field(img, "Id");
    int64_t created = int_field(img, "Created");
    int64_t size = int_field(img, "Size");
    int64_t shared = int_field(img, "SharedSize", -1);
    int64_t containers = int_field(img, "Containers", -1);
    json base;
    base["ID"] = trunc ? format::truncate_id(id) : id;
    base["CreatedSince"] = format::created_since(created, now);
    base["CreatedAt"] = format::go_time_string(created);
    base["Size"] = format::human_size(static_cast<double>(size));
    base["VirtualSize"] = format::human_size(static_cast<double>(size), 4);
    base["SharedSize"] = shared == -1 ? std::string("N/A") : format::human_size(static_cast<double>(shared), 4);
    base["UniqueSize"] = (size == -1 || shared == -1) ? std::string("N/A")
                                                      : format::human_size(static_cast<double>(size - shared), 4);
    base["Containers"] = containers == -1 ? std::string("N/A") : std::to_string(containers);

    std::vector<json> rows;
    auto add = [&](const std::string& repo, const std::string& tag, const std::string& digest) {
        json r = base;
        r["Repository"] = repo;
        r["Tag"] = tag;
        r["Digest"] = digest;
        rows.push_back(std::move(r));
    };
    bool dangling = (tags.empty() && dgsts.empty()) ||
                    (tags.size() == 1 && tags[0] == "<none>:<none>" && dgsts.size() == 1 &&
                     dgsts[0] == "<none>@<none>");
    if (dangling) {
        add("<none>", "<none>", "<none>");
        return rows;
    }
    // Group tags and digests by familiar repository name, in the order they first appear.
    std::vector<std::string> order, digest_order;
    std::map<std::string, std::vector<std::string>> repo_tags, repo_digests;
    for (const auto& t : tags) {
        auto ref = format::parse_normalized_named(t);
        if (!ref || ref->tag.empty()) continue;
        std::string name = ref->familiar_name();
        if (!repo_tags.count(name)) order.push_back(name);
        repo_tags[name].push_back(ref->tag);
    }
    for (const auto& d : dgsts) {
        auto ref = format::parse_normalized_named(d);
        if (!ref || ref->digest.empty()) continue;
        std::string name = ref->familiar_name();
        if (!repo_digests.count(name)) digest_order.push_back(name);
        repo_digests[name].push_back(ref->digest);
    }
    for (const auto& repo : order) {
        std::vector<std::string> ds;
        if (auto it = repo_digests.find(repo); it != repo_digests.end()) {
            ds = it->second;
            repo_digests.erase(it);
        }
        if (!digests) ds.clear();
        for (const auto& tag : repo_tags[repo]) {
            if (ds.empty()) {
                add(repo, tag, "<none>");
                continue;
            }
            for (const auto& d : ds) add(repo, tag, d);
        }
    }
    for (const auto& repo : digest_order) {
        auto it = repo_digests.find(repo);
        if (it == repo_digests.end()) continue;
        if (digests) {
            for (const auto& d : it->second) add(repo, "<none>", d);
        } else {
            add(repo, "<none>", "");
        }
    }
    return rows;
}

void register_images(CLI::App& app, CLI::App* image, Context& ctx) {
    add_images_command(&app, "images", ctx, false);
    add_inspect_command(&app, "inspect", ctx, true);
    add_history_command(&app, ctx);
    add_tag_command(&app, ctx);
    add_rmi_command(&app, "rmi", ctx, false);
    if (image) {
        add_images_command(image, "ls", ctx, true);
        add_inspect_command(image, "inspect", ctx, false);
        add_history_command(image, ctx);
        add_tag_command(image, ctx);
        add_rmi_command(image, "rm", ctx, true);
        add_prune_command(image, ctx);
    }
}

}  // namespace berth::cli
