#pragma once
// Image answers of the Engine API, mirroring moby's api/types (image.Summary, image.Inspect,
// image.HistoryResponseItem, image.DeleteResponse, image.PruneReport) at API 1.44. The JSON
// encoders (to_json, found by nlohmann through ADL) write moby's field names and zero values;
// lists and maps are never null.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::api::types {

/// One entry of GET /images/json (and of /system/df's Images).
struct ImageSummary {
    std::string id;                         ///< "sha256:<64 hex>" (the config digest)
    std::string parent_id;                  ///< "" for pulled or imported images
    std::vector<std::string> repo_tags;     ///< "busybox:latest"
    std::vector<std::string> repo_digests;  ///< "busybox@sha256:..."
    int64_t created = 0;                    ///< unix seconds
    int64_t size = 0;                       ///< bytes of all layers
    int64_t shared_size = -1;               ///< -1 when not computed
    int64_t containers = -1;                ///< -1 when not computed
    std::map<std::string, std::string> labels;
};

/// GET /images/{name}/json. Config and ContainerConfig are container.Config objects; an empty
/// (null) value is written as {} (compose reads ContainerConfig.Volumes).
struct ImageInspect {
    std::string id;
    std::vector<std::string> repo_tags;
    std::vector<std::string> repo_digests;
    std::string parent;
    std::string comment;
    std::string created;  ///< RFC3339Nano
    std::string container;
    nlohmann::json container_config;
    std::string docker_version;
    std::string author;
    nlohmann::json config;
    std::string architecture;
    std::string variant;  ///< omitted when empty
    std::string os;
    std::string os_version;  ///< omitted when empty
    int64_t size = 0;
    std::string graph_driver_name = "overlay2";
    std::map<std::string, std::string> graph_driver_data;
    std::vector<std::string> layers;  ///< RootFS.Layers: diff IDs
    std::string last_tag_time;        ///< Metadata.LastTagTime, RFC3339Nano; "" = zero time
};

/// One entry of GET /images/{name}/history (newest first).
struct HistoryItem {
    std::string id = "<missing>";  ///< image ID, or "<missing>" for layers with no local image
    int64_t created = 0;           ///< unix seconds
    std::string created_by;
    std::vector<std::string> tags;
    int64_t size = 0;
    std::string comment;
};

/// One entry of DELETE /images/{name} and of prune reports: exactly one field is set.
struct DeleteResponse {
    std::string untagged;
    std::string deleted;
};

/// POST /images/prune.
struct ImagesPruneReport {
    std::vector<DeleteResponse> images_deleted;
    uint64_t space_reclaimed = 0;
};

void to_json(nlohmann::json& j, const ImageSummary& s);
void to_json(nlohmann::json& j, const ImageInspect& s);
void to_json(nlohmann::json& j, const HistoryItem& s);
void to_json(nlohmann::json& j, const DeleteResponse& s);
void to_json(nlohmann::json& j, const ImagesPruneReport& s);

}  // namespace berth::api::types
