#include "cgroup_fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <thread>

#include "berth/common/fs.hpp"
#include "berth/common/strings.hpp"

namespace berth::cgroups::detail {

TestHooks& test_hooks() noexcept {
    static TestHooks hooks;
    return hooks;
}

std::string knob_path(const std::string& dir, std::string_view name) {
    std::string p;
    p.reserve(dir.size() + 1 + name.size());
    p += dir;
    p += '/';
    p += name;
    return p;
}

Result<void> write_knob(const std::string& dir, std::string_view name, std::string_view value) {
    std::string path = knob_path(dir, name);
    // O_TRUNC matters only for the regular files of the unit tests' fake tree.
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) return BERTH_SYS_ERROR("write {} to {}", value, path);
    for (;;) {
        ssize_t n = ::write(fd.get(), value.data(), value.size());
        if (n >= 0) return {};
        if (errno != EINTR) return BERTH_SYS_ERROR("write {} to {}", value, path);
    }
}

KnobWriter::KnobWriter(const std::string& dir, std::string_view name)
    : path_(knob_path(dir, name)) {}

Result<void> KnobWriter::write(std::string_view value) {
    if (!opened_) {
        opened_ = true;
        fd_.reset(::open(path_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
        if (!fd_) open_errno_ = errno;
    }
    if (!fd_) return sys_error(open_errno_, "write {} to {}", value, path_);
    // One command per write(2), newline-terminated as `echo` would send it (every list knob
    // accepts that); in the unit tests' fake tree the commands then stay one per line.
    std::string line;
    line.reserve(value.size() + 1);
    line += value;
    line += '\n';
    for (;;) {
        ssize_t n = ::write(fd_.get(), line.data(), line.size());
        if (n >= 0) return {};
        if (errno != EINTR) return BERTH_SYS_ERROR("write {} to {}", value, path_);
    }
}

Result<std::string> read_knob(const std::string& dir, std::string_view name) {
    std::string path = knob_path(dir, name);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return BERTH_SYS_ERROR("read {}", path);
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return BERTH_SYS_ERROR("read {}", path);
        }
        if (n == 0) return out;
        out.append(buf, static_cast<size_t>(n));
    }
}

std::optional<uint64_t> parse_uint_or_max(std::string_view s) noexcept {
    s = trim(s);
    if (s == "max") return std::numeric_limits<uint64_t>::max();
    return parse_uint(s);
}

Result<uint64_t> read_knob_uint(const std::string& dir, std::string_view name) {
    std::string s = BERTH_TRY(read_knob(dir, name));
    auto v = parse_uint_or_max(s);
    if (!v)
        return make_error(Errc::Internal, "parse {}: {:?} is not a number", knob_path(dir, name),
                          std::string(trim(s)));
    return *v;
}

Result<std::vector<std::string>> make_dirs(const std::string& dir, const std::string& stop_at) {
    std::vector<std::string> created;
    auto made = [&](const std::string& d) {
        created.push_back(d);
        if (auto& hook = test_hooks().after_mkdir) hook(d);
    };
    if (::mkdir(dir.c_str(), 0755) == 0) {
        made(dir);
    } else if (errno == ENOENT && dir.size() > stop_at.size() + 1) {
        created = BERTH_TRY(make_dirs(dirname_of(dir), stop_at));
        if (::mkdir(dir.c_str(), 0755) == 0)
            made(dir);
        else if (errno != EEXIST)
            return BERTH_SYS_ERROR("create cgroup {}", dir);
    } else if (errno != EEXIST) {
        return BERTH_SYS_ERROR("create cgroup {}", dir);
    }
    return created;
}

Result<std::vector<std::string>> list_subdirs(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
        if (errno == ENOENT) return out;
        return BERTH_SYS_ERROR("list cgroup {}", dir);
    }
    while (struct dirent* e = ::readdir(d)) {
        if (e->d_type != DT_DIR) continue;
        std::string_view n = e->d_name;
        if (n == "." || n == "..") continue;
        out.emplace_back(n);
    }
    ::closedir(d);
    return out;
}

namespace {

// Only for the unit tests' fake tree: a cgroup directory's knobs vanish with rmdir, but a
// plain directory's files do not. Never touches a real cgroup filesystem.
void remove_fake_files(const std::string& dir) {
    struct statfs sfs {};
    if (::statfs(dir.c_str(), &sfs) != 0) return;
    if (sfs.f_type == CGROUP_SUPER_MAGIC || sfs.f_type == CGROUP2_SUPER_MAGIC) return;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    while (struct dirent* e = ::readdir(d)) {
        if (e->d_type == DT_REG) ::unlinkat(::dirfd(d), e->d_name, 0);
    }
    ::closedir(d);
}

}  // namespace

Result<void> remove_cgroup_dir(const std::string& dir) {
    auto subs = BERTH_TRY(list_subdirs(dir));
    for (const auto& s : subs) BERTH_TRY(remove_cgroup_dir(knob_path(dir, s)));
    // runc retries for ~ 5 x 10ms growing; processes killed just before need a moment to exit.
    int delay_ms = 10;
    for (int attempt = 0;; ++attempt) {
        if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
        int err = errno;
        if (err == ENOTEMPTY && attempt == 0) {
            remove_fake_files(dir);
            continue;
        }
        if (err != EBUSY || attempt >= 6) return sys_error(err, "remove cgroup {}", dir);
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        delay_ms *= 2;
    }
}

Result<void> collect_pids(const std::string& dir, std::vector<pid_t>& out) {
    auto text = read_knob(dir, "cgroup.procs");
    if (!text) {
        if (is_enoent(text.error())) return {};  // removed meanwhile
        return Unexpected(std::move(text).error());
    }
    for (auto f : fields(*text)) {
        if (auto v = parse_int(f)) out.push_back(static_cast<pid_t>(*v));
    }
    auto subs = BERTH_TRY(list_subdirs(dir));
    for (const auto& s : subs) BERTH_TRY(collect_pids(knob_path(dir, s), out));
    return {};
}

Result<void> join_cgroup(const std::string& dir, pid_t pid) {
    std::string value = std::to_string(pid);
    for (int attempt = 0;; ++attempt) {
        auto r = write_knob(dir, "cgroup.procs", value);
        if (r || r.error().sys_errno != EINVAL || attempt >= 4) return r;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

std::vector<std::string_view> fields(std::string_view s) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
        size_t b = i;
        while (i < s.size() && !(s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
        if (i > b) out.push_back(s.substr(b, i - b));
    }
    return out;
}

void for_each_kv(std::string_view text, const std::function<void(std::string_view, uint64_t)>& fn) {
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        auto f = fields(text.substr(pos, nl - pos));
        if (f.size() == 2) {
            if (auto v = parse_uint_or_max(f[1])) fn(f[0], *v);
        }
        pos = nl + 1;
    }
}

std::vector<std::string> split_controllers(std::string_view text) {
    std::vector<std::string> out;
    for (auto f : fields(text)) out.emplace_back(f);
    return out;
}

}  // namespace berth::cgroups::detail
