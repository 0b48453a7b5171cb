#pragma once
// Logging for every Berth program: spdlog behind a few macros.
//
//   BLOG_INFO("started container={} pid={}", id, pid);
//   BPLOG_WARN("umount {}", path);   // appends ": <strerror(errno)>"
//
// berth-runtime follows runc's --log/--log-format: with Format::Json every line is
// {"level":"error","msg":"...","time":"..."}, which containerd's runc shim parses to report
// why a runtime command failed.

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace berth::log {

enum class Level { Debug, Info, Warn, Error };
enum class Format { Text, Json };

/// Sends log lines to `path` (appending) or, if empty, to stderr. Returns false if the file
/// could not be opened (logging then stays on stderr).
bool init(std::string_view path, Format format, Level min_level);

/// True if `level` is enabled; lets callers skip building expensive messages.
bool enabled(Level level) noexcept;

/// Writes one line (thread-safe). In JSON mode the message is escaped.
void write(Level level, std::string_view msg) noexcept;

}  // namespace berth::log

#define BERTH_LOG_(lvl, ...)                                                   \
    do {                                                                       \
        if (::berth::log::enabled(lvl)) ::berth::log::write(lvl, fmt::format(__VA_ARGS__)); \
    } while (0)
#define BERTH_PLOG_(lvl, ...)                                                  \
    do {                                                                       \
        int berth_plog_errno_ = errno;                                         \
        if (::berth::log::enabled(lvl))                                        \
            ::berth::log::write(lvl, fmt::format(__VA_ARGS__) + ": " + std::strerror(berth_plog_errno_)); \
    } while (0)

#define BLOG_DEBUG(...) BERTH_LOG_(::berth::log::Level::Debug, __VA_ARGS__)
#define BLOG_INFO(...) BERTH_LOG_(::berth::log::Level::Info, __VA_ARGS__)
#define BLOG_WARN(...) BERTH_LOG_(::berth::log::Level::Warn, __VA_ARGS__)
#define BLOG_ERROR(...) BERTH_LOG_(::berth::log::Level::Error, __VA_ARGS__)
#define BPLOG_DEBUG(...) BERTH_PLOG_(::berth::log::Level::Debug, __VA_ARGS__)
#define BPLOG_INFO(...) BERTH_PLOG_(::berth::log::Level::Info, __VA_ARGS__)
#define BPLOG_WARN(...) BERTH_PLOG_(::berth::log::Level::Warn, __VA_ARGS__)
#define BPLOG_ERROR(...) BERTH_PLOG_(::berth::log::Level::Error, __VA_ARGS__)
