#pragma once
// What the API routes need from the engine, one interface per router as in moby
// (api/server/router/*/backend.go). The routes see only these; the daemon implements them in
// engine_backend.cpp, the tests with fakes. Every method may be called from several
// connection threads at once. Errors are berth::Error; their Errc decides the HTTP status
// (http_status.hpp), their message is shown to the user ("No such image: busybox:latest").

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <functional>
#include <string>
#include <vector>

#include "berth/api/server/filters.hpp"
#include "berth/api/server/io.hpp"
#include "berth/api/server/progress.hpp"
#include "berth/api/types/events.hpp"
#include "berth/api/types/image.hpp"
#include "berth/api/types/registry.hpp"
#include "berth/api/types/system.hpp"
#include "berth/common/result.hpp"

namespace berth::api {

/// A live view of the event log for one /events client.
class EventSubscription {
public:
    virtual ~EventSubscription() = default;

    enum class Wait { Event, Timeout, Ended };

    /// Waits up to `timeout` for the next event. First come the buffered events at or after
    /// `since` (oldest first), then live ones. Returns Event (with `out` set), Timeout, or
    /// Ended when the backend will send no more (shutdown). The route stops by itself at
    /// `until`, on client disconnect and on server stop, checking between calls, so keep the
    /// wait short enough for that (the route passes at most 500 ms).
    [[nodiscard]] virtual Wait next(std::chrono::milliseconds timeout,
                                    types::EventMessage& out) = 0;
};

/// What /events asks for. The route applies `filters` and `until` itself (event_filter.hpp),
/// so a backend may ignore them; it must honour `since` (replay from its ring buffer).
struct EventQuery {
    std::optional<int64_t> since_ns;  ///< replay buffered events at or after this time
    std::optional<int64_t> until_ns;  ///< stop after this time
    Filters filters;
};

/// /info, /version, /system/df, /events, /berth/system/check.
class SystemBackend {
public:
    virtual ~SystemBackend() = default;

    /// GET /version. api_version/min_api_version may be left empty (the route fills them).
    [[nodiscard]] virtual Result<types::Version> version() = 0;

    /// GET /info. server_version may be left empty (the route fills it).
    [[nodiscard]] virtual Result<types::Info> info() = 0;

    /// GET /system/df: the parts in `parts` (others may be left empty).
    [[nodiscard]] virtual Result<types::DiskUsage> disk_usage(
        const types::DiskUsageOptions& parts) = 0;

    /// GET /events: a subscription that first replays buffered events since q.since_ns.
    [[nodiscard]] virtual Result<std::unique_ptr<EventSubscription>> subscribe_events(
        const EventQuery& q) = 0;

    /// POST /berth/system/check?repair=0|1: checks the stores (blobs, layers, metadata) and,
    /// with `repair`, fixes what it can.
    [[nodiscard]] virtual Result<types::SystemCheckReport> system_check(bool repair) = 0;
};

/// Parameters of POST /images/create?fromSrc=- (import a rootfs tar as a one-layer image).
struct ImportParams {
    std::string from_src;              ///< "-" (the request body); URLs are refused by the route
    std::string repo;                  ///< "" (untagged) or a repository, possibly with ":tag"
    std::string tag;                   ///< "" or a tag
    std::string message;               ///< the history comment
    std::vector<std::string> changes;  ///< Dockerfile instructions: "CMD ["sh"]", "ENV A=1"
    std::string platform;              ///< "" or "os[/arch[/variant]]"
};

/// GET /images/json options.
struct ImageListOptions {
    bool all = false;  ///< include intermediate images
    Filters filters;   ///< validated: dangling, label, before, since, reference, until
    bool shared_size = false;
    bool digests = false;
};

/// POST /images/create?fromImage=: what to pull. The route splits the reference syntactically
/// and applies the `tag` parameter (moby: a tag that parses as a digest is a digest); the
/// backend normalizes and validates the name (InvalidArgument "invalid reference format").
struct PullParams {
    std::string name;      ///< the repository as sent: "docker.io/library/busybox", "busybox"
    std::string tag;       ///< "latest"; "" when `digest` is set or for all tags
    std::string digest;    ///< "sha256:<hex>" or ""
    std::string platform;  ///< "" (the host's) or "os[/arch[/variant]]", lowercase
    types::AuthConfig auth;  ///< from X-Registry-Auth; empty when absent or undecodable
    /// True if neither tag nor digest was given: every tag (`docker pull -a`). A backend may
    /// refuse it with Unsupported.
    [[nodiscard]] bool all_tags() const noexcept { return tag.empty() && digest.empty(); }
};

/// What a pull did, for the stream's last lines, which the route writes.
struct PullResult {
    std::string digest;       ///< the top-level manifest (or index) digest: "Digest: <this>"
    bool downloaded = false;  ///< "Downloaded newer image for" vs "Image is up to date for"
};

/// POST /images/{name}/push?tag=: what to push.
struct PushParams {
    std::string name;        ///< the repository as sent: "localhost:5000/a/b", "busybox"
    std::string tag;         ///< "" for every tag of the repository (`docker push -a`)
    std::string platform;    ///< "" or the JSON platform object of API >= 1.46 (unused at 1.44)
    types::AuthConfig auth;  ///< from X-Registry-Auth (or the body, moby's old form)
};

/// The image routes.
class ImageBackend {
public:
    virtual ~ImageBackend() = default;

    /// GET /images/json. Errors: InvalidArgument for a bad filter value.
    [[nodiscard]] virtual Result<std::vector<types::ImageSummary>> list(
        const ImageListOptions& opts) = 0;

    /// GET /images/{name}/json. `name`: name[:tag], name@digest, sha256:<id>, short ID.
    /// Errors: NotFound "No such image: <name>".
    [[nodiscard]] virtual Result<types::ImageInspect> inspect(const std::string& name) = 0;

    /// GET /images/{name}/history, newest first. Errors: NotFound.
    [[nodiscard]] virtual Result<std::vector<types::HistoryItem>> history(
        const std::string& name) = 0;

    /// POST /images/{name}/tag?repo=&tag=: `repo` is e.g. "docker.io/library/b" or "b";
    /// `tag` may be "" (latest). Errors: NotFound, InvalidArgument (bad reference).
    [[nodiscard]] virtual Result<void> tag(const std::string& name, const std::string& repo,
                                           const std::string& tag) = 0;

    /// DELETE /images/{name}?force=&noprune=. Errors: NotFound, Conflict (moby's wording:
    /// "conflict: unable to delete <12hex> (must be forced) - ...").
    [[nodiscard]] virtual Result<std::vector<types::DeleteResponse>> remove(const std::string& name,
                                                                            bool force,
                                                                            bool noprune) = 0;

    /// POST /images/prune. `filters` validated: dangling, label, label!, until.
    [[nodiscard]] virtual Result<types::ImagesPruneReport> prune(const Filters& filters) = 0;

    /// POST /images/create?fromSrc=-: reads the layer tar from `body` (maybe compressed),
    /// creates the image and tags it. Progress goes to `progress` (may be nothing). Returns
    /// the new image ID ("sha256:..."); the route writes the final {"status": id} line.
    /// Errors: InvalidArgument (bad repo/tag/changes/tar), or what the stores say.
    [[nodiscard]] virtual Result<std::string> import(BodyReader& body, const ImportParams& params,
                                                     ProgressSink& progress) = 0;

    /// Where a save goes: called once, with the tarball's exact size, before its first byte;
    /// returns the descriptor to write exactly that many bytes to.
    using SaveTarget = std::function<Result<int>(uint64_t size)>;

    /// GET /images/get?names=...: writes a docker-archive tar of `names` to the descriptor
    /// `target` gives. `target` is called only once all names are resolved, so that NotFound
    /// still becomes a 404. Errors: NotFound, target's, or a write's (client gone: stop).
    [[nodiscard]] virtual Result<void> save(const std::vector<std::string>& names,
                                            const SaveTarget& target) = 0;

    /// POST /images/load?quiet=: reads a docker-archive (or OCI layout) tar from `body` and
    /// reports "Loaded image: <name>\n" / "Loaded image ID: sha256:...\n" through
    /// progress.stream(). Errors: InvalidArgument for a bad archive.
    [[nodiscard]] virtual Result<void> load(BodyReader& body, bool quiet,
                                            ProgressSink& progress) = 0;

    // The registry methods have defaults (Unsupported) so that backends without registry
    // support (the route tests' fakes) need not implement them.

    /// POST /images/create?fromImage=: pulls from the registry. The backend reports through
    /// `progress` moby's lines: {"status":"Pulling from library/busybox","id":"latest"} once the
    /// manifest is known, then per layer "Pulling fs layer", "Waiting", "Downloading" with
    /// progress, "Verifying Checksum", "Download complete", "Extracting", "Pull complete" or
    /// "Already exists". The route then writes "Digest: <digest>" and "Status: ..." from the
    /// result. Errors before the first progress line become HTTP errors, so keep moby's
    /// wording and category there: NotFound "pull access denied for <familiar name>, repository
    /// does not exist or may require 'docker login'" (also for denied/unauthorized), NotFound
    /// "manifest for <familiar ref> not found: manifest unknown", InvalidArgument for a bad
    /// reference or platform, Unsupported for all tags if not implemented; later errors end the
    /// stream as an errorDetail line.
    [[nodiscard]] virtual Result<PullResult> pull(const PullParams& params,
                                                  ProgressSink& progress);

    /// POST /images/{name}/push: pushes the tag (or every tag). The backend reports "The push
    /// refers to repository [docker.io/library/x]" (status without id) first, then per layer
    /// "Preparing", "Waiting", "Pushing" with progress, "Pushed", "Layer already exists" or
    /// "Mounted from <repo>". It returns one record per pushed tag; the route writes for each
    /// "<tag>: digest: <digest> size: <size>" and the aux line {"Tag","Digest","Size"}.
    /// Errors: NotFound "An image does not exist locally with the tag: <familiar name>"
    /// (before any output: HTTP 404), InvalidArgument for a bad name, others after output.
    [[nodiscard]] virtual Result<std::vector<types::PushResult>> push(const PushParams& params,
                                                                      ProgressSink& progress);

    /// POST /auth: checks the credentials against auth.server_address ("" or
    /// "https://index.docker.io/v1/" mean Docker Hub) the way a pull would (GET /v2/ and the
    /// token flow, asking for a refresh token). Errors: PermissionDenied with the registry's
    /// text, which the route answers with 401 (moby: "Get \"https://host/v2/\": unauthorized:
    /// incorrect username or password"); Unavailable when the registry can't be reached.
    [[nodiscard]] virtual Result<types::AuthResponse> auth(const types::AuthConfig& auth);
};

}  // namespace berth::api
