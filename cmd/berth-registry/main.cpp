// berth-registry serve --listen 127.0.0.1:5000 --data-root DIR [--htpasswd FILE]
//                      [--tls-cert F --tls-key F] [--log-level L]
// Prints the listening address(es), one per line, on stdout first (the real port when :0 was
// asked for), then serves until SIGTERM or SIGINT.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include <CLI/CLI.hpp>

#include "berth/common/log.hpp"
#include "berth/registry/server.hpp"

namespace {

berth::log::Level parse_level(const std::string& s) {
    using berth::log::Level;
    if (s == "debug" || s == "trace") return Level::Debug;
    if (s == "info") return Level::Info;
    if (s == "warn" || s == "warning") return Level::Warn;
    return Level::Error;
}

int serve(berth::registry::ServerOptions opts, const std::string& level) {
    berth::log::init("", berth::log::Format::Text, parse_level(level));
    // Signals are taken by this thread with sigwait(); the server's threads inherit the mask.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    auto server = berth::registry::Server::start(std::move(opts));
    if (!server) {
        std::fprintf(stderr, "berth-registry: %s\n", server.error().what().c_str());
        return 1;
    }
    for (const auto& a : (*server)->addresses()) std::cout << a << '\n';
    std::cout.flush();
    int sig = 0;
    while (sigwait(&sigs, &sig) != 0) {
    }
    BLOG_INFO("registry: {} received, stopping", strsignal(sig));
    (*server)->stop();
    return 0;
}

}  // namespace

int main(int argc, char** argv) try {
    CLI::App app{"berth-registry: an OCI distribution-spec registry over Berth's content store"};
    app.require_subcommand(1);
    berth::registry::ServerOptions opts;
    std::string level = "info";
    int64_t expiry = 3600;
    auto* serve_cmd = app.add_subcommand("serve", "serve the registry");
    serve_cmd->add_option("--listen", opts.listen, "host:port to listen on (repeatable)")
        ->default_str("127.0.0.1:5000");
    serve_cmd->add_option("--data-root", opts.data_root, "content store and metadata root")
        ->required();
    serve_cmd->add_option("--htpasswd", opts.htpasswd_file,
                          "htpasswd file (bcrypt) for Basic auth");
    serve_cmd->add_option("--tls-cert", opts.tls_cert, "PEM certificate chain");
    serve_cmd->add_option("--tls-key", opts.tls_key, "PEM private key");
    serve_cmd->add_option("--log-level", level, "debug, info, warn or error");
    serve_cmd->add_option("--upload-expiry", expiry,
                          "seconds after which an idle upload is removed");
    CLI11_PARSE(app, argc, argv);
    if (opts.listen.empty()) opts.listen.push_back("127.0.0.1:5000");
    opts.upload_expiry = std::chrono::seconds(expiry);
    return serve(std::move(opts), level);
} catch (const std::exception& e) {
    std::fprintf(stderr, "berth-registry: %s\n", e.what());
    return 1;
}
