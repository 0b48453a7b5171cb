// berth-shim <exec-dir>: the monitor of one container (shim.hpp; the contract with berthd is
// in berth/shimproto/protocol.hpp). berthd posix_spawns it with the ready pipe on fd 1; it
// leaves berthd's session so that neither a terminal nor berthd's death stops it.

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "shim.hpp"

int main(int argc, char** argv) {
    using namespace berth;
    // One arena, and no cached free memory beyond what the loop needs.
    ::mallopt(M_ARENA_MAX, 1);
    ::mallopt(M_TRIM_THRESHOLD, 64 * 1024);
    if (argc != 2 || argv[1][0] != '/') {
        std::fprintf(stderr, "usage: berth-shim <exec-dir>  (started by berthd)\n");
        return 2;
    }
    // Leave berthd: fork once more and let the first process exit (berthd reaps it), so the
    // shim is never a child (nor a zombie) of a daemon that may restart; then a session of
    // its own, so no terminal's signals reach it.
    pid_t pid = ::fork();
    if (pid < 0) return 2;
    if (pid > 0) ::_exit(0);
    ::setsid();
    // The ready pipe moves off fd 1: 0, 1 and 2 become the container's stdio for a moment.
    berth::UniqueFd ready(::fcntl(1, F_DUPFD_CLOEXEC, 3));
    if (!ready) return 2;
    // stderr is <exec-dir>/shim.log (berthd opens it); berthd -D passes BERTH_SHIM_DEBUG=1.
    log::init("", log::Format::Text,
              ::getenv("BERTH_SHIM_DEBUG") ? log::Level::Debug : log::Level::Info);

    shimproto::ShimPaths paths{argv[1]};
    auto text = read_file(paths.config());
    auto cfg = text ? shimproto::parse_shim_config(*text)
                    : Result<shimproto::ShimConfig>(Unexpected(text.error()));
    if (!cfg) {
        std::string line = "{\"error\":\"berth-shim: " + std::string(cfg.error().what()) + "\"}\n";
        (void)write_all(ready.get(), line, "the ready pipe");
        return 1;
    }
    shim::Shim s(std::move(*cfg), std::move(paths), std::move(ready));
    return s.run();
}
