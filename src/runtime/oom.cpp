// OOM notifications for `events`: runc prints {"type":"oom"} when the cgroup OOM-kills.

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "berth/common/fs.hpp"
#include "berth/common/strings.hpp"
#include "berth/runtime/runtime.hpp"
#include "state_store.hpp"

namespace berth::runtime {
namespace {

// memory.events "oom_kill N" line.
uint64_t oom_kills(const std::string& events) {
    for (const auto& line : split(events, '\n')) {
        auto f = split(line, ' ');
        if (f.size() == 2 && f[0] == "oom_kill") return parse_uint(f[1]).value_or(0);
    }
    return 0;
}

}  // namespace

Result<OomWatcher> watch_oom(const Globals& g, const std::string& id) {
    ContainerRecord rec = BERTH_TRY(load_record(g.root, id));
    OomWatcher w;
    auto mem = rec.cgroup_paths.find("memory");
    if (mem != rec.cgroup_paths.end()) {
        UniqueFd efd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!efd) return BERTH_SYS_ERROR("eventfd");
        std::string ctl = mem->second + "/memory.oom_control";
        UniqueFd oom(::open(ctl.c_str(), O_RDONLY | O_CLOEXEC));
        if (!oom) return BERTH_SYS_ERROR("open {}", ctl);
        std::string reg = std::to_string(efd.get()) + " " + std::to_string(oom.get());
        BERTH_TRY(write_file(mem->second + "/cgroup.event_control", reg));
        w.fd_ = std::move(efd);
        return w;
    }
    auto v2 = rec.cgroup_paths.find("");
    if (v2 == rec.cgroup_paths.end() || !path_exists(v2->second + "/memory.events"))
        return make_error(Errc::Unsupported, "container {} has no memory cgroup to watch", id);
    w.events_file_ = v2->second + "/memory.events";
    UniqueFd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!in) return BERTH_SYS_ERROR("inotify_init");
    if (::inotify_add_watch(in.get(), w.events_file_.c_str(), IN_MODIFY) < 0)
        return BERTH_SYS_ERROR("watch {}", w.events_file_);
    w.last_ = oom_kills(read_file(w.events_file_).value_or(""));
    w.fd_ = std::move(in);
    return w;
}

Result<uint64_t> OomWatcher::consume() {
    if (events_file_.empty()) {
        uint64_t n = 0;
        if (::read(fd_.get(), &n, sizeof n) != static_cast<ssize_t>(sizeof n)) return 0;
        return n;
    }
    char buf[4096];
    while (::read(fd_.get(), buf, sizeof buf) > 0) {
    }
    uint64_t now = oom_kills(BERTH_TRY(read_file(events_file_)));
    uint64_t n = now > last_ ? now - last_ : 0;
    last_ = now;
    return n;
}

}  // namespace berth::runtime
