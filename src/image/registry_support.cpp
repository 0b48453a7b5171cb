// ImageService's registry support: the store operations that pull and push (src/registry/
// transfer) run below the image API. A pull holds a reference on every layer it needs from the
// moment it finds or unpacks it until the image is registered, so a concurrent `rmi` cannot
// remove a layer in between, and whatever a failed pull unpacked can be removed again exactly.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/scope_exit.hpp"
#include "service_impl.hpp"

namespace berth::image {

StagingDir::~StagingDir() {
    if (path_.empty()) return;
    if (auto r = remove_all(path_); !r) BLOG_WARN("remove {}: {}", path_, r.error().what());
}

Result<store::LayerInfo> ImageService::hold_layer(const std::optional<Digest>& parent,
                                                  const Digest& diff_id) {
    // Under the mutex: a delete (which also holds it) cannot remove the layer between the
    // lookup and the acquire.
    std::lock_guard lock(impl_->mu);
    auto info = impl_->layers.lookup(parent, diff_id);
    if (!info) return info;
    info->refs = BERTH_TRY_CTX(impl_->layers.acquire(info->chain_id), "hold layer {}",
                               info->chain_id.string());
    return info;
}

Result<HeldLayer> ImageService::apply_and_hold_layer(const std::optional<Digest>& parent,
                                                     int tar_fd, const Digest& diff_id) {
    const Digest chain = store::LayerStore::chain_id(parent, diff_id);
    bool existed = impl_->layers.exists(chain);
    auto info = BERTH_TRY(impl_->layers.apply(parent, tar_fd, diff_id));
    std::lock_guard lock(impl_->mu);
    auto refs = impl_->layers.acquire(info.chain_id);
    if (!refs) {
        // Removed by a delete between the publish and this lock (a layer that existed before
        // and lost its last image just now): the tar is consumed, so the caller pulls again.
        return Unexpected(std::move(refs).error().wrap("hold layer {}", chain.string()));
    }
    info.refs = *refs;
    return HeldLayer{std::move(info), !existed};
}

Result<void> ImageService::release_layer(const Digest& chain, bool remove_if_unused) {
    std::lock_guard lock(impl_->mu);
    uint64_t left = BERTH_TRY_CTX(impl_->layers.release(chain), "release layer {}", chain.string());
    if (remove_if_unused && left == 0) {
        auto r = impl_->layers.remove(chain);
        // A child (another image's layer above it) keeps it: that is not a failure.
        if (!r && r.error().code != Errc::Conflict)
            return Unexpected(std::move(r).error().wrap("remove unused layer {}", chain.string()));
    }
    return {};
}

Result<PulledImage> ImageService::commit_pulled_image(const PulledImageSpec& spec) {
    std::lock_guard lock(impl_->mu);
    const Digest id = digest_of(spec.raw_config);
    // moby's pullTag: "up to date" when the reference already named this very image.
    bool updated = true;
    if (spec.tag) {
        auto cur = impl_->meta.resolve_tag(spec.tag->with_default_tag().string());
        if (cur && *cur == id) updated = false;
    } else if (spec.repo_digest) {
        auto cur = impl_->meta.resolve_repo_digest(spec.repo_digest->string());
        if (cur && *cur == id) updated = false;
    }
    std::vector<Reference> refs;
    if (spec.tag) refs.push_back(*spec.tag);
    if (spec.repo_digest) refs.push_back(*spec.repo_digest);
    // Blobs that add_image() writes before a step that fails stay behind otherwise (a pull
    // leaves nothing); under the mutex no other add_image() can come to need them meanwhile.
    const Digest manifest_id = digest_of(spec.raw_manifest);
    const bool had_config = impl_->content.exists(id);
    const bool had_manifest = impl_->content.exists(manifest_id);
    auto img = impl_->add_image(spec.raw_config, spec.raw_manifest, spec.chain_ids, refs);
    if (!img) {
        if (!impl_->meta.get_image(id)) {
            if (!had_config) (void)impl_->content.remove(id);
            if (!had_manifest) (void)impl_->content.remove(manifest_id);
        }
        return Unexpected(std::move(img).error());
    }
    return PulledImage{std::move(*img), updated};
}

Result<void> ImageService::record_layer_blobs(const std::vector<store::LayerBlobRecord>& recs) {
    return impl_->meta.put_layer_blobs(recs);
}

Result<std::vector<store::LayerBlobRecord>> ImageService::layer_blobs(const Digest& diff_id) const {
    return impl_->meta.layer_blobs(diff_id);
}

Result<store::LayerInfo> ImageService::layer_info(const Digest& chain) const {
    return impl_->layers.info(chain);
}

Result<Digest> ImageService::write_layer_tar(const Digest& chain, int out_fd) const {
    return impl_->layers.write_tar(chain, out_fd);
}

Result<std::string> ImageService::read_blob(const Digest& digest) const {
    return impl_->content.read(digest);
}

Result<StagingDir> ImageService::make_staging_dir(std::string_view prefix) const {
    // Same place and protocol as load's staging directories, so open()'s cleanup of crash
    // leftovers covers these too.
    std::string tmp_root = path_join(impl_->root, "tmp");
    BERTH_TRY_CTX(mkdir_all(tmp_root, 0700), "create {}", tmp_root);
    std::string dir = path_join(tmp_root, fmt::format("{}-{}", prefix, BERTH_TRY(random_hex(12))));
    if (::mkdir(dir.c_str(), 0700) < 0) return BERTH_SYS_ERROR("mkdir {}", dir);
    ScopeExit drop([&] { (void)remove_all(dir); });
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return BERTH_SYS_ERROR("open {}", dir);
    if (::flock(fd.get(), LOCK_EX) < 0) return BERTH_SYS_ERROR("flock {}", dir);
    drop.release();
    return StagingDir(dir, std::move(fd));
}

}  // namespace berth::image
