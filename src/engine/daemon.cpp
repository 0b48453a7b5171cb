#include "berth/engine/daemon.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"

namespace berth::engine {
namespace {

// A random (version 4) UUID, as moby's engine-id.
Result<std::string> new_uuid() {
    std::string h = BERTH_TRY(random_hex(16));
    h[12] = '4';
    h[16] = "89ab"[(h[16] - '0') & 3];
    return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4),
                       h.substr(16, 4), h.substr(20, 12));
}

Result<std::string> load_engine_id(const std::string& data_root) {
    std::string path = path_join(data_root, "engine-id");
    if (auto id = read_file(path)) {
        while (!id->empty() && (id->back() == '\n' || id->back() == ' ')) id->pop_back();
        if (!id->empty()) return *id;
    }
    std::string id = BERTH_TRY(new_uuid());
    BERTH_TRY_CTX(atomic_write_file(path, id), "write engine ID");
    return id;
}

}  // namespace

Result<std::unique_ptr<Daemon>> Daemon::open(DaemonConfig cfg) {
    for (const auto* dir : {&cfg.data_root, &cfg.exec_root}) {
        BERTH_TRY_CTX(mkdir_all(*dir, 0711), "create {}", *dir);
        ::chmod(dir->c_str(), 0711);
    }
    std::string id = BERTH_TRY_CTX(load_engine_id(cfg.data_root), "data root {}", cfg.data_root);
    image::ImageServiceOptions opts;
    opts.durable = cfg.durable;
    opts.preserve_ownership = ::geteuid() == 0;
    auto images = BERTH_TRY_CTX(image::ImageService::open(cfg.data_root, opts),
                                "open image store in {}", cfg.data_root);
    std::unique_ptr<Daemon> d(new Daemon(std::move(cfg), std::move(id), std::move(images)));
    ContainerService::Paths paths;
    paths.data_root = d->cfg_.data_root;
    paths.exec_root = d->cfg_.exec_root;
    paths.shim_binary = d->cfg_.shim_binary;
    if (paths.shim_binary.empty()) {
        // Installed side by side: berthd and berth-shim in the same directory.
        char buf[4096];
        ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
        if (n < 0) return BERTH_SYS_ERROR("readlink /proc/self/exe");
        std::string self(buf, static_cast<size_t>(n));
        paths.shim_binary = self.substr(0, self.rfind('/') + 1) + "berth-shim";
    }
    paths.init_binary = d->cfg_.init_binary;
    paths.cgroup_parent = d->cfg_.cgroup_parent;
    if (paths.init_binary.empty()) {
        std::string dir = paths.shim_binary.substr(0, paths.shim_binary.rfind('/') + 1);
        if (::access((dir + "berth-init").c_str(), X_OK) == 0) paths.init_binary = dir + "berth-init";
    }
    d->containers_ = BERTH_TRY_CTX(ContainerService::open(paths, *d->images_, d->events_),
                                   "open containers in {}", d->cfg_.data_root);
    return d;
}

std::optional<std::string> Daemon::image_user(const Digest& image_id) const {
    return containers_ ? containers_->image_user(image_id.string()) : std::nullopt;
}

void Daemon::image_event(const image::Image& img, std::string_view name, std::string_view action,
                         std::string_view actor) {
    Event e;
    e.type = "image";
    e.action = std::string(action);
    e.actor_id = actor.empty() ? img.record.id.string() : std::string(actor);
    // moby's LogImageEvent: the image's labels plus "name".
    e.attributes = img.config.config.labels;
    e.attributes["name"] = std::string(name);
    events_.publish(std::move(e));
}

Result<image::Image> Daemon::import_image(int tar_fd, const image::ImportOptions& opts) {
    auto img = BERTH_TRY(images_->import(tar_fd, opts));
    image_event(img, img.record.id.string(), "import");
    if (!opts.reference.empty()) {
        // import tags through the same path as `docker tag`, so "tag" is published too.
        if (auto ref = image::Reference::parse_normalized(opts.reference)) {
            image_event(img, ref->with_default_tag().familiar_string(), "tag");
        }
    }
    return img;
}

Result<image::Image> Daemon::tag_image(std::string_view source, std::string_view target) {
    auto img = BERTH_TRY(images_->tag(source, target));
    auto ref = image::Reference::parse_normalized(target);
    image_event(img, ref ? ref->with_default_tag().familiar_string() : std::string(target), "tag");
    return img;
}

void Daemon::removal_events(const std::vector<image::DeleteItem>& items,
                            const std::vector<image::Image>& before) {
    std::map<std::string, const image::Image*> by_id, by_ref;
    for (const auto& img : before) {
        by_id[img.record.id.string()] = &img;
        for (const auto* refs : {&img.record.tags, &img.record.repo_digests}) {
            for (const auto& r : *refs) {
                if (auto ref = image::Reference::parse(r)) by_ref[ref->familiar_string()] = &img;
            }
        }
    }
    for (const auto& it : items) {
        const auto& index = it.untagged.empty() ? by_id : by_ref;
        auto found = index.find(it.untagged.empty() ? it.deleted : it.untagged);
        if (found == index.end()) continue;  // a layer's chain ID: no event
        const image::Image& img = *found->second;
        image_event(img, img.record.id.string(), it.untagged.empty() ? "delete" : "untag");
    }
}

Result<std::vector<image::DeleteItem>> Daemon::remove_image(std::string_view name, bool force,
                                                           bool prune) {
    // The events need the images' IDs and labels, which are gone afterwards.
    auto before = images_->list();
    auto items = BERTH_TRY(images_->remove(name, force, prune,
                                           [this](const Digest& id) { return image_user(id); }));
    if (before) removal_events(items, *before);
    return items;
}

Result<image::PruneReport> Daemon::prune_images(const image::ImageFilters& filters) {
    auto before = images_->list();
    auto report = BERTH_TRY(images_->prune(filters, [this](const Digest& id) { return image_user(id); }));
    if (before) removal_events(report.deleted, *before);
    Event e{"image", "prune", "", {{"reclaimed", std::to_string(report.space_reclaimed)}}, 0};
    events_.publish(std::move(e));
    return report;
}

Result<void> Daemon::save_images(const std::vector<std::string>& names,
                                 const image::ImageService::SaveOutput& output) {
    BERTH_TRY(images_->save(names, output));
    for (const auto& n : names) {
        if (auto img = images_->get(n)) image_event(*img, n, "save");
    }
    return {};
}

Result<image::LoadResult> Daemon::load_images(int in_fd, const image::ProgressFn& progress) {
    auto res = BERTH_TRY(images_->load(in_fd, progress));
    for (const auto& t : res.loaded_tags) {
        if (auto img = images_->get(t)) image_event(*img, t, "load");
    }
    for (const auto& id : res.loaded_ids) {
        if (auto img = images_->get(id.string())) image_event(*img, id.string(), "load");
    }
    return res;
}

}  // namespace berth::engine
