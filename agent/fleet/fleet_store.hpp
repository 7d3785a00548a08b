#pragma once
// The fleet's shared PostgreSQL store ([store] url = "postgresql://…"): several agents,
// each with its own local SQLite store (schedule, history) and output directories, share
// through it
//   - leases: exactly one agent renews a certificate at a time; a lease carries an expiry
//     (a dead agent's lease lapses) and a generation (a fencing token: an agent whose lease
//     was taken over cannot publish);
//   - versions: every issued certificate, chain and its private key sealed with the KEK;
//     every agent installs the newest version locally (NOTIFY acmectl_versions, plus a
//     periodic check);
//   - installs: which host installed which version, when;
//   - http01_tokens: any agent's HTTP-01 responder answers a challenge another agent's
//     order presented;
//   - accounts: the ACME account is created once per fleet (advisory lock), its key sealed.
//
// One FleetStore per thread (a libpq connection is not shared). Every call reconnects when
// the connection was lost (a PostgreSQL restart or failover) and retries once.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acme/result.hpp"
#include "fleet/kek.hpp"

struct pg_conn;

namespace agent {

struct FleetSettings {
  std::string url;            // postgresql://USER@HOST:PORT/DB
  std::string password_file;  // optional; else libpq's PGPASSFILE / ~/.pgpass
  std::string kek_file;
  std::string agent_id;  // this host's name in leases and installs; default hostname
  int lease_seconds = 300;
  int poll_seconds = 60;  // fallback check for newer versions when NOTIFY is missed
  bool enabled() const { return !url.empty(); }
};

// A URL as given, with any password removed (for messages and logs).
std::string redact_url(const std::string& url);

struct FleetVersion {
  std::string cert_name;
  int64_t version = 0;
  std::string serial;
  int64_t not_before = 0;
  int64_t not_after = 0;
  std::string cert_pem, chain_pem, fullchain_pem;
  std::string key_pem;  // opened with the KEK (empty in a summary)
  std::string published_by;
};

struct FleetLease {
  std::string cert_name;
  std::string holder;
  int64_t generation = 0;
  int64_t expires_at = 0;  // unix seconds
  bool live = false;       // not expired (by the database's clock)
};

struct FleetInstall {
  std::string cert_name;
  std::string host;
  int64_t version = 0;
  std::string serial;
  int64_t installed_at = 0;
};

struct FleetAccount {
  std::string key_pem;
  std::string account_url;
  std::string contact;
};

class FleetStore {
 public:
  // Connects, migrates the schema (under an advisory lock) and compares the KEK with the
  // fleet's (the first host to connect records its fingerprint).
  static acme::Result<std::unique_ptr<FleetStore>> open(const FleetSettings& settings);
  ~FleetStore();
  FleetStore(const FleetStore&) = delete;
  FleetStore& operator=(const FleetStore&) = delete;

  const FleetSettings& settings() const { return settings_; }
  int schema_version();
  // Empty when this host's KEK is the fleet's; else the one-line reason it is not.
  const std::string& kek_mismatch() const { return kek_mismatch_; }

  // Takes the lease when it is free, expired or already ours: its generation, or nullopt
  // when another live agent holds it.
  acme::Result<std::optional<int64_t>> try_lease(const std::string& name);
  // Heartbeat: pushes the expiry of our live lease (this generation) lease_seconds ahead.
  // False when it is no longer ours (it lapsed and another agent took it, or it was
  // released): then whatever this renewal obtains will not be published.
  acme::Result<bool> extend_lease(const std::string& name, int64_t generation);
  acme::Result<void> release_lease(const std::string& name, int64_t generation);
  acme::Result<std::vector<FleetLease>> leases();

  // The newest version's number and serial (no key), nullopt when none.
  acme::Result<std::optional<FleetVersion>> latest(const std::string& name);
  // The newest version with its key opened; an error naming the KEK when it cannot be.
  acme::Result<std::optional<FleetVersion>> fetch_latest(const std::string& name);
  // Newest version number of every certificate.
  acme::Result<std::vector<std::pair<std::string, int64_t>>> latest_versions();
  // Publishes a new version if this agent still holds the lease with this generation
  // (checked under the lease row's lock, in the same transaction): the version number, or
  // an error saying the lease was lost -- then nothing was published.
  acme::Result<int64_t> publish(const std::string& name, int64_t generation, const FleetVersion& v);

  acme::Result<void> record_install(const std::string& name, int64_t version,
                                    const std::string& serial);
  acme::Result<std::vector<FleetInstall>> installs();

  acme::Result<void> put_token(const std::string& token, const std::string& key_authorization,
                               const std::string& cert_name);
  acme::Result<void> delete_token(const std::string& token);
  acme::Result<std::optional<std::string>> find_token(const std::string& token);

  // Session-level advisory lock for creating the account of a directory once per fleet.
  acme::Result<void> lock_account(const std::string& directory_url);
  void unlock_account(const std::string& directory_url) noexcept;
  acme::Result<std::optional<FleetAccount>> find_account(const std::string& directory_url);
  acme::Result<void> put_account(const std::string& directory_url, const FleetAccount& a);

  // LISTEN acmectl_versions on this connection; wait_notify waits up to `timeout_ms` for a
  // notification and returns the certificate names notified (empty on timeout). An error
  // means the connection is gone (it reconnects and listens again on the next call).
  acme::Result<void> listen();
  acme::Result<std::vector<std::string>> wait_notify(int timeout_ms);

  struct Impl;

 private:
  explicit FleetStore(FleetSettings s);
  FleetSettings settings_;
  std::optional<Kek> kek_;
  std::string kek_mismatch_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agent
