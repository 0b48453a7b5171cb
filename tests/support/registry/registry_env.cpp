// Processes for the registry client's tests (see registry_env.hpp).

#include "registry_env.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "berth/common/fs.hpp"
#include "berth/common/strings.hpp"
#include "berth/common/unique_fd.hpp"

extern char** environ;

namespace berth::test::registry {

std::string support_dir() {
#ifdef BERTH_REGISTRY_SUPPORT_DIR
    return BERTH_REGISTRY_SUPPORT_DIR;
#else
    return "tests/support/registry";
#endif
}

ScratchDir::ScratchDir() {
    std::string tmpl = "/tmp/berth-test-regclient-XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
}

ScratchDir::~ScratchDir() {
    if (!path_.empty()) (void)remove_all(path_);
}

int free_port() {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 0;
    socklen_t len = sizeof a;
    if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
    return ntohs(a.sin_port);
}

namespace {
bool try_connect(int port, const std::string& ip) {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    a.sin_port = htons(static_cast<uint16_t>(port));
    return connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}
}  // namespace

bool wait_port(int port, std::chrono::milliseconds timeout, const std::string& ip) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (try_connect(port, ip)) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

Result<ChildProcess> spawn_logged(const std::vector<std::string>& argv, const std::string& log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return sys_error(rc, "spawn {}", argv[0]);
    return ChildProcess(pid);
}

std::optional<std::string> wait_file(const std::string& path, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (auto s = read_file(path)) return *s;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
}

Result<std::string> http_get_local(int port, const std::string& path) {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        return BERTH_SYS_ERROR("connect 127.0.0.1:{}", port);
    }
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    BERTH_TRY(write_all(fd.get(), req, "request"));
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    auto sep = out.find("\r\n\r\n");
    return sep == std::string::npos ? out : out.substr(sep + 4);
}

bool RegistryEnv::available() {
    return access("/usr/bin/docker-registry", X_OK) == 0;
}

Result<std::unique_ptr<RegistryEnv>> RegistryEnv::start(Auth auth) {
    std::unique_ptr<RegistryEnv> env(new RegistryEnv());
    const std::string& d = env->dir_.path();
    if (d.empty()) return make_error(Errc::Internal, "mkdtemp for the test registry");
    env->port_ = free_port();
    env->host_ = "127.0.0.1:" + std::to_string(env->port_);
    std::string auth_cfg;
    if (auth == Auth::Htpasswd) {
        std::string entries;
        for (auto [u, p] : {std::pair{"user", "pass"}, std::pair{"reader", "rpass"}}) {
            Command c;
            c.path = "/usr/bin/htpasswd";
            c.args = {"htpasswd", "-Bbn", u, p};
            c.capture_stdout = true;
            auto r = BERTH_TRY(run_command(c));
            if (!r.status.ok()) return make_error(Errc::Internal, "htpasswd failed");
            entries += std::string(trim(r.out)) + "\n";
        }
        BERTH_TRY(atomic_write_file(d + "/htpasswd", entries, 0644, Durability::Volatile));
        auth_cfg = "auth:\n  htpasswd:\n    realm: berth-test\n    path: " + d + "/htpasswd\n";
    } else if (auth == Auth::Token) {
        env->token_server_ =
            BERTH_TRY(spawn_logged({"python3", support_dir() + "/token_server.py", "--port-file",
                                    d + "/token.port", "--cert-out", d + "/token.crt", "--user",
                                    "user:pass", "--user", "reader:rpass", "--reader", "reader"},
                                   d + "/token.log"));
        auto port = wait_file(d + "/token.port", std::chrono::seconds(15));
        if (!port) {
            auto log = read_file(d + "/token.log");
            return make_error(Errc::Unavailable, "token server did not start: {}", log ? *log : "");
        }
        env->token_port_ = std::atoi(port->c_str());
        auth_cfg =
            "auth:\n  token:\n    realm: http://127.0.0.1:" + std::to_string(env->token_port_) +
            "/token\n    service: berth-test-registry\n    issuer: berth-test-issuer\n"
            "    rootcertbundle: " +
            d + "/token.crt\n";
    }
    std::string cfg =
        "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
        "storage:\n  filesystem:\n    rootdirectory: " +
        d +
        "/data\n"
        "  delete:\n    enabled: true\n"
        "  maintenance:\n    uploadpurging:\n      enabled: false\n"
        "http:\n  addr: " +
        env->host_ + "\n" + auth_cfg;
    BERTH_TRY(atomic_write_file(d + "/config.yml", cfg, 0644, Durability::Volatile));
    env->registry_ = BERTH_TRY(spawn_logged(
        {"/usr/bin/docker-registry", "serve", d + "/config.yml"}, d + "/registry.log"));
    if (!wait_port(env->port_, std::chrono::seconds(15))) {
        auto log = read_file(d + "/registry.log");
        return make_error(Errc::Unavailable, "docker-registry did not start on {}: {}", env->host_,
                          log ? *log : "");
    }
    return env;
}

std::optional<std::string> non_loopback_ipv4() {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return std::nullopt;
    std::optional<std::string> out;
    for (ifaddrs* i = list; i != nullptr && !out; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
        if ((i->ifa_flags & IFF_LOOPBACK) != 0 || (i->ifa_flags & IFF_UP) == 0) continue;
        char buf[INET_ADDRSTRLEN];
        auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
        if (inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf) != nullptr) out = buf;
    }
    freeifaddrs(list);
    return out;
}

Result<std::unique_ptr<RegistryEnv>> RegistryEnv::start_tls(const std::string& ip) {
    std::unique_ptr<RegistryEnv> env(new RegistryEnv());
    const std::string& d = env->dir_.path();
    if (d.empty()) return make_error(Errc::Internal, "mkdtemp for the test registry");
    env->port_ = free_port();
    env->host_ = ip + ":" + std::to_string(env->port_);
    Command c;
    c.path = "python3";
    c.args = {"python3", support_dir() + "/make_certs.py", d + "/pki", ip};
    auto r = BERTH_TRY(run_command(c));
    if (!r.status.ok()) return make_error(Errc::Internal, "make_certs.py failed");
    std::string hd = env->certs_dir() + "/" + env->host_;
    BERTH_TRY(mkdir_all(hd));
    for (const char* f : {"ca.crt", "client.cert", "client.key"}) {
        auto data = BERTH_TRY(read_file(d + "/pki/" + f));
        BERTH_TRY(atomic_write_file(hd + "/" + f, data, 0600, Durability::Volatile));
    }
    std::string cfg =
        "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
        "storage:\n  filesystem:\n    rootdirectory: " +
        d +
        "/data\n"
        "http:\n  addr: " +
        env->host_ +
        "\n  tls:\n"
        "    certificate: " +
        d +
        "/pki/server.crt\n"
        "    key: " +
        d +
        "/pki/server.key\n"
        "    clientcas:\n      - " +
        d + "/pki/ca.crt\n";
    BERTH_TRY(atomic_write_file(d + "/config.yml", cfg, 0644, Durability::Volatile));
    env->registry_ = BERTH_TRY(spawn_logged(
        {"/usr/bin/docker-registry", "serve", d + "/config.yml"}, d + "/registry.log"));
    if (!wait_port(env->port_, std::chrono::seconds(15), ip)) {
        auto log = read_file(d + "/registry.log");
        return make_error(Errc::Unavailable, "docker-registry did not start on {}: {}", env->host_,
                          log ? *log : "");
    }
    return env;
}

Result<std::string> RegistryEnv::token_log() const {
    return http_get_local(token_port_, "/log");
}

Result<std::unique_ptr<ProxyEnv>> ProxyEnv::start(const std::string& mode,
                                                  const std::string& upstream,
                                                  std::vector<std::string> extra) {
    std::unique_ptr<ProxyEnv> env(new ProxyEnv());
    const std::string& d = env->dir_.path();
    std::vector<std::string> argv{"python3",     support_dir() + "/proxy.py",
                                  "--mode",      mode,
                                  "--upstream",  upstream,
                                  "--port-file", d + "/port"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    env->proc_ = BERTH_TRY(spawn_logged(argv, d + "/proxy.log"));
    auto port = wait_file(d + "/port", std::chrono::seconds(15));
    if (!port) {
        auto log = read_file(d + "/proxy.log");
        return make_error(Errc::Unavailable, "proxy.py did not start: {}", log ? *log : "");
    }
    env->port_ = std::atoi(port->c_str());
    env->host_ = "127.0.0.1:" + std::to_string(env->port_);
    return env;
}

Result<std::string> ProxyEnv::stats() const {
    return http_get_local(port_, "/_stats");
}

}  // namespace berth::test::registry
