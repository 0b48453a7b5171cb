#include "pidfile.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "berth/common/fs.hpp"

namespace berth::daemon {

Result<PidFile> PidFile::create(std::string path) {
    if (auto text = read_file(path)) {
        long pid = 0;
        auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), pid);
        (void)p;
        // A PID that is ours is a leftover of an earlier daemon in this PID namespace slot.
        if (ec == std::errc() && pid > 0 && pid != ::getpid() &&
            (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM)) {
            return make_error(Errc::AlreadyExists,
                              "pid file found, ensure berthd is not running or delete {}", path);
        }
    }
    auto slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) BERTH_TRY(mkdir_all(path.substr(0, slash)));
    BERTH_TRY_CTX(atomic_write_file(path, std::to_string(::getpid()) + "\n"), "write pid file");
    return PidFile(std::move(path));
}

PidFile::~PidFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
}

}  // namespace berth::daemon
