// ContainerService: records, names, create, list, remove, rename, prune (containers.hpp).
// Starting, stopping and the shims are in container_lifecycle.cpp; attach and exec in
// container_io.cpp.

#include <dirent.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/time.hpp"
#include "berth/container/merge.hpp"
#include "berth/container/names.hpp"
#include "berth/logfile/writer.hpp"
#include "berth/runtime/runtime.hpp"
#include "containers_impl.hpp"
#include "deferred_removal.hpp"
#include "netns_pool.hpp"
#include "spare_dirs.hpp"
#include "user_files_cache.hpp"
#include "shim_launcher.hpp"

namespace berth::engine {

namespace {

// A removed container's directory, renamed to <data-root>/containers/.removing-<id> until its
// files are gone (load_all() skips dot-names as containers).
constexpr std::string_view kRemovingPrefix = ".removing-";

bool cgroup_v2_only() {
    auto l = cgroups::host_layout();
    return l && l->pure_v2();
}

std::string host_hostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) < 0) return "localhost";
    return buf;
}

}  // namespace

ContainerService::ContainerService(Paths paths, image::ImageService& images, EventBus& events)
    : paths_(std::move(paths)), images_(images), events_(events) {}

ContainerService::~ContainerService() { shutdown(); }

std::string ContainerService::container_dir(const std::string& id) const {
    return paths_.data_root + "/containers/" + id;
}

std::string ContainerService::shim_dir(const std::string& id) const {
    return paths_.exec_root + "/containers/" + id;
}

std::string ContainerService::record_path(const Container& c) const {
    return (c.host_config.auto_remove ? shim_dir(c.id) : container_dir(c.id)) + "/config.v2.json";
}

Result<std::unique_ptr<ContainerService>> ContainerService::open(Paths paths,
                                                                 image::ImageService& images,
                                                                 EventBus& events) {
    BERTH_TRY(mkdir_all(paths.data_root + "/containers", 0710));
    BERTH_TRY(mkdir_all(paths.exec_root + "/containers", 0711));
    std::unique_ptr<ContainerService> s(new ContainerService(std::move(paths), images, events));
    s->removal_ = std::make_unique<DeferredRemoval>();
    s->spares_ = std::make_unique<SpareDirs>(s->paths_.data_root + "/containers", 2);
    s->removal_->set_reuse([p = s->spares_.get()](const std::string& tree) { return p->park(tree); });
    s->netns_ = std::make_unique<NetnsPool>(s->paths_.exec_root + "/netns");
    s->users_ = std::make_unique<UserFilesCache>(16);
    // A shim's command line: berth-shim <exec-root>/containers/<64 hex digits>.
    size_t title = std::string_view("berth-shim ").size() + s->shim_dir(std::string(64, '0')).size();
    s->launcher_ = std::make_unique<ShimLauncher>(s->paths_.shim_binary, title);
    // Now rather than in the first start; a failure here is retried (and reported) there.
    if (auto l = s->launcher_->prepare(); !l) BLOG_WARN("shim launcher: {}", l.error().what());
    s->epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!s->epoll_) return BERTH_SYS_ERROR("epoll_create1");
    s->wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!s->wake_) return BERTH_SYS_ERROR("eventfd");
    struct epoll_event ev {};
    ev.events = EPOLLIN;
    ev.data.fd = s->wake_.get();
    ::epoll_ctl(s->epoll_.get(), EPOLL_CTL_ADD, s->wake_.get(), &ev);
    s->monitor_ = std::thread([p = s.get()] { p->monitor_loop(); });
    BERTH_TRY(s->load_all());
    return s;
}

void ContainerService::shutdown() {
    {
        std::lock_guard lk(mu_);
        if (stopping_) return;
        stopping_ = true;
    }
    if (wake_) {
        uint64_t one = 1;
        (void)!::write(wake_.get(), &one, sizeof one);
    }
    if (monitor_.joinable()) monitor_.join();
}

Result<void> ContainerService::load_all() {
    std::string dir = paths_.data_root + "/containers";
    DIR* d = ::opendir(dir.c_str());
    if (!d) return BERTH_SYS_ERROR("open {}", dir);
    std::vector<std::string> ids;
    std::vector<std::string> leftovers;  // removed, but the daemon stopped before their files
    while (struct dirent* de = ::readdir(d)) {
        std::string_view name = de->d_name;
        if (name.starts_with(kRemovingPrefix)) leftovers.emplace_back(dir + "/" + de->d_name);
        else if (SpareDirs::is_spare_name(name) && !spares_->adopt(dir + "/" + de->d_name))
            leftovers.emplace_back(dir + "/" + de->d_name);
        else if (name[0] != '.') ids.emplace_back(name);
    }
    ::closedir(d);
    for (auto& path : leftovers) removal_->remove(std::move(path), {"merged"}, true);
    std::string exec_dir = paths_.exec_root + "/containers";
    if (auto names = list_dir(exec_dir))
        for (const auto& name : *names)
            if (name.starts_with(kRemovingPrefix)) removal_->remove(exec_dir + "/" + name);
    for (const auto& id : ids) {
        // An --rm container's record is in its exec directory (record_path).
        std::string path = shim_dir(id) + "/config.v2.json";
        auto text = read_file(path);
        if (!text) {
            path = container_dir(id) + "/config.v2.json";
            text = read_file(path);
        }
        if (!text) {
            // A create that crashed before its record was written, or an --rm container whose
            // record went with the exec root (a reboot): nothing refers to it.
            BLOG_WARN("removing container directory {}: it has no record", container_dir(id));
            (void)remove_all(container_dir(id));
            continue;
        }
        auto c = container_from_json(*text, path);
        if (!c) {
            BLOG_ERROR("skipping container {}: {}", id, c.error().what());
            continue;
        }
        auto e = std::make_shared<Entry>();
        e->c = std::move(*c);
        {
            std::lock_guard lk(mu_);
            names_[e->c.name] = e->c.id;
            by_id_[e->c.id] = e;
        }
        RunState st = e->c.state.status;
        if (st == RunState::Running || st == RunState::Paused || st == RunState::Restarting) {
            std::lock_guard op(e->op);
            auto r = adopt(*e);
            if (!r) BLOG_WARN("container {}: {}", id, r.error().what());
        } else if (st == RunState::Removing) {
            (void)remove_locked(e);
        } else if (st == RunState::Created) {
            unmount_rootfs(*e);  // an early mount (create) of a daemon that ran here before
        }
    }
    // Restart policies apply to containers that were running when the daemon went down and
    // are gone now (moby's restore: "always" and "unless-stopped" come back).
    std::vector<std::shared_ptr<Entry>> all;
    {
        std::lock_guard lk(mu_);
        for (auto& [id, e] : by_id_) all.push_back(e);
    }
    // Network namespaces no record names: the previous daemon's ready ones.
    std::set<std::string> in_use;
    for (auto& e : all) {
        std::lock_guard lk(e->mu);
        if (!e->c.sandbox_key.empty()) in_use.insert(e->c.sandbox_key);
    }
    netns_->release_unused(in_use);
    for (auto& e : all) {
        const auto& rp = e->c.host_config.restart_policy.name;
        bool wanted = rp == "always" || (rp == "unless-stopped" && !e->c.state.manually_stopped);
        if (wanted && e->c.state.status == RunState::Exited && e->c.state.has_been_started) {
            auto r = start(e->c.id);
            if (!r) BLOG_WARN("restart {}: {}", e->c.id, r.error().what());
        }
    }
    return {};
}

Result<std::shared_ptr<ContainerService::Entry>> ContainerService::find(std::string_view name) const {
    std::lock_guard lk(mu_);
    // moby's GetContainer: full ID, then name, then unique ID prefix.
    if (auto it = by_id_.find(std::string(name)); it != by_id_.end()) return it->second;
    std::string n = name.empty() || name[0] == '/' ? std::string(name) : "/" + std::string(name);
    if (auto it = names_.find(n); it != names_.end()) return by_id_.at(it->second);
    if (!name.empty() && name.size() < 64 &&
        std::all_of(name.begin(), name.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
        std::shared_ptr<Entry> found;
        for (auto it = by_id_.lower_bound(std::string(name));
             it != by_id_.end() && it->first.compare(0, name.size(), name) == 0; ++it) {
            if (found)
                return make_error(Errc::InvalidArgument,
                                  "multiple IDs found with provided prefix: {}", name);
            found = it->second;
        }
        if (found) return found;
    }
    return make_error(Errc::NotFound, "No such container: {}", name);
}

Result<void> ContainerService::save(const Entry& e) {
    std::string text;
    {
        std::lock_guard lk(e.mu);
        text = container_record_text(
            e.c, e.settings_json.empty() ? container_settings_json(e.c) : e.settings_json);
    }
    // Atomic (the old record or the new one, never half of one) but not fsynced: a state
    // change lost in a power cut is re-derived at start-up from the shims and exit records,
    // and fsyncs were half of a `run --rm`.
    return atomic_write_file(record_path(e.c), text, 0600, Durability::Volatile);
}

void ContainerService::publish(const Container& c, std::string_view action,
                               std::map<std::string, std::string> extra) {
    Event ev;
    ev.type = "container";
    ev.action = std::string(action);
    ev.actor_id = c.id;
    // moby's LogContainerEventWithAttributes: labels, then image and name.
    ev.attributes = c.config.labels;
    ev.attributes["image"] = c.config.image;
    ev.attributes["name"] = c.name.substr(1);
    for (auto& [k, v] : extra) ev.attributes[k] = std::move(v);
    events_.publish(std::move(ev));
}

std::string hosts_file(const container::HostConfig& h) {
    std::string out =
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::\tip6-localnet\n"
        "ff00::\tip6-mcastprefix\n"
        "ff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n";
    for (const auto& eh : h.extra_hosts) {
        // "name:ip" (the CLI's --add-host) or "name=ip"; ip may be IPv6 with colons.
        size_t sep = eh.find_first_of(":=");
        if (sep == std::string::npos) continue;
        out += eh.substr(sep + 1) + "\t" + eh.substr(0, sep) + "\n";
    }
    return out;
}

Result<std::string> resolv_conf_file(const container::HostConfig& h) {
    std::vector<std::string> servers = h.dns, search = h.dns_search, options = h.dns_options;
    if (servers.empty() || search.empty() || options.empty()) {
        auto host = read_file("/etc/resolv.conf");
        std::string text = host ? *host : "";
        size_t pos = 0;
        std::vector<std::string> hs, hsearch, hopts;
        while (pos < text.size()) {
            size_t nl = text.find('\n', pos);
            std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
            pos = nl == std::string::npos ? text.size() : nl + 1;
            std::istringstream in(line);
            std::string key, v;
            in >> key;
            if (key == "nameserver" && (in >> v)) {
                // moby drops loopback resolvers: they mean nothing inside the container.
                if (v.rfind("127.", 0) != 0 && v != "::1") hs.push_back(v);
            } else if (key == "search" || key == "domain") {
                hsearch.clear();
                while (in >> v) hsearch.push_back(v);
            } else if (key == "options") {
                while (in >> v) hopts.push_back(v);
            }
        }
        if (servers.empty()) servers = hs;
        if (search.empty()) search = hsearch;
        if (options.empty()) options = hopts;
    }
    if (servers.empty() && h.network_mode != "host") {
        // moby's defaults when the host has none usable.
        servers = {"8.8.8.8", "8.8.4.4"};
    }
    std::string out;
    if (!search.empty()) {
        out += "search";
        for (const auto& s : search) out += " " + s;
        out += "\n";
    }
    for (const auto& s : servers) out += "nameserver " + s + "\n";
    if (!options.empty()) {
        out += "options";
        for (const auto& o : options) out += " " + o;
        out += "\n";
    }
    return out;
}

Result<Container> ContainerService::create(const CreateOptions& o,
                                           std::vector<std::string>* /*warnings*/) {
    const auto& req = o.request;
    BERTH_TRY(container::validate(req));
    if (req.config.image.empty())
        return make_error(Errc::InvalidArgument, "No image specified");  // hmm: moby's text
    auto img = BERTH_TRY(images_.get(req.config.image));
    if (!o.platform.empty()) {
        auto want = o.platform;
        auto have = img.config.os + "/" + img.config.architecture;
        if (want != img.config.os && want.rfind(have, 0) != 0)
            return make_error(Errc::NotFound,
                              "image with reference {} was found but does not match the specified "
                              "platform: wanted {}, actual: {}",
                              req.config.image, want, have);
    }

    Container c;
    c.id = container::generate_container_id();
    c.created = now_unix_nanos();
    c.image_id = img.record.id.string();
    c.host_config = container::default_host_config(req.host_config, cgroup_v2_only());
    auto merged = BERTH_TRY(container::merge_and_verify_config(req.config, &img.config.config));
    c.config = container::default_config(std::move(merged), c.id, c.host_config, host_hostname());
    c.config.image = req.config.image;
    c.networking = req.networking_config;
    std::vector<std::string> argv;
    if (c.config.entrypoint) argv = *c.config.entrypoint;
    if (c.config.cmd) argv.insert(argv.end(), c.config.cmd->begin(), c.config.cmd->end());
    c.path = argv.empty() ? "" : argv[0];
    c.args.assign(argv.begin() + (argv.empty() ? 0 : 1), argv.end());
    const auto& log_type = c.host_config.log_config.type;
    if (log_type != "json-file" && log_type != "none")
        return make_error(Errc::InvalidArgument,
                          "failed to create task for container: failed to initialize logging "
                          "driver: logger: no log driver named '{}' is registered",
                          log_type);
    if (log_type == "json-file") BERTH_TRY(logfile::parse_options(c.host_config.log_config.config));
    // The name: reserved before anything is written, released if the create fails.
    std::string name;
    {
        std::lock_guard lk(mu_);
        if (!o.name.empty()) {
            BERTH_TRY(container::validate_container_name(o.name));
            name = o.name[0] == '/' ? o.name : "/" + o.name;
            if (auto it = names_.find(name); it != names_.end())
                return make_error(Errc::Conflict,
                                  "Conflict. The container name \"{}\" is already in use by "
                                  "container \"{}\". You have to remove (or rename) that container "
                                  "to be able to reuse that name.",
                                  name, it->second);
            names_[name] = c.id;
        } else {
            auto gen = container::generate_unique_name(c.id, [&](const std::string& n) {
                return names_.emplace("/" + n, c.id).second;
            });
            if (!gen) return Unexpected(gen.error());
            name = "/" + *gen;
        }
    }
    c.name = name;
    auto release = [&] {
        std::lock_guard lk(mu_);
        names_.erase(name);
    };
    std::string dir = container_dir(c.id);
    std::string run_dir = shim_dir(c.id);
    auto e = std::make_shared<Entry>();
    auto made = [&]() -> Result<void> {
        if (log_type == "json-file") c.log_path = dir + "/" + c.id + "-json.log";
        if (!spares_->take(dir, c.log_path) && ::mkdir(dir.c_str(), 0710) < 0)
            return BERTH_SYS_ERROR("create {}", dir);
        // Written at every start (write_etc_files), as moby builds them for each run of the
        // container, in its exec directory: three files fewer to create on the disk, which
        // costs more than a tmpfs' writes.
        c.hostname_path = run_dir + "/hostname";
        c.hosts_path = run_dir + "/hosts";
        c.resolv_conf_path = run_dir + "/resolv.conf";
        // The record of a container that removes itself lives in its exec directory too (a
        // tmpfs): it is written at create and start, and is gone at the exit, so it never
        // needs the disk, where each write is a new inode (atomic_write_file). What that
        // changes is what a reboot leaves: moby removes at its restore an --rm container that
        // is not running, and so do we (its directory on the data root has no record, see
        // load_all); one that was created and never started goes too, where moby keeps it.
        // An --rm container is made to be run at once (`docker run --rm`: create, attach,
        // wait, start): its overlay is mounted meanwhile, off the start's path, from here on,
        // as the record is written and the client's next requests come (the mount is the
        // longest step of a start: overlayfs makes and checks its work directory on the
        // disk). Only for those: moby mounts at start, and a container that is only created
        // holds no mount there; an --rm one that is never started holds it until removed.
        if (c.host_config.auto_remove) {
            BERTH_TRY(mkdir_all(run_dir, 0700));
            e->c = c;
            e->mounting = std::async(std::launch::async, [this, e] { return mount_overlay(*e); });
        }
        e->settings_json = container_settings_json(c);  // for the start's write, too
        return atomic_write_file(record_path(c), container_record_text(c, e->settings_json), 0600,
                                 Durability::Volatile);
    }();
    if (!made) {
        if (e->mounting.valid()) unmount_rootfs(*e);
        (void)remove_all(dir);
        if (c.host_config.auto_remove) (void)remove_all(run_dir);
        release();
        // A 404 from create makes the CLI pull the image: only a missing image may be one.
        Error err = made.error();
        if (err.code == Errc::NotFound) err.code = Errc::Internal;
        return Unexpected(std::move(err));
    }
    if (!e->mounting.valid()) e->c = c;  // else set before the mount began, and read by it
    {
        std::lock_guard lk(mu_);
        by_id_[c.id] = e;
    }
    publish(c, "create");
    return c;
}

bool ContainerService::own_network_namespace(const Container& c) {
    const std::string& mode = c.host_config.network_mode;
    return mode != "host" && mode.rfind("container:", 0) != 0;
}

void ContainerService::release_sandbox(Entry& e) {
    std::string key;
    {
        std::lock_guard lk(e.mu);
        key = std::move(e.c.sandbox_key);
        e.c.sandbox_key.clear();
    }
    netns_->discard(std::move(key));
}

Result<void> ContainerService::write_etc_files(const Entry& e) const {
    Container c;
    {
        std::lock_guard lk(e.mu);
        c = e.c;
    }
    std::string hostname = c.config.hostname;
    if (!c.config.domainname.empty()) hostname += "." + c.config.domainname;
    BERTH_TRY(atomic_write_file(c.hostname_path, hostname + "\n", 0644, Durability::Volatile));
    std::string hosts = hosts_file(c.host_config);
    if (c.host_config.network_mode != "host")
        hosts += "127.0.0.1\t" + c.config.hostname + "\n";  // resolves its own name
    BERTH_TRY(atomic_write_file(c.hosts_path, hosts, 0644, Durability::Volatile));
    std::string resolv = BERTH_TRY(resolv_conf_file(c.host_config));
    return atomic_write_file(c.resolv_conf_path, resolv, 0644, Durability::Volatile);
}

std::vector<Container> ContainerService::list(const ListOptions& o) const {
    std::vector<std::shared_ptr<Entry>> entries;
    {
        std::lock_guard lk(mu_);
        for (const auto& [id, e] : by_id_) entries.push_back(e);
    }
    std::vector<Container> out;
    for (const auto& e : entries) {
        std::lock_guard lk(e->mu);
        if (e->removed) continue;
        auto st = e->c.state.status;
        if (!o.all && st != RunState::Running && st != RunState::Paused &&
            st != RunState::Restarting)
            continue;
        out.push_back(e->c);
    }
    std::sort(out.begin(), out.end(),
              [](const Container& a, const Container& b) { return a.created > b.created; });
    return out;
}

Result<Container> ContainerService::get(std::string_view name) const {
    auto e = BERTH_TRY(find(name));
    std::lock_guard lk(e->mu);
    return e->c;
}

Result<void> ContainerService::remove(std::string_view name, bool force, bool /*volumes*/) {
    auto e = BERTH_TRY(find(name));
    std::unique_lock op(e->op);
    RunState st;
    {
        std::lock_guard lk(e->mu);
        st = e->c.state.status;
        if (e->removed) return make_error(Errc::NotFound, "No such container: {}", name);
    }
    if (st == RunState::Running || st == RunState::Paused || st == RunState::Restarting) {
        if (!force) {
            std::string what = st == RunState::Paused
                                   ? "container is paused and must be unpaused first"
                                   : "container is running: stop the container before removing or force remove";
            if (st == RunState::Restarting)
                what = "container is restarting: stop the container before removing or force remove";
            return make_error(Errc::Conflict, "cannot remove container \"{}\": {}", e->c.name, what);
        }
        {
            std::lock_guard lk(e->mu);
            e->stopping = true;
            e->c.state.manually_stopped = true;
        }
        auto g = runtime_globals();
        if (st == RunState::Paused) (void)runtime::resume(g, e->c.id);
        (void)runtime::kill(g, e->c.id, SIGKILL, true);
        uint64_t seq;
        {
            std::lock_guard lk(e->mu);
            seq = e->exit_seq;
        }
        op.unlock();  // the exit handling takes it
        auto exited = wait_exit(*e, seq, 30000);
        op.lock();
        if (!exited || !*exited)
            return make_error(Errc::Internal, "could not kill running container {}, cannot remove",
                              e->c.id);
    }
    {
        // Nothing of it runs once it is removed: its shim's teardown (mounts, cgroups) is done.
        std::unique_lock lk(e->mu);
        if (!e->cv.wait_for(lk, std::chrono::milliseconds(kShimTeardownMs),
                            [&] { return e->live_shims == 0; }))
            BLOG_WARN("remove {}: its berth-shim has not exited after {} ms", e->c.id, kShimTeardownMs);
    }
    return remove_locked(e);
}

Result<void> ContainerService::remove_locked(const std::shared_ptr<Entry>& e) {
    settle_mount(*e);
    {
        std::lock_guard lk(e->mu);
        if (e->removed) return {};
        e->c.state.status = RunState::Removing;
    }
    // The exec directory too (its files: the bundle, /etc files, exit record, socket, log)
    // goes on that thread, after a rename that takes it out of sight.
    (void)removal_->move_and_remove(
        shim_dir(e->c.id), paths_.exec_root + "/containers/" + std::string(kRemovingPrefix) + e->c.id);
    release_sandbox(*e);
    // Out of sight at once; its root filesystem's unmount and its files (the read/write layer:
    // any number) go on removal_'s thread.
    auto r = removal_->move_and_remove(
        container_dir(e->c.id), paths_.data_root + "/containers/" + std::string(kRemovingPrefix) + e->c.id,
        {"merged"}, true);
    if (!r) {
        std::lock_guard lk(e->mu);
        e->c.state.status = RunState::Dead;
        e->c.state.error = r.error().what();
        return make_error(Errc::Internal, "unable to remove filesystem for {}: {}", e->c.id,
                          r.error().what());
    }
    std::vector<PendingAttach> pending;
    {
        std::lock_guard lk(e->mu);
        e->removed = true;
        pending = std::move(e->pending);
    }
    pending.clear();  // their done channels close: the attaches end
    {
        std::lock_guard lk(mu_);
        names_.erase(e->c.name);
        by_id_.erase(e->c.id);
        for (const auto& x : e->c.exec_ids) execs_.erase(x);
    }
    e->cv.notify_all();
    publish(e->c, "destroy");
    return {};
}

Result<void> ContainerService::rename(std::string_view name, const std::string& new_name) {
    auto e = BERTH_TRY(find(name));
    BERTH_TRY(container::validate_container_name(new_name));
    std::string n = new_name[0] == '/' ? new_name : "/" + new_name;
    std::string old;
    {
        std::lock_guard lk(mu_);
        old = e->c.name;
        if (n == old)
            return make_error(Errc::InvalidArgument, "Renaming a container with the same name as its current name");
        if (auto it = names_.find(n); it != names_.end())
            return make_error(Errc::Conflict,
                              "Conflict. The container name \"{}\" is already in use by container "
                              "\"{}\". You have to remove (or rename) that container to be able to "
                              "reuse that name.",
                              n, it->second);
        names_.erase(old);
        names_[n] = e->c.id;
        std::lock_guard elk(e->mu);
        e->c.name = n;
    }
    BERTH_TRY(save(*e));
    publish(e->c, "rename", {{"oldName", old}});
    return {};
}

Result<std::vector<std::string>> ContainerService::prune(
    const std::function<bool(const Container&)>& select) {
    std::vector<std::string> removed;
    for (const auto& c : list(ListOptions{true})) {
        if (c.state.status == RunState::Running || c.state.status == RunState::Paused ||
            c.state.status == RunState::Restarting)
            continue;
        if (!select(c)) continue;
        auto r = remove(c.id, false, false);
        if (r) removed.push_back(c.id);
        else BLOG_WARN("prune {}: {}", c.id, r.error().what());
    }
    return removed;
}

std::optional<std::string> ContainerService::image_user(const std::string& image_id) const {
    std::lock_guard lk(mu_);
    for (const auto& [id, e] : by_id_)
        if (e->c.image_id == image_id) return id;
    return std::nullopt;
}

ContainerService::Counts ContainerService::counts() const {
    Counts n;
    std::lock_guard lk(mu_);
    for (const auto& [id, e] : by_id_) {
        std::lock_guard elk(e->mu);
        ++n.total;
        switch (e->c.state.status) {
            case RunState::Running:
            case RunState::Restarting: ++n.running; break;
            case RunState::Paused: ++n.paused; break;
            default: ++n.stopped; break;
        }
    }
    return n;
}

}  // namespace berth::engine
