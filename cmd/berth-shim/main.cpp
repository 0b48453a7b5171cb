// berth-shim --launcher: started once by berthd, it forks one shim per container (launcher.hpp),
// the monitor of that container (shim.hpp; the contract with berthd is in
// berth/shimproto/protocol.hpp).

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <span>
#include <string>
#include <string_view>

#include "berth/cgroups/manager.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "launcher.hpp"
#include "shim.hpp"

int main(int argc, char** argv) {
    using namespace berth;
    // One arena, and no cached free memory beyond what the loop needs.
    ::mallopt(M_ARENA_MAX, 1);
    ::mallopt(M_TRIM_THRESHOLD, 64 * 1024);
    if (argc < 2 || argc > 3 || std::string_view(argv[1]) != "--launcher") {
        std::fprintf(stderr,
                     "usage: berth-shim --launcher [<blanks: room for a shim's command line>]\n"
                     "(started by berthd, its connection on fd 3)\n");
        return 2;
    }
    // The arguments' memory, contiguous from argv[0] to the end of the last one.
    char* args_end = argv[argc - 1] + std::strlen(argv[argc - 1]) + 1;
    std::span<char> args(argv[0], static_cast<size_t>(args_end - argv[0]));
    // Logging is set up once, before the forks: every shim inherits it, and its stderr (fd 2)
    // is then its own <exec-dir>/shim.log.
    log::init("", log::Format::Text, log::Level::Info);
    // What every shim would otherwise read for itself, read once here for all of them: the
    // host's cgroup layout (mountinfo: creating and removing a container asks for it) and the
    // time zone (log timestamps).
    (void)cgroups::host_layout();
    ::tzset();
    shim::Launch launch = shim::serve_launches(3, args);
    if (launch.debug) log::init("", log::Format::Text, log::Level::Debug);

    // The ready pipe moves off fd 1: 0, 1 and 2 become the container's stdio for a moment.
    berth::UniqueFd ready(::fcntl(1, F_DUPFD_CLOEXEC, 3));
    if (!ready) return 2;
    shimproto::ShimPaths paths{launch.exec_dir};
    auto text = read_file(paths.config());
    auto cfg = text ? shimproto::parse_shim_config(*text)
                    : Result<shimproto::ShimConfig>(Unexpected(text.error()));
    if (!cfg) {
        shim::report_start_failure(ready.get(), cfg.error().what());
        return 1;
    }
    shim::Shim s(std::move(*cfg), std::move(paths), std::move(ready));
    return s.run();
}
