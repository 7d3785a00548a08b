#pragma once
// Renews one certificate when it is due: lock, re-read, decide, issue (resuming an order a
// crash interrupted), install, hook, record. Used by `acmectl renew` and the agent's workers.
// One Renewer per thread: it owns ACME sessions (one connection per CA) and is not shared.

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "acme/challenge.hpp"
#include "acme/clock.hpp"
#include "cli/common.hpp"
#include "store/store.hpp"

namespace agent {

struct RenewerSettings {
  std::string state_dir;
  cli::GlobalOptions acme;  // default server, ca_bundle, email, agree_tos
  int renew_before_days = 30;
  std::chrono::seconds hook_timeout{300};
  std::chrono::seconds check_interval{3600};
  std::chrono::seconds order_timeout{300};
  // The agent's always-on responder, used for http-01 certificates without a webroot.
  acme::Http01Responder* shared_responder = nullptr;
  acme::Clock* clock = nullptr;  // default: the system clock
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

struct RenewResult {
  Outcome outcome = Outcome::kNotDue;
  std::string message;
  bool installed = false;  // new files are in place (post hook should run)
  std::chrono::system_clock::time_point next_check;
};

class Renewer {
 public:
  Renewer(Store& store, RenewerSettings settings);
  ~Renewer();
  Renewer(const Renewer&) = delete;
  Renewer& operator=(const Renewer&) = delete;

  RenewResult run(const std::string& name, bool force);

 private:
  // The certificate's own renew_before_days, else the agent's.
  int window_days(const CertificateRecord& rec) const {
    return rec.renew_before_days > 0 ? rec.renew_before_days : settings_.renew_before_days;
  }
  acme::Result<cli::Session*> session_for(const std::string& server, const std::string& ca_bundle);
  RenewResult renew_now(CertificateRecord& rec);
  void record_failure(CertificateRecord& rec, const acme::Error& e, RenewResult& out);

  Store& store_;
  RenewerSettings settings_;
  acme::Clock& clock_;
  std::map<std::string, cli::Session> sessions_;
};

}  // namespace agent
