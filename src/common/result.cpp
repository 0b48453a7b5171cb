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
    return msg + ": " + std::strerror(sys_errno);
}

}  // namespace berth
