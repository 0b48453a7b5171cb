// The exec routes (moby api/server/router/container/exec.go): create, start (hijacked or
// detached), resize, inspect.

#include <string>
#include <vector>

#include "berth/api/server/container_backend.hpp"
#include "container_routes_internal.hpp"

namespace berth::api::detail {

namespace {

using json = nlohmann::json;

// Members of the small exec bodies. null is "absent", as Go's decoder treats it; a value of the
// wrong type is a 400 naming the member.
Result<bool> member_bool(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return false;
    if (!it->is_boolean())
        return make_error(Errc::InvalidArgument, "invalid JSON: {}: expected a boolean, got {}",
                          key, it->type_name());
    return it->get<bool>();
}

Result<std::string> member_string(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::string();
    if (!it->is_string())
        return make_error(Errc::InvalidArgument, "invalid JSON: {}: expected a string, got {}", key,
                          it->type_name());
    return it->get<std::string>();
}

Result<std::vector<std::string>> member_strings(const json& j, const char* key) {
    std::vector<std::string> out;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return out;
    if (!it->is_array())
        return make_error(Errc::InvalidArgument,
                          "invalid JSON: {}: expected an array of strings, got {}", key,
                          it->type_name());
    for (size_t i = 0; i < it->size(); ++i) {
        const json& v = (*it)[i];
        if (!v.is_string())
            return make_error(Errc::InvalidArgument,
                              "invalid JSON: {}[{}]: expected a string, got {}", key, i,
                              v.type_name());
        out.push_back(v.get<std::string>());
    }
    return out;
}

// ConsoleSize: [height, width] of unsigned integers, or null.
Result<std::vector<int>> member_console_size(const json& j) {
    std::vector<int> out;
    auto it = j.find("ConsoleSize");
    if (it == j.end() || it->is_null()) return out;
    if (!it->is_array() || it->size() != 2)
        return make_error(Errc::InvalidArgument,
                          "invalid JSON: ConsoleSize: expected [height, width], got {}",
                          it->dump());
    for (const auto& v : *it) {
        if (!v.is_number_unsigned() || v.get<uint64_t>() > 65535)
            return make_error(Errc::InvalidArgument,
                              "invalid JSON: ConsoleSize: expected [height, width], got {}",
                              it->dump());
        out.push_back(static_cast<int>(v.get<uint64_t>()));
    }
    return out;
}

// moby's ReadJSON: an empty body is an empty object; anything else must be a JSON object.
Result<json> object_body(Request& req) {
    BERTH_TRY(check_json_content_type(req));
    json j = BERTH_TRY(req.json_body(true));
    if (j.is_null()) return json::object();
    if (!j.is_object())
        return make_error(Errc::InvalidArgument, "invalid JSON: expected an object, got {}",
                          j.type_name());
    return j;
}

Result<void> post_container_exec_create(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    json j = BERTH_TRY(object_body(req));
    ExecCreateParams p;
    p.cmd = BERTH_TRY(member_strings(j, "Cmd"));
    if (p.cmd.empty()) return make_error(Errc::InvalidArgument, "No exec command specified");
    p.env = BERTH_TRY(member_strings(j, "Env"));
    p.user = BERTH_TRY(member_string(j, "User"));
    p.working_dir = BERTH_TRY(member_string(j, "WorkingDir"));
    p.detach_keys = BERTH_TRY(member_string(j, "DetachKeys"));
    p.tty = BERTH_TRY(member_bool(j, "Tty"));
    p.privileged = BERTH_TRY(member_bool(j, "Privileged"));
    p.attach_stdin = BERTH_TRY(member_bool(j, "AttachStdin"));
    p.attach_stdout = BERTH_TRY(member_bool(j, "AttachStdout"));
    p.attach_stderr = BERTH_TRY(member_bool(j, "AttachStderr"));
    p.console_size = BERTH_TRY(member_console_size(j));
    if (!req.version_at_least("1.42")) p.console_size.clear();  // not in the API before
    std::string id = BERTH_TRY(b.exec_create(req.var("name"), p));
    return rw.send_json(201, json{{"Id", id}});
}

Result<void> post_exec_start(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    json j = BERTH_TRY(object_body(req));
    ExecStartParams p;
    p.detach = BERTH_TRY(member_bool(j, "Detach"));
    p.tty = BERTH_TRY(member_bool(j, "Tty"));
    p.console_size = BERTH_TRY(member_console_size(j));
    if (!req.version_at_least("1.42") || !p.tty) p.console_size.clear();  // no console: no size
    std::string id = req.var("name");
    auto session = BERTH_TRY(b.prepare_exec_start(id, p));
    if (p.detach) return rw.send(200, "", "");  // started; no stream
    if (!session)
        return make_error(Errc::Internal, "start exec {}: the backend gave no session", id);
    return relay_hijacked(*session, rw, true, "exec " + id);
}

Result<void> post_exec_resize(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    int h = BERTH_TRY(query_int(req, "h"));
    int w = BERTH_TRY(query_int(req, "w"));
    BERTH_TRY(b.exec_resize(req.var("name"), h, w));
    return rw.send(200, "", "");
}

Result<void> get_exec_json(ContainerBackend& b, Request& req, ResponseWriter& rw) {
    auto e = BERTH_TRY(b.exec_inspect(req.var("name")));
    return rw.send_json(200, e);
}

}  // namespace

void register_exec_routes(Router& router, ContainerBackend& backend) {
    router.add("GET", "/exec/{name:.*}/json", bind_route(backend, get_exec_json));
    router.add("POST", "/containers/{name:.*}/exec",
               bind_route(backend, post_container_exec_create));
    router.add("POST", "/exec/{name:.*}/start", bind_route(backend, post_exec_start));
    router.add("POST", "/exec/{name:.*}/resize", bind_route(backend, post_exec_resize));
}

}  // namespace berth::api::detail
