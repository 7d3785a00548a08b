#include "renew/renewer.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "acme/issuer.hpp"
#include "cli/challenge_setup.hpp"
#include "deploy/files.hpp"
#include "hooks/hook_runner.hpp"
#include "metrics/registry.hpp"
#include "schedule/policy.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;
using std::chrono::duration_cast;
using std::chrono::seconds;
using std::chrono::system_clock;

const char* to_string(Outcome o) noexcept {
  switch (o) {
    case Outcome::kNotDue: return "not-due";
    case Outcome::kBackoff: return "backoff";
    case Outcome::kLocked: return "locked";
    case Outcome::kRenewed: return "renewed";
    case Outcome::kHookFailed: return "hook-failed";
    case Outcome::kFailed: return "failed";
  }
  return "unknown";
}

namespace {

int64_t to_unix(system_clock::time_point t) {
  return duration_cast<seconds>(t.time_since_epoch()).count();
}
system_clock::time_point from_unix(int64_t s) { return system_clock::time_point(seconds(s)); }

// flock(2) on STATE/locks/NAME.lock: one renewal per certificate across processes. The lock
// dies with the process, so a crash never leaves a stale lock behind.
class CertLock {
 public:
  static acme::Result<std::unique_ptr<CertLock>> try_take(const std::string& state_dir,
                                                          const std::string& name) {
    ACME_CHECK(make_dirs(state_dir + "/locks", 0700));
    const std::string path = state_dir + "/locks/" + name + ".lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      return make_error(Errc::kIo, "lock " + path + ": " + std::strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return std::unique_ptr<CertLock>();
    }
    return std::unique_ptr<CertLock>(new CertLock(fd));
  }
  ~CertLock() { ::close(fd_); }
  CertLock(const CertLock&) = delete;
  CertLock& operator=(const CertLock&) = delete;

 private:
  explicit CertLock(int fd) : fd_(fd) {}
  int fd_;
};

HookContext hook_context(const CertificateRecord& rec, const std::string& event) {
  return {rec.name, rec.domains, rec.out_dir, event};
}

}  // namespace

Renewer::Renewer(Store& store, RenewerSettings settings)
    : store_(store),
      settings_(std::move(settings)),
      clock_(settings_.clock ? *settings_.clock : acme::system_clock()) {}

Renewer::~Renewer() = default;

acme::Result<cli::Session*> Renewer::session_for(const std::string& server,
                                                  const std::string& ca_bundle) {
  auto it = sessions_.find(server);
  if (it != sessions_.end()) return &it->second;
  cli::GlobalOptions g = settings_.acme;
  if (g.ca_bundle.empty()) g.ca_bundle = ca_bundle;  // as recorded when it was issued
  ACME_ASSIGN(auto s, cli::connect(g, server, &clock_));
  s.client->transport().set_observer([](const acme::RequestEvent& e) {
    metrics::Registry::instance().acme_request(e.endpoint, e.status,
                                               static_cast<double>(e.duration.count()) / 1000.0);
  });
  ACME_CHECK(cli::ensure_account(s, store_, settings_.acme, settings_.state_dir));
  auto [ins, _] = sessions_.emplace(server, std::move(s));
  return &ins->second;
}

void Renewer::record_failure(CertificateRecord& rec, const acme::Error& e, RenewResult& out) {
  const auto now = clock_.now();
  rec.consecutive_failures += 1;
  rec.last_error = e.to_string();
  const auto backoff = failure_backoff(rec.consecutive_failures, e.retry_after);
  rec.next_attempt = to_unix(now + backoff);
  rec.next_check = rec.next_attempt;
  (void)store_.upsert_certificate(rec);
  (void)store_.add_event({rec.name, "failed", to_unix(now), rec.last_error});
  out.outcome = Outcome::kFailed;
  out.message = rec.last_error;
  out.next_check = from_unix(rec.next_check);
  cli::logger("renew")->warn("cert={} failed attempt={} retry_in_s={} error=\"{}\"", rec.name,
                             rec.consecutive_failures, backoff.count(), rec.last_error);
}

RenewResult Renewer::run(const std::string& name, bool force) {
  RenewResult out;
  auto lock = CertLock::try_take(settings_.state_dir, name);
  if (!lock) {
    out.outcome = Outcome::kFailed;
    out.message = lock.error().to_string();
    return out;
  }
  if (!*lock) {
    out.outcome = Outcome::kLocked;
    out.message = "another acmectl is renewing " + name;
    return out;
  }
  // Re-read after taking the lock: another process may have renewed it meanwhile.
  auto found = store_.find_certificate(name);
  if (!found || !*found) {
    out.outcome = Outcome::kFailed;
    out.message = found ? "no certificate named " + name : found.error().to_string();
    return out;
  }
  CertificateRecord rec = **found;
  const auto now = clock_.now();

  // A deploy hook that failed after the last install is retried before anything else.
  if (rec.hook_pending && !rec.deploy_hook.empty()) {
    auto hr = run_hook(rec.deploy_hook, hook_context(rec, "renewed"), settings_.hook_timeout,
                       *cli::logger("hook"));
    rec.hook_pending = !hr;
    (void)store_.add_event({name, hr ? "hook_ran" : "hook_failed", to_unix(now),
                            hr ? rec.deploy_hook : hr.error().to_string()});
    (void)store_.upsert_certificate(rec);
    if (!hr && !force) {
      // Retry at the next check; the hook is not retried in a tight loop.
      out.outcome = Outcome::kHookFailed;
      out.message = hr.error().to_string();
      out.next_check = now + std::min<std::chrono::seconds>(settings_.check_interval,
                                                           std::chrono::seconds(600));
      rec.next_check = to_unix(out.next_check);
      (void)store_.upsert_certificate(rec);
      return out;
    }
  }

  if (!force) {
    if (rec.next_attempt > to_unix(now)) {
      if (rec.next_check < rec.next_attempt) {
        rec.next_check = rec.next_attempt;
        (void)store_.upsert_certificate(rec);
      }
      out.outcome = Outcome::kBackoff;
      out.message = "retrying after " + cli::rfc3339(rec.next_attempt) + ": " + rec.last_error;
      out.next_check = from_unix(rec.next_attempt);
      return out;
    }
    PolicyInput in;
    in.not_before = from_unix(rec.not_before);
    in.not_after = from_unix(rec.not_after);
    in.renew_before_days = window_days(rec);
    in.random01 = stable_random01(rec.serial + rec.name);
    // RFC 9773: ask the CA when it offers renewal information.
    const std::string server = rec.server.empty() ? settings_.acme.server : rec.server;
    if (!rec.ari_cert_id.empty() && rec.not_after != 0 && !rec.revoked()) {
      auto session = session_for(server, rec.ca_bundle);
      if (session && !(*session)->client->directory().renewal_info.empty()) {
        auto info = (*session)->client->renewal_info(rec.ari_cert_id);
        if (info) {
          in.ari = AriWindow{info->window_start, info->window_end};
          if (rec.ari_chosen_time != 0) {
            in.ari_chosen = from_unix(rec.ari_chosen_time);
            in.ari_chosen_in = AriWindow{from_unix(rec.ari_window_start),
                                         from_unix(rec.ari_window_end)};
          }
        } else {
          cli::logger("renew")->warn("cert={} renewal info: {}", name, info.error().to_string());
        }
      }
    }
    // A revoked certificate is replaced at once, whatever its remaining lifetime.
    const RenewalPlan plan = rec.not_after == 0 ? RenewalPlan{now, "new", std::nullopt}
                             : rec.revoked()    ? RenewalPlan{now, "revoked", std::nullopt}
                                                : plan_renewal(in);
    if (plan.new_ari_choice && in.ari) {
      rec.ari_chosen_time = to_unix(*plan.new_ari_choice);
      rec.ari_window_start = to_unix(in.ari->start);
      rec.ari_window_end = to_unix(in.ari->end);
    }
    if (!renewal_due(plan, now)) {
      const auto next = std::min(plan.renew_at, now + settings_.check_interval);
      rec.next_check = to_unix(next);
      (void)store_.upsert_certificate(rec);
      out.outcome = Outcome::kNotDue;
      out.message = "renews at " + cli::rfc3339(to_unix(plan.renew_at)) + " (" + plan.reason + ")";
      out.next_check = next;
      return out;
    }
  }
  return renew_now(rec);
}

RenewResult Renewer::renew_now(CertificateRecord& rec) {
  RenewResult out;
  auto log = cli::logger("renew");
  const auto start = clock_.steady_now();
  const std::string server = rec.server.empty() ? settings_.acme.server : rec.server;
  auto directory_url = cli::resolve_server(server);
  if (!directory_url) {
    record_failure(rec, directory_url.error(), out);
    return out;
  }
  rec.server = *directory_url;
  cli::ChallengeSettings ch = cli::challenge_settings_from_json(rec.challenge_settings);
  if (ch.challenge.empty()) ch.challenge = rec.challenge;
  auto ids = acme::normalize_identifiers(rec.domains, ch.challenge == "dns-01");
  if (!ids) {
    record_failure(rec, ids.error(), out);
    return out;
  }
  auto key_type = acme::parse_key_type(rec.key_type);
  if (!key_type) {
    record_failure(rec, key_type.error(), out);
    return out;
  }
  acme::Http01Responder* shared =
      ch.challenge == "http-01" && ch.webroot.empty() ? settings_.shared_responder : nullptr;
  auto bundle = cli::make_solver(ch, shared, &clock_);  // SIGTERM stops a DNS wait too
  if (!bundle) {
    record_failure(rec, bundle.error(), out);
    return out;
  }
  auto session = session_for(*directory_url, rec.ca_bundle);
  if (!session) {
    record_failure(rec, session.error(), out);
    return out;
  }

  // The certificate key is written (0600) before the order exists, so an order resumed
  // after a crash finalizes with the key its CSR would have used.
  const std::string pending_dir = settings_.state_dir + "/pending";
  const std::string pending_key = pending_dir + "/" + rec.name + ".key";
  acme::IssueRequest req;
  req.identifiers = *ids;
  req.key_type = *key_type;
  req.poll.timeout = settings_.order_timeout;
  req.preferred_chain = rec.preferred_chain;
  auto stored_order = store_.find_order(rec.name);
  auto existing_key = read_file(pending_key);
  if (stored_order && *stored_order && existing_key) {
    req.order_url = **stored_order;
    req.key_pem = *existing_key;
    log->info("cert={} resuming order {}", rec.name, req.order_url);
  } else {
    auto key = acme::PrivateKey::generate(*key_type);
    auto pem = key ? key->to_pem() : acme::Result<std::string>(key.error());
    if (!pem) {
      record_failure(rec, pem.error(), out);
      return out;
    }
    if (auto r = make_dirs(pending_dir, 0700); !r) {
      record_failure(rec, r.error(), out);
      return out;
    }
    if (auto r = atomic_write(pending_key, *pem, 0600); !r) {
      record_failure(rec, r.error(), out);
      return out;
    }
    req.key_pem = *pem;
  }
  // RFC 9773 §5: name the certificate this one replaces when the CA offers ARI.
  // A revoked predecessor is not "replaced" in the ARI sense: it is already dead.
  if (!(*session)->client->directory().renewal_info.empty() && !rec.revoked()) {
    req.replaces = rec.ari_cert_id;
  }
  req.on_order_created = [this, &rec](const std::string& url) {
    (void)store_.set_order(rec.name, url, "pending");
  };
  acme::Issuer issuer(*(*session)->client, *bundle->solver, clock_,
                      [&log, &rec](std::string_view step, std::chrono::milliseconds took,
                                   std::string_view detail) {
                        log->info("cert={} {} took_ms={} {}", rec.name, step, took.count(), detail);
                      });
  const int bad_nonce_before = (*session)->client->transport().bad_nonce_retries();
  auto issued = issuer.issue(req);
  metrics::Registry::instance().bad_nonce_retries(
      (*session)->client->transport().bad_nonce_retries() - bad_nonce_before);
  metrics::Registry::instance().renewal_finished(
      static_cast<double>(duration_cast<std::chrono::milliseconds>(clock_.steady_now() - start).count()) /
      1000.0);
  if (!issued) {
    if (issued.error().code == Errc::kCancelled) {
      // The agent is stopping: the order and its key stay to be resumed at the next start.
      // Not a failure: no backoff, no failure count, next_check left as it is (due).
      out.outcome = Outcome::kNotDue;
      out.message = "stopped; order kept to resume: " + issued.error().to_string();
      log->info("cert={} {}", rec.name, out.message);
      return out;
    }
    // A failed order is not worth resuming; the next attempt starts afresh.
    (void)store_.clear_order(rec.name);
    ::unlink(pending_key.c_str());
    record_failure(rec, issued.error(), out);
    return out;
  }

  const std::string out_root = rec.out_dir.substr(0, rec.out_dir.rfind('/'));
  const std::vector<FileSpec> files = {
      {"privkey.pem", issued->key_pem, 0600},
      {"cert.pem", issued->cert_pem, 0644},
      {"chain.pem", issued->chain_pem, 0644},
      {"fullchain.pem", issued->fullchain_pem, 0644},
  };
  if (auto r = install_certificate_files(out_root, rec.name, files); !r) {
    record_failure(rec, std::move(r).error().context("install"), out);
    return out;
  }
  (void)store_.clear_order(rec.name);
  ::unlink(pending_key.c_str());

  const bool first = rec.not_after == 0;
  const auto now = clock_.now();
  rec.not_before = to_unix(issued->info.not_before);
  rec.not_after = to_unix(issued->info.not_after);
  rec.serial = issued->info.serial_hex;
  rec.ari_cert_id = issued->info.ari_cert_id;
  rec.ari_chosen_time = rec.ari_window_start = rec.ari_window_end = 0;
  rec.consecutive_failures = 0;
  rec.next_attempt = 0;
  rec.last_error.clear();
  rec.last_success = to_unix(now);
  PolicyInput in;
  in.not_before = issued->info.not_before;
  in.not_after = issued->info.not_after;
  in.renew_before_days = window_days(rec);
  in.random01 = stable_random01(rec.serial + rec.name);
  rec.next_check = to_unix(std::min(plan_renewal(in).renew_at, now + settings_.check_interval));
  const std::string event = first ? "obtained" : "renewed";
  (void)store_.add_event({rec.name, event, to_unix(now), "serial " + rec.serial});
  out.installed = true;
  out.outcome = Outcome::kRenewed;
  out.message = event + ": serial " + rec.serial + ", valid until " + cli::rfc3339(rec.not_after);
  log->info("cert={} {} serial={} not_after={} took_ms={}", rec.name, event, rec.serial,
            cli::rfc3339(rec.not_after),
            duration_cast<std::chrono::milliseconds>(clock_.steady_now() - start).count());

  rec.hook_pending = false;
  if (!rec.deploy_hook.empty()) {
    auto hr = run_hook(rec.deploy_hook, hook_context(rec, event), settings_.hook_timeout,
                       *cli::logger("hook"));
    (void)store_.add_event({rec.name, hr ? "hook_ran" : "hook_failed", to_unix(clock_.now()),
                            hr ? rec.deploy_hook : hr.error().to_string()});
    if (!hr) {
      rec.hook_pending = true;
      out.outcome = Outcome::kHookFailed;
      out.message = hr.error().to_string();
    }
  }
  (void)store_.upsert_certificate(rec);
  out.next_check = from_unix(rec.next_check);
  return out;
}

}  // namespace agent
