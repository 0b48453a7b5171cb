// pause, resume, update, events.

#include <poll.h>
#include <unistd.h>

#include <algorithm>

#include <chrono>
#include <cstdio>
#include <thread>

#include <nlohmann/json.hpp>

#include "berth/common/fs.hpp"
#include "berth/oci/spec_json.hpp"
#include "../commands.hpp"

namespace berth::cli {
namespace {

// runc's libcontainer/intelrdt-free types.Stats JSON, as `runc events` prints it.
nlohmann::ordered_json stats_json(const cgroups::Stats& s) {
    auto entries = [](const std::vector<cgroups::BlkioEntry>& v) {
        nlohmann::ordered_json a = nlohmann::ordered_json::array();
        for (const auto& e : v) a.push_back({{"major", e.major}, {"minor", e.minor}, {"op", e.op}, {"value", e.value}});
        return a;
    };
    nlohmann::ordered_json j;
    j["cpu"] = {{"usage", {{"total", s.cpu.usage_total}, {"percpu", s.cpu.percpu},
                           {"kernel", s.cpu.usage_kernel}, {"user", s.cpu.usage_user}}},
                {"throttling", {{"periods", s.cpu.periods}, {"throttledPeriods", s.cpu.throttled_periods},
                                {"throttledTime", s.cpu.throttled_time}}}};
    j["memory"] = {{"cache", s.memory.cache},
                   {"usage", {{"limit", s.memory.limit}, {"usage", s.memory.usage},
                              {"max", s.memory.max_usage}, {"failcnt", s.memory.failcnt}}},
                   {"swap", {{"limit", s.memory.swap_limit}, {"usage", s.memory.swap_usage}}},
                   {"raw", s.memory.raw}};
    j["pids"] = {{"current", s.pids.current}, {"limit", s.pids.limit}};
    j["blkio"] = {{"ioServiceBytesRecursive", entries(s.blkio_io_service_bytes_recursive)},
                  {"ioServicedRecursive", entries(s.blkio_io_serviced_recursive)}};
    nlohmann::ordered_json h = nlohmann::ordered_json::object();
    for (const auto& [size, v] : s.hugetlb) h[size] = {{"usage", v.usage}, {"max", v.max_usage}, {"failcnt", v.failcnt}};
    j["hugetlb"] = h;
    return j;
}

void print_event(const char* type, const std::string& id, const nlohmann::ordered_json& data) {
    nlohmann::ordered_json j{{"type", type}, {"id", id}};
    if (!data.is_null()) j["data"] = data;
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
}

struct UpdateFlags {
    std::string resources_file;
    std::optional<uint16_t> blkio_weight;
    std::optional<uint64_t> cpu_period, cpu_rt_period, cpu_share;
    std::optional<int64_t> cpu_quota, cpu_rt_runtime;
    std::string cpuset_cpus, cpuset_mems;
    std::optional<int64_t> memory, memory_reservation, memory_swap, kernel_memory, kernel_memory_tcp;
    std::optional<int64_t> pids_limit;
};

Result<oci::Resources> build_resources(const UpdateFlags& f) {
    oci::Resources r;
    if (!f.resources_file.empty()) {
        std::string text = BERTH_TRY(read_file(f.resources_file == "-" ? "/dev/stdin" : f.resources_file));
        r = BERTH_TRY(oci::parse_resources(text, f.resources_file));
    }
    auto cpu = [&]() -> oci::CpuResources& {
        if (!r.cpu) r.cpu = oci::CpuResources{};
        return *r.cpu;
    };
    auto mem = [&]() -> oci::MemoryResources& {
        if (!r.memory) r.memory = oci::MemoryResources{};
        return *r.memory;
    };
    if (f.blkio_weight) {
        if (!r.block_io) r.block_io = oci::BlockIoResources{};
        r.block_io->weight = f.blkio_weight;
    }
    if (f.cpu_period) cpu().period = f.cpu_period;
    if (f.cpu_quota) cpu().quota = f.cpu_quota;
    if (f.cpu_share) cpu().shares = f.cpu_share;
    if (f.cpu_rt_period) cpu().realtime_period = f.cpu_rt_period;
    if (f.cpu_rt_runtime) cpu().realtime_runtime = f.cpu_rt_runtime;
    if (!f.cpuset_cpus.empty()) cpu().cpus = f.cpuset_cpus;
    if (!f.cpuset_mems.empty()) cpu().mems = f.cpuset_mems;
    if (f.memory) mem().limit = f.memory;
    if (f.memory_reservation) mem().reservation = f.memory_reservation;
    if (f.memory_swap) mem().swap = f.memory_swap;
    if (f.kernel_memory) mem().kernel = f.kernel_memory;
    if (f.kernel_memory_tcp) mem().kernel_tcp = f.kernel_memory_tcp;
    if (f.pids_limit) r.pids = oci::PidsResources{*f.pids_limit};
    return r;
}

}  // namespace

void register_resources(CLI::App& app, Context& ctx) {
    static std::string id;
    auto* pause = app.add_subcommand("pause", "freeze every process of a container");
    pause->add_option("id", id)->required();
    pause->callback([&] {
        if (auto r = runtime::pause(ctx.globals, id); !r) fail(ctx, r.error());
    });
    auto* resume = app.add_subcommand("resume", "thaw a paused container");
    resume->add_option("id", id)->required();
    resume->callback([&] {
        if (auto r = runtime::resume(ctx.globals, id); !r) fail(ctx, r.error());
    });

    static UpdateFlags uf;
    auto* up = app.add_subcommand("update", "change the resource limits of a container");
    up->add_option("-r,--resources", uf.resources_file, "linux.resources JSON file ('-' for stdin)");
    up->add_option("--blkio-weight", uf.blkio_weight);
    up->add_option("--cpu-period", uf.cpu_period);
    up->add_option("--cpu-quota", uf.cpu_quota);
    up->add_option("--cpu-share", uf.cpu_share);
    up->add_option("--cpu-rt-period", uf.cpu_rt_period);
    up->add_option("--cpu-rt-runtime", uf.cpu_rt_runtime);
    up->add_option("--cpuset-cpus", uf.cpuset_cpus);
    up->add_option("--cpuset-mems", uf.cpuset_mems);
    up->add_option("--memory", uf.memory);
    up->add_option("--memory-reservation", uf.memory_reservation);
    up->add_option("--memory-swap", uf.memory_swap);
    up->add_option("--kernel-memory", uf.kernel_memory);
    up->add_option("--kernel-memory-tcp", uf.kernel_memory_tcp);
    up->add_option("--pids-limit", uf.pids_limit);
    up->add_option("id", id)->required();
    up->callback([&] {
        auto res = build_resources(uf);
        if (!res) return fail(ctx, res.error());
        if (auto r = runtime::update(ctx.globals, id, *res); !r) fail(ctx, r.error());
    });

    static bool once = false;
    static unsigned interval = 5;
    auto* ev = app.add_subcommand("events", "print container statistics");
    ev->add_flag("--stats", once, "print statistics once and exit");
    ev->add_option("--interval", interval, "seconds between statistics")->transform([](std::string s) {
        // runc takes Go durations ("5s"); seconds are what matters here.
        if (!s.empty() && s.back() == 's') s.pop_back();
        return s;
    });
    ev->add_option("id", id)->required();
    ev->callback([&] {
        if (once) {
            auto s = runtime::stats(ctx.globals, id);
            if (!s) return fail(ctx, s.error());
            print_event("stats", id, stats_json(*s));
            return;
        }
        // Stats every interval, and an "oom" event as soon as the cgroup OOM-kills, until
        // the container stops.
        auto oom = runtime::watch_oom(ctx.globals, id);
        auto next = std::chrono::steady_clock::now();
        for (;;) {
            auto now = std::chrono::steady_clock::now();
            if (now >= next) {
                auto s = runtime::stats(ctx.globals, id);
                if (!s) {
                    if (s.error().code == Errc::NotFound) fail(ctx, s.error());
                    return;  // stopped: the stream ends
                }
                print_event("stats", id, stats_json(*s));
                next = now + std::chrono::seconds(interval ? interval : 5);
            }
            int wait_ms = static_cast<int>(
                std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count());
            struct pollfd p {oom ? oom->fd() : -1, POLLIN, 0};
            // Also wake up once a second to notice that the container stopped.
            int r = ::poll(&p, 1, std::min(wait_ms, 1000));
            if (r > 0 && oom) {
                auto n = oom->consume();
                for (uint64_t i = 0; n && i < *n; ++i) print_event("oom", id, nullptr);
            }
            auto st = runtime::state(ctx.globals, id);
            if (!st || st->state.status == "stopped") return;
        }
    });
}

}  // namespace berth::cli
