#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/time.hpp"
#include "store/cert_row.hpp"
#include "store/sqlite_store.hpp"

namespace agent {
namespace {

using acme::Errc;
using acme::make_error;

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

// SQLite's "disk I/O error" says neither what nor where: name the database and the system
// error, and a full disk as such (issue 13 finding 10). -wal/-journal files sit beside it.
std::string describe(sqlite3* db, const std::string& fallback) {
  const int code = sqlite3_extended_errcode(db) & 0xff;
  const int sys = sqlite3_system_errno(db);
  const char* file = sqlite3_db_filename(db, "main");
  const std::string path = file != nullptr && *file != '\0' ? file : "the database";
  if (code == SQLITE_FULL || sys == ENOSPC) {
    return "no space left on device writing " + path + " (or its -wal/-journal file)";
  }
  if (sys == EDQUOT) return "disk quota exceeded writing " + path;
  if (code == SQLITE_IOERR || code == SQLITE_READONLY || code == SQLITE_CANTOPEN) {
    return fallback + " (" + path + (sys != 0 ? std::string(": ") + std::strerror(sys) : "") + ")";
  }
  return fallback;
}

acme::Error db_error(sqlite3* db, const std::string& what) {
  return make_error(Errc::kIo, "store: " + what + ": " + describe(db, sqlite3_errmsg(db)));
}

Result<Stmt> prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    Stmt owned(raw);
    return db_error(db, "prepare");
  }
  return Stmt(raw);
}

void bind_value(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void bind_value(sqlite3_stmt* s, int i, int64_t v) { sqlite3_bind_int64(s, i, v); }
void bind_value(sqlite3_stmt* s, int i, int v) { sqlite3_bind_int(s, i, v); }

std::string col_text(sqlite3_stmt* s, int i) {
  const auto* p = sqlite3_column_text(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(s, i)))
           : std::string();
}

// Migrations: entry i takes the schema from version i to i+1. Never edit a shipped entry.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE accounts (
  directory_url TEXT PRIMARY KEY,
  key_path      TEXT NOT NULL,
  account_url   TEXT NOT NULL DEFAULT '',
  contact       TEXT NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL
);
CREATE TABLE certificates (
  name                 TEXT PRIMARY KEY,
  domains              TEXT NOT NULL,
  key_type             TEXT NOT NULL,
  challenge            TEXT NOT NULL,
  http01_listen        TEXT NOT NULL DEFAULT '',
  webroot              TEXT NOT NULL DEFAULT '',
  out_dir              TEXT NOT NULL,
  server               TEXT NOT NULL,
  deploy_hook          TEXT NOT NULL DEFAULT '',
  not_before           INTEGER NOT NULL DEFAULT 0,
  not_after            INTEGER NOT NULL DEFAULT 0,
  serial               TEXT NOT NULL DEFAULT '',
  ari_cert_id          TEXT NOT NULL DEFAULT '',
  ari_chosen_time      INTEGER NOT NULL DEFAULT 0,
  next_check           INTEGER NOT NULL DEFAULT 0,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  next_attempt         INTEGER NOT NULL DEFAULT 0,
  last_error           TEXT NOT NULL DEFAULT '',
  last_success         INTEGER NOT NULL DEFAULT 0,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL
);
CREATE TABLE orders (
  cert_name  TEXT PRIMARY KEY,
  order_url  TEXT NOT NULL,
  state      TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE events (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  cert_name TEXT NOT NULL,
  kind      TEXT NOT NULL,
  at        INTEGER NOT NULL,
  detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_by_cert ON events(cert_name, id);
)sql",
    R"sql(
ALTER TABLE certificates ADD COLUMN challenge_settings TEXT NOT NULL DEFAULT '{}';
)sql",
    R"sql(
ALTER TABLE certificates ADD COLUMN ari_window_start INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN ari_window_end INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN hook_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN ca_bundle TEXT NOT NULL DEFAULT '';
CREATE INDEX certificates_by_next_check ON certificates(next_check);
)sql",
    R"sql(
ALTER TABLE certificates ADD COLUMN renewals_success INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN renewals_failure INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN hooks_success INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN hooks_failure INTEGER NOT NULL DEFAULT 0;
)sql",
    R"sql(
ALTER TABLE certificates ADD COLUMN revoked_serial TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN renew_before_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN preferred_chain TEXT NOT NULL DEFAULT '';
)sql",
    R"sql(
ALTER TABLE certificates ADD COLUMN origin TEXT NOT NULL DEFAULT 'issue';
ALTER TABLE certificates ADD COLUMN managed INTEGER NOT NULL DEFAULT 1;
)sql",
    R"sql(
ALTER TABLE certificates ADD COLUMN profile TEXT NOT NULL DEFAULT '';
)sql",
    R"sql(
ALTER TABLE certificates ADD COLUMN issued_by TEXT NOT NULL DEFAULT '';
UPDATE certificates SET issued_by = server WHERE not_after != 0;
CREATE TABLE ca_health (
  server               TEXT PRIMARY KEY,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  unavailable_until    INTEGER NOT NULL DEFAULT 0,
  last_failure         INTEGER NOT NULL DEFAULT 0,
  last_success         INTEGER NOT NULL DEFAULT 0,
  last_error           TEXT NOT NULL DEFAULT ''
);
)sql",
    R"sql(
ALTER TABLE certificates ADD COLUMN outputs TEXT NOT NULL DEFAULT '{}';
)sql",
    R"sql(
ALTER TABLE certificates ADD COLUMN reuse_key INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN csr_pem TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN chain_depth INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN chain_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN persist_until INTEGER NOT NULL DEFAULT 0;
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

}  // namespace

void SqliteStore::DbCloser::operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }

SqliteStore::SqliteStore(sqlite3* db) : db_(db) {}
SqliteStore::~SqliteStore() = default;

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
  return SqliteStore::open(path);
}

// The database holds account URLs, settings and hook commands: only its owner may read it
// (issue 13 finding 3). Created 0600 before SQLite sees it; SQLite gives its -wal, -shm and
// -journal files the database's mode. An older database of ours loses its group/other bits.
//
// Never through an fd of an existing file: SQLite's locks are POSIX record locks, which a
// process loses on *every* close() of the file, so opening and closing the database here
// while another connection of this process (an agent worker) holds it would drop that
// connection's locks and let writers trample each other (lost writes, a vanished WAL).
// An existing file is checked and tightened by path (lstat + chmod); a missing one is
// created with O_EXCL, which never opens a file someone else has.
Result<void> make_private(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const std::string p = path + suffix;
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0) {
      if (S_ISLNK(st.st_mode)) {
        return make_error(Errc::kIo, "store: " + p + " is a symbolic link: refusing to use it");
      }
      if (st.st_uid == ::geteuid() && (st.st_mode & 077) != 0) {
        (void)::chmod(p.c_str(), st.st_mode & 0700);
      }
      continue;
    }
    if (errno != ENOENT) {
      return make_error(Errc::kIo, "store: cannot stat " + p + ": " + std::strerror(errno));
    }
    if (*suffix != '\0') continue;
    const int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno != EEXIST) {
      return make_error(Errc::kIo, "store: cannot open " + p + ": " + std::strerror(errno));
    }
    if (fd >= 0) ::close(fd);  // nobody had it open: it did not exist
  }
  return acme::ok();
}

Result<std::unique_ptr<Store>> SqliteStore::open(const std::string& path) {
  if (path != ":memory:" && !path.empty()) ACME_CHECK(make_private(path));
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<SqliteStore> store(new SqliteStore(raw));
  if (rc != SQLITE_OK) {
    return make_error(Errc::kIo, "store: cannot open " + path + ": " +
                                     (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, 10'000);
  ACME_CHECK(
      store->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                  "PRAGMA foreign_keys=ON;"));
  ACME_CHECK(store->migrate());
  return std::unique_ptr<Store>(std::move(store));
}

Result<void> SqliteStore::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = describe(db_.get(), err ? err : "unknown error");
    sqlite3_free(err);
    return make_error(Errc::kIo, "store: " + msg);
  }
  return acme::ok();
}

int SqliteStore::schema_version() const {
  sqlite3_stmt* raw = nullptr;
  sqlite3_prepare_v2(db_.get(), "PRAGMA user_version", -1, &raw, nullptr);
  Stmt s(raw);
  if (!s || sqlite3_step(s.get()) != SQLITE_ROW) return -1;
  return sqlite3_column_int(s.get(), 0);
}

Result<void> SqliteStore::migrate() {
  // BEGIN IMMEDIATE: two processes opening a fresh store must not both migrate.
  ACME_CHECK(exec("BEGIN IMMEDIATE"));
  const int version = schema_version();
  if (version > kSchemaVersion) {
    (void)exec("ROLLBACK");
    return make_error(Errc::kIo, "store: schema version " + std::to_string(version) +
                                     " is newer than this acmectl understands (" +
                                     std::to_string(kSchemaVersion) + ")");
  }
  // Up to date: nothing is written (a dry run must leave the database byte-identical, and
  // setting user_version again would bump the file's change counter).
  if (version == kSchemaVersion) return exec("COMMIT");
  for (int v = version; v < kSchemaVersion; ++v) {
    if (auto r = exec(kMigrations[v]); !r) {
      (void)exec("ROLLBACK");
      return r;
    }
  }
  if (auto r = exec("PRAGMA user_version=" + std::to_string(kSchemaVersion)); !r) {
    (void)exec("ROLLBACK");
    return r;
  }
  return exec("COMMIT");
}

Result<std::optional<AccountRecord>> SqliteStore::find_account(const std::string& directory_url) {
  ACME_ASSIGN(auto s, prepare(db_.get(),
                              "SELECT key_path, account_url, contact FROM accounts "
                              "WHERE directory_url = ?"));
  bind_value(s.get(), 1, directory_url);
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return std::optional<AccountRecord>();
  if (rc != SQLITE_ROW) return db_error(db_.get(), "find account");
  return std::optional<AccountRecord>(AccountRecord{directory_url, col_text(s.get(), 0),
                                                    col_text(s.get(), 1), col_text(s.get(), 2)});
}

Result<void> SqliteStore::upsert_account(const AccountRecord& a) {
  ACME_ASSIGN(auto s, prepare(db_.get(),
                              "INSERT INTO accounts(directory_url, key_path, account_url, contact, "
                              "created_at) VALUES(?,?,?,?,?) ON CONFLICT(directory_url) DO UPDATE "
                              "SET key_path=excluded.key_path, account_url=excluded.account_url, "
                              "contact=excluded.contact"));
  bind_value(s.get(), 1, a.directory_url);
  bind_value(s.get(), 2, a.key_path);
  bind_value(s.get(), 3, a.account_url);
  bind_value(s.get(), 4, a.contact);
  bind_value(s.get(), 5, unix_now());
  if (sqlite3_step(s.get()) != SQLITE_DONE) return db_error(db_.get(), "save account");
  return acme::ok();
}

Result<void> SqliteStore::mark_revoked(const std::string& name, const std::string& serial) {
  ACME_ASSIGN(auto s, prepare(db_.get(),
                              "UPDATE certificates SET revoked_serial = ?, next_check = 0, "
                              "updated_at = ? WHERE name = ?"));
  bind_value(s.get(), 1, serial);
  bind_value(s.get(), 2, unix_now());
  bind_value(s.get(), 3, name);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return db_error(db_.get(), "mark revoked");
  return acme::ok();
}

Result<void> SqliteStore::remove_account(const std::string& directory_url) {
  ACME_ASSIGN(auto s, prepare(db_.get(), "DELETE FROM accounts WHERE directory_url = ?"));
  bind_value(s.get(), 1, directory_url);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return db_error(db_.get(), "remove account");
  return acme::ok();
}

namespace {

// The shared row reader's view of a SQLite row (store/cert_row.hpp).
struct SqliteRow {
  sqlite3_stmt* s;
  std::string text(int i) const { return col_text(s, i); }
  int64_t integer(int i) const { return sqlite3_column_int64(s, i); }
};

CertificateRecord read_cert(sqlite3_stmt* s) { return store_detail::read_cert(SqliteRow{s}); }

}  // namespace

Result<std::optional<CertificateRecord>> SqliteStore::find_certificate(const std::string& name) {
  const std::string sql =
      std::string("SELECT ") + store_detail::kCertColumns + " FROM certificates WHERE name = ?";
  ACME_ASSIGN(auto s, prepare(db_.get(), sql.c_str()));
  bind_value(s.get(), 1, name);
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return std::optional<CertificateRecord>();
  if (rc != SQLITE_ROW) return db_error(db_.get(), "find certificate");
  return std::optional<CertificateRecord>(read_cert(s.get()));
}

Result<std::vector<CertificateRecord>> SqliteStore::list_certificates() {
  const std::string sql =
      std::string("SELECT ") + store_detail::kCertColumns + " FROM certificates ORDER BY name";
  ACME_ASSIGN(auto s, prepare(db_.get(), sql.c_str()));
  std::vector<CertificateRecord> out;
  {
    // Sized first: 100,000 records (~1 KB each) are not copied through regrowth.
    ACME_ASSIGN(auto n, prepare(db_.get(), "SELECT count(*) FROM certificates"));
    if (sqlite3_step(n.get()) == SQLITE_ROW) {
      out.reserve(static_cast<size_t>(sqlite3_column_int64(n.get(), 0)));
    }
  }
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) out.push_back(read_cert(s.get()));
  if (rc != SQLITE_DONE) return db_error(db_.get(), "list certificates");
  s.reset();
  // A full scan only filled the page cache (up to 2 MB per connection) with pages no point
  // query needs next: give it back (the idle agent's RSS, docs/BENCHMARKS.md).
  sqlite3_db_release_memory(db_.get());
  return out;
}

Result<void> SqliteStore::upsert_certificate(const CertificateRecord& c) {
  const std::string sql =
      std::string("INSERT INTO certificates(") + store_detail::kCertColumns +
      ", created_at, updated_at) "
      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
      "ON CONFLICT(name) DO UPDATE SET domains=excluded.domains, key_type=excluded.key_type, "
      "challenge=excluded.challenge, http01_listen=excluded.http01_listen, "
      "webroot=excluded.webroot, out_dir=excluded.out_dir, server=excluded.server, "
      "deploy_hook=excluded.deploy_hook, not_before=excluded.not_before, "
      "not_after=excluded.not_after, serial=excluded.serial, ari_cert_id=excluded.ari_cert_id, "
      "ari_chosen_time=excluded.ari_chosen_time, next_check=excluded.next_check, "
      "consecutive_failures=excluded.consecutive_failures, "
      "next_attempt=excluded.next_attempt, last_error=excluded.last_error, "
      "last_success=excluded.last_success, challenge_settings=excluded.challenge_settings, "
      "ari_window_start=excluded.ari_window_start, ari_window_end=excluded.ari_window_end, "
      "hook_pending=excluded.hook_pending, ca_bundle=excluded.ca_bundle, "
      "revoked_serial=excluded.revoked_serial, renew_before_days=excluded.renew_before_days, "
      "preferred_chain=excluded.preferred_chain, origin=excluded.origin, "
      "managed=excluded.managed, profile=excluded.profile, issued_by=excluded.issued_by, "
      "outputs=excluded.outputs, "
      "reuse_key=excluded.reuse_key, csr_pem=excluded.csr_pem, chain_depth=excluded.chain_depth, "
      "chain_bytes=excluded.chain_bytes, persist_until=excluded.persist_until, "
      "updated_at=excluded.updated_at";
  ACME_ASSIGN(auto s, prepare(db_.get(), sql.c_str()));
  int i = 1;
  store_detail::for_each_cert_value(
      c, [&](const char*, const auto& v) { bind_value(s.get(), i++, v); });
  const int64_t now = unix_now();
  bind_value(s.get(), i++, now);
  bind_value(s.get(), i++, now);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return db_error(db_.get(), "save certificate");
  return acme::ok();
}

Result<void> SqliteStore::update_certificate_settings(const CertificateRecord& c, bool due_now) {
  std::string sql = "UPDATE certificates SET ";
  store_detail::for_each_cert_value(
      c, [&](const char* column, const auto&) { sql += std::string(column) + "=?, "; }, true);
  sql += std::string("updated_at=?") + (due_now ? ", next_check=0" : "") + " WHERE name=?";
  ACME_ASSIGN(auto s, prepare(db_.get(), sql.c_str()));
  int i = 1;
  store_detail::for_each_cert_value(
      c, [&](const char*, const auto& v) { bind_value(s.get(), i++, v); }, true);
  bind_value(s.get(), i++, unix_now());
  bind_value(s.get(), i++, c.name);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return db_error(db_.get(), "update certificate");
  return acme::ok();
}

Result<void> SqliteStore::set_managed(const std::string& name, bool managed) {
  ACME_ASSIGN(auto s, prepare(db_.get(),
                              "UPDATE certificates SET managed=?, updated_at=? "
                              "WHERE name=?"));
  bind_value(s.get(), 1, managed ? 1 : 0);
  bind_value(s.get(), 2, unix_now());
  bind_value(s.get(), 3, name);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return db_error(db_.get(), "set managed");
  return acme::ok();
}

Result<void> SqliteStore::delete_certificate(const std::string& name) {
  ACME_ASSIGN(auto s, prepare(db_.get(), "DELETE FROM certificates WHERE name = ?"));
  bind_value(s.get(), 1, name);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return db_error(db_.get(), "delete certificate");
  return acme::ok();
}

Result<std::vector<std::string>> SqliteStore::due_certificates(int64_t now, int limit) {
  ACME_ASSIGN(auto s, prepare(db_.get(),
                              "SELECT name FROM certificates WHERE next_check <= ? AND managed = 1 "
                              "ORDER BY next_check LIMIT ?"));
  bind_value(s.get(), 1, now);
  bind_value(s.get(), 2, limit);
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) out.push_back(col_text(s.get(), 0));
  if (rc != SQLITE_DONE) return db_error(db_.get(), "due certificates");
  return out;
}

Result<int64_t> SqliteStore::next_check_after(int64_t now) {
  ACME_ASSIGN(auto s, prepare(db_.get(),
                              "SELECT MIN(next_check) FROM certificates WHERE next_check > ? "
                              "AND managed = 1"));
  bind_value(s.get(), 1, now);
  if (sqlite3_step(s.get()) != SQLITE_ROW) return db_error(db_.get(), "next check");
  return static_cast<int64_t>(sqlite3_column_int64(s.get(), 0));
}

Result<void> SqliteStore::set_order(const std::string& cert_name, const std::string& order_url,
                                    const std::string& state) {
  ACME_ASSIGN(auto s, prepare(db_.get(),
                              "INSERT INTO orders(cert_name, order_url, state, created_at) "
                              "VALUES(?,?,?,?) ON CONFLICT(cert_name) DO UPDATE SET "
                              "order_url=excluded.order_url, state=excluded.state"));
  bind_value(s.get(), 1, cert_name);
  bind_value(s.get(), 2, order_url);
  bind_value(s.get(), 3, state);
  bind_value(s.get(), 4, unix_now());
  if (sqlite3_step(s.get()) != SQLITE_DONE) return db_error(db_.get(), "save order");
  return acme::ok();
}

Result<std::optional<std::string>> SqliteStore::find_order(const std::string& cert_name) {
  ACME_ASSIGN(auto s, prepare(db_.get(), "SELECT order_url FROM orders WHERE cert_name = ?"));
  bind_value(s.get(), 1, cert_name);
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return db_error(db_.get(), "find order");
  return std::optional<std::string>(col_text(s.get(), 0));
}

Result<void> SqliteStore::clear_order(const std::string& cert_name) {
  ACME_ASSIGN(auto s, prepare(db_.get(), "DELETE FROM orders WHERE cert_name = ?"));
  bind_value(s.get(), 1, cert_name);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return db_error(db_.get(), "clear order");
  return acme::ok();
}

Result<void> SqliteStore::add_event(const Event& e) {
  const char* counter = e.kind == "obtained" || e.kind == "renewed" ? "renewals_success"
                        : e.kind == "failed"                        ? "renewals_failure"
                        : e.kind == "hook_ran"                      ? "hooks_success"
                        : e.kind == "hook_failed"                   ? "hooks_failure"
                                                                    : nullptr;
  ACME_CHECK(exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Result<void> {
    ACME_ASSIGN(auto s, prepare(db_.get(),
                                "INSERT INTO events(cert_name, kind, at, detail) VALUES(?,?,?,?)"));
    bind_value(s.get(), 1, e.cert_name);
    bind_value(s.get(), 2, e.kind);
    bind_value(s.get(), 3, e.at != 0 ? e.at : unix_now());
    bind_value(s.get(), 4, e.detail);
    if (sqlite3_step(s.get()) != SQLITE_DONE) return db_error(db_.get(), "save event");
    if (counter != nullptr) {
      const std::string sql = std::string("UPDATE certificates SET ") + counter + " = " + counter +
                              " + 1 WHERE name = ?";
      ACME_ASSIGN(auto u, prepare(db_.get(), sql.c_str()));
      bind_value(u.get(), 1, e.cert_name);
      if (sqlite3_step(u.get()) != SQLITE_DONE) return db_error(db_.get(), "count event");
    }
    return acme::ok();
  };
  if (auto r = body(); !r) {
    (void)exec("ROLLBACK");
    return r;
  }
  return exec("COMMIT");
}

Result<std::vector<CertificateMetrics>> SqliteStore::certificate_metrics() {
  ACME_ASSIGN(
      auto s,
      prepare(db_.get(),
              "SELECT name, serial, not_before, not_after, ari_chosen_time, "
              "last_success, consecutive_failures, hook_pending, renewals_success, "
              "renewals_failure, hooks_success, hooks_failure, revoked_serial, renew_before_days, "
              "issued_by, persist_until FROM certificates"));
  // A plain table scan, sorted here: "ORDER BY name" walks the name index and seeks into
  // the table once per row, which made this query ~75% of a 100,000-certificate scrape.
  // Sized first (count(*) walks the smallest index): no regrowth of 100,000 records.
  std::vector<CertificateMetrics> out;
  {
    ACME_ASSIGN(auto n, prepare(db_.get(), "SELECT count(*) FROM certificates"));
    if (sqlite3_step(n.get()) == SQLITE_ROW) {
      out.reserve(static_cast<size_t>(sqlite3_column_int64(n.get(), 0)));
    }
  }
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    sqlite3_stmt* st = s.get();
    CertificateMetrics m;
    m.name = col_text(st, 0);
    m.serial = col_text(st, 1);
    m.not_before = sqlite3_column_int64(st, 2);
    m.not_after = sqlite3_column_int64(st, 3);
    m.ari_chosen_time = sqlite3_column_int64(st, 4);
    m.last_success = sqlite3_column_int64(st, 5);
    m.consecutive_failures = sqlite3_column_int(st, 6);
    m.hook_pending = sqlite3_column_int(st, 7) != 0;
    m.renewals_success = sqlite3_column_int64(st, 8);
    m.renewals_failure = sqlite3_column_int64(st, 9);
    m.hooks_success = sqlite3_column_int64(st, 10);
    m.hooks_failure = sqlite3_column_int64(st, 11);
    m.revoked = !m.serial.empty() && col_text(st, 12) == m.serial;
    m.renew_before_days = sqlite3_column_int(st, 13);
    m.issued_by = col_text(st, 14);
    m.persist_until = sqlite3_column_int64(st, 15);
    out.push_back(std::move(m));
  }
  if (rc != SQLITE_DONE) return db_error(db_.get(), "read metrics");
  s.reset();
  sqlite3_db_release_memory(db_.get());  // as in list_certificates: the scan's pages
  std::sort(out.begin(), out.end(), [](const CertificateMetrics& a, const CertificateMetrics& b) {
    return a.name < b.name;
  });
  return out;
}

Result<std::vector<Event>> SqliteStore::events(const std::string& cert_name, int limit) {
  ACME_ASSIGN(auto s, prepare(db_.get(),
                              "SELECT cert_name, kind, at, detail FROM events WHERE cert_name = ? "
                              "ORDER BY id DESC LIMIT ?"));
  bind_value(s.get(), 1, cert_name);
  bind_value(s.get(), 2, limit);
  std::vector<Event> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    out.push_back({col_text(s.get(), 0), col_text(s.get(), 1), sqlite3_column_int64(s.get(), 2),
                   col_text(s.get(), 3)});
  }
  if (rc != SQLITE_DONE) return db_error(db_.get(), "read events");
  return out;
}

namespace {

constexpr const char* kCaHealthColumns =
    "server, consecutive_failures, unavailable_until, last_failure, last_success, last_error";

CaHealth read_ca_health(sqlite3_stmt* s) {
  CaHealth h;
  h.server = col_text(s, 0);
  h.consecutive_failures = sqlite3_column_int(s, 1);
  h.unavailable_until = sqlite3_column_int64(s, 2);
  h.last_failure = sqlite3_column_int64(s, 3);
  h.last_success = sqlite3_column_int64(s, 4);
  h.last_error = col_text(s, 5);
  return h;
}

}  // namespace

Result<CaHealth> SqliteStore::ca_health(const std::string& server) {
  const std::string sql =
      std::string("SELECT ") + kCaHealthColumns + " FROM ca_health WHERE server = ?";
  ACME_ASSIGN(auto s, prepare(db_.get(), sql.c_str()));
  bind_value(s.get(), 1, server);
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) return read_ca_health(s.get());
  if (rc != SQLITE_DONE) return db_error(db_.get(), "read CA health");
  CaHealth h;
  h.server = server;
  return h;
}

Result<CaHealth> SqliteStore::update_ca_health(const std::string& server,
                                               const std::function<void(CaHealth&)>& change) {
  ACME_CHECK(exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Result<CaHealth> {
    ACME_ASSIGN(CaHealth h, ca_health(server));
    change(h);
    h.server = server;
    const std::string sql = std::string("INSERT OR REPLACE INTO ca_health(") + kCaHealthColumns +
                            ") VALUES(?,?,?,?,?,?)";
    ACME_ASSIGN(auto s, prepare(db_.get(), sql.c_str()));
    bind_value(s.get(), 1, h.server);
    bind_value(s.get(), 2, h.consecutive_failures);
    bind_value(s.get(), 3, h.unavailable_until);
    bind_value(s.get(), 4, h.last_failure);
    bind_value(s.get(), 5, h.last_success);
    bind_value(s.get(), 6, h.last_error);
    if (sqlite3_step(s.get()) != SQLITE_DONE) return db_error(db_.get(), "save CA health");
    return h;
  };
  auto r = body();
  if (!r) {
    (void)exec("ROLLBACK");
    return r;
  }
  ACME_CHECK(exec("COMMIT"));
  return r;
}

Result<std::vector<CaHealth>> SqliteStore::all_ca_health() {
  const std::string sql =
      std::string("SELECT ") + kCaHealthColumns + " FROM ca_health ORDER BY server";
  ACME_ASSIGN(auto s, prepare(db_.get(), sql.c_str()));
  std::vector<CaHealth> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) out.push_back(read_ca_health(s.get()));
  if (rc != SQLITE_DONE) return db_error(db_.get(), "list CA health");
  return out;
}

}  // namespace agent
