#!/usr/bin/python3
"""Runs a command on a new pseudo-terminal and drives it like a user at a keyboard, for the
compat tests of `docker run -it`, `docker attach` and detach keys (which need a real TTY on the
client side: the CLI only puts the terminal in raw mode and catches ctrl-p ctrl-q when its stdin
is a terminal).

    pty_run.py [--timeout S] [--rows R --cols C] STEP... -- CMD [ARG...]

Steps run in order once the command has started:
    --expect REGEX   wait until the output so far (ANSI/CR stripped) matches REGEX
    --send TEXT      write TEXT to the terminal; \\n, \\r, \\x10 (ctrl-p), \\x11 (ctrl-q), \\x04
                     (ctrl-d) escapes are understood (Python string escapes)
    --sleep S        wait S seconds (reading output meanwhile)
    --wait-exit      wait for the command to end (the default after the last step)
    --kill           send SIGKILL to the command (so a hung client doesn't hang the test)

Output: everything the command wrote to the terminal, on stdout, CRs removed. Exit status: the
command's (128+N for a signal); 124 when an --expect or the exit did not come within --timeout
seconds (the command is then killed, and the step that timed out is printed on stderr).
"""
import argparse
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import fcntl
import time


def main():
    argv = sys.argv[1:]
    if '--' not in argv:
        print('usage: pty_run.py [options] STEP... -- CMD [ARG...]', file=sys.stderr)
        return 2
    split = argv.index('--')
    opts, cmd = argv[:split], argv[split + 1:]
    parser = argparse.ArgumentParser()
    parser.add_argument('--timeout', type=float, default=30)
    parser.add_argument('--rows', type=int, default=24)
    parser.add_argument('--cols', type=int, default=80)
    steps = []

    class Step(argparse.Action):
        def __call__(self, p, ns, values, option_string=None):
            steps.append((option_string, values))
    parser.add_argument('--expect', action=Step)
    parser.add_argument('--send', action=Step)
    parser.add_argument('--sleep', action=Step)
    parser.add_argument('--wait-exit', action=Step, nargs=0)
    parser.add_argument('--kill', action=Step, nargs=0)
    args = parser.parse_args(opts)
    if not cmd:
        print('pty_run.py: no command', file=sys.stderr)
        return 2

    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        except OSError as e:
            os.write(2, f'pty_run.py: exec {cmd[0]}: {e}\n'.encode())
        os._exit(127)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', args.rows, args.cols, 0, 0))

    out = bytearray()
    status = None

    def pump(timeout):
        """Reads what is there within `timeout` seconds; False at EOF of the terminal."""
        r, _, _ = select.select([master], [], [], max(timeout, 0))
        if not r:
            return True
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child side is closed
            return False
        if not data:
            return False
        out.extend(data)
        return True

    def text():
        t = out.decode('utf-8', 'replace').replace('\r', '')
        return re.sub(r'\x1b\[[0-9;?]*[A-Za-z]', '', t)

    def reap(block):
        nonlocal status
        if status is not None:
            return True
        p, st = os.waitpid(pid, 0 if block else os.WNOHANG)
        if p == 0:
            return False
        status = os.waitstatus_to_exitcode(st)
        if status < 0:
            status = 128 - status
        return True

    def timed_out(what):
        print(f'pty_run.py: timed out ({args.timeout}s) at {what}', file=sys.stderr)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        reap(True)
        sys.stdout.write(text())
        sys.stdout.flush()
        return 124

    eof = False
    steps.append(('--wait-exit', None))
    for name, value in steps:
        deadline = time.monotonic() + args.timeout
        if name == '--expect':
            rx = re.compile(value)
            while not rx.search(text()):
                if time.monotonic() > deadline or (eof and reap(False)):
                    return timed_out(f'--expect {value!r}')
                if eof:
                    time.sleep(0.05)
                elif not pump(0.1):
                    eof = True
        elif name == '--send':
            data = value.encode().decode('unicode_escape').encode('latin-1')
            os.write(master, data)
        elif name == '--sleep':
            end = time.monotonic() + float(value)
            while time.monotonic() < end:
                if eof:
                    time.sleep(0.05)
                elif not pump(end - time.monotonic()):
                    eof = True
        elif name == '--kill':
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        elif name == '--wait-exit':
            while not reap(False):
                if time.monotonic() > deadline:
                    return timed_out('--wait-exit')
                if eof:
                    time.sleep(0.05)
                elif not pump(0.1):
                    eof = True
            # Whatever is still buffered in the terminal.
            while not eof and select.select([master], [], [], 0.05)[0]:
                eof = not pump(0)
    os.close(master)
    sys.stdout.write(text())
    sys.stdout.flush()
    return status


if __name__ == '__main__':
    sys.exit(main())
