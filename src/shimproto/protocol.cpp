// shim.json, exit.json and the request bodies: plain JSON with the names in protocol.hpp.

#include "berth/shimproto/protocol.hpp"

#include <nlohmann/json.hpp>

namespace berth::shimproto {

namespace {

// Stdin bytes are binary; JSON strings must be UTF-8, so they travel as hex.
std::string to_hex(std::string_view s) {
    static const char* kDigits = "0123456789abcdef";
    std::string out;
    out.reserve(s.size() * 2);
    for (unsigned char c : s) {
        out += kDigits[c >> 4];
        out += kDigits[c & 15];
    }
    return out;
}

Result<std::string> from_hex(std::string_view s) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    if (s.size() % 2) return make_error(Errc::InvalidArgument, "leftover: odd hex length");
    std::string out;
    out.reserve(s.size() / 2);
    for (size_t i = 0; i < s.size(); i += 2) {
        int hi = nibble(s[i]), lo = nibble(s[i + 1]);
        if (hi < 0 || lo < 0) return make_error(Errc::InvalidArgument, "leftover: not hex");
        out += static_cast<char>(hi << 4 | lo);
    }
    return out;
}

template <class F>
auto guarded(std::string_view what, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const nlohmann::json::exception& e) {
        return make_error(Errc::InvalidArgument, "{}: {}", what, e.what());
    }
}

}  // namespace

void to_json(nlohmann::json& j, const AttachRequest& a) {
    j = {{"stdin", a.stdin_},       {"stdout", a.stdout_},
         {"stderr", a.stderr_},     {"detach_keys", a.detach_keys},
         {"leftover", to_hex(a.leftover)}, {"client_fd", a.client_fd},
         {"done_fd", a.done_fd}};
}

void to_json(nlohmann::json& j, const ShimConfig& c) {
    j = {{"id", c.id},
         {"bundle", c.bundle},
         {"runtime_root", c.runtime_root},
         {"log_path", c.log_path},
         {"log_opts", c.log_opts},
         {"tty", c.tty},
         {"open_stdin", c.open_stdin},
         {"stdin_once", c.stdin_once},
         {"attaches", nlohmann::json::array()},
         {"monitor_fd", c.monitor_fd}};
    for (const auto& a : c.attaches) j["attaches"].push_back(a);
}

void to_json(nlohmann::json& j, const ExitRecord& e) {
    j = {{"exit_code", e.exit_code},
         {"oom_killed", e.oom_killed},
         {"finished_at_ns", e.finished_at_ns},
         {"error", e.error}};
}

void to_json(nlohmann::json& j, const ExecRequest& e) {
    j = {{"exec_id", e.exec_id}, {"process", e.process_json}, {"tty", e.tty},
         {"attach", e.attach},   {"detached", e.detached}};
}

Result<AttachRequest> parse_attach_request(const nlohmann::json& j) {
    return guarded("attach request", [&]() -> Result<AttachRequest> {
        AttachRequest a;
        a.stdin_ = j.value("stdin", false);
        a.stdout_ = j.value("stdout", false);
        a.stderr_ = j.value("stderr", false);
        a.detach_keys = j.value("detach_keys", "");
        a.leftover = BERTH_TRY(from_hex(j.value("leftover", "")));
        a.client_fd = j.value("client_fd", -1);
        a.done_fd = j.value("done_fd", -1);
        return a;
    });
}

Result<ShimConfig> parse_shim_config(std::string_view text) {
    return guarded("shim.json", [&]() -> Result<ShimConfig> {
        auto j = nlohmann::json::parse(text);
        ShimConfig c;
        c.id = j.at("id").get<std::string>();
        c.bundle = j.at("bundle").get<std::string>();
        c.runtime_root = j.at("runtime_root").get<std::string>();
        c.log_path = j.value("log_path", "");
        c.log_opts = j.value("log_opts", std::map<std::string, std::string>{});
        c.tty = j.value("tty", false);
        c.open_stdin = j.value("open_stdin", false);
        c.stdin_once = j.value("stdin_once", false);
        if (j.contains("attaches"))
            for (const auto& a : j["attaches"]) c.attaches.push_back(BERTH_TRY(parse_attach_request(a)));
        c.monitor_fd = j.value("monitor_fd", -1);
        return c;
    });
}

Result<ExitRecord> parse_exit_record(std::string_view text) {
    return guarded("exit record", [&]() -> Result<ExitRecord> {
        return exit_record_from(nlohmann::json::parse(text));
    });
}

Result<ExitRecord> exit_record_from(const nlohmann::json& j) {
    return guarded("exit record", [&]() -> Result<ExitRecord> {
        ExitRecord e;
        e.exit_code = j.at("exit_code").get<int>();
        e.oom_killed = j.value("oom_killed", false);
        e.finished_at_ns = j.value("finished_at_ns", int64_t{0});
        e.error = j.value("error", "");
        return e;
    });
}

Result<ExecRequest> parse_exec_request(const nlohmann::json& j) {
    return guarded("exec request", [&]() -> Result<ExecRequest> {
        ExecRequest e;
        e.exec_id = j.at("exec_id").get<std::string>();
        e.process_json = j.at("process").get<std::string>();
        e.tty = j.value("tty", false);
        e.detached = j.value("detached", false);
        if (j.contains("attach")) e.attach = BERTH_TRY(parse_attach_request(j["attach"]));
        return e;
    });
}

}  // namespace berth::shimproto
