#include "user_files_cache.hpp"

#include <dirent.h>

#include <algorithm>
#include <cstring>

namespace berth::engine {

std::optional<container::UserFiles> UserFilesCache::get(const std::string& image_id) {
    std::lock_guard lk(mu_);
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const auto& e) { return e.first == image_id; });
    if (it == entries_.end()) return std::nullopt;
    std::rotate(it, it + 1, entries_.end());
    return entries_.back().second;
}

void UserFilesCache::put(const std::string& image_id, container::UserFiles files) {
    if (keep_ == 0) return;
    std::lock_guard lk(mu_);
    std::erase_if(entries_, [&](const auto& e) { return e.first == image_id; });
    if (entries_.size() >= keep_) entries_.erase(entries_.begin());
    entries_.emplace_back(image_id, std::move(files));
}

bool UserFilesCache::upper_is_empty(const std::string& upper) {
    DIR* d = ::opendir(upper.c_str());
    if (!d) return false;
    bool empty = true;
    while (struct dirent* de = ::readdir(d)) {
        if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0) {
            empty = false;
            break;
        }
    }
    ::closedir(d);
    return empty;
}

}  // namespace berth::engine
