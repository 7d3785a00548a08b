#pragma once
// The agent's store: accounts per ACME directory, certificates, in-flight orders, an event
// history with counters, and per-CA health. An interface with two backends (below).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acme/result.hpp"

namespace agent {

using acme::Result;

struct AccountRecord {
  std::string directory_url;
  std::string key_path;
  std::string account_url;
  std::string contact;
};

struct CertificateRecord {
  std::string name;
  std::vector<std::string> domains;
  std::string key_type = "ec256";
  std::string challenge = "http-01";
  std::string http01_listen;
  std::string webroot;
  std::string out_dir;  // the directory holding cert.pem etc. (OUT/NAME)
  std::string server;   // ACME directory URL
  std::string deploy_hook;
  std::string challenge_settings;  // JSON of ChallengeSettings (DNS-01 options etc.)
  int64_t not_before = 0;          // unix seconds
  int64_t not_after = 0;
  std::string serial;
  std::string ari_cert_id;
  int64_t ari_chosen_time = 0;
  int64_t next_check = 0;
  int consecutive_failures = 0;
  int64_t next_attempt = 0;
  std::string last_error;
  int64_t last_success = 0;
  int64_t ari_window_start = 0;  // the RFC 9773 window ari_chosen_time was picked in
  int64_t ari_window_end = 0;
  bool hook_pending = false;     // the deploy hook failed after an install: retry it
  std::string ca_bundle;         // extra roots for the CA's TLS, as given at issue time
  std::string revoked_serial;    // `acmectl revoke` revoked the certificate with this serial
  int renew_before_days = 0;     // this certificate's window in days; 0: the agent's
  std::string preferred_chain;   // issuer CN substring of the chain to install; "": default
  std::string profile;           // ACME profile (draft-ietf-acme-profiles); "": CA default
  std::string origin = "issue";  // "issue" (acmectl issue) or "config" ([[certificate]])
  bool managed = true;           // false: gone from the config; kept, no longer renewed
  std::string issued_by;         // directory URL of the CA that issued the installed one
  // Extra outputs beside the PEM files (stored as one JSON column, `outputs`):
  bool pkcs12 = false;               // also OUT/NAME/certificate.p12 (0600)
  std::string pkcs12_password_file;  // its password (first line); "": empty password
  bool reuse_key = false;            // renewals keep the installed private key (DANE/TLSA pins)
  std::string csr_pem;               // the user's CSR (--csr): every order finalizes with it
  int chain_depth = 0;               // certificates in the installed chain, the leaf included
  int64_t chain_bytes = 0;           // their DER sizes summed (what a TLS handshake carries)
  int64_t persist_until = 0;         // dns-persist-01: the record's persistUntil (0: none)
  // The installed certificate is the revoked one: it must be replaced now.
  bool revoked() const { return !serial.empty() && revoked_serial == serial; }
};

// What /metrics needs of every certificate, read in one indexed-free scan.
struct CertificateMetrics {
  std::string name;
  std::string serial;
  int64_t not_before = 0;
  int64_t not_after = 0;
  int64_t ari_chosen_time = 0;
  int64_t last_success = 0;
  int consecutive_failures = 0;
  bool hook_pending = false;
  int64_t renewals_success = 0;
  int64_t renewals_failure = 0;
  int64_t hooks_success = 0;
  int64_t hooks_failure = 0;
  bool revoked = false;       // the installed certificate was revoked
  int renew_before_days = 0;  // 0: the agent's
  std::string issued_by;      // directory URL of the issuing CA ("" before any issue)
  int64_t persist_until = 0;  // dns-persist-01 record's persistUntil (0: none or not persist)
};

// How a CA has been answering, shared by every certificate (pipeline/ca_choice.hpp).
struct CaHealth {
  std::string server;  // directory URL
  int consecutive_failures = 0;
  int64_t unavailable_until = 0;  // orders skip this CA (when another is left) until then
  int64_t last_failure = 0;
  int64_t last_success = 0;
  std::string last_error;
};

struct Event {
  std::string cert_name;
  std::string kind;  // obtained, renewed, failed, hook_ran, hook_failed
  int64_t at = 0;
  std::string detail;
};

// The agent's per-host store. Two backends: SqliteStore (store/sqlite_store.hpp, the
// embedded default at STATE_DIR/acmectl.db) and PostgresStore (store/postgres_store.hpp,
// chosen by [store] url: this host's rows in the fleet's database, keyed by agent_id).
// store/open_store.hpp picks one from the config. Not shared between threads: open one
// per thread (a SQLite or libpq connection each).
class Store {
 public:
  // The SQLite store at path (created and migrated if needed): SqliteStore::open.
  static Result<std::unique_ptr<Store>> open(const std::string& path);
  Store() = default;
  virtual ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The schema version migrations brought the database to (-1 when it cannot be read).
  virtual int schema_version() const = 0;
  virtual Result<std::optional<AccountRecord>> find_account(const std::string& directory_url) = 0;
  virtual Result<void> upsert_account(const AccountRecord& account) = 0;
  // Records that the certificate with this serial was revoked and makes the record due
  // now, touching nothing else (a renewal may be writing the rest).
  virtual Result<void> mark_revoked(const std::string& name, const std::string& serial) = 0;
  // Forgets the account of a directory (after deactivation): the next use registers anew.
  virtual Result<void> remove_account(const std::string& directory_url) = 0;

  virtual Result<std::optional<CertificateRecord>> find_certificate(const std::string& name) = 0;
  virtual Result<std::vector<CertificateRecord>> list_certificates() = 0;
  virtual Result<void> upsert_certificate(const CertificateRecord& cert) = 0;
  virtual Result<void> delete_certificate(const std::string& name) = 0;
  // A certificate gone from the config stops being renewed (and shows as unmanaged).
  virtual Result<void> set_managed(const std::string& name, bool managed) = 0;
  // Updates only what the config owns (names, key type, challenge, output, server, hook,
  // CA bundle), never the issued state a concurrent renewal may have just written; with
  // due_now, also makes the certificate due (next_check = 0).
  virtual Result<void> update_certificate_settings(const CertificateRecord& cert, bool due_now) = 0;
  // Names whose next_check (or backoff) has come, soonest first; and the earliest future
  // next_check (0 when none), so the scheduler knows how long it may sleep.
  virtual Result<std::vector<std::string>> due_certificates(int64_t now, int limit) = 0;
  virtual Result<int64_t> next_check_after(int64_t now) = 0;

  virtual Result<void> set_order(const std::string& cert_name, const std::string& order_url,
                                 const std::string& state) = 0;
  virtual Result<std::optional<std::string>> find_order(const std::string& cert_name) = 0;
  virtual Result<void> clear_order(const std::string& cert_name) = 0;

  // Records an event and bumps the certificate's counters (renewals, hooks) in the same
  // transaction, so /metrics counters survive restarts.
  virtual Result<void> add_event(const Event& event) = 0;
  virtual Result<std::vector<CertificateMetrics>> certificate_metrics() = 0;
  virtual Result<std::vector<Event>> events(const std::string& cert_name, int limit = 50) = 0;

  // Per-CA health (a CA never seen reads as healthy). update_ca_health reads, applies
  // `change` and writes in one transaction, so concurrent workers never lose a count.
  virtual Result<CaHealth> ca_health(const std::string& server) = 0;
  virtual Result<CaHealth> update_ca_health(const std::string& server,
                                            const std::function<void(CaHealth&)>& change) = 0;
  virtual Result<std::vector<CaHealth>> all_ca_health() = 0;
};

}  // namespace agent
