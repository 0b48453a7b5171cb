#include "berth/store/metadata_store.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <mutex>

#include "berth/common/fs.hpp"
#include "berth/common/time.hpp"
#include "metadata/sqlite.hpp"

namespace berth::store {
namespace {

using sqlite::Stmt;

// Migration i takes the schema from user_version i to i + 1; the database records the version
// it reached, so a newer Berth upgrades an older file and an older Berth refuses a newer one.
constexpr std::array<const char*, 2> kMigrations = {
    R"sql(
    CREATE TABLE images (
        id            TEXT PRIMARY KEY NOT NULL,
        manifest      TEXT,
        parent        TEXT,
        created       INTEGER NOT NULL DEFAULT 0,
        added         INTEGER NOT NULL DEFAULT 0,
        last_tag_time INTEGER NOT NULL DEFAULT 0,
        size          INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX images_parent ON images(parent);
    CREATE INDEX images_added ON images(added);
    CREATE TABLE image_layers (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        idx      INTEGER NOT NULL,
        chain_id TEXT NOT NULL,
        PRIMARY KEY (image_id, idx)
    );
    CREATE INDEX image_layers_chain_id ON image_layers(chain_id, image_id);
    CREATE TABLE tags (
        ref      TEXT PRIMARY KEY NOT NULL,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
    );
    CREATE INDEX tags_image_id ON tags(image_id);
    CREATE TABLE repo_digests (
        ref      TEXT PRIMARY KEY NOT NULL,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
    );
    CREATE INDEX repo_digests_image_id ON repo_digests(image_id);
    )sql",
    // 2: compressed blobs of layers on registries (pull and push), keyed by diff ID. No foreign
    // key: the record outlives the layer, so a re-pulled or rebuilt layer is known again.
    R"sql(
    CREATE TABLE layer_blobs (
        diff_id    TEXT NOT NULL,
        digest     TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size       INTEGER NOT NULL,
        registry   TEXT NOT NULL,
        repository TEXT NOT NULL,
        added      INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (diff_id, registry, repository, digest)
    );
    )sql",
};

// Docker's wording, returned verbatim (the API passes NotFound messages through unchanged).
Error no_such_image(std::string_view what) {
    return Error{Errc::NotFound, 0, fmt::format("No such image: {}", what)};
}

// Adds context to a failure, except NotFound, which keeps Docker's exact message.
template <class T, class... A>
Result<T> with_ctx(Result<T>&& r, fmt::format_string<A...> f, A&&... args) {
    if (!r && r.error().code != Errc::NotFound)
        return Unexpected(std::move(r).error().wrap(f, std::forward<A>(args)...));
    return std::move(r);
}

// Prepares `sql` and binds `args` to ?1, ?2, ...
template <class... A>
Result<Stmt> query(sqlite3* db, std::string_view sql, const A&... args) {
    auto st = BERTH_TRY(Stmt::prepare(db, sql));
    [[maybe_unused]] int i = 0;
    (st.bind(++i, args), ...);
    return st;
}

// Runs a statement that returns no rows; the number of rows it changed.
template <class... A>
Result<int64_t> run(sqlite3* db, std::string_view sql, const A&... args) {
    auto st = BERTH_TRY(query(db, sql, args...));
    BERTH_TRY(st.run());
    return ::sqlite3_changes64(db);
}

// A digest column read back: a value that does not parse is a corrupt row (Internal).
Result<Digest> parse_col(const std::string& text, std::string_view table, std::string_view row,
                         std::string_view column) {
    auto d = Digest::parse(text);
    if (!d)
        return make_error(Errc::Internal, "corrupt {} row {}: {} \"{}\": {}", table, row, column,
                          text, d.error().msg);
    return d;
}

std::optional<std::string> opt_string(const std::optional<Digest>& d) {
    return d ? std::optional(d->string()) : std::nullopt;
}

Result<void> require_image(sqlite3* db, const Digest& id) {
    auto st = BERTH_TRY(query(db, "SELECT 1 FROM images WHERE id = ?1", id.string()));
    if (!BERTH_TRY(st.step())) return Unexpected(no_such_image(id.string()));
    return {};
}

// Per table: a SELECT of (rowid, row label, digest columns...) and the digest columns' names,
// for check(). The label names the row in problems ("tags row docker.io/library/a:1").
struct TableSpec {
    std::string_view name;
    std::string_view select;
    std::array<std::string_view, 3> digest_cols;
};
constexpr std::array<TableSpec, 5> kTables = {{
    {"images", "SELECT rowid, id, id, manifest, parent FROM images", {"id", "manifest", "parent"}},
    {"image_layers",
     "SELECT rowid, image_id || ' #' || idx, image_id, chain_id FROM image_layers",
     {"image_id", "chain_id", ""}},
    {"tags", "SELECT rowid, ref, image_id FROM tags", {"image_id", "", ""}},
    {"repo_digests", "SELECT rowid, ref, image_id FROM repo_digests", {"image_id", "", ""}},
    {"layer_blobs",
     "SELECT rowid, digest || ' in ' || registry || '/' || repository, diff_id, digest FROM "
     "layer_blobs",
     {"diff_id", "digest", ""}},
}};

// What repair deletes for a bad row of `table`. An image that lost a layer row would report a
// wrong layer list (and wrong layer ref counts), so a bad layer row takes its image with it;
// deleting never leaves a reference to something missing, only unused blobs and layers that
// the image service's check collects.
std::vector<std::string_view> repair_sql(std::string_view table) {
    if (table == "image_layers")
        return {
            "DELETE FROM images WHERE id = (SELECT image_id FROM image_layers WHERE rowid = ?1)",
            "DELETE FROM image_layers WHERE rowid = ?1"};
    if (table == "images") return {"DELETE FROM images WHERE rowid = ?1"};
    if (table == "tags") return {"DELETE FROM tags WHERE rowid = ?1"};
    if (table == "layer_blobs") return {"DELETE FROM layer_blobs WHERE rowid = ?1"};
    return {"DELETE FROM repo_digests WHERE rowid = ?1"};
}

}  // namespace

struct MetadataStore::Impl {
    std::string path;
    sqlite::DbPtr db;
    std::mutex mu;  // one connection: every call holds it for its whole transaction
    MetadataStepHook hook;
    std::atomic<uint64_t> generation{0};  // committed write transactions, see generation()

    void step(std::string_view name) {
        if (hook) hook(name);
    }

    // Runs `fn` (returning Result<T>) in a transaction under the mutex: a write transaction
    // (BEGIN IMMEDIATE, with the crash-test steps) or a read snapshot.
    template <class F>
    auto in_tx(bool write, F&& fn) -> decltype(fn()) {
        std::lock_guard lock(mu);
        auto tx = BERTH_TRY(sqlite::Transaction::begin(db.get(), write));
        if (write) step("begun");
        auto r = fn();
        if (!r) return r;  // tx rolls back
        if (write) step("written");
        BERTH_TRY(tx.commit());
        // After the commit, never before: a reader that sees the new count must also see
        // the rows (it takes `mu`, which this holds until it returns).
        if (write) generation.fetch_add(1, std::memory_order_release);
        if (write) step("committed");
        return r;
    }

    Result<void> init() {
        // journal_mode answers with the mode it ended in; anything but "wal" (e.g. a file
        // system without shared memory) would silently lose the concurrency we promise.
        {
            auto jm = BERTH_TRY(query(db.get(), "PRAGMA journal_mode = WAL"));
            if (!BERTH_TRY(jm.step()) || jm.text(0) != "wal")
                return make_error(Errc::Internal, "set journal_mode=WAL: got \"{}\"", jm.text(0));
        }
        // foreign_keys is per connection and ignored inside a transaction: set it first.
        // cache_size: the default 2 MiB page cache stays resident in an idle daemon that must
        // stay under 10 MiB; the database is small (a few rows per image) and on the page cache.
        BERTH_TRY_CTX(sqlite::exec(db.get(),
                                   "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
                                   "PRAGMA cache_size = -256"),
                      "set pragmas");
        return in_tx(true, [&]() -> Result<void> {
            auto v = BERTH_TRY(query(db.get(), "PRAGMA user_version"));
            BERTH_TRY(v.step());
            int64_t version = v.int64(0);
            v.reset();
            if (version > static_cast<int64_t>(kMigrations.size()))
                return make_error(Errc::Unsupported,
                                  "schema version {} is newer than this Berth supports ({})",
                                  version, kMigrations.size());
            for (auto i = static_cast<size_t>(version); i < kMigrations.size(); ++i) {
                BERTH_TRY_CTX(sqlite::exec(db.get(), kMigrations[i]), "migrate to version {}",
                              i + 1);
                auto set = fmt::format("PRAGMA user_version = {}", i + 1);
                BERTH_TRY_CTX(sqlite::exec(db.get(), set.c_str()), "migrate to version {}", i + 1);
            }
            return {};
        });
    }

    // Images (all, or the one with id `only`) with their layers, tags and repo digests.
    // Child rows whose image is missing are skipped here; check() reports them.
    Result<std::vector<ImageRecord>> load(const std::optional<std::string>& only) {
        sqlite3* d = db.get();
        std::string where = only ? " WHERE id = ?1" : "";
        auto st = BERTH_TRY(Stmt::prepare(d,
                                          "SELECT id, manifest, parent, created, added, "
                                          "last_tag_time, size FROM images" +
                                              where + " ORDER BY added DESC, id"));
        if (only) st.bind(1, *only);
        std::vector<ImageRecord> out;
        std::map<std::string, size_t> index;
        while (BERTH_TRY(st.step())) {
            std::string id = st.text(0);
            ImageRecord rec{
                BERTH_TRY(parse_col(id, "images", id, "id")), {}, {}, {}, 0, 0, 0, 0, {}, {}};
            if (!st.is_null(1))
                rec.manifest = BERTH_TRY(parse_col(st.text(1), "images", id, "manifest"));
            if (!st.is_null(2))
                rec.parent = BERTH_TRY(parse_col(st.text(2), "images", id, "parent"));
            rec.created = st.int64(3);
            rec.added = st.int64(4);
            rec.last_tag_time = st.int64(5);
            rec.size = static_cast<uint64_t>(st.int64(6));
            index.emplace(std::move(id), out.size());
            out.push_back(std::move(rec));
        }
        if (out.empty()) return out;

        where = only ? " WHERE image_id = ?1" : "";
        auto ls = BERTH_TRY(Stmt::prepare(d, "SELECT image_id, chain_id, idx FROM image_layers" +
                                                 where + " ORDER BY image_id, idx"));
        if (only) ls.bind(1, *only);
        while (BERTH_TRY(ls.step())) {
            auto it = index.find(ls.text(0));
            if (it == index.end()) continue;
            auto row = fmt::format("{} #{}", it->first, ls.int64(2));
            out[it->second].chain_ids.push_back(
                BERTH_TRY(parse_col(ls.text(1), "image_layers", row, "chain_id")));
        }
        for (auto table : {"tags", "repo_digests"}) {
            auto rs = BERTH_TRY(Stmt::prepare(
                d, fmt::format("SELECT image_id, ref FROM {}{} ORDER BY ref", table, where)));
            if (only) rs.bind(1, *only);
            while (BERTH_TRY(rs.step())) {
                auto it = index.find(rs.text(0));
                if (it == index.end()) continue;
                auto& rec = out[it->second];
                (std::string_view(table) == "tags" ? rec.tags : rec.repo_digests)
                    .push_back(rs.text(1));
            }
        }
        return out;
    }

    // The image a tag or repo digest (`table`) points at.
    Result<Digest> resolve(std::string_view table, const std::string& ref) {
        return in_tx(false, [&]() -> Result<Digest> {
            auto st = BERTH_TRY(
                query(db.get(), fmt::format("SELECT image_id FROM {} WHERE ref = ?1", table), ref));
            if (!BERTH_TRY(st.step())) return Unexpected(no_such_image(ref));
            return parse_col(st.text(0), table, ref, "image_id");
        });
    }

    // Deletes a tag or repo digest.
    Result<void> remove_ref(std::string_view table, const std::string& ref) {
        return in_tx(true, [&]() -> Result<void> {
            auto sql = fmt::format("DELETE FROM {} WHERE ref = ?1", table);
            if (BERTH_TRY(run(db.get(), sql, ref)) == 0) return Unexpected(no_such_image(ref));
            return {};
        });
    }

    // check(): appends problems and collects the repair statements for each bad row.
    Result<void> scan(MetadataCheckReport& rep,
                      std::vector<std::pair<std::string_view, int64_t>>& doomed) {
        sqlite3* d = db.get();
        auto ic = BERTH_TRY(query(d, "PRAGMA integrity_check"));
        while (BERTH_TRY(ic.step()))
            if (ic.text(0) != "ok") rep.problems.push_back("integrity_check: " + ic.text(0));
        // The row-level checks below would read the damaged pages and fail with SQLITE_CORRUPT.
        if (!rep.problems.empty()) return {};

        auto fk = BERTH_TRY(query(d, "PRAGMA foreign_key_check"));
        while (BERTH_TRY(fk.step())) {
            std::string table = fk.text(0);
            int64_t rowid = fk.int64(1);
            for (auto& t : kTables) {
                if (t.name != table) continue;
                auto row = BERTH_TRY(query(d, fmt::format("{} WHERE rowid = ?1", t.select), rowid));
                if (!BERTH_TRY(row.step())) break;
                rep.problems.push_back(fmt::format("{} row {}: image {} does not exist", t.name,
                                                   row.text(1), row.text(2)));
                for (auto sql : repair_sql(t.name)) doomed.emplace_back(sql, rowid);
            }
        }

        for (auto& t : kTables) {
            auto st = BERTH_TRY(Stmt::prepare(d, t.select));
            while (BERTH_TRY(st.step())) {
                for (size_t i = 0; i < t.digest_cols.size() && !t.digest_cols[i].empty(); ++i) {
                    int col = static_cast<int>(i) + 2;
                    if (st.is_null(col) || Digest::parse(st.text(col))) continue;
                    rep.problems.push_back(fmt::format("{} row {}: {} \"{}\" is not a digest",
                                                       t.name, st.text(1), t.digest_cols[i],
                                                       st.text(col)));
                    for (auto sql : repair_sql(t.name)) doomed.emplace_back(sql, st.int64(0));
                    break;
                }
            }
        }

        // A layer list with a gap lost a row; the image's layers are unknown.
        auto gaps = BERTH_TRY(query(d,
                                    "SELECT i.rowid, i.id FROM images i JOIN image_layers l "
                                    "ON l.image_id = i.id GROUP BY i.id "
                                    "HAVING max(l.idx) + 1 != count(*) OR min(l.idx) != 0"));
        while (BERTH_TRY(gaps.step())) {
            rep.problems.push_back(fmt::format("images row {}: layer list has gaps", gaps.text(1)));
            doomed.emplace_back("DELETE FROM images WHERE rowid = ?1", gaps.int64(0));
        }
        return {};
    }
};

MetadataStore::MetadataStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetadataStore::MetadataStore(MetadataStore&&) noexcept = default;
MetadataStore& MetadataStore::operator=(MetadataStore&&) noexcept = default;
MetadataStore::~MetadataStore() = default;

Result<MetadataStore> MetadataStore::open_root(const std::string& root) {
    BERTH_TRY(mkdir_all(root));
    auto impl = std::make_unique<Impl>();
    impl->path = path_join(root, "berth.db");
    sqlite3* raw = nullptr;
    int rc = ::sqlite3_open_v2(
        impl->path.c_str(), &raw,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
        nullptr);
    impl->db.reset(raw);  // sqlite3_open_v2 returns a handle to close even when it fails
    if (rc != SQLITE_OK)
        return Unexpected(sqlite::error_of(raw, rc).wrap("open metadata database {}", impl->path));
    ::sqlite3_extended_result_codes(raw, 1);
    ::sqlite3_busy_timeout(raw, 5000);
    BERTH_TRY_CTX(impl->init(), "open metadata database {}", impl->path);
    return MetadataStore(std::move(impl));
}

Result<void> MetadataStore::put_image(const ImageRecord& rec) {
    const std::string id = rec.id.string();
    sqlite3* d = impl_->db.get();
    // An upsert, not INSERT OR REPLACE: replacing would delete the row and cascade to its tags.
    auto body = [&]() -> Result<void> {
        BERTH_TRY_CTX(run(d,
                          "INSERT INTO images (id, manifest, parent, created, added, "
                          "last_tag_time, size) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                          "ON CONFLICT (id) DO UPDATE SET manifest = excluded.manifest, "
                          "parent = excluded.parent, created = excluded.created, "
                          "added = excluded.added, last_tag_time = excluded.last_tag_time, "
                          "size = excluded.size",
                          id, opt_string(rec.manifest), opt_string(rec.parent), rec.created,
                          rec.added, rec.last_tag_time, static_cast<int64_t>(rec.size)),
                      "insert image row");
        BERTH_TRY_CTX(run(d, "DELETE FROM image_layers WHERE image_id = ?1", id),
                      "delete old layers");
        auto ins = BERTH_TRY(Stmt::prepare(
            d, "INSERT INTO image_layers (image_id, idx, chain_id) VALUES (?1, ?2, ?3)"));
        for (size_t i = 0; i < rec.chain_ids.size(); ++i) {
            ins.reset();
            ins.bind(1, id).bind(2, static_cast<int64_t>(i)).bind(3, rec.chain_ids[i].string());
            BERTH_TRY_CTX(ins.run(), "insert layer {} {}", i, rec.chain_ids[i].string());
        }
        // Like `docker load`, a tag already on another image moves to this one.
        for (auto& ref : rec.tags)
            BERTH_TRY_CTX(run(d,
                              "INSERT INTO tags (ref, image_id) VALUES (?1, ?2) ON CONFLICT "
                              "(ref) DO UPDATE SET image_id = excluded.image_id",
                              ref, id),
                          "insert tag {}", ref);
        for (auto& ref : rec.repo_digests)
            BERTH_TRY_CTX(run(d,
                              "INSERT INTO repo_digests (ref, image_id) VALUES (?1, ?2) ON "
                              "CONFLICT (ref) DO UPDATE SET image_id = excluded.image_id",
                              ref, id),
                          "insert repo digest {}", ref);
        return {};
    };
    return with_ctx(impl_->in_tx(true, body), "put image {}", id);
}

Result<ImageRecord> MetadataStore::get_image(const Digest& id) const {
    auto r = impl_->in_tx(false, [&] { return impl_->load(id.string()); });
    if (!r) return Unexpected(std::move(r).error().wrap("get image {}", id.string()));
    if (r->empty()) return Unexpected(no_such_image(id.string()));
    return std::move(r->front());
}

Result<std::vector<ImageRecord>> MetadataStore::list_images() const {
    return with_ctx(impl_->in_tx(false, [&] { return impl_->load(std::nullopt); }), "list images");
}

Result<Digest> MetadataStore::resolve_tag(const std::string& ref) const {
    return with_ctx(impl_->resolve("tags", ref), "resolve tag {}", ref);
}

Result<Digest> MetadataStore::resolve_repo_digest(const std::string& ref) const {
    return with_ctx(impl_->resolve("repo_digests", ref), "resolve repo digest {}", ref);
}

Result<std::vector<Digest>> MetadataStore::find_by_id_prefix(const std::string& hex_prefix,
                                                             size_t limit) const {
    bool hex = std::all_of(hex_prefix.begin(), hex_prefix.end(),
                           [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
    if (!hex || hex_prefix.empty() || hex_prefix.size() > Digest::kSha256HexLen)
        return make_error(Errc::InvalidArgument,
                          "find image by ID prefix \"{}\": want 1 to 64 lowercase hex", hex_prefix);
    // A range on the primary key's index: every ID with the prefix sorts between
    // "sha256:<prefix>" and "sha256:<prefix>g", since 'g' follows every hex digit.
    std::string lo = "sha256:" + hex_prefix, hi = lo + "g";
    auto body = [&]() -> Result<std::vector<Digest>> {
        auto st = BERTH_TRY(query(impl_->db.get(),
                                  "SELECT id FROM images WHERE id >= ?1 AND id < ?2 ORDER BY id "
                                  "LIMIT ?3",
                                  lo, hi, static_cast<int64_t>(limit)));
        std::vector<Digest> out;
        while (BERTH_TRY(st.step())) {
            auto id = st.text(0);
            out.push_back(BERTH_TRY(parse_col(id, "images", id, "id")));
        }
        return out;
    };
    return with_ctx(impl_->in_tx(false, body), "find image by ID prefix {}", hex_prefix);
}

Result<std::optional<Digest>> MetadataStore::set_tag(const std::string& ref, const Digest& id,
                                                     int64_t when_ns) {
    sqlite3* d = impl_->db.get();
    auto body = [&]() -> Result<std::optional<Digest>> {
        BERTH_TRY(require_image(d, id));
        std::optional<Digest> prev;
        auto old = BERTH_TRY(query(d, "SELECT image_id FROM tags WHERE ref = ?1", ref));
        if (BERTH_TRY(old.step())) {
            auto p = BERTH_TRY(parse_col(old.text(0), "tags", ref, "image_id"));
            if (p != id) prev = std::move(p);
        }
        old.reset();
        BERTH_TRY_CTX(run(d,
                          "INSERT INTO tags (ref, image_id) VALUES (?1, ?2) ON CONFLICT (ref) "
                          "DO UPDATE SET image_id = excluded.image_id",
                          ref, id.string()),
                      "insert tag");
        BERTH_TRY_CTX(
            run(d, "UPDATE images SET last_tag_time = ?2 WHERE id = ?1", id.string(), when_ns),
            "update last_tag_time");
        return prev;
    };
    return with_ctx(impl_->in_tx(true, body), "tag {} as {}", id.string(), ref);
}

Result<void> MetadataStore::remove_tag(const std::string& ref) {
    return with_ctx(impl_->remove_ref("tags", ref), "remove tag {}", ref);
}

Result<void> MetadataStore::add_repo_digest(const std::string& ref, const Digest& id) {
    sqlite3* d = impl_->db.get();
    auto body = [&]() -> Result<void> {
        BERTH_TRY(require_image(d, id));
        BERTH_TRY(run(d,
                      "INSERT INTO repo_digests (ref, image_id) VALUES (?1, ?2) ON CONFLICT "
                      "(ref) DO UPDATE SET image_id = excluded.image_id",
                      ref, id.string()));
        return {};
    };
    return with_ctx(impl_->in_tx(true, body), "add repo digest {} to {}", ref, id.string());
}

Result<void> MetadataStore::remove_repo_digest(const std::string& ref) {
    return with_ctx(impl_->remove_ref("repo_digests", ref), "remove repo digest {}", ref);
}

Result<void> MetadataStore::remove_image(const Digest& id) {
    auto body = [&]() -> Result<void> {
        // foreign_keys=ON: the layers, tags and repo digests go with it (ON DELETE CASCADE).
        if (BERTH_TRY(run(impl_->db.get(), "DELETE FROM images WHERE id = ?1", id.string())) == 0)
            return Unexpected(no_such_image(id.string()));
        return {};
    };
    return with_ctx(impl_->in_tx(true, body), "remove image {}", id.string());
}

Result<std::vector<std::pair<Digest, uint64_t>>> MetadataStore::layer_usage() const {
    using Usage = std::vector<std::pair<Digest, uint64_t>>;
    auto body = [&]() -> Result<Usage> {
        auto st = BERTH_TRY(query(impl_->db.get(),
                                  "SELECT chain_id, count(DISTINCT image_id) FROM image_layers "
                                  "GROUP BY chain_id ORDER BY chain_id"));
        Usage out;
        while (BERTH_TRY(st.step())) {
            auto c = st.text(0);
            out.emplace_back(BERTH_TRY(parse_col(c, "image_layers", c, "chain_id")),
                             static_cast<uint64_t>(st.int64(1)));
        }
        return out;
    };
    return with_ctx(impl_->in_tx(false, body), "count layer usage");
}

Result<std::vector<Digest>> MetadataStore::children(const Digest& id) const {
    auto body = [&]() -> Result<std::vector<Digest>> {
        auto st = BERTH_TRY(query(
            impl_->db.get(), "SELECT id FROM images WHERE parent = ?1 ORDER BY id", id.string()));
        std::vector<Digest> out;
        while (BERTH_TRY(st.step())) {
            auto c = st.text(0);
            out.push_back(BERTH_TRY(parse_col(c, "images", c, "id")));
        }
        return out;
    };
    return with_ctx(impl_->in_tx(false, body), "list children of {}", id.string());
}

Result<void> MetadataStore::put_layer_blobs(const std::vector<LayerBlobRecord>& recs) {
    if (recs.empty()) return {};
    auto body = [&]() -> Result<void> {
        auto ins = BERTH_TRY(Stmt::prepare(
            impl_->db.get(),
            "INSERT INTO layer_blobs (diff_id, digest, media_type, size, registry, repository, "
            "added) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT "
            "(diff_id, registry, repository, digest) DO UPDATE SET media_type = "
            "excluded.media_type, size = excluded.size, added = excluded.added"));
        // Later records of one call count as newer, even within one clock tick.
        int64_t now = now_unix_nanos();
        for (const auto& r : recs) {
            ins.reset();
            ins.bind(1, r.diff_id.string())
                .bind(2, r.digest.string())
                .bind(3, r.media_type)
                .bind(4, r.size)
                .bind(5, r.registry)
                .bind(6, r.repository)
                .bind(7, now++);
            BERTH_TRY_CTX(ins.run(), "insert layer blob {} of {} in {}/{}", r.digest.string(),
                          r.diff_id.string(), r.registry, r.repository);
        }
        return {};
    };
    return with_ctx(impl_->in_tx(true, body), "record layer blobs");
}

Result<std::vector<LayerBlobRecord>> MetadataStore::layer_blobs(const Digest& diff_id) const {
    auto body = [&]() -> Result<std::vector<LayerBlobRecord>> {
        auto st = BERTH_TRY(query(impl_->db.get(),
                                  "SELECT digest, media_type, size, registry, repository FROM "
                                  "layer_blobs WHERE diff_id = ?1 ORDER BY added DESC, rowid DESC",
                                  diff_id.string()));
        std::vector<LayerBlobRecord> out;
        while (BERTH_TRY(st.step())) {
            LayerBlobRecord r{diff_id, BERTH_TRY(parse_col(st.text(0), "layer_blobs",
                                                           diff_id.string(), "digest")),
                              st.text(1), st.int64(2), st.text(3), st.text(4)};
            out.push_back(std::move(r));
        }
        return out;
    };
    return with_ctx(impl_->in_tx(false, body), "list layer blobs of {}", diff_id.string());
}

Result<MetadataCheckReport> MetadataStore::check(bool repair) {
    // With repair, scan and delete in one write transaction, so nothing changes in between.
    auto body = [&]() -> Result<MetadataCheckReport> {
        MetadataCheckReport rep;
        std::vector<std::pair<std::string_view, int64_t>> doomed;
        BERTH_TRY(impl_->scan(rep, doomed));
        // Deleting rows of a damaged b-tree can make it worse: restore a backup instead.
        bool damaged = !rep.problems.empty() && rep.problems.front().starts_with("integrity_check");
        if (!repair || doomed.empty() || damaged) return rep;
        for (auto& [sql, rowid] : doomed)
            BERTH_TRY_CTX(run(impl_->db.get(), sql, rowid), "repair: {} ({})", sql, rowid);
        rep.repaired = true;
        return rep;
    };
    return with_ctx(impl_->in_tx(repair, body), "check metadata database {}", impl_->path);
}

uint64_t MetadataStore::generation() const noexcept {
    return impl_->generation.load(std::memory_order_acquire);
}

const std::string& MetadataStore::path() const noexcept {
    return impl_->path;
}

void MetadataStore::set_step_hook(MetadataStepHook hook) {
    std::lock_guard lock(impl_->mu);
    impl_->hook = std::move(hook);
}

}  // namespace berth::store
