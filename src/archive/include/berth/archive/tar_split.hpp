#pragma once
// Tar split: what it takes to write back, byte for byte, a layer tar that was unpacked, from the
// unpacked tree plus a small side file. moby does the same with vbatts/tar-split: an image config
// lists each layer's diff ID (the sha256 of its uncompressed tar), and `docker save` / `docker
// load` / skopeo verify it, so a re-generated tar (even a "canonical" one) would not do.
//
// The split is a stream of records: runs of raw tar bytes that are not regular-file payload
// (headers, pax and GNU long-name records, padding, end-of-archive blocks, whatever follows
// them) and, for each regular file, a reference {name in the unpacked tree, size, mtime} whose
// payload is read back from the tree. Payloads the tree does not hold as-is stay inline (raw):
// GNU and pax sparse files, whiteouts (.wh.*: devices and xattrs on disk), files a later entry
// of the same tar overwrote or removed, and everything after the point where the tar stops
// looking like what libarchive (which apply_layer uses) would read the same way.
//
// On disk (<layer>/tar-split): the 8 bytes "BTSPLIT1", then one zstd stream of records:
//   'r' <varint n> <n bytes>                          raw bytes
//   'f' <varint n> <n bytes name> <varint size> <zigzag varint mtime seconds>   file payload
//   'e' <varint tar length> <32 bytes sha256 of the tar>                        end
// varint = unsigned LEB128. Measured: a 20,000-file layer gives a split of 130-190 KB (under
// 10 bytes per entry: zstd folds the headers), a 200 MiB one-file layer one of 190 bytes.
// The mtime is only a hint: a file whose size is unchanged but whose mtime moved is named when
// the written tar's digest does not match (hashing each payload at unpack would cost more).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/digest.hpp"
#include "berth/common/result.hpp"

namespace berth::archive {

/// Tunables of TarSplitter.
struct SplitOptions {
    /// Ordinals (SplitSummary::overwritten of a first pass over the same tar) of regular-file
    /// entries whose payload must be stored inline rather than referenced.
    std::vector<uint64_t> inline_entries;
    /// zstd level of the split file.
    int compression_level = 3;
};

/// What TarSplitter::finish() found.
struct SplitSummary {
    uint64_t tar_size = 0;          ///< bytes fed (the uncompressed tar's length)
    Digest digest = digest_of("");  ///< sha256 of the bytes fed (the layer's diff ID)
    uint64_t entries = 0;       ///< tar entries parsed (pax / GNU extension headers not counted)
    uint64_t file_refs = 0;     ///< regular-file payloads referenced by name
    uint64_t inline_bytes = 0;  ///< tar bytes stored in the split itself (before compression)
    /// Parsing stopped before the end-of-archive block (a header libarchive might read
    /// differently, damage): everything from there on is stored raw. Not an error.
    bool raw_tail = false;
    /// Ordinals of referenced files that a later entry of the same tar replaced or removed, so
    /// the tree no longer holds their payload. Non-empty means the split just written is NOT
    /// usable: feed the same tar again to a TarSplitter with these as
    /// SplitOptions::inline_entries (or drop the split).
    std::vector<uint64_t> overwritten;
};

/// Records the split of a tar fed to it in order, in any chunk sizes, writing the split file to
/// `out_fd` (borrowed; written sequentially from its current offset) as it goes, so memory
/// stays small whatever the tar's size. Also hashes the tar (SplitSummary::digest), so a caller
/// that needs the diff ID does not hash twice.
///
/// The tar headers are parsed here by hand, on purpose: libarchive does not expose the raw
/// header bytes (nor where an entry's payload starts in the stream), and the split needs both.
/// The parser follows libarchive's reading of each header (name precedence of pax path, GNU
/// long names and the ustar prefix; sizes in octal, base-256 or pax "size"; which types carry
/// no data), and stores raw whatever it is not sure libarchive would read the same way, so a
/// split is never wrong, at worst large. Names are cleaned as apply_layer() cleans them.
/// Not thread-safe; move-only.
class TarSplitter {
public:
    explicit TarSplitter(int out_fd, SplitOptions opts = {});
    ~TarSplitter();
    TarSplitter(TarSplitter&&) noexcept;
    TarSplitter& operator=(TarSplitter&&) noexcept;
    TarSplitter(const TarSplitter&) = delete;
    TarSplitter& operator=(const TarSplitter&) = delete;

    /// Feeds the next bytes of the tar. Fails only when writing the split fails (the error is
    /// sticky: later calls return it again).
    [[nodiscard]] Result<void> feed(std::string_view data);

    /// Ends the split (end record, zstd frame end) and reports what was recorded. Call once,
    /// after the last feed(). Does not fsync out_fd.
    [[nodiscard]] Result<SplitSummary> finish();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Writes the exact tar a split was recorded from to `out_fd` (borrowed; a file, pipe or
/// socket; never SIGPIPE), reading each referenced payload from `diff_dir` (opened inside it
/// with open_in_root(), the last component never followed), and returns the sha256 of what it
/// wrote (callers compare it with the diff ID they expect).
///
/// Fails with Internal, naming the file, when a referenced file is missing, not a regular file,
/// or not of the recorded size (the tree changed since it was unpacked); with Internal when the
/// written length or digest differs from what the split recorded (then files whose mtime
/// changed since unpack are named as suspects); with InvalidArgument for a garbled split. On
/// failure part of the tar may already have been written to `out_fd`.
[[nodiscard]] Result<Digest> write_from_split(int split_fd, const std::string& diff_dir,
                                              int out_fd);

/// Same, with the split file's bytes in memory.
[[nodiscard]] Result<Digest> write_from_split(std::string_view split, const std::string& diff_dir,
                                              int out_fd);

}  // namespace berth::archive
