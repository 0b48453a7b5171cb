#pragma once
// The distribution spec's endpoints over the content store and RepoStore: routing of
// /v2/<name>/..., blobs, uploads, manifests, tags, referrers, catalog, and Basic auth.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "berth/store/content_store.hpp"
#include "htpasswd.hpp"
#include "http.hpp"
#include "repo_store.hpp"

namespace berth::registry::server {

struct RegistryConfig {
    std::chrono::seconds upload_expiry{3600};
    size_t max_manifest_size = 4 << 20;
};

/// One upload session: a ContentWriter in the content store's ingest, used by one request at a
/// time (its mutex), removed by PUT, DELETE, a digest mismatch or the reaper.
struct Upload {
    std::mutex mu;
    std::string repo;
    std::optional<store::ContentWriter> writer;
    std::string algorithm;  ///< the writer's digest algorithm
    std::chrono::steady_clock::time_point last_used;
    bool gone = false;  ///< set under mu when the session is removed
};

class Registry {
public:
    Registry(store::ContentStore store, std::optional<Htpasswd> auth, RegistryConfig cfg);

    /// Answers one request (never throws for expected failures: they become spec errors).
    HttpResponse handle(HttpRequest& req);

    /// Removes upload sessions idle longer than the expiry and stale ingest files; returns how
    /// many sessions were removed.
    size_t reap();

private:
    HttpResponse route(HttpRequest& req);
    HttpResponse catalog(HttpRequest& req);
    HttpResponse tags_list(HttpRequest& req, const std::string& name);
    HttpResponse blob_get(HttpRequest& req, const std::string& name, const std::string& dg);
    HttpResponse blob_delete(const std::string& name, const std::string& dg);
    HttpResponse upload_start(HttpRequest& req, const std::string& name);
    HttpResponse upload_op(HttpRequest& req, const std::string& name, const std::string& uuid);
    HttpResponse manifest_get(HttpRequest& req, const std::string& name, const std::string& ref);
    HttpResponse manifest_put(HttpRequest& req, const std::string& name, const std::string& ref);
    HttpResponse manifest_delete(const std::string& name, const std::string& ref);
    HttpResponse referrers(HttpRequest& req, const std::string& name, const std::string& dg);

    HttpResponse new_session(const std::string& name);
    HttpResponse upload_status(const std::string& name, const std::string& uuid, const Upload& up,
                               unsigned status);
    Result<uint64_t> stream_body(HttpRequest& req, store::ContentWriter& w);
    Result<void> link_blob(const std::string& name, const Digest& d);
    /// Commits `w` under `d` (records the blob as the registry's when it was new) and links it.
    Result<void> finish_blob(const std::string& name, store::ContentWriter w, const Digest& d);
    /// 201 with Location and Docker-Content-Digest of a blob now in `name`.
    HttpResponse blob_created(const std::string& name, const Digest& d);
    /// The answer to a failed finish_blob().
    HttpResponse finish_failed(const Error& e, const std::string& name, const Digest& d);
    void collect(const std::string& digest);
    HttpResponse internal(const Error& e, std::string_view what);

    store::ContentStore store_;
    std::optional<Htpasswd> auth_;
    RegistryConfig cfg_;
    RepoStore repos_;
    std::mutex gc_mu_;  ///< orders "commit + link" against "unlinked and owned -> remove"
    std::mutex uploads_mu_;
    std::map<std::string, std::shared_ptr<Upload>> uploads_;
    size_t max_uploads_ = 4096;
};

}  // namespace berth::registry::server
