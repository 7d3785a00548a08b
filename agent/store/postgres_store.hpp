#pragma once
// The per-host store in PostgreSQL ([store] url = "postgresql://..."): the same records as
// the SQLite store (accounts, certificates with their schedule and failures, orders, events
// and counters, CA health), in the fleet's database, every row keyed by the host's
// agent_id -- several agents share the database without mixing their state. Own numbered
// migrations (table acmectl_host_schema, under an advisory lock); every call reconnects
// once when the connection was lost, so a PostgreSQL restart does not stop an agent.

#include <memory>
#include <string>

#include "fleet/fleet_store.hpp"
#include "store/store.hpp"

namespace agent {

namespace pg {
class Connection;
}

class PostgresStore final : public Store {
 public:
  // Connects with settings.url (password from password_file or libpq's PGPASSFILE) and
  // migrates. The host is settings.agent_id, or this machine's hostname when empty.
  static Result<std::unique_ptr<Store>> open(const FleetSettings& settings);
  ~PostgresStore() override;

  const std::string& host() const { return host_; }

  // `acmectl store migrate`: adds a certificate this host does not have yet, with its
  // history and counters as they are (no counter bumped), in one transaction. false (and
  // nothing written) when this host has the certificate already: a migration run again
  // never overwrites what the agent has since recorded here.
  Result<bool> import_certificate(const CertificateRecord& cert, const std::vector<Event>& history,
                                  const CertificateMetrics& counters);

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
  PostgresStore(std::string host, std::unique_ptr<pg::Connection> conn);
  std::string host_;
  std::unique_ptr<pg::Connection> db_;
  int version_ = -1;
};

// What import_host_records copied.
struct HostImport {
  int certificates = 0;  // added with their history and counters
  int present = 0;       // this host had them already: left as they are
  int accounts = 0;
  int orders = 0;
  int ca_health = 0;
};

// `acmectl store migrate`: copies one host's records from its SQLite store (certificates
// with schedule, failures, history and counters; the accounts of their CAs, key paths as
// they are; in-flight orders; CA health) into `to` for that host. Idempotent: what `to`
// has already is never overwritten, so running it again copies nothing.
Result<HostImport> import_host_records(Store& from, PostgresStore& to);

}  // namespace agent
