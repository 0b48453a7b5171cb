// ImageService::save(): `docker save` as docker 25+ writes it (moby image/tarexport/save.go):
// one tarball that is at once an OCI image layout (oci-layout, index.json, blobs/sha256/) and a
// docker-archive (manifest.json, repositories), whose layers are the exact uncompressed layer
// tars (digest = diff ID) shared by both views.
//
// Unlike moby, nothing is staged in a temporary directory: every digest and size is known
// before the first byte is written (configs and manifests are small, layer sizes come from the
// layer store's tar-split data), so the tar is written straight to the output, each layer
// streamed by LayerStore::write_tar() behind a header that already carries its size. Entries are
// in the order moby's directory walk gives (sorted), with fixed mtimes, so the same images
// always give the same bytes. Moby also writes a legacy v1 "json" blob per layer that nothing
// reads any more; those are left out.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/common/digest.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/image/image_service.hpp"
#include "berth/image/reference.hpp"
#include "berth/oci/image_spec.hpp"
#include "service_impl.hpp"

namespace berth::image {
namespace {

namespace mt = oci::media_type;

constexpr size_t kBlockSize = 512;
/// Largest size a ustar header's 11 octal digits hold (8 GiB - 1); bigger needs a pax record.
constexpr uint64_t kMaxOctalSize = 077777777777ULL;
/// containerd's images.AnnotationImageName and the OCI ref.name annotation.
constexpr std::string_view kAnnotationImageName = "io.containerd.image.name";
constexpr std::string_view kAnnotationRefName = "org.opencontainers.image.ref.name";
/// moby's ociLayoutContent, byte for byte (with the space).
constexpr std::string_view kOciLayoutContent = R"({"imageLayoutVersion": "1.0.0"})";

/// Writes `value` as zero-padded octal into field[0 .. len-1) followed by a NUL, as Go's
/// archive/tar formats numeric ustar fields.
void put_octal(char* field, size_t len, uint64_t value) {
    std::string digits = fmt::format("{:0{}o}", value, len - 1);
    std::memcpy(field, digits.data(), len - 1);
    field[len - 1] = '\0';
}

/// A minimal tar writer for the few entry kinds save needs (directories and regular files),
/// writing ustar headers straight to an fd, plus a pax "size" record for files of 8 GiB or more.
class TarOut {
public:
    /// fd < 0: writes nothing and counts what it would write (size()), the layers' data too.
    explicit TarOut(int fd) : fd_(fd) {}

    [[nodiscard]] uint64_t size() const noexcept { return size_; }

    /// `n` bytes of a file's data that the caller wrote to the fd itself.
    void account(uint64_t n) noexcept { size_ += n; }

    Result<void> dir(const std::string& name, int64_t mtime) {
        return header(name, '5', 0755, 0, mtime);
    }

    Result<void> file(const std::string& name, std::string_view data, int64_t mtime) {
        BERTH_TRY(begin_file(name, data.size(), mtime));
        BERTH_TRY(emit(data));
        return end_file(data.size());
    }

    /// Writes the header of a regular file of `size` bytes; the caller writes exactly `size`
    /// bytes to the fd and then calls end_file(size).
    Result<void> begin_file(const std::string& name, uint64_t size, int64_t mtime) {
        if (size > kMaxOctalSize) {
            std::string rec = pax_record("size", std::to_string(size));
            BERTH_TRY(header("PaxHeaders.0/" + name.substr(name.rfind('/') + 1), 'x', 0644,
                             rec.size(), mtime));
            BERTH_TRY(emit(rec));
            BERTH_TRY(end_file(rec.size()));
        }
        return header(name, '0', 0644, size, mtime);
    }

    /// Pads the file's data to the block size.
    Result<void> end_file(uint64_t size) {
        size_t rem = static_cast<size_t>(size % kBlockSize);
        if (rem == 0) return {};
        static const std::array<char, kBlockSize> zeros{};
        return emit(std::string_view(zeros.data(), kBlockSize - rem));
    }

    /// The end-of-archive marker: two zero blocks (Go's tar.Writer.Close).
    Result<void> close() {
        static const std::array<char, 2 * kBlockSize> zeros{};
        return emit(std::string_view(zeros.data(), zeros.size()));
    }

private:
    Result<void> emit(std::string_view data) {
        size_ += data.size();
        if (fd_ < 0) return {};
        return write_all(fd_, data, "save output");
    }

    static std::string pax_record(std::string_view key, std::string_view value) {
        // "<len> key=value\n" where <len> counts the whole record, itself included.
        size_t base = key.size() + value.size() + 3;
        size_t len = base + 1;
        while (std::to_string(len).size() + base != len) ++len;
        return fmt::format("{} {}={}\n", len, key, value);
    }

    Result<void> header(const std::string& name, char type, unsigned mode, uint64_t size,
                        int64_t mtime) {
        // Every name save writes is short ("blobs/sha256/<64 hex>" is 77 bytes).
        if (name.size() >= 100) {
            return make_error(Errc::Internal, "tar entry name too long: {}", name);
        }
        std::array<char, kBlockSize> h{};
        std::memcpy(&h[0], name.data(), name.size());
        put_octal(&h[100], 8, mode);
        put_octal(&h[108], 8, 0);  // uid
        put_octal(&h[116], 8, 0);  // gid
        if (size > kMaxOctalSize) {
            // GNU base-256 as well as the pax record, for readers that ignore pax.
            h[124] = static_cast<char>(0x80);
            for (int i = 0; i < 8; ++i) h[135 - i] = static_cast<char>((size >> (8 * i)) & 0xff);
        } else {
            put_octal(&h[124], 12, size);
        }
        put_octal(&h[136], 12, static_cast<uint64_t>(std::max<int64_t>(mtime, 0)));
        h[156] = type;
        std::memcpy(&h[257],
                    "ustar\0"
                    "00",
                    8);
        put_octal(&h[329], 8, 0);  // devmajor
        put_octal(&h[337], 8, 0);  // devminor
        std::memset(&h[148], ' ', 8);
        unsigned sum = 0;
        for (char c : h) sum += static_cast<unsigned char>(c);
        std::string chk = fmt::format("{:06o}", sum);
        std::memcpy(&h[148], chk.data(), 6);
        h[154] = '\0';
        h[155] = ' ';
        return emit(std::string_view(h.data(), h.size()));
    }

    int fd_;
    uint64_t size_ = 0;
};

/// One image to save and the tags it is saved under (in the order they were named).
struct SaveItem {
    Image img;
    std::vector<Reference> refs;
    std::vector<store::LayerInfo> layers;  ///< bottom first, one per diff ID
    std::string manifest;                  ///< the OCI manifest written for it
    Digest manifest_digest = digest_of("");
};

/// One blob of blobs/sha256/: a byte string, or a layer streamed from the layer store.
struct Blob {
    std::string data;                ///< configs and manifests
    std::optional<Digest> chain;     ///< layers: their chain ID
    Digest diff_id = digest_of("");  ///< layers: the digest write_tar must produce
    uint64_t size = 0;
    int64_t mtime = 0;
};

int64_t created_seconds(const Image& img) {
    return img.record.created > 0 ? img.record.created / 1000000000 : 0;
}

/// The image's own manifest if it describes exactly what save writes (an OCI manifest of this
/// config with uncompressed layers whose digests are the diff IDs): a loaded OCI image then
/// keeps its manifest digest. Otherwise none.
std::optional<std::string> reusable_manifest(const ImageService::Impl& s, const SaveItem& it) {
    if (!it.img.record.manifest) return std::nullopt;
    auto raw = s.content.read(*it.img.record.manifest);
    if (!raw) return std::nullopt;
    auto m = oci::parse_manifest(*raw);
    if (!m) return std::nullopt;
    if (!m->media_type.empty() && m->media_type != mt::kOciManifest) return std::nullopt;
    if (m->config.digest != it.img.record.id ||
        m->config.size != static_cast<int64_t>(it.img.raw_config.size()) ||
        m->layers.size() != it.layers.size()) {
        return std::nullopt;
    }
    for (size_t i = 0; i < it.layers.size(); ++i) {
        const oci::Descriptor& d = m->layers[i];
        if (d.media_type != mt::kOciLayer || d.digest != it.layers[i].diff_id ||
            d.size != static_cast<int64_t>(it.layers[i].tar_size) || !d.urls.empty()) {
            return std::nullopt;
        }
    }
    return std::move(*raw);
}

std::string generate_manifest(const SaveItem& it) {
    oci::Manifest m;
    m.schema_version = 2;
    m.media_type = std::string(mt::kOciManifest);
    m.config.media_type = std::string(mt::kOciConfig);
    m.config.digest = it.img.record.id;
    m.config.size = static_cast<int64_t>(it.img.raw_config.size());
    for (const auto& li : it.layers) {
        oci::Descriptor d;
        d.media_type = std::string(mt::kOciLayer);
        d.digest = li.diff_id;
        d.size = static_cast<int64_t>(li.tar_size);
        m.layers.push_back(std::move(d));
    }
    return oci::to_json(m);
}

/// The length of a layer's tar when the layer store does not know it (layers unpacked before
/// it recorded tar sizes): the tar is written once into a pipe and counted, so that the real
/// write can still put the size in the header first.
Result<uint64_t> measure_tar(const store::LayerStore& layers, const Digest& chain) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return BERTH_SYS_ERROR("pipe");
    UniqueFd rd(p[0]);
    UniqueFd wr(p[1]);
    uint64_t count = 0;
    std::thread counter([&count, fd = rd.get()] {
        std::array<char, 65536> buf;
        for (;;) {
            ssize_t n = ::read(fd, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            count += static_cast<uint64_t>(n);
        }
    });
    auto r = layers.write_tar(chain, wr.get());
    wr.reset();  // EOF for the counter
    counter.join();
    if (!r) return Unexpected(std::move(r).error().wrap("measure layer {}", chain.string()));
    return count;
}

std::string blob_name(const Digest& d) {
    return "blobs/" + d.algorithm() + "/" + d.hex();
}

}  // namespace

Result<void> ImageService::save(const std::vector<std::string>& names, int out_fd) {
    return save(names, [out_fd](uint64_t) -> Result<int> { return out_fd; });
}

Result<void> ImageService::save(const std::vector<std::string>& names, const SaveOutput& output) {
    Impl& s = *impl_;
    if (names.empty()) return make_error(Errc::InvalidArgument, "save: no image names given");

    // 1. Resolve every name (moby tarexport parseNames): a tag saves that tag; a bare
    //    repository name saves all its tags; an ID, an ID prefix or a digest reference saves the
    //    image without a tag. Nothing is written until all of them resolved.
    std::vector<SaveItem> items;
    auto item_for = [&](Image img) -> SaveItem& {
        for (auto& it : items) {
            if (it.img.record.id == img.record.id) return it;
        }
        items.push_back(SaveItem{std::move(img), {}, {}, {}, digest_of("")});
        return items.back();
    };
    auto add_ref = [](SaveItem& it, const Reference& ref) {
        if (std::find(it.refs.begin(), it.refs.end(), ref) == it.refs.end()) {
            it.refs.push_back(ref);
        }
    };
    for (const std::string& name : names) {
        auto any = parse_any_reference(name);
        const Reference* ref = any ? std::get_if<Reference>(&*any) : nullptr;
        // "sha256:<short hex>" parses as repository "sha256" with a tag: it is an ID prefix.
        if (ref && ref->familiar_name() == "sha256") ref = nullptr;
        if (ref && ref->name_only()) {
            std::vector<std::pair<std::string, Digest>> tagged;
            auto records = BERTH_TRY_CTX(s.meta.list_images(), "save {}", name);
            for (const auto& rec : records) {
                for (const auto& t : rec.tags) {
                    auto tr = Reference::parse(t);
                    if (tr && tr->name() == ref->name()) tagged.emplace_back(t, rec.id);
                }
            }
            std::sort(tagged.begin(), tagged.end());
            for (const auto& [t, id] : tagged) {
                Image img = BERTH_TRY_CTX(s.load_image(id), "save {}", name);
                add_ref(item_for(std::move(img)), BERTH_TRY(Reference::parse(t)));
            }
            if (!tagged.empty()) continue;
        }
        Image img = BERTH_TRY(get(name));
        bool tag_it = ref && ref->tag() && !ref->digest() &&
                      std::find(img.record.tags.begin(), img.record.tags.end(), ref->string()) !=
                          img.record.tags.end();
        SaveItem& it = item_for(std::move(img));
        if (tag_it) add_ref(it, *ref);
    }

    // 2. Layers (with their exact tar sizes) and manifests.
    std::map<std::string, Blob> blobs;  // by hex: moby's walk writes them sorted
    for (SaveItem& it : items) {
        const Image& img = it.img;
        const auto& diff_ids = img.config.rootfs.diff_ids;
        if (img.record.chain_ids.size() != diff_ids.size()) {
            return make_error(Errc::Internal, "save {}: {} layers recorded for {} diff IDs",
                              img.record.id.string(), img.record.chain_ids.size(), diff_ids.size());
        }
        for (size_t i = 0; i < diff_ids.size(); ++i) {
            auto li = BERTH_TRY_CTX(s.layers.info(img.record.chain_ids[i]), "save {}",
                                    img.record.id.string());
            if (li.diff_id != diff_ids[i]) {
                return make_error(Errc::Internal,
                                  "save {}: layer {} has diff ID {}, config says {}",
                                  img.record.id.string(), li.chain_id.string(), li.diff_id.string(),
                                  diff_ids[i].string());
            }
            if (li.tar_size == 0)
                li.tar_size = BERTH_TRY_CTX(measure_tar(s.layers, li.chain_id), "save {}",
                                            img.record.id.string());
            Blob b;
            b.chain = li.chain_id;
            b.diff_id = li.diff_id;
            b.size = li.tar_size;
            b.mtime = created_seconds(img);
            blobs.emplace(li.diff_id.hex(), std::move(b));  // a shared layer: written once
            it.layers.push_back(std::move(li));
        }
        Blob cfg;
        cfg.data = img.raw_config;
        cfg.size = cfg.data.size();
        cfg.mtime = created_seconds(img);
        blobs.emplace(img.record.id.hex(), std::move(cfg));

        auto reused = reusable_manifest(s, it);
        it.manifest = reused ? std::move(*reused) : generate_manifest(it);
        it.manifest_digest = digest_of(it.manifest);
        Blob man;
        man.data = it.manifest;
        man.size = man.data.size();
        blobs.emplace(it.manifest_digest.hex(), std::move(man));
    }

    // 3. index.json, manifest.json and repositories.
    oci::Index index;
    index.schema_version = 2;
    index.media_type = std::string(mt::kOciIndex);
    nlohmann::ordered_json manifest_json = nlohmann::ordered_json::array();
    std::map<std::string, std::map<std::string, std::string>> repositories;
    for (const SaveItem& it : items) {
        oci::Descriptor desc;
        desc.media_type = std::string(mt::kOciManifest);
        desc.digest = it.manifest_digest;
        desc.size = static_cast<int64_t>(it.manifest.size());
        nlohmann::ordered_json repo_tags = nullptr;  // Go marshals a nil slice as null
        for (const Reference& ref : it.refs) {
            oci::Descriptor tagged = desc;
            tagged.annotations[std::string(kAnnotationImageName)] = ref.string();
            tagged.annotations[std::string(kAnnotationRefName)] = *ref.tag();
            index.manifests.push_back(std::move(tagged));
            repo_tags.push_back(ref.familiar_string());
            if (!it.layers.empty()) {
                repositories[ref.familiar_name()][*ref.tag()] = it.layers.back().diff_id.hex();
            }
        }
        if (it.refs.empty()) index.manifests.push_back(desc);

        nlohmann::ordered_json entry = nlohmann::ordered_json::object();
        entry["Config"] = blob_name(it.img.record.id);
        entry["RepoTags"] = std::move(repo_tags);
        nlohmann::ordered_json layers = nlohmann::ordered_json::array();
        std::map<std::string, nlohmann::ordered_json> sources;  // Go sorts map keys
        for (const auto& li : it.layers) {
            layers.push_back(blob_name(li.diff_id));
            nlohmann::ordered_json src = nlohmann::ordered_json::object();
            src["mediaType"] = std::string(mt::kOciLayer);
            src["size"] = li.tar_size;
            src["digest"] = li.diff_id.string();
            sources[li.diff_id.string()] = std::move(src);
        }
        entry["Layers"] = std::move(layers);
        if (!sources.empty()) {
            nlohmann::ordered_json ls = nlohmann::ordered_json::object();
            for (auto& [k, v] : sources) ls[k] = std::move(v);
            entry["LayerSources"] = std::move(ls);
        }
        manifest_json.push_back(std::move(entry));
    }
    std::string index_text = oci::to_json(index);
    std::string manifest_text = manifest_json.dump() + "\n";  // json.Encoder adds the newline
    std::string repositories_text;
    if (!repositories.empty()) repositories_text = nlohmann::json(repositories).dump() + "\n";

    // 4. The tarball: counted first (nothing written, layers at their recorded sizes), so
    //    that the output knows its size before the first byte; then written.
    auto write = [&](int fd) -> Result<uint64_t> {
        TarOut tar(fd);
        BERTH_TRY(tar.dir("blobs/", 0));
        BERTH_TRY(tar.dir("blobs/sha256/", 0));
        for (const auto& [hex, b] : blobs) {
            std::string name = "blobs/sha256/" + hex;
            if (!b.chain) {
                BERTH_TRY(tar.file(name, b.data, b.mtime));
                continue;
            }
            BERTH_TRY(tar.begin_file(name, b.size, b.mtime));
            tar.account(b.size);
            if (fd >= 0) {
                Digest got = BERTH_TRY_CTX(s.layers.write_tar(*b.chain, fd), "layer {}",
                                           b.chain->string());
                if (got != b.diff_id) {
                    return make_error(Errc::Internal, "layer {}: wrote a tar with digest {}, not {}",
                                      b.chain->string(), got.string(), b.diff_id.string());
                }
            }
            BERTH_TRY(tar.end_file(b.size));
        }
        BERTH_TRY(tar.file("index.json", index_text, 0));
        BERTH_TRY(tar.file("manifest.json", manifest_text, 0));
        BERTH_TRY(tar.file("oci-layout", kOciLayoutContent, 0));
        if (!repositories_text.empty()) {
            BERTH_TRY(tar.file("repositories", repositories_text, 0));
        }
        BERTH_TRY(tar.close());
        return tar.size();
    };
    uint64_t total = BERTH_TRY(write(-1));
    int fd = BERTH_TRY(output(total));
    auto written = write(fd);
    if (!written) return Unexpected(std::move(written).error().wrap("save: write tarball"));
    if (*written != total)
        return make_error(Errc::Internal, "save: wrote {} bytes of a tarball of {}", *written, total);
    return {};
}

}  // namespace berth::image
