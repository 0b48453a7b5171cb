// registry::push(): see push.hpp.
//
// A layer that has to be uploaded is written by the layer store (its exact tar) into a socket
// on a helper thread, gzip-compressed (ISA-L igzip level 1: the compressor, not the network, is
// what limits a local push) by the ByteSource the repository pulls from, and hashed on the way
// out, so the blob is never on disk and its digest is known when the last byte is sent.

#include "berth/registry/push.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <isa-l/igzip_lib.h>

#include "berth/common/log.hpp"
#include "berth/common/scope_exit.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/oci/image_spec.hpp"
#include "transfer/common.hpp"

namespace berth::registry {
namespace {

namespace mt = oci::media_type;

/// Known blobs tried per layer before uploading (moby tries a few, not all it knows).
constexpr size_t kMaxCandidates = 3;

/// Streams a layer tar read from `fd` as gzip: a ByteSource. Hashes what it produces.
///
/// The compressor is ISA-L's igzip at level 1, not zlib: on this path the compressor is the
/// bottleneck of a local push, and zlib's fastest level ran at ~45 MB/s on a 200 MiB layer of
/// random data (`gzip -1`: 4.7 s of CPU) where igzip level 1 runs several times faster with a
/// similar ratio. The output is ordinary gzip (RFC 1952), which every registry client reads.
class GzipSource {
public:
    GzipSource(int fd, std::function<Result<void>()> at_eof,
               std::function<void(uint64_t)> on_progress)
        : fd_(fd),
          at_eof_(std::move(at_eof)),
          on_progress_(std::move(on_progress)),
          level_buf_(ISAL_DEF_LVL1_DEFAULT) {
        ::isal_deflate_init(&z_);
        z_.level = 1;
        z_.level_buf = level_buf_.data();
        z_.level_buf_size = static_cast<uint32_t>(level_buf_.size());
        z_.gzip_flag = IGZIP_GZIP;  // a gzip header and trailer, not raw deflate
        z_.flush = NO_FLUSH;
    }
    GzipSource(const GzipSource&) = delete;
    GzipSource& operator=(const GzipSource&) = delete;

    Result<size_t> fill(char* buf, size_t cap) {
        if (done_ || cap == 0) return size_t{0};
        z_.next_out = reinterpret_cast<uint8_t*>(buf);
        z_.avail_out = static_cast<uint32_t>(std::min<size_t>(cap, 1u << 30));
        const uint32_t avail = z_.avail_out;
        while (z_.avail_out > 0) {
            if (z_.avail_in == 0 && !eof_) {
                ssize_t n = ::read(fd_, in_.data(), in_.size());
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) return BERTH_SYS_ERROR("read layer tar");
                if (n == 0) {
                    eof_ = true;
                    // The tar's writer must have succeeded before the stream may end.
                    BERTH_TRY(at_eof_());
                    z_.end_of_stream = 1;
                } else {
                    z_.next_in = reinterpret_cast<uint8_t*>(in_.data());
                    z_.avail_in = static_cast<uint32_t>(n);
                    uncompressed_ += static_cast<uint64_t>(n);
                    on_progress_(uncompressed_);
                }
            }
            int r = ::isal_deflate(&z_);
            if (r != COMP_OK) return make_error(Errc::Internal, "gzip: isal_deflate: error {}", r);
            if (z_.internal_state.state == ZSTATE_END) {
                done_ = true;
                break;
            }
        }
        size_t produced = avail - z_.avail_out;
        hasher_.update(buf, produced);
        return produced;
    }

    Digest digest() { return hasher_.finish(); }

private:
    int fd_;
    std::function<Result<void>()> at_eof_;
    std::function<void(uint64_t)> on_progress_;
    isal_zstream z_{};
    std::vector<uint8_t> level_buf_;
    bool eof_ = false;
    bool done_ = false;
    uint64_t uncompressed_ = 0;
    std::vector<char> in_ = std::vector<char>(256 * 1024);
    Sha256 hasher_;
};

/// One layer of the image, and what pushing it gave.
struct LayerPush {
    Digest chain = digest_of("");
    Digest diff_id = digest_of("");
    std::string id;  ///< progress id: 12 hex of the diff ID
    std::optional<oci::Descriptor> pushed;
};

struct PushState {
    image::ImageService* images = nullptr;
    Reporter* report = nullptr;
    bool oci = false;  ///< OCI media types in the manifest (else Docker schema 2)
    std::vector<LayerPush> layers;
    std::atomic<size_t> next{0};
    std::atomic<bool> cancelled{false};
    std::mutex err_mu;
    std::optional<Error> first_error;
};

/// The layer media type to write in the manifest for a known blob, or nullopt if that blob
/// cannot be used in this manifest (zstd or uncompressed layers in a Docker schema 2 one).
std::optional<std::string> manifest_layer_type(std::string_view blob_type, bool oci) {
    bool gzip = blob_type == mt::kDockerLayerGzip || blob_type == mt::kOciLayerGzip;
    if (!oci) {
        if (gzip) return std::string(mt::kDockerLayerGzip);
        return std::nullopt;
    }
    if (gzip) return std::string(mt::kOciLayerGzip);
    if (blob_type == mt::kOciLayer || blob_type == mt::kOciLayerZstd) return std::string(blob_type);
    return std::nullopt;
}

// Uploads a layer compressed while it is written.
Result<BlobStat> upload_layer(PushState& st, Repository& repo, const LayerPush& l) {
    image::ImageService& images = *st.images;
    auto info = BERTH_TRY(images.layer_info(l.chain));
    const int64_t total = static_cast<int64_t>(info.tar_size ? info.tar_size : info.size);
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return BERTH_SYS_ERROR("push layer {}: socketpair", l.diff_id.string());
    UniqueFd reader(sv[0]);
    UniqueFd writer(sv[1]);
    Result<Digest> written = make_error(Errc::Internal, "layer tar not written");
    std::thread th([&images, &l, &written, fd = std::move(writer)]() mutable {
        // A reader that stops early must give this thread EPIPE, not the process SIGPIPE.
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        written = images.write_layer_tar(l.chain, fd.get());
        fd.reset();
    });
    bool joined = false;
    auto join = [&] {
        if (!joined) th.join();
        joined = true;
    };
    ScopeExit stop([&] {
        reader.reset();  // a writer still writing stops with EPIPE
        join();
    });
    int64_t reported = 0;
    const int64_t step = std::max<int64_t>(512 * 1024, total / 100);
    GzipSource gz(
        reader.get(),
        [&]() -> Result<void> {
            join();
            if (!written) return Unexpected(written.error());
            return {};
        },
        [&](uint64_t done) {
            auto cur = static_cast<int64_t>(done);
            if (cur - reported >= step || cur == total) {
                reported = cur;
                st.report->send(l.id, "Pushing", cur, total);
            }
        });
    auto source = [&](char* buf, size_t cap) -> Result<size_t> {
        if (st.cancelled) return make_error(Errc::Unavailable, "push cancelled");
        return gz.fill(buf, cap);
    };
    std::optional<Digest> final_digest;
    auto at_end = [&]() -> Digest {
        if (!final_digest) final_digest = gz.digest();
        return *final_digest;
    };
    BlobStat stat = BERTH_TRY(repo.push_blob_streaming(source, at_end));
    reader.reset();
    join();
    if (!written) return Unexpected(written.error());
    return stat;
}

// Pushes one layer: an existing blob, a mount, or an upload.
Result<oci::Descriptor> push_layer(PushState& st, Repository& repo, const LayerPush& l) {
    auto known = st.images->layer_blobs(l.diff_id);
    if (!known) {
        BLOG_WARN("push {}: layer blobs of {}: {}", repo_name(repo), l.diff_id.string(),
                  known.error().what());
        known = std::vector<store::LayerBlobRecord>{};
    }
    std::vector<const store::LayerBlobRecord*> here, elsewhere;
    for (const auto& k : *known) {
        if (k.registry != repo.registry() || !manifest_layer_type(k.media_type, st.oci)) continue;
        auto& list = k.repository == repo.name() ? here : elsewhere;
        bool dup = std::any_of(list.begin(), list.end(), [&](const auto* o) {
            return o->digest == k.digest && o->repository == k.repository;
        });
        if (!dup) list.push_back(&k);
    }
    auto use = [&](const store::LayerBlobRecord& k, int64_t size) -> Result<oci::Descriptor> {
        oci::Descriptor d;
        d.media_type = *manifest_layer_type(k.media_type, st.oci);
        d.digest = k.digest;
        d.size = size;
        store::LayerBlobRecord rec = k;
        rec.repository = repo.name();
        rec.size = size;
        if (auto r = st.images->record_layer_blobs({rec}); !r)
            BLOG_WARN("push {}: remember layer blob: {}", repo_name(repo), r.error().what());
        return d;
    };
    // Blobs this repository is known to have (or that any repository of the registry had:
    // one HEAD is cheaper than a mount attempt's upload session).
    size_t tried = 0;
    for (const auto* k : here) {
        if (tried++ == kMaxCandidates) break;
        auto s = BERTH_TRY(repo.stat_blob(k->digest));
        if (s) {
            st.report->send(l.id, "Layer already exists");
            return use(*k, s->size > 0 ? s->size : k->size);
        }
    }
    tried = 0;
    for (const auto* k : elsewhere) {
        if (tried++ == kMaxCandidates) break;
        auto mounted = repo.mount_blob(k->digest, k->repository);
        if (!mounted) {
            // A refused mount (e.g. no pull access to the other repository) is not fatal.
            BLOG_DEBUG("push {}: mount {} from {}: {}", repo_name(repo), k->digest.string(),
                       k->repository, mounted.error().what());
            continue;
        }
        if (*mounted) {
            st.report->send(l.id, "Mounted from " + k->repository);
            return use(*k, k->size);
        }
    }
    BlobStat s = BERTH_TRY(upload_layer(st, repo, l));
    store::LayerBlobRecord rec{
        l.diff_id, s.digest,        std::string(st.oci ? mt::kOciLayerGzip : mt::kDockerLayerGzip),
        s.size,    repo.registry(), repo.name()};
    st.report->send(l.id, "Pushed");
    return use(rec, s.size);
}

void run_worker(PushState& st, Repository* repo) {
    for (;;) {
        size_t i = st.next++;
        if (i >= st.layers.size() || st.cancelled) return;
        LayerPush& l = st.layers[i];
        auto r = push_layer(st, *repo, l);
        if (!r) {
            std::lock_guard lk(st.err_mu);
            if (!st.first_error)
                st.first_error =
                    std::move(r).error().wrap("{}: layer {}", repo_name(*repo), l.diff_id.string());
            st.cancelled = true;
            return;
        }
        l.pushed = std::move(*r);
    }
}

}  // namespace

Result<PushResult> push(image::ImageService& images, Repository& repo,
                        const image::Reference& tag_ref, const PushOptions& opts) {
    const image::Reference ref = tag_ref.name_only() ? tag_ref.with_default_tag() : tag_ref;
    if (!ref.tag())
        return make_error(Errc::InvalidArgument, "push {}: a tag is needed, not a digest",
                          ref.familiar_string());
    auto img = images.get(ref.string());
    if (!img && img.error().code == Errc::NotFound)
        return make_error(Errc::NotFound, "An image does not exist locally with the tag: {}",
                          ref.familiar_name());
    if (!img) return Unexpected(std::move(img).error().wrap("push {}", ref.familiar_string()));
    const std::string where = repo_name(repo);
    Reporter report(opts.progress);

    // The stored manifest (a pulled or loaded image's) decides the media types, and is pushed
    // again unchanged when it still describes what is pushed.
    std::optional<std::string> stored_bytes;
    std::optional<oci::Manifest> stored;
    std::string stored_type;
    if (img->record.manifest) {
        if (auto raw = images.read_blob(*img->record.manifest)) {
            auto type = oci::detect_media_type(*raw);
            auto m = oci::parse_manifest(*raw);
            if (type && m && oci::is_manifest_media_type(*type) &&
                m->config.digest == img->record.id &&
                m->layers.size() == img->record.chain_ids.size()) {
                stored_bytes = std::move(*raw);
                stored = std::move(*m);
                stored_type = *type;
            }
        }
    }
    PushState st;
    st.images = &images;
    st.report = &report;
    st.oci = stored_type == mt::kOciManifest;

    report.send("", "The push refers to repository [" + where + "]");
    const auto& diff_ids = img->config.rootfs.diff_ids;
    if (diff_ids.size() != img->record.chain_ids.size())
        return make_error(Errc::Internal, "push {}: image {} has {} layers but {} diff IDs", where,
                          img->record.id.string(), img->record.chain_ids.size(), diff_ids.size());
    for (size_t i = 0; i < diff_ids.size(); ++i)
        st.layers.push_back({img->record.chain_ids[i], diff_ids[i], short_id(diff_ids[i]), {}});
    const size_t workers = std::min<size_t>(
        st.layers.size(), static_cast<size_t>(std::max(1, opts.max_concurrent_uploads)));
    // moby lists the layers top first.
    for (size_t i = st.layers.size(); i-- > 0;) report.send(st.layers[i].id, "Preparing");
    for (size_t i = st.layers.size(); i-- > workers;) report.send(st.layers[i].id, "Waiting");

    {
        std::vector<std::unique_ptr<Repository>> clones;
        for (size_t w = 0; w < workers; ++w) clones.push_back(BERTH_TRY(repo.clone()));
        std::vector<std::thread> threads;
        for (size_t w = 0; w < workers; ++w)
            threads.emplace_back([&st, r = clones[w].get()] { run_worker(st, r); });
        for (auto& t : threads) t.join();
        if (st.first_error) return Unexpected(*st.first_error);
    }

    // Config.
    const Digest& config_digest = img->record.id;
    if (!BERTH_TRY(repo.stat_blob(config_digest))) {
        std::string_view rest = img->raw_config;
        BERTH_TRY(repo.push_blob(config_digest, static_cast<int64_t>(rest.size()),
                                 [&](char* buf, size_t cap) -> Result<size_t> {
                                     size_t n = std::min(cap, rest.size());
                                     std::copy_n(rest.data(), n, buf);
                                     rest.remove_prefix(n);
                                     return n;
                                 }));
    }

    // Manifest.
    std::string bytes;
    std::string type;
    bool same = stored.has_value();
    for (size_t i = 0; same && i < st.layers.size(); ++i)
        same = stored->layers[i].digest == st.layers[i].pushed->digest;
    if (same) {
        bytes = *stored_bytes;
        type = stored_type;
    } else {
        oci::Manifest m;
        m.schema_version = 2;
        m.media_type = std::string(st.oci ? mt::kOciManifest : mt::kDockerManifest);
        m.config.media_type = std::string(st.oci ? mt::kOciConfig : mt::kDockerConfig);
        m.config.digest = config_digest;
        m.config.size = static_cast<int64_t>(img->raw_config.size());
        for (const auto& l : st.layers) m.layers.push_back(*l.pushed);
        bytes = oci::to_json(m);
        type = m.media_type;
    }
    Digest digest = BERTH_TRY(repo.put_manifest(*ref.tag(), type, bytes));
    if (digest != digest_of(bytes))
        return make_error(Errc::InvalidArgument,
                          "{}: manifest {}: the registry reports digest {} for it", where,
                          digest_of(bytes).string(), digest.string());
    PushResult res{*ref.tag(), digest, static_cast<int64_t>(bytes.size())};
    report.send("", fmt::format("{}: digest: {} size: {}", res.tag, res.digest.string(), res.size));
    return res;
}

}  // namespace berth::registry
