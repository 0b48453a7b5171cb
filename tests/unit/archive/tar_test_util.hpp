#pragma once
// Test helpers for the archive module: crafting tars with libarchive's writer (hostile names
// included), feeding them to apply_layer through a memfd, and describing trees for comparison.

#include <sys/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace berth::archive::test {

/// One entry to put in a crafted tar. `type` is an AE_IF* constant.
struct TarEntry {
    std::string name;
    unsigned type = 0100000;  // AE_IFREG
    std::string data;
    std::string symlink;
    std::string hardlink;
    unsigned perm = 0644;
    long uid = 0;
    long gid = 0;
    long mtime = 1600000000;
    long mtime_nsec = 0;
    dev_t rdev = 0;
    std::vector<std::pair<std::string, std::string>> xattrs;
};

enum class TarFormat { Pax, Gnu, Ustar };
enum class TarFilter { None, Gzip, Zstd };

TarEntry file(std::string name, std::string data = "x");
TarEntry dir(std::string name);
TarEntry symlink(std::string name, std::string target);
TarEntry hardlink(std::string name, std::string target);

/// The tar bytes of `entries`.
std::string make_tar(const std::vector<TarEntry>& entries, TarFormat fmt = TarFormat::Pax,
                     TarFilter filter = TarFilter::None);

/// A memfd holding `bytes`, positioned at 0 (the caller closes it).
int memfd_with(const std::string& bytes);

/// Whole content of an fd from offset 0.
std::string read_fd(int fd);

/// A temporary directory removed (rm -rf) on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string sub(const std::string& rel) const { return path_ + "/" + rel; }

private:
    std::string path_;
};

/// rel path -> "type mode uid:gid size content/target rdev mtime xattrs link-group", for every
/// entry below `root` (not root itself). Skipping the names in `exclude` (first component).
std::map<std::string, std::string> describe_tree(const std::string& root,
                                                 const std::vector<std::string>& exclude = {},
                                                 bool with_dir_mtimes = true,
                                                 bool with_nsec = true);

/// Creates a regular file with content.
void write_text(const std::string& path, const std::string& data, unsigned mode = 0644);

bool is_root();

}  // namespace berth::archive::test
