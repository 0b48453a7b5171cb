// berthd: the Berth daemon. Holds the stores and serves the Docker Engine API (api/server) over
// the engine (engine/), with dockerd's flags for what it has.

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "berth/api/server/api_version.hpp"
#include "berth/api/server/engine_backend.hpp"
#include "berth/api/server/routes.hpp"
#include "berth/api/server/server.hpp"
#include "berth/common/log.hpp"
#include "berth/engine/daemon.hpp"
#include "berth/registry/server.hpp"
#include "pidfile.hpp"

namespace {

constexpr const char* kVersion = "0.1.0";

struct Flags {
    std::string data_root = "/var/lib/berth";
    std::string cgroup_parent = "/berth";
    std::string exec_root = "/run/berth";
    std::vector<std::string> hosts;
    std::string pidfile = "/run/berth.pid";
    std::string group;
    std::string log_level = "info";
    std::string log_format = "text";
    bool debug = false;
    std::vector<std::string> insecure_registries;
    std::vector<std::string> registry_listen;
    std::string registry_htpasswd;
};

berth::log::Level parse_level(const std::string& s) {
    using berth::log::Level;
    if (s == "debug" || s == "trace") return Level::Debug;
    if (s == "info") return Level::Info;
    if (s == "warn" || s == "warning") return Level::Warn;
    return Level::Error;  // error, fatal, panic
}

// dockerd's -H forms: "unix:///path", "tcp://host:port", a bare "/path" (unix), and
// "tcp://:2375" or "host:port" (tcp).
std::string normalize_host(const std::string& h) {
    if (h.empty()) return h;
    if (h[0] == '/') return "unix://" + h;
    if (h.find("://") == std::string::npos) return "tcp://" + h;
    return h;
}

int run(const Flags& f) {
    using namespace berth;
    // Signals are taken by one thread with sigwait(); every other thread has them blocked.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGQUIT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    // A client that goes away mid-answer is an EPIPE for the writer, not a dead daemon.
    ::signal(SIGPIPE, SIG_IGN);

    auto pid = daemon::PidFile::create(f.pidfile);
    if (!pid) {
        BLOG_ERROR("failed to start daemon: {}", pid.error().what());
        return 1;
    }
    engine::DaemonConfig cfg;
    cfg.data_root = f.data_root;
    cfg.cgroup_parent = f.cgroup_parent;
    cfg.exec_root = f.exec_root;
    cfg.insecure_registries = f.insecure_registries;
    auto d = engine::Daemon::open(cfg);
    if (!d) {
        BLOG_ERROR("failed to start daemon: {}", d.error().what());
        return 1;
    }
    api::ServerOptions sopts;
    for (const auto& h : f.hosts) sopts.hosts.push_back(normalize_host(h));
    if (sopts.hosts.empty()) sopts.hosts.push_back("unix://" + f.exec_root + "/berth.sock");
    sopts.socket_group = f.group;
    sopts.info.server_version = kVersion;
    // moby 26+'s DOCKER_MIN_API_VERSION: lets old clients in (skopeo's docker-daemon: transport
    // speaks 1.22), down to 1.12 as dockerd allows; the default stays 1.24.
    if (const char* v = std::getenv("DOCKER_MIN_API_VERSION"); v && *v) {
        if (api::compare_api_versions(v, "1.12") < 0 ||
            api::compare_api_versions(v, sopts.info.api_version) > 0) {
            BLOG_ERROR("invalid DOCKER_MIN_API_VERSION {}: must be between 1.12 and {}", v,
                       sopts.info.api_version);
            return 1;
        }
        sopts.info.min_api_version = v;
    }
    api::Server server(sopts);
    auto backends = api::make_engine_backends(**d, kVersion, f.debug);
    api::register_ping_routes(server.router());
    api::register_system_routes(server.router(), *backends.system);
    api::register_image_routes(server.router(), *backends.images);
    if (backends.containers)
        api::register_container_routes(server.router(), *backends.containers);
    if (auto r = server.listen(); !r) {
        BLOG_ERROR("failed to start daemon: {}", r.error().what());
        return 1;
    }
    // The registry inside the daemon (`berth registry serve` without a process of its own):
    // the OCI distribution spec over the daemon's own content store.
    std::unique_ptr<registry::Server> registry_server;
    if (!f.registry_listen.empty()) {
        registry::ServerOptions ro;
        ro.listen = f.registry_listen;
        ro.data_root = f.data_root;
        ro.htpasswd_file = f.registry_htpasswd;
        auto rs = registry::Server::start(ro);
        if (!rs) {
            BLOG_ERROR("failed to start daemon: registry: {}", rs.error().what());
            return 1;
        }
        registry_server = std::move(*rs);
        for (const auto& a : registry_server->addresses()) BLOG_INFO("registry listen on {}", a);
    }
    std::thread signals([&] {
        for (;;) {
            int sig = 0;
            if (sigwait(&sigs, &sig) != 0) continue;
            if (sig == SIGHUP) continue;  // no configuration file to reload yet
            BLOG_INFO("Processing signal '{}'", strsignal(sig));
            server.stop();
            return;
        }
    });
    for (const auto& a : server.addresses()) BLOG_INFO("API listen on {}", a);
    BLOG_INFO("Daemon has completed initialization data-root={} version={}", f.data_root,
              kVersion);
    server.run();
    // run() returns after stop() (from the signal thread); a failure path would leave that
    // thread waiting, so wake it with a signal of our own.
    if (signals.joinable()) {
        ::pthread_kill(signals.native_handle(), SIGTERM);
        signals.join();
    }
    if (registry_server) registry_server->stop();
    BLOG_INFO("Daemon shutdown complete");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // glibc gives each thread that allocates its own malloc arena (up to 8 per core), and each
    // connection thread's arena keeps its freed memory: after a few imports that was ~6 MiB of
    // anonymous RSS on top of the 10 MiB budget (ARCHITECTURE.md "What fast means"). Two arenas
    // are enough for a daemon whose threads mostly wait on I/O; MALLOC_ARENA_MAX still wins
    // when set. api::Server trims the heap when its last connection ends.
    if (std::getenv("MALLOC_ARENA_MAX") == nullptr) ::mallopt(M_ARENA_MAX, 2);
    // A fixed mmap threshold: glibc raises it after the first large free, after which the
    // 256 KiB request buffers and 1 MiB layer blocks land in the heap and stay resident after an
    // import; mmapped, they go back to the kernel when freed.
    if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    Flags f;
    CLI::App app{"berthd: the Berth daemon (a Docker Engine API server)", "berthd"};
    app.set_version_flag("-v,--version", std::string("Berth version ") + kVersion);
    app.add_option("--data-root", f.data_root, "root of persistent state")
        ->capture_default_str();
    app.add_option("--exec-root", f.exec_root, "root of runtime state")->capture_default_str();
    app.add_option("--cgroup-parent", f.cgroup_parent,
                   "parent cgroup of containers without their own --cgroup-parent")
        ->capture_default_str();
    app.add_option("-H,--host", f.hosts, "daemon socket(s) to listen on (unix:// or tcp://)")
        ->take_all();
    app.add_option("-p,--pidfile", f.pidfile, "path of the pid file")->capture_default_str();
    app.add_option("-G,--group", f.group, "group owning the unix socket(s)");
    app.add_option("-l,--log-level", f.log_level, "debug, info, warn, error or fatal")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "warning", "error", "fatal",
                               "panic"}))
        ->capture_default_str();
    app.add_option("--log-format", f.log_format, "text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    app.add_flag("-D,--debug", f.debug, "debug mode (log level debug)");
    app.add_option("--insecure-registry", f.insecure_registries,
                   "registry (host[:port] or CIDR) reached without TLS verification; repeatable");
    app.add_option("--registry-listen", f.registry_listen,
                   "serve an OCI distribution registry over the daemon's store on host:port; "
                   "repeatable");
    app.add_option("--registry-htpasswd", f.registry_htpasswd,
                   "htpasswd file (bcrypt) the --registry-listen registry requires");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    berth::log::init("", f.log_format == "json" ? berth::log::Format::Json
                                                : berth::log::Format::Text,
                     f.debug ? berth::log::Level::Debug : parse_level(f.log_level));
    try {
        return run(f);
    } catch (const std::exception& e) {
        BLOG_ERROR("berthd: {}", e.what());
        return 1;
    }
}
