#pragma once
// One libpq connection with what every PostgreSQL-backed store needs: statements with text
// parameters, a reconnect and one retry when the connection was lost (a PostgreSQL restart
// or failover under a running agent), transactions retried once as a whole, and numbered
// schema migrations under an advisory transaction lock. Not thread-safe: one per thread.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "acme/result.hpp"
#include "fleet/libpq.hpp"

namespace agent::pg {

struct ResultFree {
  void operator()(PGresult* r) const noexcept { pq::fn().PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultFree>;

// Cell accessors (0-based row and column).
std::string text(const PgResult& r, int row, int col);
int64_t integer(const PgResult& r, int row, int col);
int rows(const PgResult& r);

class Connection {
 public:
  // label names the store in messages ("store postgresql://u:***@h/db: ...").
  Connection(std::string label, std::string url, std::string password);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  acme::Result<void> connect();
  bool broken() const;

  // One statement (several when params is empty: PQexec). Outside a transaction, a lost
  // connection is re-established and the statement retried once (every caller's statement
  // is idempotent); inside one, the error goes to transaction(), which retries the whole.
  acme::Result<PgResult> run(const std::string& sql, const std::vector<std::string>& params);

  // BEGIN, body, COMMIT; ROLLBACK when the body fails. When the connection was lost, the
  // transaction (rolled back by the server) reconnects and runs once more: body must be
  // re-runnable from scratch.
  template <typename F>
  auto transaction(F&& body) -> decltype(body()) {
    for (int attempt = 0;; ++attempt) {
      auto r = attempt_transaction(body);
      if (r || attempt > 0 || !broken()) return r;
      if (auto c = connect(); !c) return r;
    }
  }

  // Brings the schema recorded in version_table to migrations.size() under
  // pg_advisory_xact_lock(lock_key): entry i takes it from version i to i+1. A database
  // newer than this acmectl is refused. Returns the version.
  acme::Result<int> migrate(const std::string& version_table, int64_t lock_key,
                            const std::vector<const char*>& migrations);

  PGconn* get() const { return conn_.get(); }
  acme::Error error(const std::string& what) const;

 private:
  struct ConnFree {
    void operator()(PGconn* c) const noexcept { pq::fn().PQfinish(c); }
  };
  template <typename F>
  auto attempt_transaction(F& body) -> decltype(body()) {
    ACME_CHECK(run("BEGIN", {}));
    in_transaction_ = true;
    auto r = body();
    in_transaction_ = false;
    if (!r) {
      if (!broken()) (void)run("ROLLBACK", {});
      return r;
    }
    if (auto c = run("COMMIT", {}); !c) return std::move(c).error();
    return r;
  }
  acme::Result<PgResult> run_once(const std::string& sql, const std::vector<std::string>& params);

  std::string label_, url_, password_;
  std::unique_ptr<PGconn, ConnFree> conn_;
  bool in_transaction_ = false;
};

}  // namespace agent::pg
