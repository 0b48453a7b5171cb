// ImageService: lookup, import, tag, delete, prune, history, sizes and the consistency check.
// save() and load() live in save.cpp / load.cpp over the same Impl (service_impl.hpp).

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/common/strings.hpp"
#include "berth/common/time.hpp"
#include "berth/image/changes.hpp"
#include "filters.hpp"
#include "service_impl.hpp"

namespace berth::image {

namespace {

// Staging directories of load (<root>/tmp/load-*) whose owner is gone: a live load holds an
// flock on its directory, so one we can lock without waiting is a crash's leftover. Removes them
// when `remove` is set; returns their names either way.
std::vector<std::string> stale_staging_dirs(const std::string& root, bool remove) {
    std::vector<std::string> stale;
    std::string tmp = path_join(root, "tmp");
    auto names = list_dir(tmp);
    if (!names) return stale;
    for (const auto& n : *names) {
        std::string p = path_join(tmp, n);
        UniqueFd fd(::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
        if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) continue;  // in use
        stale.push_back(n);
        if (remove) {
            if (auto r = remove_all(p); !r) BLOG_WARN("remove stale {}: {}", p, r.error().what());
        }
    }
    return stale;
}

/// moby's stringid.TruncateID: the first 12 hex characters, without the algorithm.
std::string short_id(const Digest& d) {
    return d.hex().substr(0, 12);
}

/// A stored reference ("docker.io/library/a:1", "...@sha256:...") as a Reference. The
/// metadata store only holds references we wrote, so a parse failure means a damaged row.
std::optional<Reference> stored_ref(const std::string& s) {
    auto r = Reference::parse(s);
    if (!r) return std::nullopt;
    return std::move(*r);
}

/// Every reference (tags and repo digests) of an image record, parsed.
std::vector<Reference> refs_of(const store::ImageRecord& rec) {
    std::vector<Reference> out;
    for (const auto& t : rec.tags)
        if (auto r = stored_ref(t)) out.push_back(std::move(*r));
    for (const auto& t : rec.repo_digests)
        if (auto r = stored_ref(t)) out.push_back(std::move(*r));
    return out;
}

/// moby's isSingleReference: all references in one repository with at most one tag.
bool single_reference(const std::vector<Reference>& refs) {
    if (refs.size() <= 1) return refs.size() == 1;
    const Reference* single = nullptr;
    std::set<std::string> canonical_names;
    for (const auto& r : refs) {
        if (r.digest()) {
            canonical_names.insert(r.name());
        } else if (!single) {
            single = &r;
        } else {
            return false;
        }
    }
    if (!single) single = &refs.front();
    return canonical_names.size() == 1 && canonical_names.count(single->name()) == 1;
}

/// moby's isImageIDPrefix: `name` is a prefix of "sha256:<hex>" or of "<hex>".
bool is_image_id_prefix(const Digest& id, std::string_view name) {
    std::string full = id.string();
    if (full.compare(0, name.size(), name) == 0 && name.size() <= full.size()) return true;
    return name.size() <= id.hex().size() && id.hex().compare(0, name.size(), name) == 0;
}

/// "os[/arch[/variant]]" (containerd's platforms.Parse, the forms `docker import --platform`
/// sends), normalised; empty: the host's.
Result<oci::Platform> import_platform(std::string_view spec) {
    oci::Platform p;
    if (spec.empty()) {
        p = oci::host_platform();
    } else {
        auto parts = split(spec, '/');
        if (parts.size() > 3 || parts[0].empty())
            return make_error(Errc::InvalidArgument, "invalid platform \"{}\"", spec);
        for (auto& part : parts) std::transform(part.begin(), part.end(), part.begin(), ::tolower);
        // containerd's platforms.Parse: a lone architecture means the host's OS.
        static const std::set<std::string> kArches = {
            "amd64", "x86_64", "x86-64",  "arm64", "aarch64", "arm",      "armhf",  "armel",
            "386",   "i386",   "ppc64le", "s390x", "riscv64", "mips64le", "loong64"};
        if (parts.size() == 1 && kArches.count(parts[0])) parts.insert(parts.begin(), "linux");
        p.os = parts[0];
        if (parts.size() > 1) {
            p.architecture = parts[1];
        } else {
            p.architecture = oci::host_platform().architecture;
        }
        if (parts.size() > 2) p.variant = parts[2];
    }
    p = oci::normalize_platform(p);
    // moby's image.CheckOS: a Linux daemon stores only Linux images.
    if (p.os != "linux")
        return make_error(Errc::InvalidArgument, "operating system is not supported");
    return p;
}

/// Why an image cannot be deleted (moby's imageDeleteConflict).
struct DeleteConflict {
    bool hard = false;
    bool used = false;  ///< a container uses it
    Digest id;
    std::string message;

    [[nodiscard]] Error error() const {
        return Error{Errc::Conflict, 0,
                     fmt::format("conflict: unable to delete {} ({}) - {}", short_id(id),
                                 hard ? "cannot be forced" : "must be forced", message)};
    }
};

/// The work of remove() and prune() under the service mutex.
class Deleter {
public:
    Deleter(ImageService::Impl& impl, const ImageUseFn& in_use) : impl_(impl), in_use_(in_use) {}

    /// moby's ImageDelete.
    Result<std::vector<DeleteItem>> remove(std::string_view name, bool force, bool prune,
                                           const ImageService& svc) {
        std::vector<DeleteItem> records;
        Image img = BERTH_TRY(svc.get(name));
        const Digest id = img.record.id;
        std::vector<Reference> refs = refs_of(img.record);

        bool removed_repository_ref = false;
        if (!is_image_id_prefix(id, name)) {
            // A name was given: untag it first. If that would leave an image a container
            // uses without any name, the user must force it (it would become dangling).
            if (!force && single_reference(refs) && in_use_) {
                if (auto cid = in_use_(id)) {
                    return make_error(Errc::Conflict,
                                      "conflict: unable to remove repository reference \"{}\" "
                                      "(must force) - container {} is using its referenced "
                                      "image {}",
                                      name, cid->substr(0, 12), short_id(id));
                }
            }
            Reference parsed = BERTH_TRY(Reference::parse_normalized(name));
            if (parsed.digest() && parsed.tag())
                parsed = parsed.name_reference().with_digest(*parsed.digest());
            parsed = parsed.with_default_tag();
            BERTH_TRY(remove_ref(parsed));
            records.push_back(DeleteItem{parsed.familiar_string(), {}});

            img.record = BERTH_TRY_CTX(impl_.meta.get_image(id), "delete {}", name);
            refs = refs_of(img.record);
            if (!parsed.digest()) {
                // The last tag of a repository is gone: its digest references go with it.
                bool tag_left = std::any_of(refs.begin(), refs.end(), [&](const Reference& r) {
                    return !r.digest() && r.name() == parsed.name();
                });
                if (!tag_left) {
                    std::vector<Reference> remaining;
                    for (auto& r : refs) {
                        if (r.digest() && r.name() == parsed.name()) {
                            BERTH_TRY(remove_ref(r));
                            records.push_back(DeleteItem{r.familiar_string(), {}});
                        } else {
                            remaining.push_back(std::move(r));
                        }
                    }
                    refs = std::move(remaining);
                }
            }
            if (!refs.empty()) return records;
            removed_repository_ref = true;
        } else if (single_reference(refs)) {
            // An ID with at most one tag (in one repository): remove all its references, unless
            // something other than those references stops the delete.
            if (auto c = BERTH_TRY(check_conflict(id, true, !force, false)))
                return Unexpected(c->error());
            for (const auto& r : refs) {
                BERTH_TRY(remove_ref(r));
                records.push_back(DeleteItem{r.with_default_tag().familiar_string(), {}});
            }
        }
        BERTH_TRY(delete_helper(id, records, force, prune, removed_repository_ref));
        return records;
    }

    /// Bytes of the layers removed so far.
    [[nodiscard]] uint64_t reclaimed() const noexcept { return reclaimed_; }

private:
    /// moby's checkImageDeleteConflict. `soft`: references and containers count;
    /// `refs_count`: tags and digests count as a soft conflict (false for the ID path, which
    /// removes them itself).
    Result<std::optional<DeleteConflict>> check_conflict(const Digest& id, bool hard, bool soft,
                                                         bool refs_count) {
        if (hard) {
            auto children = BERTH_TRY(impl_.meta.children(id));
            if (!children.empty())
                return DeleteConflict{true, false, id, "image has dependent child images"};
        }
        if (soft && refs_count) {
            auto rec = BERTH_TRY(impl_.meta.get_image(id));
            if (!rec.tags.empty() || !rec.repo_digests.empty())
                return DeleteConflict{false, false, id,
                                      "image is referenced in multiple repositories"};
        }
        // ImageUseFn does not say whether the container runs, so a use is the soft
        // (stopped-container) conflict: `force` overrides it, as the service's contract says.
        if (soft && in_use_) {
            if (auto cid = in_use_(id))
                return DeleteConflict{
                    false, true, id,
                    "image is being used by stopped container " + cid->substr(0, 12)};
        }
        return std::optional<DeleteConflict>{};
    }

    /// Removes a tag or repo digest; one that is already gone is fine (moby's removeImageRef).
    Result<void> remove_ref(const Reference& r) {
        auto res = r.digest() ? impl_.meta.remove_repo_digest(r.string())
                              : impl_.meta.remove_tag(r.string());
        if (!res && res.error().code != Errc::NotFound)
            return Unexpected(std::move(res).error().wrap("untag {}", r.familiar_string()));
        return {};
    }

    Result<bool> is_dangling(const Digest& id) {
        auto rec = BERTH_TRY(impl_.meta.get_image(id));
        if (!rec.tags.empty() || !rec.repo_digests.empty()) return false;
        auto children = BERTH_TRY(impl_.meta.children(id));
        return children.empty();
    }

    /// moby's imageDeleteHelper: conflicts, then references, the row, layers and blobs; then
    /// the parent when pruning (quietly).
    Result<void> delete_helper(const Digest& id, std::vector<DeleteItem>& records, bool force,
                               bool prune, bool quiet) {
        if (auto c = BERTH_TRY(check_conflict(id, true, !force, true))) {
            if (quiet) {
                bool dangling = BERTH_TRY(is_dangling(id));
                if (!dangling || c->used) return {};
            }
            return Unexpected(c->error());
        }
        store::ImageRecord rec = BERTH_TRY_CTX(impl_.meta.get_image(id), "delete image");
        for (const auto& r : refs_of(rec)) {
            BERTH_TRY(remove_ref(r));
            records.push_back(DeleteItem{r.familiar_string(), {}});
        }
        BERTH_TRY_CTX(impl_.meta.remove_image(id), "delete image {}", id.string());
        records.push_back(DeleteItem{{}, id.string()});
        // The row is gone: from here on a failure only leaves unused content, which check()
        // finds, so it is logged rather than returned.
        release_layers(rec.chain_ids, &records);
        remove_unused_blobs(rec);
        if (!prune || !rec.parent) return {};
        auto parent = impl_.meta.get_image(*rec.parent);
        if (!parent) return {};
        return delete_helper(*rec.parent, records, false, true, true);
    }

    /// Drops one reference on each layer and removes, top-down, those no image uses any more.
    void release_layers(const std::vector<Digest>& chains, std::vector<DeleteItem>* records) {
        for (auto it = chains.rbegin(); it != chains.rend(); ++it) {
            auto left = impl_.layers.release(*it);
            if (!left) {
                BLOG_WARN("delete image: release layer {}: {}", it->string(), left.error().what());
                continue;
            }
            if (*left != 0) continue;
            auto info = impl_.layers.info(*it);
            auto rm = impl_.layers.remove(*it);
            if (!rm) {
                // Conflict: still the parent of another layer (a leftover); check() removes it
                // once nothing is above it.
                if (rm.error().code != Errc::Conflict && rm.error().code != Errc::NotFound)
                    BLOG_WARN("delete image: remove layer {}: {}", it->string(), rm.error().what());
                continue;
            }
            if (info) reclaimed_ += info->size;
            if (records) records->push_back(DeleteItem{{}, it->string()});
        }
    }

    /// The config blob, and the manifest blob unless another image came with the same one.
    void remove_unused_blobs(const store::ImageRecord& rec) {
        auto rm = [](const store::ContentStore& c, const Digest& d) {
            auto r = c.remove(d);
            // Conflict: a registry sharing the store still serves it (content holds).
            if (!r && r.error().code != Errc::NotFound && r.error().code != Errc::Conflict)
                BLOG_WARN("delete image: remove blob {}: {}", d.string(), r.error().what());
        };
        rm(impl_.content, rec.id);
        if (!rec.manifest) return;
        auto all = impl_.meta.list_images();
        if (!all) return;
        for (const auto& other : *all)
            if (other.manifest == rec.manifest) return;
        rm(impl_.content, *rec.manifest);
    }

    ImageService::Impl& impl_;
    const ImageUseFn& in_use_;
    uint64_t reclaimed_ = 0;
};

/// Order layers so that every layer comes before its parent (removal order).
std::vector<store::LayerInfo> top_down(std::vector<store::LayerInfo> layers) {
    std::map<Digest, const store::LayerInfo*> by_chain;
    for (const auto& l : layers) by_chain[l.chain_id] = &l;
    std::map<Digest, size_t> depth;
    for (const auto& l : layers) {
        size_t d = 0;
        for (auto p = l.parent; p && d < 10000; ++d) {
            auto it = by_chain.find(*p);
            if (it == by_chain.end()) break;
            p = it->second->parent;
        }
        depth[l.chain_id] = d;
    }
    std::stable_sort(layers.begin(), layers.end(), [&](const auto& a, const auto& b) {
        return depth[a.chain_id] > depth[b.chain_id];
    });
    return layers;
}

}  // namespace

// ---- Impl: shared with save.cpp / load.cpp ----

Result<Image> ImageService::Impl::add_image(std::string_view raw_config,
                                            const std::optional<std::string>& raw_manifest,
                                            const std::vector<Digest>& chain_ids,
                                            const std::vector<Reference>& tags) {
    oci::ImageConfig config = BERTH_TRY_CTX(oci::parse_image_config(raw_config), "add image");
    const Digest id = digest_of(raw_config);
    if (config.rootfs.diff_ids.size() != chain_ids.size())
        return make_error(Errc::InvalidArgument,
                          "add image {}: config has {} diff IDs but {} layers were given",
                          id.string(), config.rootfs.diff_ids.size(), chain_ids.size());
    uint64_t size = 0;
    std::optional<Digest> parent;
    for (size_t i = 0; i < chain_ids.size(); ++i) {
        Digest want = store::LayerStore::chain_id(parent, config.rootfs.diff_ids[i]);
        if (want != chain_ids[i])
            return make_error(Errc::InvalidArgument,
                              "add image {}: layer {} is {}, but the config's diff IDs make {}",
                              id.string(), i, chain_ids[i].string(), want.string());
        auto info = BERTH_TRY_CTX(layers.info(chain_ids[i]), "add image {}", id.string());
        size += info.size;
        parent = chain_ids[i];
    }

    auto existing = meta.get_image(id);
    if (!existing && existing.error().code != Errc::NotFound)
        return Unexpected(std::move(existing).error().wrap("add image {}", id.string()));
    if (!existing) {
        // Order of metadata_store.hpp: blobs, then layer references, then the row.
        BERTH_TRY_CTX(content.put(raw_config, id), "add image {}: store config", id.string());
        std::optional<Digest> manifest_digest;
        if (raw_manifest) {
            auto info = BERTH_TRY_CTX(content.put(*raw_manifest), "add image {}: store manifest",
                                      id.string());
            manifest_digest = info.digest;
        }
        size_t acquired = 0;
        auto undo = [&] {
            for (size_t i = 0; i < acquired; ++i) (void)layers.release(chain_ids[i]);
        };
        for (; acquired < chain_ids.size(); ++acquired) {
            auto r = layers.acquire(chain_ids[acquired]);
            if (!r) {
                undo();
                return Unexpected(std::move(r).error().wrap("add image {}", id.string()));
            }
        }
        store::ImageRecord rec{id, manifest_digest, {}, {}, 0, 0, 0, 0, {}, {}};
        rec.chain_ids = chain_ids;
        rec.created = parse_rfc3339(config.created).value_or(0);
        rec.added = now_unix_nanos();
        rec.size = size;
        if (auto r = meta.put_image(rec); !r) {
            undo();
            return Unexpected(std::move(r).error().wrap("add image {}", id.string()));
        }
    } else if (!content.exists(id)) {
        // The row survived a lost config blob (check() reports that): this brings it back.
        BERTH_TRY_CTX(content.put(raw_config, id), "add image {}: store config", id.string());
    }
    if (existing && raw_manifest && !existing->manifest) {
        // Same image, now with the manifest it came with: keep that for save.
        auto info =
            BERTH_TRY_CTX(content.put(*raw_manifest), "add image {}: store manifest", id.string());
        store::ImageRecord rec = std::move(*existing);
        rec.manifest = info.digest;
        rec.tags.clear();
        rec.repo_digests.clear();
        BERTH_TRY_CTX(meta.put_image(rec), "add image {}", id.string());
    }
    const int64_t now = now_unix_nanos();
    for (const auto& t : tags) {
        Reference ref = t.with_default_tag();
        if (ref.digest()) {
            BERTH_TRY_CTX(meta.add_repo_digest(ref.string(), id), "tag {}", ref.familiar_string());
        } else {
            BERTH_TRY_CTX(meta.set_tag(ref.string(), id, now), "tag {}", ref.familiar_string());
        }
    }
    return load_image(id);
}

Result<Image> ImageService::Impl::load_image(const Digest& id) const {
    store::ImageRecord rec = BERTH_TRY(meta.get_image(id));
    auto raw = content.read(id);
    if (!raw && raw.error().code == Errc::NotFound && !meta.get_image(id)) {
        // Deleted between the two reads (lookups do not take the mutex).
        return make_error(Errc::NotFound, "No such image: {}", id.string());
    }
    if (!raw) {
        // The row says the image exists: a missing config is damage, not "no such image".
        return make_error(Errc::Internal, "image {}: read config blob: {} (run berth system check)",
                          id.string(), raw.error().what());
    }
    oci::ImageConfig config = BERTH_TRY_CTX(oci::parse_image_config(*raw), "image {}", id.string());
    return Image{std::move(rec), std::move(config), std::move(*raw)};
}

// ---- ImageService ----

ImageService::ImageService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ImageService::~ImageService() = default;

Result<std::unique_ptr<ImageService>> ImageService::open(const std::string& root,
                                                         ImageServiceOptions opts) {
    auto content = BERTH_TRY_CTX(store::ContentStore::open_root(root), "open image store {}", root);
    store::LayerStoreOptions lopts;
    lopts.durable = opts.durable;
    lopts.apply.preserve_ownership = opts.preserve_ownership;
    auto layers =
        BERTH_TRY_CTX(store::LayerStore::open_root(root, lopts), "open image store {}", root);
    auto meta = BERTH_TRY_CTX(store::MetadataStore::open_root(root), "open image store {}", root);
    (void)stale_staging_dirs(root, true);
    std::unique_ptr<Impl> impl(
        new Impl{root, opts, std::move(content), std::move(layers), std::move(meta), {}, {}, {}});
    return std::unique_ptr<ImageService>(new ImageService(std::move(impl)));
}

const std::string& ImageService::root() const noexcept {
    return impl_->root;
}

Result<Image> ImageService::get(std::string_view name) const {
    // The count before the lookup: a write that lands meanwhile makes this entry stale at
    // once, whatever the lookup saw.
    uint64_t generation = impl_->meta.generation();
    std::string key(name);
    {
        std::lock_guard lk(impl_->cache_mu);
        auto it = impl_->cache.find(key);
        if (it != impl_->cache.end() && it->second.generation == generation) return it->second.image;
    }
    auto img = impl_->lookup(name);
    if (img) {
        std::lock_guard lk(impl_->cache_mu);
        if (impl_->cache.size() >= Impl::kCacheEntries) impl_->cache.clear();
        impl_->cache.insert_or_assign(std::move(key), Impl::CachedImage{generation, *img});
    }
    return img;
}

Result<Image> ImageService::Impl::lookup(std::string_view name) const {
    AnyReference any = BERTH_TRY(parse_any_reference(name));
    if (auto* d = std::get_if<Digest>(&any)) {
        auto img = load_image(*d);
        if (!img && img.error().code == Errc::NotFound)
            return make_error(Errc::NotFound, "No such image: {}", d->string());
        return img;
    }
    const Reference& ref = std::get<Reference>(any);
    std::optional<Digest> found;
    if (ref.digest()) {
        Reference canonical = ref.name_reference().with_digest(*ref.digest());
        if (auto r = meta.resolve_repo_digest(canonical.string())) {
            found = *r;
        } else if (r.error().code != Errc::NotFound) {
            return Unexpected(std::move(r).error().wrap("look up {}", name));
        } else {
            // "name@<config digest>": the image ID written as a canonical reference.
            auto rec = meta.get_image(*ref.digest());
            if (rec) found = rec->id;
        }
    } else {
        if (auto r = meta.resolve_tag(ref.with_default_tag().string())) {
            found = *r;
        } else if (r.error().code != Errc::NotFound) {
            return Unexpected(std::move(r).error().wrap("look up {}", name));
        }
    }
    if (!found && is_id_prefix(name)) {
        std::string_view hex = name;
        if (hex.substr(0, 7) == "sha256:") hex.remove_prefix(7);
        auto ids =
            BERTH_TRY_CTX(meta.find_by_id_prefix(std::string(hex), 2), "look up {}", name);
        // An ambiguous prefix is "no such image", as moby's digestset lookup makes it.
        if (ids.size() == 1) found = ids.front();
    }
    if (found) {
        auto img = load_image(*found);
        if (img || img.error().code != Errc::NotFound) return img;
    }
    // moby's ErrImageDoesNotExist: the familiar form, with ":latest" for a name-only reference.
    return make_error(Errc::NotFound, "No such image: {}",
                      ref.with_default_tag().familiar_string());
}

Result<std::vector<Image>> ImageService::list(const ImageFilters& filters) const {
    std::vector<int64_t> before, since;
    for (const auto& b : filters.before) before.push_back(BERTH_TRY(get(b)).record.created);
    for (const auto& s : filters.since) since.push_back(BERTH_TRY(get(s)).record.created);
    auto set = BERTH_TRY(detail::compile_filters(filters, before, since, now_unix_nanos()));
    auto records = BERTH_TRY_CTX(impl_->meta.list_images(), "list images");
    std::vector<Image> out;
    for (auto& rec : records) {
        auto raw = impl_->content.read(rec.id);
        if (!raw) {
            BLOG_WARN("list images: image {}: config blob: {}", rec.id.string(),
                      raw.error().what());
            continue;
        }
        auto cfg = oci::parse_image_config(*raw);
        if (!cfg) {
            BLOG_WARN("list images: image {}: {}", rec.id.string(), cfg.error().what());
            continue;
        }
        Image img{std::move(rec), std::move(*cfg), std::move(*raw)};
        if (BERTH_TRY(detail::matches(set, img))) out.push_back(std::move(img));
    }
    // moby sorts by the config's creation time; ties keep the store's newest-added first.
    std::stable_sort(out.begin(), out.end(), [](const Image& a, const Image& b) {
        return a.record.created > b.record.created;
    });
    return out;
}

Result<Image> ImageService::import(int tar_fd, const ImportOptions& opts) {
    // Everything that can be refused is checked before the (long) unpack.
    std::optional<Reference> tag;
    if (!opts.reference.empty()) {
        Reference r = BERTH_TRY(Reference::parse_normalized(opts.reference));
        if (r.digest()) return make_error(Errc::InvalidArgument, "cannot import digest reference");
        tag = r.with_default_tag();
    }
    oci::ContainerConfig cc;
    BERTH_TRY(apply_changes(opts.changes, cc));
    oci::Platform platform = BERTH_TRY(import_platform(opts.platform));

    // Held across the unpack: a concurrent delete must not remove the (shared) layer between
    // apply() and add_image()'s acquire().
    std::lock_guard lock(impl_->mu);
    if (opts.progress) opts.progress(Progress{{}, "Importing", -1, -1});
    store::LayerInfo layer = BERTH_TRY_CTX(impl_->layers.apply(std::nullopt, tar_fd), "import");

    const std::string created = format_rfc3339_nano(now_unix_nanos());
    oci::ImageConfig config;
    config.created = created;
    config.architecture = platform.architecture;
    config.os = platform.os;
    config.variant = platform.variant;
    config.config = std::move(cc);
    config.rootfs.diff_ids = {layer.diff_id};
    oci::History h;
    h.created = created;
    h.comment = opts.message;
    config.history.push_back(std::move(h));
    if (!opts.message.empty()) config.extra["comment"] = "\"" + json_escape(opts.message) + "\"";
    std::string raw = oci::to_json(config);

    std::vector<Reference> tags;
    if (tag) tags.push_back(*tag);
    auto img = impl_->add_image(raw, std::nullopt, {layer.chain_id}, tags);
    if (!img) {
        // A layer this import made and nothing uses would stay until check(): drop it now.
        if (auto info = impl_->layers.info(layer.chain_id); info && info->refs == 0)
            (void)impl_->layers.remove(layer.chain_id);
        return Unexpected(std::move(img).error().wrap("import"));
    }
    if (opts.progress) opts.progress(Progress{{}, img->record.id.string(), -1, -1});
    return img;
}

Result<Image> ImageService::tag(std::string_view source, std::string_view target) {
    Reference ref = BERTH_TRY(Reference::parse_normalized(target));
    if (ref.digest())
        return make_error(Errc::InvalidArgument,
                          "refusing to create a tag with a digest reference");
    ref = ref.with_default_tag();
    std::lock_guard lock(impl_->mu);
    Image img = BERTH_TRY(get(source));
    BERTH_TRY_CTX(impl_->meta.set_tag(ref.string(), img.record.id, now_unix_nanos()),
                  "tag {} as {}", source, ref.familiar_string());
    return impl_->load_image(img.record.id);
}

Result<std::vector<DeleteItem>> ImageService::remove(std::string_view name, bool force, bool prune,
                                                     const ImageUseFn& in_use) {
    std::lock_guard lock(impl_->mu);
    Deleter d(*impl_, in_use);
    return d.remove(name, force, prune, *this);
}

Result<PruneReport> ImageService::prune(const ImageFilters& filters, const ImageUseFn& in_use) {
    // moby's imagesAcceptedFilters for prune: dangling, label, until.
    if (!filters.reference.empty())
        return make_error(Errc::InvalidArgument, "invalid filter 'reference'");
    if (!filters.before.empty())
        return make_error(Errc::InvalidArgument, "invalid filter 'before'");
    if (!filters.since.empty()) return make_error(Errc::InvalidArgument, "invalid filter 'since'");
    const bool dangling_only = filters.dangling.value_or(true);
    ImageFilters f = filters;
    f.dangling.reset();  // applied below, with moby's prune meaning
    auto set = BERTH_TRY(detail::compile_filters(f, {}, {}, now_unix_nanos()));

    std::lock_guard lock(impl_->mu);
    auto images = BERTH_TRY(list(f));
    Deleter d(*impl_, in_use);
    PruneReport report;
    for (const auto& img : images) {
        const Digest& id = img.record.id;
        const bool has_refs = !img.record.tags.empty() || !img.record.repo_digests.empty();
        // moby: dangling prune looks at heads only; the full prune skips untagged parents
        // (they go with their children, through the delete's parent pruning).
        auto children = BERTH_TRY(impl_->meta.children(id));
        if (!children.empty() && (dangling_only || !has_refs)) continue;
        if (!impl_->meta.get_image(id)) continue;  // removed as someone's parent meanwhile
        std::vector<std::string> names;
        if (has_refs) {
            if (dangling_only && !img.record.tags.empty()) continue;
            names = img.record.tags;
            names.insert(names.end(), img.record.repo_digests.begin(),
                         img.record.repo_digests.end());
        } else {
            names.push_back(id.hex());
        }
        for (const auto& n : names) {
            auto r = d.remove(n, false, true, *this);
            if (!r) {
                if (r.error().code != Errc::Conflict && r.error().code != Errc::NotFound)
                    BLOG_WARN("prune images: {}: {}", n, r.error().what());
                continue;
            }
            report.deleted.insert(report.deleted.end(), r->begin(), r->end());
        }
    }
    report.space_reclaimed = d.reclaimed();
    return report;
}

Result<std::vector<HistoryEntry>> ImageService::history(std::string_view name) const {
    Image img = BERTH_TRY(get(name));
    std::vector<HistoryEntry> out;
    size_t layer = 0;
    for (const auto& h : img.config.history) {
        HistoryEntry e;
        e.id = "<missing>";
        if (auto ns = parse_rfc3339(h.created)) e.created = *ns / kNanosPerSecond;
        e.created_by = h.created_by;
        e.comment = h.comment;
        if (!h.empty_layer) {
            if (layer >= img.record.chain_ids.size())
                return make_error(Errc::Internal,
                                  "history of {}: too many non-empty layers in History section",
                                  name);
            auto info = BERTH_TRY_CTX(impl_->layers.info(img.record.chain_ids[layer]),
                                      "history of {}", name);
            e.size = info.size;
            ++layer;
        }
        out.push_back(std::move(e));
    }
    std::reverse(out.begin(), out.end());
    // The top entry is the image itself; further down, its local parents (built images).
    std::optional<Digest> id = img.record.id;
    store::ImageRecord rec = img.record;
    for (auto& e : out) {
        e.id = id->string();
        for (const auto& t : rec.tags)
            if (auto r = stored_ref(t)) e.tags.push_back(r->familiar_string());
        if (!rec.parent) break;
        auto p = impl_->meta.get_image(*rec.parent);
        if (!p) break;
        rec = std::move(*p);
        id = rec.id;
    }
    return out;
}

Result<store::MountSpec> ImageService::rootfs_mount(const Image& img, const std::string& upper,
                                                    const std::string& work) const {
    return impl_->layers.rootfs_mount(img.record.chain_ids, upper, work);
}

Result<uint64_t> ImageService::layers_size() const {
    auto layers = BERTH_TRY_CTX(impl_->layers.list(), "layers size");
    uint64_t total = 0;
    for (const auto& l : layers) total += l.size;
    return total;
}

Result<uint64_t> ImageService::shared_size(const Image& img) const {
    auto usage =
        BERTH_TRY_CTX(impl_->meta.layer_usage(), "shared size of {}", img.record.id.string());
    std::map<Digest, uint64_t> count(usage.begin(), usage.end());
    uint64_t total = 0;
    for (const auto& c : img.record.chain_ids) {
        if (count[c] <= 1) continue;
        auto info =
            BERTH_TRY_CTX(impl_->layers.info(c), "shared size of {}", img.record.id.string());
        total += info.size;
    }
    return total;
}

Result<ImageCheckReport> ImageService::check(bool repair) {
    std::lock_guard lock(impl_->mu);
    ImageCheckReport report;
    auto& problems = report.problems;
    auto& repairs = report.repairs;

    // 1. Each store on its own.
    auto mrep = BERTH_TRY_CTX(impl_->meta.check(repair), "check metadata");
    for (const auto& p : mrep.problems) problems.push_back("metadata: " + p);
    if (mrep.repaired) repairs.push_back("metadata: removed dangling rows");

    auto crep = BERTH_TRY_CTX(impl_->content.check(repair), "check content store");
    for (const auto& d : crep.corrupt) problems.push_back("blob " + d.string() + ": corrupt");
    for (const auto& s : crep.stray) problems.push_back("content: stray entry " + s);
    for (const auto& s : crep.stale_ingests) problems.push_back("content: stale ingest " + s);
    if (crep.repaired && !crep.clean())
        repairs.push_back("content: removed corrupt blobs, stray entries and stale ingests");

    auto lrep = BERTH_TRY_CTX(impl_->layers.check(repair), "check layer store");
    for (const auto& s : lrep.invalid) problems.push_back("layer " + s + ": invalid");
    for (const auto& s : lrep.orphaned) problems.push_back("layer " + s + ": parent missing");
    for (const auto& s : lrep.size_mismatch)
        problems.push_back("layer " + s + ": size differs from its metadata (modified on disk)");
    for (const auto& s : lrep.stale_tmps) problems.push_back("layers: stale temporary " + s);
    for (const auto& s : lrep.stray) problems.push_back("layers: stray entry " + s);
    if (lrep.repaired && !lrep.clean())
        repairs.push_back("layers: removed invalid layers, stale temporaries and strays");
    for (const auto& n : stale_staging_dirs(impl_->root, repair)) {
        problems.push_back("tmp: stale staging directory " + n);
        if (repair) repairs.push_back("tmp: removed stale staging directory " + n);
    }

    // 2. Images against their content: an image whose config or layers are gone cannot be
    // used or saved; repair removes its row (its references are recomputed below).
    auto images = BERTH_TRY_CTX(impl_->meta.list_images(), "check images");
    std::set<Digest> used_blobs;
    for (const auto& rec : images) {
        bool broken = false;
        if (!impl_->content.exists(rec.id)) {
            problems.push_back("image " + rec.id.string() + ": config blob missing");
            broken = true;
        }
        if (rec.manifest && !impl_->content.exists(*rec.manifest))
            problems.push_back("image " + rec.id.string() + ": manifest blob " +
                               rec.manifest->string() + " missing");
        for (const auto& c : rec.chain_ids) {
            if (!impl_->layers.exists(c)) {
                problems.push_back("image " + rec.id.string() + ": layer " + c.string() +
                                   " missing");
                broken = true;
            }
        }
        if (broken && repair) {
            BERTH_TRY_CTX(impl_->meta.remove_image(rec.id), "check: remove image {}",
                          rec.id.string());
            repairs.push_back("image " + rec.id.string() + ": removed (content missing)");
            continue;
        }
        used_blobs.insert(rec.id);
        if (rec.manifest) used_blobs.insert(*rec.manifest);
    }

    // 3. Layer reference counts recomputed from the images; layers no image uses.
    auto usage = BERTH_TRY_CTX(impl_->meta.layer_usage(), "check layer usage");
    std::map<Digest, uint64_t> want(usage.begin(), usage.end());
    auto layers = BERTH_TRY_CTX(impl_->layers.list(), "check layers");
    for (const auto& l : top_down(layers)) {
        uint64_t expected = want.count(l.chain_id) ? want[l.chain_id] : 0;
        if (expected == 0) {
            problems.push_back("layer " + l.chain_id.string() + ": not used by any image");
            if (!repair) continue;
            // Counts first, so remove() sees an unreferenced layer.
            for (uint64_t n = l.refs; n > 0; --n)
                BERTH_TRY_CTX(impl_->layers.release(l.chain_id), "check: release {}",
                              l.chain_id.string());
            auto rm = impl_->layers.remove(l.chain_id);
            if (rm) {
                repairs.push_back("layer " + l.chain_id.string() + ": removed");
            } else if (rm.error().code == Errc::Conflict) {
                // The parent of a layer that stays (e.g. one a pull is building on).
                repairs.push_back("layer " + l.chain_id.string() +
                                  ": kept (parent of another layer), references set to 0");
            } else {
                return Unexpected(std::move(rm).error().wrap("check: remove layer"));
            }
            continue;
        }
        if (l.refs != expected) {
            problems.push_back(fmt::format("layer {}: reference count {}, but {} image(s) use it",
                                           l.chain_id.string(), l.refs, expected));
            if (!repair) continue;
            for (uint64_t n = l.refs; n < expected; ++n)
                BERTH_TRY_CTX(impl_->layers.acquire(l.chain_id), "check: acquire {}",
                              l.chain_id.string());
            for (uint64_t n = l.refs; n > expected; --n)
                BERTH_TRY_CTX(impl_->layers.release(l.chain_id), "check: release {}",
                              l.chain_id.string());
            repairs.push_back(
                fmt::format("layer {}: reference count set to {}", l.chain_id.string(), expected));
        }
    }

    // 4. Blobs (configs, manifests) no image uses.
    auto blobs = BERTH_TRY_CTX(impl_->content.list(), "check blobs");
    for (const auto& b : blobs) {
        if (used_blobs.count(b.digest) || impl_->content.held(b.digest)) continue;
        problems.push_back("blob " + b.digest.string() + ": not used by any image");
        if (!repair) continue;
        auto rm = impl_->content.remove(b.digest);
        if (!rm && rm.error().code != Errc::NotFound)
            return Unexpected(std::move(rm).error().wrap("check: remove blob"));
        repairs.push_back("blob " + b.digest.string() + ": removed");
    }
    return report;
}

}  // namespace berth::image
