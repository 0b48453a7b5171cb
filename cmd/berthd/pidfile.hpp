#pragma once
// dockerd's --pidfile (moby pkg/pidfile): refuse to start when the file names a live process
// (another daemon on the same roots), otherwise write our PID; removed at a clean exit.

#include <string>

#include "berth/common/result.hpp"

namespace berth::daemon {

class PidFile {
public:
    /// Writes getpid() to `path` (creating its directory). AlreadyExists "pid file found, ensure
    /// berthd is not running or delete <path>" when it holds the PID of a running process.
    [[nodiscard]] static Result<PidFile> create(std::string path);
    PidFile(PidFile&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
    PidFile& operator=(PidFile&&) = delete;
    ~PidFile();

private:
    explicit PidFile(std::string path) : path_(std::move(path)) {}
    std::string path_;
};

}  // namespace berth::daemon
