#include "berth/api/types/events.hpp"

namespace berth::api::types {

void to_json(nlohmann::json& j, const EventMessage& m) {
    j = nlohmann::json{
        {"Type", m.type},
        {"Action", m.action},
        {"Actor",
         {{"ID", m.actor_id},
          {"Attributes",
           m.attributes.empty() ? nlohmann::json::object() : nlohmann::json(m.attributes)}}},
        {"scope", m.scope},
        {"time", m.time_nano / 1'000'000'000},
        {"timeNano", m.time_nano},
    };
    // The deprecated fields, filled as moby's events service does (compose 1.29 reads them).
    if (m.type == "container" || m.type == "image") {
        j["status"] = m.action;
        j["id"] = m.actor_id;
    }
    if (m.type == "container") {
        auto it = m.attributes.find("image");
        if (it != m.attributes.end() && !it->second.empty()) j["from"] = it->second;
    }
}

}  // namespace berth::api::types
