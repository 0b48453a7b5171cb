#include "spare_dirs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "berth/common/fs.hpp"

namespace berth::engine {

namespace {

// Removes everything in `dir`, keeping `dir`.
bool empty_dir(const std::string& dir) {
    auto names = list_dir(dir);
    if (!names) return false;
    for (const auto& name : *names)
        if (!remove_all(dir + "/" + name)) return false;
    return true;
}

// A directory of `tree` (not a link, not a mount point); made with `mode` if missing.
bool plain_dir(const std::string& tree, const struct stat& tree_st, const char* name, mode_t mode) {
    std::string p = tree + "/" + name;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return errno == ENOENT && ::mkdir(p.c_str(), mode) == 0;
    return S_ISDIR(st.st_mode) && st.st_dev == tree_st.st_dev;
}

}  // namespace

bool SpareDirs::take(const std::string& dir, const std::string& log_path) {
    for (;;) {
        std::string spare;
        {
            std::lock_guard lk(mu_);
            if (parked_.empty()) return false;
            spare = std::move(parked_.back());
            parked_.pop_back();
        }
        if (::rename(spare.c_str(), dir.c_str()) == 0) {
            std::string log = dir + "/" + std::string(kLogName);
            if (log_path.empty() || ::rename(log.c_str(), log_path.c_str()) != 0)
                (void)::unlink(log.c_str());
            return true;
        }
        if (errno != ENOENT) {  // `dir` is there already: the caller's mkdir says so
            std::lock_guard lk(mu_);
            parked_.push_back(std::move(spare));
            return false;
        }
        // Removed by hand since: the next one.
    }
}

bool SpareDirs::park(const std::string& tree) {
    {
        std::lock_guard lk(mu_);
        if (parked_.size() >= keep_) return false;
    }
    struct stat tree_st {};
    if (::lstat(tree.c_str(), &tree_st) != 0 || !S_ISDIR(tree_st.st_mode)) return false;
    // merged/ must be an empty directory of this file system (its overlay unmounted) and
    // work/ one to empty; a mount still below either: not a spare (remove_tree detaches it).
    if (!plain_dir(tree, tree_st, "merged", 0755) || !plain_dir(tree, tree_st, "work", 0700))
        return false;
    auto merged = list_dir(tree + "/merged");
    if (!merged || !merged->empty()) return false;
    auto names = list_dir(tree);
    if (!names) return false;
    bool log_kept = false;
    for (const auto& name : *names) {
        if (name == "merged") continue;
        std::string p = tree + "/" + name;
        if (!log_kept && name.ends_with("-json.log")) {
            // The log's inode, emptied (its shim has written its last line before the exit).
            struct stat st {};
            if (::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
                ::truncate(p.c_str(), 0) == 0 &&
                ::rename(p.c_str(), (tree + "/" + std::string(kLogName)).c_str()) == 0) {
                log_kept = true;
                continue;
            }
        }
        if (name == "work" ? !empty_dir(p) : !remove_all(p)) return false;
    }
    // A new upper/: the old one's owner, mode and extended attributes were the container's.
    if (::mkdir((tree + "/upper").c_str(), 0755) != 0) return false;
    auto hex = random_hex(6);
    if (!hex) return false;
    std::string spare = parent_ + "/" + std::string(kPrefix) + *hex;
    if (::rename(tree.c_str(), spare.c_str()) != 0) return false;
    std::lock_guard lk(mu_);
    parked_.push_back(std::move(spare));
    return true;
}

bool SpareDirs::adopt(std::string path) {
    std::lock_guard lk(mu_);
    if (parked_.size() >= keep_) return false;
    parked_.push_back(std::move(path));
    return true;
}

}  // namespace berth::engine
