#include "berth/store/metadata_store.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include <fmt/ranges.h>

#include "berth/common/fs.hpp"

namespace berth::store {
namespace {

// sha256:<n as 64 hex digits>, or with a chosen hex prefix padded with zeros.
Digest dg(uint64_t n) {
    return *Digest::from_sha256_hex(fmt::format("{:064x}", n));
}
Digest dg_prefix(const std::string& prefix, uint64_t n) {
    auto tail = fmt::format("{:0{}x}", n, 64 - prefix.size());
    return *Digest::from_sha256_hex(prefix + tail);
}

ImageRecord image(const Digest& id, std::vector<Digest> chain, int64_t added) {
    ImageRecord r{id, {}, std::move(chain), {}, 0, 0, 0, 0, {}, {}};
    r.created = added - 1000;
    r.added = added;
    r.size = 4096 * r.chain_ids.size();
    return r;
}

// A second, raw connection for what the store API cannot do: corrupt rows, inspect pragmas.
struct RawDb {
    explicit RawDb(const std::string& path) {
        EXPECT_EQ(::sqlite3_open(path.c_str(), &db), SQLITE_OK);
        ::sqlite3_busy_timeout(db, 5000);
    }
    ~RawDb() { ::sqlite3_close(db); }
    void exec(const std::string& sql) {
        char* err = nullptr;
        int rc = ::sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
        EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
        ::sqlite3_free(err);
    }
    // The first column of every row, joined by '\n'.
    std::string query(const std::string& sql) {
        std::string out;
        auto cb = [](void* o, int n, char** vals, char**) {
            auto* s = static_cast<std::string*>(o);
            if (!s->empty()) *s += "\n";
            for (int i = 0; i < n; ++i)
                *s += std::string(i ? "|" : "") + (vals[i] ? vals[i] : "NULL");
            return 0;
        };
        char* err = nullptr;
        int rc = ::sqlite3_exec(db, sql.c_str(), cb, &out, &err);
        EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
        ::sqlite3_free(err);
        return out;
    }
    sqlite3* db = nullptr;
};

class MetadataStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-test-meta-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        root_ = tmpl;
    }
    void TearDown() override { ASSERT_TRUE(remove_all(root_)); }

    MetadataStore open_store() {
        auto s = MetadataStore::open_root(root_);
        EXPECT_TRUE(s) << s.error().what();
        return std::move(*s);
    }
    std::string db_path() const { return root_ + "/berth.db"; }

    std::string root_;
};

TEST_F(MetadataStoreTest, PutGetListRoundTrip) {
    auto s = open_store();
    EXPECT_EQ(s.path(), db_path());
    auto a = image(dg(1), {dg(101), dg(102)}, 1000);
    a.manifest = dg(201);
    a.last_tag_time = 7;
    a.tags = {"docker.io/library/b:2", "docker.io/library/a:1"};
    a.repo_digests = {"docker.io/library/a@" + dg(201).string()};
    auto b = image(dg(2), {dg(101)}, 2000);
    b.parent = dg(1);
    ASSERT_TRUE(s.put_image(a));
    ASSERT_TRUE(s.put_image(b));

    auto got = s.get_image(dg(1));
    ASSERT_TRUE(got) << got.error().what();
    EXPECT_EQ(got->id, dg(1));
    EXPECT_EQ(got->manifest, dg(201));
    EXPECT_EQ(got->parent, std::nullopt);
    EXPECT_EQ(got->chain_ids, (std::vector<Digest>{dg(101), dg(102)}));
    EXPECT_EQ(got->created, 0);
    EXPECT_EQ(got->added, 1000);
    EXPECT_EQ(got->last_tag_time, 7);
    EXPECT_EQ(got->size, 8192u);
    EXPECT_EQ(got->tags,
              (std::vector<std::string>{"docker.io/library/a:1", "docker.io/library/b:2"}));
    EXPECT_EQ(got->repo_digests, a.repo_digests);

    auto list = s.list_images();
    ASSERT_TRUE(list) << list.error().what();
    ASSERT_EQ(list->size(), 2u);
    EXPECT_EQ((*list)[0].id, dg(2));  // newest first
    EXPECT_EQ((*list)[0].parent, dg(1));
    EXPECT_EQ((*list)[1].chain_ids.size(), 2u);
    EXPECT_EQ((*list)[1].tags.size(), 2u);

    auto missing = s.get_image(dg(3));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::NotFound);
    EXPECT_EQ(missing.error().msg, "No such image: " + dg(3).string());

    auto children = s.children(dg(1));
    ASSERT_TRUE(children);
    EXPECT_EQ(*children, std::vector<Digest>{dg(2)});
    EXPECT_TRUE(s.children(dg(2))->empty());
}

TEST_F(MetadataStoreTest, PutReplacesRowAndLayersButAddsTags) {
    auto s = open_store();
    auto a = image(dg(1), {dg(101), dg(102)}, 1000);
    a.tags = {"r:1"};
    ASSERT_TRUE(s.put_image(a));
    auto b = image(dg(2), {}, 1500);
    b.tags = {"r:moving"};
    ASSERT_TRUE(s.put_image(b));

    auto a2 = image(dg(1), {dg(103)}, 3000);
    a2.tags = {"r:2", "r:moving"};  // a tag already on b moves, as with `docker load`
    ASSERT_TRUE(s.put_image(a2));
    auto got = s.get_image(dg(1));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->chain_ids, std::vector<Digest>{dg(103)});
    EXPECT_EQ(got->added, 3000);
    EXPECT_EQ(got->tags, (std::vector<std::string>{"r:1", "r:2", "r:moving"}));
    EXPECT_TRUE(s.get_image(dg(2))->tags.empty());
}

TEST_F(MetadataStoreTest, TagsMoveBetweenImages) {
    auto s = open_store();
    ASSERT_TRUE(s.put_image(image(dg(1), {}, 1)));
    ASSERT_TRUE(s.put_image(image(dg(2), {}, 2)));
    const std::string ref = "docker.io/library/app:latest";

    auto r = s.set_tag(ref, dg(1), 100);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(*r, std::nullopt);
    EXPECT_EQ(*s.resolve_tag(ref), dg(1));
    EXPECT_EQ(s.get_image(dg(1))->last_tag_time, 100);

    r = s.set_tag(ref, dg(2), 200);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, dg(1));
    EXPECT_EQ(*s.resolve_tag(ref), dg(2));
    EXPECT_EQ(s.get_image(dg(2))->last_tag_time, 200);
    EXPECT_TRUE(s.get_image(dg(1))->tags.empty());
    EXPECT_EQ(s.get_image(dg(2))->tags, std::vector<std::string>{ref});

    r = s.set_tag(ref, dg(2), 300);  // same image: not a move
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, std::nullopt);

    auto missing = s.set_tag("x:1", dg(9), 1);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::NotFound);
    EXPECT_EQ(missing.error().msg, "No such image: " + dg(9).string());

    ASSERT_TRUE(s.remove_tag(ref));
    auto gone = s.resolve_tag(ref);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, Errc::NotFound);
    EXPECT_EQ(gone.error().msg, "No such image: " + ref);
    EXPECT_EQ(s.remove_tag(ref).error().code, Errc::NotFound);
}

TEST_F(MetadataStoreTest, RepoDigests) {
    auto s = open_store();
    ASSERT_TRUE(s.put_image(image(dg(1), {}, 1)));
    const std::string ref = "docker.io/library/a@" + dg(500).string();
    ASSERT_TRUE(s.add_repo_digest(ref, dg(1)));
    ASSERT_TRUE(s.add_repo_digest(ref, dg(1)));  // idempotent
    EXPECT_EQ(*s.resolve_repo_digest(ref), dg(1));
    EXPECT_EQ(s.get_image(dg(1))->repo_digests, std::vector<std::string>{ref});
    EXPECT_EQ(s.add_repo_digest(ref, dg(2)).error().code, Errc::NotFound);
    ASSERT_TRUE(s.remove_repo_digest(ref));
    EXPECT_EQ(s.resolve_repo_digest(ref).error().code, Errc::NotFound);
    EXPECT_EQ(s.remove_repo_digest(ref).error().code, Errc::NotFound);
}

TEST_F(MetadataStoreTest, RemoveImageCascades) {
    auto s = open_store();
    auto a = image(dg(1), {dg(101), dg(102)}, 1);
    a.tags = {"a:1"};
    a.repo_digests = {"a@" + dg(300).string()};
    ASSERT_TRUE(s.put_image(a));
    ASSERT_TRUE(s.put_image(image(dg(2), {dg(101)}, 2)));

    ASSERT_TRUE(s.remove_image(dg(1)));
    EXPECT_EQ(s.get_image(dg(1)).error().code, Errc::NotFound);
    EXPECT_EQ(s.resolve_tag("a:1").error().code, Errc::NotFound);
    EXPECT_EQ(s.resolve_repo_digest(a.repo_digests[0]).error().code, Errc::NotFound);
    auto rm = s.remove_image(dg(1));
    ASSERT_FALSE(rm);
    EXPECT_EQ(rm.error().msg, "No such image: " + dg(1).string());

    RawDb raw(db_path());
    EXPECT_EQ(raw.query("SELECT count(*) FROM image_layers"), "1");
    EXPECT_EQ(
        raw.query("SELECT count(*) FROM tags") + raw.query("SELECT count(*) FROM repo_digests"),
        "00");
}

TEST_F(MetadataStoreTest, FindByIdPrefix) {
    auto s = open_store();
    ASSERT_TRUE(s.put_image(image(dg_prefix("abc", 1), {}, 1)));
    ASSERT_TRUE(s.put_image(image(dg_prefix("abd", 2), {}, 2)));
    ASSERT_TRUE(s.put_image(image(dg_prefix("ab", 3), {}, 3)));
    ASSERT_TRUE(s.put_image(image(dg_prefix("f", 4), {}, 4)));

    auto unique = s.find_by_id_prefix("abc");
    ASSERT_TRUE(unique) << unique.error().what();
    EXPECT_EQ(*unique, std::vector<Digest>{dg_prefix("abc", 1)});
    EXPECT_EQ(s.find_by_id_prefix("ab")->size(), 2u);  // ambiguous, limit 2
    EXPECT_EQ(s.find_by_id_prefix("ab", 10)->size(), 3u);
    EXPECT_EQ(s.find_by_id_prefix("f")->size(), 1u);  // 'f': the upper bound edge
    EXPECT_TRUE(s.find_by_id_prefix("e")->empty());
    EXPECT_TRUE(s.find_by_id_prefix("abe")->empty());
    EXPECT_EQ(*s.find_by_id_prefix(dg_prefix("abd", 2).hex()),
              std::vector<Digest>{dg_prefix("abd", 2)});
    for (const std::string& bad :
         std::vector<std::string>{"", "ABC", "sha256:abc", "xyz", std::string(65, 'a')})
        EXPECT_EQ(s.find_by_id_prefix(bad).error().code, Errc::InvalidArgument) << bad;

    // The lookup is a range search on the primary key's index, not a table scan.
    RawDb raw(db_path());
    auto plan = raw.query(
        "EXPLAIN QUERY PLAN SELECT id FROM images WHERE id >= 'sha256:ab' AND id < 'sha256:abg' "
        "ORDER BY id LIMIT 2");
    EXPECT_NE(plan.find("SEARCH images USING COVERING INDEX"), std::string::npos) << plan;
}

TEST_F(MetadataStoreTest, LayerUsageCounts) {
    auto s = open_store();
    ASSERT_TRUE(s.put_image(image(dg(1), {dg(101), dg(102)}, 1)));
    ASSERT_TRUE(s.put_image(image(dg(2), {dg(101), dg(103)}, 2)));
    ASSERT_TRUE(s.put_image(image(dg(3), {dg(101), dg(103)}, 3)));
    auto u = s.layer_usage();
    ASSERT_TRUE(u) << u.error().what();
    using P = std::pair<Digest, uint64_t>;
    EXPECT_EQ(*u, (std::vector<P>{{dg(101), 3}, {dg(102), 1}, {dg(103), 2}}));
    ASSERT_TRUE(s.remove_image(dg(1)));
    EXPECT_EQ(*s.layer_usage(), (std::vector<P>{{dg(101), 2}, {dg(103), 2}}));
}

TEST_F(MetadataStoreTest, ReopenPersistsAndConfiguresSqlite) {
    {
        auto s = open_store();
        auto a = image(dg(1), {dg(101)}, 5);
        a.tags = {"a:1"};
        ASSERT_TRUE(s.put_image(a));
    }
    auto s = open_store();
    auto got = s.get_image(dg(1));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->chain_ids, std::vector<Digest>{dg(101)});
    EXPECT_EQ(*s.resolve_tag("a:1"), dg(1));

    RawDb raw(db_path());
    EXPECT_EQ(raw.query("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(raw.query("PRAGMA user_version"), "2");
    auto indexes = raw.query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "ORDER BY name");
    EXPECT_EQ(indexes,
              "image_layers_chain_id\nimages_added\nimages_parent\nrepo_digests_image_id\n"
              "tags_image_id");
}

TEST_F(MetadataStoreTest, TwoConnectionsAndThreads) {
    auto s1 = open_store();
    auto s2 = open_store();  // another "process": its own connection to the same file
    ASSERT_TRUE(s1.put_image(image(dg(1), {}, 1)));
    EXPECT_TRUE(s2.get_image(dg(1)));

    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            auto& s = t % 2 ? s1 : s2;
            for (int i = 0; i < 20; ++i) {
                auto id = dg(1000 + t * 100 + i);
                EXPECT_TRUE(s.put_image(image(id, {dg(7)}, i)));
                EXPECT_TRUE(s.set_tag(fmt::format("t{}:latest", t), id, i));
                EXPECT_TRUE(s.list_images());
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(s1.list_images()->size(), 81u);
    EXPECT_EQ(s2.layer_usage()->front().second, 80u);
    EXPECT_TRUE(s1.check(false)->clean());
}

TEST_F(MetadataStoreTest, FailedStatementRollsBackWithContext) {
    auto s = open_store();
    {
        RawDb raw(db_path());
        raw.exec(
            "CREATE TRIGGER boom BEFORE INSERT ON tags BEGIN SELECT RAISE(ABORT, 'boom'); END");
    }
    auto a = image(dg(1), {dg(101)}, 1);
    a.tags = {"a:1"};
    auto r = s.put_image(a);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Internal);
    EXPECT_EQ(r.error().msg, "put image " + dg(1).string() + ": insert tag a:1: boom");
    EXPECT_EQ(s.get_image(dg(1)).error().code, Errc::NotFound);  // the row was rolled back
}

TEST_F(MetadataStoreTest, GenerationCountsCommittedWritesOnly) {
    auto s = open_store();
    uint64_t g0 = s.generation();
    ASSERT_TRUE(s.put_image(image(dg(1), {dg(101)}, 1)));
    EXPECT_EQ(s.generation(), g0 + 1);
    // Reads change nothing.
    EXPECT_TRUE(s.get_image(dg(1)));
    EXPECT_TRUE(s.list_images());
    EXPECT_FALSE(s.resolve_tag("docker.io/library/a:1"));
    EXPECT_EQ(s.generation(), g0 + 1);
    ASSERT_TRUE(s.set_tag("docker.io/library/a:1", dg(1), 2));
    ASSERT_TRUE(s.remove_tag("docker.io/library/a:1"));
    EXPECT_EQ(s.generation(), g0 + 3);
    // A write that fails rolls back: nothing changed, nothing to forget.
    EXPECT_FALSE(s.set_tag("docker.io/library/a:1", dg(9), 3));
    EXPECT_EQ(s.generation(), g0 + 3);
    ASSERT_TRUE(s.remove_image(dg(1)));
    EXPECT_EQ(s.generation(), g0 + 4);
}

TEST_F(MetadataStoreTest, LockedDatabaseIsUnavailable) {
    auto s = open_store();
    RawDb raw(db_path());
    raw.exec("BEGIN IMMEDIATE");
    auto r = s.put_image(image(dg(1), {}, 1));  // waits out the 5 s busy timeout
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Unavailable) << r.error().what();
    EXPECT_TRUE(s.list_images());  // readers are not blocked by a writer (WAL)
    raw.exec("ROLLBACK");
    EXPECT_TRUE(s.put_image(image(dg(1), {}, 1)));
}

TEST_F(MetadataStoreTest, CorruptOrNewerFileRefused) {
    ASSERT_TRUE(atomic_write_file(db_path(), std::string(4096, 'x')));
    auto r = MetadataStore::open_root(root_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Internal);
    EXPECT_NE(r.error().msg.find("not a database"), std::string::npos) << r.error().msg;

    ASSERT_TRUE(remove_all(db_path()));
    { auto s = open_store(); }
    { RawDb(db_path()).exec("PRAGMA user_version = 99"); }
    r = MetadataStore::open_root(root_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Unsupported) << r.error().what();
}

// A process SIGKILLed inside a put_image transaction: the reopened store has the state before
// (or, once COMMIT returned, after) it, and check() is clean.
TEST_F(MetadataStoreTest, CrashMidTransactionKeepsOldState) {
    {
        auto s = open_store();
        auto a = image(dg(1), {dg(101)}, 1);
        a.tags = {"app:latest"};
        ASSERT_TRUE(s.put_image(a));
    }
    for (std::string kill_at : {"begun", "written", "committed"}) {
        SCOPED_TRACE(kill_at);
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            // The child opens its own connection: SQLite handles must not cross fork().
            auto s = MetadataStore::open_root(root_);
            if (!s) ::_exit(2);
            s->set_step_hook([&](std::string_view step) {
                if (step == kill_at) ::raise(SIGKILL);
            });
            auto b = image(dg(2), {dg(101), dg(102)}, 2);
            b.tags = {"app:latest"};  // moves the tag away from a
            (void)s->put_image(b);
            ::_exit(3);
        }
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;

        auto s = open_store();
        bool committed = kill_at == "committed";
        EXPECT_EQ(s.get_image(dg(2)).has_value(), committed);
        EXPECT_EQ(*s.resolve_tag("app:latest"), committed ? dg(2) : dg(1));
        EXPECT_EQ(s.layer_usage()->size(), committed ? 2u : 1u);
        auto rep = s.check(false);
        ASSERT_TRUE(rep) << rep.error().what();
        EXPECT_TRUE(rep->clean()) << fmt::format("{}", fmt::join(rep->problems, "; "));
    }
}

TEST_F(MetadataStoreTest, CheckFindsAndRepairsCorruptRows) {
    auto s = open_store();
    auto a = image(dg(1), {dg(101), dg(102)}, 1);
    a.tags = {"a:1"};
    ASSERT_TRUE(s.put_image(a));
    ASSERT_TRUE(s.put_image(image(dg(2), {dg(101)}, 2)));
    ASSERT_TRUE(s.put_image(image(dg(3), {dg(103)}, 3)));
    ASSERT_TRUE(s.check(true)->clean());
    {
        // A raw connection has foreign keys off, as an old or buggy writer might.
        RawDb raw(db_path());
        raw.exec("UPDATE image_layers SET chain_id = 'garbage' WHERE image_id = '" +
                 dg(1).string() + "' AND idx = 1");
        raw.exec("INSERT INTO tags (ref, image_id) VALUES ('ghost:1', '" + dg(9).string() + "')");
        raw.exec("DELETE FROM image_layers WHERE image_id = '" + dg(3).string() + "'");
        raw.exec("INSERT INTO image_layers (image_id, idx, chain_id) VALUES ('" + dg(3).string() +
                 "', 1, '" + dg(103).string() + "')");
    }
    auto bad = s.get_image(dg(1));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::Internal);
    EXPECT_NE(bad.error().msg.find("corrupt image_layers row " + dg(1).string() + " #1"),
              std::string::npos)
        << bad.error().msg;

    auto rep = s.check(false);
    ASSERT_TRUE(rep) << rep.error().what();
    EXPECT_FALSE(rep->repaired);
    ASSERT_EQ(rep->problems.size(), 3u) << fmt::format("{}", fmt::join(rep->problems, "; "));
    EXPECT_EQ(rep->problems[0], "tags row ghost:1: image " + dg(9).string() + " does not exist");
    EXPECT_EQ(rep->problems[1],
              "image_layers row " + dg(1).string() + " #1: chain_id \"garbage\" is not a digest");
    EXPECT_EQ(rep->problems[2], "images row " + dg(3).string() + ": layer list has gaps");

    rep = s.check(true);
    ASSERT_TRUE(rep) << rep.error().what();
    EXPECT_TRUE(rep->repaired);
    EXPECT_EQ(rep->problems.size(), 3u);
    rep = s.check(false);
    ASSERT_TRUE(rep);
    EXPECT_TRUE(rep->clean()) << fmt::format("{}", fmt::join(rep->problems, "; "));

    // The broken images went whole (with their tags); the healthy one stayed.
    EXPECT_EQ(s.get_image(dg(1)).error().code, Errc::NotFound);
    EXPECT_EQ(s.get_image(dg(3)).error().code, Errc::NotFound);
    EXPECT_EQ(s.resolve_tag("a:1").error().code, Errc::NotFound);
    EXPECT_EQ(s.resolve_tag("ghost:1").error().code, Errc::NotFound);
    EXPECT_EQ(s.get_image(dg(2))->chain_ids, std::vector<Digest>{dg(101)});
    EXPECT_EQ(s.list_images()->size(), 1u);
}

// A damaged b-tree (here: an index that no longer matches its table) is reported and left
// alone: deleting rows from it could lose more, so repair is for a restored backup.
TEST_F(MetadataStoreTest, CheckReportsIntegrityFailureWithoutRepair) {
    {
        auto s = open_store();
        auto a = image(dg(1), {dg(101)}, 1);
        a.tags = {"a:1"};
        ASSERT_TRUE(s.put_image(a));
        RawDb raw(db_path());
        raw.exec(
            "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = 'CREATE INDEX "
            "tags_image_id ON tags(ref)' WHERE name = 'tags_image_id'; PRAGMA writable_schema = "
            "OFF");
    }
    auto s = open_store();
    auto rep = s.check(true);
    ASSERT_TRUE(rep) << rep.error().what();
    ASSERT_FALSE(rep->clean());
    EXPECT_EQ(rep->problems[0], "integrity_check: row 1 missing from index tags_image_id");
    EXPECT_FALSE(rep->repaired);
    EXPECT_TRUE(s.get_image(dg(1)));
}

}  // namespace
}  // namespace berth::store
