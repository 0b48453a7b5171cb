#pragma once
// One attached client of a process in the shim: the socket berthd handed over after the HTTP
// hijack (output goes out on it, stdin comes in) and the done channel that tells berthd when
// it ended. Output is framed with Docker's 8-byte headers unless the process has a TTY.
// Everything is non-blocking (MSG_DONTWAIT: the socket's file status flags are shared with
// berthd's copy, so they stay as they are); the shim's one thread serves every client.

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "berth/common/detach_keys.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/shimproto/protocol.hpp"

namespace berth::shim {

class Attachment {
public:
    /// `detach_seq` is the parsed detach key sequence ("" = none).
    Attachment(UniqueFd client, UniqueFd done, const shimproto::AttachRequest& req, bool tty,
               std::string detach_seq);

    [[nodiscard]] int fd() const noexcept { return client_.get(); }
    [[nodiscard]] bool wants_output(int stream) const noexcept {
        return stream == 2 ? stderr_ : stdout_;
    }
    /// True while the client's stdin is still being read.
    [[nodiscard]] bool reading_stdin() const noexcept { return stdin_ && !stdin_done_; }
    [[nodiscard]] size_t pending() const noexcept { return out_.size() - out_pos_; }
    [[nodiscard]] bool gone() const noexcept { return gone_; }

    /// Queues output of `stream` (1 stdout, 2 stderr) if this client carries it.
    void queue(int stream, std::string_view data);

    /// Writes what it can without blocking; marks the client gone when it went away.
    void flush();

    enum class Input {
        None,    ///< nothing to read right now
        Data,    ///< `out` holds stdin bytes for the process
        Eof,     ///< the client half-closed (or closed) its side: EOF on stdin
        Detach,  ///< the detach key sequence was typed
    };
    /// Reads what the client sent (the leftover bytes first) and runs it through the detach-key
    /// matcher; bytes that only begin the sequence are held back until it is decided.
    [[nodiscard]] Input read_stdin(std::string& out);

    /// Ends the attachment: flushes pending output (waiting at most `timeout_ms`), closes the
    /// client socket, then sends `done` (so berthd answers only after the client saw the end).
    void finish(const nlohmann::json& done, int timeout_ms);

private:
    UniqueFd client_;
    UniqueFd done_;
    bool stdin_, stdout_, stderr_;
    bool tty_;
    EscapeDetector escape_;
    std::string leftover_;
    std::string out_;
    size_t out_pos_ = 0;
    bool stdin_done_ = false;
    bool gone_ = false;
};

}  // namespace berth::shim
