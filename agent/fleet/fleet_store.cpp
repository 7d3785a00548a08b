#include "fleet/fleet_store.hpp"

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>

#include "deploy/files.hpp"
#include "fleet/libpq.hpp"
#include "log/log.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;

std::string redact_url(const std::string& url) {
  // postgresql://user:secret@host/db -> postgresql://user:***@host/db
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto at = url.find('@', scheme + 3);
  if (at == std::string::npos) return url;
  const auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

namespace {

struct ResultFree {
  void operator()(PGresult* r) const noexcept { pq::fn().PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultFree>;

struct ConnFree {
  void operator()(PGconn* c) const noexcept { pq::fn().PQfinish(c); }
};

// Migrations of the shared schema: entry i takes it from version i to i+1. Never edit a
// shipped entry. Times the agents compare (lease expiry) are the database's clock.
const char* const kFleetMigrations[] = {
    R"sql(
CREATE TABLE fleet_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE leases (
  cert_name  TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  generation BIGINT NOT NULL,
  taken_at   TIMESTAMPTZ NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE versions (
  cert_name     TEXT NOT NULL,
  version       BIGINT NOT NULL,
  serial        TEXT NOT NULL,
  not_before    BIGINT NOT NULL,
  not_after     BIGINT NOT NULL,
  cert_pem      TEXT NOT NULL,
  chain_pem     TEXT NOT NULL,
  fullchain_pem TEXT NOT NULL,
  key_sealed    TEXT NOT NULL,
  kek_id        TEXT NOT NULL,
  published_by  TEXT NOT NULL,
  published_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (cert_name, version)
);
CREATE TABLE installs (
  cert_name    TEXT NOT NULL,
  host         TEXT NOT NULL,
  version      BIGINT NOT NULL,
  serial       TEXT NOT NULL,
  installed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (cert_name, host)
);
CREATE TABLE http01_tokens (
  token             TEXT PRIMARY KEY,
  key_authorization TEXT NOT NULL,
  cert_name         TEXT NOT NULL,
  holder            TEXT NOT NULL,
  created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE accounts (
  directory_url TEXT PRIMARY KEY,
  key_sealed    TEXT NOT NULL,
  kek_id        TEXT NOT NULL,
  account_url   TEXT NOT NULL,
  contact       TEXT NOT NULL DEFAULT '',
  created_by    TEXT NOT NULL,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
)sql",
};
constexpr int kFleetSchemaVersion = static_cast<int>(std::size(kFleetMigrations));
// pg_advisory_xact_lock key for migrations ("acmectl" in ASCII).
constexpr const char* kMigrateLock = "SELECT pg_advisory_xact_lock(97990991)";

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

struct FleetStore::Impl {
  FleetSettings settings;
  std::string password;
  std::unique_ptr<PGconn, ConnFree> conn;
  bool listening = false;

  acme::Error conn_error(const std::string& what) const {
    std::string msg = conn ? pq::fn().PQerrorMessage(conn.get()) : "out of memory";
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    for (char& c : msg) {
      if (c == '\n') c = ' ';
    }
    return make_error(Errc::kIo,
                      "fleet store " + redact_url(settings.url) + ": " + what + ": " + msg);
  }

  acme::Result<void> connect() {
    const char* keys[] = {"dbname", "password", "connect_timeout", "application_name", nullptr};
    const char* values[] = {settings.url.c_str(), password.empty() ? nullptr : password.c_str(),
                            "5", "acmectl", nullptr};
    if (password.empty()) keys[1] = nullptr;  // stop the list there: libpq reads PGPASSFILE
    conn.reset(pq::fn().PQconnectdbParams(keys, values, 1));
    if (!conn || pq::fn().PQstatus(conn.get()) != CONNECTION_OK)
      return conn_error("cannot connect");
    listening = false;
    // Quiet NOTICEs ("relation already exists") out of stderr.
    pq::fn().PQsetNoticeProcessor(
        conn.get(), [](void*, const char*) {}, nullptr);
    return acme::ok();
  }

  bool broken() const { return !conn || pq::fn().PQstatus(conn.get()) != CONNECTION_OK; }

  acme::Result<void> ensure() {
    if (!broken()) return acme::ok();
    logger("fleet")->warn("store {}: connection lost: reconnecting", redact_url(settings.url));
    return connect();
  }

  // One statement with text parameters. On a lost connection, reconnects and retries once
  // (every caller's statement is idempotent or a whole transaction that was rolled back).
  acme::Result<PgResult> run(const std::string& sql, const std::vector<std::string>& params,
                             bool retry = true) {
    ACME_CHECK(ensure());
    std::vector<const char*> p;
    for (const auto& s : params) p.push_back(s.c_str());
    // Without parameters PQexec, which also runs a multi-statement migration.
    PgResult r(p.empty()
                   ? pq::fn().PQexec(conn.get(), sql.c_str())
                   : pq::fn().PQexecParams(conn.get(), sql.c_str(), static_cast<int>(p.size()),
                                           nullptr, p.data(), nullptr, nullptr, 0));
    const auto st = r ? pq::fn().PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
    if (broken() && retry) {
      if (auto c = connect(); c) return run(sql, params, false);
    }
    std::string msg =
        r ? pq::fn().PQresultErrorMessage(r.get()) : pq::fn().PQerrorMessage(conn.get());
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    for (char& c : msg) {
      if (c == '\n') c = ' ';
    }
    return make_error(Errc::kIo, "fleet store: " + msg);
  }

  // A transaction: BEGIN, body, COMMIT (ROLLBACK when the body fails).
  template <typename F>
  auto transaction(F&& body) -> decltype(body()) {
    ACME_CHECK(run("BEGIN", {}));
    auto r = body();
    if (!r) {
      if (!broken()) (void)run("ROLLBACK", {}, false);
      return r;
    }
    if (auto c = run("COMMIT", {}, false); !c) return std::move(c).error();
    return r;
  }

  acme::Result<void> migrate() {
    return transaction([&]() -> acme::Result<void> {
      ACME_CHECK(run(kMigrateLock, {}, false));
      ACME_CHECK(run("CREATE TABLE IF NOT EXISTS acmectl_fleet_schema (version INTEGER NOT NULL)",
                     {}, false));
      ACME_ASSIGN(auto v, run("SELECT version FROM acmectl_fleet_schema", {}, false));
      int version = 0;
      if (pq::fn().PQntuples(v.get()) == 0) {
        ACME_CHECK(run("INSERT INTO acmectl_fleet_schema(version) VALUES (0)", {}, false));
      } else {
        version = std::atoi(pq::fn().PQgetvalue(v.get(), 0, 0));
      }
      if (version > kFleetSchemaVersion) {
        return make_error(Errc::kIo, "fleet store: schema version " + std::to_string(version) +
                                         " is newer than this acmectl understands (" +
                                         std::to_string(kFleetSchemaVersion) +
                                         "): upgrade acmectl on this host");
      }
      for (int i = version; i < kFleetSchemaVersion; ++i) {
        ACME_CHECK(run(kFleetMigrations[i], {}, false));
        ACME_CHECK(
            run("UPDATE acmectl_fleet_schema SET version = $1", {std::to_string(i + 1)}, false));
      }
      return acme::ok();
    });
  }
};

namespace {

std::string text(const PgResult& r, int row, int col) {
  return std::string(pq::fn().PQgetvalue(r.get(), row, col),
                     static_cast<size_t>(pq::fn().PQgetlength(r.get(), row, col)));
}
int64_t integer(const PgResult& r, int row, int col) {
  return std::strtoll(pq::fn().PQgetvalue(r.get(), row, col), nullptr, 10);
}
std::string aad_of(const std::string& name, int64_t version) {
  return "acmectl-version\n" + name + "\n" + std::to_string(version);
}
std::string account_aad(const std::string& directory_url) {
  return "acmectl-account\n" + directory_url;
}

}  // namespace

FleetStore::FleetStore(FleetSettings s) : settings_(std::move(s)), impl_(std::make_unique<Impl>()) {
  impl_->settings = settings_;
}
FleetStore::~FleetStore() = default;

acme::Result<std::unique_ptr<FleetStore>> FleetStore::open(const FleetSettings& settings) {
  FleetSettings s = settings;
  if (s.agent_id.empty()) s.agent_id = hostname();
  if (s.url.rfind("postgresql://", 0) != 0 && s.url.rfind("postgres://", 0) != 0) {
    return make_error(
        Errc::kInvalidInput,
        "[store] url must be postgresql://USER@HOST:PORT/DB, not \"" + redact_url(s.url) + "\"");
  }
  if (s.kek_file.empty()) {
    return make_error(Errc::kInvalidInput,
                      "[store] kek_file is required with a PostgreSQL store (the private keys "
                      "in the database are sealed with it)");
  }
  ACME_CHECK(pq::load());
  std::unique_ptr<FleetStore> f(new FleetStore(s));
  ACME_ASSIGN(auto kek, Kek::load(s.kek_file));
  f->kek_ = std::move(kek);
  if (!s.password_file.empty()) {
    ACME_ASSIGN(auto pw, read_file(s.password_file));
    while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
    f->impl_->password = pw;
  }
  ACME_CHECK(f->impl_->connect());
  ACME_CHECK(f->impl_->migrate());
  ACME_CHECK(f->impl_->run(
      "INSERT INTO fleet_meta(key, value) VALUES ('kek_id', $1) ON CONFLICT (key) DO NOTHING",
      {f->kek_->id()}));
  ACME_ASSIGN(auto r, f->impl_->run("SELECT value FROM fleet_meta WHERE key = 'kek_id'", {}));
  const std::string fleet_id = pq::fn().PQntuples(r.get()) > 0 ? text(r, 0, 0) : "";
  if (fleet_id != f->kek_->id()) {
    f->kek_mismatch_ = "the key-encryption key in " + s.kek_file + " (id " + f->kek_->id() +
                       ") is not the fleet's (id " + fleet_id +
                       "): this host neither installs nor renews until it has the right kek_file";
  }
  return f;
}

int FleetStore::schema_version() {
  auto r = impl_->run("SELECT version FROM acmectl_fleet_schema", {});
  if (!r || pq::fn().PQntuples(r->get()) == 0) return -1;
  return std::atoi(pq::fn().PQgetvalue(r->get(), 0, 0));
}

acme::Result<std::optional<int64_t>> FleetStore::try_lease(const std::string& name) {
  // Free, expired or ours: take it (a new generation each time). Held by another live
  // agent: the WHERE fails and no row comes back.
  ACME_ASSIGN(auto r,
              impl_->run("INSERT INTO leases(cert_name, holder, generation, taken_at, expires_at) "
                         "VALUES ($1, $2, 1, now(), now() + make_interval(secs => $3)) "
                         "ON CONFLICT (cert_name) DO UPDATE SET holder = excluded.holder, "
                         "generation = leases.generation + 1, taken_at = now(), "
                         "expires_at = excluded.expires_at "
                         "WHERE leases.expires_at < now() OR leases.holder = excluded.holder "
                         "RETURNING generation",
                         {name, settings_.agent_id, std::to_string(settings_.lease_seconds)}));
  if (pq::fn().PQntuples(r.get()) == 0) return std::optional<int64_t>();
  return std::optional<int64_t>(integer(r, 0, 0));
}

acme::Result<bool> FleetStore::extend_lease(const std::string& name, int64_t generation) {
  ACME_ASSIGN(auto r, impl_->run("UPDATE leases SET expires_at = now() + make_interval(secs => $4) "
                                 "WHERE cert_name = $1 AND holder = $2 AND generation = $3 "
                                 "AND expires_at > now() RETURNING generation",
                                 {name, settings_.agent_id, std::to_string(generation),
                                  std::to_string(settings_.lease_seconds)}));
  return pq::fn().PQntuples(r.get()) > 0;
}

acme::Result<void> FleetStore::release_lease(const std::string& name, int64_t generation) {
  // Expired at once (kept as a row: the generation keeps counting up).
  ACME_CHECK(
      impl_->run("UPDATE leases SET expires_at = now() - interval '1 second' "
                 "WHERE cert_name = $1 AND holder = $2 AND generation = $3",
                 {name, settings_.agent_id, std::to_string(generation)}));
  return acme::ok();
}

acme::Result<std::vector<FleetLease>> FleetStore::leases() {
  ACME_ASSIGN(auto r, impl_->run("SELECT cert_name, holder, generation, "
                                 "extract(epoch from expires_at)::bigint, expires_at > now() "
                                 "FROM leases ORDER BY cert_name",
                                 {}));
  std::vector<FleetLease> out;
  for (int i = 0; i < pq::fn().PQntuples(r.get()); ++i) {
    out.push_back(
        {text(r, i, 0), text(r, i, 1), integer(r, i, 2), integer(r, i, 3), text(r, i, 4) == "t"});
  }
  return out;
}

acme::Result<std::optional<FleetVersion>> FleetStore::latest(const std::string& name) {
  ACME_ASSIGN(auto r, impl_->run("SELECT version, serial, not_before, not_after, published_by "
                                 "FROM versions WHERE cert_name = $1 "
                                 "ORDER BY version DESC LIMIT 1",
                                 {name}));
  if (pq::fn().PQntuples(r.get()) == 0) return std::optional<FleetVersion>();
  FleetVersion v;
  v.cert_name = name;
  v.version = integer(r, 0, 0);
  v.serial = text(r, 0, 1);
  v.not_before = integer(r, 0, 2);
  v.not_after = integer(r, 0, 3);
  v.published_by = text(r, 0, 4);
  return std::optional<FleetVersion>(std::move(v));
}

acme::Result<std::optional<FleetVersion>> FleetStore::fetch_latest(const std::string& name) {
  if (!kek_mismatch_.empty()) return make_error(Errc::kCrypto, kek_mismatch_);
  ACME_ASSIGN(auto r,
              impl_->run("SELECT version, serial, not_before, not_after, published_by, cert_pem, "
                         "chain_pem, fullchain_pem, key_sealed, kek_id FROM versions "
                         "WHERE cert_name = $1 ORDER BY version DESC LIMIT 1",
                         {name}));
  if (pq::fn().PQntuples(r.get()) == 0) return std::optional<FleetVersion>();
  FleetVersion v;
  v.cert_name = name;
  v.version = integer(r, 0, 0);
  v.serial = text(r, 0, 1);
  v.not_before = integer(r, 0, 2);
  v.not_after = integer(r, 0, 3);
  v.published_by = text(r, 0, 4);
  v.cert_pem = text(r, 0, 5);
  v.chain_pem = text(r, 0, 6);
  v.fullchain_pem = text(r, 0, 7);
  const std::string kek_id = text(r, 0, 9);
  if (kek_id != kek_->id()) {
    return make_error(Errc::kCrypto, "version " + std::to_string(v.version) + " of " + name +
                                         " is sealed with key-encryption key " + kek_id +
                                         ", not with this host's " + kek_->id() + " (" +
                                         settings_.kek_file + ")");
  }
  auto key = kek_->open(text(r, 0, 8), aad_of(name, v.version));
  if (!key) {
    return std::move(key).error().context("opening the key of " + name + " version " +
                                          std::to_string(v.version));
  }
  v.key_pem = std::move(*key);
  return std::optional<FleetVersion>(std::move(v));
}

acme::Result<std::vector<std::pair<std::string, int64_t>>> FleetStore::latest_versions() {
  ACME_ASSIGN(auto r,
              impl_->run("SELECT cert_name, max(version) FROM versions GROUP BY cert_name", {}));
  std::vector<std::pair<std::string, int64_t>> out;
  for (int i = 0; i < pq::fn().PQntuples(r.get()); ++i)
    out.emplace_back(text(r, i, 0), integer(r, i, 1));
  return out;
}

acme::Result<int64_t> FleetStore::publish(const std::string& name, int64_t generation,
                                          const FleetVersion& v) {
  if (!kek_mismatch_.empty()) return make_error(Errc::kCrypto, kek_mismatch_);
  return impl_->transaction([&]() -> acme::Result<int64_t> {
    // The lease row locked for the rest of the transaction: a takeover waits for us, and we
    // publish only if the lease is still ours, of this generation, and not expired.
    ACME_ASSIGN(auto l, impl_->run("SELECT holder, generation, expires_at > now() FROM leases "
                                   "WHERE cert_name = $1 FOR UPDATE",
                                   {name}, false));
    if (pq::fn().PQntuples(l.get()) == 0 || text(l, 0, 0) != settings_.agent_id ||
        integer(l, 0, 1) != generation || text(l, 0, 2) != "t") {
      const std::string holder = pq::fn().PQntuples(l.get()) == 0 ? "nobody" : text(l, 0, 0);
      return make_error(Errc::kCancelled,
                        "lost the lease on " + name + " (now held by " + holder +
                            "): the certificate just obtained is not published or installed");
    }
    ACME_ASSIGN(auto m, impl_->run("SELECT coalesce(max(version), 0) + 1 FROM versions "
                                   "WHERE cert_name = $1",
                                   {name}, false));
    const int64_t version = integer(m, 0, 0);
    ACME_ASSIGN(auto sealed, kek_->seal(v.key_pem, aad_of(name, version)));
    ACME_CHECK(impl_->run(
        "INSERT INTO versions(cert_name, version, serial, not_before, not_after, cert_pem, "
        "chain_pem, fullchain_pem, key_sealed, kek_id, published_by) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        {name, std::to_string(version), v.serial, std::to_string(v.not_before),
         std::to_string(v.not_after), v.cert_pem, v.chain_pem, v.fullchain_pem, sealed, kek_->id(),
         settings_.agent_id},
        false));
    ACME_CHECK(impl_->run("SELECT pg_notify('acmectl_versions', $1)", {name}, false));
    return version;
  });
}

acme::Result<void> FleetStore::record_install(const std::string& name, int64_t version,
                                              const std::string& serial) {
  ACME_CHECK(
      impl_->run("INSERT INTO installs(cert_name, host, version, serial, installed_at) "
                 "VALUES ($1, $2, $3, $4, now()) ON CONFLICT (cert_name, host) DO UPDATE "
                 "SET version = excluded.version, serial = excluded.serial, "
                 "installed_at = excluded.installed_at",
                 {name, settings_.agent_id, std::to_string(version), serial}));
  return acme::ok();
}

acme::Result<std::vector<FleetInstall>> FleetStore::installs() {
  ACME_ASSIGN(auto r, impl_->run("SELECT cert_name, host, version, serial, "
                                 "extract(epoch from installed_at)::bigint FROM installs "
                                 "ORDER BY cert_name, host",
                                 {}));
  std::vector<FleetInstall> out;
  for (int i = 0; i < pq::fn().PQntuples(r.get()); ++i) {
    out.push_back(
        {text(r, i, 0), text(r, i, 1), integer(r, i, 2), text(r, i, 3), integer(r, i, 4)});
  }
  return out;
}

acme::Result<void> FleetStore::put_token(const std::string& token,
                                         const std::string& key_authorization,
                                         const std::string& cert_name) {
  ACME_CHECK(
      impl_->run("INSERT INTO http01_tokens(token, key_authorization, cert_name, holder) "
                 "VALUES ($1, $2, $3, $4) ON CONFLICT (token) DO UPDATE SET "
                 "key_authorization = excluded.key_authorization",
                 {token, key_authorization, cert_name, settings_.agent_id}));
  return acme::ok();
}

acme::Result<void> FleetStore::delete_token(const std::string& token) {
  ACME_CHECK(impl_->run("DELETE FROM http01_tokens WHERE token = $1", {token}));
  return acme::ok();
}

acme::Result<std::optional<std::string>> FleetStore::find_token(const std::string& token) {
  ACME_ASSIGN(auto r,
              impl_->run("SELECT key_authorization FROM http01_tokens WHERE token = $1", {token}));
  if (pq::fn().PQntuples(r.get()) == 0) return std::optional<std::string>();
  return std::optional<std::string>(text(r, 0, 0));
}

acme::Result<void> FleetStore::lock_account(const std::string& directory_url) {
  ACME_CHECK(
      impl_->run("SELECT pg_advisory_lock(hashtext($1))", {"acmectl-account:" + directory_url}));
  return acme::ok();
}

void FleetStore::unlock_account(const std::string& directory_url) noexcept {
  (void)impl_->run("SELECT pg_advisory_unlock(hashtext($1))", {"acmectl-account:" + directory_url},
                   false);
}

acme::Result<std::optional<FleetAccount>> FleetStore::find_account(
    const std::string& directory_url) {
  ACME_ASSIGN(auto r, impl_->run("SELECT key_sealed, kek_id, account_url, contact FROM accounts "
                                 "WHERE directory_url = $1",
                                 {directory_url}));
  if (pq::fn().PQntuples(r.get()) == 0) return std::optional<FleetAccount>();
  if (text(r, 0, 1) != kek_->id()) {
    return make_error(Errc::kCrypto, "the fleet's account key for " + directory_url +
                                         " is sealed with key-encryption key " + text(r, 0, 1) +
                                         ", not with this host's " + kek_->id());
  }
  FleetAccount a;
  ACME_ASSIGN(a.key_pem, kek_->open(text(r, 0, 0), account_aad(directory_url)));
  a.account_url = text(r, 0, 2);
  a.contact = text(r, 0, 3);
  return std::optional<FleetAccount>(std::move(a));
}

acme::Result<void> FleetStore::put_account(const std::string& directory_url,
                                           const FleetAccount& a) {
  if (!kek_mismatch_.empty()) return make_error(Errc::kCrypto, kek_mismatch_);
  ACME_ASSIGN(auto sealed, kek_->seal(a.key_pem, account_aad(directory_url)));
  ACME_CHECK(impl_->run(
      "INSERT INTO accounts(directory_url, key_sealed, kek_id, account_url, "
      "contact, created_by) VALUES ($1, $2, $3, $4, $5, $6) "
      "ON CONFLICT (directory_url) DO UPDATE SET key_sealed = "
      "excluded.key_sealed, kek_id = excluded.kek_id, account_url = "
      "excluded.account_url, contact = excluded.contact",
      {directory_url, sealed, kek_->id(), a.account_url, a.contact, settings_.agent_id}));
  return acme::ok();
}

acme::Result<void> FleetStore::listen() {
  ACME_CHECK(impl_->run("LISTEN acmectl_versions", {}));
  impl_->listening = true;
  return acme::ok();
}

acme::Result<std::vector<std::string>> FleetStore::wait_notify(int timeout_ms) {
  if (impl_->broken() || !impl_->listening) {
    ACME_CHECK(impl_->ensure());
    ACME_CHECK(listen());
  }
  std::vector<std::string> names;
  PGconn* c = impl_->conn.get();
  auto drain = [&] {
    while (PGnotify* n = pq::fn().PQnotifies(c)) {
      names.emplace_back(n->extra);
      pq::fn().PQfreemem(n);
    }
  };
  drain();
  if (!names.empty()) return names;
  pollfd p{pq::fn().PQsocket(c), POLLIN, 0};
  const int rc = ::poll(&p, 1, timeout_ms);
  if (rc > 0) {
    if (pq::fn().PQconsumeInput(c) != 1) {
      impl_->listening = false;
      return impl_->conn_error("waiting for notifications");
    }
    drain();
  }
  if (impl_->broken()) {
    impl_->listening = false;
    return impl_->conn_error("waiting for notifications");
  }
  return names;
}

}  // namespace agent
