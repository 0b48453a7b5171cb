// Loading and attaching the v2 device program with raw bpf(2) calls (no libbpf), the way
// runc's ebpf package does it: attach with BPF_F_ALLOW_MULTI, then replace or detach the
// program that was there, so an update never leaves the cgroup without a filter.

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "berth/cgroups/device_filter.hpp"
#include "berth/common/log.hpp"
#include "berth/common/unique_fd.hpp"
#include "cgroup_fs.hpp"

namespace berth::cgroups {
namespace {

long sys_bpf(int cmd, union bpf_attr* attr) { return ::syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

constexpr char kLicense[] = "Apache";

Result<UniqueFd> load_program(const std::vector<BpfInsn>& prog) {
    auto load = [&](char* log, uint32_t log_size) {
        union bpf_attr attr;
        std::memset(&attr, 0, sizeof attr);
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = reinterpret_cast<uintptr_t>(prog.data());
        attr.insn_cnt = static_cast<uint32_t>(prog.size());
        attr.license = reinterpret_cast<uintptr_t>(kLicense);
        if (log) {
            attr.log_buf = reinterpret_cast<uintptr_t>(log);
            attr.log_size = log_size;
            attr.log_level = 1;
        }
        return static_cast<int>(sys_bpf(BPF_PROG_LOAD, &attr));
    };
    int fd = load(nullptr, 0);
    if (fd < 0 && errno == EPERM) {
        // Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK (runc raises it too). Only
        // done on failure so that the container does not inherit a raised limit needlessly.
        struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
        if (::setrlimit(RLIMIT_MEMLOCK, &rl) == 0) fd = load(nullptr, 0);
    }
    if (fd < 0) {
        int err = errno;
        std::string log(16384, '\0');
        if (err == EINVAL || err == EACCES) {
            // Ask the verifier why; its log is the only useful diagnostic.
            if (load(log.data(), static_cast<uint32_t>(log.size())) < 0) {
                log.resize(std::strlen(log.c_str()));
                return sys_error(err, "bpf(BPF_PROG_LOAD) device program of {} instructions: {}",
                                 prog.size(), log);
            }
        }
        return sys_error(err, "bpf(BPF_PROG_LOAD) device program of {} instructions", prog.size());
    }
    return UniqueFd(fd);
}

Result<std::vector<uint32_t>> query_programs(int dirfd, const std::string& dir) {
    std::vector<uint32_t> ids(64);
    for (int attempt = 0; attempt < 4; ++attempt) {
        union bpf_attr attr;
        std::memset(&attr, 0, sizeof attr);
        attr.query.target_fd = static_cast<uint32_t>(dirfd);
        attr.query.attach_type = BPF_CGROUP_DEVICE;
        attr.query.prog_ids = reinterpret_cast<uintptr_t>(ids.data());
        attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
        if (sys_bpf(BPF_PROG_QUERY, &attr) == 0) {
            ids.resize(attr.query.prog_cnt);
            return ids;
        }
        if (errno != ENOSPC)
            return BERTH_SYS_ERROR("bpf(BPF_PROG_QUERY, BPF_CGROUP_DEVICE) on {}", dir);
        ids.resize(attr.query.prog_cnt + 8);  // the kernel told us how many there are
    }
    return make_error(Errc::Internal, "bpf(BPF_PROG_QUERY) on {}: program list keeps changing",
                      dir);
}

Result<UniqueFd> open_dir(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return BERTH_SYS_ERROR("open cgroup directory {}", dir);
    return fd;
}

}  // namespace

Result<size_t> count_device_programs(const std::string& dir) {
    UniqueFd dfd = BERTH_TRY(open_dir(dir));
    auto ids = BERTH_TRY(query_programs(dfd.get(), dir));
    return ids.size();
}

Result<void> attach_device_program(const std::string& dir, const std::vector<BpfInsn>& prog) {
    if (auto& hook = detail::test_hooks().attach_device_program) return hook(dir, prog);

    UniqueFd dfd = BERTH_TRY(open_dir(dir));
    auto old_ids = BERTH_TRY(query_programs(dfd.get(), dir));
    std::vector<UniqueFd> old;
    for (uint32_t id : old_ids) {
        union bpf_attr attr;
        std::memset(&attr, 0, sizeof attr);
        attr.prog_id = id;
        int fd = static_cast<int>(sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr));
        if (fd < 0) {
            // Programs an LSM hides from us can only restrict further (runc skips them too).
            if (errno == EPERM || errno == EACCES || errno == ENOENT) continue;
            return BERTH_SYS_ERROR("bpf(BPF_PROG_GET_FD_BY_ID, {}) for {}", id, dir);
        }
        old.emplace_back(fd);
    }
    UniqueFd prog_fd = BERTH_TRY_CTX(load_program(prog), "device filter for {}", dir);

    auto attach = [&](int replace_fd) {
        union bpf_attr attr;
        std::memset(&attr, 0, sizeof attr);
        attr.target_fd = static_cast<uint32_t>(dfd.get());
        attr.attach_bpf_fd = static_cast<uint32_t>(prog_fd.get());
        attr.attach_type = BPF_CGROUP_DEVICE;
        attr.attach_flags = BPF_F_ALLOW_MULTI;
        if (replace_fd >= 0) {
            attr.attach_flags |= BPF_F_REPLACE;
            attr.replace_bpf_fd = static_cast<uint32_t>(replace_fd);
        }
        return sys_bpf(BPF_PROG_ATTACH, &attr);
    };
    // One old program: swap it atomically. BPF_F_REPLACE needs Linux 5.6; fall back below.
    if (old.size() == 1 && attach(old[0].get()) == 0) return {};
    if (attach(-1) != 0)
        return BERTH_SYS_ERROR("bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) on {}",
                               dir);
    for (auto& o : old) {
        union bpf_attr attr;
        std::memset(&attr, 0, sizeof attr);
        attr.target_fd = static_cast<uint32_t>(dfd.get());
        attr.attach_bpf_fd = static_cast<uint32_t>(o.get());
        attr.attach_type = BPF_CGROUP_DEVICE;
        if (sys_bpf(BPF_PROG_DETACH, &attr) != 0 && errno != ENOENT)
            return BERTH_SYS_ERROR("bpf(BPF_PROG_DETACH) old device program on {}", dir);
    }
    return {};
}

}  // namespace berth::cgroups
