#pragma once
// The registry's repository metadata under <data-root>/registry/:
//   repositories/<name>/_repo.json   tags, manifests (media type, size, subject, artifact type,
//                                    annotations) and the blobs linked to the repository
//   owned/<alg>/<hex>                empty marker: the registry wrote this blob to the content
//                                    store, so it may remove it when no repository links it
// Every file is replaced atomically (atomic_write_file), so a crash leaves the old or the new
// state. Components of repository names never start with '_', so "_repo.json" cannot collide
// with a nested repository ("a" and "a/b" both exist side by side).
//
// Thread-safe: one mutex guards the in-memory cache and the files.

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "berth/common/digest.hpp"
#include "berth/common/result.hpp"

namespace berth::registry::server {

/// What the registry remembers of one manifest in one repository.
struct ManifestMeta {
    std::string media_type;
    uint64_t size = 0;
    std::string subject;        ///< digest of `subject`, empty when none
    std::string artifact_type;  ///< artifactType, or the config's media type for manifests
    std::string annotations;    ///< the annotations object as JSON, empty when none
};

/// One repository's metadata.
struct RepoData {
    std::map<std::string, std::string> tags;        ///< tag -> manifest digest
    std::map<std::string, ManifestMeta> manifests;  ///< digest -> meta
    std::set<std::string> blobs;                    ///< linked blob digests
};

class RepoStore {
public:
    /// `dir` is <data-root>/registry (created on first write).
    explicit RepoStore(std::string dir) : dir_(std::move(dir)) {}

    /// The repository's metadata; nullopt when it does not exist.
    [[nodiscard]] Result<std::optional<RepoData>> get(const std::string& name);

    /// Applies `fn` to the repository's metadata (an empty one when it does not exist) and
    /// writes the result, all under the lock. `fn` returns false to write nothing.
    template <class Fn>
    [[nodiscard]] Result<void> update(const std::string& name, Fn&& fn) {
        std::lock_guard lk(mu_);
        RepoData* d = BERTH_TRY(load_locked(name));
        RepoData copy = d ? *d : RepoData{};
        if (!fn(copy)) return {};
        return save_locked(name, std::move(copy));
    }

    /// Names of every repository, sorted.
    [[nodiscard]] Result<std::vector<std::string>> list();

    /// True if any repository links `digest` as a blob or a manifest.
    [[nodiscard]] Result<bool> linked_anywhere(const std::string& digest);

    /// Records that the registry wrote `d` to the content store.
    [[nodiscard]] Result<void> mark_owned(const Digest& d);
    /// True if the registry wrote `d`.
    [[nodiscard]] bool owned(const Digest& d);
    /// Forgets the mark (after removing the blob).
    void unmark_owned(const Digest& d);

    /// <data-root>/registry.
    [[nodiscard]] const std::string& dir() const noexcept { return dir_; }

private:
    Result<RepoData*> load_locked(const std::string& name);
    Result<void> save_locked(const std::string& name, RepoData data);
    Result<void> scan_locked(const std::string& dir, const std::string& prefix,
                             std::vector<std::string>& out);
    std::string repo_file(const std::string& name) const;

    std::string dir_;
    std::mutex mu_;
    std::map<std::string, std::optional<RepoData>> cache_;
};

}  // namespace berth::registry::server
