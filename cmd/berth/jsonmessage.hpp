#pragma once
// The progress streams of pull, push, import, load and build printed as docker's
// jsonmessage.DisplayJSONMessagesStream prints them: on a terminal one line per id, redrawn in
// place with cursor movements and bars sized to the terminal; otherwise no progress updates,
// each status printed once ("<id>: Pull complete").

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "berth/common/result.hpp"

namespace berth::cli {

/// moby's JSONProgress.String() for `progressDetail` on a terminal `width` columns wide: a
/// 50-character bar when width > 110, "current/total" in go-units sizes (or with `units`),
/// the time left when `start` is set. "" when there is nothing to show.
std::string json_progress_string(const nlohmann::json& detail, int width, int64_t now_unix);

/// The width of the terminal on `fd`, or 200 (moby's default) when it is not one.
int terminal_width(int fd);

/// Prints a stream of JSON messages. Feed it each message in order with show().
class JsonMessagePrinter {
public:
    using Sink = std::function<void(std::string_view)>;
    using AuxHandler = std::function<void(const nlohmann::json&)>;

    /// `out` receives the text; `terminal` switches redrawing on; `width` is the terminal's
    /// (see terminal_width). `aux` gets the "aux" value of messages that carry one (they are
    /// not printed).
    JsonMessagePrinter(Sink out, bool terminal, int width, AuxHandler aux = {})
        : out_(std::move(out)), terminal_(terminal), width_(width), aux_(std::move(aux)) {}

    /// A printer to file descriptor 1 or 2 (flushed per message), terminal or not as the fd is.
    static JsonMessagePrinter for_fd(int fd, AuxHandler aux = {});

    /// Prints one message. A message with errorDetail (or only error) prints nothing and
    /// returns its text as an error (Internal): the command fails with it.
    [[nodiscard]] Result<void> show(const nlohmann::json& m);

    /// For tests: the clock used for the time left of progress bars (unix seconds).
    void set_now(int64_t now_unix) { now_ = now_unix; }

private:
    [[nodiscard]] Result<void> display(const nlohmann::json& m);

    Sink out_;
    bool terminal_;
    int width_;
    AuxHandler aux_;
    int64_t now_ = 0;
    std::map<std::string, unsigned> ids_;  ///< id -> its line, counted from the first
};

}  // namespace berth::cli
