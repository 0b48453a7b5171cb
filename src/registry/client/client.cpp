// Entry points of the registry client: host mapping, insecure registries, open_repository(),
// login().

#include "berth/registry/client.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "berth/common/strings.hpp"
#include "remote_repository.hpp"
#include "session.hpp"

namespace berth::registry {
namespace {

// Splits "host[:port]" / "[v6]:port" into the host part (brackets removed).
std::string host_only(std::string_view hp) {
    if (hp.starts_with("[")) {
        auto end = hp.find(']');
        return std::string(hp.substr(1, end == std::string_view::npos ? hp.npos : end - 1));
    }
    auto colon = hp.find(':');
    // More than one colon: a bare IPv6 address.
    if (colon != std::string_view::npos && hp.find(':', colon + 1) != std::string_view::npos) {
        return std::string(hp);
    }
    return std::string(hp.substr(0, colon));
}

bool is_loopback(const std::string& host) {
    if (host == "localhost" || host.ends_with(".localhost")) return true;
    in_addr a4{};
    if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    in6_addr a6{};
    if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

// True when the IP `host` lies in `cidr` ("10.0.0.0/8", "fd00::/8").
bool in_cidr(const std::string& host, std::string_view cidr) {
    auto slash = cidr.find('/');
    if (slash == std::string_view::npos) return false;
    std::string net(cidr.substr(0, slash));
    auto bits = parse_int(cidr.substr(slash + 1));
    if (!bits || *bits < 0) return false;
    unsigned char a[16], b[16];
    int len = 0;
    if (inet_pton(AF_INET, host.c_str(), a) == 1 && inet_pton(AF_INET, net.c_str(), b) == 1) {
        len = 4;
    } else if (inet_pton(AF_INET6, host.c_str(), a) == 1 &&
               inet_pton(AF_INET6, net.c_str(), b) == 1) {
        len = 16;
    } else {
        return false;
    }
    int64_t n = std::min<int64_t>(*bits, len * 8);
    for (int i = 0; i < len && n > 0; ++i, n -= 8) {
        unsigned mask = n >= 8 ? 0xffu : (0xffu << (8 - n)) & 0xffu;
        if ((a[i] & mask) != (b[i] & mask)) return false;
    }
    return true;
}

std::vector<std::string> repo_scopes(std::string_view name, Access access) {
    return {fmt::format("repository:{}:{}", name, access == Access::Push ? "pull,push" : "pull")};
}

std::optional<AuthConfig> creds_for(std::string_view host, const ClientOptions& options) {
    if (options.credentials) return options.credentials(host);
    return options.auth;
}

}  // namespace

std::string api_host_for(std::string_view registry_host) {
    if (registry_host == "docker.io" || registry_host == "index.docker.io" ||
        registry_host == "registry-1.docker.io") {
        return "registry-1.docker.io";
    }
    return std::string(registry_host);
}

std::string credentials_key_for(std::string_view registry_host) {
    if (api_host_for(registry_host) == "registry-1.docker.io") return "https://index.docker.io/v1/";
    return std::string(registry_host);
}

bool is_insecure_registry(std::string_view host,
                          const std::vector<std::string>& insecure_registries) {
    std::string h = host_only(host);
    if (is_loopback(h)) return true;
    for (const auto& entry : insecure_registries) {
        std::string_view e = entry;
        // dockerd accepts "http://host:port" too.
        if (e.starts_with("http://")) e.remove_prefix(7);
        if (e.starts_with("https://")) e.remove_prefix(8);
        while (e.ends_with("/") && e.find('/') == e.size() - 1) e.remove_suffix(1);
        if (e == host || e == h) return true;
        if (e.find('/') != std::string_view::npos && in_cidr(h, e)) return true;
    }
    return false;
}

Result<std::unique_ptr<Repository>> open_repository(std::string_view registry_host,
                                                    std::string_view repository_name, Access access,
                                                    const ClientOptions& options) {
    if (registry_host.empty() || repository_name.empty()) {
        return make_error(Errc::InvalidArgument,
                          "open repository {:?} on registry {:?}: empty name", repository_name,
                          registry_host);
    }
    auto session = std::make_shared<client::Session>(std::string(registry_host), options,
                                                     creds_for(registry_host, options));
    return std::unique_ptr<Repository>(new client::RemoteRepository(
        std::move(session), std::string(repository_name), repo_scopes(repository_name, access)));
}

Result<LoginResult> login(std::string_view registry_host, const AuthConfig& auth,
                          const ClientOptions& options) {
    if (registry_host.empty()) {
        return make_error(Errc::InvalidArgument, "login: empty registry address");
    }
    auto session = std::make_shared<client::Session>(std::string(registry_host), options, auth);
    client::Requester req(std::move(session));
    LoginResult out;
    out.identity_token = BERTH_TRY(req.login());
    return out;
}

}  // namespace berth::registry
