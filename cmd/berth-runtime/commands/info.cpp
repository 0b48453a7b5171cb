// features and spec.

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "berth/common/fs.hpp"
#include "berth/oci/spec_json.hpp"
#include "berth/runtime/capabilities.hpp"
#include "berth/runtime/mount_plan.hpp"
#include "berth/runtime/seccomp.hpp"
#include "../commands.hpp"

namespace berth::cli {

void register_info(CLI::App& app, Context& ctx) {
    auto* feat = app.add_subcommand("features", "print what this runtime supports (runtime-spec features.md)");
    feat->callback([&] {
        nlohmann::ordered_json j;
        j["ociVersionMin"] = "1.0.0";
        j["ociVersionMax"] = oci::kOciVersion;
        j["hooks"] = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
        j["mountOptions"] = {"acl", "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec",
                             "iversion", "lazytime", "loud", "mand", "noacl", "noatime", "nodev", "nodiratime",
                             "noexec", "noiversion", "nolazytime", "nomand", "norelatime", "nostrictatime",
                             "nosuid", "nosymfollow", "private", "ratime", "rbind", "rdev", "rdiratime",
                             "relatime", "remount", "rexec", "rnoatime", "rnodev", "rnodiratime", "rnoexec",
                             "rnorelatime", "rnostrictatime", "rnosuid", "rnosymfollow", "ro", "rprivate",
                             "rrelatime", "rro", "rrw", "rshared", "rslave", "rstrictatime", "rsuid",
                             "rsymfollow", "runbindable", "rw", "shared", "silent", "slave", "strictatime",
                             "suid", "symfollow", "sync", "tmpcopyup", "unbindable"};
        nlohmann::ordered_json lin;
        lin["namespaces"] = {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"};
        lin["capabilities"] = runtime::all_capability_names();
        lin["cgroup"] = {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", false}};
        lin["seccomp"] = {{"enabled", true},
                          {"actions", runtime::seccomp_known_actions()},
                          {"operators", runtime::seccomp_known_operators()},
                          {"archs", runtime::seccomp_known_archs()},
                          {"knownFlags", runtime::seccomp_known_flags()},
                          {"supportedFlags", runtime::seccomp_known_flags()}};
        lin["apparmor"] = {{"enabled", false}};
        lin["selinux"] = {{"enabled", false}};
        lin["intelRdt"] = {{"enabled", false}};
        lin["mountExtensions"] = {{"idmap", {{"enabled", false}}}};
        j["linux"] = lin;
        j["annotations"] = {{"io.github.berth.version", "0.1.0"}};
        std::printf("%s\n", j.dump(4).c_str());
    });

    static std::string bundle = ".";
    static bool rootless = false;
    auto* spec = app.add_subcommand("spec", "write a default config.json to the bundle");
    spec->add_option("-b,--bundle", bundle, "bundle directory");
    spec->add_flag("--rootless", rootless, "a spec for an unprivileged user");
    spec->callback([&] {
        std::string path = bundle + "/config.json";
        if (path_exists(path)) return fail(ctx, Error{Errc::AlreadyExists, 0, "File " + path + " exists. Remove it first"});
        auto s = oci::default_spec(rootless, ::getuid(), ::getgid());
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0) return fail(ctx, Error{errc_from_errno(errno), errno, "create " + path});
        std::string text = oci::to_json(s, true);
        bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
        ::close(fd);
        if (!ok) fail(ctx, Error{Errc::Internal, errno, "write " + path});
    });
}

}  // namespace berth::cli
