// The registry side of the image routes, as moby's image and system routers answer them:
// pull (POST /images/create?fromImage=), push (POST /images/{name}/push) and login
// (POST /auth). docker-api.md §3.3, §5.1.

#include <cctype>

#include "berth/common/digest.hpp"
#include "registry_routes_internal.hpp"

namespace berth::api {

// Backends without registry support (the route tests' fakes, a daemon built without it).
Result<PullResult> ImageBackend::pull(const PullParams& params, ProgressSink&) {
    return make_error(Errc::Unsupported,
                      "pull is not supported yet: this daemon has no registry support (pulling {})",
                      params.name);
}

Result<std::vector<types::PushResult>> ImageBackend::push(const PushParams& params, ProgressSink&) {
    return make_error(Errc::Unsupported,
                      "push is not supported yet: this daemon has no registry support (pushing {})",
                      params.name);
}

Result<types::AuthResponse> ImageBackend::auth(const types::AuthConfig& auth) {
    return make_error(
        Errc::Unsupported,
        "login is not supported yet: this daemon has no registry support (login to {})",
        auth.server_address.empty() ? "Docker Hub" : auth.server_address);
}

namespace detail {

namespace {

// reference.FamiliarName without a full parse (the route has no reference parser: the
// backend validates names): "docker.io/library/busybox" -> "busybox", "docker.io/u/a" -> "u/a".
std::string familiar_name(std::string_view name) {
    for (std::string_view domain : {"docker.io/", "index.docker.io/"}) {
        if (name.substr(0, domain.size()) == domain) {
            name.remove_prefix(domain.size());
            break;
        }
    }
    if (name.substr(0, 8) == "library/" && name.find('/', 8) == std::string_view::npos)
        name.remove_prefix(8);
    return std::string(name);
}

// distribution/reference's tag grammar: [\w][\w.-]{0,127}.
bool valid_tag(std::string_view tag) {
    if (tag.empty() || tag.size() > 128) return false;
    for (size_t i = 0; i < tag.size(); ++i) {
        auto c = static_cast<unsigned char>(tag[i]);
        bool word = std::isalnum(c) || c == '_';
        if (!word && (i == 0 || (c != '.' && c != '-'))) return false;
    }
    return true;
}

// containerd's platforms.Parse accepts "os", "arch", "os/arch" and "os/arch/variant" made of
// [A-Za-z0-9_.-]; the backend decides which it can serve. The result is lowercased, as the
// docker CLI sends it.
Result<std::string> check_platform(std::string_view p) {
    std::string out;
    size_t parts = 1;
    bool empty_part = p.empty() || p.front() == '/' || p.back() == '/';
    for (size_t i = 0; i < p.size(); ++i) {
        auto c = static_cast<unsigned char>(p[i]);
        if (c == '/') {
            ++parts;
            if (i > 0 && p[i - 1] == '/') empty_part = true;
        } else if (!std::isalnum(c) && c != '_' && c != '.' && c != '-') {
            empty_part = true;  // reported as the same invalid specifier
        }
        out += static_cast<char>(std::tolower(c));
    }
    if (empty_part || parts > 3)
        return make_error(Errc::InvalidArgument, "\"{}\": invalid platform specifier", p);
    return out;
}

// The AuthConfig of an X-Registry-Auth header: an invalid one is ignored (moby: "Ignore
// invalid AuthConfig to increase compatibility with the existing API").
types::AuthConfig header_auth(const Request& req) {
    auto h = req.header("X-Registry-Auth");
    if (!h) return {};
    auto a = types::decode_registry_auth(*h);
    return a ? std::move(*a) : types::AuthConfig{};
}

// Runs a streaming registry operation: before any output its error is an HTTP error (moby's
// WriteFlusher not yet flushed), after it an errorDetail line with status 200.
template <class Fn>
Result<void> run_stream(ResponseWriter& rw, Fn&& fn) {
    LazyStream out(rw, "application/json");
    JsonProgressWriter progress(out);
    Result<void> r = fn(progress);
    if (!r) {
        if (!out.started()) return r;
        return progress.error(r.error().what());
    }
    return out.start();
}

Result<void> post_images_push(ImageBackend& b, Request& req, ResponseWriter& rw) {
    PushParams p;
    p.name = req.var("name");
    p.tag = req.query.get("tag");
    if (req.header("X-Registry-Auth")) {
        p.auth = header_auth(req);
    } else {
        // moby's old form: the AuthConfig as the JSON body, required without the header.
        auto body = BERTH_TRY(read_all(req.body(), 1u << 20));
        nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
        auto a = j.is_discarded()
                     ? Result<types::AuthConfig>(make_error(Errc::InvalidArgument, "{}",
                                                            body.empty() ? "EOF" : "invalid JSON"))
                     : types::auth_config_from_json(j);
        if (!a)
            return make_error(Errc::InvalidArgument,
                              "bad parameters and missing X-Registry-Auth: invalid "
                              "X-Registry-Auth header: {}",
                              a.error().msg);
        p.auth = std::move(*a);
    }
    if (p.name.empty()) return make_error(Errc::InvalidArgument, "invalid reference format");
    if (!p.tag.empty() && !valid_tag(p.tag))
        return make_error(Errc::InvalidArgument, "invalid tag format");
    return run_stream(rw, [&](JsonProgressWriter& progress) -> Result<void> {
        auto pushed = BERTH_TRY(b.push(p, progress));
        for (const auto& r : pushed) {
            BERTH_TRY(progress.status(
                "", fmt::format("{}: digest: {} size: {}", r.tag, r.digest, r.size)));
            BERTH_TRY(progress.aux(nlohmann::json(r)));
        }
        return {};
    });
}

Result<void> post_auth(ImageBackend& b, Request& req, ResponseWriter& rw) {
    auto body = BERTH_TRY(req.json_body());
    auto config = BERTH_TRY(types::auth_config_from_json(body));
    auto r = b.auth(config);
    if (!r) {
        // Errc has no "unauthenticated"; moby answers a refused login with 401, which the CLI
        // reports as is (and compose retries on).
        if (r.error().code == Errc::PermissionDenied)
            return rw.send_json(401, nlohmann::json{{"message", r.error().what()}});
        return Unexpected(std::move(r).error());
    }
    return rw.send_json(200, nlohmann::json(*r));
}

}  // namespace

Result<void> post_images_create_pull(ImageBackend& b, Request& req, ResponseWriter& rw) {
    // "pull -a" may send a name with a trailing ':' (moby keeps accepting it).
    std::string image = req.query.get("fromImage");
    while (!image.empty() && image.back() == ':') image.pop_back();
    PullParams p;
    // Split name[:tag][@digest] syntactically; the backend parses the name properly.
    if (auto at = image.find('@'); at != std::string::npos) {
        p.digest = image.substr(at + 1);
        image.resize(at);
    }
    auto colon = image.rfind(':');
    auto slash = image.rfind('/');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
        p.tag = image.substr(colon + 1);
        image.resize(colon);
    }
    p.name = image;
    if (p.name.empty()) return make_error(Errc::InvalidArgument, "invalid reference format");
    // The tag parameter wins over the reference's; it "could actually be a digest".
    if (std::string tag = req.query.get("tag"); !tag.empty()) {
        if (tag.find(':') != std::string::npos) {
            if (auto d = Digest::parse(tag); !d) return Unexpected(std::move(d).error());
            p.digest = tag;
            p.tag.clear();
        } else {
            p.tag = tag;
        }
    }
    if (!p.tag.empty() && !valid_tag(p.tag))
        return make_error(Errc::InvalidArgument, "invalid tag format");
    if (!p.digest.empty()) {
        if (auto d = Digest::parse(p.digest); !d) return Unexpected(std::move(d).error());
        p.tag.clear();  // a digest names the content; the CLI never sends both
    }
    std::string familiar = familiar_name(p.name);
    if (familiar == "scratch")
        return make_error(Errc::PermissionDenied, "'scratch' is a reserved name");
    if (req.version_at_least("1.32")) {
        if (std::string platform = req.query.get("platform"); !platform.empty())
            p.platform = BERTH_TRY(check_platform(platform));
    }
    p.auth = header_auth(req);
    std::string shown = familiar + (p.digest.empty() ? ":" + p.tag : "@" + p.digest);
    return run_stream(rw, [&](JsonProgressWriter& progress) -> Result<void> {
        auto r = BERTH_TRY(b.pull(p, progress));
        if (!r.digest.empty()) BERTH_TRY(progress.status("", "Digest: " + r.digest));
        return progress.status("", (r.downloaded ? "Status: Downloaded newer image for "
                                                 : "Status: Image is up to date for ") +
                                       (p.all_tags() ? familiar : shown));
    });
}

void register_registry_routes(Router& router, ImageBackend& backend) {
    router.add("POST", "/images/{name:.*}/push", [&backend](Request& req, ResponseWriter& rw) {
        return post_images_push(backend, req, rw);
    });
    router.add("POST", "/auth", [&backend](Request& req, ResponseWriter& rw) {
        return post_auth(backend, req, rw);
    });
}

}  // namespace detail

}  // namespace berth::api
