// Terminal containers: the runtime sends the pty master to --console-socket; the container's
// stdio is the pty slave, /dev/console is the pty, and bytes flow both ways.

#include <unistd.h>

#include "runtime_fixture.hpp"

namespace berth::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class TerminalTest : public RuntimeTest {
protected:
    std::string socket_path(const std::string& name) { return tmp_ + "/" + name + ".sock"; }
};

TEST_F(TerminalTest, CreateSendsThePtyMasterAndStdioIsTheTerminal) {
    spec_["process"]["terminal"] = true;
    ConsoleSocket console(socket_path("console"));
    ASSERT_TRUE(console.ok());
    auto id = new_id();
    auto c = create_container(id, {"tty"}, {"--console-socket", console.path()});
    ASSERT_TRUE(c.ok()) << c.describe();
    std::string error;
    ASSERT_GE(console.receive_master(10s, &error), 0) << error;
    ASSERT_TRUE(rt({"start", id}).ok());
    std::string out = console.read_until("fd2.ttyname=", 10s);
    out += console.read_until("\n", 2s);
    auto kv = parse_kv(out);
    for (const char* fd : {"fd0", "fd1", "fd2"}) {
        EXPECT_EQ(kv[std::string(fd) + ".isatty"], "1") << out;
        EXPECT_EQ(kv[std::string(fd) + ".ttyname"], "/dev/pts/0") << out;
    }
}

TEST_F(TerminalTest, DevConsoleIsThePty) {
    spec_["process"]["terminal"] = true;
    ConsoleSocket console(socket_path("console"));
    auto id = new_id();
    ASSERT_TRUE(
        create_container(id, {"stat", "/dev/console"}, {"--console-socket", console.path()}).ok());
    ASSERT_GE(console.receive_master(10s), 0);
    ASSERT_TRUE(rt({"start", id}).ok());
    std::string out = console.read_until("inode=", 10s);
    out += console.read_until("\n", 2s);
    auto kv = parse_kv(out);
    EXPECT_EQ(kv["type"], "chr") << out;
    EXPECT_EQ(kv["major"], "136") << out;  // a Unix98 pty slave
}

TEST_F(TerminalTest, InputAndOutputGoThroughThePty) {
    spec_["process"]["terminal"] = true;
    spec_["process"]["args"] = {"/bin/sh", "-c", "read line; echo \"got=$line\"; sleep 5"};
    ConsoleSocket console(socket_path("console"));
    auto id = new_id();
    ASSERT_TRUE(create_container(id, {}, {"--console-socket", console.path()}).ok());
    ASSERT_GE(console.receive_master(10s), 0);
    ASSERT_TRUE(rt({"start", id}).ok());
    ASSERT_TRUE(console.write_master("hello-pty\n"));
    std::string out = console.read_until("got=hello-pty", 10s);
    EXPECT_TRUE(contains(out, "got=hello-pty")) << out;
}

TEST_F(TerminalTest, ConsoleSize) {
    spec_["process"]["terminal"] = true;
    spec_["process"]["consoleSize"] = {{"height", 33}, {"width", 111}};
    ConsoleSocket console(socket_path("console"));
    auto id = new_id();
    ASSERT_TRUE(create_container(id, {"seq", "sleep", "1", "--", "tty"},
                                 {"--console-socket", console.path()})
                    .ok());
    ASSERT_GE(console.receive_master(10s), 0);
    ASSERT_TRUE(rt({"start", id}).ok());
    std::string out = console.read_until("cols=", 10s);
    out += console.read_until("\n", 2s);
    auto kv = parse_kv(out);
    EXPECT_EQ(kv["rows"], "33") << out;
    EXPECT_EQ(kv["cols"], "111") << out;
}

TEST_F(TerminalTest, RunDetachedWithATerminal) {
    spec_["process"]["terminal"] = true;
    ConsoleSocket console(socket_path("console"));
    auto id = new_id();
    auto r =
        run_detached(id, {"seq", "tty", "--", "sleep", "60"}, {"--console-socket", console.path()});
    ASSERT_TRUE(r.ok()) << r.describe();
    ASSERT_GE(console.receive_master(10s), 0);
    std::string out = console.read_until("fd2.ttyname=", 10s);
    EXPECT_TRUE(contains(out, "fd0.isatty=1")) << out;
    EXPECT_EQ(status_of(id), "running");
}

TEST_F(TerminalTest, TerminalWithoutConsoleSocketIsRefusedForCreate) {
    spec_["process"]["terminal"] = true;
    auto id = new_id();
    auto r = create_container(id, {"tty"});
    EXPECT_EQ(r.status, 1) << r.describe();
    expect_nothing_left(id);
}

TEST_F(TerminalTest, ConsoleSocketWithoutTerminalIsRefused) {
    ConsoleSocket console(socket_path("console"));
    auto id = new_id();
    auto r = create_container(id, {"tty"}, {"--console-socket", console.path()});
    EXPECT_EQ(r.status, 1) << r.describe();
    expect_nothing_left(id);
}

TEST_F(TerminalTest, NonTerminalStdioIsNotATty) {
    auto r = run_probe({"tty"});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto kv = parse_kv(r.out);
    EXPECT_EQ(kv["fd0.isatty"], "0");
    EXPECT_EQ(kv["fd1.isatty"], "0");
    EXPECT_EQ(kv["fd2.isatty"], "0");
}

TEST_F(TerminalTest, ExecWithATerminal) {
    auto id = new_id();
    ASSERT_TRUE(start_container(id, {"sleep", "60"}).ok());
    ConsoleSocket console(socket_path("exec"));
    auto e = rt({"exec", "-t", "-d", "--console-socket", console.path(), id, "/probe", "seq", "tty",
                 "--", "sleep", "5"});
    ASSERT_TRUE(e.ok()) << e.describe();
    ASSERT_GE(console.receive_master(10s), 0);
    std::string out = console.read_until("fd2.ttyname=", 10s);
    out += console.read_until("\n", 2s);
    auto kv = parse_kv(out);
    EXPECT_EQ(kv["fd0.isatty"], "1") << out;
    EXPECT_EQ(kv["fd1.isatty"], "1") << out;
    EXPECT_TRUE(contains(kv["fd0.ttyname"], "/dev/pts/")) << out;
}

}  // namespace
}  // namespace berth::test
