#include <gtest/gtest.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "berth/common/fs.hpp"
#include "berth/runtime/mount_plan.hpp"

namespace berth::runtime {
namespace {

oci::Mount mnt(std::string destination, std::string type, std::string source,
               std::vector<std::string> options = {}) {
    oci::Mount m;
    m.destination = std::move(destination);
    m.type = std::move(type);
    m.source = std::move(source);
    m.options = std::move(options);
    return m;
}

class MountPlan : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-test-mountplan-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        bundle_ = tmpl;
        ASSERT_TRUE(mkdir_all(bundle_ + "/data"));
        ASSERT_TRUE(atomic_write_file(bundle_ + "/file", "x"));
    }
    void TearDown() override { (void)remove_all(bundle_); }

    MountOp plan_one(const oci::Mount& m) {
        auto r = plan_mounts({m}, bundle_);
        EXPECT_TRUE(r) << (r ? "" : r.error().what());
        if (!r || r->size() != 1) return MountOp{};
        return (*r)[0];
    }

    std::string bundle_;
};

struct OptionCase {
    std::vector<std::string> options;
    unsigned long flags;
    unsigned long propagation;
    std::string data;
};

TEST_F(MountPlan, OptionTable) {
    const OptionCase cases[] = {
        {{}, 0, 0, ""},
        {{"nosuid", "noexec", "nodev", "mode=755", "size=65536k"},
         MS_NOSUID | MS_NOEXEC | MS_NODEV, 0, "mode=755,size=65536k"},
        {{"ro"}, MS_RDONLY, 0, ""},
        {{"ro", "rw"}, 0, 0, ""},
        {{"rw", "ro"}, MS_RDONLY, 0, ""},
        {{"nosuid", "suid", "nodev", "dev", "noexec", "exec"}, 0, 0, ""},
        {{"sync", "dirsync", "mand"}, MS_SYNCHRONOUS | MS_DIRSYNC | MS_MANDLOCK, 0, ""},
        {{"sync", "async", "mand", "nomand"}, 0, 0, ""},
        {{"noatime", "nodiratime"}, MS_NOATIME | MS_NODIRATIME, 0, ""},
        {{"noatime", "atime", "nodiratime", "diratime"}, 0, 0, ""},
        {{"relatime", "strictatime"}, MS_RELATIME | MS_STRICTATIME, 0, ""},
        {{"relatime", "norelatime", "strictatime", "nostrictatime"}, 0, 0, ""},
        {{"nosymfollow"}, MS_NOSYMFOLLOW, 0, ""},
        {{"nosymfollow", "symfollow"}, 0, 0, ""},
        {{"lazytime", "iversion", "silent"}, MS_LAZYTIME | MS_I_VERSION | MS_SILENT, 0, ""},
        {{"lazytime", "nolazytime", "iversion", "noiversion", "silent", "loud"}, 0, 0, ""},
        {{"remount", "ro"}, MS_REMOUNT | MS_RDONLY, 0, ""},
        {{"private"}, 0, MS_PRIVATE, ""},
        {{"rprivate"}, 0, MS_PRIVATE | MS_REC, ""},
        {{"slave"}, 0, MS_SLAVE, ""},
        {{"rslave"}, 0, MS_SLAVE | MS_REC, ""},
        {{"shared"}, 0, MS_SHARED, ""},
        {{"rshared"}, 0, MS_SHARED | MS_REC, ""},
        {{"unbindable"}, 0, MS_UNBINDABLE, ""},
        {{"runbindable"}, 0, MS_UNBINDABLE | MS_REC, ""},
        {{"rprivate", "shared"}, 0, MS_SHARED, ""},  // the last one wins
        // "defaults" means nothing; runc would pass it to the filesystem, which refuses it.
        {{"defaults", "size=1m"}, 0, 0, "size=1m"},
        // Filesystem options stay in order; "acl" is one of them.
        {{"acl", "uid=5", "nosuid", "gid=5"}, MS_NOSUID, 0, "acl,uid=5,gid=5"},
        {{"newinstance", "ptmxmode=0666", "mode=0620"},
         0, 0, "newinstance,ptmxmode=0666,mode=0620"},
    };
    for (const auto& c : cases) {
        auto op = plan_one(mnt("/x", "tmpfs", "tmpfs", c.options));
        std::string what = ::testing::PrintToString(c.options);
        EXPECT_EQ(op.flags, c.flags) << what;
        EXPECT_EQ(op.propagation, c.propagation) << what;
        EXPECT_EQ(op.data, c.data) << what;
        EXPECT_FALSE(op.bind) << what;
        EXPECT_EQ(op.fstype, "tmpfs") << what;
        EXPECT_EQ(op.source, "tmpfs") << what;
        EXPECT_TRUE(op.source_is_dir) << what;
        EXPECT_FALSE(op.remount_after_bind) << what;
    }
}

TEST_F(MountPlan, RecursiveAttributes) {
    auto op = plan_one(mnt("/x", "bind", "/tmp", {"rbind", "rro"}));
    EXPECT_TRUE(op.recursive_readonly);
    EXPECT_EQ(op.rec_attr_set, uint64_t{MOUNT_ATTR_RDONLY});
    EXPECT_EQ(op.rec_attr_clr, 0u);
    EXPECT_EQ(op.flags, static_cast<unsigned long>(MS_BIND | MS_REC));  // rro is not MS_RDONLY
    EXPECT_FALSE(op.remount_after_bind);

    op = plan_one(mnt("/x", "bind", "/tmp", {"rbind", "rro", "rrw"}));
    EXPECT_FALSE(op.recursive_readonly);
    EXPECT_EQ(op.rec_attr_set, 0u);
    EXPECT_EQ(op.rec_attr_clr, uint64_t{MOUNT_ATTR_RDONLY});

    op = plan_one(mnt("/x", "bind", "/tmp", {"rbind", "rnosuid", "rnodev", "rnoexec"}));
    EXPECT_EQ(op.rec_attr_set,
              uint64_t{MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC});
    EXPECT_EQ(op.data, "");

    // An atime mode in attr_set needs MOUNT_ATTR__ATIME in attr_clr.
    op = plan_one(mnt("/x", "bind", "/tmp", {"rbind", "rnoatime"}));
    EXPECT_EQ(op.rec_attr_set, uint64_t{MOUNT_ATTR_NOATIME});
    EXPECT_EQ(op.rec_attr_clr, uint64_t{MOUNT_ATTR__ATIME});
    op = plan_one(mnt("/x", "bind", "/tmp", {"rbind", "rrelatime"}));
    EXPECT_EQ(op.rec_attr_set, 0u);
    EXPECT_EQ(op.rec_attr_clr, uint64_t{MOUNT_ATTR__ATIME});
    op = plan_one(mnt("/x", "bind", "/tmp", {"rbind", "rnosymfollow", "rsuid"}));
    EXPECT_EQ(op.rec_attr_set, uint64_t{MOUNT_ATTR_NOSYMFOLLOW});
    EXPECT_EQ(op.rec_attr_clr, uint64_t{MOUNT_ATTR_NOSUID});
}

TEST_F(MountPlan, Tmpcopyup) {
    auto op = plan_one(mnt("/run", "tmpfs", "tmpfs", {"tmpcopyup", "mode=755"}));
    EXPECT_TRUE(op.tmpcopyup);
    EXPECT_EQ(op.data, "mode=755");
    EXPECT_FALSE(plan_one(mnt("/run", "tmpfs", "tmpfs", {"mode=755"})).tmpcopyup);
}

TEST_F(MountPlan, BindMounts) {
    // Docker's form: type bind, rbind + propagation.
    auto op = plan_one(mnt("/data", "bind", bundle_ + "/data", {"rbind", "rprivate"}));
    EXPECT_TRUE(op.bind);
    EXPECT_EQ(op.fstype, "bind");
    EXPECT_EQ(op.flags, static_cast<unsigned long>(MS_BIND | MS_REC));
    EXPECT_EQ(op.propagation, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
    EXPECT_TRUE(op.source_is_dir);
    EXPECT_FALSE(op.remount_after_bind);

    // The option alone makes a bind, whatever the type says (runc ignores it).
    op = plan_one(mnt("/data", "none", bundle_ + "/data", {"bind"}));
    EXPECT_TRUE(op.bind);
    EXPECT_EQ(op.fstype, "bind");
    EXPECT_EQ(op.flags, static_cast<unsigned long>(MS_BIND));

    // Type "bind" alone is a non-recursive bind.
    op = plan_one(mnt("/data", "bind", bundle_ + "/data"));
    EXPECT_TRUE(op.bind);
    EXPECT_EQ(op.flags, static_cast<unsigned long>(MS_BIND));

    // A file source.
    op = plan_one(mnt("/etc/hosts", "bind", bundle_ + "/file", {"rbind", "ro"}));
    EXPECT_FALSE(op.source_is_dir);
    EXPECT_EQ(op.flags, static_cast<unsigned long>(MS_BIND | MS_REC | MS_RDONLY));
    EXPECT_TRUE(op.remount_after_bind);

    for (const char* o : {"ro", "nosuid", "nodev", "noexec", "noatime", "nosymfollow"}) {
        op = plan_one(mnt("/data", "bind", bundle_ + "/data", {"rbind", o}));
        EXPECT_TRUE(op.remount_after_bind) << o;
    }
    for (const char* o : {"rw", "suid", "dev", "exec", "private", "rro", "remount"}) {
        op = plan_one(mnt("/data", "bind", bundle_ + "/data", {"bind", o}));
        EXPECT_FALSE(op.remount_after_bind) << o;
    }
}

TEST_F(MountPlan, RelativeBindSourcesUseTheBundle) {
    auto op = plan_one(mnt("/data", "bind", "data", {"rbind"}));
    EXPECT_EQ(op.source, bundle_ + "/data");
    EXPECT_TRUE(op.source_is_dir);
    op = plan_one(mnt("/f", "bind", "./data/../file", {"bind"}));
    EXPECT_EQ(op.source, bundle_ + "/file");
    EXPECT_FALSE(op.source_is_dir);

    // A relative bundle is taken from the working directory.
    char cwd[4096];
    ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
    ASSERT_EQ(::chdir("/tmp"), 0);
    std::string rel = bundle_.substr(std::string("/tmp/").size());
    auto r = plan_mounts({mnt("/data", "bind", "data", {"rbind"})}, rel);
    ASSERT_EQ(::chdir(cwd), 0);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ((*r)[0].source, bundle_ + "/data");

    // Non-bind sources are not paths and stay as they are.
    op = plan_one(mnt("/proc", "proc", "proc"));
    EXPECT_EQ(op.source, "proc");
}

TEST_F(MountPlan, MissingBindSource) {
    auto r = plan_mounts({mnt("/proc", "proc", "proc"),
                          mnt("/data", "bind", "/nonexistent-berth/x", {"rbind"})},
                         bundle_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::NotFound);
    EXPECT_EQ(r.error().sys_errno, ENOENT);
    EXPECT_EQ(r.error().msg, "mounts[1].source: stat /nonexistent-berth/x");
    EXPECT_EQ(r.error().what(),
              "mounts[1].source: stat /nonexistent-berth/x: no such file or directory");

    r = plan_mounts({mnt("/data", "bind", "missing", {"rbind"})}, bundle_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().msg, "mounts[0].source: stat " + bundle_ + "/missing");
}

TEST_F(MountPlan, Destinations) {
    EXPECT_EQ(plan_one(mnt("/a//b/./c/..", "tmpfs", "tmpfs")).destination, "/a/b");
    EXPECT_EQ(plan_one(mnt("/dev/", "tmpfs", "tmpfs")).destination, "/dev");
    // Relative: runc 1.1 warns and mounts it relative to the container's root.
    EXPECT_EQ(plan_one(mnt("mnt/x/../y", "tmpfs", "tmpfs")).destination, "/mnt/y");
    EXPECT_EQ(plan_one(mnt("../../etc", "tmpfs", "tmpfs")).destination, "/etc");

    auto r = plan_mounts({mnt("/ok", "tmpfs", "tmpfs"), mnt("", "tmpfs", "tmpfs")}, bundle_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_EQ(r.error().msg, "mounts[1].destination: must not be empty");
}

TEST_F(MountPlan, OtherErrors) {
    auto r = plan_mounts({mnt("/x", "", "something")}, bundle_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_EQ(r.error().msg,
              "mounts[0].type: must be set for a mount that is not a bind mount (/x)");

    r = plan_mounts({mnt("/x", "bind", "", {"rbind"})}, bundle_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().msg, "mounts[0].source: a bind mount needs a source");

    r = plan_mounts({mnt(std::string("/x\0y", 4), "tmpfs", "tmpfs")}, bundle_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().msg, "mounts[0]: a field contains a NUL byte");

    r = plan_mounts({mnt("/x", "tmpfs", "tmpfs", {"size=1m", std::string("a\0b", 3)})}, bundle_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().msg, "mounts[0].options[1]: contains a NUL byte");
}

TEST_F(MountPlan, SpecialFilesystems) {
    auto r = plan_mounts({mnt("/proc", "proc", "proc"), mnt("/sys", "sysfs", "sysfs",
                                                              {"nosuid", "noexec", "nodev", "ro"}),
                          mnt("/sys/fs/cgroup", "cgroup", "cgroup",
                              {"nosuid", "noexec", "nodev", "relatime", "ro"}),
                          mnt("/dev/mqueue", "mqueue", "mqueue")},
                         bundle_);
    ASSERT_TRUE(r) << r.error().what();
    ASSERT_EQ(r->size(), 4u);
    EXPECT_TRUE((*r)[0].is_proc_or_sys);
    EXPECT_TRUE((*r)[1].is_proc_or_sys);
    EXPECT_EQ((*r)[1].flags,
              static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
    EXPECT_TRUE((*r)[2].is_cgroup);
    EXPECT_FALSE((*r)[2].is_proc_or_sys);
    EXPECT_FALSE((*r)[3].is_cgroup);
    EXPECT_FALSE((*r)[3].is_proc_or_sys);
    EXPECT_EQ((*r)[3].destination, "/dev/mqueue");
}

TEST(RootfsPropagation, Values) {
    struct Case {
        const char* name;
        unsigned long flags;
    };
    const Case cases[] = {
        {"", MS_SLAVE | MS_REC},
        {"private", MS_PRIVATE},
        {"rprivate", MS_PRIVATE | MS_REC},
        {"slave", MS_SLAVE},
        {"rslave", MS_SLAVE | MS_REC},
        {"shared", MS_SHARED},
        {"rshared", MS_SHARED | MS_REC},
        {"unbindable", MS_UNBINDABLE},
        {"runbindable", MS_UNBINDABLE | MS_REC},
    };
    for (const auto& c : cases) {
        auto r = parse_rootfs_propagation(c.name);
        ASSERT_TRUE(r) << c.name;
        EXPECT_EQ(*r, c.flags) << c.name;
    }
    auto r = parse_rootfs_propagation("rbind");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_EQ(r.error().msg, "linux.rootfsPropagation: rbind is not supported");
}

TEST(Devices, DefaultsWithoutLinux) {
    auto d = devices_to_create(nullptr);
    ASSERT_EQ(d.size(), 6u);
    const char* paths[] = {"/dev/null", "/dev/random", "/dev/full",
                           "/dev/tty",  "/dev/zero",   "/dev/urandom"};
    const int64_t numbers[][2] = {{1, 3}, {1, 8}, {1, 7}, {5, 0}, {1, 5}, {1, 9}};
    for (size_t i = 0; i < d.size(); ++i) {
        EXPECT_EQ(d[i].path, paths[i]);
        EXPECT_EQ(d[i].type, "c");
        EXPECT_EQ(d[i].major, numbers[i][0]) << paths[i];
        EXPECT_EQ(d[i].minor, numbers[i][1]) << paths[i];
        EXPECT_EQ(d[i].file_mode, 0666u);
        EXPECT_EQ(d[i].uid, 0u);
        EXPECT_EQ(d[i].gid, 0u);
    }
    oci::Linux empty;
    EXPECT_EQ(devices_to_create(&empty).size(), 6u);
}

TEST(Devices, SpecDevicesReplaceDefaultsWithTheSamePath) {
    oci::Linux l;
    oci::Device null_dev;
    null_dev.type = "c";
    null_dev.path = "/dev/null";
    null_dev.major = 1;
    null_dev.minor = 3;
    null_dev.file_mode = S_IFCHR | 0600;
    null_dev.uid = 1000;
    oci::Device fuse;
    fuse.type = "u";
    fuse.path = "/dev/fuse";
    fuse.major = 10;
    fuse.minor = 229;
    oci::Device loop;
    loop.type = "b";
    loop.path = "/dev/loop0";
    loop.major = 7;
    loop.minor = 0;
    loop.gid = 6;
    l.devices = {fuse, null_dev, loop};

    auto d = devices_to_create(&l);
    ASSERT_EQ(d.size(), 8u);
    // Defaults first (without /dev/null), then the spec's in its order.
    const char* paths[] = {"/dev/random", "/dev/full",  "/dev/tty",  "/dev/zero",
                           "/dev/urandom", "/dev/fuse", "/dev/null", "/dev/loop0"};
    for (size_t i = 0; i < d.size(); ++i) EXPECT_EQ(d[i].path, paths[i]);
    EXPECT_EQ(d[5].type, "c");  // "u" is a character device
    EXPECT_EQ(d[5].file_mode, 0666u);
    EXPECT_EQ(d[5].uid, 0u);
    EXPECT_EQ(d[6].file_mode, 0600u);  // S_IFCHR stripped
    EXPECT_EQ(d[6].uid, 1000u);
    EXPECT_EQ(d[6].gid, 0u);
    EXPECT_EQ(d[7].type, "b");
    EXPECT_EQ(d[7].gid, 6u);
}

}  // namespace
}  // namespace berth::runtime
