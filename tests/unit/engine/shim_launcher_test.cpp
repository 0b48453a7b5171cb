// ShimLauncher against the real `berth-shim --launcher`: a shim it forks reports on the ready
// pipe it was given (here: that its exec dir has no shim.json), under the command line that
// names its exec dir, with the next one forked ahead (the spare); a bad request is refused on
// that pipe; a launch goes to the spare directly; an idle launcher drops its code pages; a
// launcher that was killed is reaped at once and replaced by the next launch, a spare that was
// killed by a fork of the launcher.
#include "shim_launcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "berth/common/fs.hpp"
#include "berth/common/strings.hpp"

namespace berth::engine {
namespace {

// What a shim writes on its ready pipe: one line, then EOF when it has exited.
std::string read_ready(int fd) {
    std::string out;
    char buf[512];
    for (;;) {
        struct pollfd p {fd, POLLIN, 0};
        if (::poll(&p, 1, 10000) != 1) return out + "<timeout>";
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) return out;
        out.append(buf, static_cast<size_t>(n));
    }
}

bool gone(pid_t pid) {  // no process, not even a zombie
    return ::access(("/proc/" + std::to_string(pid)).c_str(), F_OK) != 0;
}

// The launcher's child whose command line starts with `want`, or "" (polls up to 2 s).
std::string child_named(pid_t launcher, const std::string& want) {
    for (int i = 0; i < 200; ++i) {
        auto kids = read_file("/proc/" + std::to_string(launcher) + "/task/" +
                              std::to_string(launcher) + "/children");
        for (const auto& field : kids ? split(*kids, ' ') : std::vector<std::string>{}) {
            std::string child(trim(field));
            if (child.empty()) continue;
            auto cmd = read_file("/proc/" + child + "/cmdline");
            if (cmd && cmd->rfind(want, 0) == 0) return child;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return "";
}

// The launcher's child that waits for the next launch (`berth-shim (spare)`), or "".
std::string spare_of(pid_t launcher) {
    return child_named(launcher, std::string("berth-shim") + '\0' + "(spare)" + '\0');
}

class ShimLauncherTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-test-launcher.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        null_.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
        ASSERT_TRUE(null_);
    }
    void TearDown() override { (void)remove_all(dir_); }

    // Launches a shim for dir_ with `extra` descriptors after 0, 1 (a new ready pipe), 2;
    // returns what it reports.
    std::string launch(ShimLauncher& l, int extra) {
        int p[2];
        EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
        UniqueFd r(p[0]), w(p[1]);
        std::vector<int> fds = {null_.get(), w.get(), null_.get()};
        for (int i = 0; i < extra; ++i) fds.push_back(null_.get());
        auto ok = l.launch(dir_, fds, false);
        EXPECT_TRUE(ok) << (ok ? "" : ok.error().what());
        w.reset();
        return read_ready(r.get());
    }

    std::string dir_;
    UniqueFd null_;
};

TEST_F(ShimLauncherTest, ShimReportsOnItsReadyPipe) {
    ShimLauncher l(BERTH_SHIM_BINARY, 200);
    std::string line = launch(l, 1);
    EXPECT_NE(line.find("\"error\":\"berth-shim:"), std::string::npos) << line;
    EXPECT_NE(line.find(dir_ + "/shim.json"), std::string::npos) << line;
}

TEST_F(ShimLauncherTest, ShimShowsItsExecDirAsCommandLine) {
    // A shim whose shim.json is a FIFO waits in its open(): look at it meanwhile.
    ASSERT_EQ(::mkfifo((dir_ + "/shim.json").c_str(), 0600), 0);
    ShimLauncher l(BERTH_SHIM_BINARY, 200);
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    UniqueFd r(p[0]), w(p[1]);
    ASSERT_TRUE(l.launch(dir_, {null_.get(), w.get(), null_.get(), null_.get()}, false));
    w.reset();
    // The shim is the launcher's child, in a session of its own, named for its exec dir.
    std::string found = child_named(l.pid(), std::string("berth-shim") + '\0' + dir_ + '\0');
    ASSERT_FALSE(found.empty()) << "no child of the launcher with command line berth-shim " << dir_;
    EXPECT_EQ(::getsid(std::stoi(found)), std::stoi(found));
    // The next shim waits already, forked ahead, in the launcher's session still.
    std::string spare = spare_of(l.pid());
    ASSERT_FALSE(spare.empty()) << "no spare shim under the launcher";
    EXPECT_NE(::getsid(std::stoi(spare)), std::stoi(spare));
    // Forked under SCHED_IDLE, the spare waits with the daemon's policy again (a launch wakes
    // it as a task that is not idle), as the launcher and a shim keep it.
    const int ours = ::sched_getscheduler(0);
    ASSERT_NE(ours, SCHED_IDLE);
    int spare_policy = SCHED_IDLE;
    for (int i = 0; i < 200 && (spare_policy = ::sched_getscheduler(std::stoi(spare))) == SCHED_IDLE; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(spare_policy, ours);
    EXPECT_EQ(::sched_getscheduler(l.pid()), ours);
    EXPECT_EQ(::sched_getscheduler(std::stoi(found)), ours);
    // Let it read an empty config: it reports the error and exits.
    { UniqueFd fifo(::open((dir_ + "/shim.json").c_str(), O_WRONLY | O_CLOEXEC)); }
    EXPECT_NE(read_ready(r.get()).find("\"error\""), std::string::npos);
}

TEST_F(ShimLauncherTest, BadRequestIsReportedOnTheReadyPipe) {
    ShimLauncher l(BERTH_SHIM_BINARY, 200);
    // 0, 1, 2 and no monitor connection: refused without a fork.
    std::string line = launch(l, 0);
    EXPECT_NE(line.find("bad launch request"), std::string::npos) << line;
}

TEST_F(ShimLauncherTest, KilledLauncherIsReapedAndReplaced) {
    ShimLauncher l(BERTH_SHIM_BINARY, 200);
    ASSERT_TRUE(l.prepare());
    pid_t first = l.pid();
    ASSERT_GT(first, 0);
    ASSERT_EQ(::kill(first, SIGKILL), 0);
    for (int i = 0; i < 500 && !gone(first); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(gone(first)) << "the killed launcher was not reaped";
    std::string line = launch(l, 1);
    EXPECT_NE(line.find("shim.json"), std::string::npos) << line;
    EXPECT_GT(l.pid(), 0);
    EXPECT_NE(l.pid(), first);
}

// A spare that was killed fails the hand-over: the launcher forks the shim itself, and a new
// spare waits for the launch after.
TEST_F(ShimLauncherTest, KilledSpareIsReplaced) {
    ShimLauncher l(BERTH_SHIM_BINARY, 200);
    ASSERT_TRUE(l.prepare());
    std::string spare = spare_of(l.pid());
    ASSERT_FALSE(spare.empty()) << "no spare shim under the launcher";
    ASSERT_EQ(::kill(std::stoi(spare), SIGKILL), 0);
    for (int i = 0; i < 500 && !gone(std::stoi(spare)); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::string line = launch(l, 1);
    EXPECT_NE(line.find(dir_ + "/shim.json"), std::string::npos) << line;
    std::string next = spare_of(l.pid());
    EXPECT_FALSE(next.empty()) << "no new spare after the launch";
    EXPECT_NE(next, spare);
    line = launch(l, 1);  // through the new spare
    EXPECT_NE(line.find(dir_ + "/shim.json"), std::string::npos) << line;
}

// The launcher hands each spare's socket to berthd, which sends the next launch to the spare
// itself: a launcher that is stopped does not hold it up, and makes the next spare after.
TEST_F(ShimLauncherTest, LaunchGoesToTheSpareNotThroughTheLauncher) {
    ShimLauncher l(BERTH_SHIM_BINARY, 200);
    ASSERT_TRUE(l.prepare());
    std::string spare = spare_of(l.pid());
    ASSERT_FALSE(spare.empty()) << "no spare shim under the launcher";
    // Its socket is sent right after the fork.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    pid_t launcher = l.pid();
    ASSERT_EQ(::kill(launcher, SIGSTOP), 0);
    std::string line = launch(l, 1);
    ASSERT_EQ(::kill(launcher, SIGCONT), 0);
    EXPECT_NE(line.find(dir_ + "/shim.json"), std::string::npos) << line;
    std::string next = spare_of(l.pid());
    EXPECT_FALSE(next.empty()) << "no new spare after the launch";
    EXPECT_NE(next, spare);
}

// Resident kB of a process's executable file mappings (its code).
long text_rss_kb(pid_t pid) {
    auto smaps = read_file("/proc/" + std::to_string(pid) + "/smaps");
    if (!smaps) return -1;
    long total = 0;
    bool text = false;
    for (const auto& line : split(*smaps, '\n')) {
        auto f = split(line, ' ');
        if (!f.empty() && f[0].find('-') != std::string::npos && f.size() > 1 && f[1].size() == 4) {
            text = f[1] == "r-xp" && line.find('/') != std::string::npos;
            continue;
        }
        long kb = 0;
        if (text && std::sscanf(line.c_str(), "Rss: %ld kB", &kb) == 1) total += kb;
    }
    return total;
}

// An idle launcher drops the page-table entries of its code, as the shims and berthd do.
TEST_F(ShimLauncherTest, IdleLauncherDropsItsCodePages) {
    ShimLauncher l(BERTH_SHIM_BINARY, 200);
    ASSERT_NE(launch(l, 1).find(dir_ + "/shim.json"), std::string::npos);
    pid_t launcher = l.pid();
    long busy = text_rss_kb(launcher);
    ASSERT_GT(busy, 0);
    long idle = busy;
    for (int i = 0; i < 50 && idle > busy / 2; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        idle = text_rss_kb(launcher);
    }
    EXPECT_LT(idle, busy / 2) << "code resident: " << busy << " kB after a launch, " << idle
                              << " kB after up to 5 s idle";
    EXPECT_NE(launch(l, 1).find(dir_ + "/shim.json"), std::string::npos);  // still serves
}

TEST_F(ShimLauncherTest, MissingBinaryIsAnError) {
    ShimLauncher l(dir_ + "/no-such-shim", 200);
    auto r = l.prepare();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what().find("no-such-shim"), std::string::npos) << r.error().what();
}

}  // namespace
}  // namespace berth::engine
