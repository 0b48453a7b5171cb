// Image list/prune filters and the time formats they use (moby daemon/images/images.go,
// image_prune.go, api/types/time/timestamp.go; distribution/reference FamiliarMatch; Go's
// path.Match and time.ParseDuration).

#include "filters.hpp"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "berth/common/strings.hpp"

namespace berth::image::detail {

namespace {

constexpr int64_t kNs = 1000000000;

Unexpected bad_pattern() {
    return make_error(Errc::InvalidArgument, "syntax error in pattern");
}

/// Go's path.Match, with its ErrBadPattern rules: a malformed class or a trailing '\' is an
/// error. Recursion depth is bounded by the number of '*' in the pattern.
Result<bool> match_from(std::string_view p, std::string_view n) {
    while (!p.empty()) {
        char c = p.front();
        if (c == '*') {
            while (!p.empty() && p.front() == '*') p.remove_prefix(1);
            if (p.empty()) return n.find('/') == std::string_view::npos;
            for (size_t i = 0; i <= n.size(); ++i) {
                auto m = match_from(p, n.substr(i));
                if (!m) return m;
                if (*m) return true;
                if (i < n.size() && n[i] == '/') break;
            }
            // The rest of the pattern must still be checked for syntax (Go does).
            auto rest = match_from(p, "");
            if (!rest) return rest;
            return false;
        }
        if (c == '?') {
            if (n.empty() || n.front() == '/') return false;
            p.remove_prefix(1);
            n.remove_prefix(1);
            continue;
        }
        if (c == '[') {
            p.remove_prefix(1);
            bool negated = false;
            if (!p.empty() && p.front() == '^') {
                negated = true;
                p.remove_prefix(1);
            }
            bool matched = false;
            bool first = true;
            unsigned char ch = n.empty() ? 0 : static_cast<unsigned char>(n.front());
            while (true) {
                if (p.empty()) return bad_pattern();
                if (!first && p.front() == ']') {
                    p.remove_prefix(1);
                    break;
                }
                first = false;
                auto take = [&](unsigned char& out) -> bool {
                    if (p.empty() || p.front() == ']' || p.front() == '-') return false;
                    if (p.front() == '\\') {
                        p.remove_prefix(1);
                        if (p.empty()) return false;
                    }
                    out = static_cast<unsigned char>(p.front());
                    p.remove_prefix(1);
                    return true;
                };
                unsigned char lo = 0, hi = 0;
                if (!take(lo)) return bad_pattern();
                hi = lo;
                if (!p.empty() && p.front() == '-') {
                    p.remove_prefix(1);
                    if (!take(hi)) return bad_pattern();
                }
                if (!n.empty() && lo <= ch && ch <= hi) matched = true;
            }
            if (n.empty() || n.front() == '/' || matched == negated) return false;
            n.remove_prefix(1);
            continue;
        }
        if (c == '\\') {
            p.remove_prefix(1);
            if (p.empty()) return bad_pattern();
            c = p.front();
        }
        if (n.empty() || n.front() != c) {
            // Go still validates the remainder of the pattern; a mismatch is reported as
            // such only if the pattern is well formed.
            auto rest = match_from(p.substr(1), "");
            if (!rest) return rest;
            return false;
        }
        p.remove_prefix(1);
        n.remove_prefix(1);
    }
    return n.empty();
}

bool digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Parses "YYYY-MM-DD[THH[:MM[:SS[.frac]]]][Z|±HH:MM]" into unix ns. `zone_required`:
/// RFC 3339 proper. Without a zone the time is UTC (the daemon's zone on our hosts).
std::optional<int64_t> parse_time(std::string_view s, bool full_rfc3339) {
    if (s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
    if (!digits(s.substr(0, 4)) || !digits(s.substr(5, 2)) || !digits(s.substr(8, 2)))
        return std::nullopt;
    struct tm tm {};
    tm.tm_year = std::stoi(std::string(s.substr(0, 4))) - 1900;
    tm.tm_mon = std::stoi(std::string(s.substr(5, 2))) - 1;
    tm.tm_mday = std::stoi(std::string(s.substr(8, 2)));
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31) return std::nullopt;
    s.remove_prefix(10);
    int64_t frac_ns = 0;
    bool has_time = false;
    if (!s.empty() && (s.front() == 'T' || s.front() == 't')) {
        has_time = true;
        s.remove_prefix(1);
        int* fields[3] = {&tm.tm_hour, &tm.tm_min, &tm.tm_sec};
        int nfields = 0;
        for (; nfields < 3; ++nfields) {
            if (nfields > 0) {
                if (s.empty() || s.front() != ':') break;
                s.remove_prefix(1);
            }
            if (s.size() < 2 || !digits(s.substr(0, 2))) return std::nullopt;
            *fields[nfields] = std::stoi(std::string(s.substr(0, 2)));
            s.remove_prefix(2);
        }
        if (full_rfc3339 && nfields != 3) return std::nullopt;
        if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) return std::nullopt;
        if (nfields == 3 && !s.empty() && (s.front() == '.' || s.front() == ',')) {
            s.remove_prefix(1);
            size_t n = 0;
            while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
            if (n == 0) return std::nullopt;
            std::string f(s.substr(0, std::min<size_t>(n, 9)));
            f.resize(9, '0');
            frac_ns = std::stoll(f);
            s.remove_prefix(n);
        }
    } else if (full_rfc3339) {
        return std::nullopt;
    }
    (void)has_time;
    int64_t offset = 0;
    if (!s.empty()) {
        if (s == "Z" || s == "z") {
            s = {};
        } else if (s.front() == '+' || s.front() == '-') {
            int sign = s.front() == '-' ? -1 : 1;
            s.remove_prefix(1);
            if (s.size() != 5 || s[2] != ':' || !digits(s.substr(0, 2)) || !digits(s.substr(3, 2)))
                return std::nullopt;
            offset = sign * (std::stoi(std::string(s.substr(0, 2))) * 3600 +
                             std::stoi(std::string(s.substr(3, 2))) * 60);
            s = {};
        } else {
            return std::nullopt;
        }
    } else if (full_rfc3339) {
        return std::nullopt;
    }
    time_t secs = timegm(&tm);
    return (static_cast<int64_t>(secs) - offset) * kNs + frac_ns;
}

}  // namespace

Result<bool> path_match(std::string_view pattern, std::string_view name) {
    return match_from(pattern, name);
}

Result<bool> familiar_match(std::string_view pattern, std::string_view full_ref) {
    auto ref = Reference::parse(full_ref);
    if (!ref) return false;
    bool m = BERTH_TRY(path_match(pattern, ref->familiar_string()));
    if (!m) m = BERTH_TRY(path_match(pattern, ref->familiar_name()));
    return m;
}

bool match_labels(const std::vector<std::string>& filters,
                  const std::map<std::string, std::string>& labels) {
    for (const auto& f : filters) {
        auto eq = f.find('=');
        auto it = labels.find(f.substr(0, eq));
        if (it == labels.end()) return false;
        if (eq != std::string::npos && it->second != f.substr(eq + 1)) return false;
    }
    return true;
}

std::optional<int64_t> parse_rfc3339_ns(std::string_view s) {
    return parse_time(s, true);
}

std::string format_rfc3339_nano(int64_t ns) {
    int64_t secs = ns / kNs;
    int64_t frac = ns % kNs;
    if (frac < 0) {
        frac += kNs;
        --secs;
    }
    time_t t = static_cast<time_t>(secs);
    struct tm tm {};
    gmtime_r(&t, &tm);
    std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900,
                                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (frac != 0) {
        std::string f = fmt::format("{:09}", frac);
        while (!f.empty() && f.back() == '0') f.pop_back();
        out += "." + f;
    }
    return out + "Z";
}

int64_t now_ns() noexcept {
    struct timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * kNs + ts.tv_nsec;
}

Result<int64_t> parse_go_duration(std::string_view s) {
    const std::string orig(s);
    auto invalid = [&] {
        return make_error(Errc::InvalidArgument, "time: invalid duration \"{}\"", orig);
    };
    if (s.empty()) return invalid();
    int sign = 1;
    if (s.front() == '-' || s.front() == '+') {
        sign = s.front() == '-' ? -1 : 1;
        s.remove_prefix(1);
    }
    if (s == "0") return 0;
    if (s.empty()) return invalid();
    long double total = 0;
    while (!s.empty()) {
        size_t n = 0;
        while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '.')) ++n;
        std::string_view num = s.substr(0, n);
        if (num.empty() || num == "." || std::count(num.begin(), num.end(), '.') > 1)
            return invalid();
        s.remove_prefix(n);
        size_t u = 0;
        while (u < s.size() && !std::isdigit(static_cast<unsigned char>(s[u])) && s[u] != '.') ++u;
        std::string_view unit = s.substr(0, u);
        s.remove_prefix(u);
        long double mult = 0;
        if (unit == "ns")
            mult = 1;
        else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs")
            mult = 1e3;
        else if (unit == "ms")
            mult = 1e6;
        else if (unit == "s")
            mult = 1e9;
        else if (unit == "m")
            mult = 60e9;
        else if (unit == "h")
            mult = 3600e9;
        else if (unit.empty())
            return make_error(Errc::InvalidArgument, "time: missing unit in duration \"{}\"", orig);
        else
            return make_error(Errc::InvalidArgument, "time: unknown unit \"{}\" in duration \"{}\"",
                              unit, orig);
        total += std::stold(std::string(num)) * mult;
    }
    if (total > 9.2e18L) return invalid();
    return sign * static_cast<int64_t>(total);
}

Result<int64_t> parse_timestamp(std::string_view value, int64_t now) {
    if (value != "0") {
        if (auto d = parse_go_duration(value)) return (now - *d) / kNs * kNs;
    }
    if (auto t = parse_time(value, false)) return *t;
    if (value.find('-') != std::string_view::npos)
        return make_error(Errc::InvalidArgument, "parsing time \"{}\": not a valid timestamp",
                          value);
    // Unix seconds with an optional fraction.
    auto dot = value.find('.');
    auto secs = parse_int(value.substr(0, dot));
    if (secs) {
        if (dot == std::string_view::npos) return *secs * kNs;
        std::string_view frac = value.substr(dot + 1);
        if (digits(frac)) {
            std::string f(frac.substr(0, std::min<size_t>(frac.size(), 9)));
            f.resize(9, '0');
            return *secs * kNs + std::stoll(f);
        }
    }
    return make_error(Errc::InvalidArgument, "failed to parse value as time or duration: \"{}\"",
                      value);
}

Result<FilterSet> compile_filters(const ImageFilters& f, const std::vector<int64_t>& before_created,
                                  const std::vector<int64_t>& since_created, int64_t now) {
    FilterSet set;
    set.reference = f.reference;
    set.dangling = f.dangling;
    set.labels = f.label;
    for (auto b : before_created) set.before_ns = set.before_ns ? std::min(*set.before_ns, b) : b;
    for (auto s : since_created) set.since_ns = set.since_ns ? std::max(*set.since_ns, s) : s;
    if (f.until.size() > 1)
        return make_error(Errc::InvalidArgument, "more than one until filter specified");
    if (f.until.size() == 1) {
        auto t = parse_timestamp(f.until.front(), now);
        if (!t) return Unexpected(std::move(t).error().wrap("invalid value for 'until' filter"));
        set.until_ns = *t;
    }
    // A malformed reference pattern is refused even when no image would be compared with it.
    for (const auto& p : set.reference) {
        auto ok = path_match(p, "");
        if (!ok) return Unexpected(ok.error());
    }
    return set;
}

Result<bool> matches(const FilterSet& f, Image& img) {
    const auto& rec = img.record;
    if (f.before_ns && rec.created >= *f.before_ns) return false;
    if (f.since_ns && rec.created <= *f.since_ns) return false;
    if (f.until_ns && rec.created > *f.until_ns) return false;
    if (!f.labels.empty() && !match_labels(f.labels, img.config.config.labels)) return false;
    if (f.dangling) {
        // dangling=true: untagged images; dangling=false: images with some reference.
        bool dangling = rec.tags.empty();
        if (*f.dangling != dangling) return false;
        if (!*f.dangling && rec.tags.empty() && rec.repo_digests.empty()) return false;
    }
    if (!f.reference.empty()) {
        auto keep = [&](std::vector<std::string>& refs) -> Result<void> {
            std::vector<std::string> out;
            for (auto& r : refs) {
                for (const auto& p : f.reference) {
                    if (BERTH_TRY(familiar_match(p, r))) {
                        out.push_back(std::move(r));
                        break;
                    }
                }
            }
            refs = std::move(out);
            return {};
        };
        BERTH_TRY(keep(img.record.tags));
        BERTH_TRY(keep(img.record.repo_digests));
        if (img.record.tags.empty() && img.record.repo_digests.empty()) return false;
    }
    return true;
}

}  // namespace berth::image::detail
