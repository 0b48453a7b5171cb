#include "berth/api/types/image.hpp"

namespace berth::api::types {

namespace {
// container.Config is an object in moby's answers; a missing one would be null, which
// compose (ContainerConfig.Volumes) and some CLI templates do not expect.
nlohmann::json object_or_empty(const nlohmann::json& j) {
    return j.is_null() ? nlohmann::json::object() : j;
}
}  // namespace

void to_json(nlohmann::json& j, const ImageSummary& s) {
    j = nlohmann::json{{"Containers", s.containers},
                       {"Created", s.created},
                       {"Id", s.id},
                       {"Labels", s.labels},
                       {"ParentId", s.parent_id},
                       {"RepoDigests", s.repo_digests},
                       {"RepoTags", s.repo_tags},
                       {"SharedSize", s.shared_size},
                       {"Size", s.size}};
    if (s.labels.empty()) j["Labels"] = nlohmann::json::object();
    if (s.repo_digests.empty()) j["RepoDigests"] = nlohmann::json::array();
    if (s.repo_tags.empty()) j["RepoTags"] = nlohmann::json::array();
}

void to_json(nlohmann::json& j, const ImageInspect& s) {
    j = nlohmann::json{
        {"Id", s.id},
        {"RepoTags", s.repo_tags.empty() ? nlohmann::json::array() : nlohmann::json(s.repo_tags)},
        {"RepoDigests",
         s.repo_digests.empty() ? nlohmann::json::array() : nlohmann::json(s.repo_digests)},
        {"Parent", s.parent},
        {"Comment", s.comment},
        {"Created", s.created},
        {"Container", s.container},
        {"ContainerConfig", object_or_empty(s.container_config)},
        {"DockerVersion", s.docker_version},
        {"Author", s.author},
        {"Config", object_or_empty(s.config)},
        {"Architecture", s.architecture},
        {"Os", s.os},
        {"Size", s.size},
        {"GraphDriver",
         {{"Name", s.graph_driver_name},
          {"Data", s.graph_driver_data.empty() ? nlohmann::json::object()
                                               : nlohmann::json(s.graph_driver_data)}}},
        {"RootFS",
         {{"Type", "layers"},
          {"Layers", s.layers.empty() ? nlohmann::json::array() : nlohmann::json(s.layers)}}},
        {"Metadata",
         {{"LastTagTime", s.last_tag_time.empty() ? "0001-01-01T00:00:00Z" : s.last_tag_time}}},
    };
    if (!s.variant.empty()) j["Variant"] = s.variant;
    if (!s.os_version.empty()) j["OsVersion"] = s.os_version;
}

void to_json(nlohmann::json& j, const HistoryItem& s) {
    j = nlohmann::json{{"Comment", s.comment},
                       {"Created", s.created},
                       {"CreatedBy", s.created_by},
                       {"Id", s.id},
                       {"Size", s.size},
                       {"Tags", s.tags.empty() ? nlohmann::json::array() : nlohmann::json(s.tags)}};
}

void to_json(nlohmann::json& j, const DeleteResponse& s) {
    j = nlohmann::json::object();
    if (!s.untagged.empty()) j["Untagged"] = s.untagged;
    if (!s.deleted.empty()) j["Deleted"] = s.deleted;
}

void to_json(nlohmann::json& j, const ImagesPruneReport& s) {
    nlohmann::json deleted = nlohmann::json::array();
    for (const auto& d : s.images_deleted) deleted.push_back(d);
    j = nlohmann::json{{"ImagesDeleted", deleted}, {"SpaceReclaimed", s.space_reclaimed}};
}

}  // namespace berth::api::types
