#pragma once
// The byte-stream seams between the HTTP layer and backends: a request body a backend reads
// incrementally (import, load: hundreds of MiB, never buffered whole) and an answer body it
// writes as it goes (save). Backends see only these, never sockets or Beast.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "berth/common/result.hpp"

namespace berth::api {

/// A source of bytes read until EOF (a request body, the client half of a hijacked socket).
class BodyReader {
public:
    virtual ~BodyReader() = default;

    /// Reads up to buf.size() bytes; returns 0 only at EOF. Blocks until some bytes arrive.
    /// Errors: Unavailable when the client went away or sent a malformed body.
    [[nodiscard]] virtual Result<size_t> read(std::span<char> buf) = 0;

    /// Moves up to `max` bytes of the body into the pipe `pipe_wr` without copying them
    /// through user space (splice(2)), so a 200 MiB import is not copied twice more on its
    /// way to the image service. Returns 0 only at the end of the body; blocks until some
    /// bytes arrive and the pipe has room. read() and splice_to() may be mixed.
    /// Errors: Unsupported when this reader can't (the default; a chunked body), before
    /// anything was moved; Unavailable when the client went away or the body ended early;
    /// Internal (with sys_errno, EPIPE when its reader left) when writing the pipe failed.
    [[nodiscard]] virtual Result<size_t> splice_to(int pipe_wr, size_t max) {
        (void)pipe_wr;
        (void)max;
        return make_error(Errc::Unsupported, "splice a request body");
    }
};

/// A sink of bytes (an answer body; the server half of a hijacked socket).
class Writer {
public:
    virtual ~Writer() = default;

    /// Writes all of `data` (and flushes it to the client: answers here are streams).
    /// Errors: Unavailable when the client disconnected; the caller should stop its work.
    [[nodiscard]] virtual Result<void> write(std::string_view data) = 0;
};

/// Reads `r` to EOF into a string. Errors: InvalidArgument if it holds more than `limit` bytes
/// (for JSON bodies, which are small by nature), or the reader's error.
[[nodiscard]] Result<std::string> read_all(BodyReader& r, size_t limit);

}  // namespace berth::api
