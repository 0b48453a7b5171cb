// Container output formatting (see container_format.hpp).

#include "container_format.hpp"

#include <algorithm>
#include <ctime>
#include <map>
#include <vector>

#include "../format/output.hpp"
#include "../format/reference.hpp"
#include "../format/units.hpp"
#include "berth/common/strings.hpp"
#include "berth/common/time.hpp"

namespace berth::cli {

using json = nlohmann::json;

namespace {

std::string str(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t num(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}

uint64_t unum(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<uint64_t>() : 0;
}

// Go's strconv.Quote for the text docker shows (printable ASCII and UTF-8 pass through).
std::string go_quote(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (c < 0x20 || c == 0x7f)
                    out += fmt::format("\\x{:02x}", c);
                else
                    out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

std::string strip_slash(const std::string& n) {
    return !n.empty() && n[0] == '/' ? n.substr(1) : n;
}

std::string join_host_port(const std::string& ip, int64_t port) {
    if (ip.find(':') != std::string::npos) return "[" + ip + "]:" + std::to_string(port);
    return ip + ":" + std::to_string(port);
}

std::string form_group(const std::string& key, int64_t first, int64_t last) {
    auto slash = key.rfind('/');
    std::string type = key.substr(slash + 1),
                ip = slash == std::string::npos ? "" : key.substr(0, slash);
    if (slash == std::string::npos) type = key;
    std::string group = std::to_string(first);
    if (first != last) group += "-" + std::to_string(last);
    if (!ip.empty()) group = ip + ":" + group + "->" + group;
    return group + "/" + type;
}

}  // namespace

std::string displayable_ports(const json& ports) {
    struct Port {
        std::string ip, type;
        int64_t priv, pub;
    };
    std::vector<Port> ps;
    if (ports.is_array())
        for (const auto& p : ports)
            ps.push_back(
                {str(p, "IP"), str(p, "Type"), num(p, "PrivatePort"), num(p, "PublicPort")});
    std::sort(ps.begin(), ps.end(), [](const Port& a, const Port& b) {
        if (a.priv != b.priv) return a.priv < b.priv;
        if (a.ip != b.ip) return a.ip < b.ip;
        if (a.pub != b.pub) return a.pub < b.pub;
        return a.type < b.type;
    });
    std::map<std::string, std::pair<int64_t, int64_t>> groups;
    std::vector<std::string> keys, result, host_mappings;
    for (const auto& p : ps) {
        std::string key = p.type;
        if (!p.ip.empty()) {
            if (p.pub != p.priv) {
                host_mappings.push_back(
                    fmt::format("{}->{}/{}", join_host_port(p.ip, p.pub), p.priv, p.type));
                continue;
            }
            key = p.ip + "/" + p.type;
        }
        auto it = groups.find(key);
        if (it == groups.end()) {
            groups[key] = {p.priv, p.priv};
            keys.push_back(key);
            continue;
        }
        if (p.priv == it->second.second + 1) {
            it->second.second = p.priv;
            continue;
        }
        result.push_back(form_group(key, it->second.first, it->second.second));
        it->second = {p.priv, p.priv};
    }
    for (const auto& k : keys) result.push_back(form_group(k, groups[k].first, groups[k].second));
    result.insert(result.end(), host_mappings.begin(), host_mappings.end());
    return join(result, ", ");
}

json container_row(const json& c, bool trunc, int64_t now) {
    json r;
    std::string id = str(c, "Id");
    r["ID"] = trunc ? format::truncate_id(id) : id;

    std::string image = str(c, "Image");
    if (image.empty())
        image = "<no image>";
    else if (trunc) {
        std::string image_id = str(c, "ImageID");
        if (format::truncate_id(image_id) == format::truncate_id(image)) {
            image = format::truncate_id(image);
        } else if (auto ref = format::parse_normalized_named(image); ref) {
            image = ref->familiar_name();
            if (!ref->tag.empty()) image += ":" + ref->tag;
        }
    }
    r["Image"] = image;

    std::string command = str(c, "Command");
    if (trunc) command = format::ellipsis(command, 20);
    r["Command"] = go_quote(command);

    int64_t created = num(c, "Created");
    r["CreatedAt"] = format::go_time_string(created);
    r["RunningFor"] = format::created_since(created, now);
    r["Ports"] = displayable_ports(c.contains("Ports") ? c["Ports"] : json());
    r["State"] = str(c, "State");
    r["Status"] = str(c, "Status");

    std::vector<std::string> names;
    if (auto it = c.find("Names"); it != c.end() && it->is_array())
        for (const auto& n : *it)
            if (n.is_string()) names.push_back(strip_slash(n.get<std::string>()));
    if (trunc) {
        for (const auto& n : names)
            if (n.find('/') == std::string::npos) {
                names = {n};
                break;
            }
    }
    r["Names"] = join(names, ",");

    std::string srw = format::human_size(static_cast<double>(num(c, "SizeRw")));
    int64_t rootfs = num(c, "SizeRootFs");
    r["Size"] = rootfs > 0
                    ? srw + " (virtual " + format::human_size(static_cast<double>(rootfs)) + ")"
                    : srw;

    std::vector<std::string> labels;
    if (auto it = c.find("Labels"); it != c.end() && it->is_object())
        for (auto& [k, v] : it->items())
            labels.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : ""));
    r["Labels"] = join(labels, ",");

    std::vector<std::string> mounts;
    int local_volumes = 0;
    if (auto it = c.find("Mounts"); it != c.end() && it->is_array())
        for (const auto& m : *it) {
            std::string name = str(m, "Name");
            if (name.empty()) name = str(m, "Source");
            if (trunc) name = format::ellipsis(name, 15);
            mounts.push_back(name);
            if (str(m, "Driver") == "local") ++local_volumes;
        }
    r["Mounts"] = join(mounts, ",");
    r["LocalVolumes"] = std::to_string(local_volumes);

    std::vector<std::string> networks;
    if (auto ns = c.find("NetworkSettings"); ns != c.end() && ns->is_object())
        if (auto nets = ns->find("Networks"); nets != ns->end() && nets->is_object())
            for (auto& [k, v] : nets->items()) networks.push_back(k);
    r["Networks"] = join(networks, ",");
    r["Platform"] = nullptr;  // the daemon's ImageManifestDescriptor, which 1.44 doesn't have
    return r;
}

const json& container_headers() {
    static const json h = {{"ID", "CONTAINER ID"},
                           {"Image", "IMAGE"},
                           {"Command", "COMMAND"},
                           {"CreatedAt", "CREATED AT"},
                           {"RunningFor", "CREATED"},
                           {"Ports", "PORTS"},
                           {"State", "STATE"},
                           {"Status", "STATUS"},
                           {"Size", "SIZE"},
                           {"Names", "NAMES"},
                           {"Labels", "LABELS"},
                           {"Mounts", "MOUNTS"},
                           {"LocalVolumes", "LOCAL VOLUMES"},
                           {"Networks", "NETWORKS"},
                           {"Platform", "PLATFORM"}};
    return h;
}

std::optional<std::string> port_lines(const json& ns, const std::string& want) {
    std::string text;
    const json* ports = nullptr;
    if (ns.is_object())
        if (auto it = ns.find("Ports"); it != ns.end() && it->is_object()) ports = &*it;
    std::vector<std::string> keys;
    if (ports)
        for (auto& [k, v] : ports->items()) keys.push_back(k);
    // docker sorts by port number, then protocol.
    std::sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
        auto pa = parse_int(a.substr(0, a.find('/'))).value_or(0),
             pb = parse_int(b.substr(0, b.find('/'))).value_or(0);
        if (pa != pb) return pa < pb;
        return a < b;
    });
    for (const auto& k : keys) {
        if (!want.empty() && k != want) continue;
        const json& bindings = (*ports)[k];
        if (!bindings.is_array()) continue;
        for (const auto& b : bindings) {
            std::string addr =
                join_host_port(str(b, "HostIp"), parse_int(str(b, "HostPort")).value_or(0));
            text += want.empty() ? k + " -> " + addr + "\n" : addr + "\n";
        }
    }
    if (!want.empty() && text.empty()) return std::nullopt;
    return text;
}

double cpu_percent(const json& s) {
    const json& cpu = s.contains("cpu_stats") ? s["cpu_stats"] : json::object();
    const json& pre = s.contains("precpu_stats") ? s["precpu_stats"] : json::object();
    auto total = [](const json& c) {
        return c.contains("cpu_usage") ? static_cast<double>(unum(c["cpu_usage"], "total_usage"))
                                       : 0.0;
    };
    double cpu_delta = total(cpu) - total(pre);
    double sys_delta = static_cast<double>(unum(cpu, "system_cpu_usage")) -
                       static_cast<double>(unum(pre, "system_cpu_usage"));
    double online = static_cast<double>(unum(cpu, "online_cpus"));
    if (online == 0 && cpu.contains("cpu_usage") && cpu["cpu_usage"].contains("percpu_usage") &&
        cpu["cpu_usage"]["percpu_usage"].is_array())
        online = static_cast<double>(cpu["cpu_usage"]["percpu_usage"].size());
    if (sys_delta > 0 && cpu_delta > 0) return cpu_delta / sys_delta * online * 100.0;
    return 0;
}

double memory_usage(const json& s) {
    if (!s.contains("memory_stats")) return 0;
    const json& m = s["memory_stats"];
    uint64_t usage = unum(m, "usage");
    const json& st = m.contains("stats") && m["stats"].is_object() ? m["stats"] : json::object();
    if (st.contains("total_inactive_file")) {
        uint64_t v = unum(st, "total_inactive_file");
        if (v < usage) return static_cast<double>(usage - v);
    }
    uint64_t v = unum(st, "inactive_file");
    if (v < usage) return static_cast<double>(usage - v);
    return static_cast<double>(usage);
}

json stats_row(const json& s, const std::string& container, bool trunc) {
    json r;
    std::string id = str(s, "id");
    r["ID"] = trunc ? format::truncate_id(id) : id;
    r["Container"] = container.empty() ? id : container;
    std::string name = strip_slash(str(s, "name"));
    r["Name"] = name.empty() ? "--" : name;
    double mem = memory_usage(s);
    double limit =
        s.contains("memory_stats") ? static_cast<double>(unum(s["memory_stats"], "limit")) : 0;
    r["CPUPerc"] = fmt::format("{:.2f}%", cpu_percent(s));
    r["MemUsage"] = format::bytes_size(mem) + " / " + format::bytes_size(limit);
    r["MemPerc"] = fmt::format("{:.2f}%", limit != 0 ? mem / limit * 100.0 : 0.0);
    double rx = 0, tx = 0;
    if (auto n = s.find("networks"); n != s.end() && n->is_object())
        for (auto& [k, v] : n->items()) {
            rx += static_cast<double>(unum(v, "rx_bytes"));
            tx += static_cast<double>(unum(v, "tx_bytes"));
        }
    r["NetIO"] = format::human_size(rx) + " / " + format::human_size(tx);
    double rd = 0, wr = 0;
    if (auto b = s.find("blkio_stats"); b != s.end() && b->is_object())
        if (auto e = b->find("io_service_bytes_recursive"); e != b->end() && e->is_array())
            for (const auto& x : *e) {
                std::string op = str(x, "op");
                if (op.empty()) continue;
                if (op[0] == 'r' || op[0] == 'R')
                    rd += static_cast<double>(unum(x, "value"));
                else if (op[0] == 'w' || op[0] == 'W')
                    wr += static_cast<double>(unum(x, "value"));
            }
    r["BlockIO"] = format::human_size(rd) + " / " + format::human_size(wr);
    r["PIDs"] = std::to_string(s.contains("pids_stats") ? unum(s["pids_stats"], "current") : 0);
    return r;
}

const json& stats_headers() {
    static const json h = {{"Container", "CONTAINER"},
                           {"ID", "CONTAINER ID"},
                           {"Name", "NAME"},
                           {"CPUPerc", "CPU %"},
                           {"MemUsage", "MEM USAGE / LIMIT"},
                           {"MemPerc", "MEM %"},
                           {"NetIO", "NET I/O"},
                           {"BlockIO", "BLOCK I/O"},
                           {"PIDs", "PIDS"}};
    return h;
}

std::string event_line(const json& ev) {
    std::string line;
    int64_t ns = num(ev, "timeNano");
    if (ns == 0) ns = num(ev, "time") * kNanosPerSecond;
    if (ns != 0) {
        // jsonmessage.RFC3339NanoFixed in local time.
        time_t secs = static_cast<time_t>(ns / kNanosPerSecond);
        struct tm tm {};
        localtime_r(&secs, &tm);
        char buf[64];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        long off = tm.tm_gmtoff;
        std::string zone = off == 0
                               ? "Z"
                               : fmt::format("{}{:02d}:{:02d}", off < 0 ? '-' : '+',
                                             std::labs(off) / 3600, (std::labs(off) % 3600) / 60);
        line += fmt::format("{}.{:09d}{} ", buf, ns % kNanosPerSecond, zone);
    }
    const json& actor = ev.contains("Actor") ? ev["Actor"] : json::object();
    line += str(ev, "Type") + " " + str(ev, "Action") + " " + str(actor, "ID");
    if (auto a = actor.find("Attributes"); a != actor.end() && a->is_object() && !a->empty()) {
        std::vector<std::string> attrs;
        for (auto& [k, v] : a->items())
            attrs.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
        line += " (" + join(attrs, ", ") + ")";
    }
    return line + "\n";
}

Result<std::string> api_timestamp(std::string_view value, int64_t now_ns) {
    int64_t ns = BERTH_TRY(parse_timestamp(value, now_ns));
    int64_t secs = ns / kNanosPerSecond, frac = ns % kNanosPerSecond;
    if (frac < 0) {
        frac += kNanosPerSecond;
        --secs;
    }
    return fmt::format("{}.{:09d}", secs, frac);
}

}  // namespace berth::cli
