#pragma once
// Waiting for a foreground process (run, exec): forwards signals to it, proxies its terminal
// when the runtime holds the pty itself, and returns its exit status.

#include <sys/types.h>

#include "berth/common/process.hpp"
#include "berth/common/result.hpp"

namespace berth::runtime {

/// Stays with a launched process until it exits: receives its pty master on `terminal_sock`
/// (if valid) and proxies our stdio to it, forwards the signals we get (blocked from here on,
/// read through a signalfd), and returns its exit code (128+signal if killed).
[[nodiscard]] Result<int> stay_with(ChildProcess& child, int terminal_sock);

}  // namespace berth::runtime
