// Daemon's registry actions: pull, push and login through the registry client, with moby's
// events and error texts.
#include <cctype>

#include <fmt/format.h>

#include "berth/common/log.hpp"
#include "berth/engine/daemon.hpp"
#include "berth/image/reference.hpp"

namespace berth::engine {
namespace {

// The registry's own error in moby's errcode form, "<code in lower case>: <message>" (e.g.
// "manifest unknown: manifest unknown"), from the client's "...: MANIFEST_UNKNOWN: manifest
// unknown (HTTP status 404)"; empty if the text has no registry error code.
std::string registry_cause(std::string_view msg, std::string_view code) {
    auto at = msg.find(code);
    if (at == std::string_view::npos) return {};
    std::string_view rest = msg.substr(at + code.size());
    if (rest.rfind(": ", 0) == 0) rest.remove_prefix(2);
    auto end = rest.find_first_of("(;");
    std::string m(rest.substr(0, end));
    while (!m.empty() && m.back() == ' ') m.pop_back();
    std::string c(code);
    for (char& ch : c) ch = ch == '_' ? ' ' : static_cast<char>(std::tolower(ch));
    return m.empty() ? c : c + ": " + m;
}

// moby's translatePullError and notFoundError (distribution/errors.go): the registry codes that
// mean "nothing to pull here" become NotFound with moby's sentences; everything else (a missing
// login, a broken connection) keeps its own text.
Error translate_pull_error(Error e, const image::Reference& ref) {
    const std::string& m = e.msg;
    if (auto c = registry_cause(m, "MANIFEST_UNKNOWN"); !c.empty()) {
        return Error{Errc::NotFound, 0,
                     fmt::format("manifest for {} not found: {}", ref.familiar_string(), c)};
    }
    if (auto c = registry_cause(m, "NAME_UNKNOWN"); !c.empty()) {
        return Error{Errc::NotFound, 0,
                     fmt::format("repository {} not found: {}", ref.familiar_name(), c)};
    }
    if (auto c = registry_cause(m, "DENIED"); !c.empty()) {
        return Error{Errc::NotFound, 0,
                     fmt::format("pull access denied for {}, repository does not exist or may "
                                 "require 'docker login': {}",
                                 ref.familiar_name(), c)};
    }
    return e;
}

}  // namespace

void Daemon::reference_event(const image::Image& img, const image::Reference& ref,
                             std::string_view action) {
    // moby's LogImageEvent(ref, ref, action): the reference is both the actor and "name".
    image_event(img, ref.familiar_string(), action, ref.familiar_string());
}

registry::ClientOptions Daemon::registry_options(const registry::AuthConfig& auth) const {
    registry::ClientOptions o;
    o.auth = auth;
    o.insecure_registries = cfg_.insecure_registries;
    if (!cfg_.registry_certs_dirs.empty()) o.certs_dirs = cfg_.registry_certs_dirs;
    return o;
}

Result<registry::PullResult> Daemon::pull_image(std::string_view name, std::string_view platform,
                                                const registry::AuthConfig& auth,
                                                const image::ProgressFn& progress) {
    auto parsed = image::Reference::parse_normalized(name);
    if (!parsed) return Unexpected(std::move(parsed).error());
    image::Reference ref = parsed->with_default_tag();
    auto repo = BERTH_TRY(registry::open_repository(ref.domain(), ref.path(),
                                                    registry::Access::Pull,
                                                    registry_options(auth)));
    registry::PullOptions opts;
    opts.platform = std::string(platform);
    opts.progress = progress;
    auto res = registry::pull(*images_, *repo, ref, opts);
    if (!res) return Unexpected(translate_pull_error(std::move(res).error(), ref));
    reference_event(res->image, ref, "pull");
    return res;
}

Result<registry::PushResult> Daemon::push_image(std::string_view name,
                                                const registry::AuthConfig& auth,
                                                const image::ProgressFn& progress) {
    auto parsed = image::Reference::parse_normalized(name);
    if (!parsed) return Unexpected(std::move(parsed).error());
    image::Reference ref = parsed->with_default_tag();
    // moby checks the local tag before it talks to the registry.
    auto img = images_->get(ref.string());
    if (!img) {
        return make_error(Errc::NotFound, "An image does not exist locally with the tag: {}",
                          parsed->familiar_name());
    }
    auto repo = BERTH_TRY(registry::open_repository(ref.domain(), ref.path(),
                                                    registry::Access::Push,
                                                    registry_options(auth)));
    registry::PushOptions opts;
    opts.progress = progress;
    auto res = BERTH_TRY(registry::push(*images_, *repo, ref, opts));
    reference_event(*img, ref, "push");
    return res;
}

Result<registry::LoginResult> Daemon::login(const registry::AuthConfig& auth) {
    // The CLI sends the server as typed ("127.0.0.1:5000", "https://index.docker.io/v1/").
    std::string host = auth.server_address;
    for (std::string_view scheme : {"https://", "http://"}) {
        if (host.rfind(scheme, 0) == 0) host = host.substr(scheme.size());
    }
    if (auto slash = host.find('/'); slash != std::string::npos) host = host.substr(0, slash);
    if (host.empty() || host == "index.docker.io") host = "docker.io";
    return registry::login(host, auth, registry_options(auth));
}

}  // namespace berth::engine
