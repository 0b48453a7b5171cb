#pragma once
// The JSON progress stream of pull, push, build, load and import (docker-api.md §3.3): one
// JSON object per line with status/id/progressDetail/progress, stream, aux, or
// errorDetail+error.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "berth/api/server/io.hpp"
#include "berth/common/result.hpp"

namespace berth::api {

/// What a backend reports while it works; the route turns it into JSON lines.
class ProgressSink {
public:
    virtual ~ProgressSink() = default;

    /// A status line: {"status": text[, "id": id]} ("Loading layer", "sha256:...").
    [[nodiscard]] virtual Result<void> status(std::string_view id, std::string_view text) = 0;

    /// A progress line for `id` ({"status": action, "progressDetail": {current, total},
    /// "progress": bar}). total <= 0 means unknown. Ignored in quiet mode.
    [[nodiscard]] virtual Result<void> progress(std::string_view id, std::string_view action,
                                                int64_t current, int64_t total) = 0;

    /// Text printed as is: {"stream": text} ("Loaded image: busybox:latest\n").
    [[nodiscard]] virtual Result<void> stream(std::string_view text) = 0;

    /// Machine data: {"aux": data} (build's {"ID": ...}, push's {"Tag","Digest","Size"}).
    [[nodiscard]] virtual Result<void> aux(const nlohmann::json& data) = 0;
};

/// moby's JSONProgress.String() for a server without terminal (width 200): a 50-character
/// bar and "current/total" ("[=====>     ]  1.2MB/2.4MB"); just the current size when the total
/// is unknown; "" when both are 0.
std::string progress_bar(int64_t current, int64_t total);

/// {"errorDetail":{"message":m},"error":m}: both, since the CLI and compose stop on errorDetail
/// and docker-py looks for error.
nlohmann::json error_line(std::string_view message);

/// A ProgressSink writing JSON lines to a Writer.
class JsonProgressWriter : public ProgressSink {
public:
    /// `out` is borrowed. With `quiet`, progress() lines are dropped (status/stream stay).
    explicit JsonProgressWriter(Writer& out, bool quiet = false) : out_(out), quiet_(quiet) {}

    [[nodiscard]] Result<void> status(std::string_view id, std::string_view text) override;
    [[nodiscard]] Result<void> progress(std::string_view id, std::string_view action,
                                        int64_t current, int64_t total) override;
    [[nodiscard]] Result<void> stream(std::string_view text) override;
    [[nodiscard]] Result<void> aux(const nlohmann::json& data) override;

    /// Writes an error line (see error_line()).
    [[nodiscard]] Result<void> error(std::string_view message);

    /// Writes any JSON object as one line.
    [[nodiscard]] Result<void> line(const nlohmann::json& j);

private:
    Writer& out_;
    bool quiet_;
};

}  // namespace berth::api
