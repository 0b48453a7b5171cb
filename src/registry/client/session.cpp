// The request loop of the registry client: docker-api.md §5.2's challenge and token flow,
// redirects without credentials to other origins, and retries with back-off.

#include "session.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "berth/common/base64.hpp"
#include "berth/common/log.hpp"
#include "berth/common/strings.hpp"

namespace berth::registry::client {
namespace {

bool is_redirect(long status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string scope_key(const std::vector<std::string>& scopes) {
    std::vector<std::string> s = scopes;
    std::sort(s.begin(), s.end());
    return join(s, " ");
}

// "user", "pass" from the credentials (the `auth` field when the plain ones are empty).
std::optional<std::pair<std::string, std::string>> basic_pair(const AuthConfig& a) {
    if (!a.username.empty() || !a.password.empty()) return std::make_pair(a.username, a.password);
    if (a.auth.empty()) return std::nullopt;
    auto dec = base64_decode_lenient(a.auth);
    if (!dec) return std::nullopt;
    auto colon = dec->find(':');
    if (colon == std::string::npos) return std::nullopt;
    return std::make_pair(dec->substr(0, colon), dec->substr(colon + 1));
}

std::string basic_header(const std::pair<std::string, std::string>& up) {
    return "Authorization: Basic " + base64_encode(up.first + ":" + up.second);
}

// The message of an error body: distribution's {"errors":[...]}, a token server's
// {"details": ...} / {"error": ...}, or short plain text.
std::string body_message(const std::string& body) {
    try {
        auto j = nlohmann::json::parse(body);
        if (j.is_object() && j.contains("errors") && j["errors"].is_array() &&
            !j["errors"].empty()) {
            std::vector<std::string> parts;
            for (const auto& e : j["errors"]) {
                std::string code = e.value("code", "");
                std::string msg = e.value("message", "");
                std::string part = code.empty() ? msg : msg.empty() ? code : code + ": " + msg;
                // A string detail says something ("manifest blob unknown: ..."); structured
                // ones repeat the request (the tag, the access list) and only add noise.
                if (e.contains("detail") && e["detail"].is_string()) {
                    auto ds = e["detail"].get<std::string>();
                    if (!ds.empty() && ds.size() < 300 && msg.find(ds) == std::string::npos) {
                        part += " (" + ds + ")";
                    }
                }
                parts.push_back(part);
            }
            return join(parts, "; ");
        }
        for (const char* k : {"details", "error_description", "error", "message"}) {
            if (j.is_object() && j.contains(k) && j[k].is_string()) return j[k].get<std::string>();
        }
    } catch (const nlohmann::json::exception&) {
    }
    std::string t(trim(body));
    if (t.size() > 200) t = t.substr(0, 200) + "...";
    return t;
}

}  // namespace

std::vector<Challenge> parse_www_authenticate(std::string_view v) {
    std::vector<Challenge> out;
    size_t i = 0;
    auto skip_ws = [&] {
        while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) ++i;
    };
    while (true) {
        skip_ws();
        if (i >= v.size()) break;
        size_t start = i;
        while (i < v.size() && v[i] != ' ' && v[i] != ',' && v[i] != '=') ++i;
        std::string token = ascii_lower(v.substr(start, i - start));
        if (i < v.size() && v[i] == '=' && !out.empty()) {
            // name=value of the current challenge
            ++i;
            std::string value;
            if (i < v.size() && v[i] == '"') {
                ++i;
                while (i < v.size() && v[i] != '"') {
                    if (v[i] == '\\' && i + 1 < v.size()) ++i;
                    value.push_back(v[i++]);
                }
                if (i < v.size()) ++i;
            } else {
                while (i < v.size() && v[i] != ',') value.push_back(v[i++]);
                value = std::string(trim(value));
            }
            out.back().params[token] = value;
        } else if (!token.empty()) {
            out.push_back(Challenge{token, {}});
        }
    }
    return out;
}

bool merge_scope(std::vector<std::string>& scopes, std::string_view scope) {
    auto last_colon = scope.rfind(':');
    if (last_colon == std::string_view::npos) {
        if (std::find(scopes.begin(), scopes.end(), scope) != scopes.end()) return false;
        scopes.emplace_back(scope);
        return true;
    }
    std::string_view resource = scope.substr(0, last_colon + 1);
    for (auto& s : scopes) {
        if (!std::string_view(s).starts_with(resource) ||
            s.find(':', resource.size()) != std::string::npos) {
            continue;
        }
        std::set<std::string> actions;
        for (auto& a : split(std::string_view(s).substr(resource.size()), ',')) {
            if (!a.empty()) actions.insert(a);
        }
        size_t before = actions.size();
        for (auto& a : split(scope.substr(last_colon + 1), ',')) {
            if (!a.empty()) actions.insert(a);
        }
        if (actions.size() == before) return false;
        // "pull,push" reads best in that order, which std::set gives.
        s = std::string(resource) + join({actions.begin(), actions.end()}, ",");
        return true;
    }
    scopes.emplace_back(scope);
    return true;
}

Error registry_error(const HttpResponse& resp, std::string_view what) {
    Errc code = Errc::Internal;
    long st = resp.status;
    if (st == 404) {
        code = Errc::NotFound;
    } else if (st == 401 || st == 403) {
        code = Errc::PermissionDenied;
    } else if (st == 429 || st >= 500) {
        code = Errc::Unavailable;
    } else if (st >= 400) {
        code = Errc::InvalidArgument;
    }
    std::string msg = body_message(resp.body);
    if (msg.empty())
        msg = fmt::format("HTTP status {}", st);
    else
        msg = fmt::format("{} (HTTP status {})", msg, st);
    return Error{code, 0, fmt::format("{}: {}", what, msg)};
}

Session::Session(std::string registry, ClientOptions options, std::optional<AuthConfig> creds)
    : registry_(std::move(registry)),
      api_host_(api_host_for(registry_)),
      options_(std::move(options)),
      creds_(std::move(creds)),
      insecure_(is_insecure_registry(registry_, options_.insecure_registries)) {}

TlsConfig Session::tls_for(const std::string& host_port) {
    std::lock_guard lk(mu_);
    auto it = tls_.find(host_port);
    if (it != tls_.end()) return it->second;
    TlsConfig t;
    t.verify = !is_insecure_registry(host_port, options_.insecure_registries);
    namespace fs = std::filesystem;
    for (const auto& dir : options_.certs_dirs) {
        std::error_code ec;
        fs::path d = fs::path(dir) / host_port;
        if (!fs::is_directory(d, ec)) continue;
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(d, ec)) files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            if (f.extension() == ".crt") {
                t.ca_files.push_back(f.string());
            } else if (f.extension() == ".cert") {
                fs::path key = f;
                key.replace_extension(".key");
                if (fs::exists(key, ec)) {
                    t.client_cert = f.string();
                    t.client_key = key.string();
                } else {
                    BLOG_WARN("registry {}: client certificate {} has no key {}", host_port,
                              f.string(), key.string());
                }
            }
        }
    }
    tls_.emplace(host_port, t);
    return t;
}

std::string Session::scheme() {
    std::lock_guard lk(mu_);
    return scheme_;
}

void Session::set_scheme(std::string s) {
    std::lock_guard lk(mu_);
    scheme_ = std::move(s);
}

std::optional<Challenge> Session::challenge() {
    std::lock_guard lk(mu_);
    return challenge_;
}

void Session::set_challenge(std::optional<Challenge> c) {
    std::lock_guard lk(mu_);
    challenge_ = std::move(c);
}

std::optional<std::string> Session::cached_token(const std::string& key) {
    std::lock_guard lk(mu_);
    auto it = tokens_.find(key);
    if (it == tokens_.end()) return std::nullopt;
    // A token that expires within seconds would die in flight.
    if (it->second.expires <= std::chrono::steady_clock::now() + std::chrono::seconds(10)) {
        tokens_.erase(it);
        return std::nullopt;
    }
    return it->second.value;
}

void Session::store_token(const std::string& key, std::string token, std::chrono::seconds ttl) {
    std::lock_guard lk(mu_);
    tokens_[key] = Token{std::move(token), std::chrono::steady_clock::now() + ttl};
}

void Session::drop_token(const std::string& key) {
    std::lock_guard lk(mu_);
    tokens_.erase(key);
}

std::string Session::refresh_token() {
    std::lock_guard lk(mu_);
    return refresh_token_;
}

void Session::set_refresh_token(std::string t) {
    std::lock_guard lk(mu_);
    refresh_token_ = std::move(t);
}

Requester::Requester(std::shared_ptr<Session> session)
    : session_(std::move(session)),
      conn_(session_->options().user_agent,
            HttpTimeouts{static_cast<long>(session_->options().connect_timeout.count()),
                         static_cast<long>(session_->options().stall_timeout.count())}) {}

std::string Requester::absolute(const std::string& url) {
    if (url.starts_with("http://") || url.starts_with("https://")) return url;
    return session_->scheme() + "://" + session_->api_host() + url;
}

void Requester::back_off(int attempt, const HttpResponse* resp) {
    const auto& rp = session_->options().retry;
    std::chrono::milliseconds delay = rp.base_delay;
    for (int i = 1; i < attempt && delay < rp.max_delay; ++i) delay *= 2;
    delay = std::min(delay, rp.max_delay);
    if (resp != nullptr) {
        if (auto ra = resp->header("retry-after")) {
            if (auto secs = parse_int(trim(*ra)); secs && *secs >= 0) {
                // Respect the server, within reason (a minute).
                delay = std::chrono::milliseconds(std::min<int64_t>(*secs, 60) * 1000);
            }
        }
    }
    if (rp.sleep) {
        rp.sleep(delay);
    } else {
        std::this_thread::sleep_for(delay);
    }
}

Result<void> Requester::ping() {
    if (!session_->scheme().empty()) return {};
    std::lock_guard lk(session_->ping_mu);
    if (!session_->scheme().empty()) return {};
    const auto& host = session_->api_host();
    std::vector<std::string> schemes{"https"};
    if (session_->insecure()) schemes.emplace_back("http");
    Error last{Errc::Unavailable, 0, ""};
    const int attempts = std::max(1, session_->options().retry.attempts);
    for (const auto& scheme : schemes) {
        for (int attempt = 1; attempt <= attempts; ++attempt) {
            HttpRequest req;
            req.method = "GET";
            req.url = scheme + "://" + host + "/v2/";
            req.max_body = 64 << 10;
            req.timeout_ms = std::max<long>(15000, session_->options().connect_timeout.count());
            TransportFailure tf;
            auto r = conn_.perform(req, session_->tls_for(host), &tf);
            if (!r) {
                last = r.error();
                // A TLS failure does not heal by retrying: an insecure registry that does not
                // speak TLS gets plain HTTP next; a secure one fails now.
                if (tf.tls) break;
                if (attempt < attempts) back_off(attempt, nullptr);
                continue;
            }
            if ((r->status >= 500 || r->status == 429) && attempt < attempts) {
                back_off(attempt, &*r);
                continue;
            }
            // Any HTTP answer settles the scheme; a 401 brings the challenge.
            std::optional<Challenge> ch;
            if (r->status == 401) {
                for (const auto& v : r->header_all("www-authenticate")) {
                    for (auto& c : parse_www_authenticate(v)) {
                        if (!ch && (c.scheme == "bearer" || c.scheme == "basic")) ch = c;
                    }
                }
            }
            session_->set_challenge(std::move(ch));
            session_->set_scheme(scheme);
            return {};
        }
    }
    return Unexpected(std::move(last).wrap("ping registry {}", session_->registry()));
}

Result<std::string> Requester::fetch_token(const Challenge& ch,
                                           const std::vector<std::string>& scopes, bool offline) {
    std::string realm = ch.param("realm");
    if (realm.empty()) {
        return make_error(Errc::InvalidArgument, "registry {}: bearer challenge without realm",
                          session_->registry());
    }
    std::string service = ch.param("service");
    const auto& creds = session_->creds();
    std::string refresh = creds ? creds->identity_token : std::string();
    if (refresh.empty()) refresh = session_->refresh_token();
    auto up = creds ? basic_pair(*creds) : std::nullopt;

    HttpRequest req;
    req.max_body = 1 << 20;
    req.timeout_ms = 60000;
    std::string form;
    if (!refresh.empty()) {
        req.method = "POST";
        req.url = realm;
        form = "grant_type=refresh_token&refresh_token=" + url_escape(refresh) +
               "&service=" + url_escape(service) + "&client_id=docker";
        for (const auto& s : scopes) form += "&scope=" + url_escape(s);
        req.body = form;
        req.headers.emplace_back("Content-Type: application/x-www-form-urlencoded");
    } else {
        req.method = "GET";
        std::string q;
        if (!service.empty()) q += "service=" + url_escape(service);
        for (const auto& s : scopes) q += (q.empty() ? "" : "&") + ("scope=" + url_escape(s));
        if (offline && up)
            q += (q.empty() ? "" : "&") + std::string("offline_token=true&client_id=docker");
        req.url = realm + (q.empty() ? "" : (realm.find('?') == std::string::npos ? "?" : "&") + q);
        if (up) req.headers.push_back(basic_header(*up));
    }
    TransportFailure tf;
    auto r = BERTH_TRY_CTX(exchange(req, "", &tf), "registry {}: get token", session_->registry());
    if (r.status != 200) {
        Error e = registry_error(
            r, fmt::format("registry {}: get token from {}", session_->registry(), realm));
        if (r.status == 401 || r.status == 403) e.code = Errc::PermissionDenied;
        return Unexpected(std::move(e));
    }
    std::string token;
    int64_t expires = 60;
    try {
        auto j = nlohmann::json::parse(r.body);
        if (j.contains("token") && j["token"].is_string()) token = j["token"].get<std::string>();
        if (token.empty() && j.contains("access_token") && j["access_token"].is_string()) {
            token = j["access_token"].get<std::string>();
        }
        if (j.contains("expires_in") && j["expires_in"].is_number()) {
            expires = j["expires_in"].get<int64_t>();
        }
        if (j.contains("refresh_token") && j["refresh_token"].is_string()) {
            session_->set_refresh_token(j["refresh_token"].get<std::string>());
        }
    } catch (const nlohmann::json::exception& ex) {
        return make_error(Errc::InvalidArgument, "registry {}: token from {}: {}",
                          session_->registry(), realm, ex.what());
    }
    if (token.empty()) {
        return make_error(Errc::InvalidArgument, "registry {}: token server {} gave no token",
                          session_->registry(), realm);
    }
    session_->store_token(scope_key(scopes), token,
                          std::chrono::seconds(std::max<int64_t>(expires, 60)));
    return token;
}

Result<std::string> Requester::authorization(const std::vector<std::string>& scopes, bool offline) {
    auto ch = session_->challenge();
    if (!ch) return std::string();
    const auto& creds = session_->creds();
    if (ch->scheme == "basic") {
        auto up = creds ? basic_pair(*creds) : std::nullopt;
        // moby's registry auth transport words it so (ErrNoBasicAuthCredentials), and users
        // and tools know it means `docker login`.
        if (!up)
            return make_error(Errc::PermissionDenied, "registry {}: no basic auth credentials",
                              session_->registry());
        return basic_header(*up);
    }
    if (creds && !creds->registry_token.empty()) {
        return "Authorization: Bearer " + creds->registry_token;
    }
    if (auto t = session_->cached_token(scope_key(scopes)); t && !offline) {
        return "Authorization: Bearer " + *t;
    }
    auto token = BERTH_TRY(fetch_token(*ch, scopes, offline));
    return "Authorization: Bearer " + token;
}

Result<HttpResponse> Requester::exchange(HttpRequest req, const std::string& auth,
                                         TransportFailure* tf) {
    const std::string origin = url_origin(req.url);
    const std::vector<std::string> base_headers = req.headers;
    for (int hop = 0; hop <= 10; ++hop) {
        req.headers = base_headers;
        // Credentials go only to the origin they were made for (not to a CDN).
        if (!auth.empty() && url_origin(req.url) == origin) req.headers.push_back(auth);
        auto r = conn_.perform(req, session_->tls_for(url_host_port(req.url)), tf);
        if (!r) return r;
        auto loc = r->header("location");
        if (!is_redirect(r->status) || !loc || req.method == "POST" || req.method == "PATCH" ||
            req.method == "PUT") {
            return r;
        }
        req.url = BERTH_TRY(resolve_url(req.url, *loc));
        if (r->status == 303) {
            req.method = "GET";
            req.body.reset();
        }
    }
    return make_error(Errc::InvalidArgument, "registry {}: too many redirects from {}",
                      session_->registry(), req.url);
}

Result<HttpResponse> Requester::send(const Call& call, std::vector<std::string>& scopes) {
    BERTH_TRY(ping());
    const int attempts = call.idempotent ? std::max(1, session_->options().retry.attempts) : 1;
    int attempt = 0;
    bool auth_retried = false;
    while (true) {
        std::string auth = BERTH_TRY(authorization(scopes, false));
        HttpRequest req;
        req.method = call.method;
        req.url = absolute(call.url);
        req.headers = call.headers;
        req.body = call.body;
        req.sink = call.sink;
        req.max_body = call.max_body;
        last_failure_ = TransportFailure{};
        auto r = exchange(std::move(req), auth, &last_failure_);
        if (!r) {
            if (!last_failure_.sink_aborted && last_failure_.body_bytes == 0 &&
                ++attempt < attempts) {
                BLOG_DEBUG("registry {}: {} {}: {}; retrying", session_->registry(), call.method,
                           call.url, r.error().msg);
                back_off(attempt, nullptr);
                continue;
            }
            return r;
        }
        if (r->status == 401 && !auth_retried) {
            auth_retried = true;
            bool retry = !auth.empty();  // a stale token, or a challenge that changed
            std::optional<Challenge> ch;
            for (const auto& v : r->header_all("www-authenticate")) {
                for (auto& c : parse_www_authenticate(v)) {
                    if (!ch && (c.scheme == "bearer" || c.scheme == "basic")) ch = c;
                }
            }
            if (ch) {
                auto old = session_->challenge();
                if (!old || old->scheme != ch->scheme) retry = true;
                std::string old_key = scope_key(scopes);
                if (ch->param("error") == "insufficient_scope") {
                    for (auto& s : split(ch->param("scope"), ' ')) {
                        if (!s.empty() && merge_scope(scopes, s)) retry = true;
                    }
                }
                session_->drop_token(old_key);
                // Keep the challenge without the error parameters for later requests.
                ch->params.erase("error");
                ch->params.erase("scope");
                session_->set_challenge(ch);
            }
            if (retry) continue;
        }
        if ((r->status >= 500 || r->status == 429) && ++attempt < attempts) {
            BLOG_DEBUG("registry {}: {} {}: HTTP {}; retrying", session_->registry(), call.method,
                       call.url, r->status);
            back_off(attempt, &*r);
            continue;
        }
        return r;
    }
}

Result<std::string> Requester::login() {
    BERTH_TRY(ping());
    auto ch = session_->challenge();
    std::vector<std::string> no_scopes;
    if (!ch) return std::string();  // the registry needs no credentials
    std::string auth = BERTH_TRY(authorization(no_scopes, true));
    HttpRequest req;
    req.method = "GET";
    req.url = absolute("/v2/");
    req.max_body = 64 << 10;
    TransportFailure tf;
    auto r =
        BERTH_TRY_CTX(exchange(std::move(req), auth, &tf), "login to {}", session_->registry());
    if (r.status == 200) return session_->refresh_token();
    Error e = registry_error(r, fmt::format("login to {}", session_->registry()));
    if (r.status == 401 || r.status == 403) e.code = Errc::PermissionDenied;
    return Unexpected(std::move(e));
}

}  // namespace berth::registry::client
