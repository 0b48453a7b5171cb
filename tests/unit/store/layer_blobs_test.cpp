// MetadataStore's layer_blobs table (compressed blobs of layers on registries, for push) and the
// schema migration that added it to existing databases.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <string>

#include <fmt/format.h>

#include "berth/common/fs.hpp"
#include "berth/store/metadata_store.hpp"

namespace berth::store {
namespace {

Digest dg(uint64_t n) {
    return *Digest::from_sha256_hex(fmt::format("{:064x}", n));
}

class LayerBlobsTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-test-layerblobs-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        root_ = tmpl;
    }
    void TearDown() override { ASSERT_TRUE(remove_all(root_)); }
    std::string root_;
};

TEST_F(LayerBlobsTest, PutListUpsertNewestFirst) {
    auto s = MetadataStore::open_root(root_);
    ASSERT_TRUE(s) << s.error().what();
    EXPECT_TRUE(s->layer_blobs(dg(1))->empty());
    LayerBlobRecord a{dg(1), dg(11),           "application/vnd.docker.image.rootfs.diff.tar.gzip",
                      100,   "127.0.0.1:5000", "library/busybox"};
    LayerBlobRecord b{dg(1), dg(11),           "application/vnd.docker.image.rootfs.diff.tar.gzip",
                      100,   "127.0.0.1:5000", "other"};
    LayerBlobRecord c{dg(2), dg(22),      "application/vnd.oci.image.layer.v1.tar+zstd",
                      7,     "docker.io", "library/alpine"};
    ASSERT_TRUE(s->put_layer_blobs({a, b, c}));
    auto got = s->layer_blobs(dg(1));
    ASSERT_TRUE(got);
    ASSERT_EQ(got->size(), 2u);
    EXPECT_EQ((*got)[0].repository, "other");  // recorded last
    EXPECT_EQ((*got)[1].repository, "library/busybox");
    EXPECT_EQ((*got)[1].digest, dg(11));
    EXPECT_EQ((*got)[1].size, 100);
    EXPECT_EQ((*got)[1].registry, "127.0.0.1:5000");
    EXPECT_EQ((*got)[1].diff_id, dg(1));

    // Recording a again replaces it and makes it the newest.
    a.size = 101;
    ASSERT_TRUE(s->put_layer_blobs({a}));
    got = s->layer_blobs(dg(1));
    ASSERT_EQ(got->size(), 2u);
    EXPECT_EQ((*got)[0].repository, "library/busybox");
    EXPECT_EQ((*got)[0].size, 101);

    auto z = s->layer_blobs(dg(2));
    ASSERT_EQ(z->size(), 1u);
    EXPECT_EQ((*z)[0].media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
    EXPECT_TRUE(s->put_layer_blobs({}));

    // The records survive a reopen, and check() stays clean.
    s = MetadataStore::open_root(root_);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->layer_blobs(dg(1))->size(), 2u);
    auto rep = s->check(false);
    ASSERT_TRUE(rep);
    EXPECT_TRUE(rep->clean());
}

TEST_F(LayerBlobsTest, CheckFindsAndRepairsABadRow) {
    {
        auto s = MetadataStore::open_root(root_);
        ASSERT_TRUE(s);
        ASSERT_TRUE(s->put_layer_blobs(
            {{dg(1), dg(11), "t", 1, "r", "a"}, {dg(1), dg(12), "t", 1, "r", "b"}}));
    }
    {
        sqlite3* db = nullptr;
        ASSERT_EQ(::sqlite3_open((root_ + "/berth.db").c_str(), &db), SQLITE_OK);
        std::string sql = fmt::format(
            "UPDATE layer_blobs SET digest = 'sha256:nothex' WHERE digest = '{}'", dg(12).string());
        ASSERT_EQ(::sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
        ::sqlite3_close(db);
    }
    auto s = MetadataStore::open_root(root_);
    ASSERT_TRUE(s);
    auto rep = s->check(false);
    ASSERT_TRUE(rep) << rep.error().what();
    ASSERT_EQ(rep->problems.size(), 1u);
    EXPECT_EQ(rep->problems[0],
              "layer_blobs row sha256:nothex in r/b: digest \"sha256:nothex\" is not a digest");
    rep = s->check(true);
    ASSERT_TRUE(rep);
    EXPECT_TRUE(rep->repaired);
    EXPECT_TRUE(s->check(false)->clean());
    auto left = s->layer_blobs(dg(1));
    ASSERT_TRUE(left) << left.error().what();
    ASSERT_EQ(left->size(), 1u);
    EXPECT_EQ((*left)[0].digest, dg(11));
}

TEST_F(LayerBlobsTest, VersionOneDatabaseIsMigratedKeepingItsRows) {
    // The schema as the first version of Berth wrote it, with one image.
    {
        sqlite3* db = nullptr;
        ASSERT_EQ(::sqlite3_open((root_ + "/berth.db").c_str(), &db), SQLITE_OK);
        const char* v1 = R"sql(
            PRAGMA journal_mode = WAL;
            CREATE TABLE images (id TEXT PRIMARY KEY NOT NULL, manifest TEXT, parent TEXT,
                created INTEGER NOT NULL DEFAULT 0, added INTEGER NOT NULL DEFAULT 0,
                last_tag_time INTEGER NOT NULL DEFAULT 0, size INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX images_parent ON images(parent);
            CREATE INDEX images_added ON images(added);
            CREATE TABLE image_layers (image_id TEXT NOT NULL REFERENCES images(id) ON DELETE
                CASCADE, idx INTEGER NOT NULL, chain_id TEXT NOT NULL,
                PRIMARY KEY (image_id, idx));
            CREATE INDEX image_layers_chain_id ON image_layers(chain_id, image_id);
            CREATE TABLE tags (ref TEXT PRIMARY KEY NOT NULL, image_id TEXT NOT NULL
                REFERENCES images(id) ON DELETE CASCADE);
            CREATE INDEX tags_image_id ON tags(image_id);
            CREATE TABLE repo_digests (ref TEXT PRIMARY KEY NOT NULL, image_id TEXT NOT NULL
                REFERENCES images(id) ON DELETE CASCADE);
            CREATE INDEX repo_digests_image_id ON repo_digests(image_id);
            PRAGMA user_version = 1;
        )sql";
        char* err = nullptr;
        ASSERT_EQ(::sqlite3_exec(db, v1, nullptr, nullptr, &err), SQLITE_OK) << err;
        std::string ins = fmt::format(
            "INSERT INTO images (id, added) VALUES ('{}', 5); INSERT INTO image_layers VALUES "
            "('{}', 0, '{}'); INSERT INTO tags VALUES ('docker.io/library/a:1', '{}');",
            dg(1).string(), dg(1).string(), dg(101).string(), dg(1).string());
        ASSERT_EQ(::sqlite3_exec(db, ins.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
        ::sqlite3_close(db);
    }
    auto s = MetadataStore::open_root(root_);
    ASSERT_TRUE(s) << s.error().what();
    auto img = s->get_image(dg(1));
    ASSERT_TRUE(img) << img.error().what();
    EXPECT_EQ(img->chain_ids, std::vector<Digest>{dg(101)});
    EXPECT_EQ(*s->resolve_tag("docker.io/library/a:1"), dg(1));
    ASSERT_TRUE(s->put_layer_blobs({{dg(101), dg(7), "t", 1, "r", "p"}}));
    EXPECT_EQ(s->layer_blobs(dg(101))->size(), 1u);
}

}  // namespace
}  // namespace berth::store
