#include "state_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

#include "berth/common/fs.hpp"
#include "berth/common/strings.hpp"

namespace berth::runtime {

Result<void> check_id(const std::string& id) {
    if (id.empty()) return make_error(Errc::InvalidArgument, "container id cannot be empty");
    if (id == "." || id == "..") return make_error(Errc::InvalidArgument, "invalid id format: {}", id);
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '+' || c == '-' || c == '.';
        if (!ok) return make_error(Errc::InvalidArgument, "invalid id format: {}", id);
    }
    if (id.size() > 1024) return make_error(Errc::InvalidArgument, "invalid id format: {}", id);
    return {};
}

StateDir state_dir(const std::string& root, const std::string& id) { return {root + "/" + id}; }

Result<void> save_record(const StateDir& d, const ContainerRecord& r) {
    nlohmann::json j = {
        {"id", r.id},
        {"pid", r.pid},
        {"pid_start_time", r.pid_start_time},
        {"bundle", r.bundle},
        {"rootfs", r.rootfs},
        {"created", r.created},
        {"owner", r.owner},
        {"annotations", r.annotations},
        {"cgroup_paths", r.cgroup_paths},
        {"own_pid_ns", r.own_pid_ns},
        {"has_user_ns", r.has_user_ns},
    };
    return atomic_write_file(d.state_file(), j.dump(), 0600, Durability::Volatile);
}

Result<ContainerRecord> load_record(const std::string& root, const std::string& id) {
    if (!check_id(id)) return make_error(Errc::NotFound, "container does not exist");
    StateDir d = state_dir(root, id);
    auto text = read_file(d.state_file());
    if (!text) {
        if (text.error().code == Errc::NotFound) return make_error(Errc::NotFound, "container does not exist");
        return Unexpected(std::move(text).error());
    }
    try {
        auto j = nlohmann::json::parse(*text);
        ContainerRecord r;
        r.id = j.at("id").get<std::string>();
        r.pid = j.at("pid").get<pid_t>();
        r.pid_start_time = j.at("pid_start_time").get<uint64_t>();
        r.bundle = j.at("bundle").get<std::string>();
        r.rootfs = j.at("rootfs").get<std::string>();
        r.created = j.at("created").get<std::string>();
        r.owner = j.value("owner", "");
        r.annotations = j.value("annotations", std::map<std::string, std::string>{});
        r.cgroup_paths = j.value("cgroup_paths", std::map<std::string, std::string>{});
        r.own_pid_ns = j.value("own_pid_ns", true);
        r.has_user_ns = j.value("has_user_ns", false);
        return r;
    } catch (const nlohmann::json::exception& e) {
        return make_error(Errc::Internal, "{}: corrupt state file: {}", d.state_file(), e.what());
    }
}

uint64_t process_start_time(pid_t pid) noexcept {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[1024];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    // comm may contain spaces and parentheses: fields start after the last ')'.
    char* p = std::strrchr(buf, ')');
    if (!p) return 0;
    char state = p[2];
    if (state == 'Z' || state == 'X') return 0;
    int field = 2;  // p points at the end of field 2
    for (char* c = p + 1; *c; ++c) {
        if (*c == ' ') {
            ++field;
            if (field == 22) return std::strtoull(c + 1, nullptr, 10);
        }
    }
    return 0;
}

bool record_alive(const ContainerRecord& r) noexcept {
    if (r.pid <= 0) return false;
    uint64_t st = process_start_time(r.pid);
    return st != 0 && st == r.pid_start_time;
}

std::string now_rfc3339() {
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm {};
    ::gmtime_r(&ts.tv_sec, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
    return buf;
}

}  // namespace berth::runtime
