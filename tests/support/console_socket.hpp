#pragma once
// The receiving end of runc's --console-socket protocol: a unix stream socket to which the
// runtime connects and sends the pty master of a terminal container with SCM_RIGHTS.

#include <chrono>
#include <string>

namespace berth::test {

/// Listens on a unix socket; owns the listening fd and the received master.
class ConsoleSocket {
public:
    /// Binds and listens on `path` (must not exist; at most 107 bytes).
    explicit ConsoleSocket(std::string path);
    ~ConsoleSocket();
    ConsoleSocket(const ConsoleSocket&) = delete;
    ConsoleSocket& operator=(const ConsoleSocket&) = delete;

    /// True if the socket is listening.
    [[nodiscard]] bool ok() const { return listen_fd_ >= 0; }
    [[nodiscard]] const std::string& path() const { return path_; }
    /// Accepts one connection and receives the pty master through SCM_RIGHTS. Returns the fd
    /// (owned by this object) or -1 with `error` set.
    int receive_master(std::chrono::milliseconds timeout, std::string* error = nullptr);
    /// The received master fd, or -1.
    [[nodiscard]] int master() const { return master_fd_; }
    /// Writes all of `data` to the master.
    bool write_master(const std::string& data);
    /// Reads from the master until `needle` appears (empty: until EOF/EIO), or `timeout` passes.
    /// Returns everything read.
    std::string read_until(const std::string& needle, std::chrono::milliseconds timeout);

private:
    std::string path_;
    int listen_fd_ = -1;
    int master_fd_ = -1;
};

}  // namespace berth::test
