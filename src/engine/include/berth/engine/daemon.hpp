#pragma once
// The engine as the API sees it: the stores and services of one daemon (data root + exec root)
// and its event log. Every user-visible action goes through here so that it is published as an
// event exactly once, with moby's action names and attributes (daemon/images/*.go, LogImageEvent).
//
// Owns: the ImageService (content, layers, metadata under data_root), the EventBus and the
// ContainerService. Networks and volumes join in later issues.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/engine/containers.hpp"
#include "berth/engine/events.hpp"
#include "berth/image/image_service.hpp"
#include "berth/registry/client.hpp"
#include "berth/registry/pull.hpp"
#include "berth/registry/push.hpp"

namespace berth::engine {

struct DaemonConfig {
    std::string data_root = "/var/lib/berth";
    std::string exec_root = "/run/berth";
    /// fsync what is stored (never off in a real daemon; tests may turn it off).
    bool durable = true;
    /// The berth-shim binary; "" = next to the running program.
    std::string shim_binary;
    /// The init for --init; "" = none (--init is then refused).
    std::string init_binary;
    /// Containers' cgroups go under it unless their HostConfig.CgroupParent says otherwise
    /// (dockerd's --cgroup-parent; its default is "/docker").
    std::string cgroup_parent = "/berth";
    /// dockerd's --insecure-registry: "host[:port]" or CIDR entries reached over plain HTTP
    /// (or HTTPS without verification). Loopback registries always are.
    std::vector<std::string> insecure_registries;
    /// Per-registry TLS material (<dir>/<host[:port]>/*.crt, *.cert, *.key); empty: the client's
    /// defaults, /etc/berth/certs.d and /etc/docker/certs.d.
    std::vector<std::string> registry_certs_dirs;
};

class Daemon {
public:
    /// Creates the roots (0711, as dockerd does) and opens the stores. Errors name the root.
    [[nodiscard]] static Result<std::unique_ptr<Daemon>> open(DaemonConfig cfg);

    [[nodiscard]] const DaemonConfig& config() const noexcept { return cfg_; }
    /// The engine's persistent ID (<data_root>/engine-id, made on first start), as /info's ID.
    [[nodiscard]] const std::string& id() const noexcept { return id_; }
    [[nodiscard]] image::ImageService& images() noexcept { return *images_; }
    [[nodiscard]] ContainerService& containers() noexcept { return *containers_; }
    [[nodiscard]] EventBus& events() noexcept { return events_; }

    // Image actions that publish events ("import", "tag", "untag", "delete", "load", "save",
    // "prune"). Arguments and errors are the ImageService's.
    [[nodiscard]] Result<image::Image> import_image(int tar_fd, const image::ImportOptions& opts);
    [[nodiscard]] Result<image::Image> tag_image(std::string_view source, std::string_view target);
    [[nodiscard]] Result<std::vector<image::DeleteItem>> remove_image(std::string_view name,
                                                                      bool force, bool prune);
    [[nodiscard]] Result<image::PruneReport> prune_images(const image::ImageFilters& filters);
    [[nodiscard]] Result<void> save_images(const std::vector<std::string>& names,
                                           const image::ImageService::SaveOutput& output);
    [[nodiscard]] Result<image::LoadResult> load_images(int in_fd,
                                                        const image::ProgressFn& progress);

    // Registry actions (daemon_registry.cpp), with moby's "pull" and "push" events and its
    // error texts (distribution/errors.go): NotFound "manifest for busybox:x not found: ..."
    // and "pull access denied for x, repository does not exist or may require 'docker login':
    // ..."; PermissionDenied for a failed login.

    /// Pulls `ref` ("busybox", "127.0.0.1:5000/x:1", "x@sha256:..."; a name alone means
    /// ":latest") for `platform` ("" = the host's) with the client's credentials.
    [[nodiscard]] Result<registry::PullResult> pull_image(std::string_view ref,
                                                          std::string_view platform,
                                                          const registry::AuthConfig& auth,
                                                          const image::ProgressFn& progress);
    /// Pushes the local tag `ref` (":latest" when name-only).
    [[nodiscard]] Result<registry::PushResult> push_image(std::string_view ref,
                                                          const registry::AuthConfig& auth,
                                                          const image::ProgressFn& progress);
    /// POST /auth: checks the credentials against auth.server_address (Docker Hub when empty).
    [[nodiscard]] Result<registry::LoginResult> login(const registry::AuthConfig& auth);

private:
    Daemon(DaemonConfig cfg, std::string id, std::unique_ptr<image::ImageService> images)
        : cfg_(std::move(cfg)), id_(std::move(id)), images_(std::move(images)) {}
    /// What rmi and prune ask before deleting an image.
    [[nodiscard]] std::optional<std::string> image_user(const Digest& image_id) const;
    /// Publishes an image event with the image's labels and "name"; the actor is the image ID
    /// unless `actor` says otherwise.
    void image_event(const image::Image& img, std::string_view name, std::string_view action,
                     std::string_view actor = {});
    /// pull and push: moby's events name the reference as the actor.
    void reference_event(const image::Image& img, const image::Reference& ref,
                         std::string_view action);
    /// The registry client's options for this daemon, with `auth` as the credentials.
    [[nodiscard]] registry::ClientOptions registry_options(const registry::AuthConfig& auth) const;
    /// moby's events for what a removal deleted (daemon/images/image_delete.go): "untag" per
    /// reference and "delete" per image, each with the image ID as actor and its labels. The
    /// chain IDs of the layers that went with an image are in `items` too and publish nothing.
    /// `before` is the image list taken before the removal.
    void removal_events(const std::vector<image::DeleteItem>& items,
                        const std::vector<image::Image>& before);

    DaemonConfig cfg_;
    std::string id_;
    std::unique_ptr<image::ImageService> images_;
    EventBus events_;
    std::unique_ptr<ContainerService> containers_;  ///< after images_ and events_: uses both
};

}  // namespace berth::engine
