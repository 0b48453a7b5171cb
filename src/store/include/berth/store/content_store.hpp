#pragma once
// The content store: immutable blobs addressed by digest (containerd's local content store).
//
// Layout under the store's root:
//   <root>/content/sha256/<hex>   committed blobs, mode 0444, content always matches the name
//   <root>/content/sha512/<hex>   the same for sha512 digests (only blobs pushed to a registry)
//   <root>/content-holds/<holder>/<alg>/<hex>
//                                 empty files: another user of a shared store (the registry
//                                 server inside berthd, holder "registry") still references the
//                                 blob, so remove() leaves it in place
//   <root>/ingest/<random>        blobs being written; never visible under a digest
//
// A blob reaches its digest path only through ContentWriter::commit(): the bytes are hashed as
// they are written, size and digest are checked against what the caller expected, the file is
// fsynced, renamed into place, and the directory is fsynced (CONVENTIONS.md principle 7;
// containerd plugins/content/local/writer.go). A crash at any point leaves either no blob or a
// complete one, plus at worst a stray ingest file that the next open() (or check(true)) removes.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/digest.hpp"
#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"

namespace berth::store {

/// What the store knows about one committed blob.
struct ContentInfo {
    Digest digest;
    uint64_t size = 0;
    std::time_t created = 0;  ///< mtime of the blob file (set when it was written)
};

/// Result of ContentStore::check().
struct CheckReport {
    std::vector<Digest> corrupt;             ///< blobs whose content does not match their name
    std::vector<std::string> stray;  ///< entries of content/sha256 ("sha512/<name>" for
                                     ///< content/sha512) that are no digest
    std::vector<std::string> stale_ingests;  ///< ingest files older than the stale age
    bool repaired = false;                   ///< true if the above were removed
    [[nodiscard]] bool clean() const noexcept {
        return corrupt.empty() && stray.empty() && stale_ingests.empty();
    }
};

struct ContentStoreOptions {
    /// Ingest files not modified for this long are abandoned writes; open() removes them.
    /// Zero removes every ingest file (only safe when no other process writes to the store).
    std::chrono::seconds stale_ingest_age = std::chrono::hours(24);
};

/// Test seam: called with the name of each commit step right after it is done: "written"
/// (all data written, nothing synced), "synced" (file fsynced), "renamed" (blob visible under
/// its digest), "dir-synced". Crash tests kill the process from inside the hook.
using CommitStepHook = std::function<void(std::string_view step)>;

/// One blob being written. Move-only; obtained from ContentStore::writer(). Destroying it
/// without commit() aborts (removes the ingest file).
class ContentWriter {
public:
    ContentWriter(ContentWriter&&) noexcept = default;
    ContentWriter& operator=(ContentWriter&&) noexcept;
    ContentWriter(const ContentWriter&) = delete;
    ContentWriter& operator=(const ContentWriter&) = delete;
    ~ContentWriter();

    /// Appends bytes to the ingest file and to the running hash. Errors are the write's
    /// (e.g. Unavailable for ENOSPC); InvalidArgument after commit/abort.
    [[nodiscard]] Result<void> write(std::string_view data);

    /// Bytes written so far.
    [[nodiscard]] uint64_t offset() const noexcept { return hasher_.size(); }

    /// Verifies, syncs and publishes the blob under `expected`. InvalidArgument if the size
    /// or digest differs ("commit: expected sha256:..., got sha256:...", the ingest is removed).
    /// A blob that already exists is success: the ingest is removed and the existing blob kept.
    /// The writer is spent afterwards either way.
    [[nodiscard]] Result<ContentInfo> commit(const Digest& expected,
                                             std::optional<uint64_t> expected_size = {});

    /// Same as commit(), for callers that learn the digest from the data (e.g. `save`):
    /// the blob is published under the digest of what was written.
    [[nodiscard]] Result<ContentInfo> commit_computed();

    /// Removes the ingest file. Idempotent.
    void abort() noexcept;

    /// Path of the ingest file (for tests and error messages).
    [[nodiscard]] const std::string& ingest_path() const noexcept { return ingest_path_; }

    /// Installs the crash-test hook (see CommitStepHook).
    void set_step_hook(CommitStepHook hook) { hook_ = std::move(hook); }

private:
    friend class ContentStore;
    ContentWriter(std::string root, std::string ingest_path, UniqueFd fd,
                  std::string_view algorithm)
        : root_(std::move(root)),
          ingest_path_(std::move(ingest_path)),
          fd_(std::move(fd)),
          hasher_(algorithm) {}
    Result<ContentInfo> commit_impl(std::optional<Digest> expected,
                                    std::optional<uint64_t> expected_size);
    void step(std::string_view name) {
        if (hook_) hook_(name);
    }

    std::string root_;
    std::string ingest_path_;
    UniqueFd fd_;
    Hasher hasher_;
    CommitStepHook hook_;
};

/// A content store rooted at a directory. Cheap to copy (holds only paths); methods are safe to
/// call from several processes at once, since every mutation is a rename or an unlink.
class ContentStore {
public:
    /// Opens (creating if needed) the store at `root` and removes stale ingest files.
    [[nodiscard]] static Result<ContentStore> open_root(std::string root,
                                                        ContentStoreOptions opts = {});

    /// Starts writing a new blob in ingest/, hashed with `algorithm` ("sha256" or "sha512";
    /// Unsupported otherwise): commit() then expects a digest of that algorithm.
    [[nodiscard]] Result<ContentWriter> writer(
        std::string_view algorithm = Digest::kSha256) const;

    /// Writes and commits a whole blob in one call; `expected` defaults to the data's digest.
    [[nodiscard]] Result<ContentInfo> put(std::string_view data,
                                          std::optional<Digest> expected = {}) const;

    /// Opens a committed blob for reading. NotFound if absent.
    [[nodiscard]] Result<UniqueFd> open(const Digest& d) const;

    /// Reads a whole committed blob into memory (for manifests and configs). NotFound if absent.
    [[nodiscard]] Result<std::string> read(const Digest& d) const;

    /// Re-hashes a blob. NotFound if absent; InvalidArgument if the content does not match.
    [[nodiscard]] Result<void> verify(const Digest& d) const;

    /// Size and creation time of a blob. NotFound if absent.
    [[nodiscard]] Result<ContentInfo> info(const Digest& d) const;

    /// True if a blob is committed under `d`.
    [[nodiscard]] bool exists(const Digest& d) const noexcept;

    /// Deletes a blob. NotFound if absent; Conflict ("content X is held by <holder>") if a
    /// holder still references it (see hold()), in which case nothing is deleted.
    [[nodiscard]] Result<void> remove(const Digest& d) const;

    /// Marks `d` as referenced by `holder` (a name such as "registry"), for stores shared by
    /// several users: the image service and a registry over the same root each delete only what
    /// nobody else holds. Idempotent; the blob need not exist yet.
    [[nodiscard]] Result<void> hold(const Digest& d, std::string_view holder) const;

    /// Drops `holder`'s mark on `d`. Idempotent.
    [[nodiscard]] Result<void> release(const Digest& d, std::string_view holder) const;

    /// True if any holder marks `d`.
    [[nodiscard]] bool held(const Digest& d) const noexcept;

    /// Every committed blob, sorted by digest. Entries that are no valid digest are skipped
    /// (check() reports them).
    [[nodiscard]] Result<std::vector<ContentInfo>> list() const;

    /// Removes ingest files last modified more than `older_than` ago; returns their names.
    [[nodiscard]] Result<std::vector<std::string>> cleanup_ingests(
        std::chrono::seconds older_than) const;

    /// fsck: re-hashes every blob and lists stale ingests (older than the store's stale age).
    /// With `repair`, removes corrupt blobs, stray entries and stale ingests.
    [[nodiscard]] Result<CheckReport> check(bool repair) const;

    /// Path a blob is (or would be) stored at.
    [[nodiscard]] std::string blob_path(const Digest& d) const;

    [[nodiscard]] const std::string& root() const noexcept { return root_; }

private:
    ContentStore(std::string root, ContentStoreOptions opts)
        : root_(std::move(root)), opts_(opts) {}
    Result<void> check_blob_dir(const std::string& dir, std::string_view algorithm, bool repair,
                                CheckReport& rep) const;
    /// The first holder marking `d` (hold()), if any.
    std::optional<std::string> holder_of(const Digest& d) const;
    std::string root_;
    ContentStoreOptions opts_;
};

}  // namespace berth::store
