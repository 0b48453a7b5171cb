#pragma once
// Reading a json-file log as berthd's GET /containers/{id}/logs does (moby's
// loggerutils.LogFile.ReadLogs and follow), while the shim of the container may still be
// writing and rotating it. Files are read oldest first: x.log.N ... x.log.1, then x.log.
//
// Bad lines (a crash cut an entry short, a disk filled up, or someone edited the file) are
// skipped. moby's decoder instead stops the whole read with "invalid character ..."; skipping
// is friendlier, and the format is one entry per line, so the next line is a clean restart
// (the Writer also ends a broken last line before appending). A line without its final '\n'
// at the end of the current file is an entry still being written: follow waits for the rest,
// a plain read leaves it out.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/logfile/format.hpp"

namespace berth::logfile {

/// What to read (the logs route's query parameters).
struct ReadOptions {
    bool stdout = true;  ///< deliver stdout entries
    bool stderr = true;  ///< deliver stderr entries
    /// Entries with time < since_ns are skipped (moby: Before(since)).
    std::optional<int64_t> since_ns;
    /// Reading ends at the first entry with time > until_ns (moby: After(until)); following
    /// also ends once the clock passes it.
    std::optional<int64_t> until_ns;
    /// The last `tail` lines over all files (< 0: all). As moby, lines are counted before the
    /// stream and since filters, so fewer entries may come out.
    int64_t tail = -1;
    /// After the existing entries, wait for new ones until should_stop says so.
    bool follow = false;
    /// Not used by the reader: for the caller's formatting (format_timestamp()).
    bool timestamps = false;
    /// Fill Entry::attrs.
    bool details = false;
};

/// One decoded entry.
struct Entry {
    Stream stream = Stream::Stdout;
    std::string line;      ///< the "log" bytes, with the '\n' of a complete line
    int64_t time_ns = 0;   ///< unix nanoseconds
    bool partial = false;  ///< no '\n' at the end: a piece of a longer line or the last output
    /// The entry's "attrs", sorted by key; only with ReadOptions::details.
    std::vector<std::pair<std::string, std::string>> attrs;
};

/// Receives each entry; return false to end the read early (the client went away), or an
/// error, which read_logs returns.
using EntryCallback = std::function<Result<bool>(const Entry&)>;

/// Reads the log at `path` (with its rotated files `path`.1, ...) and gives the entries to
/// `on_entry` in file order. A log that does not exist yet reads as empty (a container that
/// never ran); with follow, the reader waits for it to appear.
///
/// follow: after the existing entries, new ones are read as inotify reports changes in the
/// log's directory. When `path` is replaced by a rotation, the old file is read to its end,
/// then any rotated files the reader missed, then the new file. `should_stop` (may be empty:
/// never) is called at least every 250 ms; once it returns true, what is in the files by then
/// is read and delivered, then read_logs returns, so `docker logs -f` of a container that
/// exits prints all of its output: the caller returns true once the writer is done.
///
/// Errors: opening or reading a file (errno's category, with the path), inotify setup, or the
/// callback's error.
[[nodiscard]] Result<void> read_logs(const std::string& path, const ReadOptions& opts,
                                     const EntryCallback& on_entry,
                                     const std::function<bool()>& should_stop = {});

/// Decodes one line of a json-file log (without its '\n'). Returns nullopt for a line that is
/// not a valid entry (not JSON, no valid "time", a "stream" other than stdout/stderr).
/// `with_attrs` fills Entry::attrs. Lines of the usual shape (only "log", "stream", "time")
/// take a fast path, which passes raw non-UTF-8 bytes through; other lines go through
/// nlohmann::json, which refuses them.
[[nodiscard]] std::optional<Entry> parse_entry(std::string_view line, bool with_attrs);

}  // namespace berth::logfile
