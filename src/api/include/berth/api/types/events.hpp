#pragma once
// events.Message of the Engine API (docker-api.md §3.4).

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace berth::api::types {

/// One event. The deprecated status/id/from fields are derived by the encoder the way moby
/// fills them (container and image events only); compose 1.29 reads status and id.
struct EventMessage {
    std::string type;    ///< "container", "image", "network", "volume", "daemon", ...
    std::string action;  ///< "create", "die", "tag", "exec_start: sh", ...
    std::string actor_id;
    std::map<std::string, std::string> attributes;  ///< name, image, exitCode, labels...
    std::string scope = "local";
    int64_t time_nano = 0;  ///< nanoseconds since the epoch; "time" is derived from it
};

void to_json(nlohmann::json& j, const EventMessage& m);

}  // namespace berth::api::types
