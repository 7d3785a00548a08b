#include "fleet/pg_conn.hpp"

#include <cstdlib>

#include "fleet/fleet_store.hpp"
#include "log/log.hpp"

namespace agent::pg {

using acme::Errc;
using acme::make_error;

namespace {

std::string one_line(std::string msg) {
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  for (char& c : msg) {
    if (c == '\n') c = ' ';
  }
  return msg;
}

}  // namespace

std::string text(const PgResult& r, int row, int col) {
  return std::string(pq::fn().PQgetvalue(r.get(), row, col),
                     static_cast<size_t>(pq::fn().PQgetlength(r.get(), row, col)));
}
int64_t integer(const PgResult& r, int row, int col) {
  return std::strtoll(pq::fn().PQgetvalue(r.get(), row, col), nullptr, 10);
}
int rows(const PgResult& r) { return pq::fn().PQntuples(r.get()); }

Connection::Connection(std::string label, std::string url, std::string password)
    : label_(std::move(label)), url_(std::move(url)), password_(std::move(password)) {}
Connection::~Connection() = default;

acme::Error Connection::error(const std::string& what) const {
  const std::string msg = conn_ ? pq::fn().PQerrorMessage(conn_.get()) : "out of memory";
  return make_error(Errc::kIo,
                    label_ + " " + redact_url(url_) + ": " + what + ": " + one_line(msg));
}

acme::Result<void> Connection::connect() {
  const char* keys[] = {"dbname", "password", "connect_timeout", "application_name", nullptr};
  const char* values[] = {url_.c_str(), password_.empty() ? nullptr : password_.c_str(), "5",
                          "acmectl", nullptr};
  if (password_.empty()) keys[1] = nullptr;  // stop the list there: libpq reads PGPASSFILE
  in_transaction_ = false;
  conn_.reset(pq::fn().PQconnectdbParams(keys, values, 1));
  if (!conn_ || pq::fn().PQstatus(conn_.get()) != CONNECTION_OK) return error("cannot connect");
  // Quiet NOTICEs ("relation already exists") out of stderr.
  pq::fn().PQsetNoticeProcessor(
      conn_.get(), [](void*, const char*) {}, nullptr);
  return acme::ok();
}

bool Connection::broken() const {
  return !conn_ || pq::fn().PQstatus(conn_.get()) != CONNECTION_OK;
}

acme::Result<PgResult> Connection::run_once(const std::string& sql,
                                            const std::vector<std::string>& params) {
  if (broken()) {
    if (in_transaction_) return error("connection lost");
    logger("store")->warn("{} {}: connection lost: reconnecting", label_, redact_url(url_));
    ACME_CHECK(connect());
  }
  std::vector<const char*> p;
  p.reserve(params.size());
  for (const auto& s : params) p.push_back(s.c_str());
  PgResult r(p.empty() ? pq::fn().PQexec(conn_.get(), sql.c_str())
                       : pq::fn().PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(p.size()),
                                               nullptr, p.data(), nullptr, nullptr, 0));
  const auto st = r ? pq::fn().PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  const std::string msg =
      r ? pq::fn().PQresultErrorMessage(r.get()) : pq::fn().PQerrorMessage(conn_.get());
  return make_error(Errc::kIo, label_ + ": " + one_line(msg));
}

acme::Result<PgResult> Connection::run(const std::string& sql,
                                       const std::vector<std::string>& params) {
  auto r = run_once(sql, params);
  if (r || in_transaction_ || !broken()) return r;
  if (auto c = connect(); !c) return r;
  return run_once(sql, params);
}

acme::Result<int> Connection::migrate(const std::string& version_table, int64_t lock_key,
                                      const std::vector<const char*>& migrations) {
  const int latest = static_cast<int>(migrations.size());
  return transaction([&]() -> acme::Result<int> {
    ACME_CHECK(run("SELECT pg_advisory_xact_lock(" + std::to_string(lock_key) + ")", {}));
    ACME_CHECK(
        run("CREATE TABLE IF NOT EXISTS " + version_table + " (version INTEGER NOT NULL)", {}));
    ACME_ASSIGN(auto v, run("SELECT version FROM " + version_table, {}));
    int version = 0;
    if (rows(v) == 0) {
      ACME_CHECK(run("INSERT INTO " + version_table + "(version) VALUES (0)", {}));
    } else {
      version = static_cast<int>(integer(v, 0, 0));
    }
    if (version > latest) {
      return make_error(Errc::kIo, label_ + ": schema version " + std::to_string(version) +
                                       " is newer than this acmectl understands (" +
                                       std::to_string(latest) + "): upgrade acmectl on this host");
    }
    for (int i = version; i < latest; ++i) {
      ACME_CHECK(run(migrations[static_cast<size_t>(i)], {}));
      ACME_CHECK(run("UPDATE " + version_table + " SET version = $1", {std::to_string(i + 1)}));
    }
    return latest;
  });
}

}  // namespace agent::pg
