#include "store/store.hpp"

#include <doctest/doctest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

#include "fleet/pg_conn.hpp"
#include "store/postgres_store.hpp"

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/acmectl-store-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { (void)!system(("rm -rf '" + path + "'").c_str()); }
};

// The shared cases run against every backend: SQLite always, PostgreSQL when
// ACMECTL_TEST_PG_URL names a database (tests/integration/store_suite_postgres.sh starts
// one). Each PostgreSQL case is a host of its own (agent_id), so cases and runs never see
// each other's rows.
const char* pg_url() {
  const char* url = std::getenv("ACMECTL_TEST_PG_URL");
  return url != nullptr && *url != '\0' ? url : nullptr;
}

std::string unique_host(const std::string& tag) {
  static int counter = 0;
  return "test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-" +
         std::to_string(std::time(nullptr));
}

acme::Result<std::unique_ptr<agent::Store>> open_pg(const std::string& url,
                                                    const std::string& host) {
  agent::FleetSettings fs;
  fs.url = url;
  fs.agent_id = host;
  return agent::PostgresStore::open(fs);
}

// Runs body(store) on a fresh store of each backend; INFO names the backend on failure.
void for_each_backend(const std::function<void(agent::Store&)>& body) {
  {
    INFO("backend: sqlite");
    TempDir dir;
    auto s = agent::Store::open(dir.path + "/a.db");
    REQUIRE(s);
    body(**s);
  }
  if (const char* url = pg_url()) {
    INFO("backend: postgresql");
    auto s = open_pg(url, unique_host("case"));
    REQUIRE_MESSAGE(s, (s ? std::string() : s.error().message));
    body(**s);
  } else {
    static bool said = false;
    if (!said) {
      MESSAGE("PostgreSQL store cases skipped: set ACMECTL_TEST_PG_URL to run them");
      said = true;
    }
  }
}

}  // namespace

TEST_CASE("store: a new database is migrated to the current schema version") {
  TempDir dir;
  auto s = agent::Store::open(dir.path + "/a.db");
  REQUIRE(s);
  CHECK((*s)->schema_version() == 10);
  // Opening again is a no-op migration, and writes nothing (a dry run leaves the database
  // byte-identical).
  s->reset();
  auto bytes = [&] {
    std::ifstream in(dir.path + "/a.db", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string before = bytes();
  auto again = agent::Store::open(dir.path + "/a.db");
  REQUIRE(again);
  CHECK((*again)->schema_version() == 10);
  again->reset();
  CHECK(bytes() == before);
}

TEST_CASE("store: a database from a newer acmectl is refused, not damaged") {
  TempDir dir;
  const std::string path = dir.path + "/new.db";
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "PRAGMA user_version=99", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  auto s = agent::Store::open(path);
  REQUIRE_FALSE(s);
  CHECK(s.error().message ==
        "store: schema version 99 is newer than this acmectl understands (10)");
}

TEST_CASE("store: accounts, certificates, orders and events round-trip") {
  for_each_backend([&](agent::Store& s) {
    REQUIRE(
        s.upsert_account({"https://ca.test/dir", "/k", "https://ca.test/acct/1", "mailto:a@b"}));
    auto a = s.find_account("https://ca.test/dir");
    REQUIRE(a);
    REQUIRE(a->has_value());
    CHECK((*a)->account_url == "https://ca.test/acct/1");
    CHECK_FALSE(s.find_account("https://other/dir")->has_value());

    agent::CertificateRecord c;
    c.name = "example";
    c.domains = {"example.com", "www.example.com"};
    c.out_dir = "/out/example";
    c.server = "https://ca.test/dir";
    c.not_after = 1'900'000'000;
    c.serial = "0abc";
    REQUIRE(s.upsert_certificate(c));
    c.serial = "0def";
    c.consecutive_failures = 3;
    REQUIRE(s.upsert_certificate(c));
    auto found = s.find_certificate("example");
    REQUIRE(found);
    REQUIRE(found->has_value());
    CHECK((*found)->domains == c.domains);
    CHECK((*found)->serial == "0def");
    CHECK((*found)->consecutive_failures == 3);
    CHECK((*found)->not_after == 1'900'000'000);
    CHECK(s.list_certificates()->size() == 1);

    REQUIRE(s.set_order("example", "https://ca.test/order/1", "pending"));
    CHECK(s.find_order("example")->value() == "https://ca.test/order/1");
    REQUIRE(s.clear_order("example"));
    CHECK_FALSE(s.find_order("example")->has_value());

    REQUIRE(s.add_event({"example", "obtained", 100, "serial 0abc"}));
    REQUIRE(s.add_event({"example", "failed", 200, "boom"}));
    auto ev = s.events("example");
    REQUIRE(ev);
    REQUIRE(ev->size() == 2);
    CHECK((*ev)[0].kind == "failed");  // newest first
    CHECK((*ev)[1].detail == "serial 0abc");
  });
}

TEST_CASE("store: a path that cannot be opened is a clear error") {
  auto s = agent::Store::open("/nonexistent-dir/sub/a.db");
  REQUIRE_FALSE(s);
  CHECK(s.error().message.rfind("store: cannot open /nonexistent-dir/sub/a.db", 0) == 0);
}

TEST_CASE("store: events bump the per-certificate counters /metrics exports") {
  for_each_backend([&](agent::Store& s) {
    agent::CertificateRecord c;
    c.name = "ex";
    c.domains = {"ex.test"};
    c.out_dir = "/o/ex";
    c.server = "https://ca.test/dir";
    REQUIRE(s.upsert_certificate(c));
    auto zero = s.certificate_metrics();
    REQUIRE(zero);
    REQUIRE(zero->size() == 1);
    CHECK((*zero)[0].renewals_success == 0);  // exported at 0 from the start
    REQUIRE(s.add_event({"ex", "obtained", 0, ""}));
    REQUIRE(s.add_event({"ex", "renewed", 0, ""}));
    REQUIRE(s.add_event({"ex", "failed", 0, "x"}));
    REQUIRE(s.add_event({"ex", "hook_ran", 0, ""}));
    REQUIRE(s.add_event({"ex", "hook_failed", 0, ""}));
    REQUIRE(s.add_event({"ex", "hook_failed", 0, ""}));
    // Counters are not reset by an upsert of the record.
    REQUIRE(s.upsert_certificate(c));
    auto m = s.certificate_metrics();
    REQUIRE(m);
    CHECK((*m)[0].renewals_success == 2);
    CHECK((*m)[0].renewals_failure == 1);
    CHECK((*m)[0].hooks_success == 1);
    CHECK((*m)[0].hooks_failure == 2);
  });
}

TEST_CASE("store: a settings update leaves the issued state alone") {
  for_each_backend([&](agent::Store& s) {
    agent::CertificateRecord c;
    c.name = "ex";
    c.domains = {"ex.test"};
    c.out_dir = "/o/ex";
    c.server = "https://ca.test/dir";
    c.serial = "old";
    c.next_check = 500;
    REQUIRE(s.upsert_certificate(c));
    // A renewal writes its result...
    c.serial = "new";
    c.not_after = 2'000'000'000;
    REQUIRE(s.upsert_certificate(c));
    // ...while a config reload holds a stale copy with new settings.
    agent::CertificateRecord stale = c;
    stale.serial = "old";
    stale.not_after = 0;
    stale.deploy_hook = "/bin/true";
    stale.domains = {"ex.test", "www.ex.test"};
    REQUIRE(s.update_certificate_settings(stale, false));
    auto got = s.find_certificate("ex");
    REQUIRE(got);
    REQUIRE(got->has_value());
    CHECK((*got)->serial == "new");
    CHECK((*got)->not_after == 2'000'000'000);
    CHECK((*got)->deploy_hook == "/bin/true");
    CHECK((*got)->domains.size() == 2);
    CHECK((*got)->next_check == 500);
    REQUIRE(s.update_certificate_settings(stale, true));
    CHECK(s.find_certificate("ex")->value().next_check == 0);
  });
}

TEST_CASE("store: revocation marks the serial, makes the record due, and a new serial clears it") {
  for_each_backend([&](agent::Store& s) {
    agent::CertificateRecord c;
    c.name = "example";
    c.domains = {"example.com"};
    c.serial = "0abc";
    c.not_before = 1'700'000'000;
    c.not_after = 1'900'000'000;
    c.next_check = 1'800'000'000;
    c.consecutive_failures = 2;
    REQUIRE(s.upsert_certificate(c));
    CHECK_FALSE(c.revoked());

    REQUIRE(s.mark_revoked("example", "0abc"));
    auto r = s.find_certificate("example");
    REQUIRE(r);
    REQUIRE(r->has_value());
    CHECK((*r)->revoked());
    CHECK((*r)->revoked_serial == "0abc");
    CHECK((*r)->next_check == 0);            // due now
    CHECK((*r)->consecutive_failures == 2);  // nothing else touched
    auto m = s.certificate_metrics();
    REQUIRE(m);
    REQUIRE(m->size() == 1);
    CHECK(m->front().revoked);

    // The replacement has another serial: no longer revoked, and upsert keeps the column.
    agent::CertificateRecord renewed = **r;
    renewed.serial = "0def";
    REQUIRE(s.upsert_certificate(renewed));
    auto after = s.find_certificate("example");
    REQUIRE(after);
    CHECK_FALSE((*after)->revoked());
    CHECK((*after)->revoked_serial == "0abc");
    CHECK_FALSE(s.certificate_metrics()->front().revoked);

    REQUIRE(s.upsert_account({"https://ca.test/dir", "/k", "https://ca.test/acct/1", ""}));
    REQUIRE(s.remove_account("https://ca.test/dir"));
    CHECK_FALSE(s.find_account("https://ca.test/dir")->has_value());
  });
}

TEST_CASE(
    "store: per-certificate window, preferred chain and profile round-trip and follow the config") {
  for_each_backend([&](agent::Store& s) {
    agent::CertificateRecord c;
    c.name = "example";
    c.domains = {"example.com"};
    c.renew_before_days = 10;
    c.preferred_chain = "ISRG Root X1";
    c.profile = "shortlived";
    c.serial = "0abc";
    REQUIRE(s.upsert_certificate(c));
    auto r = s.find_certificate("example");
    REQUIRE(r);
    CHECK((*r)->renew_before_days == 10);
    CHECK((*r)->preferred_chain == "ISRG Root X1");
    CHECK((*r)->profile == "shortlived");
    CHECK(s.certificate_metrics()->front().renew_before_days == 10);

    // A config reload rewrites them with the other config-owned settings.
    agent::CertificateRecord cfg = c;
    cfg.renew_before_days = 0;
    cfg.preferred_chain.clear();
    cfg.profile = "classic";
    cfg.serial = "ignored";  // not config-owned: untouched
    REQUIRE(s.update_certificate_settings(cfg, false));
    r = s.find_certificate("example");
    CHECK((*r)->renew_before_days == 0);
    CHECK((*r)->preferred_chain.empty());
    CHECK((*r)->profile == "classic");
    CHECK((*r)->serial == "0abc");
  });
}

// Issue 13 finding 3: the database is private to its owner.
TEST_CASE("store: the database and its -wal/-shm files are created 0600 whatever the umask") {
  TempDir dir;
  const std::string db = dir.path + "/acmectl.db";
  const mode_t old_umask = umask(022);
  auto s = agent::Store::open(db);
  umask(old_umask);
  REQUIRE(s);
  REQUIRE((*s)->upsert_account({"https://ca.test/dir", "/k", "https://ca.test/acct/1", ""}));
  for (const char* suffix : {"", "-wal", "-shm"}) {
    struct stat st {};
    REQUIRE(stat((db + suffix).c_str(), &st) == 0);
    CHECK_MESSAGE((st.st_mode & 0777) == 0600, std::string(db + suffix));
  }
}

TEST_CASE("store: an existing database readable by others is made private on open") {
  TempDir dir;
  const std::string db = dir.path + "/acmectl.db";
  { REQUIRE(agent::Store::open(db)); }
  REQUIRE(chmod(db.c_str(), 0644) == 0);
  REQUIRE(agent::Store::open(db));
  struct stat st {};
  REQUIRE(stat(db.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

// Issue 13 finding 10: a failed write names the database.
namespace {

// add_event with the process's file size limit at `limit` bytes (SIGXFSZ ignored): a write
// past it fails with EFBIG. (SQLite retries a short write, so this cannot stand for a full
// disk, which it reports as SQLITE_FULL: tests/integration/disk_full.sh checks that case.)
acme::Result<void> add_event_with_file_limit(agent::Store& s, rlim_t limit) {
  struct rlimit old_limit {};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = limit;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  auto r = s.add_event({"ex", "failed", 1, std::string(20000, 'x')});
  setrlimit(RLIMIT_FSIZE, &old_limit);
  signal(SIGXFSZ, old_handler);
  return r;
}

}  // namespace

TEST_CASE("store: a disk I/O error names the database file") {
  TempDir dir;
  const std::string db = dir.path + "/acmectl.db";
  auto s = agent::Store::open(db);
  REQUIRE(s);
  auto r = add_event_with_file_limit(**s, 1);
  REQUIRE_FALSE(r);
  INFO(r.error().message);
  CHECK(r.error().message.rfind("store: ", 0) == 0);
  CHECK(r.error().message.find("disk I/O error (" + db) != std::string::npos);
  CHECK(add_event_with_file_limit(**s, RLIM_INFINITY));  // usable again once writes work
}

TEST_CASE("store: the issuing CA and the per-CA health round-trip") {
  for_each_backend([&](agent::Store& st) {
    agent::CertificateRecord c;
    c.name = "x";
    c.domains = {"x.test"};
    c.out_dir = "/o/x";
    c.server = "https://primary.test/dir";
    c.issued_by = "https://backup.test/dir";
    REQUIRE(st.upsert_certificate(c));
    auto back = st.find_certificate("x");
    REQUIRE(back);
    REQUIRE(*back);
    CHECK((*back)->issued_by == "https://backup.test/dir");
    auto metrics = st.certificate_metrics();
    REQUIRE(metrics);
    REQUIRE(metrics->size() == 1);
    CHECK(metrics->front().issued_by == "https://backup.test/dir");

    auto fresh = st.ca_health("https://primary.test/dir");
    REQUIRE(fresh);
    CHECK(fresh->server == "https://primary.test/dir");
    CHECK(fresh->consecutive_failures == 0);
    CHECK(fresh->unavailable_until == 0);
    for (int i = 0; i < 2; ++i) {
      auto h = st.update_ca_health("https://primary.test/dir", [](agent::CaHealth& health) {
        health.consecutive_failures += 1;
        health.unavailable_until = 500;
        health.last_error = "connect: refused";
      });
      REQUIRE(h);
      CHECK(h->consecutive_failures == i + 1);
    }
    auto all = st.all_ca_health();
    REQUIRE(all);
    REQUIRE(all->size() == 1);
    CHECK(all->front().consecutive_failures == 2);
    CHECK(all->front().unavailable_until == 500);
    CHECK(all->front().last_error == "connect: refused");
  });
}

// ---- PostgreSQL only (ACMECTL_TEST_PG_URL) -------------------------------------------

namespace {

// The URL with another database name (postgresql://u@h:p/DB?opts).
std::string with_database(const std::string& url, const std::string& db) {
  const auto authority = url.find("://");
  const auto slash = url.find('/', authority == std::string::npos ? 0 : authority + 3);
  if (slash == std::string::npos) return url + "/" + db;
  const auto query = url.find('?', slash);
  return url.substr(0, slash + 1) + db + (query == std::string::npos ? "" : url.substr(query));
}

// A connection for what the store never does itself (CREATE DATABASE, cutting sessions).
std::unique_ptr<agent::pg::Connection> admin(const std::string& url) {
  REQUIRE(agent::pq::load());
  auto c = std::make_unique<agent::pg::Connection>("test", url, "");
  auto r = c->connect();
  REQUIRE_MESSAGE(r, (r ? std::string() : r.error().message));
  return c;
}

// A database of its own, dropped at the end (after every store on it was closed).
struct ScratchDatabase {
  std::string base_url, name, url;
  explicit ScratchDatabase(const std::string& base) : base_url(base) {
    name = "acmectl_store_test_" + std::to_string(::getpid()) + "_" +
           std::to_string(std::time(nullptr));
    url = with_database(base, name);
    auto a = admin(base_url);
    REQUIRE(a->run("CREATE DATABASE " + name, {}));
  }
  ~ScratchDatabase() {
    agent::pg::Connection a("test", base_url, "");
    if (a.connect()) (void)a.run("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", {});
  }
};

}  // namespace

TEST_CASE("store (postgresql): two hosts in one database never see each other's rows") {
  const char* url = pg_url();
  if (url == nullptr) {
    MESSAGE("skipped: set ACMECTL_TEST_PG_URL to run it");
    return;
  }
  auto a_opened = open_pg(url, unique_host("a"));
  auto b_opened = open_pg(url, unique_host("b"));
  REQUIRE(a_opened);
  REQUIRE(b_opened);
  agent::Store& a = **a_opened;
  agent::Store& b = **b_opened;

  // The same certificate name on both hosts, with each host's own schedule and outputs.
  agent::CertificateRecord c;
  c.name = "shared";
  c.domains = {"shared.test"};
  c.server = "https://ca.test/dir";
  c.out_dir = "/a/live/shared";
  c.serial = "aa";
  c.next_check = 100;
  REQUIRE(a.upsert_certificate(c));
  c.out_dir = "/b/live/shared";
  c.serial = "bb";
  c.next_check = 5000;
  c.consecutive_failures = 4;
  c.hook_pending = true;
  REQUIRE(b.upsert_certificate(c));
  agent::CertificateRecord only_b = c;
  only_b.name = "only-b";
  REQUIRE(b.upsert_certificate(only_b));

  auto ra = a.find_certificate("shared");
  auto rb = b.find_certificate("shared");
  REQUIRE(ra);
  REQUIRE(rb);
  REQUIRE(ra->has_value());
  REQUIRE(rb->has_value());
  CHECK((*ra)->out_dir == "/a/live/shared");
  CHECK((*ra)->serial == "aa");
  CHECK((*ra)->consecutive_failures == 0);
  CHECK_FALSE((*ra)->hook_pending);
  CHECK((*rb)->out_dir == "/b/live/shared");
  CHECK((*rb)->consecutive_failures == 4);
  CHECK((*rb)->hook_pending);
  CHECK(a.list_certificates()->size() == 1);
  CHECK(b.list_certificates()->size() == 2);
  CHECK_FALSE(a.find_certificate("only-b")->has_value());

  // Schedules: each host's due list and next check are its own.
  CHECK(*a.due_certificates(1000, 10) == std::vector<std::string>{"shared"});
  CHECK(b.due_certificates(1000, 10)->empty());
  CHECK(*a.next_check_after(1000) == 0);
  CHECK(*b.next_check_after(1000) == 5000);

  // History and counters.
  REQUIRE(a.add_event({"shared", "renewed", 10, "on a"}));
  REQUIRE(b.add_event({"shared", "failed", 20, "on b"}));
  REQUIRE(b.add_event({"shared", "failed", 30, "on b again"}));
  auto ea = a.events("shared");
  REQUIRE(ea);
  REQUIRE(ea->size() == 1);
  CHECK(ea->front().detail == "on a");
  CHECK(b.events("shared")->size() == 2);
  auto ma = a.certificate_metrics();
  auto mb = b.certificate_metrics();
  REQUIRE(ma);
  REQUIRE(mb);
  REQUIRE(ma->size() == 1);
  CHECK(ma->front().renewals_success == 1);
  CHECK(ma->front().renewals_failure == 0);
  REQUIRE(mb->size() == 2);
  CHECK(mb->at(1).name == "shared");
  CHECK(mb->at(1).renewals_failure == 2);

  // Accounts, orders, CA health, settings, revocation and deletion stay per host.
  REQUIRE(a.upsert_account({"https://ca.test/dir", "/a/state/key", "https://ca.test/acct/a", ""}));
  CHECK_FALSE(b.find_account("https://ca.test/dir")->has_value());
  REQUIRE(b.set_order("shared", "https://ca.test/order/b", "pending"));
  CHECK_FALSE(a.find_order("shared")->has_value());
  REQUIRE(a.update_ca_health("https://ca.test/dir",
                             [](agent::CaHealth& h) { h.consecutive_failures = 7; }));
  CHECK(b.ca_health("https://ca.test/dir")->consecutive_failures == 0);
  CHECK(b.all_ca_health()->empty());
  CHECK(a.all_ca_health()->size() == 1);
  agent::CertificateRecord settings = c;
  settings.deploy_hook = "/bin/true";
  REQUIRE(a.update_certificate_settings(settings, true));
  CHECK(b.find_certificate("shared")->value().deploy_hook.empty());
  CHECK(b.find_certificate("shared")->value().next_check == 5000);
  REQUIRE(a.mark_revoked("shared", "aa"));
  CHECK(b.find_certificate("shared")->value().revoked_serial.empty());
  REQUIRE(a.set_managed("shared", false));
  CHECK(b.find_certificate("shared")->value().managed);
  REQUIRE(a.delete_certificate("shared"));
  CHECK(b.find_certificate("shared")->has_value());
  REQUIRE(a.remove_account("https://ca.test/dir"));
  REQUIRE(b.upsert_account({"https://ca.test/dir", "/b/state/key", "https://ca.test/acct/b", ""}));
  CHECK(b.find_account("https://ca.test/dir")->value().key_path == "/b/state/key");
}

TEST_CASE("store (postgresql): an empty database is migrated once; reopening changes nothing") {
  const char* url = pg_url();
  if (url == nullptr) {
    MESSAGE("skipped: set ACMECTL_TEST_PG_URL to run it");
    return;
  }
  ScratchDatabase db(url);
  {
    auto first = open_pg(db.url, "h1");
    REQUIRE_MESSAGE(first, (first ? std::string() : first.error().message));
    CHECK((*first)->schema_version() == 1);
    agent::CertificateRecord c;
    c.name = "kept";
    c.domains = {"kept.test"};
    REQUIRE((*first)->upsert_certificate(c));
    // Opening again while the first is open migrates nothing and loses nothing.
    auto second = open_pg(db.url, "h1");
    REQUIRE(second);
    CHECK((*second)->schema_version() == 1);
    CHECK((*second)->find_certificate("kept")->has_value());
  }
  auto a = admin(db.url);
  auto v = a->run("SELECT version FROM acmectl_host_schema", {});
  REQUIRE(v);
  REQUIRE(agent::pg::rows(*v) == 1);  // one version row, not one per open
  CHECK(agent::pg::integer(*v, 0, 0) == 1);

  // A connection cut under the store (what a PostgreSQL restart does to every session):
  // the next call reconnects and retries, plain statements and transactions alike.
  auto store = open_pg(db.url, "h1");
  REQUIRE(store);
  REQUIRE(
      a->run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE datname = current_database() AND pid <> pg_backend_pid()",
             {}));
  auto found = (*store)->find_certificate("kept");
  REQUIRE_MESSAGE(found, (found ? std::string() : found.error().message));
  CHECK(found->has_value());
  REQUIRE(
      a->run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE datname = current_database() AND pid <> pg_backend_pid()",
             {}));
  auto added = (*store)->add_event({"kept", "renewed", 5, "after a cut"});
  REQUIRE_MESSAGE(added, (added ? std::string() : added.error().message));
  CHECK((*store)->certificate_metrics()->front().renewals_success == 1);
  store->reset();

  // A schema from a newer acmectl is refused, not touched.
  REQUIRE(a->run("UPDATE acmectl_host_schema SET version = 99", {}));
  auto newer = open_pg(db.url, "h1");
  REQUIRE_FALSE(newer);
  CHECK(newer.error().message ==
        "store: schema version 99 is newer than this acmectl understands (1): upgrade acmectl "
        "on this host");
  a.reset();
}
