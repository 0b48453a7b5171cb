#include "berth/store/content_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "berth/common/fs.hpp"

namespace berth::store {
namespace {

constexpr std::string_view kIngestDir = "ingest";
// One directory per digest algorithm; sha512 only holds what a registry client pushed so.
constexpr std::string_view kAlgorithms[] = {Digest::kSha256, Digest::kSha512};

std::string blob_dir(const std::string& root, std::string_view algorithm = Digest::kSha256) {
    return path_join(path_join(root, "content"), algorithm);
}
std::string ingest_dir(const std::string& root) {
    return path_join(root, kIngestDir);
}

// True if the file was last modified at least `age` ago; an age of 0 means every file.
// CLOCK_REALTIME, not time(): file times can be fine-grained (multigrain timestamps, Linux
// 6.13+) and a second ahead of the coarse clock time() reads.
bool older_than_age(const struct stat& st, std::chrono::seconds age) {
    if (age.count() <= 0) return true;
    struct timespec now {};
    ::clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec - st.st_mtim.tv_sec >= age.count();
}

Error not_found(const Digest& d) {
    return Error{Errc::NotFound, 0, fmt::format("content {}: not found", d.string())};
}

}  // namespace

// --- ContentWriter -------------------------------------------------------------------------

ContentWriter& ContentWriter::operator=(ContentWriter&& o) noexcept {
    if (this != &o) {
        abort();
        root_ = std::move(o.root_);
        ingest_path_ = std::move(o.ingest_path_);
        fd_ = std::move(o.fd_);
        hasher_ = std::move(o.hasher_);
        hook_ = std::move(o.hook_);
    }
    return *this;
}

ContentWriter::~ContentWriter() {
    abort();
}

void ContentWriter::abort() noexcept {
    if (!fd_) return;
    fd_.reset();
    ::unlink(ingest_path_.c_str());
}

Result<void> ContentWriter::write(std::string_view data) {
    if (!fd_) return make_error(Errc::InvalidArgument, "write {}: writer is closed", ingest_path_);
    hasher_.update(data);
    while (!data.empty()) {
        ssize_t n = ::write(fd_.get(), data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            auto err = BERTH_SYS_ERROR("write {}", ingest_path_);
            abort();  // the hash no longer matches the file: this write can't be resumed
            return err;
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

Result<ContentInfo> ContentWriter::commit(const Digest& expected,
                                          std::optional<uint64_t> expected_size) {
    return commit_impl(expected, expected_size);
}

Result<ContentInfo> ContentWriter::commit_computed() {
    return commit_impl({}, {});
}

Result<ContentInfo> ContentWriter::commit_impl(std::optional<Digest> expected,
                                               std::optional<uint64_t> expected_size) {
    if (!fd_) return make_error(Errc::InvalidArgument, "commit {}: writer is closed", ingest_path_);
    // Whatever happens below, the ingest file goes away unless it was renamed into place.
    struct AbortOnExit {
        ContentWriter* w;
        ~AbortOnExit() { w->abort(); }
    } guard{this};
    step("written");

    uint64_t size = hasher_.size();
    Digest got = hasher_.finish();
    if (expected_size && *expected_size != size)
        return make_error(Errc::InvalidArgument, "commit: expected size {}, got {} (for {})",
                          *expected_size, size, expected ? expected->string() : got.string());
    if (expected && *expected != got)
        return make_error(Errc::InvalidArgument, "commit: expected {}, got {}", expected->string(),
                          got.string());

    std::string target = path_join(blob_dir(root_, got.algorithm()), got.hex());
    struct stat st {};
    if (::lstat(target.c_str(), &st) == 0) {
        // Committed by someone else already (content is immutable, so theirs equals ours).
        return ContentInfo{got, static_cast<uint64_t>(st.st_size), st.st_mtim.tv_sec};
    }

    if (::fchmod(fd_.get(), 0444) < 0) return BERTH_SYS_ERROR("chmod {}", ingest_path_);
    if (::fsync(fd_.get()) < 0) return BERTH_SYS_ERROR("fsync {}", ingest_path_);
    step("synced");
    if (::fstat(fd_.get(), &st) < 0) return BERTH_SYS_ERROR("stat {}", ingest_path_);
    // What was hashed must be what is on disk (containerd checks this too): a short file means
    // someone else truncated or rewrote the ingest.
    if (static_cast<uint64_t>(st.st_size) != size)
        return make_error(Errc::Internal, "commit {}: {} holds {} bytes, {} were written",
                          got.string(), ingest_path_, st.st_size, size);

    if (::rename(ingest_path_.c_str(), target.c_str()) < 0)
        return BERTH_SYS_ERROR("commit {}: rename {} to {}", got.string(), ingest_path_, target);
    fd_.reset();  // renamed: nothing left for the guard to remove
    step("renamed");
    BERTH_TRY_CTX(fsync_dir(blob_dir(root_, got.algorithm())), "commit {}", got.string());
    step("dir-synced");
    return ContentInfo{got, size, st.st_mtim.tv_sec};
}

// --- ContentStore --------------------------------------------------------------------------

Result<ContentStore> ContentStore::open_root(std::string root, ContentStoreOptions opts) {
    if (root.empty()) return make_error(Errc::InvalidArgument, "open content store: empty root");
    BERTH_TRY_CTX(mkdir_all(blob_dir(root), 0700), "open content store {}", root);
    BERTH_TRY_CTX(mkdir_all(ingest_dir(root), 0700), "open content store {}", root);
    ContentStore s(std::move(root), opts);
    BERTH_TRY_CTX(s.cleanup_ingests(opts.stale_ingest_age), "open content store {}", s.root_);
    return s;
}

Result<ContentWriter> ContentStore::writer(std::string_view algorithm) const {
    if (algorithm != Digest::kSha256 && algorithm != Digest::kSha512)
        return make_error(Errc::Unsupported, "content writer: unsupported digest algorithm {}",
                          algorithm);
    if (algorithm != Digest::kSha256)
        BERTH_TRY_CTX(mkdir_all(blob_dir(root_, algorithm), 0700), "content writer");
    std::string dir = ingest_dir(root_);
    for (int attempt = 0; attempt < 8; ++attempt) {
        std::string path = path_join(dir, BERTH_TRY(random_hex(16)));
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) return ContentWriter(root_, std::move(path), UniqueFd(fd), algorithm);
        if (errno != EEXIST) return BERTH_SYS_ERROR("create ingest file {}", path);
    }
    return make_error(Errc::Internal, "create ingest file in {}: no free name", dir);
}

Result<ContentInfo> ContentStore::put(std::string_view data, std::optional<Digest> expected) const {
    ContentWriter w = BERTH_TRY(writer(expected ? expected->algorithm() : Digest::kSha256));
    BERTH_TRY(w.write(data));
    if (expected) return w.commit(*expected, data.size());
    return w.commit_computed();
}

std::string ContentStore::blob_path(const Digest& d) const {
    return path_join(blob_dir(root_, d.algorithm()), d.hex());
}

Result<UniqueFd> ContentStore::open(const Digest& d) const {
    std::string path = blob_path(d);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return Unexpected(not_found(d));
        return BERTH_SYS_ERROR("open content {}", d.string());
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0) return BERTH_SYS_ERROR("stat content {}", d.string());
    if (!S_ISREG(st.st_mode))
        return make_error(Errc::Internal, "content {}: {} is not a regular file", d.string(), path);
    return fd;
}

Result<std::string> ContentStore::read(const Digest& d) const {
    UniqueFd fd = BERTH_TRY(open(d));
    std::string out;
    char buf[64 * 1024];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return BERTH_SYS_ERROR("read content {}", d.string());
        }
        if (n == 0) return out;
        out.append(buf, static_cast<size_t>(n));
    }
}

Result<void> ContentStore::verify(const Digest& d) const {
    UniqueFd fd = BERTH_TRY(open(d));
    Digest got = BERTH_TRY_CTX(digest_fd(fd.get(), nullptr, d.algorithm()), "verify content {}",
                               d.string());
    if (got != d)
        return make_error(Errc::InvalidArgument, "verify content {}: content hashes to {}",
                          d.string(), got.string());
    return {};
}

Result<ContentInfo> ContentStore::info(const Digest& d) const {
    struct stat st {};
    if (::lstat(blob_path(d).c_str(), &st) < 0) {
        if (errno == ENOENT) return Unexpected(not_found(d));
        return BERTH_SYS_ERROR("stat content {}", d.string());
    }
    return ContentInfo{d, static_cast<uint64_t>(st.st_size), st.st_mtim.tv_sec};
}

bool ContentStore::exists(const Digest& d) const noexcept {
    struct stat st {};
    return ::lstat(blob_path(d).c_str(), &st) == 0;
}

namespace {
std::string holds_dir(const std::string& root) {
    return path_join(root, "content-holds");
}
std::string hold_path(const std::string& root, std::string_view holder, const Digest& d) {
    return path_join(path_join(path_join(holds_dir(root), holder), d.algorithm()), d.hex());
}
}  // namespace

Result<void> ContentStore::hold(const Digest& d, std::string_view holder) const {
    if (holder.empty() || holder.find('/') != std::string_view::npos || holder[0] == '.')
        return make_error(Errc::InvalidArgument, "hold content {}: bad holder name \"{}\"",
                          d.string(), holder);
    std::string p = hold_path(root_, holder, d);
    if (path_exists(p)) return {};
    BERTH_TRY_CTX(mkdir_all(dirname_of(p), 0700), "hold content {}", d.string());
    return atomic_write_file(p, "", 0600, Durability::Volatile)
        .map_error([&](Error e) { return std::move(e).wrap("hold content {}", d.string()); });
}

Result<void> ContentStore::release(const Digest& d, std::string_view holder) const {
    if (::unlink(hold_path(root_, holder, d).c_str()) < 0 && errno != ENOENT)
        return BERTH_SYS_ERROR("release content {} held by {}", d.string(), holder);
    return {};
}

std::optional<std::string> ContentStore::holder_of(const Digest& d) const {
    auto holders = list_dir(holds_dir(root_));
    if (!holders) return std::nullopt;
    for (const auto& h : *holders)
        if (path_exists(hold_path(root_, h, d))) return h;
    return std::nullopt;
}

bool ContentStore::held(const Digest& d) const noexcept {
    return holder_of(d).has_value();
}

Result<void> ContentStore::remove(const Digest& d) const {
    if (auto h = holder_of(d))
        return make_error(Errc::Conflict, "content {} is held by {}", d.string(), *h);
    if (::unlink(blob_path(d).c_str()) < 0) {
        if (errno == ENOENT) return Unexpected(not_found(d));
        return BERTH_SYS_ERROR("remove content {}", d.string());
    }
    BERTH_TRY_CTX(fsync_dir(blob_dir(root_, d.algorithm())), "remove content {}", d.string());
    return {};
}

Result<std::vector<ContentInfo>> ContentStore::list() const {
    std::vector<ContentInfo> out;
    for (std::string_view alg : kAlgorithms) {
        std::string dir = blob_dir(root_, alg);
        if (alg != Digest::kSha256 && !path_exists(dir)) continue;
        auto names = BERTH_TRY_CTX(list_dir(dir), "list content");
        for (const auto& n : names) {
            auto d = Digest::from_hex(alg, n);
            if (!d) continue;
            auto i = info(*d);
            if (!i) {
                if (i.error().code == Errc::NotFound) continue;  // removed while listing
                return Unexpected(std::move(i.error()).wrap("list content"));
            }
            out.push_back(std::move(*i));
        }
    }
    return out;
}

Result<std::vector<std::string>> ContentStore::cleanup_ingests(
    std::chrono::seconds older_than) const {
    std::string dir = ingest_dir(root_);
    auto names = BERTH_TRY_CTX(list_dir(dir), "clean up ingests");
    std::vector<std::string> removed;
    for (const auto& n : names) {
        std::string p = path_join(dir, n);
        struct stat st {};
        if (::lstat(p.c_str(), &st) < 0) continue;  // finished meanwhile
        if (!older_than_age(st, older_than)) continue;
        if (::unlink(p.c_str()) < 0 && errno != ENOENT)
            return BERTH_SYS_ERROR("clean up ingests: remove {}", p);
        removed.push_back(n);
    }
    return removed;
}

Result<void> ContentStore::check_blob_dir(const std::string& dir, std::string_view algorithm,
                                          bool repair, CheckReport& rep) const {
    auto names = BERTH_TRY_CTX(list_dir(dir), "check content");
    size_t corrupt_before = rep.corrupt.size(), stray_before = rep.stray.size();
    for (const auto& n : names) {
        std::string p = path_join(dir, n);
        auto d = Digest::from_hex(algorithm, n);
        struct stat st {};
        bool regular = ::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
        if (!d || !regular) {
            rep.stray.push_back(algorithm == Digest::kSha256 ? n : std::string(algorithm) + "/" + n);
            if (repair) BERTH_TRY_CTX(remove_all(p), "check content: remove {}", p);
            continue;
        }
        auto v = verify(*d);
        if (v) continue;
        if (v.error().code == Errc::NotFound) continue;  // removed meanwhile
        if (v.error().code != Errc::InvalidArgument)
            return Unexpected(std::move(v.error()).wrap("check content"));
        rep.corrupt.push_back(*d);
        if (repair && ::unlink(p.c_str()) < 0 && errno != ENOENT)
            return BERTH_SYS_ERROR("check content: remove corrupt blob {}", p);
    }
    if (repair && (rep.corrupt.size() != corrupt_before || rep.stray.size() != stray_before))
        BERTH_TRY_CTX(fsync_dir(dir), "check content");
    return {};
}

Result<CheckReport> ContentStore::check(bool repair) const {
    CheckReport rep;
    rep.repaired = repair;
    for (std::string_view alg : kAlgorithms) {
        std::string dir = blob_dir(root_, alg);
        if (alg != Digest::kSha256 && !path_exists(dir)) continue;
        BERTH_TRY(check_blob_dir(dir, alg, repair, rep));
    }

    std::string idir = ingest_dir(root_);
    auto ingests = BERTH_TRY_CTX(list_dir(idir), "check content");
    for (const auto& n : ingests) {
        struct stat st {};
        std::string p = path_join(idir, n);
        if (::lstat(p.c_str(), &st) < 0) continue;
        if (!older_than_age(st, opts_.stale_ingest_age)) continue;
        rep.stale_ingests.push_back(n);
        if (repair && ::unlink(p.c_str()) < 0 && errno != ENOENT)
            return BERTH_SYS_ERROR("check content: remove stale ingest {}", p);
    }
    return rep;
}

}  // namespace berth::store
