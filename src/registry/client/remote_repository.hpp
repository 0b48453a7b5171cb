#pragma once
// The libcurl Repository (repository.hpp) returned by open_repository().

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/registry/repository.hpp"
#include "session.hpp"

namespace berth::registry::client {

/// One handle on <registry>/<name>: its own connection, the session shared with its clones.
class RemoteRepository final : public Repository {
public:
    /// `scopes` are the token scopes asked for ("repository:<name>:pull[,push]").
    RemoteRepository(std::shared_ptr<Session> session, std::string name,
                     std::vector<std::string> scopes);

    [[nodiscard]] const std::string& registry() const override;
    [[nodiscard]] const std::string& name() const override { return name_; }
    [[nodiscard]] Result<std::unique_ptr<Repository>> clone() const override;
    [[nodiscard]] Result<FetchedManifest> get_manifest(std::string_view reference) override;
    [[nodiscard]] Result<std::optional<BlobStat>> stat_manifest(
        std::string_view reference) override;
    [[nodiscard]] Result<Digest> put_manifest(std::string_view reference,
                                              std::string_view media_type,
                                              std::string_view bytes) override;
    [[nodiscard]] Result<std::optional<BlobStat>> stat_blob(const Digest& digest) override;
    [[nodiscard]] Result<void> fetch_blob(const Digest& digest, int64_t expected_size,
                                          const ByteSink& sink) override;
    [[nodiscard]] Result<bool> mount_blob(const Digest& digest,
                                          std::string_view from_repository) override;
    [[nodiscard]] Result<void> push_blob(const Digest& digest, int64_t size,
                                         const ByteSource& source) override;
    [[nodiscard]] Result<BlobStat> push_blob_streaming(
        const ByteSource& source, const std::function<Digest()>& digest_at_end) override;
    [[nodiscard]] Result<std::vector<std::string>> tags() override;

private:
    [[nodiscard]] std::string what(std::string_view object) const;
    [[nodiscard]] std::string path(std::string_view tail) const;
    // POST .../blobs/uploads/<query>: the session's absolute Location ("" when 201).
    [[nodiscard]] Result<std::string> start_upload(std::string_view query,
                                                   std::vector<std::string>& scopes, long* status);
    void cancel_upload(const std::string& location);
    [[nodiscard]] Result<std::string> patch_chunk(const std::string& location,
                                                  std::string_view bytes, uint64_t offset);
    [[nodiscard]] Result<void> finish_upload(const std::string& location, const Digest& digest,
                                             std::optional<std::string_view> body);

    Requester req_;
    std::string name_;
    std::vector<std::string> scopes_;
};

}  // namespace berth::registry::client
