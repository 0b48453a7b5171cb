// The spec's mounts as a plan: every flag decided here, from the same tables as runc's
// libcontainer/specconv/spec_linux.go, so that a config.json means what it means under runc.

#include "berth/runtime/mount_plan.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <string_view>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"

namespace berth::runtime {
namespace {

struct FlagOption {
    std::string_view name;
    bool clear;
    unsigned long flag;
};

// runc's mountFlags. Two deliberate differences: "defaults" is dropped (runc passes it on as
// data, which tmpfs and most filesystems refuse with EINVAL), and "acl"/"noacl" are data (as
// in current runc: mount(2) ignores MS_POSIXACL, the filesystem wants the option string).
constexpr std::array<FlagOption, 32> kFlagOptions{{
    {"async", true, MS_SYNCHRONOUS},
    {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},
    {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},
    {"iversion", false, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME},
    {"loud", true, MS_SILENT},
    {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},
    {"noiversion", true, MS_I_VERSION},
    {"nolazytime", true, MS_LAZYTIME},
    {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"silent", false, MS_SILENT},
    {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS},
    {"symfollow", true, MS_NOSYMFOLLOW},
}};

struct PropagationOption {
    std::string_view name;
    unsigned long flags;
};

// runc's mountPropagationMapping (also used for linux.rootfsPropagation).
constexpr std::array<PropagationOption, 8> kPropagation{{
    {"rprivate", MS_PRIVATE | MS_REC},
    {"private", MS_PRIVATE},
    {"rslave", MS_SLAVE | MS_REC},
    {"slave", MS_SLAVE},
    {"rshared", MS_SHARED | MS_REC},
    {"shared", MS_SHARED},
    {"runbindable", MS_UNBINDABLE | MS_REC},
    {"unbindable", MS_UNBINDABLE},
}};

struct RecAttrOption {
    std::string_view name;
    bool clear;
    uint64_t attr;
};

// runc's recAttrFlags: applied to the whole subtree with mount_setattr(AT_RECURSIVE).
constexpr std::array<RecAttrOption, 18> kRecAttrOptions{{
    {"rro", false, MOUNT_ATTR_RDONLY},
    {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},
    {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},
    {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},
    {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME},
    {"rnorelatime", true, MOUNT_ATTR_RELATIME},
    {"rnoatime", false, MOUNT_ATTR_NOATIME},
    {"ratime", true, MOUNT_ATTR_NOATIME},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME},
    {"rnostrictatime", true, MOUNT_ATTR_STRICTATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
}};

template <class Table>
auto find_option(const Table& table, std::string_view name) -> decltype(&table[0]) {
    for (const auto& e : table)
        if (e.name == name) return &e;
    return nullptr;
}

// Fills the option-derived fields of `op` (runc's parseMountOptions).
void parse_options(const std::vector<std::string>& options, MountOp& op) {
    std::string data;
    for (const auto& o : options) {
        if (const auto* f = find_option(kFlagOptions, o)) {
            if (f->clear)
                op.flags &= ~f->flag;
            else
                op.flags |= f->flag;
        } else if (const auto* p = find_option(kPropagation, o)) {
            // runc applies every propagation option in turn; the last one decides the result.
            op.propagation = p->flags;
        } else if (const auto* r = find_option(kRecAttrOptions, o)) {
            if (r->clear) {
                op.rec_attr_clr |= r->attr;
                op.rec_attr_set &= ~r->attr;
            } else {
                op.rec_attr_set |= r->attr;
                op.rec_attr_clr &= ~r->attr;
                // mount_setattr(2): an atime mode in attr_set needs MOUNT_ATTR__ATIME in
                // attr_clr (MOUNT_ATTR_RELATIME is 0, so it counts as one too).
                if ((r->attr & MOUNT_ATTR__ATIME) == r->attr) op.rec_attr_clr |= MOUNT_ATTR__ATIME;
            }
        } else if (o == "tmpcopyup") {
            op.tmpcopyup = true;
        } else if (o == "defaults") {
            // fstab's "no options": nothing to do.
        } else {
            if (!data.empty()) data += ',';
            data += o;
        }
    }
    op.data = std::move(data);
    op.recursive_readonly = (op.rec_attr_set & MOUNT_ATTR_RDONLY) != 0;
}

bool has_nul(const std::string& s) { return s.find('\0') != std::string::npos; }

// The bundle as an absolute directory: runc runs in it, so its cwd is the bundle.
std::string absolute_bundle(const std::string& bundle) {
    if (!bundle.empty() && bundle.front() == '/') return clean_path(bundle);
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof(cwd)) == nullptr) return clean_path("/" + bundle);
    return clean_path(path_join(cwd, bundle));
}

}  // namespace

Result<std::vector<MountOp>> plan_mounts(const std::vector<oci::Mount>& mounts,
                                         const std::string& bundle) {
    std::vector<MountOp> plan;
    plan.reserve(mounts.size());
    std::string abs_bundle;  // computed on first use: most specs have no relative sources
    for (size_t i = 0; i < mounts.size(); ++i) {
        const oci::Mount& m = mounts[i];
        // Paths reach mount(2) as C strings; a NUL would silently cut them short.
        if (has_nul(m.source) || has_nul(m.destination) || has_nul(m.type))
            return make_error(Errc::InvalidArgument, "mounts[{}]: a field contains a NUL byte", i);
        for (size_t j = 0; j < m.options.size(); ++j)
            if (has_nul(m.options[j]))
                return make_error(Errc::InvalidArgument,
                                  "mounts[{}].options[{}]: contains a NUL byte", i, j);
        if (m.destination.empty())
            return make_error(Errc::InvalidArgument, "mounts[{}].destination: must not be empty",
                              i);

        MountOp op;
        if (m.destination.front() != '/') {
            // runc 1.1 accepts this and resolves it inside the rootfs, i.e. relative to "/".
            op.destination = clean_path("/" + m.destination);
            BLOG_WARN("mounts[{}].destination {} is not absolute; using {}. Support for "
                      "non-absolute mount destinations may be removed in a future release.",
                      i, m.destination, op.destination);
        } else {
            op.destination = clean_path(m.destination);
        }

        parse_options(m.options, op);
        // runc ignores the type of a bind mount and calls it "bind"; a type "bind" without a
        // bind option is a (non-recursive) bind too, as crun and the runtime-spec examples have it.
        if (m.type == "bind") op.flags |= MS_BIND;
        op.bind = (op.flags & MS_BIND) != 0;

        if (op.bind) {
            op.fstype = "bind";
            if (m.source.empty())
                return make_error(Errc::InvalidArgument,
                                  "mounts[{}].source: a bind mount needs a source", i);
            if (m.source.front() == '/') {
                op.source = clean_path(m.source);
            } else {
                if (abs_bundle.empty()) abs_bundle = absolute_bundle(bundle);
                op.source = clean_path(path_join(abs_bundle, m.source));
            }
            struct stat st {};
            if (::stat(op.source.c_str(), &st) < 0)
                return BERTH_SYS_ERROR("mounts[{}].source: stat {}", i, op.source);
            op.source_is_dir = S_ISDIR(st.st_mode);
            // mount(MS_BIND) ignores every other flag; they need a second MS_REMOUNT|MS_BIND.
            op.remount_after_bind = (op.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0;
        } else {
            if (m.type.empty())
                return make_error(Errc::InvalidArgument,
                                  "mounts[{}].type: must be set for a mount that is not a bind "
                                  "mount ({})",
                                  i, op.destination);
            op.fstype = m.type;
            op.source = m.source;
            op.source_is_dir = true;
        }
        op.is_cgroup = m.type == "cgroup";
        op.is_proc_or_sys = m.type == "proc" || m.type == "sysfs";
        plan.push_back(std::move(op));
    }
    return plan;
}

Result<unsigned long> parse_rootfs_propagation(const std::string& p) {
    // runc's prepareRoot default: the host never sees the container's mounts, the container
    // still sees the host's unmounts.
    if (p.empty()) return MS_SLAVE | MS_REC;
    if (const auto* e = find_option(kPropagation, p)) return e->flags;
    return make_error(Errc::InvalidArgument, "linux.rootfsPropagation: {} is not supported", p);
}

std::vector<oci::Device> devices_to_create(const oci::Linux* linux_cfg) {
    struct Default {
        const char* path;
        int64_t major, minor;
    };
    // runc's AllowedDevices with a path, in its order.
    static constexpr Default kDefaults[] = {
        {"/dev/null", 1, 3}, {"/dev/random", 1, 8}, {"/dev/full", 1, 7},
        {"/dev/tty", 5, 0},  {"/dev/zero", 1, 5},   {"/dev/urandom", 1, 9},
    };
    std::vector<oci::Device> out;
    for (const auto& d : kDefaults) {
        bool overridden = false;
        if (linux_cfg != nullptr)
            for (const auto& sd : linux_cfg->devices)
                if (sd.path == d.path) overridden = true;
        if (overridden) continue;
        oci::Device dev;
        dev.type = "c";
        dev.path = d.path;
        dev.major = d.major;
        dev.minor = d.minor;
        dev.file_mode = 0666;
        dev.uid = 0;
        dev.gid = 0;
        out.push_back(std::move(dev));
    }
    if (linux_cfg == nullptr) return out;
    for (oci::Device dev : linux_cfg->devices) {
        if (dev.type == "u") dev.type = "c";  // unbuffered character device: same mknod type
        dev.file_mode = dev.file_mode ? (*dev.file_mode & ~static_cast<uint32_t>(S_IFMT)) : 0666;
        if (!dev.uid) dev.uid = 0;
        if (!dev.gid) dev.gid = 0;
        out.push_back(std::move(dev));
    }
    return out;
}

}  // namespace berth::runtime
