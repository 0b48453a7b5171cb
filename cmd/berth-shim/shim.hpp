#pragma once
// berth-shim's monitor: one thread, one epoll loop, for the whole life of one container.
// It starts the container through the runtime library (the init is its child), holds the
// container's stdio (pipes, or the pty master), writes the json-file log, serves attached
// clients and `exec`s, and records the exit (shimproto/protocol.hpp has the contract).

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attachment.hpp"
#include "berth/common/process.hpp"
#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/logfile/writer.hpp"
#include "berth/runtime/runtime.hpp"
#include "berth/shimproto/protocol.hpp"

namespace berth::shim {

class Shim {
public:
    Shim(shimproto::ShimConfig cfg, shimproto::ShimPaths paths, UniqueFd ready);

    /// Starts the container, reports on the ready pipe, serves until the container exited and
    /// everything is recorded. Returns the shim's exit status (0 unless it could not start).
    int run();

private:
    /// The container's init (exec_id "") or an exec'd process, with its stdio.
    struct Proc {
        std::string exec_id;
        ChildProcess child;
        bool tty = false;
        bool close_stdin_on_eof = false;  ///< StdinOnce, and always for execs
        UniqueFd pty;                     ///< tty: the master (output and input)
        UniqueFd stdin_w;                 ///< no tty: our end of its stdin pipe
        UniqueFd out[3];                  ///< no tty: [1] stdout, [2] stderr read ends
        std::string stdin_buf;            ///< stdin waiting for the process to read it
        bool stdin_closed = false;
        bool output_paused = false;
        std::vector<std::unique_ptr<Attachment>> atts;
        bool exited = false;
        int exit_code = 0;
        int64_t drain_deadline_ns = 0;  ///< after the exit: stop waiting for output EOF
        [[nodiscard]] int input_fd() const { return tty ? pty.get() : stdin_w.get(); }
        [[nodiscard]] bool outputs_open() const { return pty || out[1] || out[2]; }
    };

    using Handler = std::function<void(uint32_t events)>;

    Result<void> start_init();
    Result<void> setup_loop();
    void watch(int fd, uint32_t events, Handler h);
    void modify(int fd, uint32_t events);
    void unwatch(int fd);
    void update_interest(Proc& p);

    void on_output(Proc& p, int stream, uint32_t events);
    void on_client(Proc& p, Attachment& a, uint32_t events);
    void on_control_listen();
    void on_control(int fd);
    void on_signal();
    void reap();
    void write_stdin(Proc& p);
    void close_stdin(Proc& p);
    void close_output(Proc& p, int stream);
    void end_attachment(Proc& p, Attachment& a, bool detached);
    void add_attachment(Proc& p, UniqueFd client, UniqueFd done,
                        const shimproto::AttachRequest& req);
    void maybe_finish(Proc& p);
    void finish_exec(Proc& p);
    [[noreturn]] void finish_init();

    nlohmann::json handle_attach(const nlohmann::json& body, std::vector<UniqueFd>& fds);
    nlohmann::json handle_exec(const nlohmann::json& body, std::vector<UniqueFd>& fds);
    nlohmann::json handle_resize(const nlohmann::json& body);
    Proc* find(const std::string& exec_id);
    void broadcast(const nlohmann::json& event);

    shimproto::ShimConfig cfg_;
    shimproto::ShimPaths paths_;
    runtime::Globals globals_;
    UniqueFd ready_;
    UniqueFd epoll_;
    UniqueFd signal_fd_;
    UniqueFd listen_;
    std::optional<runtime::OomWatcher> oom_;
    bool oom_killed_ = false;
    /// The container's mount namespace, held from its start until its exit is reported: the
    /// kernel then tears the namespace down (every mount in it, with an expedited RCU grace
    /// period) when we let go, after berthd heard of the exit, not in the init's exit before
    /// we are told of it.
    UniqueFd mnt_ns_;
    std::optional<logfile::Writer> log_;
    std::unique_ptr<Proc> init_;
    std::map<std::string, std::unique_ptr<Proc>> execs_;
    std::map<int, Handler> handlers_;
    std::map<int, UniqueFd> controls_;  ///< accepted control connections by fd
    std::vector<int> monitors_;         ///< control connections that asked for events
};

}  // namespace berth::shim
