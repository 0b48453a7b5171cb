// The container's init between clone and execve: namespaces, rootfs, hooks, terminal, limits,
// credentials, and the wait for `start`. Runs in the cloned child of the single-threaded
// runtime CLI; every failure is sent to the parent as {step, errno} and ends the child.

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "berth/common/loopback.hpp"
#include "berth/common/safe_path.hpp"
#include "berth/oci/spec_json.hpp"
#include "console.hpp"
#include "hooks.hpp"
#include "init_config.hpp"
#include "sync.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::runtime {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct Init {
    InitConfig& c;
    char step[224] = {};
    bool cgroup_joined = false;

    // err 0: the step is the whole message.
    [[noreturn]] void die(int err) noexcept {
        sync_send(c.sync_fd, SyncType::Error, err, step);
        ::_exit(1);
    }
    void check(int err) noexcept {
        if (err) die(err);
    }
    // Sets the step text and fails if `ok` is false, with errno.
    void must(bool ok, const char* fmt, const char* a = "", const char* b = "") noexcept {
        if (ok) return;
        int err = errno ? errno : EINVAL;
        std::snprintf(step, sizeof step, fmt, a, b);
        die(err);
    }
    void wait_for(SyncType t, const char* what) noexcept {
        int err = sync_wait(c.sync_fd, t);
        if (err) {
            std::snprintf(step, sizeof step, "wait for %s from parent", what);
            die(err);
        }
    }

    void join_namespaces() noexcept {
        for (auto& j : c.joins) must(::setns(j.fd.get(), j.flag) == 0, "join namespace %s", j.path.c_str());
    }

    void become_root_in_userns() noexcept {
        must(::setresgid(0, 0, 0) == 0, "setresgid 0 in the user namespace");
        must(::setresuid(0, 0, 0) == 0, "setresuid 0 in the user namespace");
    }

    void write_time_offsets() noexcept {
        if (!c.spec || !c.spec->linux || c.spec->linux->time_offsets.empty()) return;
        std::string text;
        for (const auto& [clock, off] : c.spec->linux->time_offsets)
            text += clock + " " + std::to_string(off.secs) + " " + std::to_string(off.nanosecs) + "\n";
        int fd = ::open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
        must(fd >= 0, "open /proc/self/timens_offsets");
        must(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()),
             "write time offsets");
        ::close(fd);
    }

    // The general path: join, unshare, and fork the real init into the pid namespace.
    void double_fork() noexcept {
        join_namespaces();
        if (c.unshare_flags & CLONE_NEWUSER) {
            must(::unshare(CLONE_NEWUSER) == 0, "unshare user namespace");
            check(sync_send(c.sync_fd, SyncType::MapRequest));
            wait_for(SyncType::MapDone, "uid/gid maps");
            become_root_in_userns();
        }
        wait_for(SyncType::CgroupJoined, "cgroup join");
        cgroup_joined = true;
        int rest = c.unshare_flags & ~CLONE_NEWUSER;
        if (rest) must(::unshare(rest) == 0, "unshare namespaces");
        if (rest & CLONE_NEWTIME) write_time_offsets();
        // CLONE_PARENT: the init becomes the runtime's child, so `run` and `exec` can wait for it.
        pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0));
        must(pid >= 0, "clone init");
        if (pid > 0) {
            sync_send(c.sync_fd, SyncType::Pid, pid);
            ::_exit(0);
        }
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    }

    // A network namespace we created has its loopback down; runc and crun bring it up (moby's
    // "none" network has it up, and whatever listens on 127.0.0.1 in the container needs it).
    void loopback_up() noexcept {
        if (auto r = bring_up_loopback(); !r) {
            errno = r.error().sys_errno;
            must(false, "%s", r.error().msg.c_str());
        }
    }

    void sysctls() noexcept {
        for (const auto& [key, value] : c.sysctl) {
            std::string path = "/proc/sys/" + key;
            for (size_t i = 10; i < path.size(); ++i)
                if (path[i] == '.') path[i] = '/';
            int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
            must(fd >= 0, "open sysctl %s", path.c_str());
            must(::write(fd, value.data(), value.size()) >= 0, "write sysctl %s", key.c_str());
            ::close(fd);
        }
    }

    void credentials() noexcept {
        const oci::Process& p = *c.process;
        if (c.spec && c.spec->linux && c.spec->linux->personality) {
            // The spec's domains; validate() refused anything else.
            unsigned long persona = c.spec->linux->personality->domain == "LINUX32" ? PER_LINUX32 : PER_LINUX;
            must(::personality(persona) != -1, "set personality %s",
                 c.spec->linux->personality->domain.c_str());
        }
        if (p.oom_score_adj) {
            int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
            must(fd >= 0, "open /proc/self/oom_score_adj");
            std::string v = std::to_string(*p.oom_score_adj);
            must(::write(fd, v.data(), v.size()) >= 0, "write oom_score_adj %s", v.c_str());
            ::close(fd);
        }
        for (const auto& r : c.rlimits) must(::setrlimit(r.resource, &r.value) == 0, "setrlimit");
        if (p.no_new_privileges) must(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "set no_new_privs");
        // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it before dropping caps.
        if (c.has_seccomp && !p.no_new_privileges) load_filter();
        if (c.has_caps) {
            must(::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0, "set keepcaps");
            errno = 0;
            check_step(apply_bounding(c.caps), "drop bounding capabilities");
        }
        const auto& gids = p.user.additional_gids;
        std::vector<gid_t> groups(gids.begin(), gids.end());
        if (::setgroups(groups.size(), groups.data()) < 0 && !(errno == EPERM && c.new_user_ns && groups.empty()))
            must(false, "setgroups");
        must(::setresgid(p.user.gid, p.user.gid, p.user.gid) == 0, "setresgid %s",
             std::to_string(p.user.gid).c_str());
        must(::setresuid(p.user.uid, p.user.uid, p.user.uid) == 0, "setresuid %s",
             std::to_string(p.user.uid).c_str());
        if (c.has_caps) {
            check_step(apply_capabilities(c.caps), "apply capabilities");
            ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
        }
        ::umask(p.user.umask ? *p.user.umask : 022);
        must(::chdir(p.cwd.c_str()) == 0, "chdir to cwd %s", p.cwd.c_str());
    }

    void check_step(int err, const char* what) noexcept {
        if (!err) return;
        std::snprintf(step, sizeof step, "%s", what);
        die(err);
    }

    void load_filter() noexcept {
        int notify = -1;
        check_step(load_seccomp(c.seccomp, &notify), "load seccomp filter");
        if (notify < 0) return;
        // SCMP_ACT_NOTIFY: the parent hands the listener fd to linux.seccomp.listenerPath.
        check_step(sync_send_fd(c.sync_fd, SyncType::SeccompFd, notify), "send seccomp listener fd");
        ::close(notify);
        wait_for(SyncType::SeccompDone, "seccomp listener");
    }

    // exec.LookPath semantics: a name with '/' is used as is; otherwise PATH from the process
    // environment is searched for an executable regular file.
    std::string find_executable() noexcept {
        const std::string& arg0 = c.process->args.front();
        auto executable = [](const std::string& p) {
            struct stat st {};
            return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
        };
        if (arg0.find('/') != std::string::npos) {
            struct stat st {};
            if (::stat(arg0.c_str(), &st) < 0) {
                std::snprintf(step, sizeof step, "exec: \"%s\": stat %s", arg0.c_str(), arg0.c_str());
                die(errno);
            }
            if (S_ISDIR(st.st_mode)) {
                std::snprintf(step, sizeof step, "exec: \"%s\": is a directory", arg0.c_str());
                die(EACCES);
            }
            return arg0;
        }
        std::string path = kDefaultPath;
        for (const auto& e : c.process->env)
            if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
        size_t start = 0;
        while (start <= path.size()) {
            size_t end = path.find(':', start);
            if (end == std::string::npos) end = path.size();
            std::string dir = path.substr(start, end - start);
            if (dir.empty()) dir = ".";
            std::string cand = dir + "/" + arg0;
            if (executable(cand)) return cand;
            start = end + 1;
        }
        std::snprintf(step, sizeof step, "exec: \"%s\": executable file not found in $PATH", arg0.c_str());
        die(0);  // the step says it all (runc's wording); no errno text after it
    }

    std::string hook_state(const char* status, int pid) {
        oci::State st;
        st.id = c.id;
        st.status = status;
        st.pid = pid;
        st.bundle = c.bundle;
        if (c.spec) st.annotations = c.spec->annotations;
        return oci::to_json(st);
    }

    void run_child_hooks(const std::vector<oci::Hook>& hooks, const char* kind, const char* status,
                         int pid) noexcept {
        if (hooks.empty()) return;
        auto r = run_hooks(hooks, kind, hook_state(status, pid));
        if (!r) {
            std::snprintf(step, sizeof step, "%s", r.error().msg.c_str());
            die(r.error().sys_errno ? r.error().sys_errno : EIO);
        }
    }

    // Waits until the parent put us in the container's cgroup, then makes the cgroup namespace
    // (whose root is the cgroup we are in at that moment).
    void join_cgroup() noexcept {
        if (cgroup_joined) return;
        wait_for(SyncType::CgroupJoined, "cgroup join");
        cgroup_joined = true;
        if (c.unshare_flags & CLONE_NEWCGROUP)
            must(::unshare(CLONE_NEWCGROUP) == 0, "unshare cgroup namespace");
    }

    // Ignored signals and the blocked mask survive execve: the process must not inherit the
    // runtime's (containerd's shim, a shell or `run`'s forwarding may have set them).
    static void reset_signals() noexcept {
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; ++sig)
            if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
    }

    [[noreturn]] void run() noexcept {
        reset_signals();
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        // Join our v1 cgroups as a single thread: no global lock, no RCU grace period.
        for (int fd : c.self_join_fds)
            if (::write(fd, "0", 1) != 1) must(false, "join cgroup (write 0 to tasks)");
        wait_for(SyncType::Go, "go");
        if (c.double_fork) {
            double_fork();
        } else {
            join_namespaces();  // network, IPC, UTS only here (prepare_init)
            if (c.new_user_ns) become_root_in_userns();
            if (c.unshare_flags & CLONE_NEWTIME) {
                must(::unshare(CLONE_NEWTIME) == 0, "unshare time namespace");
                write_time_offsets();
            }
        }
        if (!c.is_exec || (c.process && c.process->terminal)) ::setsid();
        if (!c.is_exec && !c.no_new_keyring) {
            // A session keyring of its own, so containers don't share the host's keys.
            std::string name = "_ses." + c.id;
            if (::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str()) < 0 && errno != ENOSYS &&
                errno != EDQUOT && errno != EACCES)
                must(false, "join session keyring");
        }
        if (!c.is_exec && ((c.clone_flags | c.unshare_flags) & CLONE_NEWNET)) loopback_up();
        if (!c.is_exec && c.spec) {
            if (!c.spec->hostname.empty())
                must(::sethostname(c.spec->hostname.c_str(), c.spec->hostname.size()) == 0,
                     "sethostname %s", c.spec->hostname.c_str());
            if (!c.spec->domainname.empty())
                must(::setdomainname(c.spec->domainname.c_str(), c.spec->domainname.size()) == 0,
                     "setdomainname %s", c.spec->domainname.c_str());
        }
        // A cgroup2 mount in a new cgroup namespace must see the namespace: join first then.
        bool v2_cgroupns_mount = false;
        for (const auto& m : c.mounts)
            v2_cgroupns_mount = v2_cgroupns_mount || (m.is_cgroup && (c.unshare_flags & CLONE_NEWCGROUP) &&
                                                      c.cgroup_sources.size() == 1 && c.cgroup_sources[0].v2);
        if (v2_cgroupns_mount) join_cgroup();
        if (!c.is_exec && c.new_mount_ns) check(setup_rootfs(c, step, sizeof step));
        join_cgroup();
        int host_pid = 0;
        if (c.parent_hooks || c.child_hooks) {
            check(sync_send(c.sync_fd, SyncType::Hooks));
            int32_t pid = 0;
            if (int err = sync_wait(c.sync_fd, SyncType::HooksDone, &pid)) {
                std::snprintf(step, sizeof step, "wait for hooks from parent");
                die(err);
            }
            host_pid = pid;
            if (c.spec && c.spec->hooks)
                run_child_hooks(c.spec->hooks->create_container, "createContainer", "creating", host_pid);
        }
        if (!c.is_exec && c.new_mount_ns) check(pivot_rootfs(c, step, sizeof step));
        // Sysctls go in before /proc/sys turns read-only (runc's order).
        if (!c.is_exec) sysctls();
        if (!c.is_exec && c.new_mount_ns) check(protect_rootfs(c, step, sizeof step));
        if (c.process->terminal && c.console_fd >= 0) {
            const char* s = "";
            int err = setup_console(c.console_fd, c.process->console_size ? &*c.process->console_size : nullptr,
                                    !c.is_exec && c.new_mount_ns, &s);
            if (err) {
                std::snprintf(step, sizeof step, "%s", s);
                die(err);
            }
            ::close(c.console_fd);
        }
        credentials();
        std::string exe = find_executable();
        // With no_new_privs the filter goes in as late as we can while the parent still
        // listens (it may have to pass a listener fd on): before Ready, as runc does.
        if (c.has_seccomp && c.process->no_new_privileges) load_filter();
        // Only stdio and the preserved fds reach the process; ours are O_CLOEXEC already.
        ::syscall(SYS_close_range, 3 + c.preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
        // From here on the process outlives the runtime (create, run -d, exec -d).
        ::prctl(PR_SET_PDEATHSIG, 0);
        if (c.fifo_fd >= 0) {
            check(sync_send(c.sync_fd, SyncType::Ready));
            char p[32];
            int fd;
            do fd = ::open(fd_path(c.fifo_fd, p), O_WRONLY | O_CLOEXEC);
            while (fd < 0 && errno == EINTR);
            if (fd < 0) ::_exit(1);
            if (::write(fd, "0", 1) != 1) ::_exit(1);
            ::close(fd);
        } else {
            check(sync_send(c.sync_fd, SyncType::Ready));
        }
        if (!c.is_exec && c.spec && c.spec->hooks)
            run_child_hooks(c.spec->hooks->start_container, "startContainer", "running", host_pid);
        std::vector<char*> argv, envp;
        for (const auto& a : c.process->args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        for (const auto& e : c.process->env) envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);
        ::execve(exe.c_str(), argv.data(), envp.data());
        std::snprintf(step, sizeof step, "exec %s", exe.c_str());
        int err = errno;
        // After `start`, nobody listens on the sync socket: say it on stderr as well.
        std::fprintf(stderr, "berth-runtime: exec %s: %s\n", exe.c_str(), std::strerror(err));
        die(err);
    }
};

}  // namespace

void container_init(InitConfig& c) noexcept {
    Init init{c};
    init.run();
}

}  // namespace berth::runtime
