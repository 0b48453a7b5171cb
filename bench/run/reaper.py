#!/usr/bin/python3
"""Runs a command as a child subreaper and reaps what gets orphaned under it.

bench/run starts berthd, dockerd and podman, whose shims (berth-shim, containerd-shim, conmon)
daemonize by double-forking. Orphans go to the nearest subreaper, normally PID 1; on machines
whose PID 1 does not reap (containers, sandboxes) every exited shim would stay a zombie. Under
this wrapper they are reaped here instead. The exit status is the command's (128+N for a signal).

    reaper.py <command> [args...]

SIGINT is ignored (the terminal sends it to the whole process group: the command handles it and
cleans up); SIGTERM and SIGHUP are passed on to the command.
"""
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: reaper.py <command> [args...]", file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print(f"reaper: prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}",
              file=sys.stderr)
    child = os.fork()
    if child == 0:
        try:
            os.execvp(sys.argv[1], sys.argv[1:])
        except OSError as e:
            print(f"reaper: cannot run {sys.argv[1]}: {e}", file=sys.stderr)
        os._exit(127)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: os.kill(child, s))
    status = 1
    while True:
        try:
            pid, st = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == child:
            code = os.waitstatus_to_exitcode(st)
            status = code if code >= 0 else 128 - code
            break
    # The command is done (its cleanup stopped what it started): collect the zombies already
    # there and leave; anything still running goes back to PID 1 as it would without us.
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
    return status


if __name__ == "__main__":
    sys.exit(main())
