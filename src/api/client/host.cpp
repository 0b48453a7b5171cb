// Daemon addresses in docker's forms (opts.ParseHost / client.ParseHostURL).

#include "berth/api/client/host.hpp"

#include <cstdlib>

#include "berth/common/strings.hpp"

namespace berth::api::client {

namespace {

Unexpected bad(std::string_view s) {
    return make_error(Errc::InvalidArgument, "Invalid bind address format: {}", s);
}

Result<Host> parse_tcp(std::string_view original, std::string_view addr) {
    // Drop a trailing path ("tcp://h:2375/") as docker does; anything else after it is refused.
    if (auto slash = addr.find('/'); slash != std::string_view::npos) {
        if (addr.substr(slash) != "/") return bad(original);
        addr = addr.substr(0, slash);
    }
    Host h;
    h.kind = Host::Kind::Tcp;
    std::string_view host = addr, port;
    if (!addr.empty() && addr.front() == '[') {
        auto close = addr.find(']');
        if (close == std::string_view::npos) return bad(original);
        host = addr.substr(1, close - 1);
        std::string_view rest = addr.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return bad(original);
            port = rest.substr(1);
        }
    } else if (auto colon = addr.rfind(':'); colon != std::string_view::npos) {
        if (addr.find(':') != colon) return bad(original);  // bare IPv6 needs brackets
        host = addr.substr(0, colon);
        port = addr.substr(colon + 1);
    }
    h.address = host.empty() ? "localhost" : std::string(host);
    h.port = kDefaultTcpPort;
    if (!port.empty()) {
        auto p = parse_uint(port);
        if (!p || *p == 0 || *p > 65535) return bad(original);
        h.port = static_cast<uint16_t>(*p);
    }
    bool v6 = h.address.find(':') != std::string::npos;
    h.url = "tcp://" + (v6 ? "[" + h.address + "]" : h.address) + ":" + std::to_string(h.port);
    return h;
}

}  // namespace

Result<Host> parse_host(std::string_view s) {
    std::string_view in = trim(s);
    if (in.empty()) in = kDefaultHost;
    auto sep = in.find("://");
    if (sep == std::string_view::npos) {
        if (in.front() == '/' || in.front() == '.') {
            Host h;
            h.path = std::string(in);
            h.url = "unix://" + h.path;
            return h;
        }
        return parse_tcp(s, in);
    }
    std::string_view scheme = in.substr(0, sep), rest = in.substr(sep + 3);
    if (scheme == "unix") {
        Host h;
        h.path = rest.empty() ? std::string(kDefaultHost.substr(7)) : std::string(rest);
        h.url = "unix://" + h.path;
        return h;
    }
    if (scheme == "tcp" || scheme == "http") return parse_tcp(s, rest);
    if (scheme == "ssh" || scheme == "npipe" || scheme == "fd" || scheme == "https")
        return make_error(Errc::Unsupported, "{} hosts are not supported by berth: {}", scheme, s);
    return bad(s);
}

std::string select_host(std::string_view flag) {
    if (!flag.empty()) return std::string(flag);
    for (const char* var : {"BERTH_HOST", "DOCKER_HOST"}) {
        const char* v = std::getenv(var);
        if (v && *v) return v;
    }
    return std::string(kDefaultHost);
}

}  // namespace berth::api::client
