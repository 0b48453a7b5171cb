// ImageService::load(): `docker load` of a docker-archive (manifest.json; moby
// image/tarexport/load.go) or an OCI image layout (index.json; containerd's import), from a
// stream that may be a pipe and may be compressed.
//
// The tarball is unpacked once into a private staging directory under <root>/tmp/ with the same
// safe apply as image layers (no entry lands outside it, no devices), and every file in it is
// then opened with RESOLVE_IN_ROOT semantics, so a symlink in the archive cannot make us read a
// host file. Then three phases:
//   1. parse and validate everything (paths, JSON, config digests, layer counts, tags) without
//      touching the stores, so a malformed archive fails before any change;
//   2. under the service's mutex, unpack the layers that are not in the layer store yet, each
//      checked against the diff ID its config names (and, for OCI blobs, against its digest);
//   3. register each image with Impl::add_image (config and manifest blobs, layer references,
//      metadata row, tags).
// A failure in 2 or 3 removes again the layers this load unpacked that no image references,
// so nothing is left behind; the staging directory is always removed.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/archive/tar.hpp"
#include "berth/common/digest.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/result.hpp"
#include "berth/common/safe_path.hpp"
#include "berth/common/scope_exit.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/image/image_service.hpp"
#include "berth/image/reference.hpp"
#include "berth/oci/image_spec.hpp"
#include "service_impl.hpp"

namespace berth::image {
namespace {

namespace mt = oci::media_type;

constexpr std::string_view kAnnotationImageName = "io.containerd.image.name";
constexpr std::string_view kAnnotationRefName = "org.opencontainers.image.ref.name";
/// Manifests, configs and indexes are small; anything bigger is not one of them.
constexpr uint64_t kMaxJsonSize = 32ULL << 20;
/// Nested indexes followed at most this deep (an index of indexes of ... is malformed).
constexpr int kMaxIndexDepth = 4;


/// One layer of an image in the archive.
struct LayerSource {
    std::string path;                     ///< inside the staging directory
    std::optional<oci::Descriptor> blob;  ///< OCI: the blob's descriptor, verified before use
    Digest diff_id = digest_of("");
};

/// One image found in the archive.
struct LoadItem {
    std::string origin;  ///< where it was described, for messages ("manifest.json[0]")
    std::string raw_config;
    Digest id = digest_of("");
    std::optional<std::string> raw_manifest;  ///< OCI layouts: the image manifest's bytes
    std::vector<LayerSource> layers;
    std::vector<Reference> tags;
    std::vector<Digest> chain_ids;  ///< filled in phase 2
};

Unexpected invalid(std::string msg) {
    return Unexpected(Error{Errc::InvalidArgument, 0, std::move(msg)});
}

/// Opens a regular file of the staging directory (symlinks resolved inside it).
Result<UniqueFd> open_regular(int root_fd, const std::string& path, uint64_t* size = nullptr) {
    auto fd = open_in_root(root_fd, path, O_RDONLY);
    if (!fd) {
        if (fd.error().code == Errc::NotFound) {
            return make_error(Errc::InvalidArgument, "{} is missing from the archive", path);
        }
        return Unexpected(std::move(fd).error().wrap("open {}", path));
    }
    struct stat st {};
    if (::fstat(fd->get(), &st) < 0) return BERTH_SYS_ERROR("stat {}", path);
    if (!S_ISREG(st.st_mode)) {
        return make_error(Errc::InvalidArgument, "{} in the archive is not a regular file", path);
    }
    if (size) *size = static_cast<uint64_t>(st.st_size);
    return std::move(*fd);
}

/// Reads a (small) regular file of the staging directory.
Result<std::string> read_small(int root_fd, const std::string& path) {
    uint64_t size = 0;
    UniqueFd fd = BERTH_TRY(open_regular(root_fd, path, &size));
    if (size > kMaxJsonSize) {
        return make_error(Errc::InvalidArgument, "{} is too big ({} bytes)", path, size);
    }
    std::string out;
    out.resize(static_cast<size_t>(size));
    size_t got = 0;
    while (got < out.size()) {
        ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            return BERTH_SYS_ERROR("read {}", path);
        }
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    out.resize(got);
    return out;
}

bool exists_in_root(int root_fd, const std::string& path) {
    return static_cast<bool>(open_in_root(root_fd, path, O_PATH));
}

/// A path named by manifest.json, cleaned; refused if it leaves the archive.
Result<std::string> archive_path(std::string_view p, std::string_view what) {
    std::string c = clean_path(p);
    if (p.empty() || p.front() == '/' || c == "." || c == ".." || c.rfind("../", 0) == 0) {
        return make_error(Errc::InvalidArgument, "{} path \"{}\" is outside the archive", what, p);
    }
    return c;
}

Result<void> check_os(const oci::ImageConfig& cfg, std::string_view origin) {
    // moby image.CheckOS: an image for another OS cannot run here.
    if (!cfg.os.empty() && cfg.os != "linux") {
        return make_error(Errc::InvalidArgument,
                          "{}: image operating system \"{}\" cannot be used on this platform",
                          origin, cfg.os);
    }
    return {};
}

/// Parses a name that should tag the loaded image ("busybox:latest"); name-only gets
/// ":latest" (as moby's TagNameOnly); a digest reference cannot be a tag.
Result<Reference> parse_tag(std::string_view name, std::string_view origin) {
    auto ref = Reference::parse_normalized(name);
    if (!ref) {
        return make_error(Errc::InvalidArgument, "{}: invalid tag \"{}\": {}", origin, name,
                          ref.error().msg);
    }
    if (ref->digest()) {
        return make_error(Errc::InvalidArgument, "{}: invalid tag \"{}\": a digest reference",
                          origin, name);
    }
    return ref->with_default_tag();
}

// ---- docker-archive ---------------------------------------------------------------------------

Result<std::vector<LoadItem>> parse_docker_archive(int root_fd) {
    std::string text = BERTH_TRY(read_small(root_fd, "manifest.json"));
    auto doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_array()) {
        return invalid("manifest.json: not a JSON array");
    }
    std::vector<LoadItem> items;
    for (size_t k = 0; k < doc.size(); ++k) {
        const auto& e = doc[k];
        std::string origin = fmt::format("manifest.json[{}]", k);
        if (!e.is_object()) return invalid(origin + ": not an object");
        auto cfg_it = e.find("Config");
        if (cfg_it == e.end() || !cfg_it->is_string()) {
            return invalid(origin + ": Config: expected a string");
        }
        LoadItem it;
        it.origin = origin;
        std::string cfg_path =
            BERTH_TRY_CTX(archive_path(cfg_it->get<std::string>(), "Config"), "{}", origin);
        it.raw_config = BERTH_TRY_CTX(read_small(root_fd, cfg_path), "{}: Config", origin);
        it.id = digest_of(it.raw_config);
        auto cfg = BERTH_TRY_CTX(oci::parse_image_config(it.raw_config, cfg_path), "{}", origin);
        BERTH_TRY(check_os(cfg, origin));

        auto layers_it = e.find("Layers");
        if (layers_it == e.end() || !(layers_it->is_array() || layers_it->is_null())) {
            return invalid(origin + ": Layers: expected an array");
        }
        size_t n_layers = layers_it->is_array() ? layers_it->size() : 0;
        if (cfg.rootfs.diff_ids.size() != n_layers) {
            return make_error(Errc::InvalidArgument, "{}: config {} has {} diff_ids for {} Layers",
                              origin, cfg_path, cfg.rootfs.diff_ids.size(), n_layers);
        }
        for (size_t i = 0; i < n_layers; ++i) {
            const auto& l = (*layers_it)[i];
            if (!l.is_string()) {
                return make_error(Errc::InvalidArgument, "{}: Layers[{}]: expected a string",
                                  origin, i);
            }
            LayerSource src;
            src.path = BERTH_TRY_CTX(archive_path(l.get<std::string>(), "layer"), "{}: Layers[{}]",
                                     origin, i);
            (void)BERTH_TRY_CTX(open_regular(root_fd, src.path), "{}: Layers[{}]", origin, i);
            src.diff_id = cfg.rootfs.diff_ids[i];
            it.layers.push_back(std::move(src));
        }

        auto tags_it = e.find("RepoTags");
        if (tags_it != e.end() && !tags_it->is_null()) {
            if (!tags_it->is_array()) return invalid(origin + ": RepoTags: expected an array");
            for (const auto& t : *tags_it) {
                if (!t.is_string()) return invalid(origin + ": RepoTags: expected strings");
                auto ref = Reference::parse_normalized(t.get<std::string>());
                // moby: a RepoTags entry must be a name with a tag.
                if (!ref || !ref->tag() || ref->digest()) {
                    return make_error(Errc::InvalidArgument, "{}: invalid tag \"{}\"", origin,
                                      t.get<std::string>());
                }
                it.tags.push_back(std::move(*ref));
            }
        }
        items.push_back(std::move(it));
    }
    return items;
}

// ---- OCI image layout -------------------------------------------------------------------------

std::string blob_path(const Digest& d) {
    return "blobs/" + d.algorithm() + "/" + d.hex();
}

/// Reads a small blob and checks its size and digest against the descriptor.
Result<std::string> read_blob(int root_fd, const oci::Descriptor& d) {
    std::string path = blob_path(d.digest);
    std::string data = BERTH_TRY(read_small(root_fd, path));
    if (static_cast<int64_t>(data.size()) != d.size) {
        return make_error(Errc::InvalidArgument, "blob {}: size {} does not match descriptor's {}",
                          path, data.size(), d.size);
    }
    Digest got = digest_of(data);
    if (got != d.digest) {
        return make_error(Errc::InvalidArgument, "blob {}: content has digest {}", path,
                          got.string());
    }
    return data;
}

/// The tag a descriptor of index.json names: containerd's image name annotation, else the OCI
/// ref.name when it is a whole reference ("busybox:1"). A bare ref.name ("latest", what docker
/// save writes next to the image name) names no repository, so it gives no tag.
Result<std::optional<Reference>> descriptor_tag(const oci::Descriptor& d, std::string_view origin) {
    if (auto it = d.annotations.find(std::string(kAnnotationImageName));
        it != d.annotations.end() && !it->second.empty()) {
        return BERTH_TRY(parse_tag(it->second, origin));
    }
    if (auto it = d.annotations.find(std::string(kAnnotationRefName));
        it != d.annotations.end() && it->second.find_first_of(":/") != std::string::npos) {
        return BERTH_TRY(parse_tag(it->second, origin));
    }
    return std::nullopt;
}

Result<void> collect_oci(int root_fd, const oci::Descriptor& d, std::string origin, int depth,
                         const std::optional<Reference>& tag, std::vector<LoadItem>& items) {
    std::string raw = BERTH_TRY_CTX(read_blob(root_fd, d), "{}", origin);
    std::string type = d.media_type;
    if (type.empty()) type = BERTH_TRY_CTX(oci::detect_media_type(raw), "{}", origin);
    if (oci::is_index_media_type(type)) {
        if (depth >= kMaxIndexDepth) {
            return make_error(Errc::InvalidArgument, "{}: indexes nested too deep", origin);
        }
        auto idx = BERTH_TRY_CTX(oci::parse_index(raw, blob_path(d.digest)), "{}", origin);
        const oci::Platform host = oci::host_platform();
        auto sel = BERTH_TRY_CTX(
            oci::select_manifest(idx, "linux", host.architecture, host.variant), "{}: {}",
            origin, blob_path(d.digest));
        return collect_oci(root_fd, sel, origin + " -> " + blob_path(sel.digest), depth + 1, tag,
                           items);
    }
    if (!oci::is_manifest_media_type(type)) {
        return make_error(Errc::InvalidArgument, "{}: {}: unsupported media type \"{}\"", origin,
                          blob_path(d.digest), type);
    }
    auto m = BERTH_TRY_CTX(oci::parse_manifest(raw, blob_path(d.digest)), "{}", origin);
    LoadItem it;
    it.origin = origin;
    it.raw_config = BERTH_TRY_CTX(read_blob(root_fd, m.config), "{}: config", origin);
    it.id = m.config.digest;
    it.raw_manifest = std::move(raw);
    auto cfg = BERTH_TRY_CTX(oci::parse_image_config(it.raw_config, blob_path(m.config.digest)),
                             "{}", origin);
    BERTH_TRY(check_os(cfg, origin));
    if (cfg.rootfs.diff_ids.size() != m.layers.size()) {
        return make_error(Errc::InvalidArgument, "{}: config {} has {} diff_ids for {} layers",
                          origin, blob_path(m.config.digest), cfg.rootfs.diff_ids.size(),
                          m.layers.size());
    }
    for (size_t i = 0; i < m.layers.size(); ++i) {
        const oci::Descriptor& l = m.layers[i];
        if (!oci::is_layer_media_type(l.media_type)) {
            return make_error(Errc::InvalidArgument,
                              "{}: layers[{}]: unsupported media type \"{}\"", origin, i,
                              l.media_type);
        }
        LayerSource src;
        src.path = blob_path(l.digest);
        uint64_t size = 0;
        (void)BERTH_TRY_CTX(open_regular(root_fd, src.path, &size), "{}: layers[{}]", origin, i);
        if (static_cast<int64_t>(size) != l.size) {
            return make_error(Errc::InvalidArgument,
                              "{}: layers[{}]: blob {} has {} bytes, descriptor says {}", origin, i,
                              src.path, size, l.size);
        }
        src.blob = l;
        src.diff_id = cfg.rootfs.diff_ids[i];
        it.layers.push_back(std::move(src));
    }
    if (tag) it.tags.push_back(*tag);
    items.push_back(std::move(it));
    return {};
}

Result<std::vector<LoadItem>> parse_oci_layout(int root_fd) {
    std::string text = BERTH_TRY(read_small(root_fd, "index.json"));
    auto index = BERTH_TRY(oci::parse_index(text, "index.json"));
    std::vector<LoadItem> items;
    size_t skipped = 0;
    const oci::Platform host = oci::host_platform();
    for (size_t k = 0; k < index.manifests.size(); ++k) {
        const oci::Descriptor& d = index.manifests[k];
        std::string origin = fmt::format("index.json manifests[{}]", k);
        // A top-level entry for another platform (an index.json listing several) is not ours.
        if (d.platform && !oci::platform_matches(*d.platform, "linux", host.architecture,
                                                     host.variant)) {
            ++skipped;
            continue;
        }
        auto tag = BERTH_TRY(descriptor_tag(d, origin));
        BERTH_TRY(collect_oci(root_fd, d, origin, 0, tag, items));
    }
    if (items.empty()) {
        if (skipped) {
            return make_error(Errc::NotFound, "index.json: no image for linux/{}",
                              host.architecture);
        }
        return invalid("index.json: no manifests");
    }
    return items;
}

/// Folds items with the same image ID into one (several tags of one image).
std::vector<LoadItem> merge_items(std::vector<LoadItem> in) {
    std::vector<LoadItem> out;
    for (auto& it : in) {
        auto same =
            std::find_if(out.begin(), out.end(), [&](const LoadItem& o) { return o.id == it.id; });
        if (same == out.end()) {
            out.push_back(std::move(it));
            continue;
        }
        for (auto& t : it.tags) {
            if (std::find(same->tags.begin(), same->tags.end(), t) == same->tags.end()) {
                same->tags.push_back(std::move(t));
            }
        }
        if (!same->raw_manifest && it.raw_manifest) same->raw_manifest = std::move(it.raw_manifest);
    }
    return out;
}

}  // namespace

Result<LoadResult> ImageService::load(int in_fd, const ProgressFn& progress) {
    Impl& s = *impl_;
    auto report = [&](const Digest& diff_id, int64_t current, int64_t total) {
        if (progress)
            progress(Progress{diff_id.hex().substr(0, 12), "Loading layer", current, total});
    };

    // Staging directory, flock()ed while in use so that a cleanup of <root>/tmp in another
    // process can tell it from a leftover of a crash.
    std::string tmp_root = path_join(s.root, "tmp");
    BERTH_TRY_CTX(mkdir_all(tmp_root, 0700), "load: create {}", tmp_root);
    std::string stage = path_join(tmp_root, "load-" + BERTH_TRY(random_hex(12)));
    if (::mkdir(stage.c_str(), 0700) < 0) return BERTH_SYS_ERROR("load: mkdir {}", stage);
    ScopeExit drop_stage([&] { (void)remove_all(stage); });
    UniqueFd root_fd(::open(stage.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd) return BERTH_SYS_ERROR("load: open {}", stage);
    if (::flock(root_fd.get(), LOCK_EX) < 0) return BERTH_SYS_ERROR("load: flock {}", stage);

    archive::ApplyOptions ao;
    ao.whiteouts = archive::WhiteoutMode::Remove;
    ao.devices = archive::DeviceMode::Skip;
    ao.preserve_ownership = false;
    BERTH_TRY_CTX(archive::apply_layer(in_fd, stage, ao), "load: unpack archive");

    // Phase 1: parse and validate.
    std::vector<LoadItem> items;
    if (exists_in_root(root_fd.get(), "manifest.json")) {
        items = BERTH_TRY_CTX(parse_docker_archive(root_fd.get()), "load");
    } else if (exists_in_root(root_fd.get(), "index.json")) {
        items = BERTH_TRY_CTX(parse_oci_layout(root_fd.get()), "load");
    } else {
        return make_error(Errc::InvalidArgument,
                          "load: archive has neither manifest.json (docker-archive) nor "
                          "index.json (OCI layout)");
    }
    items = merge_items(std::move(items));

    std::lock_guard lock(s.mu);
    // Layers unpacked by this load, bottom first per image; on failure those no image holds a
    // reference on are removed again, top first (a layer with a child cannot be removed).
    std::vector<Digest> created;
    ScopeExit rollback([&] {
        for (auto c = created.rbegin(); c != created.rend(); ++c) {
            auto li = s.layers.info(*c);
            if (li && li->refs == 0) (void)s.layers.remove(*c);
        }
    });

    // Phase 2: layers.
    for (LoadItem& it : items) {
        std::optional<Digest> parent;
        for (const LayerSource& src : it.layers) {
            auto have = s.layers.lookup(parent, src.diff_id);
            if (have) {
                report(src.diff_id, -1, -1);  // already here: nothing to read
                parent = have->chain_id;
                it.chain_ids.push_back(have->chain_id);
                continue;
            }
            if (have.error().code != Errc::NotFound) {
                return Unexpected(std::move(have).error().wrap("load: {}", it.origin));
            }
            uint64_t size = 0;
            UniqueFd fd =
                BERTH_TRY_CTX(open_regular(root_fd.get(), src.path, &size), "load: {}", it.origin);
            if (src.blob) {
                uint64_t n = 0;
                Digest got = BERTH_TRY_CTX(digest_fd(fd.get(), &n), "load: read {}", src.path);
                if (got != src.blob->digest) {
                    return make_error(Errc::InvalidArgument,
                                      "load: {}: blob {}: content has digest {}", it.origin,
                                      src.path, got.string());
                }
                if (::lseek(fd.get(), 0, SEEK_SET) < 0) {
                    return BERTH_SYS_ERROR("load: seek {}", src.path);
                }
            }
            report(src.diff_id, 0, static_cast<int64_t>(size));
            auto li = BERTH_TRY_CTX(s.layers.apply(parent, fd.get(), src.diff_id),
                                    "load: {}: layer {}", it.origin, src.path);
            created.push_back(li.chain_id);
            report(src.diff_id, static_cast<int64_t>(size), static_cast<int64_t>(size));
            parent = li.chain_id;
            it.chain_ids.push_back(li.chain_id);
        }
    }

    // Phase 3: images.
    LoadResult res;
    for (const LoadItem& it : items) {
        auto img = BERTH_TRY_CTX(s.add_image(it.raw_config, it.raw_manifest, it.chain_ids, it.tags),
                                 "load: {}", it.origin);
        if (it.tags.empty()) {
            res.loaded_ids.push_back(img.record.id);
        }
        for (const Reference& t : it.tags) res.loaded_tags.push_back(t.familiar_string());
    }
    rollback.release();
    return res;
}

}  // namespace berth::image
