#include "pidfile.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "berth/common/fs.hpp"

namespace berth::daemon {
namespace {

// moby's process.Alive: kill(pid, 0) succeeds for a zombie too (a daemon killed with SIGKILL
// whose parent has not reaped it yet), which is no running daemon.
bool alive(pid_t pid) {
    if (::kill(pid, 0) < 0 && errno != EPERM) return false;
    auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return true;
    auto paren = stat->rfind(')');
    return paren == std::string::npos || paren + 2 >= stat->size() || (*stat)[paren + 2] != 'Z';
}

}  // namespace

Result<PidFile> PidFile::create(std::string path) {
    if (auto text = read_file(path)) {
        long pid = 0;
        auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), pid);
        (void)p;
        // A PID that is ours is a leftover of an earlier daemon in this PID namespace slot.
        if (ec == std::errc() && pid > 0 && pid != ::getpid() && alive(static_cast<pid_t>(pid))) {
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
