// Health checks (moby daemon/health.go): a monitor thread per running container that has a
// check runs the probe through the container's shim as an exec, keeps the last 5 results,
// counts failures against Retries (not during the start period) and publishes
// "health_status: <status>" when the status changes.

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/time.hpp"
#include "berth/container/spec_builder.hpp"
#include "berth/oci/spec_json.hpp"
#include "berth/shimproto/channel.hpp"
#include "containers_impl.hpp"

namespace berth::engine {

namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kDefaultInterval = 30 * kSecond;
constexpr int64_t kDefaultTimeout = 30 * kSecond;
constexpr int64_t kDefaultStartInterval = 5 * kSecond;
constexpr int kDefaultRetries = 3;
constexpr size_t kMaxOutput = 4096;  // moby's maxOutputLen
constexpr size_t kMaxLog = 5;        // moby's maxLogEntries

/// Reads the probe's multiplexed output until EOF or the deadline; keeps the first 4 KiB of
/// payload. Returns false on timeout.
bool read_output(int fd, int64_t deadline, std::string& out) {
    std::string raw;
    char buf[4096];
    for (;;) {
        int64_t left = (deadline - now_unix_nanos()) / 1'000'000;
        if (left <= 0) return false;
        struct pollfd p {fd, POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) continue;
        ssize_t r = ::read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        raw.append(buf, static_cast<size_t>(r));
    }
    // [stream, 0, 0, 0, size BE32] frames (docker-api.md §3.2).
    size_t pos = 0;
    while (pos + 8 <= raw.size() && out.size() < kMaxOutput) {
        auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(raw[pos + i])); };
        size_t size = b(4) << 24 | b(5) << 16 | b(6) << 8 | b(7);
        std::string_view chunk = std::string_view(raw).substr(pos + 8, size);
        out.append(chunk.substr(0, kMaxOutput - out.size()));
        pos += 8 + size;
    }
    return true;
}

}  // namespace

void ContainerService::start_health(const std::shared_ptr<Entry>& e) {
    uint64_t gen;
    {
        std::lock_guard lk(e->mu);
        const auto& hc = e->c.config.healthcheck;
        if (!hc || hc->test.empty() || hc->test[0] == "NONE") {
            e->c.state.health.reset();
            return;
        }
        e->c.state.health = HealthState{};
        gen = e->generation;
    }
    std::thread([this, e, gen] { health_loop(e, gen); }).detach();
}

void ContainerService::health_loop(std::shared_ptr<Entry> e, uint64_t generation) {
    oci::HealthConfig hc;
    int64_t started;
    {
        std::lock_guard lk(e->mu);
        hc = *e->c.config.healthcheck;
        started = e->c.state.started_at;
    }
    int64_t interval = hc.interval > 0 ? hc.interval : kDefaultInterval;
    int64_t timeout = hc.timeout > 0 ? hc.timeout : kDefaultTimeout;
    int64_t start_interval = hc.start_interval > 0 ? hc.start_interval : kDefaultStartInterval;
    int retries = hc.retries > 0 ? hc.retries : kDefaultRetries;
    auto current = [&] {
        return e->generation == generation && !e->removed &&
               (e->c.state.status == RunState::Running || e->c.state.status == RunState::Paused);
    };
    for (;;) {
        bool in_start_period = now_unix_nanos() < started + hc.start_period;
        int64_t wait = in_start_period && hc.start_interval > 0 ? start_interval : interval;
        {
            std::unique_lock lk(e->mu);
            e->cv.wait_for(lk, std::chrono::nanoseconds(wait), [&] { return !current(); });
            if (!current()) return;
            if (e->c.state.status == RunState::Paused) continue;  // moby skips paused ones
        }
        auto r = probe(*e, hc.test, timeout);
        HealthResult res = r ? *r : HealthResult{now_unix_nanos(), now_unix_nanos(), -1, r.error().what()};
        std::string before, after;
        {
            std::lock_guard lk(e->mu);
            if (!current() || !e->c.state.health) return;
            auto& h = *e->c.state.health;
            before = h.status;
            in_start_period = res.start < started + hc.start_period;
            if (res.exit_code == 0) {
                h.failing_streak = 0;
                h.status = "healthy";
            } else if (!in_start_period || h.status != "starting") {
                // Failures during the start period don't count (moby), unless the container
                // was already healthy once.
                if (++h.failing_streak >= retries) h.status = "unhealthy";
            }
            h.log.push_back(res);
            if (h.log.size() > kMaxLog) h.log.erase(h.log.begin());
            after = h.status;
        }
        (void)save(*e);
        if (after != before) publish(e->c, "health_status: " + after);
    }
}

Result<HealthResult> ContainerService::probe(Entry& e, const std::vector<std::string>& test,
                                             int64_t timeout) {
    HealthResult res;
    res.start = now_unix_nanos();
    std::vector<std::string> args;
    if (test[0] == "CMD") {
        args.assign(test.begin() + 1, test.end());
    } else if (test[0] == "CMD-SHELL" && test.size() > 1) {
        args = {"/bin/sh", "-c", test[1]};
    } else {
        return make_error(Errc::InvalidArgument, "unknown health check type \"{}\"", test[0]);
    }
    if (args.empty()) return make_error(Errc::InvalidArgument, "health check has no command");
    container::ExecConfig ec;
    ec.cmd = args;
    std::string process_json = BERTH_TRY(exec_process_json(e, std::move(ec)));

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return BERTH_SYS_ERROR("socketpair");
    UniqueFd mine(sv[0]), theirs(sv[1]);
    auto [done_mine, done_theirs] = BERTH_TRY(shimproto::seqpacket_pair());
    shimproto::ExecRequest req;
    req.exec_id = "health-" + std::to_string(res.start);
    req.process_json = std::move(process_json);
    req.attach.stdout_ = true;
    req.attach.stderr_ = true;
    nlohmann::json body = nlohmann::json(req);
    body["op"] = "exec";
    auto reply = BERTH_TRY(shim_call(shimproto::ShimPaths{shim_dir(e.c.id)}.socket(), body,
                                     {theirs.get(), done_theirs.get()}));
    theirs.reset();
    done_theirs.reset();
    pid_t pid = reply.value("pid", 0);
    int64_t deadline = res.start + timeout;
    if (!read_output(mine.get(), deadline, res.output)) {
        // moby: a probe past its timeout is killed and counts as a failure.
        if (pid > 0) ::kill(pid, SIGKILL);
        res.end = now_unix_nanos();
        res.exit_code = -1;
        res.output = fmt::format("Health check exceeded timeout ({}s)", timeout / kSecond);
        return res;
    }
    auto done = shimproto::recv_message(done_mine.get());
    res.end = now_unix_nanos();
    res.exit_code = done && done->body.contains("exit_code") ? done->body["exit_code"].get<int>() : -1;
    // moby maps every non-zero status to 1 (unhealthy) except -1 (could not run).
    if (res.exit_code != 0 && res.exit_code != -1) res.exit_code = 1;
    return res;
}

}  // namespace berth::engine
