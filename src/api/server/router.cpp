#include "berth/api/server/router.hpp"

#include "berth/api/server/api_version.hpp"
#include "berth/common/log.hpp"

namespace berth::api {

namespace {

std::string regex_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos)
            out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

Result<void> version_check(const Request& req) {
    const ServerInfo& s = *req.server;
    if (compare_api_versions(req.api_version, s.min_api_version) < 0)
        return make_error(Errc::InvalidArgument,
                          "client version {} is too old. Minimum supported API version is {}, "
                          "please upgrade your client to a newer version",
                          req.api_version, s.min_api_version);
    if (compare_api_versions(req.api_version, s.api_version) > 0)
        return make_error(Errc::InvalidArgument,
                          "client version {} is too new. Maximum supported API version is {}",
                          req.api_version, s.api_version);
    return {};
}

}  // namespace

void Router::add(std::string method, std::string_view pattern, Handler handler) {
    // "{name}" -> one segment, "{name:.*}" -> greedy across '/'; everything else literal.
    std::string re = "^";
    std::vector<std::string> names;
    size_t i = 0;
    while (i < pattern.size()) {
        size_t open = pattern.find('{', i);
        if (open == std::string_view::npos) {
            re += regex_escape(pattern.substr(i));
            break;
        }
        re += regex_escape(pattern.substr(i, open - i));
        size_t close = pattern.find('}', open);
        std::string_view var = pattern.substr(open + 1, close - open - 1);
        size_t colon = var.find(':');
        names.emplace_back(var.substr(0, colon));
        re += colon == std::string_view::npos ? "([^/]+)"
                                              : "(" + std::string(var.substr(colon + 1)) + ")";
        i = close + 1;
    }
    re += "$";
    routes_.push_back(Route{std::move(method), std::string(pattern), std::regex(re),
                            std::move(names), std::move(handler)});
}

std::optional<Router::Match> Router::match(std::string_view method, const std::string& path) const {
    auto find = [&](std::string_view m) -> std::optional<Match> {
        for (const auto& r : routes_) {
            if (r.method != m) continue;
            std::smatch sm;
            if (!std::regex_match(path, sm, r.re)) continue;
            Match out;
            out.handler = &r.handler;
            for (size_t k = 0; k < r.var_names.size(); ++k)
                out.vars[r.var_names[k]] = sm[k + 1].str();
            return out;
        }
        return std::nullopt;
    };
    auto m = find(method);
    if (!m && method == "HEAD") m = find("GET");
    return m;
}

bool Router::dispatch(Request& req, ResponseWriter& rw) const {
    // "/v1.44/images/json" -> version "1.44", path "/images/json" (moby: /v{version:[0-9.]+}).
    std::string path = req.path;
    std::string version;
    if (path.size() > 2 && path[0] == '/' && path[1] == 'v') {
        size_t end = 2;
        while (end < path.size() && ((path[end] >= '0' && path[end] <= '9') || path[end] == '.'))
            ++end;
        if (end > 2 && end < path.size() && path[end] == '/') {
            version = path.substr(2, end - 2);
            path = path.substr(end);
        }
    }
    auto m = match(req.method, path);
    if (!m) {
        (void)rw.send_json(404, nlohmann::json{{"message", "page not found"}});
        return true;
    }
    req.path = path;
    req.api_version = version.empty() ? req.server->api_version : version;
    req.vars = std::move(m->vars);
    auto r = version_check(req);
    if (r) {
        try {
            r = (*m->handler)(req, rw);
        } catch (const std::exception& e) {
            // Nothing we expect throws here (backends return Results); a bug must not take
            // the whole daemon down with one request.
            r = make_error(Errc::Internal, "{} {}: {}", req.method, req.path, e.what());
        }
    }
    if (!r) {
        if (!rw.started()) {
            BLOG_DEBUG("api: {} {} -> {}", req.method, req.target, r.error().what());
            (void)rw.send_error(r.error());
        } else {
            BLOG_INFO("api: {} {} failed after the answer began: {}", req.method, req.target,
                      r.error().what());
            return false;
        }
    }
    return true;
}

}  // namespace berth::api
