// The Go text/template subset, case by case against what Go (and docker) print.

#include "format/template.hpp"

#include <gtest/gtest.h>

#include "format/output.hpp"

namespace berth::cli::format {
namespace {

using json = nlohmann::json;

std::string run(std::string_view tmpl, const json& dot) {
    auto t = Template::parse(tmpl);
    if (!t) return "PARSE: " + t.error().what();
    std::string out;
    auto r = t->execute(dot, out);
    if (!r) return "EXEC: " + r.error().what();
    return out;
}

const json kImage = json::parse(R"({
  "Id": "sha256:abc", "RepoTags": ["busybox:latest", "busybox:1.36"], "Size": 4261550,
  "Config": {"Env": ["PATH=/bin", "A=1"], "Labels": {"b": "2", "a": "1"}, "Cmd": null,
             "Entrypoint": null},
  "Empty": [], "EmptyMap": {}, "Flag": true, "Off": false, "Zero": 0, "Float": 1.5,
  "Big": 1e21, "Str": "", "Nested": [null, "x"], "Name": "Web"
})");

TEST(Template, FieldsAndMissingKeys) {
    EXPECT_EQ(run("{{.Id}}", kImage), "sha256:abc");
    EXPECT_EQ(run("{{.Size}}", kImage), "4261550");
    EXPECT_EQ(run("{{.Config.Env}}", kImage), "[PATH=/bin A=1]");
    EXPECT_EQ(run("{{.Missing}}", kImage), "<no value>");           // a map's missing key
    EXPECT_EQ(run("{{.Missing.Deeper}}", kImage), "<no value>");
    EXPECT_EQ(run("{{.Config.Cmd}}", kImage), "<no value>");        // JSON null
    EXPECT_EQ(run("{{.Config.Labels}}", kImage), "map[a:1 b:2]");   // keys sorted
    EXPECT_EQ(run("{{.Nested}}", kImage), "[<nil> x]");
    EXPECT_EQ(run("{{.Flag}} {{.Off}} {{.Float}} {{.Big}}", kImage), "true false 1.5 1e+21");
    EXPECT_EQ(run("{{.}}", json("plain")), "plain");
    EXPECT_EQ(run("a{{/* comment */}}b", kImage), "ab");
}

TEST(Template, Functions) {
    EXPECT_EQ(run("{{json .RepoTags}}", kImage), R"(["busybox:latest","busybox:1.36"])");
    EXPECT_EQ(run("{{json .Config.Labels}}", kImage), R"({"a":"1","b":"2"})");
    EXPECT_EQ(run("{{json .Missing}}", kImage), "null");
    EXPECT_EQ(run("{{json .Name}}", json{{"Name", "<a&b>"}}), R"("<a&b>")");  // no HTML escaping
    EXPECT_EQ(run("{{index .RepoTags 0}}", kImage), "busybox:latest");
    EXPECT_EQ(run("{{index .Config.Labels \"a\"}}", kImage), "1");
    EXPECT_EQ(run("{{join .Config.Env \",\"}}", kImage), "PATH=/bin,A=1");
    EXPECT_EQ(run("{{upper .Name}}{{lower .Name}}", kImage), "WEBweb");
    EXPECT_EQ(run("{{title \"hello world\"}}", kImage), "Hello World");
    EXPECT_EQ(run("{{len .RepoTags}}", kImage), "2");
    EXPECT_EQ(run("{{println .Name}}", kImage), "Web\n");
    EXPECT_EQ(run("{{println}}", kImage), "\n");
    EXPECT_EQ(run("{{.Name | upper}}", kImage), "WEB");
    EXPECT_EQ(run("{{.Name | printf \"%s!\"}}", kImage), "Web!");  // piped as the last argument
    EXPECT_EQ(run("{{split \"a:b:c\" \":\"}}", kImage), "[a b c]");
    EXPECT_EQ(run("{{truncate .Id 6}}", kImage), "sha256");
    EXPECT_EQ(run("{{pad .Name 1 2}}|", kImage), " Web  |");
    EXPECT_EQ(run("{{printf \"%s-%d\" .Name .Size}}", kImage), "Web-4261550");
    EXPECT_EQ(run("{{(index .RepoTags 1)}}", kImage), "busybox:1.36");
    EXPECT_EQ(run("{{\"lit\"}} {{3}} {{true}}", kImage), "lit 3 true");
}

TEST(Template, Control) {
    EXPECT_EQ(run("{{range .RepoTags}}[{{.}}]{{end}}", kImage), "[busybox:latest][busybox:1.36]");
    EXPECT_EQ(run("{{range .Empty}}x{{else}}none{{end}}", kImage), "none");
    EXPECT_EQ(run("{{range .Missing}}x{{else}}none{{end}}", kImage), "none");
    EXPECT_EQ(run("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", kImage), "a=1;b=2;");
    EXPECT_EQ(run("{{range $i, $t := .RepoTags}}{{$i}}:{{$t}} {{end}}", kImage),
              "0:busybox:latest 1:busybox:1.36 ");
    EXPECT_EQ(run("{{range .RepoTags}}{{$.Name}}{{end}}", kImage), "WebWeb");
    EXPECT_EQ(run("{{if .Flag}}yes{{else}}no{{end}}", kImage), "yes");
    EXPECT_EQ(run("{{if .Off}}yes{{else}}no{{end}}", kImage), "no");
    EXPECT_EQ(run("{{if .Zero}}yes{{else}}no{{end}}", kImage), "no");
    EXPECT_EQ(run("{{if .Str}}yes{{else}}no{{end}}", kImage), "no");
    EXPECT_EQ(run("{{if .Empty}}yes{{else}}no{{end}}", kImage), "no");
    EXPECT_EQ(run("{{if .Missing}}yes{{end}}", kImage), "");
    EXPECT_EQ(run("{{if eq .Name \"Web\"}}web{{else if eq .Name \"Db\"}}db{{else}}other{{end}}", kImage), "web");
    EXPECT_EQ(run("{{if eq .Name \"X\"}}x{{else if .Flag}}flag{{else}}other{{end}}", kImage), "flag");
    EXPECT_EQ(run("{{if eq .Name \"X\"}}x{{else if .Off}}off{{else}}other{{end}}", kImage), "other");
    EXPECT_EQ(run("{{with .Config}}{{.Env}}{{end}}", kImage), "[PATH=/bin A=1]");
    EXPECT_EQ(run("{{with .Missing}}x{{else}}none{{end}}", kImage), "none");
    EXPECT_EQ(run("{{$x := .Name}}{{$x}}{{$x}}", kImage), "WebWeb");
    EXPECT_EQ(run("{{if and .Flag .Name}}a{{end}}{{if or .Off .Zero}}b{{end}}{{if not .Off}}c{{end}}", kImage), "ac");
    EXPECT_EQ(run("{{if ne .Size 0}}big{{end}}", kImage), "big");
}

TEST(Template, TrimMarkers) {
    EXPECT_EQ(run("a  {{- .Name -}}  b", kImage), "aWebb");
    EXPECT_EQ(run("x\n  {{- if .Flag }}\n  y\n  {{- end}}", kImage), "x\n  y");
    EXPECT_EQ(run("{{-3}}", kImage), "-3");  // a negative number, not a trim marker
}

TEST(Template, ParseErrors) {
    EXPECT_EQ(run("{{.Name", kImage), "PARSE: template: :1: unclosed action");
    EXPECT_EQ(run("{{foo .Name}}", kImage), "PARSE: template: :1: function \"foo\" not defined");
    EXPECT_EQ(run("{{if .Flag}}x", kImage), "PARSE: template: :1: unexpected EOF");
    EXPECT_EQ(run("{{end}}", kImage), "PARSE: template: :1: unexpected {{end}}");
    EXPECT_EQ(run("{{else}}", kImage), "PARSE: template: :1: unexpected {{else}}");
    EXPECT_EQ(run("a\n{{\"x}}", kImage), "PARSE: template: :2: unterminated quoted string");
    EXPECT_EQ(run("{{}}", kImage), "PARSE: template: :1: missing value for command");
}

TEST(Template, ExecErrors) {
    EXPECT_EQ(run("{{index .RepoTags 5}}", kImage),
              "EXEC: template: :1:2: executing \"\" at <index .RepoTags 5>: error calling index: index out of range: 5");
    EXPECT_EQ(run("{{.Name.First}}", kImage),
              "EXEC: template: :1:2: executing \"\" at <.Name.First>: can't evaluate field First in type string");
    EXPECT_EQ(run("ab\n  {{.Id.X}}", kImage),
              "EXEC: template: :2:4: executing \"\" at <.Id.X>: can't evaluate field X in type string");
    // A present null is a nil interface: Go won't take its field (a missing key would be fine).
    EXPECT_EQ(run("{{.Config.Cmd.X}}", kImage),
              "EXEC: template: :1:2: executing \"\" at <.Config.Cmd.X>: nil pointer evaluating interface {}.X");
    EXPECT_EQ(run("{{$nope}}", kImage), "PARSE: template: :1: undefined variable \"$nope\"");
    EXPECT_EQ(run("{{range $v := .RepoTags}}{{end}}{{$v}}", kImage), "PARSE: template: :1: undefined variable \"$v\"");
    // A struct-like row: unknown fields are errors (docker's row contexts are Go structs).
    auto t = Template::parse("{{.Foo}}");
    ASSERT_TRUE(t);
    std::string out;
    auto r = t->execute(json{{"ID", "x"}}, out, true, "*formatter.imageContext");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(),
              "template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo in type *formatter.imageContext");
}

TEST(Template, InspectMissingKeyIsAnError) {
    // docker inspect executes over the decoded map with missingkey=error.
    auto t = Template::parse("{{.Id}}|{{.Missing}}");
    ASSERT_TRUE(t);
    std::string out;
    auto r = t->execute(kImage, out, true, "");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "template: :1:10: executing \"\" at <.Missing>: map has no entry for key \"Missing\"");
    EXPECT_EQ(out, "sha256:abc|");
}

TEST(Template, HeaderFunctionsPassThrough) {
    auto t = Template::parse("{{json .ID}}\t{{upper .Tag}}\t{{join .Names \",\"}}\t{{.Size}}");
    ASSERT_TRUE(t);
    json headers = {{"ID", "IMAGE ID"}, {"Tag", "TAG"}, {"Names", "NAMES"}, {"Size", "SIZE"}};
    EXPECT_EQ(t->execute_header(headers), "IMAGE ID\tTAG\tNAMES\tSIZE");
}

TEST(Output, TableRowsWithHeader) {
    std::vector<json> rows = {{{"Repository", "localhost:5000/my/app"}, {"Tag", "v1"}},
                              {{"Repository", "busybox"}, {"Tag", "latest"}}};
    json headers = {{"Repository", "REPOSITORY"}, {"Tag", "TAG"}};
    auto text = render_rows("table {{.Repository}}\\t{{.Tag}}", rows, headers, "*formatter.imageContext");
    ASSERT_TRUE(text) << text.error().what();
    EXPECT_EQ(*text,
              "REPOSITORY              TAG\n"
              "localhost:5000/my/app   v1\n"
              "busybox                 latest\n");
    auto plain = render_rows("{{.Repository}}:{{.Tag}}", rows, headers, "x");
    ASSERT_TRUE(plain);
    EXPECT_EQ(*plain, "localhost:5000/my/app:v1\nbusybox:latest\n");
    auto js = render_rows("json", rows, headers, "x");
    ASSERT_TRUE(js);
    EXPECT_EQ(*js, "{\"Repository\":\"localhost:5000/my/app\",\"Tag\":\"v1\"}\n{\"Repository\":\"busybox\",\"Tag\":\"latest\"}\n");
    // A row marshals itself with json.Marshal: HTML characters escaped; its fields are not.
    auto esc = render_rows("{{json .}} {{json .Tag}}", {{{"Tag", "<none>"}}}, headers, "x");
    ASSERT_TRUE(esc);
    EXPECT_EQ(*esc, "{\"Tag\":\"\\u003cnone\\u003e\"} \"<none>\"\n");
    auto bad = render_rows("{{.Foo}}", rows, headers, "*formatter.imageContext");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().what(),
              "template parsing error: template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo in type *formatter.imageContext");
}

}  // namespace
}  // namespace berth::cli::format
