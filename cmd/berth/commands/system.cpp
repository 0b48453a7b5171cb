// version, info, system df, system check.

#include <ctime>
#include <map>
#include <memory>
#include <set>

#include "berth/common/strings.hpp"
#include "berth/common/time.hpp"
#include "../commands.hpp"
#include "../format/output.hpp"
#include "../format/reference.hpp"
#include "../format/table_writer.hpp"
#include "../format/template.hpp"
#include "../format/units.hpp"

namespace berth::cli {

using json = nlohmann::json;
using api::client::Request;

namespace {

constexpr std::string_view kClientVersion = "0.1.0";

// docker's version template, with the lines Berth has no value for left out.
constexpr std::string_view kVersionTemplate =
    "Client:{{if ne .Client.Platform.Name \"\"}} {{.Client.Platform.Name}}{{end}}\n"
    " Version:\t{{.Client.Version}}\n"
    " API version:\t{{.Client.APIVersion}}{{if ne .Client.APIVersion .Client.DefaultAPIVersion}} (downgraded from {{.Client.DefaultAPIVersion}}){{end}}\n"
    " Git commit:\t{{.Client.GitCommit}}\n"
    " Built:\t{{.Client.BuildTime}}\n"
    " OS/Arch:\t{{.Client.Os}}/{{.Client.Arch}}\n"
    " Context:\t{{.Client.Context}}{{if .ServerOK}}\n\n"
    "Server:{{if ne .Server.Platform.Name \"\"}} {{.Server.Platform.Name}}{{end}}{{range $component := .Server.Components}}\n"
    " {{$component.Name}}:\n"
    "  {{- if eq $component.Name \"Engine\" }}\n"
    "  Version:\t{{.Version}}\n"
    "  API version:\t{{index .Details \"ApiVersion\"}} (minimum version {{index .Details \"MinAPIVersion\"}})\n"
    "  Go version:\t{{index .Details \"GoVersion\"}}\n"
    "  Git commit:\t{{index .Details \"GitCommit\"}}\n"
    "  Built:\t{{index .Details \"BuildTime\"}}\n"
    "  OS/Arch:\t{{index .Details \"Os\"}}/{{index .Details \"Arch\"}}\n"
    "  Experimental:\t{{index .Details \"Experimental\"}}\n"
    "  {{- else }}\n"
    "  Version:\t{{$component.Version}}\n"
    "  {{- range $key, $value := $component.Details}}\n"
    "  {{$key}}:\t{{$value}}\n"
    "   {{- end}}\n"
    "  {{- end}}\n"
    " {{- end}}\n"
    " {{- end}}";

std::string str_field(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end()) return {};
    if (it->is_string()) return it->get<std::string>();
    if (it->is_null()) return {};
    return format::go_print(*it);
}

int64_t int_field(const json& j, const char* key, int64_t dflt = 0) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number()) return dflt;
    return it->get<int64_t>();
}

// docker's reformatDate: an RFC 3339 build time shown as time.ANSIC ("Mon Jan  2 15:04:05 2006").
std::string ansic_date(const std::string& s) {
    auto ns = parse_rfc3339(s);
    if (!ns) return s;
    time_t tt = static_cast<time_t>(*ns / kNanosPerSecond);
    struct tm tm {};
    localtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
    return buf;
}

// -------------------------------------------------------------------------------------------
// version

// This binary's compile time in time.ANSIC, as docker's "Built:" shows it.
std::string build_time() {
    struct tm tm {};
    if (!strptime(__DATE__ " " __TIME__, "%b %d %Y %H:%M:%S", &tm)) return __DATE__ " " __TIME__;
    time_t t = timegm(&tm);  // fills in the weekday
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
    return buf;
}

void run_version(Context& ctx, const std::string& fmt_flag) {
    json client = {{"Platform", {{"Name", ""}}},
                   {"Version", kClientVersion},
                   {"ApiVersion", std::string(api::client::kMaxApiVersion)},
                   {"DefaultAPIVersion", std::string(api::client::kMaxApiVersion)},
                   {"GitCommit", "unknown"},
                   {"GoVersion", ""},
                   {"Os", "linux"},
                   {"Arch", "amd64"},
                   {"BuildTime", build_time()},
                   {"Context", "default"}};
#if defined(__aarch64__)
    client["Arch"] = "arm64";
#endif
    json server;
    Error server_err;
    bool server_ok = false;
    auto c = ctx.client();
    if (!c) return fail(ctx, c.error());
    auto v = (*c)->api_version();
    if (v) {
        client["ApiVersion"] = *v;
        Request req;
        req.path = "/version";
        auto r = (*c)->call_json(req);
        if (r) {
            server = std::move(*r);
            server_ok = true;
        } else {
            server_err = r.error();
        }
    } else {
        server_err = v.error();
    }
    // Templates use Go's field names (APIVersion), JSON uses the tags (ApiVersion): offer both.
    json view = {{"Client", client}, {"Server", server_ok ? server : json()}, {"ServerOK", server_ok}};
    view["Client"]["APIVersion"] = client["ApiVersion"];
    if (server_ok && server.is_object()) {
        view["Server"]["APIVersion"] = server.value("ApiVersion", "");
        if (view["Server"].contains("Components") && view["Server"]["Components"].is_array())
            for (auto& comp : view["Server"]["Components"])
                if (comp.is_object() && comp.contains("Details") && comp["Details"].is_object() &&
                    comp["Details"].contains("BuildTime") && comp["Details"]["BuildTime"].is_string())
                    comp["Details"]["BuildTime"] = ansic_date(comp["Details"]["BuildTime"].get<std::string>());
        if (!view["Server"].contains("Platform")) view["Server"]["Platform"] = {{"Name", ""}};
    }
    if (!fmt_flag.empty()) {
        json j = {{"Client", client}, {"Server", server_ok ? server : json()}};
        auto text = fmt_flag == "json" ? Result<std::string>(format::go_json(j) + "\n")
                                       : format::render_value(fmt_flag, view);
        if (!text) return fail(ctx, text.error());
        out(*text);
    } else {
        auto t = format::Template::parse(kVersionTemplate);
        std::string text;
        if (t) (void)t->execute(view, text);
        format::TableWriter tw(20, 1);
        tw.write(text);
        tw.write("\n");
        out(tw.flush());
    }
    if (!server_ok) fail(ctx, server_err);
}

// -------------------------------------------------------------------------------------------
// info

std::string join_strings(const json& arr, const char* sep = " ") {
    std::string s;
    if (!arr.is_array()) return s;
    for (const auto& e : arr) {
        if (!s.empty()) s += sep;
        s += e.is_string() ? e.get<std::string>() : format::go_print(e);
    }
    return s;
}

std::string print_server_info(const json& i) {
    std::string o;
    auto line = [&](std::string_view k, const std::string& v) { o += fmt::format("{} {}\n", k, v); };
    auto num = [&](const char* key) { return std::to_string(int_field(i, key)); };
    auto boolean = [&](const char* key) {
        auto it = i.find(key);
        return (it != i.end() && it->is_boolean() && it->get<bool>()) ? std::string("true") : std::string("false");
    };
    line(" Containers:", num("Containers"));
    line("  Running:", num("ContainersRunning"));
    line("  Paused:", num("ContainersPaused"));
    line("  Stopped:", num("ContainersStopped"));
    line(" Images:", num("Images"));
    line(" Server Version:", str_field(i, "ServerVersion"));
    line(" Storage Driver:", str_field(i, "Driver"));
    if (auto ds = i.find("DriverStatus"); ds != i.end() && ds->is_array())
        for (const auto& pair : *ds)
            if (pair.is_array() && pair.size() == 2)
                o += fmt::format("  {}: {}\n", format::go_print(pair[0]), format::go_print(pair[1]));
    line(" Logging Driver:", str_field(i, "LoggingDriver"));
    line(" Cgroup Driver:", str_field(i, "CgroupDriver"));
    line(" Cgroup Version:", str_field(i, "CgroupVersion"));
    o += " Plugins:\n";
    json plugins = i.value("Plugins", json::object());
    if (!plugins.is_object()) plugins = json::object();
    line("  Volume:", join_strings(plugins.value("Volume", json::array())));
    line("  Network:", join_strings(plugins.value("Network", json::array())));
    if (auto a = plugins.find("Authorization"); a != plugins.end() && a->is_array() && !a->empty())
        line("  Authorization:", join_strings(*a));
    line("  Log:", join_strings(plugins.value("Log", json::array())));
    std::string swarm = "inactive";
    if (auto s = i.find("Swarm"); s != i.end() && s->is_object()) swarm = str_field(*s, "LocalNodeState");
    line(" Swarm:", swarm);
    if (auto r = i.find("Runtimes"); r != i.end() && r->is_object() && !r->empty()) {
        std::string names;
        for (const auto& [k, v] : r->items()) names += (names.empty() ? "" : " ") + k;
        line(" Runtimes:", names);
        line(" Default Runtime:", str_field(i, "DefaultRuntime"));
    }
    line(" Init Binary:", str_field(i, "InitBinary"));
    auto commit = [&](const char* key) {
        auto it = i.find(key);
        return it != i.end() && it->is_object() ? str_field(*it, "ID") : std::string();
    };
    line(" containerd version:", commit("ContainerdCommit"));
    line(" runc version:", commit("RuncCommit"));
    line(" init version:", commit("InitCommit"));
    if (auto so = i.find("SecurityOptions"); so != i.end() && so->is_array() && !so->empty()) {
        o += " Security Options:\n";
        for (const auto& opt : *so) {
            if (!opt.is_string()) continue;
            std::string name;
            std::vector<std::pair<std::string, std::string>> kv;
            for (const auto& part : split(opt.get<std::string>(), ',')) {
                auto eq = part.find('=');
                std::string k = part.substr(0, eq), v = eq == std::string::npos ? "" : part.substr(eq + 1);
                if (k == "name") name = v;
                else kv.emplace_back(k, v);
            }
            o += "  " + name + "\n";
            for (auto& [k, v] : kv) {
                if (!k.empty()) k[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(k[0])));
                o += fmt::format("   {}: {}\n", k, v);
            }
        }
    }
    line(" Kernel Version:", str_field(i, "KernelVersion"));
    line(" Operating System:", str_field(i, "OperatingSystem"));
    line(" OSType:", str_field(i, "OSType"));
    line(" Architecture:", str_field(i, "Architecture"));
    line(" CPUs:", num("NCPU"));
    line(" Total Memory:", format::bytes_size(static_cast<double>(int_field(i, "MemTotal"))));
    line(" Name:", str_field(i, "Name"));
    line(" ID:", str_field(i, "ID"));
    line(" Docker Root Dir:", str_field(i, "DockerRootDir"));
    line(" Debug Mode:", boolean("Debug"));
    if (boolean("Debug") == "true") {
        line("  File Descriptors:", num("NFd"));
        line("  Goroutines:", num("NGoroutines"));
        line("  System Time:", str_field(i, "SystemTime"));
        line("  EventsListeners:", num("NEventsListener"));
    }
    if (!str_field(i, "HttpProxy").empty()) line(" HTTP Proxy:", str_field(i, "HttpProxy"));
    if (!str_field(i, "HttpsProxy").empty()) line(" HTTPS Proxy:", str_field(i, "HttpsProxy"));
    if (!str_field(i, "NoProxy").empty()) line(" No Proxy:", str_field(i, "NoProxy"));
    if (auto l = i.find("Labels"); l != i.end() && l->is_array() && !l->empty()) {
        o += " Labels:\n";
        for (const auto& e : *l) o += "  " + format::go_print(e) + "\n";
    }
    line(" Experimental:", boolean("ExperimentalBuild"));
    if (auto rc = i.find("RegistryConfig"); rc != i.end() && rc->is_object()) {
        std::vector<std::string> insecure;
        if (auto ic = rc->find("IndexConfigs"); ic != rc->end() && ic->is_object())
            for (const auto& [name, cfg] : ic->items())
                if (cfg.is_object() && !cfg.value("Secure", true) && name != "docker.io") insecure.push_back(name);
        if (auto cidrs = rc->find("InsecureRegistryCIDRs"); cidrs != rc->end() && cidrs->is_array())
            for (const auto& c : *cidrs) insecure.push_back(format::go_print(c));
        if (!insecure.empty()) {
            o += " Insecure Registries:\n";
            for (const auto& s : insecure) o += "  " + s + "\n";
        }
        if (auto m = rc->find("Mirrors"); m != rc->end() && m->is_array() && !m->empty()) {
            o += " Registry Mirrors:\n";
            for (const auto& s : *m) o += "  " + format::go_print(s) + "\n";
        }
    }
    line(" Live Restore Enabled:", boolean("LiveRestoreEnabled"));
    o += "\n";
    return o;
}

void run_info(Context& ctx, const std::string& fmt_flag) {
    auto c = ctx.client();
    if (!c) return fail(ctx, c.error());
    Request req;
    req.path = "/info";
    auto info = (*c)->call_json(req);
    if (!fmt_flag.empty()) {
        if (!info) return fail(ctx, info.error());
        json view = *info;
        view["ClientInfo"] = {{"Debug", ctx.debug}, {"Version", kClientVersion}, {"Context", "default"}};
        auto text = format::render_value(fmt_flag, view);
        if (!text) return fail(ctx, text.error());
        out(*text);
        return;
    }
    std::string o = fmt::format("Client:\n Version:    {}\n Context:    default\n Debug Mode: {}\n\nServer:\n",
                                kClientVersion, ctx.debug ? "true" : "false");
    if (!info) {
        out(o);
        std::fflush(stdout);
        return fail(ctx, info.error());
    }
    out(o + print_server_info(*info));
    if (auto w = info->find("Warnings"); w != info->end() && w->is_array()) {
        std::fflush(stdout);
        for (const auto& e : *w) std::fprintf(stderr, "%s\n", format::go_print(e).c_str());
    }
}

// -------------------------------------------------------------------------------------------
// system df

std::string reclaimable_text(int64_t reclaimable, int64_t total) {
    if (total > 0)
        return fmt::format("{} ({}%)", format::human_size(static_cast<double>(reclaimable), 4), reclaimable * 100 / total);
    return format::human_size(static_cast<double>(reclaimable), 4);
}

void run_df(Context& ctx, bool verbose, const std::string& fmt_flag) {
    auto c = ctx.client();
    if (!c) return fail(ctx, c.error());
    Request req;
    req.path = "/system/df";
    auto du = (*c)->call_json(req);
    if (!du) return fail(ctx, du.error());
    auto arr = [&](const char* key) {
        auto it = du->find(key);
        return it != du->end() && it->is_array() ? *it : json::array();
    };
    json images = arr("Images"), containers = arr("Containers"), volumes = arr("Volumes"), cache = arr("BuildCache");
    int64_t now = static_cast<int64_t>(std::time(nullptr));

    if (!verbose) {
        std::vector<json> rows;
        // Images
        {
            int64_t total = int_field(*du, "LayersSize"), used = 0, active = 0;
            for (const auto& i : images) {
                if (int_field(i, "Containers", -1) > 0) ++active;
                if (int_field(i, "Containers", -1) != 0) {
                    int64_t size = int_field(i, "Size", -1), shared = int_field(i, "SharedSize", -1);
                    if (size == -1 || shared == -1) continue;
                    used += size - shared;
                }
            }
            rows.push_back({{"Type", "Images"}, {"TotalCount", std::to_string(images.size())},
                            {"Active", std::to_string(active)},
                            {"Size", format::human_size(static_cast<double>(total), 4)},
                            {"Reclaimable", reclaimable_text(total - used, total)}});
        }
        // Containers
        {
            int64_t total = 0, reclaim = 0, active = 0;
            for (const auto& ct : containers) {
                std::string state = str_field(ct, "State");
                bool on = state == "running" || state == "paused" || state == "restarting";
                if (on) ++active;
                int64_t s = int_field(ct, "SizeRw");
                total += s;
                if (!on) reclaim += s;
            }
            rows.push_back({{"Type", "Containers"}, {"TotalCount", std::to_string(containers.size())},
                            {"Active", std::to_string(active)},
                            {"Size", format::human_size(static_cast<double>(total), 4)},
                            {"Reclaimable", reclaimable_text(reclaim, total)}});
        }
        // Local volumes
        {
            int64_t total = 0, reclaim = 0, active = 0;
            for (const auto& v : volumes) {
                json ud = v.value("UsageData", json::object());
                if (!ud.is_object()) ud = json::object();
                int64_t refs = int_field(ud, "RefCount"), size = int_field(ud, "Size", -1);
                if (refs > 0) ++active;
                if (size == -1) continue;
                total += size;
                if (refs == 0) reclaim += size;
            }
            rows.push_back({{"Type", "Local Volumes"}, {"TotalCount", std::to_string(volumes.size())},
                            {"Active", std::to_string(active)},
                            {"Size", format::human_size(static_cast<double>(total), 4)},
                            {"Reclaimable", reclaimable_text(reclaim, total)}});
        }
        // Build cache
        {
            int64_t total = 0, reclaim = 0, active = 0;
            for (const auto& b : cache) {
                bool in_use = b.value("InUse", false), shared = b.value("Shared", false);
                if (in_use) ++active;
                if (!shared) total += int_field(b, "Size");
                if (!in_use && !shared) reclaim += int_field(b, "Size");
            }
            rows.push_back({{"Type", "Build Cache"}, {"TotalCount", std::to_string(cache.size())},
                            {"Active", std::to_string(active)},
                            {"Size", format::human_size(static_cast<double>(total), 4)},
                            {"Reclaimable", format::human_size(static_cast<double>(reclaim), 4)}});
        }
        std::string f = fmt_flag.empty() || fmt_flag == "table"
                            ? "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
                            : fmt_flag;
        static const json headers = {{"Type", "TYPE"}, {"TotalCount", "TOTAL"}, {"Active", "ACTIVE"},
                                     {"Size", "SIZE"}, {"Reclaimable", "RECLAIMABLE"}};
        auto text = format::render_rows(f, rows, headers, "*formatter.diskUsageImagesContext");
        if (!text) return fail(ctx, text.error());
        out(*text);
        return;
    }

    // Verbose: one table per kind, images with their first tag only.
    std::vector<json> image_rows_v;
    for (const auto& i : images) {
        auto rows = image_rows(i, false, true, now);
        if (rows.empty()) continue;
        json r = rows.front();
        image_rows_v.push_back(std::move(r));
    }
    std::string o = "Images space usage:\n\n";
    auto images_text = format::render_rows(
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
        image_rows_v, image_headers(), "*formatter.imageContext");
    if (!images_text) return fail(ctx, images_text.error());
    o += *images_text;

    std::vector<json> crows;
    for (const auto& ct : containers) {
        std::string id = str_field(ct, "Id");
        std::string names;
        if (auto n = ct.find("Names"); n != ct.end() && n->is_array())
            for (const auto& e : *n) {
                std::string s = format::go_print(e);
                if (!s.empty() && s[0] == '/') s.erase(0, 1);
                names += (names.empty() ? "" : ",") + s;
            }
        int64_t mounts = 0;
        if (auto m = ct.find("Mounts"); m != ct.end() && m->is_array())
            for (const auto& e : *m)
                if (str_field(e, "Type") == "volume") ++mounts;
        std::string cmd = str_field(ct, "Command");
        crows.push_back({{"ID", format::truncate_id(id)},
                         {"Image", format::ellipsis(str_field(ct, "Image"), 40)},
                         {"Command", "\"" + format::ellipsis(cmd, 20) + "\""},
                         {"LocalVolumes", std::to_string(mounts)},
                         {"Size", format::human_size(static_cast<double>(int_field(ct, "SizeRw")), 4)},
                         {"RunningFor", format::created_since(int_field(ct, "Created"), now)},
                         {"Status", str_field(ct, "Status")},
                         {"Names", names}});
    }
    static const json cheaders = {{"ID", "CONTAINER ID"}, {"Image", "IMAGE"}, {"Command", "COMMAND"},
                                  {"LocalVolumes", "LOCAL VOLUMES"}, {"Size", "SIZE"},
                                  {"RunningFor", "CREATED"}, {"Status", "STATUS"}, {"Names", "NAMES"}};
    o += "\nContainers space usage:\n\n";
    o += format::render_rows(
             "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
             crows, cheaders, "*formatter.ContainerContext")
             .value_or("");

    std::vector<json> vrows;
    for (const auto& v : volumes) {
        json ud = v.value("UsageData", json::object());
        if (!ud.is_object()) ud = json::object();
        int64_t size = int_field(ud, "Size", -1);
        vrows.push_back({{"Name", str_field(v, "Name")},
                         {"Links", std::to_string(int_field(ud, "RefCount"))},
                         {"Size", size == -1 ? std::string("N/A") : format::human_size(static_cast<double>(size), 4)}});
    }
    static const json vheaders = {{"Name", "VOLUME NAME"}, {"Links", "LINKS"}, {"Size", "SIZE"}};
    o += "\nLocal Volumes space usage:\n\n";
    o += format::render_rows("table {{.Name}}\t{{.Links}}\t{{.Size}}", vrows, vheaders, "*formatter.volumeContext").value_or("");

    int64_t cache_total = 0;
    for (const auto& b : cache) cache_total += int_field(b, "Size");
    o += "\nBuild cache usage: " + format::human_size(static_cast<double>(cache_total), 4) + "\n\n";
    std::vector<json> brows;
    for (const auto& b : cache) {
        brows.push_back({{"ID", str_field(b, "ID")},
                         {"CacheType", str_field(b, "Type")},
                         {"Size", format::human_size(static_cast<double>(int_field(b, "Size")), 4)},
                         {"CreatedSince", str_field(b, "CreatedAt")},
                         {"LastUsedSince", str_field(b, "LastUsedAt")},
                         {"UsageCount", std::to_string(int_field(b, "UsageCount"))},
                         {"Shared", b.value("Shared", false) ? "true" : "false"}});
    }
    static const json bheaders = {{"ID", "CACHE ID"}, {"CacheType", "CACHE TYPE"}, {"Size", "SIZE"},
                                  {"CreatedSince", "CREATED"}, {"LastUsedSince", "LAST USED"},
                                  {"UsageCount", "USAGE"}, {"Shared", "SHARED"}};
    o += format::render_rows(
             "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}",
             brows, bheaders, "*formatter.buildCacheContext")
             .value_or("");
    out(o);
}

// -------------------------------------------------------------------------------------------
// system check (Berth extension)

void run_check(Context& ctx, bool repair) {
    auto c = ctx.client();
    if (!c) return fail(ctx, c.error());
    Request req;
    req.method = "POST";
    req.path = "/berth/system/check";
    if (repair) req.query.emplace_back("repair", "1");
    auto r = (*c)->call_json(req);
    if (!r) return fail(ctx, r.error());
    json problems = r->value("Problems", json::array());
    json repairs = r->value("Repairs", json::array());
    if (!problems.is_array()) problems = json::array();
    if (!repairs.is_array()) repairs = json::array();
    std::string o;
    for (const auto& p : problems) o += "problem: " + format::go_print(p) + "\n";
    for (const auto& p : repairs) o += "repaired: " + format::go_print(p) + "\n";
    // The report lists what was found and what was repaired: what wasn't repaired remains.
    size_t remaining = problems.size() > repairs.size() && repair ? problems.size() - repairs.size()
                                                                   : (repair ? 0 : problems.size());
    if (problems.empty() && repairs.empty()) {
        o += "No problems found.\n";
    } else if (problems.empty()) {
        // Only repairs: listed above, nothing remains.
    } else if (remaining > 0 && !repair) {
        o += fmt::format("{} problem{} found; run 'berth system check --repair' to repair {}.\n",
                         problems.size(), problems.size() == 1 ? "" : "s", problems.size() == 1 ? "it" : "them");
    } else if (remaining > 0) {
        o += fmt::format("{} problem{} could not be repaired.\n", remaining, remaining == 1 ? "" : "s");
    }
    out(o);
    if (remaining > 0) ctx.status = 1;
}

}  // namespace

void register_system(CLI::App& app, CLI::App* system, Context& ctx) {
    auto vfmt = std::make_shared<std::string>();
    auto* version = app.add_subcommand("version", "Show the Berth version information");
    version->add_option("-f,--format", *vfmt, "Format output using a custom template");
    version->callback([vfmt, &ctx] { run_version(ctx, *vfmt); });

    auto add_info = [&](CLI::App* parent) {
        auto ifmt = std::make_shared<std::string>();
        auto* info = parent->add_subcommand("info", "Display system-wide information");
        info->add_option("-f,--format", *ifmt, "Format output using a custom template");
        info->callback([ifmt, &ctx] { run_info(ctx, *ifmt); });
    };
    add_info(&app);
    if (!system) return;
    add_info(system);

    auto df_verbose = std::make_shared<bool>(false);
    auto df_fmt = std::make_shared<std::string>();
    auto* df = system->add_subcommand("df", "Show Berth disk usage");
    df->add_flag("-v,--verbose", *df_verbose, "Show detailed information on space usage");
    df->add_option("--format", *df_fmt, "Format output using a custom template");
    df->callback([df_verbose, df_fmt, &ctx] { run_df(ctx, *df_verbose, *df_fmt); });

    auto repair = std::make_shared<bool>(false);
    auto* check = system->add_subcommand("check", "Check the stores for consistency (Berth extension)");
    check->add_flag("--repair", *repair, "Repair what can be repaired");
    check->callback([repair, &ctx] { run_check(ctx, *repair); });
}

}  // namespace berth::cli
