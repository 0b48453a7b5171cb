#include "berth/image/reference.hpp"

#include <algorithm>
#include <regex>

namespace berth::image {
namespace {

// The grammar of distribution/reference regexp.go, built the same way. std::regex (ECMAScript)
// backtracks leftmost-first like Go's regexp, so the captures split the same way.
const std::string kAlphanumeric = "[a-z0-9]+";
const std::string kSeparator = "(?:[._]|__|[-]+)";
const std::string kDomainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const std::string kOptionalPort = "(?::[0-9]+)?";
const std::string kTag = R"([\w][\w.-]{0,127})";
const std::string kDigestPat =
    "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}";
const std::string kIpv6Address = R"(\[(?:[a-fA-F0-9:]+)\])";
const std::string kDomainName = kDomainNameComponent + R"((?:\.)" + kDomainNameComponent + ")*";
const std::string kHost = "(?:" + kDomainName + "|" + kIpv6Address + ")";
const std::string kDomainAndPort = kHost + kOptionalPort;
const std::string kPathComponent = kAlphanumeric + "(?:" + kSeparator + kAlphanumeric + ")*";
const std::string kRemoteName = kPathComponent + "(?:/" + kPathComponent + ")*";
const std::string kNamePat = "(?:" + kDomainAndPort + "/)?" + kRemoteName;

const std::regex& reference_regex() {
    static const std::regex re("(" + kNamePat + ")(?::(" + kTag + "))?(?:@(" + kDigestPat + "))?");
    return re;
}
const std::regex& name_regex() {
    static const std::regex re("(?:(" + kDomainAndPort + ")/)?(" + kRemoteName + ")");
    return re;
}
const std::regex& tag_regex() {
    static const std::regex re(kTag);
    return re;
}

// libstdc++'s regex recurses per input character (about 400 bytes of stack each at -O2). The
// longest valid reference is 255 + 1 + 128 + 1 + 71 = 456 characters, so longer input is
// rejected before matching; that keeps the stack use under 256 KiB.
constexpr size_t kMaxInput = 512;

constexpr std::string_view kErrInvalidFormat = "invalid reference format";
constexpr std::string_view kErrUppercase = "repository name must be lowercase";
constexpr std::string_view kErrEmpty = "repository name must have at least one component";

Unexpected invalid(std::string_view msg) {
    return make_error(Errc::InvalidArgument, "{}", msg);
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    return out;
}

bool is_lower_hex(std::string_view s) noexcept {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// splitDockerDomain: the domain and remote name of a familiar name (tag/digest still attached).
std::pair<std::string, std::string> split_docker_domain(std::string_view name) {
    auto slash = name.find('/');
    if (slash == std::string_view::npos)
        return {std::string(kDefaultDomain), std::string(kOfficialRepoPrefix) + std::string(name)};
    std::string_view maybe_domain = name.substr(0, slash);
    std::string_view maybe_remote = name.substr(slash + 1);
    std::string domain;
    std::string remote;
    if (maybe_domain == "localhost") {
        domain = maybe_domain;
        remote = maybe_remote;
    } else if (maybe_domain == kLegacyDefaultDomain) {
        domain = kDefaultDomain;
        remote = maybe_remote;
    } else if (maybe_domain.find_first_of(".:") != std::string_view::npos ||
               to_lower(maybe_domain) != maybe_domain) {
        // A '.' or ':' means a host (or host:port); uppercase can't be a namespace, so Docker
        // takes it as a domain too.
        domain = maybe_domain;
        remote = maybe_remote;
    } else {
        domain = kDefaultDomain;
        remote = name;
    }
    if (domain == kDefaultDomain && remote.find('/') == std::string::npos)
        remote = std::string(kOfficialRepoPrefix) + remote;
    return {domain, remote};
}

}  // namespace

bool is_valid_tag(std::string_view s) {
    if (s.empty() || s.size() > 128) return false;
    return std::regex_match(s.begin(), s.end(), tag_regex());
}

bool is_full_id(std::string_view s) noexcept {
    return s.size() == Digest::kSha256HexLen && is_lower_hex(s);
}

bool is_id_prefix(std::string_view s) noexcept {
    if (s.substr(0, 7) == "sha256:") s.remove_prefix(7);
    return !s.empty() && s.size() <= Digest::kSha256HexLen && is_lower_hex(s);
}

Result<Reference> Reference::parse(std::string_view s) {
    if (s.empty()) return invalid(kErrEmpty);
    if (s.size() > kMaxInput) return invalid(kErrInvalidFormat);
    std::match_results<std::string_view::const_iterator> m;
    if (!std::regex_match(s.begin(), s.end(), m, reference_regex())) {
        std::string lower = to_lower(s);
        if (std::regex_match(lower, reference_regex())) return invalid(kErrUppercase);
        return invalid(kErrInvalidFormat);
    }
    std::string name = m[1].str();
    if (name.size() > kNameTotalLengthMax)
        return make_error(Errc::InvalidArgument,
                          "repository name must not be more than {} characters",
                          kNameTotalLengthMax);
    Reference r;
    std::smatch nm;
    if (!std::regex_match(name, nm, name_regex())) return invalid(kErrInvalidFormat);
    r.domain_ = nm[1].matched ? nm[1].str() : std::string();
    r.path_ = nm[2].str();
    if (m[2].matched) r.tag_ = m[2].str();
    if (m[3].matched) r.digest_ = BERTH_TRY(Digest::parse(m[3].str()));
    return r;
}

Result<Reference> Reference::parse_normalized(std::string_view s) {
    if (is_full_id(s))
        return make_error(Errc::InvalidArgument,
                          "invalid repository name ({}), cannot specify 64-byte hexadecimal "
                          "strings",
                          s);
    auto [domain, remainder] = split_docker_domain(s);
    std::string_view remote = remainder;
    if (auto colon = remote.find(':'); colon != std::string_view::npos)
        remote = remote.substr(0, colon);
    if (to_lower(remote) != remote)
        return make_error(Errc::InvalidArgument,
                          "invalid reference format: repository name ({}) must be lowercase",
                          remote);
    return parse(domain + "/" + remainder);
}

Result<Reference> Reference::parse_docker(std::string_view s) {
    Reference r = BERTH_TRY(parse_normalized(s));
    if (r.tag_ && r.digest_) r.tag_.reset();
    return r.with_default_tag();
}

std::string Reference::name() const {
    return domain_.empty() ? path_ : domain_ + "/" + path_;
}

std::string Reference::string() const {
    std::string s = name();
    if (tag_) s += ":" + *tag_;
    if (digest_) s += "@" + digest_->string();
    return s;
}

std::string Reference::familiar_name() const {
    if (domain_ != kDefaultDomain) return name();
    std::string_view p = path_;
    if (p.substr(0, kOfficialRepoPrefix.size()) == kOfficialRepoPrefix) {
        std::string_view rest = p.substr(kOfficialRepoPrefix.size());
        if (rest.find('/') == std::string_view::npos) return std::string(rest);
    }
    return path_;
}

std::string Reference::familiar_string() const {
    std::string s = familiar_name();
    if (tag_) s += ":" + *tag_;
    if (digest_) s += "@" + digest_->string();
    return s;
}

Reference Reference::with_default_tag() const {
    Reference r = *this;
    if (r.name_only()) r.tag_ = std::string(kDefaultTag);
    return r;
}

Result<Reference> Reference::with_tag(std::string_view tag) const {
    if (!is_valid_tag(tag)) return make_error(Errc::InvalidArgument, "invalid tag format");
    Reference r = *this;
    r.tag_ = std::string(tag);
    return r;
}

Reference Reference::with_digest(const Digest& d) const {
    Reference r = *this;
    r.digest_ = d;
    return r;
}

Reference Reference::name_reference() const {
    Reference r;
    r.domain_ = domain_;
    r.path_ = path_;
    return r;
}

Result<AnyReference> parse_any_reference(std::string_view s) {
    if (is_full_id(s)) return AnyReference(*Digest::from_sha256_hex(s));
    // Only a digest-shaped string goes down the digest path; "name:tag" must stay a name.
    if (auto d = Digest::parse(s)) return AnyReference(std::move(*d));
    auto r = BERTH_TRY(Reference::parse_normalized(s));
    return AnyReference(std::move(r));
}

}  // namespace berth::image
