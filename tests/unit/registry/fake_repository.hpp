#pragma once
// An in-memory registry for pull and push tests: repositories with blobs, manifests and tags in
// maps, behind the Repository interface. Knobs make it corrupt or cut blobs, deliver slowly,
// refuse mounts; counters record what was asked (requests by kind, downloads in flight).

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "berth/registry/repository.hpp"

namespace berth::registry::testing {

struct FakeRegistry {
    struct Repo {
        std::map<std::string, std::string> blobs;  // digest -> bytes
        std::map<std::string, std::pair<std::string, std::string>>
            manifests;                            // digest -> type, bytes
        std::map<std::string, std::string> tags;  // tag -> digest
    };

    std::string host = "127.0.0.1:5000";
    std::mutex mu;
    std::map<std::string, Repo> repos;

    // Knobs.
    std::set<std::string> corrupt_blobs;  ///< one byte flipped when served
    std::set<std::string> cut_blobs;      ///< fail (Unavailable) after half the bytes
    size_t chunk_size = 64 * 1024;
    std::chrono::microseconds chunk_delay{0};
    /// Called before each chunk of a blob is delivered: (digest, offset, total).
    std::function<void(const Digest&, uint64_t, uint64_t)> on_chunk;
    bool allow_mount = true;
    /// Media type reported with manifests; empty: the one stored.
    std::string manifest_type_override;

    // Counters.
    std::atomic<int> active_fetches{0};
    std::atomic<int> max_active_fetches{0};
    std::atomic<int> blob_uploads{0};
    std::atomic<int> mounts{0};
    std::vector<std::string> log;  ///< "GET blob <digest>", "HEAD blob ...", "PUT manifest <ref>"

    void note(std::string s) {
        std::lock_guard lk(mu);
        log.push_back(std::move(s));
    }
    size_t count(const std::string& prefix) {
        std::lock_guard lk(mu);
        size_t n = 0;
        for (auto& l : log) n += l.rfind(prefix, 0) == 0;
        return n;
    }

    Digest add_blob(const std::string& repo, const std::string& bytes) {
        Digest d = digest_of(bytes);
        std::lock_guard lk(mu);
        repos[repo].blobs[d.string()] = bytes;
        return d;
    }
    Digest add_manifest(const std::string& repo, const std::string& tag, const std::string& type,
                        const std::string& bytes) {
        Digest d = digest_of(bytes);
        std::lock_guard lk(mu);
        repos[repo].manifests[d.string()] = {type, bytes};
        if (!tag.empty()) repos[repo].tags[tag] = d.string();
        return d;
    }
};

class FakeRepository : public Repository {
public:
    FakeRepository(std::shared_ptr<FakeRegistry> reg, std::string name)
        : reg_(std::move(reg)), name_(std::move(name)) {}

    const std::string& registry() const override { return reg_->host; }
    const std::string& name() const override { return name_; }

    Result<std::unique_ptr<Repository>> clone() const override {
        return std::unique_ptr<Repository>(new FakeRepository(reg_, name_));
    }

    Result<FetchedManifest> get_manifest(std::string_view reference) override {
        reg_->note("GET manifest " + std::string(reference));
        std::lock_guard lk(reg_->mu);
        auto& r = reg_->repos[name_];
        std::string key(reference);
        if (auto t = r.tags.find(key); t != r.tags.end()) key = t->second;
        auto m = r.manifests.find(key);
        if (m == r.manifests.end())
            return make_error(Errc::NotFound, "{}/{}: manifest {}: manifest unknown", reg_->host,
                              name_, reference);
        std::string type =
            reg_->manifest_type_override.empty() ? m->second.first : reg_->manifest_type_override;
        return FetchedManifest{m->second.second, type, *Digest::parse(key)};
    }

    Result<std::optional<BlobStat>> stat_manifest(std::string_view reference) override {
        auto m = get_manifest(reference);
        if (!m) return std::optional<BlobStat>{};
        return std::optional<BlobStat>(
            BlobStat{m->digest, static_cast<int64_t>(m->bytes.size()), m->media_type});
    }

    Result<Digest> put_manifest(std::string_view reference, std::string_view media_type,
                                std::string_view bytes) override {
        reg_->note("PUT manifest " + std::string(reference));
        Digest d = digest_of(bytes);
        std::lock_guard lk(reg_->mu);
        auto& r = reg_->repos[name_];
        r.manifests[d.string()] = {std::string(media_type), std::string(bytes)};
        if (!Digest::parse(reference)) r.tags[std::string(reference)] = d.string();
        return d;
    }

    Result<std::optional<BlobStat>> stat_blob(const Digest& digest) override {
        reg_->note("HEAD blob " + digest.string());
        std::lock_guard lk(reg_->mu);
        auto& r = reg_->repos[name_];
        auto b = r.blobs.find(digest.string());
        if (b == r.blobs.end()) return std::optional<BlobStat>{};
        return std::optional<BlobStat>(
            BlobStat{digest, static_cast<int64_t>(b->second.size()), {}});
    }

    Result<void> fetch_blob(const Digest& digest, int64_t expected_size,
                            const ByteSink& sink) override {
        reg_->note("GET blob " + digest.string());
        std::string bytes;
        {
            std::lock_guard lk(reg_->mu);
            auto& r = reg_->repos[name_];
            auto b = r.blobs.find(digest.string());
            if (b == r.blobs.end())
                return make_error(Errc::NotFound, "{}/{}: blob {}: blob unknown", reg_->host, name_,
                                  digest.string());
            bytes = b->second;
            if (reg_->corrupt_blobs.count(digest.string()) && !bytes.empty())
                bytes[bytes.size() / 2] ^= 0x55;
        }
        if (expected_size >= 0 && static_cast<int64_t>(bytes.size()) != expected_size)
            return make_error(Errc::InvalidArgument, "{}/{}: blob {}: size {} != {}", reg_->host,
                              name_, digest.string(), bytes.size(), expected_size);
        int now = ++reg_->active_fetches;
        int prev = reg_->max_active_fetches.load();
        while (now > prev && !reg_->max_active_fetches.compare_exchange_weak(prev, now)) {
        }
        struct Dec {
            std::atomic<int>& a;
            ~Dec() { --a; }
        } dec{reg_->active_fetches};
        bool cut = reg_->cut_blobs.count(digest.string()) > 0;
        size_t off = 0;
        while (off < bytes.size()) {
            if (cut && off >= bytes.size() / 2)
                return make_error(Errc::Unavailable, "{}/{}: blob {}: connection reset", reg_->host,
                                  name_, digest.string());
            if (reg_->on_chunk) reg_->on_chunk(digest, off, bytes.size());
            if (reg_->chunk_delay.count() > 0) std::this_thread::sleep_for(reg_->chunk_delay);
            size_t n = std::min(reg_->chunk_size, bytes.size() - off);
            if (auto r = sink(std::string_view(bytes).substr(off, n)); !r) return r;
            off += n;
        }
        return {};
    }

    Result<bool> mount_blob(const Digest& digest, std::string_view from) override {
        reg_->note("MOUNT blob " + digest.string() + " from " + std::string(from));
        std::lock_guard lk(reg_->mu);
        if (!reg_->allow_mount) return false;
        auto& src = reg_->repos[std::string(from)];
        auto b = src.blobs.find(digest.string());
        if (b == src.blobs.end()) return false;
        reg_->repos[name_].blobs[digest.string()] = b->second;
        ++reg_->mounts;
        return true;
    }

    Result<void> push_blob(const Digest& digest, int64_t size, const ByteSource& source) override {
        reg_->note("PUT blob " + digest.string());
        std::string bytes = BERTH_TRY(drain(source));
        if (static_cast<int64_t>(bytes.size()) != size || digest_of(bytes) != digest)
            return make_error(Errc::InvalidArgument, "{}/{}: blob {}: upload does not match",
                              reg_->host, name_, digest.string());
        std::lock_guard lk(reg_->mu);
        reg_->repos[name_].blobs[digest.string()] = std::move(bytes);
        return {};
    }

    Result<BlobStat> push_blob_streaming(const ByteSource& source,
                                         const std::function<Digest()>& digest_at_end) override {
        std::string bytes = BERTH_TRY(drain(source));
        Digest d = digest_at_end();
        reg_->note("PUT blob " + d.string());
        if (digest_of(bytes) != d)
            return make_error(Errc::InvalidArgument, "{}/{}: blob {}: digest mismatch", reg_->host,
                              name_, d.string());
        ++reg_->blob_uploads;
        std::lock_guard lk(reg_->mu);
        int64_t size = static_cast<int64_t>(bytes.size());
        reg_->repos[name_].blobs[d.string()] = std::move(bytes);
        return BlobStat{d, size, {}};
    }

    Result<std::vector<std::string>> tags() override {
        std::lock_guard lk(reg_->mu);
        std::vector<std::string> out;
        for (auto& [t, d] : reg_->repos[name_].tags) out.push_back(t);
        return out;
    }

private:
    static Result<std::string> drain(const ByteSource& source) {
        std::string out;
        std::string buf(100 * 1024, '\0');
        for (;;) {
            size_t n = BERTH_TRY(source(buf.data(), buf.size()));
            if (n == 0) return out;
            out.append(buf.data(), n);
        }
    }

    std::shared_ptr<FakeRegistry> reg_;
    std::string name_;
};

}  // namespace berth::registry::testing
