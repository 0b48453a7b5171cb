// Starting, stopping and watching containers (containers.hpp): the rootfs mount, the OCI
// bundle, the shim's launch and its monitor connection, exits, restart policies, re-adoption.

#include <fcntl.h>
#include <linux/mount.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/scope_exit.hpp"
#include "berth/common/time.hpp"
#include "berth/container/spec_builder.hpp"
#include "berth/oci/spec_json.hpp"
#include "berth/runtime/runtime.hpp"
#include "berth/shimproto/channel.hpp"
#include "containers_impl.hpp"
#include "netns_pool.hpp"
#include "shim_launcher.hpp"
#include "user_files_cache.hpp"

namespace berth::engine {

namespace {

/// Splits "key=value" mount options for fsconfig.
std::pair<std::string, std::string> split_option(const std::string& o) {
    auto eq = o.find('=');
    if (eq == std::string::npos) return {o, ""};
    return {o.substr(0, eq), o.substr(eq + 1)};
}

/// Performs a layer store MountSpec (store never mounts; see layer_store.hpp for the forms).
Result<void> mount_spec(const store::MountSpec& m, const std::string& target) {
    if (m.type == "bind") {
        if (::mount(m.source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
            return BERTH_SYS_ERROR("bind {} on {}", m.source, target);
        return {};
    }
    bool append = false;
    for (const auto& o : m.options) append = append || o.rfind("lowerdir+=", 0) == 0;
    if (append) {
        // Form 3: one lowerdir+ per layer through the new mount API (Linux 6.8+).
        UniqueFd fs(static_cast<int>(::syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC)));
        if (!fs) return BERTH_SYS_ERROR("fsopen overlay");
        for (const auto& o : m.options) {
            auto [k, v] = split_option(o);
            int r = v.empty() && o.find('=') == std::string::npos
                        ? static_cast<int>(::syscall(SYS_fsconfig, fs.get(), FSCONFIG_SET_FLAG, k.c_str(), nullptr, 0))
                        : static_cast<int>(::syscall(SYS_fsconfig, fs.get(), FSCONFIG_SET_STRING,
                                                     k == "lowerdir+" ? "lowerdir+" : k.c_str(),
                                                     v.c_str(), 0));
            if (r < 0) return BERTH_SYS_ERROR("overlay option {}", o);
        }
        if (::syscall(SYS_fsconfig, fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
            return BERTH_SYS_ERROR("create the overlay for {}", target);
        UniqueFd mnt(static_cast<int>(::syscall(SYS_fsmount, fs.get(), FSMOUNT_CLOEXEC, 0)));
        if (!mnt) return BERTH_SYS_ERROR("fsmount overlay");
        if (::syscall(SYS_move_mount, mnt.get(), "", AT_FDCWD, target.c_str(),
                      MOVE_MOUNT_F_EMPTY_PATH) < 0)
            return BERTH_SYS_ERROR("move the overlay to {}", target);
        return {};
    }
    std::string data;
    for (const auto& o : m.options) data += (data.empty() ? "" : ",") + o;
    if (m.chdir.empty()) {
        if (::mount("overlay", target.c_str(), "overlay", 0, data.c_str()) < 0)
            return BERTH_SYS_ERROR("mount overlay on {}", target);
        return {};
    }
    // Form 2: lowerdirs relative to m.chdir. The daemon is multithreaded, so the chdir
    // happens in a thread of its own with an unshared cwd (unshare(CLONE_FS)).
    Result<void> res;
    std::thread t([&] {
        if (::unshare(CLONE_FS) < 0 || ::chdir(m.chdir.c_str()) < 0) {
            res = BERTH_SYS_ERROR("chdir {}", m.chdir);
            return;
        }
        if (::mount("overlay", target.c_str(), "overlay", 0, data.c_str()) < 0)
            res = BERTH_SYS_ERROR("mount overlay on {}", target);
    });
    t.join();
    return res;
}

/// moby's translation of runtime start errors into the exit code `docker run` reports.
int start_error_exit_code(const std::string& msg) {
    if (msg.find("executable file not found") != std::string::npos ||
        msg.find("no such file or directory") != std::string::npos)
        return 127;
    if (msg.find("permission denied") != std::string::npos) return 126;
    return 128;
}

Result<std::string> read_ready_line(int fd, int timeout_ms) {
    std::string line;
    int64_t deadline = now_unix_nanos() + int64_t{timeout_ms} * 1'000'000;
    char buf[4096];
    while (line.find('\n') == std::string::npos) {
        int left = static_cast<int>((deadline - now_unix_nanos()) / 1'000'000);
        if (left <= 0) return make_error(Errc::Unavailable, "berth-shim did not report in time");
        struct pollfd p {fd, POLLIN, 0};
        int n = ::poll(&p, 1, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) continue;
        ssize_t r = ::read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        line.append(buf, static_cast<size_t>(r));
    }
    if (line.empty()) return make_error(Errc::Internal, "berth-shim exited without reporting");
    return line.substr(0, line.find('\n'));
}

}  // namespace

runtime::Globals ContainerService::runtime_globals() const {
    runtime::Globals g;
    g.root = paths_.exec_root + "/runtime";
    return g;
}

void ContainerService::settle_mount(Entry& e) {
    if (!e.mounting.valid()) return;
    // A failure is not kept: the start mounts again, and reports what fails then.
    if (auto r = e.mounting.get(); !r)
        BLOG_DEBUG("early mount of the root filesystem of {}: {}", e.c.id, r.error().what());
}

Result<void> ContainerService::mount_rootfs(Entry& e) {
    settle_mount(e);
    return mount_overlay(e);
}

Result<void> ContainerService::mount_overlay(Entry& e) {
    if (e.mounted) return {};
    std::string dir = container_dir(e.c.id);
    // The overlay's root directory takes its owner and mode from upper/, so upper/ is 0755
    // (as an image's "/" is): with 0700 no other user of the container could reach "/".
    for (const char* sub : {"/upper", "/work", "/merged"}) {
        std::string p = dir + sub;
        if (::mkdir(p.c_str(), sub[1] == 'w' ? 0700 : 0755) < 0 && errno != EEXIST)
            return BERTH_SYS_ERROR("create {}", p);
    }
    auto img = BERTH_TRY(images_.get(e.c.image_id));
    auto spec = BERTH_TRY(images_.rootfs_mount(img, dir + "/upper", dir + "/work"));
    // A container that removes itself when it exits never needs its upper layer after a crash,
    // so its overlay is volatile (podman does the same for --rm): unmounting it then skips the
    // syncfs of the upper's whole filesystem, which was most of `run --rm`'s teardown.
    // overlayfs refuses a workdir a volatile mount used before (it can't tell a crash from a
    // clean unmount); this one only ever held this container's scratch files.
    size_t option_bytes = 0;
    for (const auto& o : spec.options) option_bytes += o.size() + 1;
    bool is_volatile = e.c.host_config.auto_remove && option_bytes + 9 < 4096;
    if (is_volatile) {
        (void)remove_all(dir + "/work/work/incompat");
        spec.options.push_back("volatile");
    }
    auto m = mount_spec(spec, dir + "/merged");
    if (!m && is_volatile && m.error().sys_errno == EINVAL) {  // a kernel before 5.10
        spec.options.pop_back();
        m = mount_spec(spec, dir + "/merged");
    }
    BERTH_TRY_CTX(std::move(m), "mount the root filesystem of {}", e.c.id);
    e.mounted = true;
    return {};
}

void ContainerService::unmount_rootfs(Entry& e) {
    settle_mount(e);
    std::string merged = container_dir(e.c.id) + "/merged";
    // Whether or not we remember mounting it (a restarted daemon doesn't): try. EINVAL
    // means nothing is mounted there.
    (void)::umount2(merged.c_str(), MNT_DETACH);
    e.mounted = false;
}

container::SpecInputs ContainerService::spec_inputs(const Entry& e) const {
    container::SpecInputs in;
    {
        std::lock_guard lk(e.mu);
        in.id = e.c.id;
        in.config = e.c.config;
        in.host = e.c.host_config;
        in.hostname_path = e.c.hostname_path;
        in.hosts_path = e.c.hosts_path;
        in.resolv_conf_path = e.c.resolv_conf_path;
        if (own_network_namespace(e.c)) in.netns_path = e.c.sandbox_key;
    }
    in.rootfs = container_dir(in.id) + "/merged";
    std::string parent = in.host.cgroup_parent.empty() ? paths_.cgroup_parent : in.host.cgroup_parent;
    if (parent.empty()) parent = "/";
    while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
    in.cgroups_path = (parent == "/" ? "" : parent) + "/" + in.id;
    in.init_path = paths_.init_binary;
    return in;
}

Result<container::UserFiles> ContainerService::user_files(Entry& e) {
    std::string image_id, dir;
    {
        std::lock_guard lk(e.mu);
        image_id = e.c.image_id;
        dir = container_dir(e.c.id);
    }
    if (UserFilesCache::upper_is_empty(dir + "/upper"))
        if (auto kept = users_->get(image_id)) return std::move(*kept);
    BERTH_TRY(mount_rootfs(e));
    auto files = BERTH_TRY(container::read_user_files(dir + "/merged"));
    // Read through the mount: kept only if nothing of the container's own was over them.
    if (UserFilesCache::upper_is_empty(dir + "/upper")) users_->put(image_id, files);
    return files;
}

Result<void> ContainerService::write_bundle(Entry& e, container::UserFiles users) {
    container::SpecInputs in = spec_inputs(e);
    in.user_files = std::move(users);
    auto join = [&](const std::string& mode, const char* ns, std::string& out) -> Result<void> {
        if (mode.rfind("container:", 0) != 0) return {};
        auto other = BERTH_TRY(find(mode.substr(10)));
        std::lock_guard lk(other->mu);
        if (other->c.state.status != RunState::Running)
            return make_error(Errc::Conflict, "cannot join network of a non running container: {}",
                              other->c.id);
        out = "/proc/" + std::to_string(other->c.state.pid) + "/ns/" + ns;
        return {};
    };
    BERTH_TRY(join(in.host.network_mode, "net", in.netns_path));
    BERTH_TRY(join(in.host.ipc_mode, "ipc", in.ipcns_path));
    BERTH_TRY(join(in.host.pid_mode, "pid", in.pidns_path));
    auto spec = BERTH_TRY(container::build_spec(in));
    // The bundle is the runtime's input for this run of the container, in the exec root (as
    // containerd keeps its bundles under /run): rewritten at every start, nothing to keep on
    // the disk, which costs a file creation and a deletion per container there.
    return atomic_write_file(shim_dir(e.c.id) + "/config.json", oci::to_json(spec), 0600,
                             Durability::Volatile);
}

Result<std::vector<std::string>> ContainerService::mount_destinations(std::string_view name) const {
    auto e = BERTH_TRY(find(name));
    // Namespaces joined from other containers don't change the mounts: not looked up (the
    // other container may not even run), a placeholder stands in for each.
    container::SpecInputs in = spec_inputs(*e);
    auto placeholder = [](const std::string& mode, std::string& path) {
        if (mode.rfind("container:", 0) == 0) path = "/proc/self/ns/placeholder";
    };
    placeholder(in.host.network_mode, in.netns_path);
    placeholder(in.host.ipc_mode, in.ipcns_path);
    placeholder(in.host.pid_mode, in.pidns_path);
    placeholder(in.host.uts_mode, in.utsns_path);
    auto spec = BERTH_TRY(container::build_spec(in));
    std::vector<std::string> out;
    for (const auto& m : spec.mounts) out.push_back(m.destination);
    return out;
}

Result<bool> ContainerService::start(std::string_view name) {
    auto e = BERTH_TRY(find(name));
    std::lock_guard op(e->op);
    RunState st;
    {
        std::lock_guard lk(e->mu);
        st = e->c.state.status;
        if (e->removed) return make_error(Errc::NotFound, "No such container: {}", name);
    }
    if (st == RunState::Running) return false;
    if (st == RunState::Paused)
        return make_error(Errc::Conflict, "cannot start a paused container, try unpause instead");
    if (st == RunState::Removing || st == RunState::Dead)
        return make_error(Errc::Conflict, "container is marked for removal and cannot be started");
    auto r = start_locked(*e);
    if (!r) {
        // moby (daemon/start.go): a container that was to remove itself goes when it fails
        // to start, too; `docker run --rm` waits for that removal.
        if (e->c.host_config.auto_remove) (void)remove_locked(e);
        return Unexpected(std::move(r).error());
    }
    return true;
}

Result<void> ContainerService::start_locked(Entry& e) {
    const std::string& id = e.c.id;
    shimproto::ShimPaths sp{shim_dir(id)};
    auto fail = [&](Error err) -> Result<void> {
        unmount_rootfs(e);
        release_sandbox(e);
        std::vector<PendingAttach> pending;
        {
            std::lock_guard lk(e.mu);
            e.c.state.error = err.what();
            e.c.state.exit_code = start_error_exit_code(err.what());
            if (e.c.state.status == RunState::Restarting) e.c.state.status = RunState::Exited;
            pending = std::move(e.pending);
        }
        (void)save(e);
        std::string msg = err.what();
        if (msg.find("unable to start container process") != std::string::npos ||
            msg.find("exec:") != std::string::npos) {
            Errc code = start_error_exit_code(msg) == 128 ? Errc::Internal : Errc::InvalidArgument;
            return make_error(code, "failed to create task for container: OCI runtime create failed: {}: unknown",
                              msg);
        }
        return Unexpected(std::move(err));
    };

    // A previous run's shim reports its exit before it deletes the runtime's state of the
    // container (cgroups, state directory); a restart must not create it again meanwhile.
    // Bounded: a shim killed halfway leaves the state behind, and then it is removed here.
    {
        auto g = runtime_globals();
        std::string state = g.root + "/" + id;
        for (int i = 0; i < 2000 && path_exists(state); ++i) ::usleep(1000);
        if (path_exists(state)) (void)runtime::remove(g, id, true);
    }
    // The root filesystem is mounted last: an --rm container's mount began at its create and
    // may still be under way, and nothing before needs it (user_files, mostly).
    if (auto m = mkdir_all(sp.dir, 0700); !m) return fail(m.error());
    if (auto w = write_etc_files(e); !w) return fail(w.error());
    if (own_network_namespace(e.c)) {
        release_sandbox(e);  // a previous run's, if its exit was never handled
        auto ns = netns_->take();
        if (!ns) return fail(ns.error());
        std::lock_guard lk(e.mu);
        e.c.sandbox_key = std::move(*ns);
    }
    auto users = user_files(e);
    if (!users) return fail(users.error());
    if (auto b = write_bundle(e, std::move(*users)); !b) return fail(b.error());
    if (auto m = mount_rootfs(e); !m) return fail(m.error());
    ::unlink(sp.exit_file().c_str());

    shimproto::ShimConfig cfg;
    std::vector<PendingAttach> pending;
    ScopeExit started_or_failed([&] {
        {
            std::lock_guard lk(e.mu);
            e.starting = false;
        }
        e.cv.notify_all();
    });
    {
        // Attaches whose 101 went out before this start must be in from the first byte: the
        // CLI sends start as soon as it has the 101, before the attach's thread has handed
        // over its socket (a short wait, bounded in case a client vanished in between).
        std::unique_lock lk(e.mu);
        e.cv.wait_for(lk, std::chrono::seconds(2), [&] { return e.attach_reservations == 0; });
        e.starting = true;
        cfg.id = id;
        cfg.bundle = sp.dir;
        cfg.runtime_root = paths_.exec_root + "/runtime";
        cfg.log_path = e.c.log_path;
        cfg.log_opts = e.c.host_config.log_config.config;
        cfg.tty = e.c.config.tty;
        cfg.open_stdin = e.c.config.open_stdin;
        cfg.stdin_once = e.c.config.stdin_once;
        pending = std::move(e.pending);
    }
    // The shim's descriptors: 0 /dev/null, 1 the ready pipe, 2 shim.log, two per attach, then
    // its end of our monitor connection (made here rather than connected after the start: a
    // container that exits at once would otherwise exit before we listen, and we would only
    // learn of it when the shim is gone, after the runtime's cleanup). It gets these and no
    // others (the launcher closes the rest).
    int ready_pipe[2];
    if (::pipe2(ready_pipe, O_CLOEXEC) < 0) return fail(sys_error(errno, "pipe").value());
    UniqueFd ready_r(ready_pipe[0]), ready_w(ready_pipe[1]);
    int mon_pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, mon_pair) < 0)
        return fail(sys_error(errno, "socketpair for the shim's monitor connection").value());
    UniqueFd monitor(mon_pair[0]), shim_monitor(mon_pair[1]);
    UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
    UniqueFd log_fd(::open(sp.log().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (!null_fd || !log_fd) return fail(sys_error(errno, "open the shim's stdio").value());
    std::vector<int> fds = {null_fd.get(), ready_w.get(), log_fd.get()};
    for (auto& p : pending) {
        shimproto::AttachRequest a = p.req;
        a.client_fd = static_cast<int>(fds.size());
        fds.push_back(p.client.get());
        a.done_fd = static_cast<int>(fds.size());
        fds.push_back(p.done.get());
        cfg.attaches.push_back(std::move(a));
    }
    cfg.monitor_fd = static_cast<int>(fds.size());
    fds.push_back(shim_monitor.get());
    if (auto w = atomic_write_file(sp.config(), nlohmann::json(cfg).dump(), 0600,
                                   Durability::Volatile);
        !w)
        return fail(w.error());
    auto launched = launcher_->launch(sp.dir, fds, log::enabled(log::Level::Debug));
    ready_w.reset();
    shim_monitor.reset();  // only the shim holds its end: its exit is our EOF
    pending.clear();  // the shim has its own copies now
    if (!launched) return fail(launched.error());
    netns_->refill();  // while we wait for the shim: the next start's namespace
    auto line = read_ready_line(ready_r.get(), 60000);
    if (!line) return fail(line.error());
    auto j = nlohmann::json::parse(*line, nullptr, false);
    if (!j.is_object()) return fail(Error{Errc::Internal, 0, "berth-shim: bad report: " + *line});
    if (j.contains("error")) {
        Errc code = static_cast<Errc>(j.value("code", static_cast<int>(Errc::Internal)));
        return fail(Error{code, 0, j.value("error", "")});
    }
    int init_pid = j.value("pid", 0);

    {
        std::lock_guard lk(e.mu);
        e.c.state.status = RunState::Running;
        e.c.state.pid = init_pid;
        e.c.state.started_at = now_unix_nanos();
        e.c.state.finished_at = 0;
        e.c.state.exit_code = 0;
        e.c.state.error.clear();
        e.c.state.oom_killed = false;
        e.c.state.has_been_started = true;
        e.c.state.manually_stopped = false;
        e.stopping = false;
        ++e.live_shims;
        ++e.generation;
    }
    if (auto s = save(e); !s) BLOG_WARN("save {}: {}", id, s.error().what());
    {
        // Kept for this write after the create's; the next one (the exit) may be days away:
        // not kilobytes per running container meanwhile.
        std::lock_guard lk(e.mu);
        std::string().swap(e.settings_json);
    }
    publish(e.c, "start");
    auto self = BERTH_TRY(find(id));
    start_health(self);
    // Events the shim sent meanwhile (an exit) wait in the connection.
    watch_shim(self, std::move(monitor));
    return {};
}

void ContainerService::watch_shim(const std::shared_ptr<Entry>& e, UniqueFd monitor) {
    {
        std::lock_guard lk(mu_);
        monitored_[monitor.get()] = e;
    }
    std::lock_guard lk(e->mu);
    e->monitor = std::move(monitor);
    e->monitor_fd = e->monitor.get();
    struct epoll_event ev {};
    ev.events = EPOLLIN;
    ev.data.fd = e->monitor_fd;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, e->monitor_fd, &ev);
}

Result<void> ContainerService::adopt(Entry& e) {
    shimproto::ShimPaths sp{shim_dir(e.c.id)};
    auto self = BERTH_TRY(find(e.c.id));
    e.mounted = true;
    auto mon = shimproto::connect_seqpacket(sp.socket());
    if (mon && shimproto::send_message(mon->get(), {{"op", "monitor"}})) {
        auto reply = shimproto::recv_message(mon->get());
        if (reply) {
            BLOG_INFO("re-adopted container {} (pid {})", e.c.id, reply->body.value("pid", 0));
            {
                std::lock_guard lk(e.mu);
                ++e.live_shims;
            }
            watch_shim(self, std::move(*mon));
            start_health(self);
            return {};
        }
    }
    // No shim: its exit record, or it died with the container still there.
    std::thread([this, self] { on_shim_gone(self); }).detach();
    return {};
}

void ContainerService::monitor_loop() {
    struct epoll_event evs[16];
    for (;;) {
        int n = ::epoll_wait(epoll_.get(), evs, 16, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return;
        for (int i = 0; i < n; ++i) {
            int fd = evs[i].data.fd;
            if (fd == wake_.get()) return;
            std::shared_ptr<Entry> e;
            {
                std::lock_guard lk(mu_);
                if (auto it = monitored_.find(fd); it != monitored_.end()) e = it->second.lock();
            }
            if (!e) {
                ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
                continue;
            }
            auto m = shimproto::recv_message(fd);
            if (m && m->body.value("event", "") == "exec-exit") {
                std::shared_ptr<Exec> x;
                {
                    std::lock_guard lk(mu_);
                    auto it = execs_.find(m->body.value("exec_id", ""));
                    if (it != execs_.end()) x = it->second;
                }
                if (x) {
                    {
                        std::lock_guard lk(x->mu);
                        x->e.running = false;
                        x->e.exit_code = m->body.value("exit_code", 0);
                    }
                    x->cv.notify_all();
                    publish(e->c, "exec_die", {{"execID", x->e.id},
                                               {"exitCode", std::to_string(*x->e.exit_code)}});
                }
                continue;
            }
            if (m && !m->body.contains("event")) continue;  // the monitor op's reply
            // The exit event (it carries the exit record), or the shim went away: then
            // exit.json tells.
            std::optional<shimproto::ExitRecord> rec;
            if (m && m->body.value("event", "") == "exit") {
                if (auto r = shimproto::exit_record_from(m->body)) rec = std::move(*r);
            }
            {
                std::lock_guard lk(mu_);
                monitored_.erase(fd);
            }
            UniqueFd monitor;
            {
                std::lock_guard lk(e->mu);
                ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
                e->monitor_fd = -1;
                monitor = std::move(e->monitor);
            }
            // Exit handling takes the container's op lock, which a stop may hold while it
            // waits for this very exit, and it may unmount (a sync of the read/write layer's
            // filesystem): a thread of its own does it. For an --rm container whose lock is
            // free it is done here, at once, as it is short (the removal goes on removal_'s
            // thread): `docker run --rm` doesn't wait for a thread to start.
            bool handled = false;
            if (std::unique_lock op(e->op, std::defer_lock);
                e->c.host_config.auto_remove && op.try_lock()) {
                on_shim_gone(e, rec ? &*rec : nullptr, std::move(op));
                handled = true;
            }
            // We hang up when that is done: the shim waits for it to tear the container down
            // (its kernel work would otherwise compete with ours for the CPUs). Its end
            // closing tells that it is done.
            std::thread([this, e, handled, rec, m = std::move(monitor)]() mutable {
                if (!handled) on_shim_gone(e, rec ? &*rec : nullptr);
                if (m) {
                    // Half a hang-up: the shim reads its end of file and goes on with its
                    // teardown; ours stays open until the shim exits and its end closes.
                    ::shutdown(m.get(), SHUT_WR);
                    if (!shimproto::wait_for_hang_up({m.get()}, kShimTeardownMs))
                        BLOG_WARN("berth-shim of {} still tearing down after {} ms", e->c.id,
                                  kShimTeardownMs);
                }
                m.reset();
                {
                    std::lock_guard lk(e->mu);
                    --e->live_shims;
                }
                e->cv.notify_all();
            }).detach();
        }
    }
}

void ContainerService::on_shim_gone(const std::shared_ptr<Entry>& e,
                                    const shimproto::ExitRecord* event,
                                    std::unique_lock<std::mutex> op) {
    // The exit event's record, else the one the shim left in exit.json.
    auto from_file = [&]() -> Result<shimproto::ExitRecord> {
        auto text = BERTH_TRY(read_file(shimproto::ShimPaths{shim_dir(e->c.id)}.exit_file()));
        return shimproto::parse_exit_record(text);
    };
    auto rec = event ? Result<shimproto::ExitRecord>(*event) : from_file();
    if (rec) {
        handle_exit(e, rec->exit_code, rec->oom_killed, rec->finished_at_ns, rec->error,
                    std::move(op));
        return;
    }
    // The shim died without recording an exit (killed): the container must not outlive it
    // unwatched. Remove what the runtime has of it, and report the exit as an error.
    auto g = runtime_globals();
    (void)runtime::remove(g, e->c.id, true);
    handle_exit(e, 255, false, now_unix_nanos(), "berth-shim exited unexpectedly", std::move(op));
}

void ContainerService::handle_exit(const std::shared_ptr<Entry>& e, int exit_code, bool oom,
                                   int64_t finished, std::string error,
                                   std::unique_lock<std::mutex> op) {
    if (!op.owns_lock()) op = std::unique_lock(e->op);
    {
        std::lock_guard lk(e->mu);
        if (e->removed || (e->c.state.status != RunState::Running &&
                           e->c.state.status != RunState::Paused))
            return;
    }
    bool user_stopped;
    int64_t ran_ns;
    {
        std::lock_guard lk(e->mu);
        auto& s = e->c.state;
        ran_ns = finished - s.started_at;
        user_stopped = s.manually_stopped || e->stopping;
        s.status = RunState::Exited;
        s.pid = 0;
        s.exit_code = exit_code;
        s.oom_killed = oom;
        s.finished_at = finished;
        s.error = std::move(error);
        ++e->exit_seq;
        ++e->generation;
    }
    // moby's restartmanager: policies apply unless the user stopped it.
    const auto& rp = e->c.host_config.restart_policy;
    bool restart = false;
    if (!user_stopped) {
        if (rp.name == "always" || rp.name == "unless-stopped") restart = true;
        if (rp.name == "on-failure" && exit_code != 0 &&
            (rp.maximum_retry_count == 0 || e->c.restart_count < rp.maximum_retry_count))
            restart = true;
    }
    // Waiters (`docker run`, `docker wait`) hear of the exit first: what follows is ours, and
    // whatever the user does next with the container takes its operation lock, which we hold
    // until it is done. The unmount alone syncs the read/write layer's filesystem (overlayfs'
    // sync_fs at the last reference), milliseconds on a disk. A crash in between finds the
    // shim's exit record at the next start and handles the exit again.
    e->cv.notify_all();
    if (oom) publish(e->c, "oom");
    publish(e->c, "die", {{"exitCode", std::to_string(exit_code)}, {"execDuration",
                          std::to_string(ran_ns > 0 ? ran_ns / 1'000'000'000 : 0)}});
    release_sandbox(*e);  // a restart gets a new one, as moby makes a new sandbox
    // A container that removes itself is unmounted by its removal, off the path of whoever
    // waits for that (`run --rm`), and its state file, about to go, isn't rewritten.
    bool auto_remove = !restart && e->c.host_config.auto_remove;
    if (!auto_remove) {
        unmount_rootfs(*e);
        if (auto s = save(*e); !s) BLOG_WARN("save {}: {}", e->c.id, s.error().what());
    }

    if (restart) {
        // Back-off: 100 ms doubling per restart, at most a minute; reset after 10 s of run.
        int64_t delay_ms = 100;
        if (ran_ns < 10'000'000'000) {
            for (int i = 0; i < e->c.restart_count && delay_ms < 60000; ++i) delay_ms *= 2;
        }
        if (delay_ms > 60000) delay_ms = 60000;
        {
            std::lock_guard lk(e->mu);
            e->c.state.status = RunState::Restarting;
            ++e->c.restart_count;
        }
        (void)save(*e);
        op.unlock();
        std::thread([this, e, delay_ms] {
            std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
            std::lock_guard op2(e->op);
            {
                std::lock_guard lk(e->mu);
                if (e->removed || e->c.state.status != RunState::Restarting) return;
            }
            auto r = start_locked(*e);
            if (!r) BLOG_WARN("restart {}: {}", e->c.id, r.error().what());
            else publish(e->c, "restart");
        }).detach();
        return;
    }
    if (auto_remove) {
        auto r = remove_locked(e);
        if (!r) BLOG_WARN("auto-remove {}: {}", e->c.id, r.error().what());
    }
}

Result<bool> ContainerService::wait_exit(Entry& e, uint64_t seq, int timeout_ms) {
    std::unique_lock lk(e.mu);
    auto pred = [&] { return e.exit_seq > seq || e.removed; };
    if (timeout_ms < 0) {
        e.cv.wait(lk, pred);
        return true;
    }
    return e.cv.wait_for(lk, std::chrono::milliseconds(timeout_ms), pred);
}

Result<bool> ContainerService::stop(std::string_view name, std::optional<int> timeout,
                                    const std::string& signal) {
    auto e = BERTH_TRY(find(name));
    std::unique_lock op(e->op);
    uint64_t seq;
    std::string sig_name;
    int t;
    bool paused;
    {
        std::lock_guard lk(e->mu);
        auto st = e->c.state.status;
        if (st == RunState::Restarting) {
            e->c.state.status = RunState::Exited;  // cancels the pending restart
            e->c.state.manually_stopped = true;
            return true;
        }
        if (st != RunState::Running && st != RunState::Paused) return false;
        paused = st == RunState::Paused;
        e->stopping = true;
        e->c.state.manually_stopped = true;
        seq = e->exit_seq;
        sig_name = !signal.empty() ? signal
                   : e->c.config.stop_signal.empty() ? "SIGTERM" : e->c.config.stop_signal;
        t = timeout ? *timeout : e->c.config.stop_timeout ? *e->c.config.stop_timeout : 10;
    }
    (void)save(*e);
    auto g = runtime_globals();
    int sig = BERTH_TRY(runtime::parse_signal(sig_name));
    if (auto k = runtime::kill(g, e->c.id, sig, false); k)
        publish(e->c, "kill", {{"signal", std::to_string(sig)}});
    if (paused) (void)runtime::resume(g, e->c.id);
    op.unlock();
    auto done = wait_exit(*e, seq, t < 0 ? -1 : t * 1000);
    if (!done || !*done) {
        (void)runtime::kill(g, e->c.id, SIGKILL, true);
        publish(e->c, "kill", {{"signal", "9"}});
        done = wait_exit(*e, seq, 30000);
        if (!done || !*done)
            return make_error(Errc::Internal, "cannot stop container: {}: tried to kill container, "
                              "but did not receive an exit event", e->c.id);
    }
    publish(e->c, "stop");
    return true;
}

Result<void> ContainerService::restart(std::string_view name, std::optional<int> timeout,
                                       const std::string& signal) {
    auto e = BERTH_TRY(find(name));
    BERTH_TRY(stop(e->c.id, timeout, signal));
    BERTH_TRY(start(e->c.id));
    publish(e->c, "restart");
    return {};
}

Result<void> ContainerService::kill(std::string_view name, const std::string& signal) {
    auto e = BERTH_TRY(find(name));
    int sig = BERTH_TRY(runtime::parse_signal(signal.empty() ? "KILL" : signal));
    {
        std::lock_guard lk(e->mu);
        if (e->c.state.status != RunState::Running && e->c.state.status != RunState::Paused)
            return make_error(Errc::Conflict, "cannot kill container: {}: container {} is not running",
                              name, e->c.id);
    }
    auto g = runtime_globals();
    BERTH_TRY(runtime::kill(g, e->c.id, sig, false));
    publish(e->c, "kill", {{"signal", std::to_string(sig)}});
    return {};
}

Result<ContainerService::WaitFn> ContainerService::prepare_wait(std::string_view name,
                                                                WaitCondition c) {
    auto e = BERTH_TRY(find(name));
    uint64_t seq;
    {
        std::lock_guard lk(e->mu);
        seq = e->exit_seq;
    }
    return WaitFn([e, c, seq](const std::function<bool()>& cancelled)
                      -> Result<std::pair<int, std::string>> {
        std::unique_lock lk(e->mu);
        auto done = [&] {
            switch (c) {
                case WaitCondition::NotRunning:
                    return e->removed || (e->c.state.status != RunState::Running &&
                                          e->c.state.status != RunState::Paused &&
                                          e->c.state.status != RunState::Restarting);
                case WaitCondition::NextExit: return e->exit_seq > seq || e->removed;
                case WaitCondition::Removed: return e->removed;
            }
            return true;
        };
        while (!done()) {
            e->cv.wait_for(lk, std::chrono::milliseconds(250));
            if (!done() && cancelled && cancelled())
                return make_error(Errc::Unavailable, "the client went away");
        }
        return std::pair<int, std::string>{e->c.state.exit_code, e->c.state.error};
    });
}

Result<void> ContainerService::pause(std::string_view name) {
    auto e = BERTH_TRY(find(name));
    std::lock_guard op(e->op);
    {
        std::lock_guard lk(e->mu);
        if (e->c.state.status == RunState::Paused)
            return make_error(Errc::Conflict, "Container {} is already paused", e->c.id);
        if (e->c.state.status != RunState::Running)
            return make_error(Errc::Conflict, "Container {} is not running", e->c.id);
    }
    BERTH_TRY(runtime::pause(runtime_globals(), e->c.id));
    {
        std::lock_guard lk(e->mu);
        e->c.state.status = RunState::Paused;
    }
    (void)save(*e);
    publish(e->c, "pause");
    return {};
}

Result<void> ContainerService::unpause(std::string_view name) {
    auto e = BERTH_TRY(find(name));
    std::lock_guard op(e->op);
    {
        std::lock_guard lk(e->mu);
        if (e->c.state.status != RunState::Paused)
            return make_error(Errc::Conflict, "Container {} is not paused", e->c.id);
    }
    BERTH_TRY(runtime::resume(runtime_globals(), e->c.id));
    {
        std::lock_guard lk(e->mu);
        e->c.state.status = RunState::Running;
    }
    (void)save(*e);
    publish(e->c, "unpause");
    return {};
}

Result<std::vector<pid_t>> ContainerService::pids(std::string_view name) {
    auto e = BERTH_TRY(find(name));
    {
        std::lock_guard lk(e->mu);
        if (e->c.state.status != RunState::Running && e->c.state.status != RunState::Paused)
            return make_error(Errc::Conflict, "Container {} is not running", e->c.id);
    }
    return runtime::pids(runtime_globals(), e->c.id);
}

Result<cgroups::Stats> ContainerService::stats(std::string_view name) {
    auto e = BERTH_TRY(find(name));
    return runtime::stats(runtime_globals(), e->c.id);
}

Result<void> ContainerService::update(std::string_view name, const container::HostConfig& u) {
    auto e = BERTH_TRY(find(name));
    std::lock_guard op(e->op);
    container::HostConfig h;
    {
        std::lock_guard lk(e->mu);
        h = e->c.host_config;
    }
    // moby's update: a zero value leaves the field as it is.
    if (u.cpu_shares) h.cpu_shares = u.cpu_shares;
    if (u.memory) h.memory = u.memory;
    if (u.memory_swap) h.memory_swap = u.memory_swap;
    if (u.memory_reservation) h.memory_reservation = u.memory_reservation;
    if (u.nano_cpus) h.nano_cpus = u.nano_cpus;
    if (u.cpu_period) h.cpu_period = u.cpu_period;
    if (u.cpu_quota) h.cpu_quota = u.cpu_quota;
    if (!u.cpuset_cpus.empty()) h.cpuset_cpus = u.cpuset_cpus;
    if (!u.cpuset_mems.empty()) h.cpuset_mems = u.cpuset_mems;
    if (u.blkio_weight) h.blkio_weight = u.blkio_weight;
    if (u.pids_limit) h.pids_limit = *u.pids_limit <= 0 ? std::nullopt : u.pids_limit;
    if (!u.restart_policy.name.empty()) {
        if (h.auto_remove && u.restart_policy.name != "no")
            return make_error(Errc::InvalidArgument,
                              "Restart policy cannot be updated because AutoRemove is enabled for the container");
        h.restart_policy = u.restart_policy;
    }
    if (h.memory && h.memory_swap > 0 && h.memory_swap < h.memory)
        return make_error(Errc::InvalidArgument,
                          "Minimum memoryswap limit should be larger than memory limit, see usage");
    bool running;
    {
        std::lock_guard lk(e->mu);
        running = e->c.state.status == RunState::Running || e->c.state.status == RunState::Paused;
    }
    if (running) {
        container::SpecInputs in;
        in.id = e->c.id;
        in.config = e->c.config;
        in.host = h;
        in.rootfs = container_dir(e->c.id) + "/merged";
        auto spec = BERTH_TRY(container::build_spec(in));
        if (spec.linux && spec.linux->resources)
            BERTH_TRY(runtime::update(runtime_globals(), e->c.id,
                                      *spec.linux->resources));
    }
    {
        std::lock_guard lk(e->mu);
        e->c.host_config = h;
        e->settings_json.clear();
    }
    BERTH_TRY(save(*e));
    publish(e->c, "update");
    return {};
}

Result<void> ContainerService::with_rootfs(
    std::string_view name,
    const std::function<Result<void>(const std::string&, const std::string&)>& fn) {
    auto e = BERTH_TRY(find(name));
    std::lock_guard op(e->op);
    std::string dir = container_dir(e->c.id);
    settle_mount(*e);
    bool temp = !e->mounted;
    if (temp) BERTH_TRY(mount_rootfs(*e));
    auto r = fn(dir + "/merged", dir + "/upper");
    if (temp) unmount_rootfs(*e);
    return r;
}

}  // namespace berth::engine
