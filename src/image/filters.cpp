// Image list/prune filters (moby daemon/images/images.go, image_prune.go; distribution/reference
// FamiliarMatch; Go's path.Match). `until` is read by berth::parse_timestamp (common/time).

#include "filters.hpp"

#include <algorithm>

#include "berth/common/time.hpp"

namespace berth::image::detail {

namespace {

Unexpected bad_pattern() {
    return make_error(Errc::InvalidArgument, "syntax error in pattern");
}

/// Go's path.Match, with its ErrBadPattern rules: a malformed class or a trailing '\' is an
/// error. Recursion depth is bounded by the number of '*' in the pattern.
Result<bool> match_from(std::string_view p, std::string_view n) {
    while (!p.empty()) {
        char c = p.front();
        if (c == '*') {
            while (!p.empty() && p.front() == '*') p.remove_prefix(1);
            if (p.empty()) return n.find('/') == std::string_view::npos;
            for (size_t i = 0; i <= n.size(); ++i) {
                auto m = match_from(p, n.substr(i));
                if (!m) return m;
                if (*m) return true;
                if (i < n.size() && n[i] == '/') break;
            }
            // The rest of the pattern must still be checked for syntax (Go does).
            auto rest = match_from(p, "");
            if (!rest) return rest;
            return false;
        }
        if (c == '?') {
            if (n.empty() || n.front() == '/') return false;
            p.remove_prefix(1);
            n.remove_prefix(1);
            continue;
        }
        if (c == '[') {
            p.remove_prefix(1);
            bool negated = false;
            if (!p.empty() && p.front() == '^') {
                negated = true;
                p.remove_prefix(1);
            }
            bool matched = false;
            bool first = true;
            unsigned char ch = n.empty() ? 0 : static_cast<unsigned char>(n.front());
            while (true) {
                if (p.empty()) return bad_pattern();
                if (!first && p.front() == ']') {
                    p.remove_prefix(1);
                    break;
                }
                first = false;
                auto take = [&](unsigned char& out) -> bool {
                    if (p.empty() || p.front() == ']' || p.front() == '-') return false;
                    if (p.front() == '\\') {
                        p.remove_prefix(1);
                        if (p.empty()) return false;
                    }
                    out = static_cast<unsigned char>(p.front());
                    p.remove_prefix(1);
                    return true;
                };
                unsigned char lo = 0, hi = 0;
                if (!take(lo)) return bad_pattern();
                hi = lo;
                if (!p.empty() && p.front() == '-') {
                    p.remove_prefix(1);
                    if (!take(hi)) return bad_pattern();
                }
                if (!n.empty() && lo <= ch && ch <= hi) matched = true;
            }
            if (n.empty() || n.front() == '/' || matched == negated) return false;
            n.remove_prefix(1);
            continue;
        }
        if (c == '\\') {
            p.remove_prefix(1);
            if (p.empty()) return bad_pattern();
            c = p.front();
        }
        if (n.empty() || n.front() != c) {
            // Go still validates the remainder of the pattern; a mismatch is reported as
            // such only if the pattern is well formed.
            auto rest = match_from(p.substr(1), "");
            if (!rest) return rest;
            return false;
        }
        p.remove_prefix(1);
        n.remove_prefix(1);
    }
    return n.empty();
}

}  // namespace

Result<bool> path_match(std::string_view pattern, std::string_view name) {
    return match_from(pattern, name);
}

Result<bool> familiar_match(std::string_view pattern, std::string_view full_ref) {
    auto ref = Reference::parse(full_ref);
    if (!ref) return false;
    bool m = BERTH_TRY(path_match(pattern, ref->familiar_string()));
    if (!m) m = BERTH_TRY(path_match(pattern, ref->familiar_name()));
    return m;
}

bool match_labels(const std::vector<std::string>& filters,
                  const std::map<std::string, std::string>& labels) {
    for (const auto& f : filters) {
        auto eq = f.find('=');
        auto it = labels.find(f.substr(0, eq));
        if (it == labels.end()) return false;
        if (eq != std::string::npos && it->second != f.substr(eq + 1)) return false;
    }
    return true;
}

Result<FilterSet> compile_filters(const ImageFilters& f, const std::vector<int64_t>& before_created,
                                  const std::vector<int64_t>& since_created, int64_t now) {
    FilterSet set;
    set.reference = f.reference;
    set.dangling = f.dangling;
    set.labels = f.label;
    for (auto b : before_created) set.before_ns = set.before_ns ? std::min(*set.before_ns, b) : b;
    for (auto s : since_created) set.since_ns = set.since_ns ? std::max(*set.since_ns, s) : s;
    if (f.until.size() > 1)
        return make_error(Errc::InvalidArgument, "more than one until filter specified");
    if (f.until.size() == 1) {
        auto t = parse_timestamp(f.until.front(), now);
        if (!t) return Unexpected(std::move(t).error().wrap("invalid value for 'until' filter"));
        set.until_ns = *t;
    }
    // A malformed reference pattern is refused even when no image would be compared with it.
    for (const auto& p : set.reference) {
        auto ok = path_match(p, "");
        if (!ok) return Unexpected(ok.error());
    }
    return set;
}

Result<bool> matches(const FilterSet& f, Image& img) {
    const auto& rec = img.record;
    if (f.before_ns && rec.created >= *f.before_ns) return false;
    if (f.since_ns && rec.created <= *f.since_ns) return false;
    if (f.until_ns && rec.created > *f.until_ns) return false;
    if (!f.labels.empty() && !match_labels(f.labels, img.config.config.labels)) return false;
    if (f.dangling) {
        // dangling=true: untagged images; dangling=false: images with some reference.
        bool dangling = rec.tags.empty();
        if (*f.dangling != dangling) return false;
        if (!*f.dangling && rec.tags.empty() && rec.repo_digests.empty()) return false;
    }
    if (!f.reference.empty()) {
        auto keep = [&](std::vector<std::string>& refs) -> Result<void> {
            std::vector<std::string> out;
            for (auto& r : refs) {
                for (const auto& p : f.reference) {
                    if (BERTH_TRY(familiar_match(p, r))) {
                        out.push_back(std::move(r));
                        break;
                    }
                }
            }
            refs = std::move(out);
            return {};
        };
        BERTH_TRY(keep(img.record.tags));
        BERTH_TRY(keep(img.record.repo_digests));
        if (img.record.tags.empty() && img.record.repo_digests.empty()) return false;
    }
    return true;
}

}  // namespace berth::image::detail
