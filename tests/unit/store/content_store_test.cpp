#include "berth/store/content_store.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "berth/common/fs.hpp"

namespace berth::store {
namespace {

class ContentStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-test-content-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        root_ = tmpl;
    }
    void TearDown() override { ASSERT_TRUE(remove_all(root_)); }

    ContentStore open_store(std::chrono::seconds stale = std::chrono::hours(24)) {
        auto s = ContentStore::open_root(root_, ContentStoreOptions{stale});
        EXPECT_TRUE(s) << s.error().what();
        return std::move(*s);
    }
    size_t ingest_count() {
        auto n = 0u;
        for (auto& e : std::filesystem::directory_iterator(root_ + "/ingest")) (void)e, ++n;
        return n;
    }

    std::string root_;
};

TEST_F(ContentStoreTest, WriteCommitOpenVerify) {
    auto s = open_store();
    auto w = s.writer();
    ASSERT_TRUE(w) << w.error().what();
    ASSERT_TRUE(w->write("hello "));
    ASSERT_TRUE(w->write("world"));
    EXPECT_EQ(w->offset(), 11u);
    std::string ingest = w->ingest_path();
    EXPECT_TRUE(path_exists(ingest));
    Digest d = digest_of("hello world");
    auto info = w->commit(d, 11);
    ASSERT_TRUE(info) << info.error().what();
    EXPECT_EQ(info->digest, d);
    EXPECT_EQ(info->size, 11u);
    EXPECT_FALSE(path_exists(ingest));

    EXPECT_EQ(s.blob_path(d), root_ + "/content/sha256/" + d.hex());
    struct stat st {};
    ASSERT_EQ(::stat(s.blob_path(d).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0444u);

    auto fd = s.open(d);
    ASSERT_TRUE(fd) << fd.error().what();
    auto data = s.read(d);
    ASSERT_TRUE(data);
    EXPECT_EQ(*data, "hello world");
    EXPECT_TRUE(s.verify(d));
    auto i2 = s.info(d);
    ASSERT_TRUE(i2);
    EXPECT_EQ(i2->size, 11u);
    EXPECT_TRUE(s.exists(d));
}

TEST_F(ContentStoreTest, DigestMismatchRejectedAndIngestRemoved) {
    auto s = open_store();
    auto w = s.writer();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write("abc"));
    std::string ingest = w->ingest_path();
    Digest wrong = digest_of("abd");
    auto r = w->commit(wrong);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_EQ(r.error().msg,
              "commit: expected " + wrong.string() + ", got " + digest_of("abc").string());
    EXPECT_FALSE(path_exists(ingest));
    EXPECT_FALSE(s.exists(wrong));
    EXPECT_FALSE(s.exists(digest_of("abc")));
    // The writer is spent.
    EXPECT_FALSE(w->write("x"));
}

TEST_F(ContentStoreTest, SizeMismatchRejected) {
    auto s = open_store();
    auto r = s.put("abc", digest_of("abc"));
    ASSERT_TRUE(r);
    auto w = s.writer();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write("abcd"));
    auto c = w->commit(digest_of("abcd"), 3);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, Errc::InvalidArgument);
    EXPECT_NE(c.error().msg.find("expected size 3, got 4"), std::string::npos);
    EXPECT_EQ(ingest_count(), 0u);
}

TEST_F(ContentStoreTest, CommitExistingIsSuccess) {
    auto s = open_store();
    ASSERT_TRUE(s.put("same"));
    auto w = s.writer();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write("same"));
    auto r = w->commit(digest_of("same"));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->size, 4u);
    EXPECT_EQ(ingest_count(), 0u);
}

TEST_F(ContentStoreTest, AbortAndDestructorRemoveIngest) {
    auto s = open_store();
    {
        auto w = s.writer();
        ASSERT_TRUE(w);
        ASSERT_TRUE(w->write("partial"));
        EXPECT_EQ(ingest_count(), 1u);
        w->abort();
        EXPECT_EQ(ingest_count(), 0u);
        w->abort();  // idempotent
    }
    {
        auto w = s.writer();
        ASSERT_TRUE(w);
        ASSERT_TRUE(w->write("partial"));
    }
    EXPECT_EQ(ingest_count(), 0u);
}

TEST_F(ContentStoreTest, NotFound) {
    auto s = open_store();
    Digest d = digest_of("missing");
    for (auto code : {s.open(d).error().code, s.info(d).error().code, s.verify(d).error().code,
                      s.remove(d).error().code, s.read(d).error().code})
        EXPECT_EQ(code, Errc::NotFound);
    EXPECT_NE(s.open(d).error().msg.find(d.string()), std::string::npos);
}

TEST_F(ContentStoreTest, ListAndRemove) {
    auto s = open_store();
    ASSERT_TRUE(s.put("one"));
    ASSERT_TRUE(s.put("two"));
    ASSERT_TRUE(s.put("three"));
    auto l = s.list();
    ASSERT_TRUE(l);
    ASSERT_EQ(l->size(), 3u);
    EXPECT_TRUE(
        std::is_sorted(l->begin(), l->end(), [](auto& a, auto& b) { return a.digest < b.digest; }));
    ASSERT_TRUE(s.remove(digest_of("two")));
    l = s.list();
    ASSERT_TRUE(l);
    EXPECT_EQ(l->size(), 2u);
    EXPECT_FALSE(s.exists(digest_of("two")));
}

TEST_F(ContentStoreTest, Sha512BlobsLiveBesideSha256Ones) {
    auto s = open_store(std::chrono::seconds(0));
    Hasher h("sha512");
    h.update("blob");
    Digest d512 = h.finish();
    auto w = s.writer("sha512");
    ASSERT_TRUE(w) << w.error().what();
    ASSERT_TRUE(w->write("blob"));
    auto info = w->commit(d512, 4);
    ASSERT_TRUE(info) << info.error().what();
    EXPECT_EQ(s.blob_path(d512), root_ + "/content/sha512/" + d512.hex());
    EXPECT_EQ(*s.read(d512), "blob");
    EXPECT_TRUE(s.verify(d512));
    ASSERT_TRUE(s.put("blob"));  // the same bytes under sha256 are another blob
    auto l = s.list();
    ASSERT_TRUE(l);
    ASSERT_EQ(l->size(), 2u);
    EXPECT_EQ((*l)[1].digest, d512);
    // put() with a sha512 digest hashes with sha512; a sha256 writer cannot commit one.
    Hasher h2("sha512");
    h2.update("other");
    EXPECT_TRUE(s.put("other", h2.finish()));
    auto w2 = s.writer();
    ASSERT_TRUE(w2 && w2->write("blob"));
    auto bad = w2->commit(d512);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::InvalidArgument);
    EXPECT_FALSE(s.writer("md5"));
    // check() verifies and repairs the sha512 directory too.
    ASSERT_EQ(::chmod(s.blob_path(d512).c_str(), 0644), 0);
    ASSERT_TRUE(write_file(s.blob_path(d512), "BAD"));
    ASSERT_TRUE(atomic_write_file(root_ + "/content/sha512/stray", "x"));
    auto rep = s.check(true);
    ASSERT_TRUE(rep) << rep.error().what();
    EXPECT_EQ(rep->corrupt, std::vector<Digest>{d512});
    EXPECT_EQ(rep->stray, std::vector<std::string>{"sha512/stray"});
    EXPECT_FALSE(s.exists(d512));
}

TEST_F(ContentStoreTest, HeldBlobsAreNotRemoved) {
    auto s = open_store();
    auto a = s.put("shared");
    ASSERT_TRUE(a);
    Digest d = a->digest;
    EXPECT_FALSE(s.held(d));
    ASSERT_TRUE(s.hold(d, "registry"));
    ASSERT_TRUE(s.hold(d, "registry"));  // idempotent
    EXPECT_TRUE(s.held(d));
    auto rm = s.remove(d);
    ASSERT_FALSE(rm);
    EXPECT_EQ(rm.error().code, Errc::Conflict);
    EXPECT_NE(rm.error().msg.find("held by registry"), std::string::npos) << rm.error().msg;
    EXPECT_TRUE(s.exists(d));
    EXPECT_FALSE(s.hold(d, "../x"));
    ASSERT_TRUE(s.release(d, "registry"));
    ASSERT_TRUE(s.release(d, "registry"));  // idempotent
    EXPECT_FALSE(s.held(d));
    EXPECT_TRUE(s.remove(d));
    // A hold may come before the blob (a registry links it, then commits it).
    Digest later = digest_of("later");
    ASSERT_TRUE(s.hold(later, "registry"));
    EXPECT_TRUE(s.held(later));
    auto check = s.check(false);
    ASSERT_TRUE(check);
    EXPECT_TRUE(check->clean());  // holds are not strays of content/
}

TEST_F(ContentStoreTest, CheckFindsAndRepairsCorruption) {
    auto s = open_store(std::chrono::seconds(0));
    auto good = s.put("good");
    auto bad = s.put("bad");
    ASSERT_TRUE(good && bad);
    // Corrupt a blob behind the store's back, add a stray file and an abandoned ingest.
    std::string p = s.blob_path(bad->digest);
    ASSERT_EQ(::chmod(p.c_str(), 0644), 0);
    ASSERT_TRUE(write_file(p, "BAD"));
    ASSERT_TRUE(atomic_write_file(root_ + "/content/sha256/not-a-digest", "x"));
    ASSERT_TRUE(atomic_write_file(root_ + "/ingest/abandoned", "x"));

    auto v = s.verify(bad->digest);
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().code, Errc::InvalidArgument);

    auto rep = s.check(false);
    ASSERT_TRUE(rep) << rep.error().what();
    ASSERT_EQ(rep->corrupt.size(), 1u);
    EXPECT_EQ(rep->corrupt[0], bad->digest);
    EXPECT_EQ(rep->stray, std::vector<std::string>{"not-a-digest"});
    EXPECT_EQ(rep->stale_ingests, std::vector<std::string>{"abandoned"});
    EXPECT_TRUE(s.exists(bad->digest));  // not repaired

    rep = s.check(true);
    ASSERT_TRUE(rep);
    EXPECT_FALSE(s.exists(bad->digest));
    EXPECT_TRUE(s.exists(good->digest));
    EXPECT_EQ(ingest_count(), 0u);
    rep = s.check(false);
    ASSERT_TRUE(rep);
    EXPECT_TRUE(rep->clean());
}

TEST_F(ContentStoreTest, OpenCleansOnlyStaleIngests) {
    {
        auto s = open_store();
        ASSERT_TRUE(atomic_write_file(root_ + "/ingest/old", "x"));
        ASSERT_TRUE(atomic_write_file(root_ + "/ingest/fresh", "x"));
        struct timespec old_times[2] = {{1000, 0}, {1000, 0}};
        ASSERT_EQ(::utimensat(AT_FDCWD, (root_ + "/ingest/old").c_str(), old_times, 0), 0);
    }
    auto s = open_store(std::chrono::hours(1));
    EXPECT_FALSE(path_exists(root_ + "/ingest/old"));
    EXPECT_TRUE(path_exists(root_ + "/ingest/fresh"));
}

// The crash windows: a child writes a blob and is SIGKILLed right after each commit step (and
// once mid-write). Whatever the step, after reopening the store the blob is either absent or
// complete and verified, and no ingest file survives the next open.
TEST_F(ContentStoreTest, CrashWindows) {
    std::string payload;
    for (int i = 0; i < 200000; ++i) payload.push_back(static_cast<char>('a' + i % 26));
    const Digest d = digest_of(payload);
    const std::string steps[] = {"mid-write", "written", "synced", "renamed", "dir-synced", ""};
    for (const auto& kill_at : steps) {
        SCOPED_TRACE("killed at: " + (kill_at.empty() ? std::string("(not killed)") : kill_at));
        ASSERT_TRUE(remove_all(root_));
        ASSERT_TRUE(mkdir_all(root_));
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            // Child: no gtest assertions here, only exit codes.
            auto s = ContentStore::open_root(root_);
            if (!s) ::_exit(10);
            auto w = s->writer();
            if (!w) ::_exit(11);
            w->set_step_hook([&](std::string_view step) {
                if (step == kill_at) ::raise(SIGKILL);
            });
            std::string_view rest = payload;
            bool first = true;
            while (!rest.empty()) {
                if (!w->write(rest.substr(0, 4096))) ::_exit(12);
                rest.remove_prefix(std::min<size_t>(4096, rest.size()));
                if (first && kill_at == "mid-write") ::raise(SIGKILL);
                first = false;
            }
            if (!w->commit(d, payload.size())) ::_exit(13);
            ::_exit(0);
        }
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        if (kill_at.empty()) {
            ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
        } else {
            ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
        }

        auto s = ContentStore::open_root(root_, ContentStoreOptions{std::chrono::seconds(0)});
        ASSERT_TRUE(s) << s.error().what();
        EXPECT_EQ(ingest_count(), 0u);
        bool expect_present = kill_at == "renamed" || kill_at == "dir-synced" || kill_at.empty();
        EXPECT_EQ(s->exists(d), expect_present);
        if (s->exists(d)) {
            auto v = s->verify(d);
            EXPECT_TRUE(v) << v.error().what();
            auto data = s->read(d);
            ASSERT_TRUE(data);
            EXPECT_EQ(*data == payload, true);
        } else {
            EXPECT_EQ(s->info(d).error().code, Errc::NotFound);
        }
        auto rep = s->check(false);
        ASSERT_TRUE(rep) << rep.error().what();
        EXPECT_TRUE(rep->clean());
        auto l = s->list();
        ASSERT_TRUE(l);
        EXPECT_EQ(l->size(), expect_present ? 1u : 0u);
    }
}

}  // namespace
}  // namespace berth::store
