#include "store/postgres_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <type_traits>

#include "base/time.hpp"
#include "deploy/files.hpp"
#include "fleet/pg_conn.hpp"
#include "store/cert_row.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;
using pg::integer;
using pg::PgResult;
using pg::rows;
using pg::text;

namespace {

// Migrations of the per-host schema: entry i takes it from version i to i+1. Never edit a
// shipped entry. The tables mirror the SQLite store's (same column names and kinds, so
// store/cert_row.hpp reads both), with `host` (the agent_id) leading every key. Named
// host_* beside the fleet's shared tables (fleet_store.cpp) in the same database.
const std::vector<const char*> kMigrations = {
    R"sql(
CREATE TABLE host_accounts (
  host          TEXT NOT NULL,
  directory_url TEXT NOT NULL,
  key_path      TEXT NOT NULL,
  account_url   TEXT NOT NULL DEFAULT '',
  contact       TEXT NOT NULL DEFAULT '',
  created_at    BIGINT NOT NULL,
  PRIMARY KEY (host, directory_url)
);
CREATE TABLE host_certificates (
  host                 TEXT NOT NULL,
  name                 TEXT NOT NULL,
  domains              TEXT NOT NULL,
  key_type             TEXT NOT NULL,
  challenge            TEXT NOT NULL,
  http01_listen        TEXT NOT NULL DEFAULT '',
  webroot              TEXT NOT NULL DEFAULT '',
  out_dir              TEXT NOT NULL,
  server               TEXT NOT NULL,
  deploy_hook          TEXT NOT NULL DEFAULT '',
  not_before           BIGINT NOT NULL DEFAULT 0,
  not_after            BIGINT NOT NULL DEFAULT 0,
  serial               TEXT NOT NULL DEFAULT '',
  ari_cert_id          TEXT NOT NULL DEFAULT '',
  ari_chosen_time      BIGINT NOT NULL DEFAULT 0,
  next_check           BIGINT NOT NULL DEFAULT 0,
  consecutive_failures BIGINT NOT NULL DEFAULT 0,
  next_attempt         BIGINT NOT NULL DEFAULT 0,
  last_error           TEXT NOT NULL DEFAULT '',
  last_success         BIGINT NOT NULL DEFAULT 0,
  challenge_settings   TEXT NOT NULL DEFAULT '{}',
  ari_window_start     BIGINT NOT NULL DEFAULT 0,
  ari_window_end       BIGINT NOT NULL DEFAULT 0,
  hook_pending         BIGINT NOT NULL DEFAULT 0,
  ca_bundle            TEXT NOT NULL DEFAULT '',
  revoked_serial       TEXT NOT NULL DEFAULT '',
  renew_before_days    BIGINT NOT NULL DEFAULT 0,
  preferred_chain      TEXT NOT NULL DEFAULT '',
  origin               TEXT NOT NULL DEFAULT 'issue',
  managed              BIGINT NOT NULL DEFAULT 1,
  profile              TEXT NOT NULL DEFAULT '',
  issued_by            TEXT NOT NULL DEFAULT '',
  outputs              TEXT NOT NULL DEFAULT '{}',
  reuse_key            BIGINT NOT NULL DEFAULT 0,
  csr_pem              TEXT NOT NULL DEFAULT '',
  chain_depth          BIGINT NOT NULL DEFAULT 0,
  chain_bytes          BIGINT NOT NULL DEFAULT 0,
  persist_until        BIGINT NOT NULL DEFAULT 0,
  renewals_success     BIGINT NOT NULL DEFAULT 0,
  renewals_failure     BIGINT NOT NULL DEFAULT 0,
  hooks_success        BIGINT NOT NULL DEFAULT 0,
  hooks_failure        BIGINT NOT NULL DEFAULT 0,
  created_at           BIGINT NOT NULL,
  updated_at           BIGINT NOT NULL,
  PRIMARY KEY (host, name)
);
CREATE INDEX host_certificates_by_next_check ON host_certificates(host, next_check);
CREATE TABLE host_orders (
  host       TEXT NOT NULL,
  cert_name  TEXT NOT NULL,
  order_url  TEXT NOT NULL,
  state      TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (host, cert_name)
);
CREATE TABLE host_events (
  id        BIGSERIAL PRIMARY KEY,
  host      TEXT NOT NULL,
  cert_name TEXT NOT NULL,
  kind      TEXT NOT NULL,
  at        BIGINT NOT NULL,
  detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX host_events_by_cert ON host_events(host, cert_name, id);
CREATE TABLE host_ca_health (
  host                 TEXT NOT NULL,
  server               TEXT NOT NULL,
  consecutive_failures BIGINT NOT NULL DEFAULT 0,
  unavailable_until    BIGINT NOT NULL DEFAULT 0,
  last_failure         BIGINT NOT NULL DEFAULT 0,
  last_success         BIGINT NOT NULL DEFAULT 0,
  last_error           TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (host, server)
);
)sql",
};
// pg_advisory_xact_lock key for these migrations (the fleet's is 97990991).
constexpr int64_t kMigrateLock = 97990992;

std::string this_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// The shared row reader's view of a result row, columns from `offset`.
struct PgRow {
  const PgResult& r;
  int row;
  std::string text(int i) const { return pg::text(r, row, i); }
  int64_t integer(int i) const { return pg::integer(r, row, i); }
};

std::string num(int64_t v) { return std::to_string(v); }

// "col1, col2, ..." and the matching parameters of a certificate, $first onwards.
struct CertValues {
  std::vector<std::string> columns;
  std::vector<std::string> params;
};
CertValues cert_values(const CertificateRecord& c, bool settings_only) {
  CertValues out;
  store_detail::for_each_cert_value(
      c,
      [&](const char* column, const auto& v) {
        out.columns.emplace_back(column);
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
          out.params.push_back(v);
        } else {
          out.params.push_back(num(v));
        }
      },
      settings_only);
  return out;
}

constexpr const char* kCaHealthColumns =
    "server, consecutive_failures, unavailable_until, last_failure, last_success, last_error";

CaHealth read_ca_health(const PgResult& r, int row) {
  CaHealth h;
  h.server = text(r, row, 0);
  h.consecutive_failures = static_cast<int>(integer(r, row, 1));
  h.unavailable_until = integer(r, row, 2);
  h.last_failure = integer(r, row, 3);
  h.last_success = integer(r, row, 4);
  h.last_error = text(r, row, 5);
  return h;
}

}  // namespace

PostgresStore::PostgresStore(std::string host, std::unique_ptr<pg::Connection> conn)
    : host_(std::move(host)), db_(std::move(conn)) {}
PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<Store>> PostgresStore::open(const FleetSettings& settings) {
  if (settings.url.rfind("postgresql://", 0) != 0 && settings.url.rfind("postgres://", 0) != 0) {
    return make_error(Errc::kInvalidInput,
                      "[store] url must be postgresql://USER@HOST:PORT/DB, not \"" +
                          redact_url(settings.url) + "\"");
  }
  ACME_CHECK(pq::load());
  std::string password;
  if (!settings.password_file.empty()) {
    ACME_ASSIGN(password, read_file(settings.password_file));
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
      password.pop_back();
    }
  }
  auto conn = std::make_unique<pg::Connection>("store", settings.url, std::move(password));
  ACME_CHECK(conn->connect());
  std::unique_ptr<PostgresStore> s(new PostgresStore(
      settings.agent_id.empty() ? this_hostname() : settings.agent_id, std::move(conn)));
  ACME_ASSIGN(s->version_, s->db_->migrate("acmectl_host_schema", kMigrateLock, kMigrations));
  return std::unique_ptr<Store>(std::move(s));
}

int PostgresStore::schema_version() const { return version_; }

Result<std::optional<AccountRecord>> PostgresStore::find_account(const std::string& directory_url) {
  ACME_ASSIGN(auto r, db_->run("SELECT key_path, account_url, contact FROM host_accounts "
                               "WHERE host = $1 AND directory_url = $2",
                               {host_, directory_url}));
  if (rows(r) == 0) return std::optional<AccountRecord>();
  return std::optional<AccountRecord>(
      AccountRecord{directory_url, text(r, 0, 0), text(r, 0, 1), text(r, 0, 2)});
}

Result<void> PostgresStore::upsert_account(const AccountRecord& a) {
  ACME_CHECK(db_->run(
      "INSERT INTO host_accounts(host, directory_url, key_path, account_url, contact, created_at) "
      "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (host, directory_url) DO UPDATE SET "
      "key_path = EXCLUDED.key_path, account_url = EXCLUDED.account_url, "
      "contact = EXCLUDED.contact",
      {host_, a.directory_url, a.key_path, a.account_url, a.contact, num(unix_now())}));
  return acme::ok();
}

Result<void> PostgresStore::mark_revoked(const std::string& name, const std::string& serial) {
  ACME_CHECK(
      db_->run("UPDATE host_certificates SET revoked_serial = $3, next_check = 0, "
               "updated_at = $4 WHERE host = $1 AND name = $2",
               {host_, name, serial, num(unix_now())}));
  return acme::ok();
}

Result<void> PostgresStore::remove_account(const std::string& directory_url) {
  ACME_CHECK(db_->run("DELETE FROM host_accounts WHERE host = $1 AND directory_url = $2",
                      {host_, directory_url}));
  return acme::ok();
}

Result<std::optional<CertificateRecord>> PostgresStore::find_certificate(const std::string& name) {
  ACME_ASSIGN(auto r, db_->run(std::string("SELECT ") + store_detail::kCertColumns +
                                   " FROM host_certificates WHERE host = $1 AND name = $2",
                               {host_, name}));
  if (rows(r) == 0) return std::optional<CertificateRecord>();
  return std::optional<CertificateRecord>(store_detail::read_cert(PgRow{r, 0}));
}

Result<std::vector<CertificateRecord>> PostgresStore::list_certificates() {
  // COLLATE "C": byte order, as SQLite sorts, whatever the database's locale.
  ACME_ASSIGN(auto r, db_->run(std::string("SELECT ") + store_detail::kCertColumns +
                                   " FROM host_certificates WHERE host = $1 "
                                   "ORDER BY name COLLATE \"C\"",
                               {host_}));
  std::vector<CertificateRecord> out;
  out.reserve(static_cast<size_t>(rows(r)));
  for (int i = 0; i < rows(r); ++i) out.push_back(store_detail::read_cert(PgRow{r, i}));
  return out;
}

Result<void> PostgresStore::upsert_certificate(const CertificateRecord& c) {
  // Every column but the key and the counters (add_event owns those) is replaced.
  CertValues v = cert_values(c, false);
  std::string columns = "host", values = "$1", updates;
  std::vector<std::string> params = {host_};
  for (size_t i = 0; i < v.columns.size(); ++i) {
    params.push_back(v.params[i]);
    columns += ", " + v.columns[i];
    values += ", $" + std::to_string(params.size());
    if (v.columns[i] != "name") updates += v.columns[i] + " = EXCLUDED." + v.columns[i] + ", ";
  }
  params.push_back(num(unix_now()));
  const std::string now = "$" + std::to_string(params.size());
  ACME_CHECK(db_->run("INSERT INTO host_certificates(" + columns +
                          ", created_at, updated_at) VALUES (" + values + ", " + now + ", " + now +
                          ") ON CONFLICT (host, name) DO UPDATE SET " + updates +
                          "updated_at = EXCLUDED.updated_at",
                      params));
  return acme::ok();
}

Result<bool> PostgresStore::import_certificate(const CertificateRecord& c,
                                               const std::vector<Event>& history,
                                               const CertificateMetrics& counters) {
  CertValues v = cert_values(c, false);
  std::string columns = "host", values = "$1";
  std::vector<std::string> params = {host_};
  for (size_t i = 0; i < v.columns.size(); ++i) {
    params.push_back(v.params[i]);
    columns += ", " + v.columns[i];
    values += ", $" + std::to_string(params.size());
  }
  for (int64_t n : {counters.renewals_success, counters.renewals_failure, counters.hooks_success,
                    counters.hooks_failure, unix_now()}) {
    params.push_back(num(n));
    values += ", $" + std::to_string(params.size());
  }
  const std::string insert =
      "INSERT INTO host_certificates(" + columns +
      ", renewals_success, renewals_failure, hooks_success, hooks_failure, created_at, "
      "updated_at) VALUES (" +
      values + ", $" + std::to_string(params.size()) + ") ON CONFLICT (host, name) DO NOTHING";
  return db_->transaction([&]() -> Result<bool> {
    ACME_ASSIGN(auto r, db_->run(insert, params));
    if (std::string(pq::fn().PQcmdTuples(r.get())) != "1") return false;
    // Oldest first, so ids keep the order events() reads back (newest first).
    for (auto it = history.rbegin(); it != history.rend(); ++it) {
      ACME_CHECK(
          db_->run("INSERT INTO host_events(host, cert_name, kind, at, detail) "
                   "VALUES ($1, $2, $3, $4, $5)",
                   {host_, c.name, it->kind, num(it->at), it->detail}));
    }
    return true;
  });
}

Result<void> PostgresStore::update_certificate_settings(const CertificateRecord& c, bool due_now) {
  CertValues v = cert_values(c, true);
  std::vector<std::string> params = {host_, c.name, num(unix_now())};
  std::string sql = "UPDATE host_certificates SET updated_at = $3";
  for (size_t i = 0; i < v.columns.size(); ++i) {
    params.push_back(v.params[i]);
    sql += ", " + v.columns[i] + " = $" + std::to_string(params.size());
  }
  if (due_now) sql += ", next_check = 0";
  ACME_CHECK(db_->run(sql + " WHERE host = $1 AND name = $2", params));
  return acme::ok();
}

Result<void> PostgresStore::set_managed(const std::string& name, bool managed) {
  ACME_CHECK(
      db_->run("UPDATE host_certificates SET managed = $3, updated_at = $4 "
               "WHERE host = $1 AND name = $2",
               {host_, name, managed ? "1" : "0", num(unix_now())}));
  return acme::ok();
}

Result<void> PostgresStore::delete_certificate(const std::string& name) {
  ACME_CHECK(
      db_->run("DELETE FROM host_certificates WHERE host = $1 AND name = $2", {host_, name}));
  return acme::ok();
}

Result<std::vector<std::string>> PostgresStore::due_certificates(int64_t now, int limit) {
  ACME_ASSIGN(auto r, db_->run("SELECT name FROM host_certificates WHERE host = $1 AND "
                               "next_check <= $2 AND managed = 1 ORDER BY next_check LIMIT $3",
                               {host_, num(now), num(limit)}));
  std::vector<std::string> out;
  for (int i = 0; i < rows(r); ++i) out.push_back(text(r, i, 0));
  return out;
}

Result<int64_t> PostgresStore::next_check_after(int64_t now) {
  ACME_ASSIGN(auto r, db_->run("SELECT coalesce(min(next_check), 0) FROM host_certificates "
                               "WHERE host = $1 AND next_check > $2 AND managed = 1",
                               {host_, num(now)}));
  return integer(r, 0, 0);
}

Result<void> PostgresStore::set_order(const std::string& cert_name, const std::string& order_url,
                                      const std::string& state) {
  ACME_CHECK(
      db_->run("INSERT INTO host_orders(host, cert_name, order_url, state, created_at) "
               "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (host, cert_name) DO UPDATE SET "
               "order_url = EXCLUDED.order_url, state = EXCLUDED.state",
               {host_, cert_name, order_url, state, num(unix_now())}));
  return acme::ok();
}

Result<std::optional<std::string>> PostgresStore::find_order(const std::string& cert_name) {
  ACME_ASSIGN(auto r, db_->run("SELECT order_url FROM host_orders WHERE host = $1 AND "
                               "cert_name = $2",
                               {host_, cert_name}));
  if (rows(r) == 0) return std::optional<std::string>();
  return std::optional<std::string>(text(r, 0, 0));
}

Result<void> PostgresStore::clear_order(const std::string& cert_name) {
  ACME_CHECK(
      db_->run("DELETE FROM host_orders WHERE host = $1 AND cert_name = $2", {host_, cert_name}));
  return acme::ok();
}

Result<void> PostgresStore::add_event(const Event& e) {
  const char* counter = e.kind == "obtained" || e.kind == "renewed" ? "renewals_success"
                        : e.kind == "failed"                        ? "renewals_failure"
                        : e.kind == "hook_ran"                      ? "hooks_success"
                        : e.kind == "hook_failed"                   ? "hooks_failure"
                                                                    : nullptr;
  return db_->transaction([&]() -> Result<void> {
    ACME_CHECK(
        db_->run("INSERT INTO host_events(host, cert_name, kind, at, detail) "
                 "VALUES ($1, $2, $3, $4, $5)",
                 {host_, e.cert_name, e.kind, num(e.at != 0 ? e.at : unix_now()), e.detail}));
    if (counter != nullptr) {
      ACME_CHECK(db_->run(std::string("UPDATE host_certificates SET ") + counter + " = " + counter +
                              " + 1 WHERE host = $1 AND name = $2",
                          {host_, e.cert_name}));
    }
    return acme::ok();
  });
}

Result<std::vector<CertificateMetrics>> PostgresStore::certificate_metrics() {
  ACME_ASSIGN(auto r, db_->run("SELECT name, serial, not_before, not_after, ari_chosen_time, "
                               "last_success, consecutive_failures, hook_pending, "
                               "renewals_success, renewals_failure, hooks_success, hooks_failure, "
                               "revoked_serial, renew_before_days, issued_by, persist_until "
                               "FROM host_certificates WHERE host = $1",
                               {host_}));
  std::vector<CertificateMetrics> out;
  out.reserve(static_cast<size_t>(rows(r)));
  for (int i = 0; i < rows(r); ++i) {
    CertificateMetrics m;
    m.name = text(r, i, 0);
    m.serial = text(r, i, 1);
    m.not_before = integer(r, i, 2);
    m.not_after = integer(r, i, 3);
    m.ari_chosen_time = integer(r, i, 4);
    m.last_success = integer(r, i, 5);
    m.consecutive_failures = static_cast<int>(integer(r, i, 6));
    m.hook_pending = integer(r, i, 7) != 0;
    m.renewals_success = integer(r, i, 8);
    m.renewals_failure = integer(r, i, 9);
    m.hooks_success = integer(r, i, 10);
    m.hooks_failure = integer(r, i, 11);
    m.revoked = !m.serial.empty() && text(r, i, 12) == m.serial;
    m.renew_before_days = static_cast<int>(integer(r, i, 13));
    m.issued_by = text(r, i, 14);
    m.persist_until = integer(r, i, 15);
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const CertificateMetrics& a, const CertificateMetrics& b) {
    return a.name < b.name;
  });
  return out;
}

Result<std::vector<Event>> PostgresStore::events(const std::string& cert_name, int limit) {
  ACME_ASSIGN(auto r, db_->run("SELECT cert_name, kind, at, detail FROM host_events "
                               "WHERE host = $1 AND cert_name = $2 ORDER BY id DESC LIMIT $3",
                               {host_, cert_name, num(limit)}));
  std::vector<Event> out;
  for (int i = 0; i < rows(r); ++i) {
    out.push_back({text(r, i, 0), text(r, i, 1), integer(r, i, 2), text(r, i, 3)});
  }
  return out;
}

Result<CaHealth> PostgresStore::ca_health(const std::string& server) {
  ACME_ASSIGN(auto r, db_->run(std::string("SELECT ") + kCaHealthColumns +
                                   " FROM host_ca_health WHERE host = $1 AND server = $2",
                               {host_, server}));
  if (rows(r) > 0) return read_ca_health(r, 0);
  CaHealth h;
  h.server = server;
  return h;
}

Result<CaHealth> PostgresStore::update_ca_health(const std::string& server,
                                                 const std::function<void(CaHealth&)>& change) {
  // The row is created (as a healthy CA) and then locked, so concurrent workers -- this
  // host's threads, each with its own connection -- apply their changes one after another.
  return db_->transaction([&]() -> Result<CaHealth> {
    ACME_CHECK(
        db_->run("INSERT INTO host_ca_health(host, server) VALUES ($1, $2) "
                 "ON CONFLICT (host, server) DO NOTHING",
                 {host_, server}));
    ACME_ASSIGN(auto r, db_->run(std::string("SELECT ") + kCaHealthColumns +
                                     " FROM host_ca_health WHERE host = $1 AND server = $2 "
                                     "FOR UPDATE",
                                 {host_, server}));
    CaHealth h = read_ca_health(r, 0);
    change(h);
    h.server = server;
    ACME_CHECK(
        db_->run("UPDATE host_ca_health SET consecutive_failures = $3, "
                 "unavailable_until = $4, last_failure = $5, last_success = $6, "
                 "last_error = $7 WHERE host = $1 AND server = $2",
                 {host_, server, num(h.consecutive_failures), num(h.unavailable_until),
                  num(h.last_failure), num(h.last_success), h.last_error}));
    return h;
  });
}

Result<std::vector<CaHealth>> PostgresStore::all_ca_health() {
  ACME_ASSIGN(auto r, db_->run(std::string("SELECT ") + kCaHealthColumns +
                                   " FROM host_ca_health WHERE host = $1 "
                                   "ORDER BY server COLLATE \"C\"",
                               {host_}));
  std::vector<CaHealth> out;
  for (int i = 0; i < rows(r); ++i) out.push_back(read_ca_health(r, i));
  return out;
}

Result<HostImport> import_host_records(Store& from, PostgresStore& to) {
  HostImport n;
  ACME_ASSIGN(auto certs, from.list_certificates());
  ACME_ASSIGN(auto metrics, from.certificate_metrics());
  std::map<std::string, CertificateMetrics> counters;
  for (auto& m : metrics) counters.emplace(m.name, std::move(m));
  std::set<std::string> servers;
  for (const auto& c : certs) {
    if (!c.server.empty()) servers.insert(c.server);
    if (!c.issued_by.empty()) servers.insert(c.issued_by);
    ACME_ASSIGN(auto history, from.events(c.name, std::numeric_limits<int>::max()));
    ACME_ASSIGN(bool added, to.import_certificate(c, history, counters[c.name]));
    if (!added) {
      ++n.present;
      continue;
    }
    ++n.certificates;
    ACME_ASSIGN(auto order, from.find_order(c.name));
    if (order) {
      ACME_ASSIGN(auto there, to.find_order(c.name));
      if (!there) {
        ACME_CHECK(to.set_order(c.name, *order, "pending"));
        ++n.orders;
      }
    }
  }
  ACME_ASSIGN(auto health, from.all_ca_health());
  ACME_ASSIGN(auto known, to.all_ca_health());
  std::set<std::string> known_servers;
  for (const auto& h : known) known_servers.insert(h.server);
  for (const auto& h : health) {
    servers.insert(h.server);
    if (known_servers.count(h.server) != 0) continue;
    ACME_CHECK(to.update_ca_health(h.server, [&](CaHealth& mine) { mine = h; }));
    ++n.ca_health;
  }
  for (const auto& url : servers) {
    ACME_ASSIGN(auto account, from.find_account(url));
    if (!account) continue;
    ACME_ASSIGN(auto there, to.find_account(url));
    if (there) continue;
    ACME_CHECK(to.upsert_account(*account));
    ++n.accounts;
  }
  return n;
}

}  // namespace agent
