// berth-init: the tiny init `--init` puts in front of a container's command (bound at
// /sbin/docker-init, where Docker puts tini): it runs the command as its child, passes the
// signals it gets on to it, reaps every orphan the container's processes leave behind (as
// PID 1 they all become its children), and exits with the command's status.
//
// Deliberately plain: only libc, linked statically, because it runs inside arbitrary images
// (no shared libraries there to rely on) and its size is copied into every --init container's
// memory.

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

/// Signals that describe a fault of this very process, or job control meant for a terminal:
/// not forwarded (tini leaves the same ones alone).
bool forwarded(int sig) {
    switch (sig) {
        case SIGFPE:
        case SIGILL:
        case SIGSEGV:
        case SIGBUS:
        case SIGABRT:
        case SIGTRAP:
        case SIGSYS:
        case SIGTTIN:
        case SIGTTOU:
        case SIGCHLD:
            return false;
        default:
            return true;
    }
}

}  // namespace

int main(int argc, char** argv) {
    int first = 1;
    if (first < argc && strcmp(argv[first], "--") == 0) ++first;
    if (first >= argc) {
        fprintf(stderr, "usage: berth-init [--] command [args...]\n");
        return 2;
    }
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);

    pid_t child = fork();
    if (child < 0) {
        fprintf(stderr, "berth-init: fork: %s\n", strerror(errno));
        return 1;
    }
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &old, nullptr);
        execvp(argv[first], argv + first);
        int err = errno;
        fprintf(stderr, "berth-init: exec %s failed: %s\n", argv[first], strerror(err));
        _exit(err == ENOENT ? 127 : 126);
    }

    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);
        if (sig < 0) continue;
        if (sig != SIGCHLD) {
            if (forwarded(sig)) kill(child, sig);
            continue;
        }
        // Reap everything that has exited: the command, and orphans reparented to us.
        for (;;) {
            int status = 0;
            pid_t pid = waitpid(-1, &status, WNOHANG);
            if (pid <= 0) break;
            if (pid != child) continue;
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
        }
    }
}
