#include "berth/api/server/engine_backend.hpp"

#include <fcntl.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <ctime>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "berth/common/fs.hpp"
#include "berth/common/strings.hpp"
#include "berth/common/time.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/engine/daemon.hpp"
#include "berth/image/image_service.hpp"
#include "berth/image/reference.hpp"
#include "berth/oci/image_spec.hpp"

namespace berth::api {

// engine_backend_containers.cpp
std::unique_ptr<ContainerBackend> make_engine_container_backend(engine::Daemon& daemon);

namespace {

using nlohmann::json;

// ---- conversions ---------------------------------------------------------------------------

std::string familiar(const std::string& full_ref) {
    auto r = image::Reference::parse(full_ref);
    return r ? r->familiar_string() : full_ref;
}

std::vector<std::string> familiar_all(const std::vector<std::string>& refs) {
    std::vector<std::string> out;
    out.reserve(refs.size());
    for (const auto& r : refs) out.push_back(familiar(r));
    return out;
}

// container.Config as moby marshals it: every member present, zero values included, so that
// clients reading Config.Env or ContainerConfig.Volumes find the key (compose does). The
// members the image's JSON has are laid over this.
json zero_container_config() {
    return json{{"Hostname", ""},       {"Domainname", ""},      {"User", ""},
                {"AttachStdin", false}, {"AttachStdout", false}, {"AttachStderr", false},
                {"Tty", false},         {"OpenStdin", false},    {"StdinOnce", false},
                {"Env", nullptr},       {"Cmd", nullptr},        {"Image", ""},
                {"Volumes", nullptr},   {"WorkingDir", ""},      {"Entrypoint", nullptr},
                {"OnBuild", nullptr},   {"Labels", nullptr}};
}

json container_config_from(const json& raw_config, const char* key) {
    json out = zero_container_config();
    auto it = raw_config.find(key);
    if (it != raw_config.end() && it->is_object()) {
        for (const auto& [k, v] : it->items()) out[k] = v;
    }
    return out;
}

types::ImageSummary summary_of(const image::Image& img) {
    types::ImageSummary s;
    s.id = img.record.id.string();
    s.parent_id = img.record.parent ? img.record.parent->string() : "";
    s.repo_tags = familiar_all(img.record.tags);
    s.repo_digests = familiar_all(img.record.repo_digests);
    s.created = img.record.created / 1000000000;
    s.size = static_cast<int64_t>(img.record.size);
    s.labels = img.config.config.labels;
    return s;
}

// Fixed-size blocks between a BodyReader/Writer (the HTTP side) and a pipe (the image service
// side, which works on file descriptors so it can stream into libarchive and splice).
constexpr size_t kPumpBlock = 1 << 20;

struct Pipe {
    UniqueFd rd, wr;
    static Result<Pipe> make() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) < 0) return BERTH_SYS_ERROR("pipe");
        Pipe p{UniqueFd(fds[0]), UniqueFd(fds[1])};
        // Bigger pipe buffers mean fewer context switches on 200 MiB layers.
        ::fcntl(p.wr.get(), F_SETPIPE_SZ, 1 << 20);
        return p;
    }
};

// Runs `consume(read_fd)` while a thread moves `body` into the pipe: spliced from the socket
// when the body has a Content-Length (berth's CLI sends files so), copied through a buffer
// otherwise (chunked bodies: the docker CLI's). The transfer's error (client gone, malformed
// chunking) wins over the consumer's, which then only sees a short input.
template <class T, class F>
Result<T> consume_body(BodyReader& body, F&& consume) {
    auto pipe = BERTH_TRY(Pipe::make());
    Result<void> copy_result;
    std::thread copier([&body, &copy_result, wr = std::move(pipe.wr)]() mutable {
        for (;;) {
            auto n = body.splice_to(wr.get(), kPumpBlock);
            if (n && *n == 0) return;
            if (n) continue;
            if (n.error().code == Errc::Unsupported) break;
            // Internal: the pipe failed, the consumer stopped reading (it failed).
            if (n.error().code == Errc::Unavailable) copy_result = Unexpected(n.error());
            return;
        }
        std::vector<char> buf(kPumpBlock);
        for (;;) {
            auto n = body.read(std::span<char>(buf.data(), buf.size()));
            if (!n) {
                copy_result = Unexpected(n.error());
                return;
            }
            if (*n == 0) return;
            if (auto w = write_all(wr.get(), std::string_view(buf.data(), *n), "pipe"); !w) {
                // The consumer stopped reading (it failed); drain nothing more.
                return;
            }
        }
    });
    Result<T> r = consume(pipe.rd.get());
    pipe.rd.reset();  // a copier blocked on a full pipe gets EPIPE and ends
    copier.join();
    if (!copy_result) return Unexpected(copy_result.error().wrap("read request body"));
    return r;
}

// ---- events --------------------------------------------------------------------------------

class EngineEventSubscription : public EventSubscription {
public:
    explicit EngineEventSubscription(std::unique_ptr<engine::EventSubscription> sub)
        : sub_(std::move(sub)) {}
    Wait next(std::chrono::milliseconds timeout, types::EventMessage& out) override {
        auto e = sub_->next(static_cast<int>(timeout.count()));
        if (!e) return Wait::Timeout;
        out.type = e->type;
        out.action = e->action;
        out.actor_id = e->actor_id;
        out.attributes = e->attributes;
        out.time_nano = e->time_nano;
        return Wait::Event;
    }

private:
    std::unique_ptr<engine::EventSubscription> sub_;
};

// ---- system --------------------------------------------------------------------------------

std::string kernel_version() {
    struct utsname u {};
    ::uname(&u);
    return u.release;
}

std::string os_pretty_name() {
    auto text = read_file("/etc/os-release");
    if (!text) return "Linux";
    for (auto line : split(*text, '\n')) {
        if (line.rfind("PRETTY_NAME=", 0) == 0) {
            std::string v(line.substr(12));
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
            return v;
        }
    }
    return "Linux";
}

std::string cgroup_version() {
    // A pure v2 host mounts cgroup2 at /sys/fs/cgroup; hybrid and v1 hosts report 1 (moby).
    auto text = read_file("/proc/self/mountinfo");
    if (!text) return "1";
    for (auto line : split(*text, '\n')) {
        if (line.find(" /sys/fs/cgroup ") != std::string_view::npos &&
            line.find(" - cgroup2 ") != std::string_view::npos)
            return "2";
    }
    return "1";
}

int64_t count_dir(const char* path) {
    auto names = list_dir(path);
    return names ? static_cast<int64_t>(names->size()) : 0;
}

class EngineSystemBackend : public SystemBackend {
public:
    EngineSystemBackend(engine::Daemon& d, std::string version, bool debug)
        : d_(d), version_(std::move(version)), debug_(debug) {}

    Result<types::Version> version() override {
        types::Version v;
        v.version = version_;
        v.git_commit = BERTH_GIT_COMMIT;
        v.go_version = fmt::format("gcc {}.{}", __GNUC__, __GNUC_MINOR__);
        v.arch = oci::host_platform().architecture;
        v.kernel_version = kernel_version();
        return v;
    }

    Result<types::Info> info() override {
        types::Info i;
        i.id = d_.id();
        char host[256] = {};
        ::gethostname(host, sizeof host - 1);
        i.name = host;
        i.server_version = version_;
        auto imgs = BERTH_TRY(d_.images().list());
        i.images = static_cast<int64_t>(imgs.size());
        i.driver_status = {{"Backing Filesystem", "extfs"},
                           {"Supports d_type", "true"},
                           {"Using metacopy", "false"},
                           {"Native Overlay Diff", "true"},
                           {"userxattr", "false"}};
        i.debug = debug_;
        i.nfd = count_dir("/proc/self/fd");
        i.ngoroutines = count_dir("/proc/self/task");
        i.system_time = format_rfc3339_nano(now_unix_nanos());
        i.cgroup_version = cgroup_version();
        struct utsname u {};
        ::uname(&u);
        i.kernel_version = u.release;
        i.operating_system = os_pretty_name();
        i.architecture = u.machine;
        i.ncpu = ::get_nprocs();
        struct sysinfo si {};
        if (::sysinfo(&si) == 0) i.mem_total = static_cast<int64_t>(si.totalram) * si.mem_unit;
        i.docker_root_dir = d_.config().data_root;
        i.runtimes = {{"runc", "berth-runtime"}};
        i.security_options = {"name=seccomp,profile=builtin"};
        auto n = d_.containers().counts();
        i.containers = n.total;
        i.containers_running = n.running;
        i.containers_paused = n.paused;
        i.containers_stopped = n.stopped;
        i.warnings = {"WARNING: bridge networking is not available yet: containers get their own "
                      "network namespace with loopback only (or --network host/none/container:)"};
        return i;
    }

    Result<types::DiskUsage> disk_usage(const types::DiskUsageOptions& parts) override {
        types::DiskUsage du;
        du.parts = parts;
        if (parts.images) {
            du.layers_size = static_cast<int64_t>(BERTH_TRY(d_.images().layers_size()));
            for (const auto& img : BERTH_TRY(d_.images().list())) {
                auto s = summary_of(img);
                s.shared_size = static_cast<int64_t>(BERTH_TRY(d_.images().shared_size(img)));
                s.containers = 0;
                du.images.push_back(std::move(s));
            }
        }
        return du;
    }

    Result<std::unique_ptr<EventSubscription>> subscribe_events(const EventQuery& q) override {
        return std::unique_ptr<EventSubscription>(
            new EngineEventSubscription(d_.events().subscribe(q.since_ns)));
    }

    Result<types::SystemCheckReport> system_check(bool repair) override {
        auto r = BERTH_TRY(d_.images().check(repair));
        return types::SystemCheckReport{std::move(r.problems), std::move(r.repairs)};
    }

private:
    engine::Daemon& d_;
    std::string version_;
    bool debug_;
};

// ---- images --------------------------------------------------------------------------------

Result<image::ImageFilters> image_filters(const Filters& f) {
    image::ImageFilters out;
    out.reference = f.get("reference");
    out.label = f.get("label");
    out.before = f.get("before");
    out.since = f.get("since");
    out.until = f.get("until");
    bool present = false;
    bool dangling = BERTH_TRY(f.get_bool("dangling", present));
    if (present) out.dangling = dangling;
    return out;
}

class EngineImageBackend : public ImageBackend {
public:
    explicit EngineImageBackend(engine::Daemon& d) : d_(d) {}

    Result<std::vector<types::ImageSummary>> list(const ImageListOptions& opts) override {
        auto filters = BERTH_TRY(image_filters(opts.filters));
        std::vector<types::ImageSummary> out;
        for (const auto& img : BERTH_TRY(d_.images().list(filters))) {
            auto s = summary_of(img);
            if (opts.shared_size) {
                s.shared_size = static_cast<int64_t>(BERTH_TRY(d_.images().shared_size(img)));
            }
            out.push_back(std::move(s));
        }
        return out;
    }

    Result<types::ImageInspect> inspect(const std::string& name) override {
        auto img = BERTH_TRY(d_.images().get(name));
        types::ImageInspect r;
        r.id = img.record.id.string();
        r.repo_tags = familiar_all(img.record.tags);
        r.repo_digests = familiar_all(img.record.repo_digests);
        r.parent = img.record.parent ? img.record.parent->string() : "";
        json raw = json::parse(img.raw_config, nullptr, false);
        if (raw.is_discarded() || !raw.is_object()) raw = json::object();
        r.comment = raw.value("comment", "");
        r.created = img.config.created.empty() ? format_rfc3339_nano(img.record.created)
                                               : img.config.created;
        r.container = raw.value("container", "");
        r.container_config = container_config_from(raw, "container_config");
        r.docker_version = raw.value("docker_version", "");
        r.author = img.config.author;
        r.config = container_config_from(raw, "config");
        r.architecture = img.config.architecture;
        r.variant = img.config.variant;
        r.os = img.config.os;
        r.os_version = img.config.os_version;
        r.size = static_cast<int64_t>(img.record.size);
        for (const auto& d : img.config.rootfs.diff_ids) r.layers.push_back(d.string());
        r.graph_driver_data = graph_driver_data(img);
        if (img.record.last_tag_time > 0) {
            r.last_tag_time = format_rfc3339_nano(img.record.last_tag_time);
        }
        return r;
    }

    Result<std::vector<types::HistoryItem>> history(const std::string& name) override {
        std::vector<types::HistoryItem> out;
        for (auto& h : BERTH_TRY(d_.images().history(name))) {
            types::HistoryItem it;
            it.id = h.id;
            it.created = h.created;
            it.created_by = std::move(h.created_by);
            it.tags = std::move(h.tags);
            it.size = static_cast<int64_t>(h.size);
            it.comment = std::move(h.comment);
            out.push_back(std::move(it));
        }
        return out;
    }

    Result<void> tag(const std::string& name, const std::string& repo,
                     const std::string& tag) override {
        std::string target = tag.empty() ? repo : repo + ":" + tag;
        BERTH_TRY(d_.tag_image(name, target));
        return {};
    }

    Result<std::vector<types::DeleteResponse>> remove(const std::string& name, bool force,
                                                      bool noprune) override {
        std::vector<types::DeleteResponse> out;
        for (auto& it : BERTH_TRY(d_.remove_image(name, force, !noprune))) {
            out.push_back({std::move(it.untagged), std::move(it.deleted)});
        }
        return out;
    }

    Result<types::ImagesPruneReport> prune(const Filters& f) override {
        auto filters = BERTH_TRY(image_filters(f));
        // images/prune defaults to dangling only (moby: dangling=true unless said otherwise).
        if (!filters.dangling) filters.dangling = true;
        auto rep = BERTH_TRY(d_.prune_images(filters));
        types::ImagesPruneReport out;
        for (auto& it : rep.deleted) {
            out.images_deleted.push_back({std::move(it.untagged), std::move(it.deleted)});
        }
        out.space_reclaimed = rep.space_reclaimed;
        return out;
    }

    Result<std::string> import(BodyReader& body, const ImportParams& p,
                               ProgressSink& progress) override {
        image::ImportOptions opts;
        // moby: repo may carry the tag ("r:1"); an explicit tag wins.
        opts.reference = p.repo;
        if (!p.repo.empty() && !p.tag.empty()) {
            auto ref = BERTH_TRY(image::Reference::parse_normalized(p.repo));
            opts.reference = BERTH_TRY(ref.name_reference().with_tag(p.tag)).string();
        }
        opts.message = p.message;
        opts.changes = p.changes;
        opts.platform = p.platform;
        (void)progress;
        auto img = BERTH_TRY(
            consume_body<image::Image>(body, [&](int fd) { return d_.import_image(fd, opts); }));
        return img.record.id.string();
    }

    Result<void> save(const std::vector<std::string>& names, const SaveTarget& target) override {
        // ImageService::save resolves every name before it asks for the output, so a typo is
        // still a 404.
        return d_.save_images(names, target);
    }

    Result<void> load(BodyReader& body, bool quiet, ProgressSink& progress) override {
        auto res = BERTH_TRY(consume_body<image::LoadResult>(body, [&](int fd) {
            return d_.load_images(fd, [&](const image::Progress& pr) {
                if (!quiet && pr.total >= 0) {
                    (void)progress.progress(pr.id, pr.status, pr.current, pr.total);
                }
            });
        }));
        for (const auto& t : res.loaded_tags) {
            BERTH_TRY(progress.stream("Loaded image: " + t + "\n"));
        }
        for (const auto& id : res.loaded_ids) {
            BERTH_TRY(progress.stream("Loaded image ID: " + id.string() + "\n"));
        }
        return {};
    }

    Result<PullResult> pull(const PullParams& p, ProgressSink& progress) override {
        if (p.all_tags())
            return make_error(Errc::Unsupported, "pull of every tag (-a) is not supported");
        std::string ref = p.name;
        if (!p.digest.empty()) ref += "@" + p.digest;
        else ref += ":" + p.tag;
        auto res = BERTH_TRY(d_.pull_image(ref, p.platform, registry_auth(p.auth),
                                           [&](const image::Progress& pr) {
                                               // The route writes "Digest:" and "Status:".
                                               if (pr.id.empty() &&
                                                   (pr.status.rfind("Digest: ", 0) == 0 ||
                                                    pr.status.rfind("Status: ", 0) == 0))
                                                   return;
                                               relay(progress, pr);
                                           }));
        return PullResult{res.digest.string(), res.updated};
    }

    Result<std::vector<types::PushResult>> push(const PushParams& p,
                                                ProgressSink& progress) override {
        if (p.tag.empty())
            return make_error(Errc::Unsupported, "push of every tag (-a) is not supported");
        auto res = BERTH_TRY(d_.push_image(p.name + ":" + p.tag, registry_auth(p.auth),
                                           [&](const image::Progress& pr) {
                                               // The route writes "<tag>: digest: ... size: N".
                                               if (pr.id.empty() &&
                                                   pr.status.find(": digest: ") !=
                                                       std::string::npos)
                                                   return;
                                               relay(progress, pr);
                                           }));
        return std::vector<types::PushResult>{{res.tag, res.digest.string(), res.size}};
    }

    Result<types::AuthResponse> auth(const types::AuthConfig& a) override {
        auto res = BERTH_TRY(d_.login(registry_auth(a)));
        return types::AuthResponse{res.status, res.identity_token};
    }

private:
    static registry::AuthConfig registry_auth(const types::AuthConfig& a) {
        registry::AuthConfig r;
        r.username = a.username;
        r.password = a.password;
        r.auth = a.auth;
        r.identity_token = a.identity_token;
        r.registry_token = a.registry_token;
        r.server_address = a.server_address;
        return r;
    }

    // A pull's or push's progress: counted steps as progress lines, the rest as status lines.
    static void relay(ProgressSink& progress, const image::Progress& pr) {
        if (pr.current >= 0 || pr.total > 0)
            (void)progress.progress(pr.id, pr.status, pr.current, pr.total);
        else
            (void)progress.status(pr.id, pr.status);
    }

    std::map<std::string, std::string> graph_driver_data(const image::Image& img) {
        std::map<std::string, std::string> m;
        const auto& chains = img.record.chain_ids;
        if (chains.empty()) return m;
        std::string layers = path_join(d_.config().data_root, "layers");
        m["MergedDir"] = "";
        m["UpperDir"] = path_join(path_join(layers, chains.back().hex()), "diff");
        std::string lower;
        for (size_t i = chains.size() - 1; i-- > 0;) {
            if (!lower.empty()) lower += ":";
            lower += path_join(path_join(layers, chains[i].hex()), "diff");
        }
        if (!lower.empty()) m["LowerDir"] = lower;
        m["WorkDir"] = "";
        return m;
    }

    engine::Daemon& d_;
};

}  // namespace

EngineBackends make_engine_backends(engine::Daemon& daemon, std::string server_version,
                                    bool debug) {
    EngineBackends b;
    b.system = std::make_unique<EngineSystemBackend>(daemon, std::move(server_version), debug);
    b.images = std::make_unique<EngineImageBackend>(daemon);
    b.containers = make_engine_container_backend(daemon);
    return b;
}

}  // namespace berth::api
