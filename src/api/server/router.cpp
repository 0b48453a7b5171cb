#include "berth/api/server/router.hpp"

#include <algorithm>
#include <stdexcept>

#include "berth/api/server/api_version.hpp"
#include "berth/common/log.hpp"

namespace berth::api {

namespace {

// Matches `parts[i..]` against `path[pos..]`, filling `caps` (one per variable). Variables
// take the longest text that lets the rest match, as the regular expressions moby's mux
// builds do; a pattern has a literal after each variable, so this backtracks at most over
// one path's length per variable.
bool match_parts(const std::vector<Router::Part>& parts, size_t i, std::string_view path,
                 size_t pos, std::vector<std::string_view>& caps) {
    if (i == parts.size()) return pos == path.size();
    const Router::Part& p = parts[i];
    if (p.kind == Router::Part::Literal) {
        if (path.compare(pos, p.text.size(), p.text) != 0) return false;
        return match_parts(parts, i + 1, path, pos + p.text.size(), caps);
    }
    // "{name}": one segment, at least one character; "{name:.*}": any text but a line break
    // (what "." matches), possibly empty.
    size_t limit = path.size();
    if (p.kind == Router::Part::Segment) limit = std::min(limit, path.find('/', pos));
    size_t brk = path.find_first_of("\r\n", pos);
    if (brk != std::string_view::npos) limit = std::min(limit, brk);
    size_t shortest = p.kind == Router::Part::Segment ? pos + 1 : pos;
    for (size_t end = limit + 1; end-- > shortest;) {
        caps.push_back(path.substr(pos, end - pos));
        if (match_parts(parts, i + 1, path, end, caps)) return true;
        caps.pop_back();
    }
    return false;
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
    // "{name}" -> one segment, "{name:.*}" -> any text, across '/'; everything else literal.
    Route route{std::move(method), std::string(pattern), {}, {}, std::move(handler)};
    size_t i = 0;
    while (i < pattern.size()) {
        size_t open = pattern.find('{', i);
        if (open != i) {
            std::string_view lit = pattern.substr(i, open == std::string_view::npos ? open : open - i);
            route.parts.push_back(Part{Part::Literal, std::string(lit)});
            if (open == std::string_view::npos) break;
        }
        size_t close = pattern.find('}', open);
        if (close == std::string_view::npos)
            throw std::invalid_argument("route " + std::string(pattern) + ": unclosed '{'");
        std::string_view var = pattern.substr(open + 1, close - open - 1);
        size_t colon = var.find(':');
        Part::Kind kind = Part::Segment;
        if (colon != std::string_view::npos) {
            if (var.substr(colon + 1) != ".*")
                throw std::invalid_argument("route " + std::string(pattern) +
                                            ": a variable is {name} or {name:.*}");
            kind = Part::Any;
        }
        route.parts.push_back(Part{kind, {}});
        route.var_names.emplace_back(var.substr(0, colon));
        i = close + 1;
    }
    routes_.push_back(std::move(route));
}

std::optional<Router::Match> Router::match(std::string_view method, const std::string& path) const {
    auto find = [&](std::string_view m) -> std::optional<Match> {
        std::vector<std::string_view> caps;
        for (const auto& r : routes_) {
            if (r.method != m) continue;
            caps.clear();
            if (!match_parts(r.parts, 0, path, 0, caps)) continue;
            Match out;
            out.handler = &r.handler;
            for (size_t k = 0; k < r.var_names.size(); ++k)
                out.vars[r.var_names[k]] = std::string(caps[k]);
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
