// Go's json.Indent, character by character (encoding/json/indent.go's algorithm).

#include "json_text.hpp"

namespace berth::cli::format {

std::string json_indent(std::string_view src, std::string_view indent) {
    std::string out;
    out.reserve(src.size() * 2);
    bool need_indent = false;  // an opening bracket was written; indent before the next value
    int depth = 0;
    auto newline = [&](int d) {
        out += '\n';
        for (int i = 0; i < d; ++i) out += indent;
    };
    for (size_t i = 0; i < src.size(); ++i) {
        char c = src[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
        if (need_indent && c != ']' && c != '}') {
            need_indent = false;
            ++depth;
            newline(depth);
        }
        switch (c) {
            case '"': {
                size_t j = i + 1;
                while (j < src.size() && src[j] != '"') j += src[j] == '\\' ? 2 : 1;
                out.append(src.substr(i, j - i + 1));
                i = j;
                break;
            }
            case '{':
            case '[':
                out += c;
                need_indent = true;
                break;
            case ',':
                out += c;
                newline(depth);
                break;
            case ':':
                out += c;
                out += ' ';
                break;
            case '}':
            case ']':
                if (need_indent) {
                    need_indent = false;  // "{}" and "[]" stay compact
                } else {
                    --depth;
                    newline(depth);
                }
                out += c;
                break;
            default: out += c; break;
        }
    }
    return out;
}

}  // namespace berth::cli::format

namespace berth::cli::format {

std::string json_compact(std::string_view src) {
    std::string out;
    out.reserve(src.size());
    for (size_t i = 0; i < src.size(); ++i) {
        char c = src[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
        if (c == '"') {
            size_t j = i + 1;
            while (j < src.size() && src[j] != '"') j += src[j] == '\\' ? 2 : 1;
            out.append(src.substr(i, j - i + 1));
            i = j;
            continue;
        }
        out += c;
    }
    return out;
}

}  // namespace berth::cli::format
