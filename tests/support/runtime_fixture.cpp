#include "runtime_fixture.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#ifndef BERTH_TEST_DEFAULT_RUNTIME
#error "BERTH_TEST_DEFAULT_RUNTIME must be defined by CMake"
#endif
#ifndef BERTH_TEST_PROBE
#error "BERTH_TEST_PROBE must be defined by CMake"
#endif
#ifndef BERTH_TEST_ROOTFS_SCRIPT
#error "BERTH_TEST_ROOTFS_SCRIPT must be defined by CMake"
#endif

namespace berth::test {

namespace {
std::atomic<int> g_counter{0};
constexpr auto kRuntimeTimeout = std::chrono::seconds(30);
}  // namespace

const std::string& runtime_path() {
    static const std::string path = [] {
        const char* env = getenv("BERTH_TEST_RUNTIME");
        return std::string(env && *env ? env : BERTH_TEST_DEFAULT_RUNTIME);
    }();
    return path;
}

bool runtime_is_runc() {
    static const bool is_runc = [] {
        RunOptions o;
        o.timeout = std::chrono::seconds(10);
        auto r = run_program({runtime_path(), "--version"}, o);
        return r.out.rfind("runc version", 0) == 0;
    }();
    return is_runc;
}

const std::string& probe_path() {
    static const std::string path = BERTH_TEST_PROBE;
    return path;
}

void RuntimeTest::SetUp() {
    BERTH_REQUIRE_ROOT();
    ASSERT_EQ(access(runtime_path().c_str(), X_OK), 0)
        << "runtime under test not found or not executable: " << runtime_path()
        << " (set BERTH_TEST_RUNTIME, or build berth-runtime)";
    ASSERT_EQ(access(probe_path().c_str(), X_OK), 0) << "probe not built: " << probe_path();
    tag_ = "berth-test-" + std::to_string(getpid());
    tmp_ = make_temp_dir(tag_ + "-");
    ASSERT_FALSE(tmp_.empty()) << "mkdtemp failed";
    // 0755: a container in a user namespace (mapped root is not host root) must reach its rootfs.
    ASSERT_EQ(chmod(tmp_.c_str(), 0755), 0);
    state_root_ = tmp_ + "/state";
    bundle_ = tmp_ + "/bundle";
    rootfs_ = bundle_ + "/rootfs";
    ASSERT_TRUE(make_dirs(bundle_, 0755));
    ASSERT_TRUE(make_rootfs(rootfs_));
    spec_ = runc_default_spec();
    set_probe_args({"exit", "0"});
}

bool RuntimeTest::make_rootfs(const std::string& rootfs) {
    RunOptions o;
    o.timeout = std::chrono::seconds(60);
    auto r = run_program({"/bin/sh", BERTH_TEST_ROOTFS_SCRIPT, rootfs}, o);
    EXPECT_TRUE(r.ok()) << r.describe();
    if (!r.ok()) return false;
    bool copied = copy_file(probe_path(), rootfs + "/probe", 0755);
    EXPECT_TRUE(copied) << "copy probe into " << rootfs;
    return copied;
}

void RuntimeTest::TearDown() {
    if (tmp_.empty()) return;
    // 1. Ask the runtime to remove what it made.
    for (const auto& id : ids_) {
        RunOptions o;
        o.timeout = std::chrono::seconds(15);
        rt({"delete", "--force", id}, o);
    }
    // 2. Whatever the runtime left: processes carrying our tag (runtime, its init, hooks) and
    //    processes whose root is in our temp dir. Only processes this test started match.
    auto kill_ours = [&] {
        bool any = false;
        for (pid_t p : pids_with_env("BERTH_TEST_TAG=" + tag_)) {
            ::kill(p, SIGKILL);
            any = true;
        }
        for (pid_t p : pids_with_root_under(tmp_)) {
            if (p != getpid()) {
                ::kill(p, SIGKILL);
                any = true;
            }
        }
        return any;
    };
    // 3. Cgroups named berth-test-<pid>-* (thawed, emptied, removed).
    auto failed_cgroups = remove_cgroups_with_prefix(tag_ + "-");
    if (kill_ours()) {
        wait_until([&] { return !kill_ours(); }, std::chrono::seconds(5));
        failed_cgroups = remove_cgroups_with_prefix(tag_ + "-");
    }
    EXPECT_TRUE(failed_cgroups.empty()) << "cgroups left: " << failed_cgroups.front();
    // 4. Mounts under the temp dir, then the files.
    auto left = unmount_all_under(tmp_);
    EXPECT_TRUE(left.empty()) << "could not unmount " << left.front();
    if (left.empty()) {
        EXPECT_TRUE(remove_tree(tmp_)) << "could not remove " << tmp_;
    }
}

std::string RuntimeTest::new_id() {
    int n = ++g_counter;
    std::string id = "bt" + std::to_string(getpid()) + "-" + std::to_string(n);
    ids_.push_back(id);
    cgroups_[id] = "/" + tag_ + "-" + std::to_string(n);
    return id;
}

std::string RuntimeTest::cgroup_of(const std::string& id) const {
    auto it = cgroups_.find(id);
    return it == cgroups_.end() ? std::string() : it->second;
}

std::string RuntimeTest::make_bundle(const std::string& name) {
    std::string dir = tmp_ + "/" + name;
    EXPECT_TRUE(make_dirs(dir, 0755));
    make_rootfs(dir + "/rootfs");
    return dir;
}

std::string RuntimeTest::make_tmp_dir(const std::string& name) {
    std::string dir = tmp_ + "/" + name;
    EXPECT_TRUE(make_dirs(dir, 0755)) << dir;
    return dir;
}

std::string RuntimeTest::make_rootfs_dir(const std::string& path_in_container) {
    std::string dir = rootfs_ + path_in_container;
    EXPECT_TRUE(make_dirs(dir, 0755)) << dir;
    return dir;
}

void RuntimeTest::set_probe_args(const std::vector<std::string>& probe_args) {
    nlohmann::json args = nlohmann::json::array({"/probe"});
    for (const auto& a : probe_args) args.push_back(a);
    spec_["process"]["args"] = args;
}

void RuntimeTest::write_spec(const nlohmann::json& spec, const std::string& bundle) {
    ASSERT_TRUE(write_text(bundle + "/config.json", spec.dump(2))) << bundle;
}

void RuntimeTest::write_spec_for(const std::string& id) {
    nlohmann::json s = spec_;
    s["linux"]["cgroupsPath"] = cgroup_of(id);
    write_spec(s, bundle_);
}

RunResult RuntimeTest::rt(const std::vector<std::string>& args, RunOptions opts) {
    std::vector<std::string> argv = {"--root", state_root_};
    argv.insert(argv.end(), args.begin(), args.end());
    return rt_raw(argv, std::move(opts));
}

RunResult RuntimeTest::rt_raw(const std::vector<std::string>& args, RunOptions opts) {
    std::vector<std::string> argv = {runtime_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    opts.env.push_back("BERTH_TEST_TAG=" + tag_);
    if (opts.timeout == RunOptions{}.timeout) opts.timeout = kRuntimeTimeout;
    return run_program(argv, opts);
}

RunResult RuntimeTest::run_container(const std::string& id,
                                     const std::vector<std::string>& probe_args,
                                     const std::vector<std::string>& flags, RunOptions opts) {
    if (!probe_args.empty()) set_probe_args(probe_args);
    write_spec_for(id);
    std::vector<std::string> args = {"run", "--bundle", bundle_};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(id);
    return rt(args, std::move(opts));
}

RunResult RuntimeTest::run_probe(const std::vector<std::string>& probe_args,
                                 const std::vector<std::string>& flags, RunOptions opts) {
    return run_container(new_id(), probe_args, flags, std::move(opts));
}

RunResult RuntimeTest::create_container(const std::string& id,
                                        const std::vector<std::string>& probe_args,
                                        const std::vector<std::string>& flags, RunOptions opts) {
    if (!probe_args.empty()) set_probe_args(probe_args);
    write_spec_for(id);
    std::vector<std::string> args = {"create", "--bundle", bundle_};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(id);
    // The container inherits the runtime's stdio and outlives it: send both to files, so no
    // pipe is left to a process we stop reading from.
    std::string err_file = tmp_ + "/runtime-" + std::to_string(++invocation_) + ".err";
    opts.stdout_path = out_path(id);
    opts.stderr_path = err_file;
    auto r = rt(args, std::move(opts));
    r.err = read_text(err_file).value_or("");
    // Later stderr of the container goes on to the same file; keep a stable name for it.
    ::symlink(err_file.c_str(), err_path(id).c_str());
    return r;
}

RunResult RuntimeTest::start_container(const std::string& id,
                                       const std::vector<std::string>& probe_args,
                                       const std::vector<std::string>& flags) {
    auto r = create_container(id, probe_args, flags);
    if (!r.ok()) return r;
    return rt({"start", id});
}

RunResult RuntimeTest::run_detached(const std::string& id,
                                    const std::vector<std::string>& probe_args,
                                    const std::vector<std::string>& flags) {
    if (!probe_args.empty()) set_probe_args(probe_args);
    write_spec_for(id);
    std::vector<std::string> args = {"run", "-d", "--bundle", bundle_};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(id);
    std::string err_file = tmp_ + "/runtime-" + std::to_string(++invocation_) + ".err";
    RunOptions opts;
    opts.stdout_path = out_path(id);
    opts.stderr_path = err_file;
    auto r = rt(args, opts);
    r.err = read_text(err_file).value_or("");
    ::symlink(err_file.c_str(), err_path(id).c_str());
    return r;
}

std::string RuntimeTest::container_output(const std::string& id) const {
    return read_text(out_path(id)).value_or("");
}

bool RuntimeTest::wait_output(const std::string& id, const std::string& needle,
                              std::chrono::milliseconds timeout) {
    return wait_until([&] { return contains(container_output(id), needle); }, timeout);
}

nlohmann::json RuntimeTest::state(const std::string& id) {
    auto r = rt({"state", id});
    if (!r.ok()) return nullptr;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded()) return nullptr;
    return j;
}

std::string RuntimeTest::status_of(const std::string& id) {
    auto j = state(id);
    if (!j.is_object() || !j.contains("status") || !j["status"].is_string()) return "";
    return j["status"].get<std::string>();
}

bool RuntimeTest::wait_status(const std::string& id, const std::string& status,
                              std::chrono::milliseconds timeout) {
    return wait_until([&] { return status_of(id) == status; }, timeout);
}

pid_t RuntimeTest::pid_of(const std::string& id) {
    auto j = state(id);
    if (!j.is_object() || !j.contains("pid") || !j["pid"].is_number_integer()) return 0;
    return j["pid"].get<pid_t>();
}

void RuntimeTest::expect_nothing_left(const std::string& id,
                                      const std::vector<std::string>& mounts_before) {
    EXPECT_FALSE(exists(state_root_ + "/" + id))
        << "state directory left: " << state_root_ << "/" << id;
    auto cg = cgroup_of(id);
    if (!cg.empty()) {
        auto dirs = existing_cgroup_dirs(cg);
        EXPECT_TRUE(dirs.empty()) << "cgroup directory left: " << dirs.front();
    }
    // The runtime has exited; give its children a moment to finish dying.
    bool none = wait_until(
        [&] {
            return pids_with_env("BERTH_TEST_TAG=" + tag_).empty() &&
                   pids_with_root_under(rootfs_).empty();
        },
        std::chrono::seconds(3));
    EXPECT_TRUE(none) << "processes left: tagged " << pids_with_env("BERTH_TEST_TAG=" + tag_).size()
                      << ", rooted in rootfs " << pids_with_root_under(rootfs_).size();
    for (const auto& m : mounts_under(tmp_)) {
        bool known = false;
        for (const auto& b : mounts_before) known = known || b == m;
        EXPECT_TRUE(known) << "mount left: " << m;
    }
}

}  // namespace berth::test
