// formatter.Context's preFormat/postFormat, with TableWriter(10, 3) for tables.

#include "output.hpp"

#include "table_writer.hpp"
#include "template.hpp"

namespace berth::cli::format {

namespace {

// preFormat: drop the "table" key, trim spaces, turn the two-character escapes \t and \n into
// the characters.
std::string pre_format(std::string_view format) {
    std::string_view f = format;
    if (is_table_format(f)) f.remove_prefix(5);
    while (!f.empty() && f.front() == ' ') f.remove_prefix(1);
    while (!f.empty() && f.back() == ' ') f.remove_suffix(1);
    std::string out;
    for (size_t i = 0; i < f.size(); ++i) {
        if (f[i] == '\\' && i + 1 < f.size() && (f[i + 1] == 't' || f[i + 1] == 'n')) {
            out += f[i + 1] == 't' ? '\t' : '\n';
            ++i;
        } else {
            out += f[i];
        }
    }
    return out;
}

Result<Template> parse_for_output(const std::string& text) {
    auto t = Template::parse(text);
    if (!t) return Unexpected(std::move(t.error()).wrap("template parsing error"));
    return t;
}

}  // namespace

bool is_table_format(std::string_view format) { return format.substr(0, 5) == "table"; }

Result<std::string> render_rows(std::string_view format, const std::vector<nlohmann::json>& rows,
                                const nlohmann::json& headers, std::string_view row_type) {
    std::string text = format == "json" ? "{{json .}}" : pre_format(format);
    Template t = BERTH_TRY(parse_for_output(text));
    std::string body;
    for (const auto& row : rows) {
        auto r = t.execute(row, body, true, row_type);
        if (!r) return Unexpected(std::move(r.error()).wrap("template parsing error"));
        body += '\n';
    }
    if (!is_table_format(format)) return body;
    TableWriter tw;
    tw.write(t.execute_header(headers));
    tw.write("\n");
    tw.write(body);
    return tw.flush();
}

Result<std::string> render_value(std::string_view format, const nlohmann::json& value) {
    std::string text = format == "json" ? "{{json .}}" : pre_format(format);
    Template t = BERTH_TRY(parse_for_output(text));
    std::string out;
    auto r = t.execute(value, out);
    if (!r) return Unexpected(std::move(r.error()).wrap("template parsing error"));
    out += '\n';
    return out;
}

std::string ellipsis(std::string_view s, size_t max) {
    if (max == 0) return "";
    // Count characters, not bytes (docker counts display width; wide runes are rare here).
    std::vector<size_t> starts;
    for (size_t i = 0; i < s.size(); ++i)
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
    if (starts.size() <= max) return std::string(s);
    if (max == 1) return std::string(s.substr(0, starts.size() > 1 ? starts[1] : s.size()));
    return std::string(s.substr(0, starts[max - 1])) + "…";
}

std::string truncate_id(std::string_view id) {
    if (auto c = id.find(':'); c != std::string_view::npos) id.remove_prefix(c + 1);
    return std::string(id.substr(0, 12));
}

}  // namespace berth::cli::format
