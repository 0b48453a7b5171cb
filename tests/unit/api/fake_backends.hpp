#pragma once
// Fake backends for the API route tests: canned answers, and a record of what the routes
// passed in, so the tests can assert on both sides of the HTTP layer.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "berth/api/server/backend.hpp"
#include "berth/common/fs.hpp"

namespace berth::api::test {

class FakeSystemBackend : public SystemBackend {
public:
    /// Delivers `m` to every live subscription and to the replay history.
    void publish(const types::EventMessage& m) {
        std::lock_guard lk(mu_);
        history_.push_back(m);
        for (auto* s : subs_) s->queue.push_back(m);
        cv_.notify_all();
    }

    /// Number of /events streams currently open.
    int live_subscriptions() {
        std::lock_guard lk(mu_);
        return static_cast<int>(subs_.size());
    }

    Result<types::Version> version() override {
        types::Version v;
        v.version = "0.1.0";
        v.git_commit = "abc1234";
        v.go_version = "gcc 12.2";
        v.kernel_version = "6.1.0-test";
        return v;
    }

    Result<types::Info> info() override {
        types::Info i;
        i.id = "BERTH-TEST";
        i.name = "testhost";
        i.images = 2;
        i.ncpu = 2;
        i.docker_root_dir = "/var/lib/berth";
        i.runtimes = {{"runc", "berth-runtime"}};
        return i;
    }

    Result<types::DiskUsage> disk_usage(const types::DiskUsageOptions& parts) override {
        last_df = parts;
        types::DiskUsage du;
        du.layers_size = 4096;
        types::ImageSummary s;
        s.id = "sha256:" + std::string(64, 'a');
        s.repo_tags = {"busybox:latest"};
        s.size = 4096;
        du.images.push_back(s);
        return du;
    }

    struct Sub : EventSubscription {
        FakeSystemBackend* owner = nullptr;
        std::deque<types::EventMessage> queue;
        Wait next(std::chrono::milliseconds timeout, types::EventMessage& out) override {
            std::unique_lock lk(owner->mu_);
            owner->cv_.wait_for(lk, timeout, [&] { return !queue.empty(); });
            if (queue.empty()) return Wait::Timeout;
            out = queue.front();
            queue.pop_front();
            return Wait::Event;
        }
        ~Sub() override {
            std::lock_guard lk(owner->mu_);
            std::erase(owner->subs_, this);
        }
    };

    Result<std::unique_ptr<EventSubscription>> subscribe_events(const EventQuery& q) override {
        auto s = std::make_unique<Sub>();
        s->owner = this;
        std::lock_guard lk(mu_);
        last_event_query = q;
        if (q.since_ns)
            for (const auto& m : history_)
                if (m.time_nano >= *q.since_ns) s->queue.push_back(m);
        subs_.push_back(s.get());
        return std::unique_ptr<EventSubscription>(std::move(s));
    }

    Result<types::SystemCheckReport> system_check(bool repair) override {
        types::SystemCheckReport r;
        r.problems = {"blob sha256:dead is missing"};
        if (repair) r.repairs = {"removed layer record sha256:dead"};
        return r;
    }

    types::DiskUsageOptions last_df;
    EventQuery last_event_query;

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<types::EventMessage> history_;
    std::vector<Sub*> subs_;
};

class FakeImageBackend : public ImageBackend {
public:
    static constexpr size_t kSaveSize = 32u << 20;

    Result<std::vector<types::ImageSummary>> list(const ImageListOptions& opts) override {
        last_list = opts;
        types::ImageSummary a;
        a.id = "sha256:" + std::string(64, 'a');
        a.repo_tags = {"busybox:latest"};
        a.created = 1700000000;
        a.size = 4096;
        types::ImageSummary b;
        b.id = "sha256:" + std::string(64, 'b');
        return std::vector<types::ImageSummary>{a, b};
    }

    Result<types::ImageInspect> inspect(const std::string& name) override {
        last_name = name;
        if (name.find("nosuch") != std::string::npos)
            return make_error(Errc::NotFound, "No such image: {}", name);
        types::ImageInspect i;
        i.id = "sha256:" + std::string(64, 'a');
        i.repo_tags = {name};
        i.created = "2024-01-01T00:00:00.123456789Z";
        i.os = "linux";
        i.architecture = "amd64";
        i.config = {{"Cmd", {"sh"}}};
        i.layers = {"sha256:" + std::string(64, 'c')};
        i.size = 4096;
        return i;
    }

    Result<std::vector<types::HistoryItem>> history(const std::string& name) override {
        last_name = name;
        types::HistoryItem h;
        h.id = "sha256:" + std::string(64, 'a');
        h.created_by = "/bin/sh -c #(nop) CMD [\"sh\"]";
        h.tags = {"busybox:latest"};
        types::HistoryItem missing;
        missing.created_by = "ADD rootfs.tar /";
        missing.size = 4096;
        return std::vector<types::HistoryItem>{h, missing};
    }

    Result<void> tag(const std::string& name, const std::string& repo,
                     const std::string& t) override {
        last_name = name;
        last_tag = repo + ":" + t;
        if (name.find("nosuch") != std::string::npos)
            return make_error(Errc::NotFound, "No such image: {}", name);
        return {};
    }

    Result<std::vector<types::DeleteResponse>> remove(const std::string& name, bool force,
                                                      bool noprune) override {
        last_name = name;
        last_force = force;
        last_noprune = noprune;
        if (name == "inuse")
            return make_error(Errc::Conflict,
                              "conflict: unable to delete aaaaaaaaaaaa (must be forced) - image "
                              "is being used by stopped container bbbbbbbbbbbb");
        return std::vector<types::DeleteResponse>{{"busybox:latest", ""},
                                                  {"", "sha256:" + std::string(64, 'a')}};
    }

    Result<types::ImagesPruneReport> prune(const Filters& filters) override {
        last_filters = filters;
        types::ImagesPruneReport r;
        r.images_deleted = {{"", "sha256:" + std::string(64, 'd')}};
        r.space_reclaimed = 1234;
        return r;
    }

    Result<std::string> import(BodyReader& body, const ImportParams& params,
                               ProgressSink& progress) override {
        last_import = params;
        if (params.repo == "bad")
            return make_error(Errc::InvalidArgument,
                              "invalid reference format: repository "
                              "name must be lowercase");
        char buf[65536];
        size_t total = 0;
        uint64_t sum = 0;
        for (;;) {
            auto n = body.read(std::span<char>(buf, sizeof buf));
            if (!n) return Unexpected(n.error());
            if (*n == 0) break;
            for (size_t i = 0; i < *n; ++i) sum += static_cast<unsigned char>(buf[i]);
            total += *n;
        }
        imported_bytes = total;
        imported_sum = sum;
        if (params.message == "fail-late") {
            BERTH_TRY(progress.status("", "Importing"));
            return make_error(Errc::InvalidArgument, "not a tar archive");
        }
        return "sha256:" + std::to_string(total);
    }

    Result<void> save(const std::vector<std::string>& names, const SaveTarget& target) override {
        last_names = names;
        for (const auto& n : names)
            if (n.find("missing") != std::string::npos)
                return make_error(Errc::NotFound, "No such image: {}", n);
        int fd = BERTH_TRY(target(kSaveSize));
        std::string chunk(64 * 1024, '\0');
        for (size_t off = 0; off < kSaveSize; off += chunk.size()) {
            for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>((off + i) % 251);
            BERTH_TRY(write_all(fd, chunk, "save"));
        }
        return {};
    }

    Result<void> load(BodyReader& body, bool quiet, ProgressSink& progress) override {
        last_quiet = quiet;
        std::string head;
        char buf[65536];
        for (;;) {
            auto n = body.read(std::span<char>(buf, sizeof buf));
            if (!n) return Unexpected(n.error());
            if (*n == 0) break;
            if (head.size() < 16) head.append(buf, std::min<size_t>(*n, 16));
        }
        if (head == "bad") return make_error(Errc::InvalidArgument, "invalid tar header");
        BERTH_TRY(progress.progress("aaaaaaaaaaaa", "Loading layer", 10, 20));
        BERTH_TRY(progress.stream("Loaded image: busybox:latest\n"));
        return {};
    }

    std::string last_name;
    std::string last_tag;
    bool last_force = false;
    bool last_noprune = false;
    bool last_quiet = false;
    ImageListOptions last_list;
    Filters last_filters;
    ImportParams last_import;
    std::vector<std::string> last_names;
    size_t imported_bytes = 0;
    uint64_t imported_sum = 0;
};

}  // namespace berth::api::test
