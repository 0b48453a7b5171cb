#include "berth/logfile/format.hpp"

#include "berth/common/time.hpp"

namespace berth::logfile {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence at s[i] (whose first byte is >= 0x80) by Go's
// utf8.DecodeRune rules, or 0 where Go returns (RuneError, 1): overlong forms, surrogates,
// code points above U+10FFFF and truncated sequences are invalid, one byte at a time.
size_t utf8_len(std::string_view s, size_t i) noexcept {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // accepted range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (size_t k = 2; k < n; ++k)
        if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
    return n;
}

}  // namespace

std::string_view stream_name(Stream s) noexcept {
    return s == Stream::Stdout ? "stdout" : "stderr";
}

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    size_t start = 0;
    const auto flush = [&](size_t upto) {
        if (start < upto) out.append(s.data() + start, upto - start);
    };
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if (c >= 0x20 && c != '\\' && c != '"' && c != '<' && c != '>' && c != '&') {
                ++i;
                continue;
            }
            flush(i);
            switch (c) {
                case '\\':
                    out += "\\\\";
                    break;
                case '"':
                    out += "\\\"";
                    break;
                case '\n':
                    out += "\\n";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                default:
                    out += "\\u00";
                    out += kHex[c >> 4];
                    out += kHex[c & 0xF];
            }
            start = ++i;
            continue;
        }
        const size_t n = utf8_len(s, i);
        if (n == 0) {
            flush(i);
            out += "\\ufffd";
            start = ++i;
            continue;
        }
        // U+2028 and U+2029 (E2 80 A8/A9) break JavaScript string literals; Go escapes them.
        if (n == 3 && c == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
            (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8) {
            flush(i);
            out += "\\u202";
            out += kHex[static_cast<unsigned char>(s[i + 2]) == 0xA8 ? 8 : 9];
            i += n;
            start = i;
            continue;
        }
        i += n;
    }
    flush(s.size());
    out += '"';
}

void append_entry(std::string& out, std::string_view log, bool newline, Stream stream,
                  int64_t time_ns, std::string_view attrs_json) {
    append_entry(out, log, newline, stream, format_rfc3339_nano(time_ns), attrs_json);
}

void append_entry(std::string& out, std::string_view log, bool newline, Stream stream,
                  std::string_view time_rfc3339, std::string_view attrs_json) {
    // Field order and omitempty exactly as JSONLogs.MarshalJSONBuf; "stream" is never empty.
    out += '{';
    if (!log.empty() || newline) {
        out += "\"log\":";
        append_json_string(out, log);
        if (newline) {
            // The '\n' is ASCII, so escaping it apart from `log` gives the same bytes.
            out.pop_back();
            out += "\\n\"";
        }
        out += ',';
    }
    out += "\"stream\":\"";
    out += stream_name(stream);
    out += "\",";
    if (!attrs_json.empty()) {
        out += "\"attrs\":";
        out += attrs_json;
        out += ',';
    }
    out += "\"time\":\"";
    out += time_rfc3339;
    out += "\"}\n";
}

std::string encode_attrs(const std::map<std::string, std::string>& attrs) {
    if (attrs.empty()) return {};
    std::string out = "{";
    for (const auto& [k, v] : attrs) {
        if (out.size() > 1) out += ',';
        append_json_string(out, k);
        out += ':';
        append_json_string(out, v);
    }
    out += '}';
    return out;
}

std::string format_timestamp(int64_t unix_ns) {
    // format_rfc3339_nano trims the fraction; pad it back to 9 digits.
    std::string s = format_rfc3339_nano(unix_ns);
    s.pop_back();  // 'Z'
    const size_t dot = s.find('.', 19);
    size_t digits = 0;
    if (dot == std::string::npos)
        s += '.';
    else
        digits = s.size() - dot - 1;
    s.append(9 - digits, '0');
    s += 'Z';
    return s;
}

}  // namespace berth::logfile
