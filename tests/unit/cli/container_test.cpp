// The container side of the berth CLI: create bodies compared with the ones docker CLI 28.2.2
// sent for the same flags (captured into docker_create_bodies.jsonl), detach keys, frame demux,
// since/until conversion, ps/stats/events formatting, a hijacked attach round trip, and the
// request order of `berth run` against a fake daemon on a unix socket.

#include <fcntl.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "berth/api/client/client.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/time.hpp"
#include "commands/container_format.hpp"
#include "commands/run_flags.hpp"
#include "commands/streams.hpp"
#include "format/output.hpp"

namespace berth::cli {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// Parses create/run arguments with the real flag set.
std::pair<ContainerOptions, std::vector<std::string>> parse_args(
    const std::vector<std::string>& args) {
    ContainerOptions o;
    CLI::App app{"test", "create"};
    add_container_flags(&app, o, false);
    app.prefix_command();
    std::vector<std::string> rev(args.rbegin(), args.rend());
    app.parse(rev);
    return {o, app.remaining()};
}

TEST(CreateBody, MatchesWhatDockerCli28Sends) {
    std::ifstream in(BERTH_CLI_TESTDATA "/docker_create_bodies.jsonl");
    ASSERT_TRUE(in) << "test data";
    std::string line;
    int cases = 0;
    while (std::getline(in, line)) {
        auto c = ojson::parse(line);
        std::vector<std::string> args = c["args"].get<std::vector<std::string>>();
        auto [o, rest] = parse_args(args);
        ASSERT_FALSE(rest.empty());
        auto req = build_create_request(o, rest[0],
                                        std::vector<std::string>(rest.begin() + 1, rest.end()));
        ASSERT_TRUE(req) << req.error().what();
        std::string path = "/v1.44/containers/create";
        api::client::Query q;
        if (!req->name.empty()) q.emplace_back("name", req->name);
        if (!req->platform.empty()) q.emplace_back("platform", req->platform);
        if (!q.empty()) path += "?" + api::client::encode_query(q);
        std::string joined;
        for (const auto& a : args) joined += a + " ";
        EXPECT_EQ(path, c["path"].get<std::string>()) << joined;
        // Byte for byte, key order included (Go's struct order, sorted maps).
        EXPECT_EQ(req->body.dump(), c["body"].dump()) << joined;
        ++cases;
    }
    EXPECT_GE(cases, 9);
}

TEST(CreateBody, TtyConsoleSizeAndFlagErrors) {
    auto [o, rest] = parse_args({"-it", "busybox"});
    auto req = build_create_request(o, "busybox", {}, 40, 120);
    ASSERT_TRUE(req);
    EXPECT_EQ(req->body["HostConfig"]["ConsoleSize"].dump(), "[40,120]");

    auto [m, r2] = parse_args({"-m", "1x", "busybox"});
    auto bad = build_create_request(m, "busybox", {});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().msg,
              "invalid argument \"1x\" for \"-m, --memory\" flag: invalid suffix: 'x'");

    auto [rr, r3] = parse_args({"--rm", "--restart", "always", "busybox"});
    auto conflict = build_create_request(rr, "busybox", {});
    ASSERT_FALSE(conflict);
    EXPECT_EQ(conflict.error().msg, "conflicting options: cannot specify both --restart and --rm");

    ContainerOptions d;
    d.detach = true;
    d.interactive = true;
    auto det = build_create_request(d, "busybox", {});
    ASSERT_TRUE(det);
    EXPECT_FALSE(det->body["AttachStdin"].get<bool>());
    EXPECT_FALSE(det->body["AttachStdout"].get<bool>());
    EXPECT_FALSE(det->body["StdinOnce"].get<bool>());
    EXPECT_TRUE(det->body["OpenStdin"].get<bool>());
}

TEST(CreateBody, RamInBytes) {
    EXPECT_EQ(ram_in_bytes("64m").value_or(0), 64 << 20);
    EXPECT_EQ(ram_in_bytes("1.5g").value_or(0), 1610612736);
    EXPECT_EQ(ram_in_bytes("10KiB").value_or(0), 10240);
    EXPECT_EQ(ram_in_bytes("100").value_or(0), 100);
    EXPECT_FALSE(ram_in_bytes("abc"));
}

TEST(DetachKeys, ParsesDockersSyntax) {
    EXPECT_EQ(parse_detach_keys("ctrl-p,ctrl-q").value_or("?"), std::string("\x10\x11"));
    EXPECT_EQ(parse_detach_keys("ctrl-a,x").value_or("?"), std::string("\x01x"));
    EXPECT_EQ(parse_detach_keys("CTRL-@,ctrl-_,ctrl-\\").value_or("?"),
              std::string("\x00\x1f\x1c", 3));
    auto bad = parse_detach_keys("ctrl-1");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().msg, "Unknown character: 'ctrl-1'");
    EXPECT_FALSE(parse_detach_keys("esc"));
}

TEST(DetachKeys, EscapeDetectorHoldsBackPartialMatches) {
    EscapeDetector e("\x10\x11");
    std::string pass;
    EXPECT_FALSE(e.feed("ab\x10", pass));
    EXPECT_EQ(pass, "ab");
    EXPECT_FALSE(e.feed("c", pass));  // not the sequence: the held byte is released
    EXPECT_EQ(pass,
              "ab\x10"
              "c");
    pass.clear();
    EXPECT_FALSE(e.feed("\x10\x10", pass));
    EXPECT_EQ(pass, "\x10");
    EXPECT_TRUE(e.feed("\x11zz", pass));
    EXPECT_EQ(pass, "\x10");
}

std::string frame(int stream, std::string_view payload) {
    std::string h(8, '\0');
    h[0] = static_cast<char>(stream);
    uint32_t n = static_cast<uint32_t>(payload.size());
    h[4] = static_cast<char>(n >> 24);
    h[5] = static_cast<char>(n >> 16);
    h[6] = static_cast<char>(n >> 8);
    h[7] = static_cast<char>(n);
    return h + std::string(payload);
}

TEST(FrameDemuxer, SplitsFramesAcrossArbitraryPieces) {
    std::string stream =
        frame(1, "hello ") + frame(2, "oops\n") + frame(1, "") + frame(1, std::string(70000, 'x'));
    for (size_t piece : {1u, 3u, 7u, 8u, 9u, 4096u, 1000000u}) {
        FrameDemuxer d;
        std::string out, err;
        for (size_t i = 0; i < stream.size(); i += piece) {
            auto r = d.feed(std::string_view(stream).substr(i, piece),
                            [&](int s, std::string_view p) -> Result<void> {
                                (s == 2 ? err : out).append(p);
                                return {};
                            });
            ASSERT_TRUE(r);
        }
        EXPECT_TRUE(d.at_boundary());
        EXPECT_EQ(out, "hello " + std::string(70000, 'x')) << piece;
        EXPECT_EQ(err, "oops\n");
    }
    FrameDemuxer bad;
    EXPECT_FALSE(bad.feed(std::string("\x05\0\0\0\0\0\0\1x", 9),
                          [](int, std::string_view) -> Result<void> { return {}; }));
}

TEST(Timestamps, SinceAndUntilAreConvertedOnTheClient) {
    int64_t now = 1700000000LL * kNanosPerSecond + 123456789;
    EXPECT_EQ(api_timestamp("10m", now).value_or("?"), "1699999400.000000000");
    EXPECT_EQ(api_timestamp("2023-11-14T22:13:20Z", now).value_or("?"), "1700000000.000000000");
    EXPECT_EQ(api_timestamp("2023-11-14T22:13:20.5+01:00", now).value_or("?"),
              "1699996400.500000000");
    EXPECT_EQ(api_timestamp("1700000000", now).value_or("?"), "1700000000.000000000");
    EXPECT_EQ(api_timestamp("1700000000.25", now).value_or("?"), "1700000000.250000000");
    EXPECT_FALSE(api_timestamp("yesterday", now));
}

TEST(Ps, RowsAndTableLikeDockers) {
    auto c =
        json::parse(R"({"Id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "Names":["/web"],"Image":"busybox","ImageID":"sha256:aaaa","Command":"sleep 100",
        "Created":1000,"Ports":[{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"},
        {"PrivatePort":443,"Type":"tcp"}],"Labels":{},"State":"running","Status":"Up 2 minutes"})");
    auto row = container_row(c, true, 1000 + 120);
    EXPECT_EQ(row["ID"], "0123456789ab");
    EXPECT_EQ(row["Command"], "\"sleep 100\"");
    EXPECT_EQ(row["RunningFor"], "2 minutes ago");
    EXPECT_EQ(row["Ports"], "443/tcp, 0.0.0.0:8080->80/tcp");
    EXPECT_EQ(row["Names"], "web");
    auto long_cmd = c;
    long_cmd["Command"] = "/bin/sh -c 'while true; do sleep 1; done'";
    EXPECT_EQ(container_row(long_cmd, true, 1120)["Command"], "\"/bin/sh -c 'while t…\"");
    EXPECT_EQ(container_row(long_cmd, false, 1120)["Command"],
              "\"/bin/sh -c 'while true; do sleep 1; done'\"");
    auto text =
        format::render_rows(kPsTable, {row}, container_headers(), "*formatter.ContainerContext");
    ASSERT_TRUE(text) << text.error().what();
    EXPECT_EQ(*text,
              "CONTAINER ID   IMAGE     COMMAND       CREATED         STATUS         PORTS         "
              "                  NAMES\n"
              "0123456789ab   busybox   \"sleep 100\"   2 minutes ago   Up 2 minutes   443/tcp, "
              "0.0.0.0:8080->80/tcp   web\n");
}

TEST(Ps, DisplayablePortsGroupsRanges) {
    auto ports = json::parse(R"([{"PrivatePort":81,"Type":"tcp"},{"PrivatePort":80,"Type":"tcp"},
        {"PrivatePort":82,"Type":"tcp"},{"IP":"0.0.0.0","PrivatePort":9000,"PublicPort":9000,"Type":"udp"},
        {"IP":"::","PrivatePort":80,"PublicPort":8080,"Type":"tcp"}])");
    EXPECT_EQ(displayable_ports(ports), "80-82/tcp, 0.0.0.0:9000->9000/udp, [::]:8080->80/tcp");
}

TEST(Port, ListsMappingsFromInspect) {
    auto ns = json::parse(
        R"({"Ports":{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"::","HostPort":"8080"}],"443/tcp":null}})");
    EXPECT_EQ(port_lines(ns, "").value_or("?"), "80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n");
    EXPECT_EQ(port_lines(ns, "80/tcp").value_or("?"), "0.0.0.0:8080\n[::]:8080\n");
    EXPECT_FALSE(port_lines(ns, "443/tcp"));
}

TEST(Stats, ComputedFromTwoSamplesAsDockerDoes) {
    auto s = json::parse(R"({"id":"0123456789abcdef0123","name":"/web",
        "cpu_stats":{"cpu_usage":{"total_usage":300000000},"system_cpu_usage":2000000000,"online_cpus":2},
        "precpu_stats":{"cpu_usage":{"total_usage":100000000},"system_cpu_usage":1000000000},
        "memory_stats":{"usage":10485760,"limit":104857600,"stats":{"inactive_file":5242880}},
        "networks":{"eth0":{"rx_bytes":1000,"tx_bytes":2000},"eth1":{"rx_bytes":500,"tx_bytes":0}},
        "blkio_stats":{"io_service_bytes_recursive":[{"op":"read","value":4096},{"op":"Write","value":8192}]},
        "pids_stats":{"current":3}})");
    auto r = stats_row(s, "", true);
    EXPECT_EQ(r["ID"], "0123456789ab");
    EXPECT_EQ(r["Name"], "web");
    EXPECT_EQ(r["CPUPerc"], "40.00%");
    EXPECT_EQ(r["MemUsage"], "5MiB / 100MiB");
    EXPECT_EQ(r["MemPerc"], "5.00%");
    EXPECT_EQ(r["NetIO"], "1.5kB / 2kB");
    EXPECT_EQ(r["BlockIO"], "4.1kB / 8.19kB");
    EXPECT_EQ(r["PIDs"], "3");
}

TEST(Events, PrintedLikeDockerEvents) {
    setenv("TZ", "UTC", 1);
    tzset();
    auto ev = json::parse(R"({"Type":"container","Action":"create","Actor":{"ID":"abc",
        "Attributes":{"name":"web","image":"busybox"}},"time":1700000000,"timeNano":1700000000000000042})");
    EXPECT_EQ(event_line(ev),
              "2023-11-14T22:13:20.000000042Z container create abc (image=busybox, name=web)\n");
}

// ---------------------------------------------------------------------------------------------
// A fake daemon: one connection at a time; the handler writes the answer on the socket itself.

struct Seen {
    std::string method, target, body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string header(const std::string& name) const {
        for (const auto& [k, v] : headers)
            if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
        return {};
    }
};

bool write_str(int fd, std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

class FakeDaemon {
public:
    using Handler = std::function<void(const Seen&, int fd)>;
    explicit FakeDaemon(Handler h) : handler_(std::move(h)) {
        char tmpl[] = "/tmp/berth-test-ccli-XXXXXX";
        dir_ = mkdtemp(tmpl);
        path_ = dir_ + "/d.sock";
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(fd_, 16) != 0)
            ADD_FAILURE() << "bind " << path_;
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeDaemon() {
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        ::close(fd_);
        ::unlink(path_.c_str());
        ::rmdir(dir_.c_str());
    }
    std::string url() const { return "unix://" + path_; }
    api::client::Host host() const { return *api::client::parse_host(url()); }
    std::vector<std::string> seen() {
        std::lock_guard<std::mutex> lk(mu_);
        return seen_;
    }

private:
    void serve() {
        while (true) {
            int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) return;
            handle(c);
            ::close(c);
        }
    }
    void handle(int c) {
        std::string buf;
        char tmp[4096];
        size_t end;
        while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
            ssize_t n = ::read(c, tmp, sizeof tmp);
            if (n <= 0) return;
            buf.append(tmp, static_cast<size_t>(n));
        }
        Seen s;
        std::string head = buf.substr(0, end);
        buf.erase(0, end + 4);
        size_t line_end = head.find("\r\n");
        std::string rl = head.substr(0, line_end);
        auto sp1 = rl.find(' '), sp2 = rl.rfind(' ');
        s.method = rl.substr(0, sp1);
        s.target = rl.substr(sp1 + 1, sp2 - sp1 - 1);
        size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
        while (pos < head.size()) {
            size_t e = head.find("\r\n", pos);
            if (e == std::string::npos) e = head.size();
            std::string l = head.substr(pos, e - pos);
            auto colon = l.find(':');
            s.headers.emplace_back(l.substr(0, colon), l.substr(colon + 2));
            pos = e + 2;
        }
        if (!s.header("Content-Length").empty()) {
            size_t n = std::stoul(s.header("Content-Length"));
            while (buf.size() < n) {
                ssize_t k = ::read(c, tmp, sizeof tmp);
                if (k <= 0) return;
                buf.append(tmp, static_cast<size_t>(k));
            }
            s.body = buf.substr(0, n);
        }
        {
            std::lock_guard<std::mutex> lk(mu_);
            seen_.push_back(s.method + " " + s.target);
        }
        handler_(s, c);
    }

    Handler handler_;
    std::string dir_, path_;
    int fd_ = -1;
    std::thread thread_;
    std::mutex mu_;
    std::vector<std::string> seen_;
};

std::string reply(int status, const std::string& body,
                  const std::string& ctype = "application/json") {
    return "HTTP/1.1 " + std::to_string(status) +
           " X\r\nApi-Version: 1.44\r\nContent-Type: " + ctype +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
           body;
}

const char kUpgraded[] =
    "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
    "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

// Runs `fn` with fds 1 and 2 redirected to files; returns what was written to them.
std::pair<std::string, std::string> capture(const std::function<void()>& fn) {
    char o[] = "/tmp/berth-test-ccli-outXXXXXX", e[] = "/tmp/berth-test-ccli-errXXXXXX";
    int of = mkstemp(o), ef = mkstemp(e);
    std::fflush(stdout);
    std::fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(of, 1);
    dup2(ef, 2);
    fn();
    std::fflush(stdout);
    std::fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    ::close(so);
    ::close(se);
    ::close(of);
    ::close(ef);
    auto out = read_file(o).value_or("?"), err = read_file(e).value_or("?");
    ::unlink(o);
    ::unlink(e);
    return {out, err};
}

TEST(Hijack, AttachRoundTripWithHalfClose) {
    FakeDaemon d([](const Seen& s, int fd) {
        if (s.target == "/_ping") {
            write_str(fd, reply(200, "OK", "text/plain"));
            return;
        }
        EXPECT_EQ(s.header("Upgrade"), "tcp");
        EXPECT_EQ(s.header("Connection"), "Upgrade");
        // Output right behind the headers: the client must not lose what it read with them.
        write_str(fd, std::string(kUpgraded) + frame(1, "ready\n") + frame(2, "warn\n"));
        std::string in;
        char buf[256];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0) in.append(buf, static_cast<size_t>(n));
        // EOF: the client half-closed; output still flows.
        write_str(fd, frame(1, "got:" + in));
    });
    api::client::Client c(d.host());
    api::client::Request req;
    req.method = "POST";
    req.path = "/containers/x/attach";
    req.query = {{"stream", "1"}, {"stdin", "1"}, {"stdout", "1"}, {"stderr", "1"}};
    auto conn = c.hijack(req);
    ASSERT_TRUE(conn) << conn.error().what();
    EXPECT_EQ((*conn)->head().status, 101u);
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    ASSERT_EQ(::write(p[1], "hello", 5), 5);
    ::close(p[1]);
    PumpOptions po;
    po.stdin_fd = p[0];
    Result<StreamEnd> end = StreamEnd::Detached;
    auto [out, err] = capture([&] { end = pump_hijacked(**conn, po); });
    ::close(p[0]);
    ASSERT_TRUE(end) << end.error().what();
    EXPECT_EQ(*end, StreamEnd::Eof);
    EXPECT_EQ(out, "ready\ngot:hello");
    EXPECT_EQ(err, "warn\n");
    EXPECT_EQ(d.seen().back(),
              "POST /v1.44/containers/x/attach?stderr=1&stdin=1&stdout=1&stream=1");
}

TEST(Hijack, RefusedUpgradeIsADaemonError) {
    FakeDaemon d([](const Seen& s, int fd) {
        if (s.target == "/_ping")
            write_str(fd, reply(200, "OK", "text/plain"));
        else
            write_str(fd, reply(404, R"({"message":"No such container: x"})"));
    });
    api::client::Client c(d.host());
    api::client::Request req;
    req.method = "POST";
    req.path = "/containers/x/attach";
    auto conn = c.hijack(req);
    ASSERT_FALSE(conn);
    EXPECT_EQ(conn.error().what(), "Error response from daemon: No such container: x");
}

TEST(Hijack, DetachKeysEndTheStreamWithATty) {
    FakeDaemon d([](const Seen& s, int fd) {
        if (s.target == "/_ping") {
            write_str(fd, reply(200, "OK", "text/plain"));
            return;
        }
        write_str(fd, kUpgraded);
        char buf[256];
        while (::read(fd, buf, sizeof buf) > 0) {
        }
    });
    api::client::Client c(d.host());
    api::client::Request req;
    req.method = "POST";
    req.path = "/containers/x/attach";
    auto conn = c.hijack(req);
    ASSERT_TRUE(conn);
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    ASSERT_EQ(::write(p[1], "ls\x01x", 4), 4);
    PumpOptions po;
    po.stdin_fd = p[0];
    po.tty = true;
    po.detach_keys = "\x01x";
    auto end = pump_hijacked(**conn, po);
    ::close(p[0]);
    ::close(p[1]);
    ASSERT_TRUE(end);
    EXPECT_EQ(*end, StreamEnd::Detached);
    (*conn)->close();
}

TEST(Client, StreamedBodiesArriveAsTheyAreSent) {
    // events, logs -f and stats: a piece must reach the caller before the next one is sent.
    std::promise<void> got_first;
    auto first = got_first.get_future();
    FakeDaemon d([&first](const Seen& s, int fd) {
        if (s.target == "/_ping") {
            write_str(fd, reply(200, "OK", "text/plain"));
            return;
        }
        write_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n");
        write_str(fd, "3\r\n{}\n\r\n");
        EXPECT_EQ(first.wait_for(std::chrono::seconds(5)), std::future_status::ready);
        write_str(fd, "3\r\n[]\n\r\n0\r\n\r\n");
    });
    api::client::Client c(d.host());
    api::client::Request req;
    req.path = "/events";
    int n = 0;
    auto r = c.call_json_lines(req, [&](const json&) -> Result<void> {
        if (++n == 1) got_first.set_value();
        return {};
    });
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(n, 2);
}

// Runs the berth binary; returns its exit code, stdout and stderr.
struct Run {
    int code;
    std::string out, err;
};
Run run_berth(const std::string& host, const std::vector<std::string>& args) {
    std::string cmd = std::string(BERTH_CLI_BINARY) + " -H " + host;
    for (const auto& a : args) cmd += " '" + a + "'";
    char o[] = "/tmp/berth-test-ccli-runXXXXXX", e[] = "/tmp/berth-test-ccli-reXXXXXX";
    int of = mkstemp(o), ef = mkstemp(e);
    ::close(of);
    ::close(ef);
    cmd += std::string(" </dev/null >") + o + " 2>" + e;
    int st = std::system(cmd.c_str());
    Run r{WIFEXITED(st) ? WEXITSTATUS(st) : -1, read_file(o).value_or(""),
          read_file(e).value_or("")};
    ::unlink(o);
    ::unlink(e);
    return r;
}

const std::string kId(64, 'c');

TEST(RunCommand, DetachedSendsDockersRequestsInOrder) {
    FakeDaemon d([](const Seen& s, int fd) {
        if (s.target == "/_ping")
            write_str(fd, reply(200, "OK", "text/plain"));
        else if (s.target.find("/containers/create") != std::string::npos)
            write_str(fd, reply(201, R"({"Id":")" + kId + R"(","Warnings":[]})"));
        else if (s.target.find("/wait") != std::string::npos)
            // Headers only: run -d drops the wait unread.
            write_str(fd,
                      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: "
                      "chunked\r\n\r\n");
        else
            write_str(fd, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    });
    auto r = run_berth(d.url(), {"run", "-d", "--name", "web", "busybox", "sleep", "100"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, kId + "\n");
    auto seen = d.seen();
    // No /_ping: a daemon that speaks 1.44 is not asked first (Client::request_version).
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0], "POST /v1.44/containers/create?name=web");
    EXPECT_EQ(seen[1], "POST /v1.44/containers/" + kId + "/wait?condition=next-exit");
    EXPECT_EQ(seen[2], "POST /v1.44/containers/" + kId + "/start");
}

TEST(RunCommand, AttachedRunStreamsOutputAndExitsWithTheStatus) {
    FakeDaemon d([](const Seen& s, int fd) {
        if (s.target == "/_ping")
            write_str(fd, reply(200, "OK", "text/plain"));
        else if (s.target.find("/containers/create") != std::string::npos)
            write_str(fd, reply(201, R"({"Id":")" + kId + R"(","Warnings":[]})"));
        else if (s.target.find("/attach") != std::string::npos)
            write_str(fd, std::string(kUpgraded) + frame(1, "out\n") + frame(2, "err\n"));
        else if (s.target.find("/wait") != std::string::npos)
            write_str(fd, reply(200, R"({"StatusCode":3,"Error":null})"));
        else
            write_str(fd, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    });
    auto r = run_berth(d.url(), {"run", "--rm", "busybox", "sh", "-c", "exit 3"});
    EXPECT_EQ(r.code, 3) << r.err;
    EXPECT_EQ(r.out, "out\n");
    EXPECT_EQ(r.err, "err\n");
    auto seen = d.seen();
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_EQ(seen[0], "POST /v1.44/containers/create");
    // The attach and the wait go together (either may be read first), both before the start.
    std::set<std::string> both(seen.begin() + 1, seen.begin() + 3);
    EXPECT_EQ(both, (std::set<std::string>{
                        "POST /v1.44/containers/" + kId + "/attach?stderr=1&stdout=1&stream=1",
                        "POST /v1.44/containers/" + kId + "/wait?condition=removed"}));
    EXPECT_EQ(seen[3], "POST /v1.44/containers/" + kId + "/start");
}

TEST(RunCommand, MissingImagePullsThenReportsTheDaemonsError) {
    FakeDaemon d([](const Seen& s, int fd) {
        if (s.target == "/_ping")
            write_str(fd, reply(200, "OK", "text/plain"));
        else if (s.target.find("/containers/create") != std::string::npos)
            write_str(fd, reply(404, R"({"message":"No such image: nope:latest"})"));
        else
            write_str(
                fd,
                reply(
                    404,
                    R"({"message":"pull access denied for nope, repository does not exist or may require 'docker login'"})"));
    });
    auto r = run_berth(d.url(), {"run", "nope"});
    EXPECT_EQ(r.code, 125);
    EXPECT_EQ(r.err,
              "Unable to find image 'nope:latest' locally\n"
              "berth: Error response from daemon: pull access denied for nope, repository does not "
              "exist or may require 'docker login'\n\nRun 'berth run --help' for more information\n");
    auto seen = d.seen();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1], "POST /v1.44/images/create?fromImage=docker.io%2Flibrary%2Fnope&tag=latest");
}

TEST(RunCommand, StartErrorsMapTo127And126) {
    for (auto [msg, code] : {std::pair<std::string, int>{
                                 "exec: \\\"nope\\\": executable file not found in $PATH", 127},
                             {"exec /etc: permission denied", 126},
                             {"something else", 125}}) {
        FakeDaemon d([msg = msg](const Seen& s, int fd) {
            if (s.target == "/_ping")
                write_str(fd, reply(200, "OK", "text/plain"));
            else if (s.target.find("/containers/create") != std::string::npos)
                write_str(fd, reply(201, R"({"Id":")" + kId + R"(","Warnings":[]})"));
            else if (s.target.find("/wait") != std::string::npos)
                write_str(fd,
                          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: "
                          "chunked\r\n\r\n");
            else
                write_str(fd, reply(400, R"({"message":")" + msg + R"("})"));
        });
        auto r = run_berth(d.url(), {"run", "-d", "busybox"});
        EXPECT_EQ(r.code, code) << r.err;
        EXPECT_NE(r.err.find("berth: Error response from daemon: "), std::string::npos) << r.err;
    }
}

TEST(RunCommand, UnknownFlagIs125) {
    auto r = run_berth("unix:///nonexistent.sock", {"run", "--bogus", "busybox"});
    EXPECT_EQ(r.code, 125);
    EXPECT_NE(r.err.find("unknown flag: --bogus"), std::string::npos) << r.err;
}

TEST(ExecCommand, ExitsWithTheExecsExitCode) {
    FakeDaemon d([](const Seen& s, int fd) {
        if (s.target == "/_ping")
            write_str(fd, reply(200, "OK", "text/plain"));
        else if (s.target.find("/containers/web/json") != std::string::npos)
            write_str(fd, reply(200, R"({"Id":"x","Config":{"Tty":false}})"));
        else if (s.target.find("/containers/web/exec") != std::string::npos) {
            auto b = json::parse(s.body);
            EXPECT_EQ(b["Cmd"], json::array({"false"}));
            EXPECT_TRUE(b["AttachStdout"].get<bool>());
            write_str(fd, reply(201, R"({"Id":"e1"})"));
        } else if (s.target.find("/exec/e1/start") != std::string::npos)
            write_str(fd, std::string(kUpgraded) + frame(1, "x\n"));
        else
            write_str(fd, reply(200, R"({"ID":"e1","Running":false,"ExitCode":7})"));
    });
    auto r = run_berth(d.url(), {"exec", "web", "false"});
    EXPECT_EQ(r.code, 7) << r.err;
    EXPECT_EQ(r.out, "x\n");
    auto seen = d.seen();
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_EQ(seen[0], "GET /v1.44/containers/web/json");
    EXPECT_EQ(seen[1], "POST /v1.44/containers/web/exec");
    EXPECT_EQ(seen[2], "POST /v1.44/exec/e1/start");
    EXPECT_EQ(seen[3], "GET /v1.44/exec/e1/json");
}

TEST(LogsCommand, DemultiplexesAndConvertsSince) {
    FakeDaemon d([](const Seen& s, int fd) {
        if (s.target == "/_ping")
            write_str(fd, reply(200, "OK", "text/plain"));
        else if (s.target.find("/json") != std::string::npos)
            write_str(fd, reply(200, R"({"Id":"x","Config":{"Tty":false}})"));
        else
            write_str(fd, reply(200, frame(1, "a\n") + frame(2, "b\n"),
                                "application/vnd.docker.multiplexed-stream"));
    });
    auto r = run_berth(d.url(), {"logs", "--since", "1700000000", "-n", "5", "web"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "a\n");
    EXPECT_EQ(r.err, "b\n");
    EXPECT_EQ(d.seen().back(),
              "GET /v1.44/containers/web/logs?since=1700000000.000000000&stderr=1&stdout=1&tail=5");
}

}  // namespace
}  // namespace berth::cli
