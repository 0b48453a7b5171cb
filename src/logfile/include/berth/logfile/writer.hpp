#pragma once
// Writer: the json-file driver's writing side, used by berth-shim (one small single-threaded
// process per container, so no threads and small buffers: two partial-line buffers of at most
// 16 KiB and one output buffer flushed at 32 KiB).
//
// As moby's copier + jsonfilelog + loggerutils.LogFile:
//   - bytes of each stream are cut into lines at '\n'; a line stays buffered until its newline
//     arrives, except that every 16 KiB of a longer line is written as a partial entry (a line
//     of exactly 16 KiB thus gives a 16 KiB partial entry and then a lone "\n" entry, as moby);
//   - flush_partial() writes what is left without a newline (the end of the container);
//   - before writing an entry, if the file already holds max_size bytes or more, it is rotated:
//     x.log -> x.log.1 -> ... -> x.log.<max_file-1> (the oldest is removed), or with max_file 1
//     simply removed, and a new x.log is started. A file can so pass max_size by one entry.
//   - O_APPEND, one write(2) per call of write() (not per line), no fsync.
// Readers in other processes (berthd) follow the file and its rotations without any locking.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/common/unique_fd.hpp"
#include "berth/logfile/format.hpp"

namespace berth::logfile {

/// How the log file is kept.
struct Options {
    int64_t max_size = 0;   ///< bytes per file before rotating; 0 = unlimited
    int max_file = 1;       ///< files kept, the current one included (>= 1)
    bool compress = false;  ///< gzip rotated files: not supported (parse_options refuses it)
    /// Extra attributes written in each entry's "attrs" (see extra_attributes()).
    std::map<std::string, std::string> attrs;
    mode_t mode = 0640;  ///< as moby's log files
};

/// Parses a container's LogConfig.Config for the json-file driver with moby's rules and error
/// messages (jsonfilelog.ValidateLogOpt and New): keys max-size (go-units FromHumanSize,
/// decimal: "10m" = 10,000,000 bytes, must be > 0), max-file (integer >= 1), compress (Go
/// ParseBool; true needs max-file > 1 and max-size, and is then refused as Unsupported), and
/// labels, labels-regex, env, env-regex, tag, which are accepted here and resolved by
/// extra_attributes(). Any other key: InvalidArgument
/// "unknown log opt '<k>' for json-file log driver". Other errors are InvalidArgument too.
[[nodiscard]] Result<Options> parse_options(const std::map<std::string, std::string>& log_opts);

/// go-units FromHumanSize: "<number>[ ][kmgtp][i][b]" case-insensitive, decimal multiples
/// (k = 1000), the number may have a fraction ("1.5m"); truncated to whole bytes.
/// InvalidArgument "invalid size: '<s>'" otherwise.
[[nodiscard]] Result<int64_t> parse_human_size(std::string_view s);

/// What extra_attributes() needs to know about the container.
struct ContainerInfo {
    std::string id;          ///< full container ID
    std::string name;        ///< without the leading '/'
    std::string image_id;    ///< "sha256:..."
    std::string image_name;  ///< as the user gave it
    std::map<std::string, std::string> labels;
    std::vector<std::string> env;  ///< "K=V"
};

/// moby's logger.Info.ExtraAttributes plus the json-file driver's tag: the container labels
/// named in `labels` (comma-separated) or matching `labels-regex`, the environment variables
/// named in `env` or matching `env-regex` (ECMAScript regex, unanchored search as Go's
/// MatchString), and "tag" when the tag option is set, with the templates {{.ID}} (12
/// characters), {{.FullID}}, {{.Name}}, {{.ImageID}} (12), {{.ImageFullID}} and {{.ImageName}}
/// substituted. InvalidArgument for a bad regex or an unknown template.
[[nodiscard]] Result<std::map<std::string, std::string>> extra_attributes(
    const std::map<std::string, std::string>& log_opts, const ContainerInfo& info);

/// Writes one container's stdout and stderr into a json-file log (see the file comment).
/// Not thread-safe: one owner (the shim's event loop). Move-only.
class Writer {
public:
    /// Opens (creating, mode opts.mode) the log at `path` for appending; its directory must
    /// exist. If a crash left the file ending in the middle of an entry, a "\n" is appended
    /// first so that the next entry starts a line of its own (readers skip the broken line).
    /// InvalidArgument for max_file < 1 or compress; errno's category if the open fails.
    [[nodiscard]] static Result<Writer> open(std::string path, Options opts);

    Writer(Writer&&) noexcept = default;
    Writer& operator=(Writer&&) noexcept = default;
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    /// Closes the file without flushing the partial lines (call close() for that).
    ~Writer() = default;

    /// Adds `bytes` read from the container's `stream` at `time_ns` (unix nanoseconds, the
    /// entries' "time"). Complete lines (and 16 KiB pieces of longer ones) are written now, the
    /// rest is kept for the next call. Empty `bytes` does nothing. Errors: the write(2) or
    /// rotation failure (rename/open), with the path.
    [[nodiscard]] Result<void> write(Stream stream, std::string_view bytes, int64_t time_ns);

    /// Writes the buffered partial lines of both streams as entries without a newline, timed
    /// with the last write() of that stream. For the end of the container (or of a stream).
    [[nodiscard]] Result<void> flush_partial();

    /// flush_partial(), then closes the file. Further writes fail with InvalidArgument.
    [[nodiscard]] Result<void> close();

    /// The log file's path.
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

    /// Bytes in the current file (what the rotation decision looks at).
    [[nodiscard]] int64_t size() const noexcept {
        return size_ + static_cast<int64_t>(out_.size());
    }

private:
    struct Pending {
        std::string data;  // < kMaxLineBytes bytes of a line without its newline yet
        int64_t time_ns = 0;
    };

    Writer(std::string path, Options opts, UniqueFd fd, int64_t size);
    Result<void> emit(std::string_view log, bool newline, Stream stream, int64_t time_ns);
    Result<void> flush_out();
    Result<void> rotate();
    Result<void> take_rotate_error();

    std::string path_;
    Options opts_;
    std::string attrs_json_;
    UniqueFd fd_;
    int64_t size_ = 0;          // bytes written to the current file
    std::string out_;           // encoded entries not yet written
    bool broken_line_ = false;  // the last write failed, maybe in the middle of an entry
    int64_t time_ns_ = 0;       // the time last formatted, and its text: one per read, not per line
    std::string time_str_;
    Pending pending_[2];                 // by Stream
    std::optional<Error> rotate_error_;  // a failed rotation, reported at the end of write()
};

}  // namespace berth::logfile
