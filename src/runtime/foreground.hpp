#pragma once
// Waiting for a foreground process (run, exec): forwards signals to it, proxies its terminal
// when the runtime holds the pty itself, and returns its exit status.

#include <sys/types.h>

#include "berth/common/process.hpp"
#include "berth/common/result.hpp"

namespace berth::runtime {

/// Blocks the signals we forward, so they queue for the signalfd instead of killing us. Call
/// before launching (the child unblocks them itself before exec... it inherits the mask only if
/// launched after this, so launch first, then call this).
[[nodiscard]] Result<int> block_forwarded_signals();

/// Waits for `child`, forwarding signals from `sigfd` and, if `pty_master` >= 0, copying
/// stdin to it and its output to stdout. Returns the exit code (128+signal if killed).
[[nodiscard]] Result<int> wait_foreground(ChildProcess& child, int sigfd, int pty_master);

}  // namespace berth::runtime
