#include "berth/api/server/event_filter.hpp"

namespace berth::api {

namespace {

std::string attr(const types::EventMessage& m, const char* key) {
    auto it = m.attributes.find(key);
    return it == m.attributes.end() ? std::string{} : it->second;
}

// "busybox:latest" -> "busybox"; digests and registry ports are left alone.
std::string strip_tag(const std::string& ref) {
    size_t slash = ref.rfind('/');
    size_t colon = ref.rfind(':');
    if (ref.find('@') != std::string::npos) return ref;
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
        return ref.substr(0, colon);
    return ref;
}

// moby's matchEvent: "exec_start" also matches "exec_start: sh -c ..." and
// "health_status" matches "health_status: healthy".
bool match_action(const Filters& f, const std::string& action) {
    if (!f.contains("event")) return true;
    if (f.exact_match("event", action)) return true;
    size_t colon = action.find(':');
    return colon != std::string::npos && f.exact_match("event", action.substr(0, colon));
}

bool match_name(const Filters& f, const char* key, const types::EventMessage& m, const char* type) {
    if (!f.contains(key)) return true;
    if (m.type != type) return false;
    return f.fuzzy_match(key, m.actor_id) || f.fuzzy_match(key, attr(m, "name"));
}

bool match_image(const Filters& f, const types::EventMessage& m) {
    if (!f.contains("image")) return true;
    std::string name = attr(m, m.type == "image" ? "name" : "image");
    return f.exact_match("image", m.actor_id) || f.exact_match("image", name) ||
           f.exact_match("image", strip_tag(m.actor_id)) || f.exact_match("image", strip_tag(name));
}

}  // namespace

Result<void> validate_event_filters(const Filters& f) {
    return f.validate({"config", "container", "daemon", "event", "image", "label", "network",
                       "node", "plugin", "scope", "secret", "service", "type", "volume"});
}

bool event_matches(const Filters& f, const types::EventMessage& m) {
    return match_action(f, m.action) && f.exact_match("type", m.type) &&
           f.exact_match("scope", m.scope) && match_name(f, "container", m, "container") &&
           match_name(f, "network", m, "network") && match_name(f, "volume", m, "volume") &&
           match_name(f, "daemon", m, "daemon") && match_image(f, m) &&
           f.match_kv_list("label", m.attributes);
}

}  // namespace berth::api
