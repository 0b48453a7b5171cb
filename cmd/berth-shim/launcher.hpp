#pragma once
// `berth-shim --launcher`: the process berthd keeps to start shims by fork() alone.
//
// Exec'ing a fresh shim for every container cost ~0.5 ms of its start on our machines: the
// kernel's exec, then glibc's start-up, which on a VM spends most of it in CPUID (each one a
// trap to the hypervisor). The launcher pays that once; each shim is a fork of it (~0.05 ms),
// already past its start-up, and leaves the launcher's session at once (setsid).
//
// Protocol (shimproto/protocol.hpp): berthd sends one packet per shim on the launcher's fd 3,
// {"dir": "<exec-dir>", "debug": bool}, with descriptors that become the shim's 0, 1, 2, ...
// in that order (to a spare, see below). The shim reports on the ready pipe (its fd 1),
// and so does the launcher when it cannot fork. It exits when berthd closes the connection.
// Shims stay the launcher's children (reaped by SIGCHLD = SIG_IGN), and move to init when
// it exits: they outlive berthd and its launcher alike.
//
// The fork itself happens ahead: one child, the spare (`berth-shim (spare)` in ps), waits for
// the next request on a socket whose other end the launcher sends berthd ({"op":"spare"} with
// the descriptor). berthd sends the request to the spare itself, then {"op":"spare-taken"} to
// the launcher, which forks the next. A request that comes to the launcher (berthd had no
// spare: none offered yet, or it was gone) is forked for there, and a spare offered after it;
// berthd keeps the newest it was offered.

#include <span>
#include <string>

namespace berth::shim {

struct Launch {
    std::string exec_dir;
    bool debug = false;
};

/// Serves launches from `sock` until berthd closes it (then exits the process). Returns only
/// in a new shim, with its descriptors in place, in a session of its own, and its command
/// line rewritten in `args` (the memory of the launcher's arguments).
Launch serve_launches(int sock, std::span<char> args);

/// A shim that cannot start says why on its ready pipe: {"error":"berth-shim: <what>"}.
void report_start_failure(int ready_fd, const std::string& what);

}  // namespace berth::shim
