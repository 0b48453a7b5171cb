// process.capabilities: names parsed with libcap in the parent; the sets applied between clone
// and execve with raw capset/prctl (no allocation there).

#include "berth/runtime/capabilities.hpp"

#include <fcntl.h>
#include <sys/capability.h>  // also brings linux/capability.h (capset's structs)
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <string>
#include <string_view>

#include "berth/common/log.hpp"
#include "berth/common/strings.hpp"

namespace berth::runtime {
namespace {

// Highest number a 64-bit set can hold; the kernel is at 40 today.
constexpr int kMaxBit = 63;

bool iequals_prefix(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
    return true;
}

// "CAP_" followed by letters, digits and underscores: a capability name, perhaps one that
// this libcap or kernel does not know yet.
bool looks_like_cap_name(std::string_view s) {
    if (!iequals_prefix(s, "cap_") || s.size() == 4) return false;
    for (char c : s.substr(4))
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    return true;
}

std::string upper(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return s;
}

// Reads /proc/sys/kernel/cap_last_cap without allocating; -1 if unavailable.
int read_cap_last_cap() noexcept {
    int fd = ::open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[16];
    ssize_t n;
    do {
        n = ::read(fd, buf, sizeof(buf) - 1);
    } while (n < 0 && errno == EINTR);
    ::close(fd);
    if (n <= 0) return -1;
    int v = 0;
    bool any = false;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) {
        v = v * 10 + (buf[i] - '0');
        any = true;
        if (v > 1000) return -1;
    }
    return any ? v : -1;
}

// Without /proc (early in a new mount namespace, say) ask the kernel directly: reading the
// bounding set of a capability it does not know is EINVAL.
int probe_cap_last_cap() noexcept {
    int c = 0;
    while (c <= kMaxBit && ::prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0) ++c;
    return c - 1;
}

}  // namespace

int last_cap() noexcept {
    static std::atomic<int> cached{-1};
    int v = cached.load(std::memory_order_relaxed);
    if (v >= 0) return v;
    v = read_cap_last_cap();
    if (v < 0) v = probe_cap_last_cap();
    if (v > kMaxBit) v = kMaxBit;
    if (v < 0) v = CAP_LAST_CAP;  // the kernel headers' idea, as a last resort
    cached.store(v, std::memory_order_relaxed);
    return v;
}

Result<CapSets> parse_capabilities(const oci::Capabilities& c) {
    CapSets out;
    const int last = last_cap();
    std::vector<std::string> unknown;

    struct Set {
        const char* field;
        const std::vector<std::string>* names;
        uint64_t* bits;
    };
    const Set sets[] = {
        {"bounding", &c.bounding, &out.bounding},
        {"effective", &c.effective, &out.effective},
        {"inheritable", &c.inheritable, &out.inheritable},
        {"permitted", &c.permitted, &out.permitted},
        {"ambient", &c.ambient, &out.ambient},
    };
    for (const auto& set : sets) {
        for (size_t i = 0; i < set.names->size(); ++i) {
            const std::string& name = (*set.names)[i];
            cap_value_t value = -1;
            bool known = iequals_prefix(name, "cap_") && cap_from_name(name.c_str(), &value) == 0;
            if (!known) {
                if (!looks_like_cap_name(name))
                    return make_error(Errc::InvalidArgument,
                                      "process.capabilities.{}[{}]: unknown capability {}",
                                      set.field, i, name.empty() ? "\"\"" : name);
                // Well-formed but unknown to libcap: newer than this build. runc warns.
                unknown.push_back(name);
                continue;
            }
            if (value < 0 || value > last || value > kMaxBit) {
                unknown.push_back(name);  // libcap knows it, this kernel does not
                continue;
            }
            *set.bits |= uint64_t{1} << value;
        }
    }
    if (!unknown.empty()) {
        std::sort(unknown.begin(), unknown.end());
        unknown.erase(std::unique(unknown.begin(), unknown.end()), unknown.end());
        BLOG_WARN("ignoring unknown or unavailable capabilities: [{}]", join(unknown, " "));
    }
    // The kernel raises an ambient capability only if it is permitted and inheritable. runc
    // ignores the failed raise at apply time (where nothing can be logged); say it here.
    if (uint64_t stray = out.ambient & ~(out.permitted & out.inheritable); stray != 0) {
        std::vector<std::string> names;
        for (int b = 0; b <= kMaxBit; ++b)
            if (stray & (uint64_t{1} << b)) {
                char* n = cap_to_name(b);
                std::string s = n ? n : std::to_string(b);
                cap_free(n);
                names.push_back(upper(std::move(s)));
            }
        BLOG_DEBUG("ambient capabilities not in both the permitted and inheritable sets will not be "
                  "raised: [{}]",
                  join(names, " "));
    }
    return out;
}

int apply_bounding(const CapSets& s) noexcept {
    const int last = last_cap();
    for (int c = 0; c <= last; ++c) {
        if (s.bounding & (uint64_t{1} << c)) continue;
        if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
            // EINVAL: the kernel lacks this one (last_cap fell back to a guess); nothing to drop.
            // Unlike runc (gocapability), a missing CAP_SETPCAP is an error, not a silent skip:
            // the container would otherwise keep a bounding set it did not ask for.
            if (errno == EINVAL) continue;
            return errno;
        }
    }
    return 0;
}

int apply_capabilities(const CapSets& s) noexcept {
    __user_cap_header_struct header{};
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    data[0].effective = static_cast<uint32_t>(s.effective);
    data[1].effective = static_cast<uint32_t>(s.effective >> 32);
    data[0].permitted = static_cast<uint32_t>(s.permitted);
    data[1].permitted = static_cast<uint32_t>(s.permitted >> 32);
    data[0].inheritable = static_cast<uint32_t>(s.inheritable);
    data[1].inheritable = static_cast<uint32_t>(s.inheritable >> 32);
    if (::syscall(SYS_capset, &header, data) < 0) return errno;

    // EINVAL: a kernel before 4.3 has no ambient set.
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
        if (errno == EINVAL) return 0;
        return errno;
    }
    const int last = last_cap();
    for (int c = 0; c <= last; ++c) {
        if (!(s.ambient & (uint64_t{1} << c))) continue;
        // As runc: a capability that is not both permitted and inheritable fails with EPERM
        // and is skipped (runc 1.1 ignores it, 1.2 logs a warning; parse_capabilities warns).
        (void)::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
    }
    return 0;
}

std::vector<std::string> all_capability_names() {
    std::vector<std::string> out;
    const int last = last_cap();
    for (int c = 0; c <= last; ++c) {
        char* n = cap_to_name(c);
        if (n == nullptr) continue;
        std::string s(n);
        cap_free(n);
        // libcap prints capabilities it has no name for as a number; those have no name to offer.
        if (!iequals_prefix(s, "cap_")) continue;
        out.push_back(upper(std::move(s)));
    }
    return out;
}

}  // namespace berth::runtime
