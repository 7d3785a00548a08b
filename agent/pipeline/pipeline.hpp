#pragma once
// ONE path per certificate, used by `acmectl issue`, `acmectl renew` and the agent alike
// (lego's cmd/internal/root/process.go is the model): take the certificate's lock, re-read
// its record, run a hook still owed, decide (renew if due, obtain if never issued), check
// locally what can be checked, order (resuming one a crash interrupted), install the files
// atomically, record the result, then run the deploy hook -- every outcome through the one
// event sink.
//
// One Pipeline per thread: it owns ACME sessions (one connection per CA) and is not shared.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "acme/challenge.hpp"
#include "acme/clock.hpp"
#include "acme/tls_alpn01.hpp"
#include "config/config.hpp"
#include "events/event_sink.hpp"
#include "fleet/fleet_store.hpp"
#include "session/options.hpp"
#include "session/session.hpp"
#include "store/store.hpp"

namespace agent {

struct PipelineSettings {
  std::string state_dir;  // absolute
  GlobalOptions acme;     // default server, ca_bundle, email, agree_tos
  int renew_before_days = 30;
  std::chrono::seconds check_interval{3600};
  std::chrono::seconds order_timeout{300};
  // The always-on responder of the agent, used by http-01 certificates that have neither a
  // webroot nor a listen address of their own. Without one (a one-shot command), such a
  // certificate binds `shared_listen` ([agent] http01_listen; default ":80") for its order.
  acme::Http01Responder* shared_responder = nullptr;
  std::string shared_listen;
  // Likewise for tls-alpn-01 ([agent] tls_alpn_listen; default ":443").
  acme::TlsAlpn01Responder* shared_tls_responder = nullptr;
  std::string shared_tls_listen;
  acme::Clock* clock = nullptr;    // default: the system clock
  HttpClientFactory http_factory;  // default: the real HTTP client
  // One-shot commands print a failure as their error line: log it at info, not warn.
  bool quiet_failures = false;
  // The served-certificate check of a certificate (verify_endpoints ...); none: no check.
  std::function<ServeCheckConfig(const std::string& name)> serve_check;
  // A PostgreSQL fleet store ([store] url): leases decide which agent renews, results are
  // shared and installed from it (docs/fleet.md). Disabled when its url is empty.
  FleetSettings fleet;
};

enum class Outcome {
  kNotDue,      // nothing to do before next_check
  kBackoff,     // a previous failure's backoff has not expired
  kLocked,      // another process is renewing it right now
  kRenewed,     // new certificate installed (and hooks ran)
  kHookFailed,  // installed, but the deploy hook failed (retried on the next check)
  kFailed,      // could not renew; backoff recorded
};

const char* to_string(Outcome o) noexcept;
Outcome outcome_from_string(std::string_view s) noexcept;

struct RunOptions {
  bool force = false;  // renew now, due or not (a backoff too)
  bool ari = true;     // ask the CA's renewal information (RFC 9773) when deciding
};

struct RunResult {
  Outcome outcome = Outcome::kNotDue;
  std::string message;
  bool installed = false;  // new files are in place (the post hook should run)
  bool dry_run = false;    // a dry run: the CA issued, nothing was written (outcome kRenewed)
  std::chrono::system_clock::time_point next_check;
  // Of the certificate just installed (when installed).
  std::string issuer;
  std::string order_url;
  std::string certificate_url;
};

struct RollbackResult {
  std::string from_serial;  // what was installed
  std::string serial;       // what is installed now
  std::string version;      // "vM" under OUT/.NAME.d
  int64_t not_after = 0;
  int64_t paused_until = 0;  // `acmectl rollback`: no renewal before this (unix seconds)
  std::string hook_error;    // the deploy hook failed (it stays owed); "" when it ran or none
};

class Pipeline {
 public:
  Pipeline(Store& store, EventSink& events, PipelineSettings settings);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  RunResult run(const std::string& name, const RunOptions& options);
  // `--dry-run`: the whole flow against the CA for this record (due or not) -- account,
  // order, challenges, finalize, download -- with nothing written locally: no store row or
  // event, no files, no hooks, no pending key, no lock file (see use_account_for_dry_run
  // for the account). The record need not be in the store.
  RunResult dry_run(const CertificateRecord& rec);

  // `acmectl rollback NAME`: under the certificate's lock, points OUT/NAME at the previous
  // kept version with one atomic switch, records it, runs the deploy hook, and pauses
  // automatic renewal for a while (`renew --force` renews at once). Refused, changing
  // nothing, for an unknown name, no earlier version, or an expired previous certificate.
  acme::Result<RollbackResult> rollback(const std::string& name);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agent
