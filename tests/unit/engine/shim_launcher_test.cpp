// ShimLauncher against the real `berth-shim --launcher`: a shim it forks reports on the ready
// pipe it was given (here: that its exec dir has no shim.json), under the command line that
// names its exec dir; a bad request is refused on that pipe; a launcher that was killed is
// reaped at once and replaced by the next launch.
#include "shim_launcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "berth/common/fs.hpp"

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
    std::string want = std::string("berth-shim") + '\0' + dir_ + '\0';
    std::string found;
    for (int i = 0; i < 200 && found.empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        auto kids = read_file("/proc/" + std::to_string(l.pid()) + "/task/" +
                              std::to_string(l.pid()) + "/children");
        if (!kids || kids->empty()) continue;
        std::string child = kids->substr(0, kids->find(' '));
        auto cmd = read_file("/proc/" + child + "/cmdline");
        if (cmd && cmd->rfind(want, 0) == 0) found = child;
    }
    ASSERT_FALSE(found.empty()) << "no child of the launcher with command line berth-shim " << dir_;
    EXPECT_EQ(::getsid(std::stoi(found)), std::stoi(found));
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

TEST_F(ShimLauncherTest, MissingBinaryIsAnError) {
    ShimLauncher l(dir_ + "/no-such-shim", 200);
    auto r = l.prepare();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what().find("no-such-shim"), std::string::npos) << r.error().what();
}

}  // namespace
}  // namespace berth::engine
