#pragma once
// The client side of attach, exec and logs streams, as docker/cli's hijack.go, stdcopy and
// moby/term do it: 8-byte frame demultiplexing, detach key sequences, the raw terminal, and
// the loop that copies stdin to a hijacked connection and its output to stdout/stderr while
// proxying signals and terminal resizes.

#include <termios.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/api/client/client.hpp"
#include "berth/common/detach_keys.hpp"
#include "berth/common/result.hpp"

namespace berth::cli {

/// Splits docker's multiplexed stream ([stream][0][0][0][size BE32] + payload) into frames.
/// Feed it arbitrary pieces of the stream.
class FrameDemuxer {
public:
    using OnFrame = std::function<Result<void>(int stream, std::string_view payload)>;
    /// Appends `data` and reports each complete frame (payload pieces as they come: a frame's
    /// payload may be reported in several calls). InvalidArgument for an unknown stream byte.
    [[nodiscard]] Result<void> feed(std::string_view data, const OnFrame& on_frame);
    /// True when no partial header is pending (a stream may end here).
    [[nodiscard]] bool at_boundary() const { return header_.empty() && remaining_ == 0; }

private:
    std::string header_;
    uint32_t remaining_ = 0;
    int stream_ = 0;
};

/// Puts a terminal in raw mode (cfmakeraw, as moby/term MakeRaw) and restores it on
/// destruction or restore(), whichever comes first.
class RawTerminal {
public:
    RawTerminal() = default;
    ~RawTerminal() { restore(); }
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;
    /// Makes `fd` raw. Errors if it is not a terminal.
    [[nodiscard]] Result<void> make_raw(int fd);
    void restore();

private:
    int fd_ = -1;
    struct termios saved_ {};
};

/// The size of the terminal on `fd` (rows, cols), or {0, 0}.
std::pair<unsigned, unsigned> terminal_size(int fd);

/// How a hijacked stream ended.
enum class StreamEnd { Eof, Detached };

/// What to copy and proxy while attached.
struct PumpOptions {
    int stdin_fd = -1;                   ///< -1: don't send stdin
    bool stdout = true;                  ///< write stdout frames (or tty output)
    bool stderr = true;                  ///< write stderr frames
    bool tty = false;                    ///< raw stream (no frames); stderr goes to stdout
    std::string detach_keys;             ///< recognised in stdin when tty and stdin_fd >= 0
    std::vector<int> proxy_signals;      ///< caught and passed to on_signal
    std::function<void(int)> on_signal;  ///< e.g. POST kill
    std::function<void()> on_resize;     ///< SIGWINCH (tty only); null: ignore
};

/// Copies stdin to the connection (half-closing at EOF) and the connection's output to fds 1
/// and 2 until the daemon closes the stream or the user types the detach keys.
[[nodiscard]] Result<StreamEnd> pump_hijacked(api::client::HijackedConnection& conn,
                                              const PumpOptions& opts);

/// Signals `run`/`attach`/`start -a` pass on to the container (all catchable ones but
/// SIGCHLD, SIGPIPE, SIGURG and SIGWINCH, as docker/cli's ForwardAllSignals).
std::vector<int> proxied_signals();

/// The name docker sends in POST /kill for a signal: "TERM", or the number.
std::string signal_name(int signo);

}  // namespace berth::cli
