#include "host.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "berth/oci/capabilities.hpp"

namespace berth::test {

bool is_root() { return geteuid() == 0; }

std::optional<std::string> read_text(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string s;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ::close(fd);
            return std::nullopt;
        }
        if (n == 0) break;
        s.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return s;
}

bool write_text(const std::string& path, const std::string& data, mode_t mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return false;
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::close(fd);
            return false;
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    return ::close(fd) == 0;
}

bool make_dirs(const std::string& path, mode_t mode) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return false;
    return ::chmod(path.c_str(), mode) == 0;
}

bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

bool copy_file(const std::string& from, const std::string& to, mode_t mode) {
    auto data = read_text(from);
    if (!data) return false;
    if (!write_text(to, *data, mode)) return false;
    return ::chmod(to.c_str(), mode) == 0;
}

std::string make_temp_dir(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + "XXXXXX";
    if (!mkdtemp(tmpl.data())) return {};
    return tmpl;
}

std::map<std::string, std::string> parse_kv(const std::string& text) {
    std::map<std::string, std::string> kv;
    for (const auto& line : split_lines(text)) {
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        std::string v = line.substr(eq + 1);
        while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.pop_back();
        kv[line.substr(0, eq)] = v;
    }
    return kv;
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t nl = text.find('\n', start);
        if (nl == std::string::npos) nl = text.size();
        std::string line = text.substr(start, nl - start);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.push_back(line);
        start = nl + 1;
    }
    return lines;
}

std::vector<std::string> split(const std::string& s, char delim) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        size_t d = s.find(delim, start);
        if (d == std::string::npos) {
            parts.push_back(s.substr(start));
            return parts;
        }
        parts.push_back(s.substr(start, d - start));
        start = d + 1;
    }
}

bool contains(const std::string& s, const std::string& needle) {
    return s.find(needle) != std::string::npos;
}

namespace {

std::string unescape_mountinfo(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            int v = 0;
            bool ok = true;
            for (size_t k = 1; k <= 3; ++k) {
                char c = s[i + k];
                if (c < '0' || c > '7') {
                    ok = false;
                    break;
                }
                v = v * 8 + (c - '0');
            }
            if (ok) {
                out += static_cast<char>(v);
                i += 3;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

bool has_csv(const std::string& csv, const std::string& opt) {
    for (const auto& o : split(csv, ','))
        if (o == opt) return true;
    return false;
}

}  // namespace

bool MountInfo::has_option(const std::string& opt) const { return has_csv(options, opt); }
bool MountInfo::has_super_option(const std::string& opt) const {
    return has_csv(super_options, opt);
}

std::vector<MountInfo> parse_mountinfo(const std::string& text) {
    std::vector<MountInfo> mounts;
    for (const auto& line : split_lines(text)) {
        auto f = split(line, ' ');
        // id parent major:minor root mount-point options [optional...] - fstype source super
        if (f.size() < 10) continue;
        auto dash = std::find(f.begin() + 6, f.end(), "-");
        if (dash == f.end() || std::distance(dash, f.end()) < 4) continue;
        MountInfo m;
        m.root = unescape_mountinfo(f[3]);
        m.mount_point = unescape_mountinfo(f[4]);
        m.options = f[5];
        for (auto it = f.begin() + 6; it != dash; ++it) {
            if (!m.optional.empty()) m.optional += ' ';
            m.optional += *it;
        }
        m.fstype = *(dash + 1);
        m.source = unescape_mountinfo(*(dash + 2));
        m.super_options = *(dash + 3);
        mounts.push_back(std::move(m));
    }
    return mounts;
}

std::optional<MountInfo> find_mount(const std::vector<MountInfo>& mounts,
                                    const std::string& mount_point) {
    std::optional<MountInfo> found;
    for (const auto& m : mounts)
        if (m.mount_point == mount_point) found = m;
    return found;
}

std::vector<std::string> mounts_under(const std::string& dir) {
    std::vector<std::string> out;
    auto text = read_text("/proc/self/mountinfo");
    if (!text) return out;
    for (const auto& m : parse_mountinfo(*text)) {
        if (m.mount_point == dir || m.mount_point.rfind(dir + "/", 0) == 0)
            out.push_back(m.mount_point);
    }
    return out;
}

std::vector<std::string> unmount_all_under(const std::string& dir) {
    // Repeat: a path can be mounted several times (stacked), and detaching a parent can expose
    // nothing new but the loop is cheap.
    for (int round = 0; round < 8; ++round) {
        auto mps = mounts_under(dir);
        if (mps.empty()) return {};
        std::sort(mps.begin(), mps.end(),
                  [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
        for (const auto& mp : mps) ::umount2(mp.c_str(), MNT_DETACH);
    }
    return mounts_under(dir);
}

bool remove_tree(const std::string& dir) {
    if (dir.empty() || dir == "/") return false;
    if (!mounts_under(dir).empty()) return false;
    std::error_code ec;
    // Read-only bits (e.g. a chmod 0500 directory made by a test) must not stop cleanup.
    std::filesystem::remove_all(dir, ec);
    return !ec;
}

std::map<std::string, std::string> cgroup_mounts() {
    std::map<std::string, std::string> out;
    auto text = read_text("/proc/self/mountinfo");
    if (!text) return out;
    for (const auto& m : parse_mountinfo(*text)) {
        if (m.fstype == "cgroup2") {
            out.emplace("unified", m.mount_point);
        } else if (m.fstype == "cgroup") {
            // The hierarchy's name: its controllers (or name=...) from the superblock options.
            std::string name;
            for (const auto& o : split(m.super_options, ',')) {
                if (o == "rw" || o == "ro" || o == "relatime" || o == "noatime" || o == "nosuid" ||
                    o == "nodev" || o == "noexec" || o.rfind("release_agent", 0) == 0 ||
                    o == "clone_children" || o == "xattr" || o == "noprefix" ||
                    o == "cpuset_v2_mode")
                    continue;
                if (!name.empty()) name += ',';
                name += o;
            }
            if (!name.empty()) out.emplace(name, m.mount_point);
        }
    }
    return out;
}

std::string cgroup_dir(const std::string& controller, const std::string& cgroup_path) {
    auto mounts = cgroup_mounts();
    auto it = mounts.find(controller);
    if (it == mounts.end()) return {};
    return it->second + cgroup_path;
}

std::vector<std::string> existing_cgroup_dirs(const std::string& cgroup_path) {
    std::vector<std::string> out;
    for (const auto& [name, mp] : cgroup_mounts()) {
        std::string d = mp + cgroup_path;
        struct stat st;
        if (::stat(d.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) out.push_back(d);
    }
    return out;
}

namespace {

void collect_dirs_depth_first(const std::string& dir, std::vector<std::string>& out) {
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    std::vector<std::string> subs;
    while (auto* de = readdir(d)) {
        if (de->d_type != DT_DIR) continue;
        std::string n = de->d_name;
        if (n == "." || n == "..") continue;
        subs.push_back(dir + "/" + n);
    }
    closedir(d);
    for (const auto& s : subs) collect_dirs_depth_first(s, out);
    out.push_back(dir);
}

}  // namespace

std::vector<std::string> remove_cgroups_with_prefix(const std::string& prefix) {
    std::vector<std::string> failed;
    if (prefix.rfind("berth-test-", 0) != 0) return failed;  // never touch other cgroups
    std::vector<std::string> tops;
    for (const auto& [name, mp] : cgroup_mounts()) {
        DIR* d = opendir(mp.c_str());
        if (!d) continue;
        while (auto* de = readdir(d)) {
            std::string n = de->d_name;
            if (de->d_type == DT_DIR && n.rfind(prefix, 0) == 0) tops.push_back(mp + "/" + n);
        }
        closedir(d);
    }
    for (const auto& top : tops) {
        std::vector<std::string> dirs;
        collect_dirs_depth_first(top, dirs);
        // Thaw first: a frozen task cannot die, and a frozen cgroup keeps its tasks.
        for (const auto& d : dirs) {
            if (exists(d + "/freezer.state")) write_text(d + "/freezer.state", "THAWED");
            if (exists(d + "/cgroup.freeze")) write_text(d + "/cgroup.freeze", "0");
        }
        for (const auto& d : dirs) {
            if (auto procs = read_text(d + "/cgroup.procs")) {
                for (const auto& l : split_lines(*procs)) {
                    pid_t p = static_cast<pid_t>(atoi(l.c_str()));
                    if (p > 1 && p != getpid()) ::kill(p, SIGKILL);
                }
            }
        }
        for (const auto& d : dirs) {
            bool removed = wait_until([&] { return ::rmdir(d.c_str()) == 0 || errno == ENOENT; },
                                      std::chrono::milliseconds(3000));
            if (!removed) failed.push_back(d);
        }
    }
    return failed;
}

std::vector<pid_t> pids_with_env(const std::string& var) {
    std::vector<pid_t> out;
    DIR* d = opendir("/proc");
    if (!d) return out;
    pid_t self = getpid();
    while (auto* de = readdir(d)) {
        char* end = nullptr;
        long p = strtol(de->d_name, &end, 10);
        if (!end || *end || p <= 0 || p == self) continue;
        auto env = read_text("/proc/" + std::string(de->d_name) + "/environ");
        if (!env) continue;
        size_t start = 0;
        while (start < env->size()) {
            size_t z = env->find('\0', start);
            if (z == std::string::npos) z = env->size();
            if (env->compare(start, z - start, var) == 0) {
                out.push_back(static_cast<pid_t>(p));
                break;
            }
            start = z + 1;
        }
    }
    closedir(d);
    return out;
}

std::vector<pid_t> pids_with_root_under(const std::string& dir) {
    std::vector<pid_t> out;
    DIR* d = opendir("/proc");
    if (!d) return out;
    while (auto* de = readdir(d)) {
        char* end = nullptr;
        long p = strtol(de->d_name, &end, 10);
        if (!end || *end || p <= 0) continue;
        char buf[4096];
        std::string link = "/proc/" + std::string(de->d_name) + "/root";
        ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
        if (n <= 0) continue;
        std::string root(buf, static_cast<size_t>(n));
        if (root == dir || root.rfind(dir + "/", 0) == 0) out.push_back(static_cast<pid_t>(p));
    }
    closedir(d);
    return out;
}

bool process_alive(pid_t pid) {
    auto stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return false;
    auto rp = stat->rfind(')');
    if (rp == std::string::npos || rp + 2 >= stat->size()) return false;
    char state = (*stat)[rp + 2];
    return state != 'Z' && state != 'X';
}

bool private_mounts() {
    static bool ok = ::geteuid() == 0 && ::unshare(CLONE_NEWNS) == 0 &&
                     ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
    return ok;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (pred()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return pred();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::string ns_link(pid_t pid, const std::string& kind) {
    std::string path =
        "/proc/" + (pid > 0 ? std::to_string(pid) : std::string("self")) + "/ns/" + kind;
    char buf[256];
    ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
    if (n <= 0) return {};
    return std::string(buf, static_cast<size_t>(n));
}

int cap_number(const std::string& name) {
    auto names = oci::capability_names();
    for (size_t i = 0; i < names.size(); ++i)
        if (name == names[i]) return static_cast<int>(i);
    return -1;
}

bool self_has_cap(const std::string& name) {
    int c = cap_number(name);
    if (c < 0) return false;
    auto status = read_text("/proc/self/status").value_or("");
    for (const auto& line : split_lines(status)) {
        if (line.rfind("CapEff:", 0) == 0) {
            unsigned long long mask = strtoull(line.c_str() + 7, nullptr, 16);
            return (mask >> c) & 1;
        }
    }
    return false;
}

std::string cap_mask_hex(const std::vector<std::string>& names) {
    unsigned long long mask = 0;
    for (const auto& n : names) {
        int c = cap_number(n);
        if (c >= 0) mask |= 1ULL << c;
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%016llx", mask);
    return buf;
}

}  // namespace berth::test
