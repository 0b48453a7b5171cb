#pragma once
// Result<T> and Error: the one error convention of Berth (CONVENTIONS.md, "Error handling").
//
// An Error carries a category (Errc, which decides exit codes and HTTP statuses), the errno of
// the failed syscall if there was one, and a message that grows context as it is returned up:
//   return std::move(err).wrap("mount {} on {}", src, dst);
// so that what() reads "create c1: rootfs: mount overlay on /merged: Invalid argument".

#include <cerrno>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <tl/expected.hpp>

namespace berth {

/// Error categories; few on purpose (containerd's errdefs, crun's status).
enum class Errc {
    NotFound,
    AlreadyExists,
    InvalidArgument,
    Conflict,
    PermissionDenied,
    Unavailable,
    Unsupported,
    Internal,
};

/// Short name of a category ("not found", ...), for logs and tests.
const char* errc_name(Errc c) noexcept;

/// Maps an errno to the category a caller most likely wants.
Errc errc_from_errno(int err) noexcept;

/// A failure: category, errno (0 if none) and a context-carrying message.
struct Error {
    Errc code = Errc::Internal;
    int sys_errno = 0;
    std::string msg;

    /// Prepends "<context>: " to the message and returns the error (for `return e.wrap(...)`).
    template <class... A>
    [[nodiscard]] Error wrap(fmt::format_string<A...> f, A&&... args) && {
        msg = fmt::format(f, std::forward<A>(args)...) + (msg.empty() ? "" : ": " + msg);
        return std::move(*this);
    }
    template <class... A>
    [[nodiscard]] Error wrap(fmt::format_string<A...> f, A&&... args) const& {
        Error copy = *this;
        return std::move(copy).wrap(f, std::forward<A>(args)...);
    }

    /// The full message: msg followed by strerror(sys_errno) when there is one.
    [[nodiscard]] std::string what() const;
};

template <class T = void>
using Result = tl::expected<T, Error>;

using Unexpected = tl::unexpected<Error>;

/// An error of category `c` without errno.
template <class... A>
[[nodiscard]] Unexpected make_error(Errc c, fmt::format_string<A...> f, A&&... args) {
    return Unexpected(Error{c, 0, fmt::format(f, std::forward<A>(args)...)});
}

/// An error from a failed syscall: category from the errno, errno kept for what().
template <class... A>
[[nodiscard]] Unexpected sys_error(int err, fmt::format_string<A...> f, A&&... args) {
    return Unexpected(Error{errc_from_errno(err), err, fmt::format(f, std::forward<A>(args)...)});
}

/// Same as sys_error(errno, ...): call right after the failing syscall.
#define BERTH_SYS_ERROR(...) ::berth::sys_error(errno, __VA_ARGS__)

namespace detail {
// BERTH_TRY's value: T for Result<T>, nothing for Result<void> (which has no value()).
template <class T>
T take_value(tl::expected<T, Error>&& r) {
    return std::move(*r);
}
inline void take_value(tl::expected<void, Error>&&) noexcept {}
}  // namespace detail

}  // namespace berth

/// Evaluates a Result expression; on error returns it from the enclosing function, otherwise
/// yields the value (a GNU statement expression, as nsjail's TEMP_FAILURE_RETRY uses).
#define BERTH_TRY(expr)                                                \
    ({                                                                 \
        auto&& berth_try_r_ = (expr);                                  \
        if (!berth_try_r_) [[unlikely]]                                \
            return ::berth::Unexpected(std::move(berth_try_r_).error()); \
        ::berth::detail::take_value(std::move(berth_try_r_));                               \
    })

/// Like BERTH_TRY, but wraps the error with context first.
#define BERTH_TRY_CTX(expr, ...)                                                      \
    ({                                                                                \
        auto&& berth_try_r_ = (expr);                                                 \
        if (!berth_try_r_) [[unlikely]]                                               \
            return ::berth::Unexpected(std::move(berth_try_r_).error().wrap(__VA_ARGS__)); \
        ::berth::detail::take_value(std::move(berth_try_r_));                                              \
    })
