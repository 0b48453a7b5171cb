#pragma once
// Helpers shared by pull.cpp and push.cpp (private to registry_transfer).

#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "berth/common/digest.hpp"
#include "berth/common/result.hpp"
#include "berth/image/image_service.hpp"
#include "berth/registry/repository.hpp"

namespace berth::registry {

/// "<registry>/<repository>", how errors and push's first line name a repository.
inline std::string repo_name(const Repository& repo) {
    return repo.registry() + "/" + repo.name();
}

/// moby's stringid.TruncateID: the first 12 hex characters of a digest.
inline std::string short_id(const Digest& d) {
    return d.hex().substr(0, 12);
}

/// Serialises progress messages from several threads into the caller's callback.
class Reporter {
public:
    explicit Reporter(image::ProgressFn fn) : fn_(std::move(fn)) {}
    void send(std::string id, std::string status, int64_t current = -1, int64_t total = -1) {
        if (!fn_) return;
        std::lock_guard lk(mu_);
        fn_(image::Progress{std::move(id), std::move(status), current, total});
    }

private:
    image::ProgressFn fn_;
    std::mutex mu_;
};

/// Checks a fetched manifest's bytes against the digest it came with and, when the reference
/// was a digest, against that one. InvalidArgument naming the registry, repository and digest.
inline Result<void> check_manifest_digest(const Repository& repo, const FetchedManifest& m,
                                          const std::optional<Digest>& expected) {
    for (const Digest* want : {&m.digest, expected ? &*expected : nullptr}) {
        if (!want) continue;
        Hasher h(want->algorithm());
        h.update(m.bytes);
        Digest got = h.finish();
        if (got != *want)
            return make_error(Errc::InvalidArgument,
                              "{}: manifest {}: digest mismatch: content has {}", repo_name(repo),
                              want->string(), got.string());
    }
    return {};
}

}  // namespace berth::registry
