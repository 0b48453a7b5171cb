// The reference grammar of distribution/reference, by hand (the regexes would cost more).

#include "reference.hpp"

#include <algorithm>
#include <cctype>

namespace berth::cli::format {

namespace {

constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kOfficialPrefix = "library/";

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// path-component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
bool valid_component(std::string_view c) {
    if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
    for (size_t i = 0; i < c.size();) {
        if (is_lower_alnum(c[i])) {
            ++i;
            continue;
        }
        size_t j = i;
        if (c[i] == '.') {
            j = i + 1;
        } else if (c[i] == '_') {
            j = i + 1;
            if (j < c.size() && c[j] == '_') ++j;
        } else if (c[i] == '-') {
            while (j < c.size() && c[j] == '-') ++j;
        } else {
            return false;
        }
        if (j >= c.size() || !is_lower_alnum(c[j])) return false;
        i = j;
    }
    return true;
}

// domain: host components ([a-zA-Z0-9] with inner '-') joined by '.', or [ipv6], optional :port.
bool valid_domain(std::string_view d) {
    if (d.empty()) return false;
    std::string_view host = d, port;
    if (d.front() == '[') {
        auto close = d.find(']');
        if (close == std::string_view::npos) return false;
        host = d.substr(0, close + 1);
        port = d.substr(close + 1);
        if (!port.empty()) {
            if (port.front() != ':') return false;
            port.remove_prefix(1);
            if (port.empty()) return false;
        }
    } else if (auto colon = d.rfind(':'); colon != std::string_view::npos) {
        host = d.substr(0, colon);
        port = d.substr(colon + 1);
        if (port.empty()) return false;
    }
    for (char c : port)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    if (host.front() == '[') return host.size() > 2;
    size_t start = 0;
    while (true) {
        size_t dot = host.find('.', start);
        std::string_view comp = host.substr(start, dot == std::string_view::npos ? host.npos : dot - start);
        if (comp.empty() || !std::isalnum(static_cast<unsigned char>(comp.front())) ||
            !std::isalnum(static_cast<unsigned char>(comp.back())))
            return false;
        for (char c : comp)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return true;
}

bool valid_tag(std::string_view t) {
    if (t.empty() || t.size() > 128) return false;
    if (!(std::isalnum(static_cast<unsigned char>(t[0])) || t[0] == '_')) return false;
    for (char c : t)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) return false;
    return true;
}

bool valid_digest(std::string_view d) {
    auto colon = d.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view alg = d.substr(0, colon), hex = d.substr(colon + 1);
    for (char c : alg)
        if (!(is_lower_alnum(c) || c == '+' || c == '.' || c == '_' || c == '-')) return false;
    if (hex.size() < 32) return false;
    for (char c : hex)
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    if (alg == "sha256" && hex.size() != 64) return false;
    return true;
}

}  // namespace

std::string familiarize_name(std::string_view n) {
    std::string_view rest = n;
    if (rest.substr(0, kDefaultDomain.size() + 1) == "docker.io/") {
        rest.remove_prefix(kDefaultDomain.size() + 1);
        if (rest.substr(0, kOfficialPrefix.size()) == kOfficialPrefix &&
            rest.find('/', kOfficialPrefix.size()) == std::string_view::npos)
            rest.remove_prefix(kOfficialPrefix.size());
    }
    return std::string(rest);
}

std::string Reference::familiar_name() const { return familiarize_name(name); }

std::string Reference::familiar_string() const {
    std::string s = familiar_name();
    if (!tag.empty()) s += ":" + tag;
    if (!digest.empty()) s += "@" + digest;
    return s;
}

Result<Reference> parse_normalized_named(std::string_view s) {
    if (s.empty()) return make_error(Errc::InvalidArgument, "invalid reference format");
    Reference ref;
    std::string_view rest = s;
    if (auto at = rest.find('@'); at != std::string_view::npos) {
        ref.digest = std::string(rest.substr(at + 1));
        rest = rest.substr(0, at);
        if (!valid_digest(ref.digest)) return make_error(Errc::InvalidArgument, "invalid reference format");
    }
    auto slash = rest.rfind('/');
    auto colon = rest.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        ref.tag = std::string(rest.substr(colon + 1));
        rest = rest.substr(0, colon);
        if (!valid_tag(ref.tag)) return make_error(Errc::InvalidArgument, "invalid reference format");
    }
    // splitDockerDomain: the first component is a domain if it has '.' or ':', is "localhost",
    // or has upper case letters.
    std::string domain, remainder;
    auto first_slash = rest.find('/');
    std::string_view first = rest.substr(0, first_slash);
    bool has_domain = first_slash != std::string_view::npos &&
                      (first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
                       std::any_of(first.begin(), first.end(), [](char c) { return std::isupper(static_cast<unsigned char>(c)); }));
    if (has_domain) {
        domain = std::string(first);
        remainder = std::string(rest.substr(first_slash + 1));
        if (domain == "index.docker.io") domain = std::string(kDefaultDomain);
    } else {
        domain = std::string(kDefaultDomain);
        remainder = std::string(rest);
    }
    if (domain == kDefaultDomain && remainder.find('/') == std::string::npos)
        remainder = std::string(kOfficialPrefix) + remainder;
    for (char c : remainder) {
        if (std::isupper(static_cast<unsigned char>(c)))
            return make_error(Errc::InvalidArgument,
                              "invalid reference format: repository name ({}) must be lowercase",
                              remainder);
    }
    if (!valid_domain(domain)) return make_error(Errc::InvalidArgument, "invalid reference format");
    size_t start = 0;
    while (true) {
        size_t k = remainder.find('/', start);
        if (!valid_component(std::string_view(remainder).substr(start, k == std::string::npos ? std::string::npos : k - start)))
            return make_error(Errc::InvalidArgument, "invalid reference format");
        if (k == std::string::npos) break;
        start = k + 1;
    }
    ref.name = domain + "/" + remainder;
    if (ref.name.size() > 255)
        return make_error(Errc::InvalidArgument, "invalid reference format: repository name must not be more than 255 characters");
    return ref;
}

}  // namespace berth::cli::format
