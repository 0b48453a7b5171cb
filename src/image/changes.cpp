// `--change` instructions (moby builder/dockerfile BuildFromConfig, with BuildKit's parser and
// shell-word rules) applied to an oci::ContainerConfig.

#include "berth/image/changes.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <string_view>

#include "berth/common/fs.hpp"
#include "berth/common/strings.hpp"
#include "berth/common/time.hpp"

namespace berth::image {

namespace {

Unexpected bad(std::string_view instr, std::string msg) {
    return Unexpected(Error{Errc::InvalidArgument, 0, fmt::format("{}: {}", instr, msg)});
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/// The value of `name` in an env list ("K=V"), if set.
std::optional<std::string> env_get(const std::vector<std::string>& env, std::string_view name) {
    for (auto it = env.rbegin(); it != env.rend(); ++it) {
        auto eq = it->find('=');
        std::string_view key = std::string_view(*it).substr(0, eq);
        if (key == name) return eq == std::string::npos ? std::string() : it->substr(eq + 1);
    }
    return std::nullopt;
}

void env_set(std::vector<std::string>& env, const std::string& key, const std::string& value) {
    for (auto& e : env) {
        auto eq = e.find('=');
        if (std::string_view(e).substr(0, eq) == key) {
            e = key + "=" + value;
            return;
        }
    }
    env.push_back(key + "=" + value);
}

/// BuildKit's shell.Lex for one instruction's arguments: quotes, escapes and $ expansion.
class Lex {
public:
    explicit Lex(const std::vector<std::string>& env) : env_(env) {}

    /// One word: whitespace is kept as is (ENV's legacy value, USER, WORKDIR).
    Result<std::string> word(std::string_view s) {
        auto words = BERTH_TRY(process(s, false));
        return words.empty() ? std::string() : words.front();
    }

    /// Words split at unquoted whitespace (EXPOSE, VOLUME).
    Result<std::vector<std::string>> words(std::string_view s) { return process(s, true); }

private:
    Result<std::vector<std::string>> process(std::string_view s, bool split_words) {
        std::vector<std::string> out;
        std::string cur;
        bool have = false;
        size_t i = 0;
        while (i < s.size()) {
            char c = s[i];
            if (split_words && is_space(c)) {
                if (have) out.push_back(std::move(cur));
                cur.clear();
                have = false;
                ++i;
                continue;
            }
            have = true;
            if (c == '\'') {
                auto end = s.find('\'', i + 1);
                if (end == std::string_view::npos)
                    return make_error(Errc::InvalidArgument,
                                      "unexpected end of statement while looking for matching "
                                      "single-quote");
                cur.append(s.substr(i + 1, end - i - 1));
                i = end + 1;
            } else if (c == '"') {
                ++i;
                bool closed = false;
                while (i < s.size()) {
                    char d = s[i];
                    if (d == '"') {
                        closed = true;
                        ++i;
                        break;
                    }
                    if (d == '\\' && i + 1 < s.size() &&
                        (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == '$')) {
                        cur.push_back(s[i + 1]);
                        i += 2;
                    } else if (d == '$') {
                        cur += BERTH_TRY(expand(s, i));
                    } else {
                        cur.push_back(d);
                        ++i;
                    }
                }
                if (!closed)
                    return make_error(Errc::InvalidArgument,
                                      "unexpected end of statement while looking for matching "
                                      "double-quote");
            } else if (c == '\\') {
                if (i + 1 < s.size()) {
                    cur.push_back(s[i + 1]);
                    i += 2;
                } else {
                    cur.push_back(c);
                    ++i;
                }
            } else if (c == '$') {
                cur += BERTH_TRY(expand(s, i));
            } else {
                cur.push_back(c);
                ++i;
            }
        }
        if (have) out.push_back(std::move(cur));
        return out;
    }

    static bool name_char(char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    }

    /// Expands the variable at s[i] == '$'; advances i past it.
    Result<std::string> expand(std::string_view s, size_t& i) {
        ++i;  // '$'
        if (i >= s.size()) return std::string("$");
        if (s[i] == '{') {
            auto close = s.find('}', i);
            if (close == std::string_view::npos)
                return make_error(Errc::InvalidArgument, "missing '}}' in \"{}\"", s);
            std::string_view body = s.substr(i + 1, close - i - 1);
            i = close + 1;
            size_t n = 0;
            while (n < body.size() && name_char(body[n])) ++n;
            std::string name(body.substr(0, n));
            if (name.empty())
                return make_error(Errc::InvalidArgument, "bad substitution \"${{{}}}\"", body);
            std::string_view mod = body.substr(n);
            auto val = env_get(env_, name);
            if (mod.empty()) return val.value_or("");
            bool colon = mod.front() == ':';
            if (colon) mod.remove_prefix(1);
            if (mod.empty())
                return make_error(Errc::InvalidArgument, "bad substitution \"${{{}}}\"", body);
            char op = mod.front();
            std::string word = BERTH_TRY(Lex(env_).word(mod.substr(1)));
            bool set = val && (!colon || !val->empty());
            if (op == '-') return set ? *val : word;
            if (op == '+') return set ? word : std::string();
            return make_error(Errc::InvalidArgument, "unsupported modifier ({}) in substitution",
                              op);
        }
        size_t n = i;
        while (n < s.size() && name_char(s[n])) ++n;
        if (n == i) return std::string("$");
        std::string name(s.substr(i, n - i));
        i = n;
        return env_get(env_, name).value_or("");
    }

    const std::vector<std::string>& env_;
};

/// A JSON array of strings (the exec form), or nullopt if `s` is not one (then the instruction
/// takes its shell form, as Docker's parser falls back).
std::optional<std::vector<std::string>> parse_json_array(std::string_view s) {
    s = trim(s);
    if (s.empty() || s.front() != '[') return std::nullopt;
    std::vector<std::string> out;
    size_t i = 1;
    auto skip = [&] {
        while (i < s.size() && is_space(s[i])) ++i;
    };
    skip();
    if (i < s.size() && s[i] == ']') {
        ++i;
        skip();
        return i == s.size() ? std::optional(out) : std::nullopt;
    }
    while (true) {
        skip();
        if (i >= s.size() || s[i] != '"') return std::nullopt;
        ++i;
        std::string v;
        while (true) {
            if (i >= s.size()) return std::nullopt;
            char c = s[i++];
            if (c == '"') break;
            if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
            if (c != '\\') {
                v.push_back(c);
                continue;
            }
            if (i >= s.size()) return std::nullopt;
            char e = s[i++];
            switch (e) {
                case '"':
                    v.push_back('"');
                    break;
                case '\\':
                    v.push_back('\\');
                    break;
                case '/':
                    v.push_back('/');
                    break;
                case 'b':
                    v.push_back('\b');
                    break;
                case 'f':
                    v.push_back('\f');
                    break;
                case 'n':
                    v.push_back('\n');
                    break;
                case 'r':
                    v.push_back('\r');
                    break;
                case 't':
                    v.push_back('\t');
                    break;
                case 'u': {
                    if (i + 4 > s.size()) return std::nullopt;
                    unsigned cp = 0;
                    for (int k = 0; k < 4; ++k) {
                        char h = s[i++];
                        cp <<= 4;
                        if (h >= '0' && h <= '9')
                            cp |= h - '0';
                        else if (h >= 'a' && h <= 'f')
                            cp |= h - 'a' + 10;
                        else if (h >= 'A' && h <= 'F')
                            cp |= h - 'A' + 10;
                        else
                            return std::nullopt;
                    }
                    // Surrogates are written as U+FFFD, as Go does for unpaired ones.
                    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
                    if (cp < 0x80) {
                        v.push_back(static_cast<char>(cp));
                    } else if (cp < 0x800) {
                        v.push_back(static_cast<char>(0xC0 | (cp >> 6)));
                        v.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
                    } else {
                        v.push_back(static_cast<char>(0xE0 | (cp >> 12)));
                        v.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
                        v.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
                    }
                    break;
                }
                default:
                    return std::nullopt;
            }
        }
        out.push_back(std::move(v));
        skip();
        if (i < s.size() && s[i] == ',') {
            ++i;
            continue;
        }
        if (i < s.size() && s[i] == ']') {
            ++i;
            skip();
            return i == s.size() ? std::optional(out) : std::nullopt;
        }
        return std::nullopt;
    }
}

/// Splits at unquoted whitespace, keeping quotes and escapes (BuildKit's parseWords), for the
/// name=value forms.
std::vector<std::string> raw_words(std::string_view s) {
    std::vector<std::string> out;
    std::string cur;
    char quote = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (!quote && is_space(c)) {
            if (!cur.empty()) out.push_back(std::move(cur));
            cur.clear();
            continue;
        }
        cur.push_back(c);
        if (c == '\\' && i + 1 < s.size() && quote != '\'') {
            cur.push_back(s[++i]);
            continue;
        }
        if (quote && c == quote) {
            quote = 0;
        } else if (!quote && (c == '"' || c == '\'')) {
            quote = c;
        }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

/// ENV / LABEL arguments: `k=v k2="v 2"` or the legacy `k value with spaces`, expanded.
Result<std::vector<std::pair<std::string, std::string>>> name_values(std::string_view instr,
                                                                     std::string_view rest,
                                                                     Lex& lex) {
    std::vector<std::pair<std::string, std::string>> out;
    auto words = raw_words(rest);
    if (words.empty()) return bad(instr, fmt::format("{} requires at least one argument", instr));
    if (words[0].find('=') == std::string::npos) {
        // Legacy form: one key, the rest of the line is its value.
        std::string_view r = trim(rest);
        size_t sp = 0;
        while (sp < r.size() && !is_space(r[sp])) ++sp;
        std::string_view value = trim(r.substr(sp));
        if (value.empty()) return bad(instr, fmt::format("{} must have two arguments", instr));
        std::string key = BERTH_TRY_CTX(lex.word(r.substr(0, sp)), "{}", instr);
        std::string val = BERTH_TRY_CTX(lex.word(value), "{}", instr);
        out.emplace_back(std::move(key), std::move(val));
        return out;
    }
    for (const auto& w : words) {
        auto eq = w.find('=');
        if (eq == std::string::npos)
            return bad(instr, fmt::format("Syntax error - can't find = in \"{}\". Must be of the "
                                          "form: name=value",
                                          w));
        std::string key = BERTH_TRY_CTX(lex.word(std::string_view(w).substr(0, eq)), "{}", instr);
        if (key.empty()) return bad(instr, fmt::format("{} names can not be blank", instr));
        std::string val = BERTH_TRY_CTX(lex.word(std::string_view(w).substr(eq + 1)), "{}", instr);
        out.emplace_back(std::move(key), std::move(val));
    }
    return out;
}

/// moby's signal.ParseSignal: a non-zero number, or a name with or without "SIG".
bool valid_signal(std::string_view s) {
    if (auto n = parse_int(s)) return *n > 0 && *n <= 64;
    std::string u = upper(s);
    if (u.rfind("SIG", 0) == 0) u = u.substr(3);
    static const std::set<std::string> kNames = {
        "ABRT",   "ALRM",  "BUS",  "CHLD", "CLD",    "CONT",  "FPE",  "HUP",  "ILL",  "INT",
        "IO",     "IOT",   "KILL", "PIPE", "POLL",   "PROF",  "PWR",  "QUIT", "SEGV", "STKFLT",
        "STOP",   "SYS",   "TERM", "TRAP", "TSTP",   "TTIN",  "TTOU", "URG",  "USR1", "USR2",
        "VTALRM", "WINCH", "XCPU", "XFSZ", "UNUSED", "RTMIN", "RTMAX"};
    if (kNames.count(u)) return true;
    for (const char* base : {"RTMIN+", "RTMAX-"}) {
        std::string_view b(base);
        if (u.rfind(b, 0) == 0) {
            auto n = parse_int(std::string_view(u).substr(b.size()));
            if (n && *n >= 1 && *n <= 15) return true;
        }
    }
    return false;
}

/// One EXPOSE spec ("80", "80/udp", "7000-7002/tcp", "127.0.0.1:8080:80") -> "port/proto" keys.
Result<std::vector<std::string>> port_keys(std::string_view spec) {
    std::string_view proto = "tcp";
    std::string_view port = spec;
    if (auto slash = spec.rfind('/'); slash != std::string_view::npos) {
        proto = spec.substr(slash + 1);
        port = spec.substr(0, slash);
    }
    if (proto != "tcp" && proto != "udp" && proto != "sctp")
        return make_error(Errc::InvalidArgument, "invalid proto: {}", proto);
    // Publishing parts (ip:hostPort:containerPort) mean nothing to an image: the last one is
    // the container's port.
    if (auto colon = port.rfind(':'); colon != std::string_view::npos)
        port = port.substr(colon + 1);
    uint64_t lo = 0, hi = 0;
    auto dash = port.find('-');
    auto a = parse_uint(port.substr(0, dash));
    auto b = dash == std::string_view::npos ? a : parse_uint(port.substr(dash + 1));
    if (!a || !b || *a > 65535 || *b > 65535 || *b < *a)
        return make_error(Errc::InvalidArgument, "invalid containerPort: {}", port);
    lo = *a;
    hi = *b;
    std::vector<std::string> out;
    for (uint64_t p = lo; p <= hi; ++p) out.push_back(fmt::format("{}/{}", p, proto));
    return out;
}

void set_insert(std::vector<std::string>& sorted, std::string v) {
    auto it = std::lower_bound(sorted.begin(), sorted.end(), v);
    if (it == sorted.end() || *it != v) sorted.insert(it, std::move(v));
}

/// The exec form if `rest` is a JSON array, otherwise ["/bin/sh","-c",rest].
std::vector<std::string> exec_or_shell(std::string_view rest) {
    if (auto arr = parse_json_array(rest)) return *arr;
    return {"/bin/sh", "-c", std::string(trim(rest))};
}

/// A Dockerfile read into logical lines: continuations joined, comments and blanks dropped.
std::vector<std::string> logical_lines(const std::string& text) {
    std::vector<std::string> out;
    std::string cur;
    bool continuing = false;
    for (const auto& raw : split(text, '\n')) {
        std::string_view line = raw;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        std::string_view t = trim(line);
        if (t.empty() || t.front() == '#') {
            // Inside a continuation, empty and comment lines are skipped (BuildKit).
            continue;
        }
        std::string_view body = line;
        bool cont = false;
        std::string_view rt = body;
        while (!rt.empty() && is_space(rt.back())) rt.remove_suffix(1);
        if (!rt.empty() && rt.back() == '\\') {
            cont = true;
            body = rt.substr(0, rt.size() - 1);
        }
        if (continuing) {
            cur += body;
        } else {
            cur = std::string(body);
        }
        continuing = cont;
        if (!cont) {
            out.push_back(std::move(cur));
            cur.clear();
        }
    }
    if (continuing && !trim(cur).empty()) out.push_back(std::move(cur));
    return out;
}

Result<void> apply_healthcheck(std::string_view rest, oci::ContainerConfig& config) {
    constexpr std::string_view kI = "HEALTHCHECK";
    std::string_view r = trim(rest);
    oci::HealthConfig hc;
    // Flags first: --name=value.
    while (r.substr(0, 2) == "--") {
        size_t sp = 0;
        while (sp < r.size() && !is_space(r[sp])) ++sp;
        std::string_view flag = r.substr(2, sp - 2);
        r = trim(r.substr(sp));
        auto eq = flag.find('=');
        std::string name = std::string(flag.substr(0, eq));
        std::string_view value = eq == std::string_view::npos ? "" : flag.substr(eq + 1);
        if (name == "retries") {
            auto n = parse_int(value);
            if (!n) return bad(kI, fmt::format("invalid value for --retries: \"{}\"", value));
            if (*n < 0) return bad(kI, fmt::format("--retries cannot be negative ({})", *n));
            hc.retries = static_cast<int>(*n);
            continue;
        }
        int64_t* field = nullptr;
        if (name == "interval")
            field = &hc.interval;
        else if (name == "timeout")
            field = &hc.timeout;
        else if (name == "start-period")
            field = &hc.start_period;
        else if (name == "start-interval")
            field = &hc.start_interval;
        else
            return bad(kI, fmt::format("Unknown flag: {}", name));
        if (value.empty()) continue;
        auto d = parse_go_duration(value);
        if (!d) return bad(kI, d.error().msg);
        if (*d != 0 && *d < 1000000)
            return bad(kI, fmt::format("Interval \"{}\" cannot be less than 1ms", name));
        if (*d < 0) return bad(kI, fmt::format("Interval \"{}\" cannot be negative", name));
        *field = *d;
    }
    size_t sp = 0;
    while (sp < r.size() && !is_space(r[sp])) ++sp;
    std::string type = upper(r.substr(0, sp));
    std::string_view args = trim(r.substr(sp));
    if (type == "NONE") {
        if (!args.empty()) return bad(kI, "HEALTHCHECK NONE takes no arguments");
        config.healthcheck = oci::HealthConfig{{"NONE"}, 0, 0, 0, 0, 0};
        return {};
    }
    if (type != "CMD")
        return bad(kI, fmt::format("Unknown type \"{}\" in HEALTHCHECK (try CMD)", type));
    if (args.empty()) return bad(kI, "Missing command after HEALTHCHECK CMD");
    if (auto arr = parse_json_array(args)) {
        hc.test = {"CMD"};
        hc.test.insert(hc.test.end(), arr->begin(), arr->end());
    } else {
        hc.test = {"CMD-SHELL", std::string(args)};
    }
    config.healthcheck = std::move(hc);
    return {};
}

}  // namespace

Result<void> apply_changes(const std::vector<std::string>& changes, oci::ContainerConfig& config) {
    if (changes.empty()) return {};
    bool cmd_set = false;
    for (const auto& line : logical_lines(join(changes, "\n"))) {
        std::string_view l = trim(line);
        size_t sp = 0;
        while (sp < l.size() && !is_space(l[sp])) ++sp;
        const std::string instr = upper(l.substr(0, sp));
        const std::string_view rest = trim(l.substr(sp));
        Lex lex(config.env);

        if (instr == "CMD") {
            config.cmd = exec_or_shell(rest);
            cmd_set = true;
        } else if (instr == "ENTRYPOINT") {
            config.entrypoint = exec_or_shell(rest);
            if (rest.empty()) config.entrypoint.clear();
            // moby: an ENTRYPOINT without a CMD in the same changes resets the inherited CMD.
            if (!cmd_set) config.cmd.clear();
        } else if (instr == "ENV") {
            auto kvs = name_values(instr, rest, lex);
            if (!kvs) return Unexpected(kvs.error());
            for (auto& [k, v] : *kvs) env_set(config.env, k, v);
        } else if (instr == "LABEL") {
            auto kvs = name_values(instr, rest, lex);
            if (!kvs) return Unexpected(kvs.error());
            for (auto& [k, v] : *kvs) config.labels[k] = v;
        } else if (instr == "EXPOSE") {
            if (rest.empty()) return bad(instr, "EXPOSE requires at least one argument");
            auto words = lex.words(rest);
            if (!words) return bad(instr, words.error().msg);
            for (const auto& w : *words) {
                auto keys = port_keys(w);
                if (!keys) return bad(instr, keys.error().msg);
                for (auto& k : *keys) set_insert(config.exposed_ports, std::move(k));
            }
        } else if (instr == "HEALTHCHECK") {
            if (rest.empty()) return bad(instr, "HEALTHCHECK requires at least one argument");
            BERTH_TRY(apply_healthcheck(rest, config));
        } else if (instr == "ONBUILD") {
            if (rest.empty()) return bad(instr, "ONBUILD requires at least one argument");
            size_t t = 0;
            while (t < rest.size() && !is_space(rest[t])) ++t;
            std::string trigger = upper(rest.substr(0, t));
            if (trigger == "ONBUILD")
                return bad(instr, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
            if (trigger == "FROM" || trigger == "MAINTAINER")
                return bad(instr, fmt::format("{} isn't allowed as an ONBUILD trigger", trigger));
            config.on_build.emplace_back(rest);
        } else if (instr == "STOPSIGNAL") {
            if (rest.empty()) return bad(instr, "STOPSIGNAL requires exactly one argument");
            auto sig = lex.word(rest);
            if (!sig) return bad(instr, sig.error().msg);
            if (!valid_signal(*sig)) return bad(instr, fmt::format("Invalid signal: {}", *sig));
            config.stop_signal = *sig;
        } else if (instr == "USER") {
            if (rest.empty()) return bad(instr, "USER requires exactly one argument");
            auto user = lex.word(rest);
            if (!user) return bad(instr, user.error().msg);
            config.user = *user;
        } else if (instr == "VOLUME") {
            std::vector<std::string> vols;
            if (auto arr = parse_json_array(rest)) {
                vols = *arr;
            } else {
                auto words = lex.words(rest);
                if (!words) return bad(instr, words.error().msg);
                vols = std::move(*words);
            }
            if (vols.empty()) return bad(instr, "VOLUME requires at least one argument");
            for (auto& v : vols) {
                std::string t(trim(v));
                if (t.empty()) return bad(instr, "VOLUME specified can not be an empty string");
                set_insert(config.volumes, std::move(t));
            }
        } else if (instr == "WORKDIR") {
            if (rest.empty()) return bad(instr, "WORKDIR requires exactly one argument");
            auto dir = lex.word(rest);
            if (!dir) return bad(instr, dir.error().msg);
            if (dir->empty()) return bad(instr, "cannot normalize nothing");
            if (dir->front() == '/') {
                config.working_dir = *dir;
            } else {
                std::string base = config.working_dir.empty() ? "/" : config.working_dir;
                config.working_dir = clean_path(base + "/" + *dir);
            }
        } else {
            return make_error(Errc::InvalidArgument, "{} is not a valid change command",
                              lower(instr));
        }
    }
    return {};
}

}  // namespace berth::image
