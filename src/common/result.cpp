#include "berth/common/result.hpp"

#include <cstring>

namespace berth {

const char* errc_name(Errc c) noexcept {
    switch (c) {
        case Errc::NotFound: return "not found";
        case Errc::AlreadyExists: return "already exists";
        case Errc::InvalidArgument: return "invalid argument";
        case Errc::Conflict: return "conflict";
        case Errc::PermissionDenied: return "permission denied";
        case Errc::Unavailable: return "unavailable";
        case Errc::Unsupported: return "unsupported";
        case Errc::Internal: return "internal";
    }
    return "internal";
}

Errc errc_from_errno(int err) noexcept {
    switch (err) {
        case ENOENT:
        case ESRCH: return Errc::NotFound;
        case EEXIST: return Errc::AlreadyExists;
        case EINVAL:
        case ENAMETOOLONG:
        case ELOOP:
        case EXDEV:
        case ENOTDIR: return Errc::InvalidArgument;
        case EBUSY: return Errc::Conflict;
        case EPERM:
        case EACCES:
        case EROFS: return Errc::PermissionDenied;
        case EAGAIN:
        case ENOSPC:
        case ENOMEM: return Errc::Unavailable;
        case ENOSYS:
        case EOPNOTSUPP: return Errc::Unsupported;
        default: return Errc::Internal;
    }
}

std::string Error::what() const {
    if (sys_errno == 0) return msg;
    // Go's wording for errno values (syscall.Errno.Error()): glibc's text with a lower-case
    // first letter, "no such file or directory". runc, moby and the docker CLI all print it
    // so, and the CLI matches on it (exit code 127 for "no such file or directory").
    std::string text = std::strerror(sys_errno);
    if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] - 'A' + 'a');
    return msg + ": " + text;
}

}  // namespace berth
