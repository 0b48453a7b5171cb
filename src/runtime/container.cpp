#include "container.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <thread>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/scope_exit.hpp"
#include "berth/common/strings.hpp"
#include "berth/oci/spec_json.hpp"
#include "berth/oci/validate.hpp"
#include "console.hpp"
#include "hooks.hpp"

namespace berth::runtime {
namespace {

std::string owner_name() {
    // uid 0 is "root" everywhere; skipping the lookup saves a few milliseconds of every create.
    uid_t uid = ::geteuid();
    if (uid == 0) return "root";
    // /etc/passwd read directly, as runc does (moby/sys/user), not through NSS: berth-shim is
    // linked statically, and a static glibc's NSS needs the host's modules at run time.
    std::string id = std::to_string(uid);
    if (auto text = read_file("/etc/passwd"))
        for (const auto& line : split(*text, '\n')) {
            auto f = split(line, ':');  // name:password:uid:gid:...
            if (f.size() > 2 && f[2] == id && !f[0].empty()) return f[0];
        }
    return id;
}

Result<std::string> absolute(const std::string& path) {
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf)) return BERTH_SYS_ERROR("resolve {}", path);
    return std::string(buf);
}

int pidfd_send(pid_t pid, int sig) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) return ::kill(pid, sig);
    int r = static_cast<int>(::syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0));
    int e = errno;
    ::close(fd);
    errno = e;
    return r;
}

// Waits (up to `ms`) for a process that is not our child to exit.
bool wait_gone(const ContainerRecord& r, int ms) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, r.pid, 0));
    if (fd < 0) return !record_alive(r);
    struct pollfd p {fd, POLLIN, 0};
    int rc = ::poll(&p, 1, ms);
    ::close(fd);
    return rc > 0 || !record_alive(r);
}

}  // namespace

std::string hook_state_json(const ContainerRecord& rec, const std::string& status) {
    oci::State st;
    st.id = rec.id;
    st.status = status;
    st.pid = status == "stopped" ? 0 : rec.pid;
    st.bundle = rec.bundle;
    st.annotations = rec.annotations;
    return oci::to_json(st);
}

Result<std::unique_ptr<cgroups::Manager>> container_cgroup(const ContainerRecord& r) {
    auto layout = BERTH_TRY(cgroups::host_layout());
    return cgroups::load_manager(layout, r.cgroup_paths);
}

Result<Loaded> load_container(const Globals& g, const std::string& id) {
    Loaded l;
    l.rec = BERTH_TRY(load_record(g.root, id));
    l.dir = state_dir(g.root, id);
    if (!record_alive(l.rec)) {
        l.status = "stopped";
    } else if (path_exists(l.dir.fifo())) {
        l.status = "created";
    } else {
        l.status = "running";
        auto mgr = container_cgroup(l.rec);
        if (mgr) {
            auto frozen = (*mgr)->frozen();
            if (frozen && *frozen) l.status = "paused";
        }
    }
    return l;
}

Result<Created> create_container(const Globals& g, const CreateOptions& o, bool use_fifo, bool own_terminal) {
    BERTH_TRY(check_id(o.id));
    Created cr;
    std::string bundle = BERTH_TRY(absolute(o.bundle));
    std::string config_text = BERTH_TRY(read_file(bundle + "/config.json"));
    cr.spec = BERTH_TRY(oci::parse_spec(config_text));
    BERTH_TRY(oci::validate(cr.spec));
    BLOG_DEBUG("create {}: config parsed", o.id);
    if (!cr.spec.process) return make_error(Errc::InvalidArgument, "config.json: process: must be set to create a container");
    if (!cr.spec.root) return make_error(Errc::InvalidArgument, "config.json: root: must be set");
    bool terminal = cr.spec.process->terminal;
    if (terminal && o.console_socket.empty() && !own_terminal)
        return make_error(Errc::InvalidArgument,
                          "cannot allocate tty if berth-runtime will detach without setting console socket");
    if (!terminal && !o.console_socket.empty())
        return make_error(Errc::InvalidArgument, "cannot use console socket if berth-runtime will not detach or allocate tty");
    std::string root_path = cr.spec.root->path;
    if (root_path.empty() || root_path[0] != '/') root_path = bundle + "/" + root_path;
    auto rootfs = absolute(root_path);
    if (!rootfs) return Unexpected(std::move(rootfs).error().wrap("config.json: root.path"));

    BERTH_TRY(mkdir_all(g.root, 0700));
    cr.dir = state_dir(g.root, o.id);
    if (::mkdir(cr.dir.dir.c_str(), 0711) < 0) {
        if (errno == EEXIST) return make_error(Errc::AlreadyExists, "container with given ID already exists");
        return BERTH_SYS_ERROR("create state directory {}", cr.dir.dir);
    }
    ScopeExit drop_dir([&] { (void)remove_all(cr.dir.dir); });

    InitConfig c;
    c.id = o.id;
    c.state_root = g.root;
    c.bundle = bundle;
    c.rootfs = *rootfs;
    c.process = &*cr.spec.process;
    c.no_pivot = o.no_pivot;
    c.no_new_keyring = o.no_new_keyring;
    c.preserve_fds = o.preserve_fds;
    BERTH_TRY(prepare_init(c, cr.spec));

    auto layout = BERTH_TRY(cgroups::host_layout());
    cgroups::Options copts;
    copts.cgroups_path = cr.spec.linux ? cr.spec.linux->cgroups_path : "";
    copts.id = o.id;
    cr.cgroup = BERTH_TRY(cgroups::make_manager(layout, copts));
    BERTH_TRY(cr.cgroup->create());
    ScopeExit drop_cgroup([&] { (void)cr.cgroup->destroy(); });
    BERTH_TRY(cr.cgroup->apply(resources_with_devices(cr.spec)));
    BLOG_DEBUG("create {}: cgroup ready", o.id);
    c.cgroup_sources = cgroup_mount_sources(layout, *cr.cgroup);

    UniqueFd fifo;
    if (use_fifo) {
        if (::mkfifo(cr.dir.fifo().c_str(), 0622) < 0) return BERTH_SYS_ERROR("create {}", cr.dir.fifo());
        ::chmod(cr.dir.fifo().c_str(), 0622);
        fifo.reset(::open(cr.dir.fifo().c_str(), O_PATH | O_CLOEXEC));
        if (!fifo) return BERTH_SYS_ERROR("open {}", cr.dir.fifo());
        c.fifo_fd = fifo.get();
    }
    UniqueFd console;
    if (terminal) {
        if (o.console_socket.empty()) {
            auto ch = BERTH_TRY(make_terminal_channel());
            cr.terminal = std::move(ch.ours);
            console = std::move(ch.theirs);
        } else {
            console = BERTH_TRY(connect_unix_socket(o.console_socket));
        }
        c.console_fd = console.get();
    }

    cr.rec.id = o.id;
    cr.rec.bundle = bundle;
    cr.rec.rootfs = *rootfs;
    cr.rec.created = now_rfc3339();
    cr.rec.owner = owner_name();
    cr.rec.annotations = cr.spec.annotations;
    cr.rec.cgroup_paths = cr.cgroup->paths();
    cr.rec.has_user_ns = c.new_user_ns;
    cr.rec.own_pid_ns = false;
    if (cr.spec.linux)
        for (const auto& ns : cr.spec.linux->namespaces)
            if (ns.type == "pid" && ns.path.empty()) cr.rec.own_pid_ns = true;

    auto on_hooks = [&](pid_t pid) -> Result<void> {
        if (!cr.spec.hooks) return {};
        ContainerRecord tmp = cr.rec;
        tmp.pid = pid;
        std::string st = hook_state_json(tmp, "creating");
        BERTH_TRY(run_hooks(cr.spec.hooks->prestart, "prestart", st));
        BERTH_TRY(run_hooks(cr.spec.hooks->create_runtime, "createRuntime", st));
        return {};
    };
    auto launched = launch(c, cr.cgroup.get(), on_hooks);
    if (!launched)
        return Unexpected(std::move(launched).error().wrap("unable to start container process"));
    cr.launched = std::move(*launched);
    BLOG_DEBUG("create {}: init ready", o.id);
    cr.rec.pid = cr.launched.init.pid();
    cr.rec.pid_start_time = process_start_time(cr.rec.pid);
    BERTH_TRY(save_record(cr.dir, cr.rec));
    BERTH_TRY(atomic_write_file(cr.dir.config_file(), config_text, 0600, Durability::Volatile));
    if (!o.pid_file.empty())
        BERTH_TRY_CTX(atomic_write_file(o.pid_file, std::to_string(cr.rec.pid), 0644, Durability::Volatile),
                      "write pid file");
    drop_cgroup.release();
    drop_dir.release();
    return cr;
}

Result<void> create(const Globals& g, const CreateOptions& o) {
    auto cr = create_container(g, o, true, false);
    if (!cr) return Unexpected(std::move(cr).error());
    cr->launched.init.release();  // the container outlives this process
    return {};
}

void run_poststart(const oci::Spec& spec, const ContainerRecord& rec) {
    if (!spec.hooks || spec.hooks->poststart.empty()) return;
    auto r = run_hooks(spec.hooks->poststart, "poststart", hook_state_json(rec, "running"));
    if (!r) BLOG_WARN("{}", r.error().what());
}

Result<void> start(const Globals& g, const std::string& id) {
    Loaded l = BERTH_TRY(load_container(g, id));
    if (l.status == "stopped") return make_error(Errc::Conflict, "cannot start a container that has stopped");
    if (l.status == "paused") return make_error(Errc::Conflict, "cannot start a container in the paused state");
    if (l.status != "created") return make_error(Errc::Conflict, "cannot start an already running container");
    UniqueFd fifo(::open(l.dir.fifo().c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fifo) return BERTH_SYS_ERROR("open {}", l.dir.fifo());
    // The init writes one byte once it sees a reader; watch the process too in case it died.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, l.rec.pid, 0)));
    for (;;) {
        struct pollfd p[2] = {{fifo.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
        int n = ::poll(p, pidfd ? 2 : 1, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return BERTH_SYS_ERROR("wait for container init");
        char b;
        if (p[0].revents & POLLIN) {
            if (::read(fifo.get(), &b, 1) == 1) break;
        }
        if ((p[1].revents & POLLIN) || (p[0].revents & POLLHUP && !(p[0].revents & POLLIN))) {
            if (!record_alive(l.rec)) return make_error(Errc::Conflict, "cannot start a container that has stopped");
            if (p[0].revents & POLLHUP) {
                // No writer yet (HUP before the init opened its end): wait a little.
                ::usleep(1000);
            }
        }
    }
    ::unlink(l.dir.fifo().c_str());
    auto spec = container_spec(g, id);
    if (spec) run_poststart(*spec, l.rec);
    return {};
}

Result<ContainerInfo> state(const Globals& g, const std::string& id) {
    Loaded l = BERTH_TRY(load_container(g, id));
    ContainerInfo info;
    info.state.id = l.rec.id;
    info.state.status = l.status;
    info.state.pid = l.status == "stopped" ? 0 : l.rec.pid;
    info.state.bundle = l.rec.bundle;
    info.state.annotations = l.rec.annotations;
    info.rootfs = l.rec.rootfs;
    info.created = l.rec.created;
    info.owner = l.rec.owner;
    return info;
}

Result<std::vector<ContainerInfo>> list(const Globals& g) {
    std::vector<ContainerInfo> out;
    DIR* d = ::opendir(g.root.c_str());
    if (!d) {
        if (errno == ENOENT) return out;
        return BERTH_SYS_ERROR("open {}", g.root);
    }
    std::vector<std::string> ids;
    while (struct dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") ids.push_back(n);
    }
    ::closedir(d);
    std::sort(ids.begin(), ids.end());
    for (const auto& id : ids) {
        auto s = state(g, id);
        if (s) out.push_back(std::move(*s));
    }
    return out;
}

Result<void> kill(const Globals& g, const std::string& id, int sig, bool all) {
    Loaded l = BERTH_TRY(load_container(g, id));
    if (l.status == "stopped") return make_error(Errc::Conflict, "container not running");
    if (all) {
        auto mgr = BERTH_TRY(container_cgroup(l.rec));
        return mgr->kill_all(sig);
    }
    if (pidfd_send(l.rec.pid, sig) < 0) return BERTH_SYS_ERROR("kill container {} init {}", id, l.rec.pid);
    return {};
}

Result<void> destroy_container(const Loaded& l, std::unique_ptr<cgroups::Manager> known) {
    auto mgr = known ? Result<std::unique_ptr<cgroups::Manager>>(std::move(known)) : container_cgroup(l.rec);
    if (mgr && (!l.rec.own_pid_ns || l.status != "stopped")) {
        // Without its own pid namespace the init's death doesn't take the rest with it.
        auto st = (*mgr)->frozen();
        if (st && *st) (void)(*mgr)->thaw();
        (void)(*mgr)->kill_all(SIGKILL);
    }
    if (l.status != "stopped") {
        pidfd_send(l.rec.pid, SIGKILL);
        wait_gone(l.rec, 5000);
    }
    Result<void> res;
    if (mgr) {
        // Processes killed a moment ago may still be leaving the cgroup.
        for (int i = 0; i < 100; ++i) {
            res = (*mgr)->destroy();
            if (res) break;
            ::usleep(10000);
        }
    }
    auto spec = oci::parse_spec(read_file(l.dir.config_file()).value_or(""));
    if (spec && spec->hooks && !spec->hooks->poststop.empty()) {
        auto h = run_hooks(spec->hooks->poststop, "poststop", hook_state_json(l.rec, "stopped"));
        if (!h) BLOG_WARN("{}", h.error().what());
    }
    BERTH_TRY(remove_all(l.dir.dir));
    return res;
}

Result<void> remove(const Globals& g, const std::string& id, bool force) {
    Loaded l = BERTH_TRY(load_container(g, id));
    if ((l.status == "running" || l.status == "paused") && !force)
        return make_error(Errc::Conflict, "cannot delete container {} that is not stopped: {}", id, l.status);
    return destroy_container(l);
}

Result<std::vector<pid_t>> pids(const Globals& g, const std::string& id) {
    Loaded l = BERTH_TRY(load_container(g, id));
    auto mgr = BERTH_TRY(container_cgroup(l.rec));
    return mgr->pids();
}

Result<oci::Spec> container_spec(const Globals& g, const std::string& id) {
    BERTH_TRY(load_record(g.root, id));
    std::string text = BERTH_TRY(read_file(state_dir(g.root, id).config_file()));
    return oci::parse_spec(text);
}

Result<void> pause(const Globals& g, const std::string& id) {
    Loaded l = BERTH_TRY(load_container(g, id));
    if (l.status != "running" && l.status != "created") return make_error(Errc::Conflict, "container not running");
    auto mgr = BERTH_TRY(container_cgroup(l.rec));
    return mgr->freeze();
}

Result<void> resume(const Globals& g, const std::string& id) {
    Loaded l = BERTH_TRY(load_container(g, id));
    if (l.status != "paused") return make_error(Errc::Conflict, "container not paused");
    auto mgr = BERTH_TRY(container_cgroup(l.rec));
    return mgr->thaw();
}

Result<void> update(const Globals& g, const std::string& id, const oci::Resources& r) {
    Loaded l = BERTH_TRY(load_container(g, id));
    if (l.status == "stopped") return make_error(Errc::Conflict, "container not running");
    auto mgr = BERTH_TRY(container_cgroup(l.rec));
    return mgr->update(r);
}

Result<cgroups::Stats> stats(const Globals& g, const std::string& id) {
    Loaded l = BERTH_TRY(load_container(g, id));
    if (l.status == "stopped") return make_error(Errc::Conflict, "container not running");
    auto mgr = BERTH_TRY(container_cgroup(l.rec));
    return mgr->stats();
}

}  // namespace berth::runtime
