// Capability parsing runs anywhere; applying needs root and is checked in a forked child
// through its /proc/self/status (or that of a program it execs).

#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "berth/common/fs.hpp"
#include "berth/runtime/capabilities.hpp"

namespace berth::runtime {
namespace {

constexpr uint64_t bit(int c) { return uint64_t{1} << c; }

TEST(Capabilities, LastCapMatchesProc) {
    auto text = read_file("/proc/sys/kernel/cap_last_cap");
    ASSERT_TRUE(text) << text.error().what();
    EXPECT_EQ(last_cap(), std::atoi(text->c_str()));
    EXPECT_EQ(last_cap(), last_cap());  // cached
}

TEST(Capabilities, ParsesNames) {
    oci::Capabilities c;
    c.bounding = {"CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"};
    c.effective = {"CAP_CHOWN"};
    c.permitted = {"CAP_CHOWN", "CAP_KILL"};
    c.inheritable = {"cap_kill"};  // libcap's lower-case spelling is accepted too
    c.ambient = {"CAP_KILL"};
    auto r = parse_capabilities(c);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->bounding, bit(CAP_CHOWN) | bit(CAP_NET_BIND_SERVICE) | bit(CAP_SYS_ADMIN));
    EXPECT_EQ(r->effective, bit(CAP_CHOWN));
    EXPECT_EQ(r->permitted, bit(CAP_CHOWN) | bit(CAP_KILL));
    EXPECT_EQ(r->inheritable, bit(CAP_KILL));
    EXPECT_EQ(r->ambient, bit(CAP_KILL));
}

TEST(Capabilities, EmptySetsAreEmpty) {
    auto r = parse_capabilities(oci::Capabilities{});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->bounding | r->effective | r->inheritable | r->permitted | r->ambient, 0u);
}

TEST(Capabilities, UnknownButWellFormedNamesAreSkipped) {
    // A capability from a future kernel: runc warns and goes on; so do we.
    oci::Capabilities c;
    c.bounding = {"CAP_CHOWN", "CAP_FROM_THE_FUTURE", "CAP_KILL"};
    auto r = parse_capabilities(c);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->bounding, bit(CAP_CHOWN) | bit(CAP_KILL));
}

TEST(Capabilities, GarbageIsAnErrorNamingTheSet) {
    struct Case {
        std::vector<std::string> names;
        std::string msg;
    };
    const Case cases[] = {
        {{"CAP_CHOWN", "CAP_KILL", "FOO"},
         "process.capabilities.effective[2]: unknown capability FOO"},
        {{"CHOWN"}, "process.capabilities.effective[0]: unknown capability CHOWN"},
        {{"12"}, "process.capabilities.effective[0]: unknown capability 12"},
        {{"CAP_"}, "process.capabilities.effective[0]: unknown capability CAP_"},
        {{"CAP_SYS ADMIN"}, "process.capabilities.effective[0]: unknown capability CAP_SYS ADMIN"},
        {{""}, "process.capabilities.effective[0]: unknown capability \"\""},
    };
    for (const auto& tc : cases) {
        oci::Capabilities c;
        c.effective = tc.names;
        auto r = parse_capabilities(c);
        ASSERT_FALSE(r) << tc.msg;
        EXPECT_EQ(r.error().code, Errc::InvalidArgument);
        EXPECT_EQ(r.error().msg, tc.msg);
    }
    oci::Capabilities c;
    c.ambient = {"CAP_CHOWN", "bogus"};
    auto r = parse_capabilities(c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().msg, "process.capabilities.ambient[1]: unknown capability bogus");
}

TEST(Capabilities, AllNames) {
    auto names = all_capability_names();
    ASSERT_FALSE(names.empty());
    EXPECT_EQ(names.front(), "CAP_CHOWN");
    EXPECT_LE(static_cast<int>(names.size()), last_cap() + 1);
    EXPECT_NE(std::find(names.begin(), names.end(), "CAP_SYS_ADMIN"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "CAP_NET_BIND_SERVICE"), names.end());
    // Every name parses back.
    oci::Capabilities c;
    c.bounding = names;
    auto r = parse_capabilities(c);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(__builtin_popcountll(r->bounding), static_cast<int>(names.size()));
}

// --- applying (root) -----------------------------------------------------------------------

// Runs `body` in a forked child with stdout on a pipe; returns what it wrote and its exit code.
std::pair<std::string, int> in_child(const std::function<int()>& body) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return {"", -1};
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[1], STDOUT_FILENO);
        ::_exit(body());
    }
    ::close(fds[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return {out, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)};
}

// Writes the child's own /proc/self/status to stdout.
int dump_status() {
    auto s = read_file("/proc/self/status");
    if (!s) return 90;
    return ::write(STDOUT_FILENO, s->data(), s->size()) == static_cast<ssize_t>(s->size()) ? 0 : 91;
}

// CapInh/CapPrm/CapEff/CapBnd/CapAmb from a /proc/<pid>/status text.
std::map<std::string, uint64_t> cap_fields(const std::string& status) {
    std::map<std::string, uint64_t> out;
    std::istringstream in(status);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("Cap", 0) != 0) continue;
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        out[line.substr(0, colon)] = std::strtoull(line.c_str() + colon + 1, nullptr, 16);
    }
    return out;
}

uint64_t all_caps() { return last_cap() >= 63 ? ~uint64_t{0} : (bit(last_cap() + 1) - 1); }

#define REQUIRE_ROOT() \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (changes capability sets)"


TEST(CapabilitiesApply, BoundingDropsEverythingElse) {
    REQUIRE_ROOT();
    CapSets s;
    s.bounding = bit(CAP_CHOWN) | bit(CAP_SETPCAP) | bit(CAP_NET_BIND_SERVICE);
    auto [out, code] = in_child([&] {
        if (int e = apply_bounding(s); e != 0) return 100 + e;
        return dump_status();
    });
    ASSERT_EQ(code, 0) << out;
    auto f = cap_fields(out);
    EXPECT_EQ(f["CapBnd"], s.bounding);
    auto mine = read_file("/proc/self/status");
    ASSERT_TRUE(mine);
    EXPECT_EQ(f["CapEff"], cap_fields(*mine)["CapEff"]);  // only the bounding set changed
}

TEST(CapabilitiesApply, SetsAndAmbient) {
    REQUIRE_ROOT();
    CapSets s;
    s.bounding = all_caps();
    s.permitted = bit(CAP_CHOWN) | bit(CAP_NET_BIND_SERVICE) | bit(CAP_KILL);
    s.effective = bit(CAP_CHOWN) | bit(CAP_NET_BIND_SERVICE);
    s.inheritable = bit(CAP_NET_BIND_SERVICE) | bit(CAP_SYS_ADMIN);
    // CAP_CHOWN is not inheritable, CAP_SYS_ADMIN not permitted: the kernel refuses both and,
    // as in runc, that is not an error.
    s.ambient = bit(CAP_NET_BIND_SERVICE) | bit(CAP_CHOWN) | bit(CAP_SYS_ADMIN);
    auto [out, code] = in_child([&] {
        if (int e = apply_capabilities(s); e != 0) return 100 + e;
        return dump_status();
    });
    ASSERT_EQ(code, 0) << out;
    auto f = cap_fields(out);
    EXPECT_EQ(f["CapPrm"], s.permitted);
    EXPECT_EQ(f["CapEff"], s.effective);
    // A capability can be inheritable without being permitted (capset allows it when the
    // bounding set has it and CAP_SETPCAP was effective).
    EXPECT_EQ(f["CapInh"], s.inheritable);
    EXPECT_EQ(f["CapAmb"], bit(CAP_NET_BIND_SERVICE));
}

TEST(CapabilitiesApply, EffectiveOutsidePermittedFails) {
    REQUIRE_ROOT();
    CapSets s;
    s.permitted = bit(CAP_CHOWN);
    s.effective = bit(CAP_CHOWN) | bit(CAP_KILL);
    auto [out, code] = in_child([&] { return apply_capabilities(s); });
    EXPECT_EQ(code, EPERM) << out;
}

// True if `id` is mapped in this user namespace (always, outside any: 0 0 4294967295).
bool id_mapped(const char* map_file, uint32_t id) {
    auto text = read_file(map_file);
    if (!text) return false;
    std::istringstream in(*text);
    uint64_t inside, outside, count;
    while (in >> inside >> outside >> count)
        if (id >= inside && id - inside < count) return true;
    return false;
}

// The container path: bounding, keep caps across setresuid to a non-root user, then the sets;
// the ambient capability must survive execve of an ordinary binary.
TEST(CapabilitiesApply, AmbientSurvivesExecAsNonRoot) {
    REQUIRE_ROOT();
    if (!id_mapped("/proc/self/uid_map", 65534) || !id_mapped("/proc/self/gid_map", 65534))
        GTEST_SKIP() << "uid/gid 65534 is not mapped in this user namespace";
    CapSets s;
    s.bounding = bit(CAP_NET_BIND_SERVICE) | bit(CAP_KILL);
    s.permitted = s.effective = s.inheritable = s.ambient = bit(CAP_NET_BIND_SERVICE);
    auto [out, code] = in_child([&] {
        if (int e = apply_bounding(s); e != 0) return 100 + e;
        if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return 80;
        if (::setresgid(65534, 65534, 65534) != 0) return 81;
        if (::setresuid(65534, 65534, 65534) != 0) return 82;
        if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return 83;
        if (int e = apply_capabilities(s); e != 0) return 150 + e;
        char arg0[] = "cat", arg1[] = "/proc/self/status";
        char* argv[] = {arg0, arg1, nullptr};
        char* envp[] = {nullptr};
        ::execve("/bin/cat", argv, envp);
        return 84;
    });
    ASSERT_EQ(code, 0) << out;
    auto f = cap_fields(out);
    EXPECT_EQ(f["CapBnd"], s.bounding);
    EXPECT_EQ(f["CapAmb"], bit(CAP_NET_BIND_SERVICE));
    EXPECT_EQ(f["CapPrm"], bit(CAP_NET_BIND_SERVICE));
    EXPECT_EQ(f["CapEff"], bit(CAP_NET_BIND_SERVICE));
    EXPECT_EQ(f["CapInh"], bit(CAP_NET_BIND_SERVICE));
}

TEST(CapabilitiesApply, BoundingWithoutCapSetpcapIsAnError) {
    REQUIRE_ROOT();
    CapSets drop_setpcap;
    drop_setpcap.permitted = drop_setpcap.effective = bit(CAP_CHOWN);
    CapSets s;
    s.bounding = bit(CAP_CHOWN);
    auto [out, code] = in_child([&] {
        if (apply_capabilities(drop_setpcap) != 0) return 1;
        return apply_bounding(s);
    });
    EXPECT_EQ(code, EPERM) << out;
}

}  // namespace
}  // namespace berth::runtime
