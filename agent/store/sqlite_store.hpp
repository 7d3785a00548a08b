#pragma once
// The embedded SQLite store at STATE_DIR/acmectl.db: the default, and all a single host
// needs. WAL mode and a busy timeout make concurrent CLI + agent use safe. Schema changes go
// through PRAGMA user_version migrations (store.cpp).

#include <memory>
#include <string>

#include "store/store.hpp"

struct sqlite3;

namespace agent {

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed, 0600) the database at path and migrates it to the current
  // schema. ":memory:" is a private in-memory database.
  static Result<std::unique_ptr<Store>> open(const std::string& path);
  ~SqliteStore() override;

  int schema_version() const override;
  Result<std::optional<AccountRecord>> find_account(const std::string& directory_url) override;
  Result<void> upsert_account(const AccountRecord& account) override;
  Result<void> mark_revoked(const std::string& name, const std::string& serial) override;
  Result<void> remove_account(const std::string& directory_url) override;
  Result<std::optional<CertificateRecord>> find_certificate(const std::string& name) override;
  Result<std::vector<CertificateRecord>> list_certificates() override;
  Result<void> upsert_certificate(const CertificateRecord& cert) override;
  Result<void> delete_certificate(const std::string& name) override;
  Result<void> set_managed(const std::string& name, bool managed) override;
  Result<void> update_certificate_settings(const CertificateRecord& cert, bool due_now) override;
  Result<std::vector<std::string>> due_certificates(int64_t now, int limit) override;
  Result<int64_t> next_check_after(int64_t now) override;
  Result<void> set_order(const std::string& cert_name, const std::string& order_url,
                         const std::string& state) override;
  Result<std::optional<std::string>> find_order(const std::string& cert_name) override;
  Result<void> clear_order(const std::string& cert_name) override;
  Result<void> add_event(const Event& event) override;
  Result<std::vector<CertificateMetrics>> certificate_metrics() override;
  Result<std::vector<Event>> events(const std::string& cert_name, int limit) override;
  Result<CaHealth> ca_health(const std::string& server) override;
  Result<CaHealth> update_ca_health(const std::string& server,
                                    const std::function<void(CaHealth&)>& change) override;
  Result<std::vector<CaHealth>> all_ca_health() override;

 private:
  struct DbCloser {
    void operator()(sqlite3* db) const noexcept;
  };
  explicit SqliteStore(sqlite3* db);
  Result<void> exec(const std::string& sql);
  Result<void> migrate();
  std::unique_ptr<sqlite3, DbCloser> db_;
};

}  // namespace agent
