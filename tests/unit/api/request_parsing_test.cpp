// Pure parsing and formatting helpers of the API server: no sockets.

#include <gtest/gtest.h>

#include "berth/api/server/api_version.hpp"
#include "berth/api/server/event_filter.hpp"
#include "berth/api/server/filters.hpp"
#include "berth/api/server/http_status.hpp"
#include "berth/api/server/progress.hpp"
#include "berth/api/server/query.hpp"
#include "berth/api/server/response.hpp"
#include "berth/api/server/router.hpp"
#include "berth/api/types/events.hpp"
#include "berth/api/types/image.hpp"
#include "berth/api/types/system.hpp"

namespace berth::api {
namespace {

TEST(ApiVersion, ComparesNumerically) {
    EXPECT_LT(compare_api_versions("1.9", "1.10"), 0);
    EXPECT_EQ(compare_api_versions("1.44", "1.44"), 0);
    EXPECT_EQ(compare_api_versions("1.44", "1.44.0"), 0);
    EXPECT_GT(compare_api_versions("1.45", "1.44"), 0);
    EXPECT_LT(compare_api_versions("1.12", "1.24"), 0);
    EXPECT_GT(compare_api_versions("2", "1.99"), 0);
}

TEST(Query, RepeatedKeysAndPercentDecoding) {
    Query q = Query::parse("names=a&names=b%2Fc&changes=CMD+%5B%22sh%22%5D&empty=&flag");
    EXPECT_EQ(q.get_all("names"), (std::vector<std::string>{"a", "b/c"}));
    EXPECT_EQ(q.get("changes"), "CMD [\"sh\"]");
    EXPECT_TRUE(q.has("empty"));
    EXPECT_TRUE(q.has("flag"));
    EXPECT_FALSE(q.has("nope"));
    EXPECT_EQ(q.get("nope"), "");
    EXPECT_EQ(percent_decode("a%zzb%4", false), "a%zzb%4");
    EXPECT_EQ(percent_decode("a+b", false), "a+b");
}

TEST(Query, LenientBooleans) {
    for (const char* f : {"", "0", "no", "false", "none", "False", "NONE", " No "})
        EXPECT_FALSE(lenient_bool(f)) << f;
    for (const char* t : {"1", "true", "True", "yes", "anything"})
        EXPECT_TRUE(lenient_bool(t)) << t;
    Query q = Query::parse("v=True&link=False&force=none&n=12&bad=x");
    EXPECT_TRUE(q.get_bool("v"));
    EXPECT_FALSE(q.get_bool("link"));
    EXPECT_FALSE(q.get_bool("force"));
    EXPECT_FALSE(q.get_bool("absent"));
    EXPECT_TRUE(q.get_bool_or("absent", true));
    EXPECT_EQ(*q.get_int_or("n", 0), 12);
    EXPECT_EQ(*q.get_int_or("absent", -1), -1);
    EXPECT_FALSE(q.get_int_or("bad", 0).has_value());
}

TEST(Filters, BothEncodingsAndEmpty) {
    auto a = Filters::parse(R"({"label":{"a=b":true,"off":false},"dangling":{"true":true}})");
    ASSERT_TRUE(a) << a.error().what();
    EXPECT_EQ(a->get("label"), (std::vector<std::string>{"a=b"}));
    EXPECT_EQ(a->get("dangling"), (std::vector<std::string>{"true"}));
    auto b = Filters::parse(R"({"label":["com.docker.compose.project=p","x"]})");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->get("label").size(), 2u);
    EXPECT_TRUE(Filters::parse("")->empty());
    EXPECT_TRUE(Filters::parse("{}")->empty());
    auto bad = Filters::parse("{nope");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::InvalidArgument);
    EXPECT_FALSE(Filters::parse(R"({"label":"a"})"));
    EXPECT_FALSE(Filters::parse(R"(["a"])"));
}

TEST(Filters, MatchHelpers) {
    Filters f;
    f.add("label", "a=b");
    f.add("label", "c");
    f.add("id", "abc");
    EXPECT_TRUE(f.match_kv_list("label", {{"a", "b"}, {"c", "x"}}));
    EXPECT_FALSE(f.match_kv_list("label", {{"a", "z"}, {"c", "x"}}));
    EXPECT_FALSE(f.match_kv_list("label", {{"a", "b"}}));
    EXPECT_FALSE(f.match_kv_list("label", {}));
    EXPECT_TRUE(f.match_kv_list("other", {}));
    EXPECT_TRUE(f.fuzzy_match("id", "abcdef"));
    EXPECT_FALSE(f.fuzzy_match("id", "abd"));
    EXPECT_TRUE(f.exact_match("absent", "x"));
    auto v = f.validate({"label"});
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().msg, "invalid filter 'id'");
    Filters d;
    d.add("dangling", "true");
    bool present = false;
    EXPECT_TRUE(*d.get_bool("dangling", present));
    EXPECT_TRUE(present);
    d.add("dangling", "maybe");
    EXPECT_FALSE(d.get_bool("dangling", present));
}

TEST(HttpStatus, OneMappingForEveryCategory) {
    EXPECT_EQ(http_status_for(Errc::NotFound), 404);
    EXPECT_EQ(http_status_for(Errc::InvalidArgument), 400);
    EXPECT_EQ(http_status_for(Errc::Conflict), 409);
    EXPECT_EQ(http_status_for(Errc::AlreadyExists), 409);
    EXPECT_EQ(http_status_for(Errc::PermissionDenied), 403);
    EXPECT_EQ(http_status_for(Errc::Unavailable), 503);
    EXPECT_EQ(http_status_for(Errc::Unsupported), 501);
    EXPECT_EQ(http_status_for(Errc::Internal), 500);
}

TEST(Progress, MobyBar) {
    EXPECT_EQ(progress_bar(0, 0), "");
    EXPECT_EQ(progress_bar(1000, 0), "     1kB");
    std::string bar = progress_bar(50, 100);
    EXPECT_EQ(bar, "[" + std::string(25, '=') + ">" + std::string(25, ' ') + "]      50B/100B");
    auto e = error_line("boom");
    EXPECT_EQ(e["error"], "boom");
    EXPECT_EQ(e["errorDetail"]["message"], "boom");
}

TEST(Mux, FrameHeader) {
    std::string h = mux_header(MuxStream::Stderr, 0x01020304);
    ASSERT_EQ(h.size(), 8u);
    EXPECT_EQ(h, std::string("\x02\x00\x00\x00\x01\x02\x03\x04", 8));
}

TEST(Router, GreedyNamesAndOrder) {
    Router r;
    int hit = 0;
    r.add("GET", "/images/json", [&](Request&, ResponseWriter&) -> Result<void> {
        hit = 1;
        return {};
    });
    r.add("GET", "/images/{name:.*}/json", [&](Request&, ResponseWriter&) -> Result<void> {
        hit = 2;
        return {};
    });
    r.add("POST", "/containers/{id}/start", [&](Request&, ResponseWriter&) -> Result<void> {
        hit = 3;
        return {};
    });
    auto m = r.match("GET", "/images/localhost:5000/a/b@sha256:00/json");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->vars["name"], "localhost:5000/a/b@sha256:00");
    m = r.match("GET", "/images/json");
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->vars.empty());
    EXPECT_TRUE(r.match("HEAD", "/images/json"));  // HEAD served by GET
    EXPECT_FALSE(r.match("POST", "/images/json"));
    EXPECT_FALSE(r.match("POST", "/containers/a/b/start"));  // {id} is one segment
    EXPECT_TRUE(r.match("POST", "/containers/abc/start"));
}

TEST(Router, VariablesTakeTheLongestTextThatLetsTheRestMatch) {
    Router r;
    auto none = [](Request&, ResponseWriter&) -> Result<void> { return {}; };
    r.add("GET", "/containers/{name:.*}/json", none);
    r.add("GET", "/containers/{name:.*}/attach/ws", none);
    r.add("POST", "/a/{x}-{y}/b", none);
    r.add("DELETE", "/images/{name:.*}", none);
    // The last "/json" ends the name, as (.*) does: a name may itself hold "/json".
    auto m = r.match("GET", "/containers/x/json/json");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->vars["name"], "x/json");
    m = r.match("GET", "/containers//json");  // an empty name still routes (then 404s)
    ASSERT_TRUE(m);
    EXPECT_EQ(m->vars["name"], "");
    EXPECT_FALSE(r.match("GET", "/containers/x/json2"));
    EXPECT_FALSE(r.match("GET", "/containers/x/jso"));
    m = r.match("GET", "/containers/web/attach/ws");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->vars["name"], "web");
    // Two one-segment variables in a segment: the first as long as it can be.
    m = r.match("POST", "/a/p-q-r/b");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->vars["x"], "p-q");
    EXPECT_EQ(m->vars["y"], "r");
    EXPECT_FALSE(r.match("POST", "/a/-q/b"));  // {x} is at least one character
    m = r.match("DELETE", "/images/localhost:5000/a:1");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->vars["name"], "localhost:5000/a:1");
    EXPECT_FALSE(r.match("DELETE", "/images/a\nb"));  // "." does not match a line break
    EXPECT_FALSE(r.match("DELETE", "/image"));
}

TEST(Router, RefusesPatternsItCannotMatch) {
    Router r;
    auto none = [](Request&, ResponseWriter&) -> Result<void> { return {}; };
    EXPECT_THROW(r.add("GET", "/a/{id:[0-9]+}", none), std::invalid_argument);
    EXPECT_THROW(r.add("GET", "/a/{id", none), std::invalid_argument);
}

types::EventMessage container_event(const std::string& action) {
    types::EventMessage m;
    m.type = "container";
    m.action = action;
    m.actor_id = "0123456789abcdef";
    m.attributes = {{"name", "web"}, {"image", "busybox:latest"}, {"com.example", "1"}};
    m.time_nano = 1'700'000'000'123'456'789;
    return m;
}

TEST(Events, JsonHasDeprecatedFieldsForContainers) {
    nlohmann::json j = container_event("die");
    EXPECT_EQ(j["status"], "die");
    EXPECT_EQ(j["id"], "0123456789abcdef");
    EXPECT_EQ(j["from"], "busybox:latest");
    EXPECT_EQ(j["Type"], "container");
    EXPECT_EQ(j["Actor"]["Attributes"]["name"], "web");
    EXPECT_EQ(j["scope"], "local");
    EXPECT_EQ(j["time"], 1700000000);
    EXPECT_EQ(j["timeNano"], 1'700'000'000'123'456'789);
    types::EventMessage n;
    n.type = "network";
    n.action = "create";
    nlohmann::json jn = n;
    EXPECT_FALSE(jn.contains("status"));
    EXPECT_TRUE(jn["Actor"]["Attributes"].is_object());
}

TEST(Events, Filters) {
    auto f = [](const char* json) { return *Filters::parse(json); };
    auto die = container_event("die");
    auto exec = container_event("exec_start: sh -c true");
    types::EventMessage tag;
    tag.type = "image";
    tag.action = "tag";
    tag.actor_id = "sha256:aaaa";
    tag.attributes = {{"name", "busybox:latest"}};
    EXPECT_TRUE(event_matches(f(R"({"type":{"container":true}})"), die));
    EXPECT_FALSE(event_matches(f(R"({"type":{"container":true}})"), tag));
    EXPECT_TRUE(event_matches(f(R"({"event":["die"]})"), die));
    EXPECT_TRUE(event_matches(f(R"({"event":["exec_start"]})"), exec));
    EXPECT_FALSE(event_matches(f(R"({"event":["start"]})"), die));
    EXPECT_TRUE(event_matches(f(R"({"image":["busybox"]})"), die));
    EXPECT_TRUE(event_matches(f(R"({"image":["busybox"]})"), tag));
    EXPECT_FALSE(event_matches(f(R"({"image":["alpine"]})"), tag));
    EXPECT_TRUE(event_matches(f(R"({"label":["com.example=1"]})"), die));
    EXPECT_FALSE(event_matches(f(R"({"label":["com.example=2"]})"), die));
    EXPECT_TRUE(event_matches(f(R"({"container":["web"]})"), die));
    EXPECT_TRUE(event_matches(f(R"({"container":["0123"]})"), die));
    EXPECT_FALSE(event_matches(f(R"({"container":["web"]})"), tag));
    EXPECT_FALSE(validate_event_filters(f(R"({"colour":["red"]})")));
    EXPECT_TRUE(validate_event_filters(f(R"({"type":["image"],"label":["a"]})")));
}

TEST(Types, ImageJsonNeverNull) {
    types::ImageSummary s;
    nlohmann::json j = s;
    EXPECT_TRUE(j["RepoTags"].is_array());
    EXPECT_TRUE(j["RepoDigests"].is_array());
    EXPECT_TRUE(j["Labels"].is_object());
    EXPECT_EQ(j["SharedSize"], -1);
    EXPECT_EQ(j["Containers"], -1);
    EXPECT_FALSE(j.contains("VirtualSize"));
    types::ImageInspect i;
    nlohmann::json ji = i;
    EXPECT_TRUE(ji["ContainerConfig"].is_object());
    EXPECT_TRUE(ji["Config"].is_object());
    EXPECT_EQ(ji["RootFS"]["Type"], "layers");
    EXPECT_TRUE(ji["GraphDriver"]["Data"].is_object());
    EXPECT_EQ(ji["Metadata"]["LastTagTime"], "0001-01-01T00:00:00Z");
    EXPECT_FALSE(ji.contains("Variant"));
    types::HistoryItem h;
    nlohmann::json jh = h;
    EXPECT_EQ(jh["Id"], "<missing>");
    EXPECT_TRUE(jh["Tags"].is_array());
    nlohmann::json jp = types::ImagesPruneReport{};
    EXPECT_TRUE(jp["ImagesDeleted"].is_array());
    nlohmann::json jd = types::DeleteResponse{"busybox:latest", ""};
    EXPECT_EQ(jd.dump(), R"({"Untagged":"busybox:latest"})");
}

TEST(Types, SystemJson) {
    types::Info info;
    nlohmann::json j = info;
    EXPECT_EQ(j["Swarm"]["LocalNodeState"], "inactive");
    EXPECT_EQ(j["IndexServerAddress"], "https://index.docker.io/v1/");
    EXPECT_TRUE(j["Warnings"].is_array());
    EXPECT_TRUE(j["Plugins"]["Volume"].is_array());
    types::DiskUsage du;
    nlohmann::json jd = du;
    EXPECT_TRUE(jd["Containers"].is_array());
    EXPECT_TRUE(jd["BuildCache"].is_array());
    du.parts.volumes = false;
    jd = du;
    EXPECT_TRUE(jd["Volumes"].is_null());
    types::Version v;
    v.version = "0.1.0";
    v.api_version = "1.44";
    nlohmann::json jv = v;
    EXPECT_EQ(jv["Components"][0]["Name"], "Engine");
    EXPECT_EQ(jv["Components"][0]["Details"]["ApiVersion"], "1.44");
    EXPECT_EQ(jv["Platform"]["Name"], "Berth Engine");
}

}  // namespace
}  // namespace berth::api
