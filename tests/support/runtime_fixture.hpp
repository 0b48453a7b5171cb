#pragma once
// RuntimeTest: the GoogleTest fixture of the runtime integration suite. Each test gets a private
// temp dir holding the runtime's --root state dir and a bundle (busybox rootfs made at test time
// plus the static probe at /probe), a config.json builder, helpers that run the runtime under
// test, and a TearDown that removes every container, process, cgroup, mount and file it made,
// even after a failure. Tests run in parallel: ids, cgroups and paths carry the test's pid.
//
// The runtime under test is $BERTH_TEST_RUNTIME, else the build's bin/berth-runtime.

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "console_socket.hpp"
#include "host.hpp"
#include "oci_spec.hpp"
#include "process_runner.hpp"

namespace berth::test {

/// Path of the runtime binary under test.
const std::string& runtime_path();
/// True when the runtime under test is runc (its --version says "runc version"). Tests of
/// Berth-only behaviour (error wording with JSON paths) skip themselves on runc.
bool runtime_is_runc();
/// Path of the static probe program built with the tests.
const std::string& probe_path();

/// Skips the test when the runtime under test is runc (for Berth-specific behaviour).
#define BERTH_SKIP_ON_RUNC(why)                                                          \
    do {                                                                                 \
        if (::berth::test::runtime_is_runc()) GTEST_SKIP() << "Berth-specific: " << why; \
    } while (0)

class RuntimeTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    /// A fresh container id ("bt<pid>-<n>") with its own cgroup path; deleted in TearDown.
    std::string new_id();
    /// The absolute cgroupsPath given to container `id` ("/berth-test-<pid>-<n>").
    std::string cgroup_of(const std::string& id) const;
    /// Makes another bundle directory `tmp_/<name>` with its own busybox rootfs and probe.
    std::string make_bundle(const std::string& name);
    /// Makes a directory under the temp dir (mode 0755) and returns its path.
    std::string make_tmp_dir(const std::string& name);
    /// Makes a directory inside the rootfs (e.g. a mount point) and returns the host path.
    std::string make_rootfs_dir(const std::string& path_in_container);

    /// Sets process.args to {"/probe", probe_args...}.
    void set_probe_args(const std::vector<std::string>& probe_args);
    /// Writes `spec` as `<bundle>/config.json`.
    void write_spec(const nlohmann::json& spec, const std::string& bundle);
    /// Writes spec_ to bundle_ with linux.cgroupsPath = cgroup_of(id).
    void write_spec_for(const std::string& id);

    /// Runs `<runtime> --root <state_root_> args...`.
    RunResult rt(const std::vector<std::string>& args, RunOptions opts = {});
    /// Runs `<runtime> args...` without --root (for global-flag tests).
    RunResult rt_raw(const std::vector<std::string>& args, RunOptions opts = {});

    /// Sets process.args to the probe with `probe_args` (unless empty: keeps spec_'s args),
    /// writes the spec for `id` and runs `run --bundle <bundle_> [flags] <id>` in the foreground.
    RunResult run_container(const std::string& id, const std::vector<std::string>& probe_args,
                            const std::vector<std::string>& flags = {}, RunOptions opts = {});
    /// run_container with a fresh id.
    RunResult run_probe(const std::vector<std::string>& probe_args,
                        const std::vector<std::string>& flags = {}, RunOptions opts = {});
    /// Like run_container, but `create`: the container's stdout/stderr go to out_path(id) and
    /// err_path(id); RunResult::err holds what the runtime wrote to stderr.
    RunResult create_container(const std::string& id, const std::vector<std::string>& probe_args,
                               const std::vector<std::string>& flags = {}, RunOptions opts = {});
    /// create_container + start; returns the first failing result (or start's).
    RunResult start_container(const std::string& id, const std::vector<std::string>& probe_args,
                              const std::vector<std::string>& flags = {});
    /// `run -d`, with output files like create_container.
    RunResult run_detached(const std::string& id, const std::vector<std::string>& probe_args,
                           const std::vector<std::string>& flags = {});

    /// Where a created container's stdout goes.
    std::string out_path(const std::string& id) const { return tmp_ + "/" + id + ".out"; }
    std::string err_path(const std::string& id) const { return tmp_ + "/" + id + ".err"; }
    /// What the container wrote to stdout so far.
    std::string container_output(const std::string& id) const;
    /// Waits until the container's stdout contains `needle`.
    bool wait_output(const std::string& id, const std::string& needle,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

    /// `state <id>` parsed; null if it failed or printed something else than JSON.
    nlohmann::json state(const std::string& id);
    /// state's "status", or "" when state fails.
    std::string status_of(const std::string& id);
    /// Polls state until its status is `status`.
    bool wait_status(const std::string& id, const std::string& status,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// state's pid (0 if none).
    pid_t pid_of(const std::string& id);

    /// Asserts (with gtest EXPECTs) that container `id` left nothing behind: no state dir, no
    /// cgroup directory, no process started for this test, no mount under the temp dir other than
    /// those in `mounts_before`.
    void expect_nothing_left(const std::string& id,
                             const std::vector<std::string>& mounts_before = {});

    std::string tmp_;         ///< private temp dir (0755, so a user namespace can reach the rootfs)
    std::string state_root_;  ///< the runtime's --root
    std::string bundle_;      ///< tmp_/bundle
    std::string rootfs_;      ///< bundle_/rootfs
    std::string tag_;         ///< BERTH_TEST_TAG value given to every runtime invocation
    nlohmann::json spec_;     ///< config.json under construction (runc's default, non-terminal)

private:
    bool make_rootfs(const std::string& rootfs);

    std::vector<std::string> ids_;
    std::map<std::string, std::string> cgroups_;
    int invocation_ = 0;
};

}  // namespace berth::test
