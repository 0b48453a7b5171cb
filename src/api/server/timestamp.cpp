#include "berth/api/server/timestamp.hpp"

#include <time.h>

#include <cctype>
#include <charconv>
#include <string>

#include "berth/common/strings.hpp"

namespace berth::api {

namespace {

constexpr int64_t kSecond = 1'000'000'000;

// Go's time.ParseDuration: a sequence of <decimal number><unit>, units ns us µs ms s m h.
bool parse_duration(std::string_view s, int64_t& out) {
    if (s.empty()) return false;
    bool neg = false;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        s.remove_prefix(1);
    }
    if (s == "0") {
        out = 0;
        return true;
    }
    double total = 0;
    bool any = false;
    while (!s.empty()) {
        size_t i = 0;
        while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
        if (i == 0) return false;
        double num = 0;
        try {
            num = std::stod(std::string(s.substr(0, i)));
        } catch (...) {
            return false;
        }
        s.remove_prefix(i);
        size_t j = 0;
        while (j < s.size() && !std::isdigit(static_cast<unsigned char>(s[j])) && s[j] != '.') ++j;
        std::string_view unit = s.substr(0, j);
        s.remove_prefix(j);
        double mult = 0;
        if (unit == "ns")
            mult = 1;
        else if (unit == "us" || unit == "\xc2\xb5s")
            mult = 1e3;
        else if (unit == "ms")
            mult = 1e6;
        else if (unit == "s")
            mult = 1e9;
        else if (unit == "m")
            mult = 60e9;
        else if (unit == "h")
            mult = 3600e9;
        else
            return false;
        total += num * mult;
        any = true;
    }
    if (!any) return false;
    out = static_cast<int64_t>(neg ? -total : total);
    return true;
}

// Unix seconds with an optional fraction of up to 9 digits: "1700000000", "1700000000.5".
bool parse_unix(std::string_view s, int64_t& out) {
    size_t dot = s.find('.');
    auto secs = parse_int(s.substr(0, dot));
    if (!secs) return false;
    int64_t nanos = 0;
    if (dot != std::string_view::npos) {
        std::string_view frac = s.substr(dot + 1);
        if (frac.empty() || frac.size() > 9) return false;
        for (char c : frac)
            if (!std::isdigit(static_cast<unsigned char>(c))) return false;
        std::string padded(frac);
        padded.resize(9, '0');
        nanos = *parse_int(padded);
    }
    out = *secs * kSecond + (*secs < 0 ? -nanos : nanos);
    return true;
}

bool take_int(std::string_view& s, size_t digits, int& v) {
    if (s.size() < digits) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + digits, v);
    if (ec != std::errc{} || p != s.data() + digits) return false;
    s.remove_prefix(digits);
    return true;
}

bool take_char(std::string_view& s, char c) {
    if (s.empty() || s[0] != c) return false;
    s.remove_prefix(1);
    return true;
}

// RFC 3339 and the shorter layouts moby accepts; no zone means UTC (the daemon's local zone
// in moby; Berth daemons run in UTC).
bool parse_rfc3339(std::string_view s, int64_t& out) {
    struct tm tm {};
    int year = 0, mon = 0, day = 0, hh = 0, mm = 0, ss = 0;
    if (!take_int(s, 4, year) || !take_char(s, '-') || !take_int(s, 2, mon) || !take_char(s, '-') ||
        !take_int(s, 2, day))
        return false;
    int64_t nanos = 0;
    int64_t offset = 0;
    if (!s.empty()) {
        if (!take_char(s, 'T')) return false;
        if (!take_int(s, 2, hh) || !take_char(s, ':') || !take_int(s, 2, mm)) return false;
        if (take_char(s, ':') && !take_int(s, 2, ss)) return false;
        if (take_char(s, '.')) {
            size_t n = 0;
            while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
            if (n == 0) return false;
            std::string frac(s.substr(0, std::min<size_t>(n, 9)));
            frac.resize(9, '0');
            nanos = *parse_int(frac);
            s.remove_prefix(n);
        }
        if (take_char(s, 'Z') || take_char(s, 'z')) {
        } else if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
            int sign = s[0] == '-' ? -1 : 1;
            s.remove_prefix(1);
            int oh = 0, om = 0;
            if (!take_int(s, 2, oh)) return false;
            take_char(s, ':');
            if (!take_int(s, 2, om)) return false;
            offset = sign * (oh * 3600 + om * 60);
        }
        if (!s.empty()) return false;
    }
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    time_t t = timegm(&tm);
    out = (static_cast<int64_t>(t) - offset) * kSecond + nanos;
    return true;
}

}  // namespace

int64_t now_unix_nanos() noexcept {
    struct timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

Result<int64_t> parse_timestamp(std::string_view value, int64_t now_ns) {
    std::string_view v = trim(value);
    int64_t out = 0;
    if (parse_unix(v, out)) return out;
    if (parse_duration(v, out)) return now_ns - out;
    if (parse_rfc3339(v, out)) return out;
    return make_error(Errc::InvalidArgument, "invalid timestamp \"{}\"", value);
}

}  // namespace berth::api
