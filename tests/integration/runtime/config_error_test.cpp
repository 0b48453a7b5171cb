// A config.json that is missing, malformed or has a wrong value: create exits with status 1 and
// leaves nothing behind (no state directory, cgroup, mount or process). Berth also names the JSON
// path of the bad field in one line; those tests skip themselves on runc, whose wording differs.

#include <algorithm>

#include "runtime_fixture.hpp"

namespace berth::test {
namespace {

using nlohmann::json;

class ConfigErrorTest : public RuntimeTest {
protected:
    /// Writes `config_text` as the bundle's config.json, runs create, and checks status 1 and
    /// that nothing is left. Returns the runtime's result.
    RunResult create_expecting_failure(const std::string& id, const std::string& config_text) {
        EXPECT_TRUE(write_text(bundle_ + "/config.json", config_text));
        auto before = mounts_under(tmp_);
        std::string err_file = tmp_ + "/" + id + ".create.err";
        RunOptions o;
        o.stdout_path = out_path(id);
        o.stderr_path = err_file;
        auto r = rt({"create", "--bundle", bundle_, id}, o);
        r.err = read_text(err_file).value_or("");
        EXPECT_EQ(r.status, 1) << r.describe();
        expect_nothing_left(id, before);
        auto st = rt({"state", id});
        EXPECT_NE(st.status, 0) << "a failed create left a container: " << st.describe();
        return r;
    }

    /// The spec as JSON text with cgroupsPath set for `id`, after `edit`.
    template <typename F>
    std::string config_for(const std::string& id, F edit) {
        json s = spec_;
        s["linux"]["cgroupsPath"] = cgroup_of(id);
        edit(s);
        return s.dump(2);
    }

    RunResult create_with(const std::function<void(json&)>& edit) {
        auto id = new_id();
        return create_expecting_failure(id, config_for(id, edit));
    }
};

/// True if `err` names the JSON path, written dotted ("linux.namespaces[1].type", optionally
/// with a "$." prefix) or as a JSON pointer ("/linux/namespaces/1/type").
bool names_json_path(const std::string& err, const std::string& dotted) {
    if (contains(err, dotted)) return true;
    std::string pointer = "/";
    for (char c : dotted) {
        if (c == '.' || c == '[')
            pointer += '/';
        else if (c != ']')
            pointer += c;
    }
    return contains(err, pointer);
}

/// Trims trailing newlines and tells whether what is left is a single line.
bool one_line(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return !s.empty() && s.find('\n') == std::string::npos;
}

TEST_F(ConfigErrorTest, MissingConfigJson) {
    auto id = new_id();
    auto before = mounts_under(tmp_);
    auto r = rt({"create", "--bundle", bundle_, id});
    EXPECT_EQ(r.status, 1) << r.describe();
    EXPECT_TRUE(contains(r.err, "config.json")) << r.describe();
    expect_nothing_left(id, before);
}

TEST_F(ConfigErrorTest, MissingBundleDirectory) {
    auto id = new_id();
    auto r = rt({"create", "--bundle", tmp_ + "/no-such-bundle", id});
    EXPECT_EQ(r.status, 1) << r.describe();
    expect_nothing_left(id);
}

TEST_F(ConfigErrorTest, MalformedJson) {
    auto id = new_id();
    auto text = config_for(id, [](json&) {});
    create_expecting_failure(id, text.substr(0, text.size() / 2));
}

TEST_F(ConfigErrorTest, NotAnObject) { create_expecting_failure(new_id(), "[1, 2, 3]"); }

TEST_F(ConfigErrorTest, WrongTypeForArgs) {
    create_with([](json& s) { s["process"]["args"] = "/probe exit 0"; });
}

TEST_F(ConfigErrorTest, NegativeUid) {
    create_with([](json& s) { s["process"]["user"]["uid"] = -1; });
}

TEST_F(ConfigErrorTest, OciVersionNotAString) {
    create_with([](json& s) { s["ociVersion"] = 5; });
}

TEST_F(ConfigErrorTest, MissingProcess) {
    create_with([](json& s) { s.erase("process"); });
}

TEST_F(ConfigErrorTest, RelativeCwd) {
    create_with([](json& s) { s["process"]["cwd"] = "relative/dir"; });
}

TEST_F(ConfigErrorTest, ExecutableNotInRootfs) {
    create_with([](json& s) { s["process"]["args"] = {"/no/such/binary"}; });
}

TEST_F(ConfigErrorTest, RootfsDoesNotExist) {
    create_with([](json& s) { s["root"]["path"] = "no-such-rootfs"; });
}

TEST_F(ConfigErrorTest, UnknownNamespaceType) {
    create_with([](json& s) { s["linux"]["namespaces"][1]["type"] = "bogus"; });
}

TEST_F(ConfigErrorTest, NamespacePathDoesNotExist) {
    create_with([](json& s) { s["linux"]["namespaces"][1]["path"] = "/no/such/netns"; });
}

TEST_F(ConfigErrorTest, UnknownRlimit) {
    create_with([](json& s) { s["process"]["rlimits"][0]["type"] = "RLIMIT_FOO"; });
}

TEST_F(ConfigErrorTest, UnknownFilesystemType) {
    create_with([](json& s) {
        s["mounts"].push_back(
            {{"destination", "/mnt"}, {"type", "no-such-fs"}, {"source", "none"}});
    });
}

TEST_F(ConfigErrorTest, BindMountSourceDoesNotExist) {
    create_with([this](json& s) {
        s["mounts"].push_back(bind_mount(tmp_ + "/no-such-source", "/mnt", {"rbind", "ro"}));
    });
}

TEST_F(ConfigErrorTest, UnknownSysctl) {
    create_with([](json& s) { s["linux"]["sysctl"] = {{"kernel.no_such_sysctl", "1"}}; });
}

TEST_F(ConfigErrorTest, FailureAfterTheCgroupIsMadeLeavesNoCgroup) {
    // The exec of the missing binary fails inside the container, after cgroups, namespaces and
    // mounts exist: all of them must be undone.
    create_with([](json& s) {
        s["process"]["args"] = {"/missing"};
        s["linux"]["resources"]["pids"] = {{"limit", 50}};
        s["linux"]["resources"]["memory"] = {{"limit", 64 << 20}};
    });
}

// ---- Berth's error wording: one line naming the JSON path (runc's wording differs). ----

class ConfigErrorWordingTest : public ConfigErrorTest {
protected:
    void SetUp() override {
        BERTH_REQUIRE_ROOT();
        BERTH_SKIP_ON_RUNC("runc words config errors differently (no JSON paths)");
        ConfigErrorTest::SetUp();
    }

    void expect_path(const std::function<void(json&)>& edit, const std::string& path) {
        auto r = create_with(edit);
        EXPECT_TRUE(one_line(r.err)) << "want one line on stderr:\n" << r.describe();
        EXPECT_TRUE(names_json_path(r.err, path)) << "want the JSON path " << path << ":\n"
                                                  << r.describe();
    }
};

TEST_F(ConfigErrorWordingTest, MissingConfigIsOneLine) {
    auto id = new_id();
    auto r = rt({"create", "--bundle", bundle_, id});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(one_line(r.err)) << r.describe();
    EXPECT_TRUE(contains(r.err, "config.json")) << r.describe();
}

TEST_F(ConfigErrorWordingTest, MalformedJsonIsOneLine) {
    auto id = new_id();
    auto r = create_expecting_failure(id, "{\"ociVersion\": ");
    EXPECT_TRUE(one_line(r.err)) << r.describe();
    EXPECT_TRUE(contains(r.err, "config.json")) << r.describe();
}

TEST_F(ConfigErrorWordingTest, ArgsWrongType) {
    expect_path([](json& s) { s["process"]["args"] = "/probe"; }, "process.args");
}

TEST_F(ConfigErrorWordingTest, NegativeUid) {
    expect_path([](json& s) { s["process"]["user"]["uid"] = -1; }, "process.user.uid");
}

TEST_F(ConfigErrorWordingTest, OciVersionWrongType) {
    expect_path([](json& s) { s["ociVersion"] = 5; }, "ociVersion");
}

TEST_F(ConfigErrorWordingTest, RelativeCwd) {
    expect_path([](json& s) { s["process"]["cwd"] = "relative"; }, "process.cwd");
}

TEST_F(ConfigErrorWordingTest, UnknownNamespaceType) {
    expect_path([](json& s) { s["linux"]["namespaces"][1]["type"] = "bogus"; },
                "linux.namespaces[1].type");
}

TEST_F(ConfigErrorWordingTest, UnknownRlimit) {
    expect_path([](json& s) { s["process"]["rlimits"][0]["type"] = "RLIMIT_FOO"; },
                "process.rlimits[0].type");
}

TEST_F(ConfigErrorWordingTest, MissingProcessArgs) {
    expect_path([](json& s) { s["process"].erase("args"); }, "process.args");
}

}  // namespace
}  // namespace berth::test
