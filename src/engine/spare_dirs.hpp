#pragma once
// Container directories kept for the next create. A container's directory on the data root holds
// upper/, work/ and merged/ (its overlay) besides its record and log: four directories made at
// create and start, and freed again at removal, on the disk. There an inode costs more than the
// rest of a mkdir: ext4 without a journal scans past every inode freed in the last minute
// before it reuses one (20 to 200 us a directory on a busy file system). So a removed
// container's directory is emptied on the removal thread, with a new upper/ (nothing of the old
// container's files, owner, mode or extended attributes), work/ emptied and merged/ left empty
// and unmounted, and parked as `<parent>/.spare-<hex>`; the next create renames it into place.
// The container's log file (`*-json.log`) is kept too, emptied, for the next container's log:
// the shim would otherwise create it on the path of every start. At most `keep` are parked;
// other directories are removed as before.

#include <mutex>
#include <string>
#include <vector>

namespace berth::engine {

class SpareDirs {
public:
    SpareDirs(std::string parent, size_t keep) : parent_(std::move(parent)), keep_(keep) {}
    SpareDirs(const SpareDirs&) = delete;
    SpareDirs& operator=(const SpareDirs&) = delete;

    /// Renames a parked directory to `dir` (on the same file system, not existing yet): false
    /// when none is parked, and the caller makes `dir` itself. Its empty log file, if it kept
    /// one, becomes `log_path` (a path in `dir`), or goes when that is empty.
    [[nodiscard]] bool take(const std::string& dir, const std::string& log_path = {});

    /// Makes a removed container's directory (`tree`, whose mounts are gone) a parked one, if
    /// fewer than `keep` are. False: the caller removes what is left of it.
    [[nodiscard]] bool park(const std::string& tree);

    /// A directory a previous daemon parked (found at start-up): kept if there is room.
    [[nodiscard]] bool adopt(std::string path);

    [[nodiscard]] static bool is_spare_name(std::string_view name) {
        return name.starts_with(kPrefix);
    }

private:
    static constexpr std::string_view kPrefix = ".spare-";
    static constexpr std::string_view kLogName = "spare.log";
    std::string parent_;
    size_t keep_;
    std::mutex mu_;
    std::vector<std::string> parked_;
};

}  // namespace berth::engine
