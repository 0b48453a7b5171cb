#pragma once
// What consume_body() does with a request body, for the zero-copy tests: splice_to() into a
// pipe, and read() + write() when the reader says Unsupported (a chunked body).

#include <unistd.h>

#include <span>

#include "berth/api/server/io.hpp"

namespace berth::api::test {

/// How a body went into the pipe.
struct PumpStats {
    size_t spliced = 0;        ///< bytes splice_to() moved
    bool unsupported = false;  ///< splice_to() said Unsupported: read() was used
};

/// Moves `body` to its end into `pipe_wr`, as consume_body() does.
inline Result<void> pump_body(BodyReader& body, int pipe_wr, PumpStats& stats) {
    for (;;) {
        auto n = body.splice_to(pipe_wr, 1 << 20);
        if (n && *n == 0) return {};
        if (n) {
            stats.spliced += *n;
            continue;
        }
        if (n.error().code != Errc::Unsupported || stats.spliced > 0) return Unexpected(n.error());
        stats.unsupported = true;
        break;
    }
    char buf[65536];
    for (;;) {
        size_t k = BERTH_TRY(body.read(std::span<char>(buf, sizeof buf)));
        if (k == 0) return {};
        if (::write(pipe_wr, buf, k) != static_cast<ssize_t>(k))
            return BERTH_SYS_ERROR("write the pipe");
    }
}

}  // namespace berth::api::test
