// parse_options, parse_human_size and extra_attributes: the json-file driver's log-opts as moby
// reads them (jsonfilelog.New/ValidateLogOpt, go-units, logger.Info, loggerutils.ParseLogTag).

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <regex>

#include "berth/common/strings.hpp"
#include "berth/logfile/writer.hpp"

namespace berth::logfile {

namespace {

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// Go's strconv.Atoi, with its error text.
Result<int64_t> go_atoi(std::string_view s) {
    std::string_view digits = s;
    bool neg = false;
    if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
        neg = digits[0] == '-';
        digits.remove_prefix(1);
    }
    uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (digits.empty() || ptr != digits.data() + digits.size() ||
        (ec != std::errc() && ec != std::errc::result_out_of_range))
        return make_error(Errc::InvalidArgument, "strconv.Atoi: parsing \"{}\": invalid syntax", s);
    const uint64_t limit =
        static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (neg ? 1 : 0);
    if (ec == std::errc::result_out_of_range || v > limit)
        return make_error(Errc::InvalidArgument, "strconv.Atoi: parsing \"{}\": value out of range",
                          s);
    return neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

// Go's strconv.ParseBool.
Result<bool> go_parse_bool(std::string_view s) {
    for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"})
        if (s == t) return true;
    for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"})
        if (s == f) return false;
    return make_error(Errc::InvalidArgument, "strconv.ParseBool: parsing \"{}\": invalid syntax",
                      s);
}

// moby's stringid.TruncateID: what follows a "sha256:"-style prefix, cut to 12 characters.
std::string truncate_id(std::string_view id) {
    if (auto colon = id.find(':'); colon != std::string_view::npos) id.remove_prefix(colon + 1);
    return std::string(id.substr(0, 12));
}

Result<std::string> expand_tag(std::string_view tag, const ContainerInfo& info) {
    std::string out;
    while (!tag.empty()) {
        const size_t open = tag.find("{{");
        out.append(tag.substr(0, open));
        if (open == std::string_view::npos) break;
        const size_t close = tag.find("}}", open);
        if (close == std::string_view::npos)
            return make_error(Errc::InvalidArgument, "invalid log tag template: unclosed action");
        const std::string_view field = trim(tag.substr(open + 2, close - open - 2));
        std::string_view name = info.name;
        if (!name.empty() && name[0] == '/') name.remove_prefix(1);
        if (field == ".ID")
            out += truncate_id(info.id);
        else if (field == ".FullID")
            out += info.id;
        else if (field == ".Name")
            out += name;
        else if (field == ".ImageID")
            out += truncate_id(info.image_id);
        else if (field == ".ImageFullID")
            out += info.image_id;
        else if (field == ".ImageName")
            out += info.image_name;
        else if (field == ".DaemonName")
            out += "docker";
        else
            return make_error(Errc::InvalidArgument,
                              "invalid log tag template: unsupported field \"{}\"", field);
        tag.remove_prefix(close + 2);
    }
    return out;
}

Result<std::regex> compile_regex(const std::string& key, const std::string& re) {
    try {
        return std::regex(re, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        return make_error(Errc::InvalidArgument, "invalid {} '{}': {}", key, re, e.what());
    }
}

}  // namespace

Result<int64_t> parse_human_size(std::string_view s) {
    // (?i)^(\d+(\.\d+)*) ?([kmgtp])?i?b?$
    size_t i = 0;
    const auto digits = [&] {
        const size_t from = i;
        while (i < s.size() && is_digit(s[i])) ++i;
        return i > from;
    };
    const auto invalid = [&] { return make_error(Errc::InvalidArgument, "invalid size: '{}'", s); };
    if (!digits()) return invalid();
    size_t dots = 0;
    while (i < s.size() && s[i] == '.') {
        ++i;
        if (!digits()) return invalid();
        ++dots;
    }
    const std::string number(s.substr(0, i));
    if (i < s.size() && s[i] == ' ') ++i;
    double mul = 1;
    if (i < s.size()) {
        switch (lower(s[i])) {
            case 'k':
                mul = 1e3;
                ++i;
                break;
            case 'm':
                mul = 1e6;
                ++i;
                break;
            case 'g':
                mul = 1e9;
                ++i;
                break;
            case 't':
                mul = 1e12;
                ++i;
                break;
            case 'p':
                mul = 1e15;
                ++i;
                break;
            default:
                break;
        }
    }
    if (i < s.size() && lower(s[i]) == 'i') ++i;
    if (i < s.size() && lower(s[i]) == 'b') ++i;
    if (i != s.size()) return invalid();
    // The regex lets "1.2.3" through; Go's ParseFloat then refuses it.
    if (dots > 1)
        return make_error(Errc::InvalidArgument,
                          "strconv.ParseFloat: parsing \"{}\": invalid syntax", number);
    const double v = std::strtod(number.c_str(), nullptr) * mul;
    if (!(v < 9.2233720368547758e18)) return invalid();
    return static_cast<int64_t>(v);
}

Result<Options> parse_options(const std::map<std::string, std::string>& log_opts) {
    for (const auto& [key, value] : log_opts) {
        if (key != "max-file" && key != "max-size" && key != "compress" && key != "labels" &&
            key != "labels-regex" && key != "env" && key != "env-regex" && key != "tag")
            return make_error(Errc::InvalidArgument,
                              "unknown log opt '{}' for json-file log driver", key);
    }
    Options o;
    if (auto it = log_opts.find("max-size"); it != log_opts.end()) {
        o.max_size = BERTH_TRY(parse_human_size(it->second));
        if (o.max_size <= 0)
            return make_error(Errc::InvalidArgument, "max-size must be a positive number");
    }
    if (auto it = log_opts.find("max-file"); it != log_opts.end()) {
        const int64_t n = BERTH_TRY(go_atoi(it->second));
        if (n < 1) return make_error(Errc::InvalidArgument, "max-file cannot be less than 1");
        if (n > std::numeric_limits<int>::max())
            return make_error(Errc::InvalidArgument, "max-file {} is too large", n);
        o.max_file = static_cast<int>(n);
    }
    if (auto it = log_opts.find("compress"); it != log_opts.end()) {
        o.compress = BERTH_TRY(go_parse_bool(it->second));
        if (o.compress && (o.max_file == 1 || o.max_size == 0))
            return make_error(Errc::InvalidArgument,
                              "compress cannot be true when max-file is less than 2 or max-size is "
                              "not set");
        if (o.compress)
            return make_error(Errc::Unsupported,
                              "compress=true is not supported by berth's json-file log driver");
    }
    // Validate the regexes now, so that a bad one fails at create and not in the shim.
    for (const char* key : {"labels-regex", "env-regex"})
        if (auto it = log_opts.find(key); it != log_opts.end() && !it->second.empty())
            BERTH_TRY(compile_regex(key, it->second));
    return o;
}

Result<std::map<std::string, std::string>> extra_attributes(
    const std::map<std::string, std::string>& log_opts, const ContainerInfo& info) {
    std::map<std::string, std::string> extra;
    const auto opt = [&](const char* key) -> std::string {
        auto it = log_opts.find(key);
        return it == log_opts.end() ? std::string() : it->second;
    };
    if (const std::string labels = opt("labels"); !labels.empty()) {
        for (const std::string& l : split(labels, ','))
            if (auto it = info.labels.find(l); it != info.labels.end()) extra[l] = it->second;
    }
    if (const std::string re = opt("labels-regex"); !re.empty()) {
        const std::regex r = BERTH_TRY(compile_regex("labels-regex", re));
        for (const auto& [k, v] : info.labels)
            if (std::regex_search(k, r)) extra[k] = v;
    }
    std::map<std::string, std::string> env;
    for (const std::string& e : info.env)
        if (auto eq = e.find('='); eq != std::string::npos) env[e.substr(0, eq)] = e.substr(eq + 1);
    if (const std::string names = opt("env"); !names.empty()) {
        for (const std::string& l : split(names, ','))
            if (auto it = env.find(l); it != env.end()) extra[l] = it->second;
    }
    if (const std::string re = opt("env-regex"); !re.empty()) {
        const std::regex r = BERTH_TRY(compile_regex("env-regex", re));
        for (const auto& [k, v] : env)
            if (std::regex_search(k, r)) extra[k] = v;
    }
    // No default tag: json-file only records one the user asked for.
    if (const std::string tag = opt("tag"); !tag.empty())
        extra["tag"] = BERTH_TRY(expand_tag(tag, info));
    return extra;
}

}  // namespace berth::logfile
