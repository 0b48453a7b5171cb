#pragma once
// The registry server: the OCI distribution spec 1.1 (pull, push, content discovery, deletion,
// referrers) over Berth's content store, as `berth-registry serve` runs it standalone and berthd
// can run it inside the daemon, sharing the daemon's store.
//
// Storage under `data_root` (the server only touches these three directories, so the root may be
// the daemon's):
//   content/<alg>/<hex>   blobs and manifests (store::ContentStore); a blob is stored once
//                         whatever the number of repositories, and one the daemon already has
//                         is reused, not copied
//   ingest/               uploads in progress (ContentWriter)
//   registry/             repository metadata: repositories/<name>/_repo.json (tags, manifests,
//                         linked blobs), owned/<alg>/<hex> (blobs the registry itself wrote: only
//                         those are ever removed from the content store by a DELETE)
//
// Threads: one acceptor thread per listening address, one thread per connection, one reaper
// thread that cleans up abandoned uploads and closes idle keep-alive connections. stop() (or the
// destructor) ends them all. start() sets SIGPIPE to SIG_IGN if it was SIG_DFL (blobs go out with
// sendfile(2), which cannot suppress it per call).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "berth/common/result.hpp"

namespace berth::registry {

/// How to run a registry server.
struct ServerOptions {
    /// "host:port" addresses to listen on ("127.0.0.1:5000", "[::1]:5000", ":5000" for all
    /// addresses; port 0 picks a free port, see Server::addresses()).
    std::vector<std::string> listen;
    /// Root of the content store and of the registry's metadata.
    std::string data_root;
    /// Optional htpasswd file (bcrypt lines as `htpasswd -B` writes): every request then needs
    /// valid Basic credentials, else 401 with `WWW-Authenticate: Basic realm="berth-registry"`.
    std::string htpasswd_file;
    /// Optional TLS: PEM certificate chain and private key. Both or neither.
    std::string tls_cert;
    std::string tls_key;
    /// Upload sessions with no activity for this long are removed (their ingest file too).
    std::chrono::seconds upload_expiry{3600};
    /// How often the reaper looks for expired uploads (tests make it short).
    std::chrono::milliseconds reap_interval{60'000};
    /// Largest manifest body accepted (the spec suggests at least 4 MiB).
    size_t max_manifest_size = 4 << 20;
    /// Keep-alive connections idle this long are closed.
    std::chrono::seconds idle_timeout{120};
};

/// A running registry server. Create with start(); stopping is idempotent.
class Server {
public:
    /// Opens the store under options.data_root, loads the htpasswd file and TLS keys, binds every
    /// listen address and starts serving on background threads. InvalidArgument for bad options
    /// (unparsable address, unreadable htpasswd, bad TLS key); the bind's error (e.g.
    /// AlreadyExists for an address in use) otherwise.
    [[nodiscard]] static Result<std::unique_ptr<Server>> start(ServerOptions options);

    /// The bound addresses as "host:port" with the real port ("127.0.0.1:40123"), in the order
    /// of ServerOptions::listen.
    [[nodiscard]] std::vector<std::string> addresses() const;

    /// Runs the upload reaper once now (tests use it with a short upload_expiry): removes upload
    /// sessions idle longer than upload_expiry and stale ingest files. Returns how many sessions
    /// were removed.
    size_t reap_uploads();

    /// Stops accepting, closes every connection and joins all threads. Idempotent.
    void stop();

    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    struct Impl;

private:
    explicit Server(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace berth::registry
