#pragma once
// A minimal RAII layer over the sqlite3 C API for the metadata store: an owned connection, an
// owned prepared statement with chained binds, and a transaction that rolls back unless
// committed. Private to src/store/metadata.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "berth/common/result.hpp"

namespace berth::store::sqlite {

struct DbCloser {
    void operator()(sqlite3* db) const noexcept { ::sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

/// The category for an SQLite result code: a lock another connection holds is worth retrying
/// (Unavailable); everything else (constraint, corruption, I/O, misuse) is Internal.
inline Errc errc_of(int rc) noexcept {
    int primary = rc & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? Errc::Unavailable : Errc::Internal;
}

/// An Error from the last failed call on `db`; the caller wraps it with what it was doing.
inline Error error_of(sqlite3* db, int rc) {
    return Error{errc_of(rc), 0, db != nullptr ? ::sqlite3_errmsg(db) : ::sqlite3_errstr(rc)};
}

/// One prepared statement, finalized in the destructor. Bind errors (only possible through a
/// programming mistake) are remembered and reported by the next step().
class Stmt {
public:
    /// Prepares `sql` on `db`; Internal with SQLite's message (e.g. a syntax error).
    [[nodiscard]] static Result<Stmt> prepare(sqlite3* db, std::string_view sql) {
        sqlite3_stmt* st = nullptr;
        int rc = ::sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &st, nullptr);
        if (rc != SQLITE_OK) return Unexpected(error_of(db, rc).wrap("prepare \"{}\"", sql));
        return Stmt(db, st);
    }

    Stmt(Stmt&& o) noexcept
        : db_(o.db_), st_(std::exchange(o.st_, nullptr)), bind_rc_(o.bind_rc_) {}
    Stmt& operator=(Stmt&&) = delete;
    ~Stmt() { ::sqlite3_finalize(st_); }

    /// Binds parameter `i` (1-based). Text is copied (SQLITE_TRANSIENT).
    Stmt& bind(int i, std::string_view v) {
        return note(
            ::sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    }
    Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
    Stmt& bind(int i, int64_t v) { return note(::sqlite3_bind_int64(st_, i, v)); }
    Stmt& bind(int i, const std::optional<std::string>& v) {
        return v ? bind(i, std::string_view(*v)) : note(::sqlite3_bind_null(st_, i));
    }

    /// Advances: true if a row is available, false when done. Unavailable on SQLITE_BUSY
    /// after the busy timeout, Internal otherwise, with sqlite3_errmsg.
    [[nodiscard]] Result<bool> step() {
        if (bind_rc_ != SQLITE_OK) return Unexpected(error_of(nullptr, bind_rc_).wrap("bind"));
        int rc = ::sqlite3_step(st_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        return Unexpected(error_of(db_, rc));
    }

    /// Steps to the end (for statements that return no rows, or whose rows are ignored).
    [[nodiscard]] Result<void> run() {
        while (BERTH_TRY(step())) {
        }
        return {};
    }

    /// Rewinds for another execution with new bindings.
    void reset() noexcept {
        ::sqlite3_reset(st_);
        ::sqlite3_clear_bindings(st_);
    }

    [[nodiscard]] bool is_null(int col) const noexcept {
        return ::sqlite3_column_type(st_, col) == SQLITE_NULL;
    }
    [[nodiscard]] std::string text(int col) const {
        auto* p = reinterpret_cast<const char*>(::sqlite3_column_text(st_, col));
        return p != nullptr ? std::string(p, static_cast<size_t>(::sqlite3_column_bytes(st_, col)))
                            : std::string();
    }
    [[nodiscard]] int64_t int64(int col) const noexcept { return ::sqlite3_column_int64(st_, col); }

private:
    Stmt(sqlite3* db, sqlite3_stmt* st) : db_(db), st_(st) {}
    Stmt& note(int rc) {
        if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
        return *this;
    }
    sqlite3* db_;
    sqlite3_stmt* st_;
    int bind_rc_ = SQLITE_OK;
};

/// Runs SQL without results (pragmas, DDL, BEGIN/COMMIT); may contain several statements.
[[nodiscard]] inline Result<void> exec(sqlite3* db, const char* sql) {
    int rc = ::sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return Unexpected(error_of(db, rc));
    return {};
}

/// A transaction: BEGIN IMMEDIATE (writers: take the write lock up front, so a conflict shows
/// as a busy wait at BEGIN instead of a deadlock at the first write) or BEGIN (readers: a
/// consistent snapshot across several SELECTs). Rolled back in the destructor unless committed.
class Transaction {
public:
    [[nodiscard]] static Result<Transaction> begin(sqlite3* db, bool write) {
        BERTH_TRY_CTX(exec(db, write ? "BEGIN IMMEDIATE" : "BEGIN"), "begin transaction");
        return Transaction(db);
    }
    Transaction(Transaction&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction() {
        // Also reached when COMMIT failed (e.g. SQLITE_BUSY): the transaction is still open.
        if (db_ != nullptr) (void)exec(db_, "ROLLBACK");
    }

    [[nodiscard]] Result<void> commit() {
        BERTH_TRY_CTX(exec(db_, "COMMIT"), "commit");
        db_ = nullptr;
        return {};
    }

private:
    explicit Transaction(sqlite3* db) : db_(db) {}
    sqlite3* db_;
};

}  // namespace berth::store::sqlite
