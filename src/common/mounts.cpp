#include "berth/common/mounts.hpp"

#include <sys/mount.h>

#include <algorithm>
#include <cerrno>

#include "berth/common/fs.hpp"
#include "berth/common/strings.hpp"

namespace berth {

std::string unescape_mountinfo(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    auto octal = [](char c) { return c >= '0' && c <= '7'; };
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) &&
            octal(s[i + 3])) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<std::string> mount_points_under(std::string_view mountinfo, std::string_view dir) {
    while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
    std::vector<std::string> found;
    for (const auto& line : split(mountinfo, '\n')) {
        // "36 35 98:0 /mnt1 /mnt/parent rw,... - ext3 /dev/root rw": the 5th field.
        auto f = split(line, ' ');
        if (f.size() < 5) continue;
        std::string point = unescape_mountinfo(f[4]);
        if (point == dir || (point.size() > dir.size() && point.starts_with(dir) &&
                             (dir == "/" || point[dir.size()] == '/')))
            found.push_back(std::move(point));
    }
    // Deepest first; a path mounted over twice is listed twice and unmounted twice.
    std::stable_sort(found.begin(), found.end(),
                     [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    return found;
}

Result<void> detach_mounts_under(const std::string& dir) {
    std::string text = BERTH_TRY(read_file("/proc/self/mountinfo"));
    for (const auto& point : mount_points_under(text, dir)) {
        // EINVAL: no longer a mount point (a parent's detach took it along).
        if (::umount2(point.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
            return BERTH_SYS_ERROR("unmount {}", point);
    }
    return {};
}

}  // namespace berth
