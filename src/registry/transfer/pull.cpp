// registry::pull(): see pull.hpp.
//
// Threads: the caller's thread resolves the manifest and config, then unpacks the layers in
// order; up to max_concurrent_downloads workers (each with its own Repository clone) download
// the layers that are not in the store yet, in layer order. A download writes its bytes to a
// spill file until the unpacker reaches its layer; from then on (the unpacker "attaches") the
// worker first copies what it spilled and then every new chunk into a socket whose other end the
// layer store reads, so a layer is unpacked as it arrives. A layer whose download finished
// before its turn is unpacked from its (verified) spill file.
//
// The compressed digest is known to be right only at the end of a download, so an attached
// layer may be unpacked from bytes that later fail the check; the layer store checks the diff
// ID, so such a layer's content is still right, but the pull fails and removes it again.

#include "berth/registry/pull.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/scope_exit.hpp"
#include "berth/common/strings.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/oci/image_spec.hpp"
#include "transfer/common.hpp"

namespace berth::registry {
namespace {

namespace mt = oci::media_type;

/// Configs are small; anything bigger is not one (moby caps manifests at 4 MiB, configs at 8).
constexpr int64_t kMaxConfigSize = 8 << 20;
/// Socket buffer between a download and the unpacker (the kernel caps it at wmem_max).
constexpr int kSocketBuffer = 1 << 20;

/// One layer to download, shared by its worker and the unpacker under `mu`.
struct Download {
    size_t layer = 0;  ///< index in the manifest
    oci::Descriptor desc;
    Digest diff_id = digest_of("");
    std::string id;  ///< progress id: 12 hex of the compressed digest

    std::mutex mu;
    std::condition_variable cv;
    // Set by the unpacker: it wants the bytes through `direct` from now on.
    bool attach = false;
    UniqueFd direct;  ///< write end of the unpacker's socket; the worker closes it when done
    // Set by the worker at the end.
    bool finished = false;
    std::optional<Error> error;  ///< the download failed (or was cancelled)
    bool consumer_gone = false;  ///< it failed because the unpacker stopped reading

    // Worker-only (and the unpacker's after `finished` without `attach`).
    std::string spill_path;
    UniqueFd spill;
    uint64_t spilled = 0;
};

/// Shared state of one pull's downloads.
struct Downloads {
    const std::string* staging = nullptr;
    Reporter* report = nullptr;
    std::vector<std::unique_ptr<Download>> jobs;
    std::atomic<size_t> next{0};
    std::atomic<bool> cancelled{false};
    std::mutex err_mu;
    std::optional<Error> first_error;

    void fail(const Error& e) {
        {
            std::lock_guard lk(err_mu);
            if (!first_error) first_error = e;
        }
        cancelled = true;
    }
};

Result<void> send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return BERTH_SYS_ERROR("pass layer bytes to the unpacker");
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

// Copies the spill file to the unpacker's socket (the bytes that came before it attached).
Result<void> drain_spill(Download& d) {
    if (!d.spill) return {};
    std::string buf(256 * 1024, '\0');
    off_t off = 0;
    while (static_cast<uint64_t>(off) < d.spilled) {
        ssize_t n = ::pread(d.spill.get(), buf.data(), buf.size(), off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return BERTH_SYS_ERROR("read spill file {}", d.spill_path);
        if (n == 0) return make_error(Errc::Internal, "spill file {} is short", d.spill_path);
        BERTH_TRY(send_all(d.direct.get(), {buf.data(), static_cast<size_t>(n)}));
        off += n;
    }
    d.spill.reset();
    (void)::unlink(d.spill_path.c_str());
    return {};
}

// Downloads one layer (on a worker thread).
void run_download(Downloads& all, Repository& repo, Download& d) {
    Hasher hasher(d.desc.digest.algorithm());
    bool direct_mode = false;
    bool consumer_gone = false;
    const int64_t total = d.desc.size;
    const uint64_t step = std::max<uint64_t>(512 * 1024, static_cast<uint64_t>(total) / 100);
    uint64_t reported = 0;

    auto sink = [&](std::string_view chunk) -> Result<void> {
        if (all.cancelled) return make_error(Errc::Unavailable, "pull cancelled");
        hasher.update(chunk);
        uint64_t got = hasher.size();
        if (got - reported >= step || static_cast<int64_t>(got) == total) {
            reported = got;
            all.report->send(d.id, "Downloading", static_cast<int64_t>(got), total);
        }
        if (!direct_mode) {
            std::unique_lock lk(d.mu);
            if (!d.attach) {
                if (!d.spill) {
                    d.spill_path = path_join(*all.staging, fmt::format("layer-{}", d.layer));
                    d.spill.reset(
                        ::open(d.spill_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
                    if (!d.spill) return BERTH_SYS_ERROR("create spill file {}", d.spill_path);
                }
                BERTH_TRY(write_all(d.spill.get(), chunk, d.spill_path));
                d.spilled += chunk.size();
                return {};
            }
            lk.unlock();
            if (auto r = drain_spill(d); !r) {
                consumer_gone = r.error().sys_errno == EPIPE;
                return r;
            }
            direct_mode = true;
        }
        if (auto r = send_all(d.direct.get(), chunk); !r) {
            consumer_gone = r.error().sys_errno == EPIPE;
            return r;
        }
        return {};
    };

    auto fetched = repo.fetch_blob(d.desc.digest, d.desc.size, sink);
    Result<void> r;
    if (!fetched) {
        r = Unexpected(std::move(fetched).error());
    } else if (static_cast<int64_t>(hasher.size()) != d.desc.size) {
        r = make_error(Errc::InvalidArgument, "{}: blob {}: got {} bytes, the manifest says {}",
                       repo_name(repo), d.desc.digest.string(), hasher.size(), d.desc.size);
    } else if (Digest got = hasher.finish(); got != d.desc.digest) {
        r = make_error(Errc::InvalidArgument, "{}: blob {}: digest mismatch: content has {}",
                       repo_name(repo), d.desc.digest.string(), got.string());
    } else {
        all.report->send(d.id, "Verifying Checksum");
        all.report->send(d.id, "Download complete");
    }
    if (!r && !consumer_gone && r.error().msg != "pull cancelled") {
        Error e = r.error();
        if (e.msg.find(repo_name(repo)) == std::string::npos)
            e = std::move(e).wrap("{}: blob {}", repo_name(repo), d.desc.digest.string());
        r = Unexpected(e);
        all.fail(e);
    }

    std::unique_lock lk(d.mu);
    if (d.attach) {
        lk.unlock();
        if (r && !direct_mode) {
            if (auto dr = drain_spill(d); !dr) {
                consumer_gone = consumer_gone || dr.error().sys_errno == EPIPE;
                r = Unexpected(std::move(dr).error());
            }
        }
        d.direct.reset();  // EOF (or a truncated stream) for the unpacker
        lk.lock();
    }
    if (!r) {
        d.error = r.error();
        d.consumer_gone = consumer_gone;
    }
    d.finished = true;
    d.cv.notify_all();
}

// A worker: takes the next layer in order until none is left; after a failure it marks the
// rest cancelled without fetching them (the unpacker waits for every layer it reaches).
void run_worker(Downloads& all, Repository* repo) {
    for (;;) {
        size_t i = all.next++;
        if (i >= all.jobs.size()) return;
        Download& d = *all.jobs[i];
        if (all.cancelled || !repo) {
            std::lock_guard lk(d.mu);
            if (d.attach) d.direct.reset();
            d.error = Error{Errc::Unavailable, 0, "pull cancelled"};
            d.finished = true;
            d.cv.notify_all();
            continue;
        }
        run_download(all, *repo, d);
    }
}

/// "os[/arch[/variant]]" parsed and normalised as containerd's platforms.Parse does (a lone
/// architecture means linux, a lone OS the host's architecture); empty: the host's.
Result<oci::Platform> parse_platform(std::string_view spec) {
    if (spec.empty()) return oci::host_platform();
    auto parts = split(spec, '/');
    bool empty_part = std::any_of(parts.begin(), parts.end(), [](auto& p) { return p.empty(); });
    if (parts.size() > 3 || empty_part)
        return make_error(Errc::InvalidArgument,
                          "invalid platform \"{}\": want os[/arch[/variant]]", spec);
    static constexpr std::string_view kArches[] = {
        "amd64", "x86_64", "x86-64",  "arm64", "aarch64", "arm",      "armhf",  "armel",
        "386",   "i386",   "ppc64le", "s390x", "riscv64", "mips64le", "loong64"};
    oci::Platform p;
    if (parts.size() == 1) {
        bool arch =
            std::find(std::begin(kArches), std::end(kArches), parts[0]) != std::end(kArches);
        p.os = arch ? "linux" : parts[0];
        p.architecture = arch ? parts[0] : oci::host_platform().architecture;
    } else {
        p.os = parts[0];
        p.architecture = parts[1];
        if (parts.size() == 3) p.variant = parts[2];
    }
    return oci::normalize_platform(p);
}

/// containerd's platforms.Only: the platform and what it can also run, best first.
std::vector<oci::Platform> platform_vector(const oci::Platform& p) {
    std::vector<oci::Platform> out{p};
    auto level = [](const std::string& v) -> int {
        if (v.size() < 2 || v[0] != 'v') return -1;
        int n = 0;
        for (size_t i = 1; i < v.size(); ++i) {
            if (v[i] < '0' || v[i] > '9') return -1;
            n = n * 10 + (v[i] - '0');
        }
        return n;
    };
    auto with = [&](std::string arch, std::string variant) {
        oci::Platform q = p;
        q.architecture = std::move(arch);
        q.variant = std::move(variant);
        return q;
    };
    if (p.architecture == "amd64") {
        for (int v = level(p.variant) - 1; v >= 1 && level(p.variant) > 1; --v)
            out.push_back(with("amd64", v == 1 ? "" : fmt::format("v{}", v)));
        out.push_back(with("386", ""));
    } else if (p.architecture == "arm") {
        for (int v = level(p.variant) - 1; v >= 5; --v)
            out.push_back(with("arm", fmt::format("v{}", v)));
    } else if (p.architecture == "arm64") {
        std::string v = p.variant.empty() ? "v8" : p.variant;
        auto arm = platform_vector(with("arm", v));
        out.insert(out.end(), arm.begin(), arm.end());
    }
    return out;
}

std::string format_platform(const oci::Platform& p) {
    return p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
}

/// The manifest's media type: the registry's, or the body's own when the registry's is generic.
Result<std::string> manifest_media_type(const FetchedManifest& m, const image::Reference& ref) {
    std::string type = m.media_type;
    auto deprecated = [&] {
        return make_error(
            Errc::InvalidArgument,
            "Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has "
            "been removed. Suggest the author of {} to upgrade the image to the OCI Format or "
            "Docker Image manifest v2, schema 2. More information at "
            "https://docs.docker.com/go/deprecated-image-specs/",
            ref.string());
    };
    if (type == mt::kDockerSchema1Manifest || type == mt::kDockerSchema1SignedManifest)
        return deprecated();
    if (oci::is_manifest_media_type(type) || oci::is_index_media_type(type)) return type;
    auto detected = oci::detect_media_type(m.bytes);
    if (!detected && detected.error().code == Errc::Unsupported) return deprecated();
    if (!detected) return Unexpected(std::move(detected).error());
    return detected;
}

/// moby's wording for a manifest the registry does not give (docker-api.md §5.3 step 4), which
/// clients match: docker-py's ImageNotFound, compose's pull-on-missing. The registry's own
/// message follows after ": ".
Error manifest_error(Error e, const image::Reference& ref) {
    if (e.code == Errc::NotFound && e.msg.find("name unknown") == std::string::npos &&
        e.msg.find("NAME_UNKNOWN") == std::string::npos) {
        return Error{Errc::NotFound, 0,
                     fmt::format("manifest for {} not found: manifest unknown: {}",
                                 ref.familiar_string(), e.msg)};
    }
    if (e.code == Errc::NotFound || e.code == Errc::PermissionDenied) {
        return Error{Errc::NotFound, 0,
                     fmt::format("pull access denied for {}, repository does not exist or may "
                                 "require 'docker login': {}",
                                 ref.familiar_name(), e.msg)};
    }
    return e;
}

}  // namespace

Result<size_t> choose_platform_manifest(const oci::Index& index, std::string_view platform) {
    oci::Platform want = BERTH_TRY(parse_platform(platform));
    auto wanted = platform_vector(want);
    std::optional<size_t> best;
    size_t best_rank = 0;
    for (size_t i = 0; i < index.manifests.size(); ++i) {
        const auto& d = index.manifests[i];
        size_t rank = wanted.size();  // no platform: matches anything, ranked last
        if (d.platform) {
            if (d.platform->os == "unknown" && d.platform->architecture == "unknown") continue;
            auto it = d.annotations.find("vnd.docker.reference.type");
            if (it != d.annotations.end() && it->second == "attestation-manifest") continue;
            oci::Platform have = oci::normalize_platform(*d.platform);
            auto match = std::find_if(wanted.begin(), wanted.end(), [&](const oci::Platform& w) {
                return w.os == have.os && w.architecture == have.architecture &&
                       w.variant == have.variant;
            });
            if (match == wanted.end()) continue;
            rank = static_cast<size_t>(match - wanted.begin());
        }
        if (!best || rank < best_rank) {
            best = i;
            best_rank = rank;
        }
    }
    if (!best)
        return make_error(Errc::NotFound,
                          "no matching manifest for {} in the manifest list entries",
                          format_platform(want));
    return *best;
}

Result<PullResult> pull(image::ImageService& images, Repository& repo, const image::Reference& ref,
                        const PullOptions& opts) {
    Reporter report(opts.progress);
    const std::string where = repo_name(repo);
    const image::Reference named = ref.name_only() ? ref.with_default_tag() : ref;
    const std::string tag_or_digest =
        named.digest() ? named.digest()->string() : named.tag().value_or("latest");
    // Check the platform before any request.
    if (!opts.platform.empty()) BERTH_TRY(parse_platform(opts.platform));

    // Manifest (through an index when there is one). Nothing is reported before it is there,
    // so that a missing one is a plain HTTP error for the API (docker-api.md §3.3).
    auto fetched = repo.get_manifest(tag_or_digest);
    if (!fetched) return Unexpected(manifest_error(std::move(fetched).error(), named));
    FetchedManifest top = std::move(*fetched);
    BERTH_TRY(check_manifest_digest(repo, top, named.digest()));
    std::string type = BERTH_TRY_CTX(manifest_media_type(top, named), "{}: manifest {}", where,
                                     top.digest.string());
    report.send(tag_or_digest, "Pulling from " + repo.name());
    FetchedManifest image_manifest = top;
    if (oci::is_index_media_type(type)) {
        oci::Index index =
            BERTH_TRY_CTX(oci::parse_index(top.bytes), "{}: index {}", where, top.digest.string());
        size_t pick = BERTH_TRY(choose_platform_manifest(index, opts.platform));
        const oci::Descriptor& entry = index.manifests[pick];
        image_manifest = BERTH_TRY(repo.get_manifest(entry.digest.string()));
        BERTH_TRY(check_manifest_digest(repo, image_manifest, entry.digest));
        type = BERTH_TRY_CTX(manifest_media_type(image_manifest, named), "{}: manifest {}", where,
                             entry.digest.string());
        if (!oci::is_manifest_media_type(type))
            return make_error(Errc::InvalidArgument,
                              "{}: index {}: entry {} is a {}, not an image manifest", where,
                              top.digest.string(), entry.digest.string(), type);
    }
    oci::Manifest manifest =
        BERTH_TRY_CTX(oci::parse_manifest(image_manifest.bytes), "{}: manifest {}", where,
                      image_manifest.digest.string());
    for (const auto& l : manifest.layers) {
        if (!oci::is_layer_media_type(l.media_type))
            return make_error(Errc::InvalidArgument, "{}: manifest {}: layer {} has media type {}",
                              where, image_manifest.digest.string(), l.digest.string(),
                              l.media_type);
    }

    // Config.
    if (manifest.config.size > kMaxConfigSize || manifest.config.size < 0)
        return make_error(Errc::InvalidArgument, "{}: config {}: size {} is not a config's", where,
                          manifest.config.digest.string(), manifest.config.size);
    std::string raw_config;
    BERTH_TRY(repo.fetch_blob(
        manifest.config.digest, manifest.config.size, [&](std::string_view c) -> Result<void> {
            if (raw_config.size() + c.size() > static_cast<size_t>(kMaxConfigSize))
                return make_error(Errc::InvalidArgument, "{}: config {}: more than {} bytes", where,
                                  manifest.config.digest.string(), kMaxConfigSize);
            raw_config.append(c);
            return {};
        }));
    {
        Hasher h(manifest.config.digest.algorithm());
        h.update(raw_config);
        Digest got = h.finish();
        if (got != manifest.config.digest)
            return make_error(Errc::InvalidArgument,
                              "{}: config {}: digest mismatch: content has {}", where,
                              manifest.config.digest.string(), got.string());
    }
    oci::ImageConfig config = BERTH_TRY_CTX(oci::parse_image_config(raw_config), "{}: config {}",
                                            where, manifest.config.digest.string());
    if (config.rootfs.diff_ids.size() != manifest.layers.size())
        return make_error(Errc::InvalidArgument,
                          "{}: manifest {}: {} layers but its config {} has {} diff IDs", where,
                          image_manifest.digest.string(), manifest.layers.size(),
                          manifest.config.digest.string(), config.rootfs.diff_ids.size());

    // Layers: the ones in the store are held at once; the rest are downloaded.
    const size_t n = manifest.layers.size();
    std::vector<std::optional<Digest>> chain(n);  // held layers' chain IDs
    std::vector<bool> created(n, false);
    // Runs on success too: it drops the pull's references (created[] is cleared by then).
    ScopeExit rollback([&] {
        for (size_t i = n; i-- > 0;) {
            if (!chain[i]) continue;
            if (auto r = images.release_layer(*chain[i], created[i]); !r)
                BLOG_WARN("pull {}: release layer {}: {}", where, chain[i]->string(),
                          r.error().what());
        }
    });
    Downloads all;
    all.report = &report;
    std::optional<Digest> parent;
    size_t first_missing = n;
    // moby (pull_v2.go) says nothing about the layers of an image it already has (same config,
    // another name): only the Digest and Status lines.
    const bool image_present = images.get(manifest.config.digest.string()).has_value();
    for (size_t i = 0; i < n; ++i) {
        const Digest& diff_id = config.rootfs.diff_ids[i];
        if (first_missing == n) {
            auto held = images.hold_layer(parent, diff_id);
            if (held) {
                chain[i] = held->chain_id;
                parent = held->chain_id;
                if (!image_present)
                    report.send(short_id(manifest.layers[i].digest), "Already exists");
                continue;
            }
            if (held.error().code != Errc::NotFound)
                return Unexpected(std::move(held).error().wrap("pull {}", where));
            first_missing = i;
        }
        auto d = std::make_unique<Download>();
        d->layer = i;
        d->desc = manifest.layers[i];
        d->diff_id = diff_id;
        d->id = short_id(d->desc.digest);
        report.send(d->id, "Pulling fs layer");
        all.jobs.push_back(std::move(d));
    }
    const size_t workers = std::min<size_t>(
        all.jobs.size(), static_cast<size_t>(std::max(1, opts.max_concurrent_downloads)));
    for (size_t j = workers; j < all.jobs.size(); ++j) report.send(all.jobs[j]->id, "Waiting");

    std::optional<image::StagingDir> staging;
    std::vector<std::thread> threads;
    ScopeExit join([&] {
        all.cancelled = true;
        for (auto& t : threads) t.join();
    });
    if (!all.jobs.empty()) {
        staging.emplace(BERTH_TRY_CTX(images.make_staging_dir("pull"), "pull {}", where));
        all.staging = &staging->path();
        std::vector<std::unique_ptr<Repository>> clones;
        for (size_t w = 0; w < workers; ++w) clones.push_back(BERTH_TRY(repo.clone()));
        for (size_t w = 0; w < workers; ++w)
            threads.emplace_back([&all, r = std::shared_ptr<Repository>(std::move(clones[w]))] {
                run_worker(all, r.get());
            });
    }

    // Unpack in order.
    auto failure = [&](Error e) -> Unexpected {
        all.fail(e);
        std::lock_guard lk(all.err_mu);
        return Unexpected(*all.first_error);
    };
    for (auto& dp : all.jobs) {
        Download& d = *dp;
        UniqueFd reader;
        {
            std::lock_guard lk(d.mu);
            if (!d.finished) {
                int sv[2];
                if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                    return failure(sys_error(errno, "pull {}: socketpair", where).value());
                reader.reset(sv[0]);
                d.direct.reset(sv[1]);
                int sz = kSocketBuffer;
                (void)::setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
                (void)::setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
                d.attach = true;
            }
        }
        auto apply = [&]() -> Result<image::HeldLayer> {
            if (reader) {
                auto r = images.apply_and_hold_layer(parent, reader.get(), d.diff_id);
                reader.reset();  // a download still sending stops with EPIPE
                return r;
            }
            if (d.error) return Unexpected(*d.error);
            report.send(d.id, "Extracting", 0, d.desc.size);
            if (::lseek(d.spill.get(), 0, SEEK_SET) < 0)
                return sys_error(errno, "pull {}: rewind {}", where, d.spill_path);
            auto r = images.apply_and_hold_layer(parent, d.spill.get(), d.diff_id);
            d.spill.reset();
            (void)::unlink(d.spill_path.c_str());
            return r;
        };
        auto applied = apply();
        if (applied) {
            chain[d.layer] = applied->info.chain_id;
            created[d.layer] = applied->created;
        }
        {
            std::unique_lock lk(d.mu);
            d.cv.wait(lk, [&] { return d.finished; });
        }
        if (d.error && !d.consumer_gone) return failure(*d.error);
        if (!applied)
            return failure(
                std::move(applied).error().wrap("{}: layer {}", where, d.desc.digest.string()));
        if (d.error) return failure(*d.error);
        parent = applied->info.chain_id;
        report.send(d.id, "Extracting", d.desc.size, d.desc.size);
        report.send(d.id, "Pull complete");
    }
    for (auto& t : threads) t.join();
    threads.clear();

    // Commit.
    image::PulledImageSpec spec;
    spec.raw_config = std::move(raw_config);
    spec.raw_manifest = image_manifest.bytes;
    for (size_t i = 0; i < n; ++i) spec.chain_ids.push_back(*chain[i]);
    if (!named.digest()) spec.tag = named;
    spec.repo_digest = named.name_reference().with_digest(top.digest);
    image::PulledImage done = BERTH_TRY_CTX(images.commit_pulled_image(spec), "pull {}", where);

    std::vector<store::LayerBlobRecord> blobs;
    for (size_t i = 0; i < n; ++i) {
        const auto& l = manifest.layers[i];
        blobs.push_back({config.rootfs.diff_ids[i], l.digest, l.media_type, l.size, repo.registry(),
                         repo.name()});
    }
    if (auto r = images.record_layer_blobs(blobs); !r)
        BLOG_WARN("pull {}: remember layer blobs: {}", where, r.error().what());
    // The image holds its layers now: the rollback only drops the pull's own references.
    std::fill(created.begin(), created.end(), false);

    PullResult res{std::move(done.image), top.digest, {}, done.updated};
    res.reference = named.familiar_string();
    report.send("", "Digest: " + top.digest.string());
    report.send("", std::string(res.updated ? "Status: Downloaded newer image for "
                                            : "Status: Image is up to date for ") +
                        res.reference);
    return res;
}

}  // namespace berth::registry
