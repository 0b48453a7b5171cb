// Go's time.ParseDuration and RFC 3339 layouts, moby's api/types/time.GetTimestamp. Calendar
// arithmetic is done here (days from a civil date and back, proleptic Gregorian) rather than
// with timegm/gmtime_r: no struct tm normalisation to second-guess, and no range limits of
// time_t beyond int64_t nanoseconds.

#include "berth/common/time.hpp"

#include <time.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "berth/common/strings.hpp"

namespace berth {

namespace {

constexpr int64_t kSecondsPerDay = 86400;
constexpr uint64_t kOneShl63 = uint64_t{1} << 63;  // |INT64_MIN|: Go's duration bound

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2 ? 1 : 0;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

struct Civil {
    int64_t year;
    int month;
    int day;
};

// The inverse of days_from_civil.
Civil civil_from_days(int64_t z) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    return {yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

int days_in_month(int64_t year, int month) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : kDays[month - 1];
}

// Floor division (Go's Unix() floors; C++'s '/' truncates toward zero).
int64_t floor_div(int64_t a, int64_t b) {
    return a / b - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);
}

// Takes exactly `n` ASCII digits from the front of `s`.
bool take_digits(std::string_view& s, size_t n, int& out) {
    if (s.size() < n) return false;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
        if (!is_digit(s[i])) return false;
        v = v * 10 + (s[i] - '0');
    }
    out = v;
    s.remove_prefix(n);
    return true;
}

bool take_char(std::string_view& s, char c) {
    if (s.empty() || s.front() != c) return false;
    s.remove_prefix(1);
    return true;
}

// A fraction of a second after its '.' or ',': one or more digits, the first nine kept (Go
// drops the rest too).
int64_t take_fraction(std::string_view& s) {
    int64_t ns = 0;
    size_t n = 0;
    for (; n < s.size() && is_digit(s[n]); ++n)
        if (n < 9) ns = ns * 10 + (s[n] - '0');
    for (size_t k = n; k < 9; ++k) ns *= 10;
    s.remove_prefix(n);
    return ns;
}

// The layouts both parsers read: "2006-01-02", then "T15", "T15:04" or "T15:04:05" with an
// optional fraction, then an optional zone "Z" or "±07:00". `rfc3339` requires the seconds
// and the zone (time.RFC3339); otherwise the shorter forms moby's GetTimestamp picks among are
// accepted too, without a zone read as UTC.
Result<int64_t> parse_date_time(std::string_view value, bool rfc3339) {
    auto fail = [&](std::string_view why) {
        return make_error(Errc::InvalidArgument, "parsing time \"{}\": {}", value, why);
    };
    const std::string_view form = rfc3339 ? "not in the form 2006-01-02T15:04:05Z07:00"
                                          : "not in the form 2006-01-02[T15[:04[:05[.999999999]]]]"
                                            "[Z07:00]";
    std::string_view s = value;
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!take_digits(s, 4, year) || !take_char(s, '-') || !take_digits(s, 2, month) ||
        !take_char(s, '-') || !take_digits(s, 2, day))
        return fail(form);
    if (month < 1 || month > 12) return fail("month out of range");
    if (day < 1 || day > days_in_month(year, month)) return fail("day out of range");
    int64_t frac_ns = 0;
    if (take_char(s, 'T') || take_char(s, 't')) {
        if (!take_digits(s, 2, hour)) return fail(form);
        bool has_seconds = false;
        if (take_char(s, ':')) {
            if (!take_digits(s, 2, minute)) return fail(form);
            if (take_char(s, ':')) {
                if (!take_digits(s, 2, second)) return fail(form);
                has_seconds = true;
            }
        }
        if (rfc3339 && !has_seconds) return fail(form);
        if (hour > 23) return fail("hour out of range");
        if (minute > 59) return fail("minute out of range");
        if (second > 59) return fail("second out of range");
        if (has_seconds && s.size() >= 2 && (s[0] == '.' || s[0] == ',') && is_digit(s[1])) {
            s.remove_prefix(1);
            frac_ns = take_fraction(s);
        }
    } else if (rfc3339) {
        return fail(form);
    }
    int64_t offset = 0;
    if (take_char(s, 'Z') || take_char(s, 'z')) {
        // UTC: no offset.
    } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        const int64_t sign = s.front() == '-' ? -1 : 1;
        s.remove_prefix(1);
        int oh = 0, om = 0;
        if (!take_digits(s, 2, oh) || !take_char(s, ':') || !take_digits(s, 2, om))
            return fail(form);
        if (oh > 23 || om > 59) return fail("time zone offset out of range");
        offset = sign * (oh * 3600 + om * 60);
    } else if (rfc3339) {
        return fail(form);
    }
    if (!s.empty()) return fail(fmt::format("extra text \"{}\"", s));
    const int64_t secs = days_from_civil(year, month, day) * kSecondsPerDay + hour * 3600 +
                         minute * 60 + second - offset;
    // Years before 1678 or after 2262 (Go's zero time "0001-01-01T00:00:00Z" among them) have
    // no int64 nanoseconds; Go's UnixNano would be undefined there.
    int64_t ns = 0;
    if (__builtin_mul_overflow(secs, kNanosPerSecond, &ns) ||
        __builtin_add_overflow(ns, frac_ns, &ns))
        return fail("out of the range of int64 nanoseconds since 1970");
    return ns;
}

// moby's parseTimestamp: "<seconds>[.<fraction>]", the fraction scaled to nanoseconds. Only
// reached without a '-' (that is a date to moby), so the seconds are not negative.
std::optional<int64_t> parse_unix_seconds(std::string_view value) {
    const size_t dot = value.find('.');
    const auto secs = parse_int(value.substr(0, dot));
    constexpr int64_t kMaxSecs = std::numeric_limits<int64_t>::max() / kNanosPerSecond - 1;
    if (!secs || *secs < 0 || *secs > kMaxSecs) return std::nullopt;
    int64_t frac_ns = 0;
    if (dot != std::string_view::npos) {
        std::string_view frac = value.substr(dot + 1);
        if (frac.empty()) return std::nullopt;
        for (char c : frac)
            if (!is_digit(c)) return std::nullopt;
        frac_ns = take_fraction(frac);
    }
    return *secs * kNanosPerSecond + frac_ns;
}

}  // namespace

int64_t now_unix_nanos() noexcept {
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}

Result<int64_t> parse_go_duration(std::string_view s) {
    const std::string_view orig = s;
    auto invalid = [&] {
        return make_error(Errc::InvalidArgument, "time: invalid duration \"{}\"", orig);
    };
    bool neg = false;
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
        neg = s.front() == '-';
        s.remove_prefix(1);
    }
    if (s == "0") return 0;
    if (s.empty()) return invalid();
    uint64_t total = 0;
    while (!s.empty()) {
        if (s.front() != '.' && !is_digit(s.front())) return invalid();
        // Whole part: an overflow is an error (Go's leadingInt).
        uint64_t v = 0;
        size_t n = 0;
        for (; n < s.size() && is_digit(s[n]); ++n) {
            if (v > kOneShl63 / 10) return invalid();
            v = v * 10 + static_cast<uint64_t>(s[n] - '0');
            if (v > kOneShl63) return invalid();
        }
        const bool pre = n != 0;
        s.remove_prefix(n);
        // Fraction: digits past what fits are ignored (Go's leadingFraction).
        uint64_t f = 0;
        double scale = 1;
        bool post = false;
        if (take_char(s, '.')) {
            bool overflow = false;
            size_t k = 0;
            for (; k < s.size() && is_digit(s[k]); ++k) {
                if (overflow) continue;
                if (f > (kOneShl63 - 1) / 10) {
                    overflow = true;
                    continue;
                }
                const uint64_t y = f * 10 + static_cast<uint64_t>(s[k] - '0');
                if (y > kOneShl63) {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10;
            }
            post = k != 0;
            s.remove_prefix(k);
        }
        if (!pre && !post) return invalid();  // "." or ".s"
        size_t u = 0;
        while (u < s.size() && s[u] != '.' && !is_digit(s[u])) ++u;
        const std::string_view unit = s.substr(0, u);
        s.remove_prefix(u);
        uint64_t mult = 0;
        if (unit == "ns")
            mult = 1;
        else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs")  // µ and μ
            mult = 1'000;
        else if (unit == "ms")
            mult = 1'000'000;
        else if (unit == "s")
            mult = 1'000'000'000;
        else if (unit == "m")
            mult = 60'000'000'000;
        else if (unit == "h")
            mult = 3'600'000'000'000;
        else if (unit.empty())
            return make_error(Errc::InvalidArgument, "time: missing unit in duration \"{}\"", orig);
        else
            return make_error(Errc::InvalidArgument, "time: unknown unit \"{}\" in duration \"{}\"",
                              unit, orig);
        if (v > kOneShl63 / mult) return invalid();
        v *= mult;
        if (f > 0) {
            v +=
                static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(mult) / scale));
            if (v > kOneShl63) return invalid();
        }
        total += v;
        if (total > kOneShl63) return invalid();
    }
    if (neg)
        return total == kOneShl63 ? std::numeric_limits<int64_t>::min()
                                  : -static_cast<int64_t>(total);
    if (total > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return invalid();
    return static_cast<int64_t>(total);
}

Result<int64_t> parse_rfc3339(std::string_view s) {
    return parse_date_time(s, true);
}

std::string format_rfc3339_nano(int64_t unix_ns) {
    const int64_t secs = floor_div(unix_ns, kNanosPerSecond);
    const int64_t frac = unix_ns - secs * kNanosPerSecond;
    const int64_t days = floor_div(secs, kSecondsPerDay);
    const int64_t sod = secs - days * kSecondsPerDay;
    const Civil c = civil_from_days(days);
    std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", c.year, c.month, c.day,
                                  sod / 3600, sod / 60 % 60, sod % 60);
    if (frac != 0) {
        std::string f = fmt::format(".{:09}", frac);
        while (f.back() == '0') f.pop_back();
        out += f;
    }
    out += 'Z';
    return out;
}

Result<int64_t> parse_timestamp(std::string_view value, int64_t now_ns) {
    // "0" is the epoch, not a zero duration (moby checks for it first).
    if (value != "0") {
        if (auto d = parse_go_duration(value)) {
            int64_t t = 0;
            if (__builtin_sub_overflow(now_ns, *d, &t))
                return make_error(Errc::InvalidArgument, "duration \"{}\" out of range", value);
            return floor_div(t, kNanosPerSecond) * kNanosPerSecond;
        }
    }
    auto t = parse_date_time(value, false);
    if (t) return *t;
    // moby: with a '-' it was meant as a date, and the date parser's error says why.
    if (value.find('-') != std::string_view::npos) return Unexpected(std::move(t).error());
    if (auto unix = parse_unix_seconds(value)) return *unix;
    return make_error(Errc::InvalidArgument, "failed to parse value as time or duration: \"{}\"",
                      value);
}

}  // namespace berth
