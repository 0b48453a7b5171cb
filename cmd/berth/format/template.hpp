#pragma once
// A small subset of Go's text/template, evaluated over nlohmann::json values, so that `berth
// ... --format` accepts the templates people already write for the docker CLI.
//
// Supported: text and actions with `{{-`/`-}}` trimming and `{{/* comments */}}`; fields
// `.A.B`, `.`, variables `$` and `$x.A` (declared by `range $i, $v := ...` or `$x := ...`);
// string, number and bool literals; pipelines `a | f b`; parenthesised pipelines; `if`/`else
// if`/`else`, `range` (with `else`), `with`; functions json, join, split, index, len, upper,
// lower, title, truncate, pad, print, printf, println, not, and, or, eq, ne.
// Values print as Go prints the values docker decodes: strings raw, null or missing as
// "<no value>", arrays "[a b]", objects "map[k:v]" (keys sorted).

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "berth/common/result.hpp"

namespace berth::cli::format {

namespace detail {
struct Node;
}

/// A parsed template. Copyable (the tree is shared and immutable).
class Template {
public:
    /// Parses `text` (already without docker's "table " prefix). Errors (InvalidArgument) read
    /// like Go's: `template: :1:8: unexpected "}" in operand`.
    [[nodiscard]] static Result<Template> parse(std::string_view text);

    /// Executes over `dot`. With `strict_root` set, a key missing from the root object is an
    /// error (docker's row contexts are Go structs; their unknown fields are errors) and
    /// `root_type` names the type in the message; with an empty `root_type` the message is
    /// missingkey=error's "map has no entry for key" (docker inspect's raw fallback). Appends to `out` even when it fails, as Go
    /// writes the output produced before the error.
    [[nodiscard]] Result<void> execute(const nlohmann::json& dot, std::string& out,
                                       bool strict_root = false,
                                       std::string_view root_type = "") const;

    /// Executes with docker's header functions: json, join, split, upper, lower, title,
    /// truncate and pad return their first argument unchanged, so that a table header row is
    /// the template run over a map of column titles. Errors are ignored (as docker does).
    [[nodiscard]] std::string execute_header(const nlohmann::json& headers) const;

private:
    std::shared_ptr<const detail::Node> root_;
    std::string text_;
};

/// Renders a JSON value the way Go's fmt prints the value decoded from it.
std::string go_print(const nlohmann::json& v);

/// Renders a value as docker's `json` template function does: compact, keys sorted, no HTML
/// escaping.
std::string go_json(const nlohmann::json& v);

/// Same, with `<`, `>` and `&` escaped as \u003c, \u003e, \u0026 (Go's json.Marshal).
std::string go_json_html(const nlohmann::json& v);

}  // namespace berth::cli::format
