#pragma once
// The users of an image, kept for the next start of a container of it. Building a container's
// spec resolves its user in /etc/passwd and /etc/group of its root filesystem, which had to be
// mounted first: the start waited for its overlay mount (~0.5 ms on an ext4 data root, where
// overlayfs creates and checks its work directory). While a container's upper layer is empty,
// its root filesystem shows exactly its image's layers under the image's init layer, so those
// two files are the image's: read through the first such container's mount, they are kept here
// by image ID (content-addressed: an ID's layers never change, even if the image is removed and
// pulled again) and the next start builds its spec while its
// own mount is still under way. A container whose upper layer holds anything (a `docker cp`
// into it, a previous run) reads its own, as before.

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "berth/container/user.hpp"

namespace berth::engine {

class UserFilesCache {
public:
    explicit UserFilesCache(size_t keep) : keep_(keep) {}
    UserFilesCache(const UserFilesCache&) = delete;
    UserFilesCache& operator=(const UserFilesCache&) = delete;

    /// The files of the image, if kept (the entry becomes the most recently used).
    [[nodiscard]] std::optional<container::UserFiles> get(const std::string& image_id);
    /// Keeps the files of the image; the least recently used entry goes past `keep`.
    void put(const std::string& image_id, container::UserFiles files);

    /// Whether `upper` (a container's overlay upper directory) has no entries: the container's
    /// root filesystem is then its image's. False when it can't be read.
    [[nodiscard]] static bool upper_is_empty(const std::string& upper);

private:
    size_t keep_;
    std::mutex mu_;
    std::vector<std::pair<std::string, container::UserFiles>> entries_;  ///< most recent last
};

}  // namespace berth::engine
