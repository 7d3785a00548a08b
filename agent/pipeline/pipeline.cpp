#include "pipeline/pipeline.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <set>

#include "acme/certificate.hpp"
#include "acme/csr.hpp"
#include "acme/host_port.hpp"
#include "acme/issuer.hpp"
#include "acme/pkcs12.hpp"
#include "base/file_lock.hpp"
#include "base/time.hpp"
#include "challenge/settings.hpp"
#include "deploy/files.hpp"
#include "deploy/permissions.hpp"
#include "events/notifier.hpp"
#include "fleet/fleet_solver.hpp"
#include "fleet/lease_keeper.hpp"
#include "log/log.hpp"
#include "pipeline/ca_choice.hpp"
#include "pipeline/serve_check.hpp"
#include "schedule/policy.hpp"
#include "session/account.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;
using std::chrono::duration_cast;
using std::chrono::seconds;

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

Outcome outcome_from_string(std::string_view s) noexcept {
  for (Outcome o : {Outcome::kNotDue, Outcome::kBackoff, Outcome::kLocked, Outcome::kRenewed,
                    Outcome::kHookFailed, Outcome::kFailed}) {
    if (s == to_string(o)) return o;
  }
  return Outcome::kFailed;
}

namespace {

// certificate.p12 for `pkcs12 = true`: the password is the first line of
// pkcs12_password_file (read at every renewal, so it can be rotated), else empty.
acme::Result<std::string> pkcs12_file(const CertificateRecord& rec, const std::string& key_pem,
                                      const std::string& fullchain_pem) {
  std::string password;
  if (!rec.pkcs12_password_file.empty()) {
    ACME_ASSIGN(password, read_file(rec.pkcs12_password_file));
    if (const auto nl = password.find_first_of("\r\n"); nl != std::string::npos) {
      password.resize(nl);
    }
  }
  return acme::make_pkcs12(key_pem, fullchain_pem, password, rec.name);
}

// draft-ietf-acme-profiles: a profile the CA does not advertise is refused here, before
// any order, rather than by the CA (or silently ignored by one that knows no profiles).
acme::Result<void> check_profile(const std::string& profile, const std::string& server,
                                 const acme::Directory& dir) {
  if (profile.empty() || dir.profiles.count(profile) > 0) return acme::ok();
  std::string offered;
  for (const auto& [name, _] : dir.profiles) offered += (offered.empty() ? "" : ", ") + name;
  return make_error(Errc::kInvalidInput,
                    "the CA at " + server + " does not offer the profile \"" + profile + "\" (" +
                        (offered.empty() ? "it advertises no profiles" : "it offers " + offered) +
                        "; see `acmectl profiles`)");
}

}  // namespace

struct Pipeline::Impl {
  Impl(Store& s, EventSink& e, PipelineSettings ps)
      : store(s),
        events(e),
        settings(std::move(ps)),
        clock(this->settings.clock ? *this->settings.clock : acme::system_clock()) {}

  Store& store;
  EventSink& events;
  PipelineSettings settings;
  acme::Clock& clock;
  std::map<std::string, Session> sessions;  // by directory URL
  std::unique_ptr<FleetStore> fleet;        // opened at first use (fleet mode only)
  int64_t lease_generation = 0;             // of the lease held during obtain()

  acme::Result<FleetStore*> fleet_store() {
    if (!fleet) {
      ACME_ASSIGN(fleet, FleetStore::open(settings.fleet));
      if (!fleet->kek_mismatch().empty()) logger("fleet")->error("{}", fleet->kek_mismatch());
    }
    return fleet.get();
  }
  // Installs the fleet's newest version when it is not the one installed here: true when
  // it did (out says so).
  acme::Result<bool> install_from_fleet(CertificateRecord& rec, FleetStore& fs, RunResult& out);
  void install_hook(CertificateRecord& rec, std::string_view kind, RunResult& out);
  RunResult fleet_failure(const std::string& name, const acme::Error& e) {
    RunResult out;
    out.outcome = Outcome::kFailed;
    out.message = e.to_string();
    logger("fleet")->warn("cert={} {}", name, out.message);
    return out;
  }

  RunResult run(const std::string& name, const RunOptions& options);
  RunResult decide(CertificateRecord& rec, const RunOptions& options);
  RunResult obtain(CertificateRecord& rec, bool dry = false);
  acme::Result<Session*> session_for(const GlobalOptions& ca, bool dry = false);
  acme::Result<std::string> certificate_key(const CertificateRecord& rec, acme::KeyType type);
  // The settings of the primary CA of rec, and of any CA it may have been issued by.
  GlobalOptions primary_options(const CertificateRecord& rec) const {
    GlobalOptions g = settings.acme;
    if (g.ca_bundle.empty()) g.ca_bundle = rec.ca_bundle;  // as recorded when it was issued
    g.server = server_of(rec);
    return g;
  }
  GlobalOptions options_for(const CertificateRecord& rec, const std::string& server) const;
  std::string issued_by(const CertificateRecord& rec) const {
    return !rec.issued_by.empty() ? rec.issued_by : rec.not_after != 0 ? server_of(rec) : "";
  }
  void note_ca(const std::string& server, const acme::Error* failure);
  acme::Result<acme::IssuedCertificate> order_at(CertificateRecord& rec, const CaCandidate& ca,
                                                 Session& session,
                                                 const std::vector<acme::Identifier>& ids,
                                                 acme::KeyType key_type, acme::Solver& solver,
                                                 bool resume, const acme::CsrInfo* csr, bool dry);
  void verify_served(CertificateRecord& rec, bool first, RunResult& out);
  acme::Result<RollbackResult> rollback_locked(CertificateRecord& rec, const std::string& reason);
  void check_expiry(const CertificateRecord& rec);
  void record_failure(CertificateRecord& rec, const acme::Error& e, RunResult& out);
  void save(const CertificateRecord& rec) {
    events.check(store.upsert_certificate(rec), "saving certificate " + rec.name);
  }
  void adopt_installed(CertificateRecord& rec);
  acme::Result<void> check_before_ordering(const CertificateRecord& rec,
                                           const ChallengeSettings& ch);
  int window_days(const CertificateRecord& rec) const {
    return rec.renew_before_days > 0 ? rec.renew_before_days : settings.renew_before_days;
  }
  std::string server_of(const CertificateRecord& rec) const {
    return rec.server.empty() ? settings.acme.server : rec.server;
  }
};

Pipeline::Pipeline(Store& store, EventSink& events, PipelineSettings settings)
    : impl_(std::make_unique<Impl>(store, events, std::move(settings))) {}

Pipeline::~Pipeline() = default;

RunResult Pipeline::run(const std::string& name, const RunOptions& options) {
  return impl_->run(name, options);
}

acme::Result<RollbackResult> Pipeline::rollback(const std::string& name) {
  auto& im = *impl_;
  ACME_ASSIGN(auto lock, try_lock_certificate(im.settings.state_dir, name));
  if (!lock) {
    return make_error(Errc::kIo, "another acmectl is renewing " + name + " right now; " +
                                     "try again when it is done");
  }
  ACME_ASSIGN(auto found, im.store.find_certificate(name));
  if (!found) return make_error(Errc::kInvalidInput, "no certificate named " + name);
  CertificateRecord rec = *found;
  ACME_ASSIGN(auto r, im.rollback_locked(rec, "acmectl rollback"));
  // Renewing at once would undo what the operator just did: pause automatic renewal for a
  // day (at most half the remaining lifetime); `acmectl renew --force` renews now.
  const int64_t now = to_unix(im.clock.now());
  r.paused_until = now + std::min<int64_t>(86400, (rec.not_after - now) / 2);
  rec.next_attempt = r.paused_until;
  rec.next_check = r.paused_until;
  rec.last_error = "rolled back from serial " + r.from_serial + " to " + r.serial +
                   " by `acmectl rollback`; `acmectl renew --force " + name + "` renews now";
  im.save(rec);
  return r;
}

RunResult Pipeline::dry_run(const CertificateRecord& record) {
  CertificateRecord rec = record;
  auto url = resolve_server(impl_->server_of(rec));
  if (url) rec.server = dry_run_directory(*url);
  return impl_->obtain(rec, /*dry=*/true);
}

acme::Result<Session*> Pipeline::Impl::session_for(const GlobalOptions& g, bool dry) {
  const std::string& server = g.server;
  const std::string key = dry ? "dry-run " + server : server;
  auto it = sessions.find(key);
  if (it != sessions.end()) return &it->second;
  ACME_ASSIGN(auto s, connect(g, server, &clock, settings.http_factory));
  metrics::Registry* registry = &events.metrics();
  s.client->transport().set_observer([registry](const acme::RequestEvent& e) {
    registry->acme_request(e.endpoint, e.status, static_cast<double>(e.duration.count()) / 1000.0);
  });
  if (dry) {
    ACME_CHECK(use_account_for_dry_run(s, &store, g));
  } else if (settings.fleet.enabled()) {
    ACME_ASSIGN(auto* fs, fleet_store());
    ACME_CHECK(ensure_fleet_account(s, store, *fs, g, settings.state_dir));
  } else {
    ACME_CHECK(ensure_account(s, store, g, settings.state_dir));
  }
  auto [ins, _] = sessions.emplace(key, std::move(s));
  return &ins->second;
}

GlobalOptions Pipeline::Impl::options_for(const CertificateRecord& rec,
                                          const std::string& server) const {
  if (auto cands = ca_candidates(server_of(rec), primary_options(rec), rec.profile); cands) {
    for (const auto& c : *cands) {
      if (c.server == server) return c.options;
    }
  }
  // A CA no longer configured (the config changed since it issued): its stored account.
  GlobalOptions g = primary_options(rec);
  g.server = server;
  return g;
}

// Records how a CA answered (nullptr: it worked) in the CA's shared health.
void Pipeline::Impl::note_ca(const std::string& server, const acme::Error* failure) {
  const int64_t now = to_unix(clock.now());
  const CaFailure kind = failure ? classify_ca_failure(*failure) : CaFailure::kNone;
  if (failure && kind == CaFailure::kNone) return;
  auto h = store.update_ca_health(server, [&](CaHealth& health) {
    if (failure) {
      note_ca_failure(health, kind, *failure, settings.acme.failover, now);
    } else {
      note_ca_success(health, now);
    }
  });
  if (!h) events.check(acme::Result<void>(h.error()), "saving the health of CA " + server);
  if (h && failure) {
    logger("renew")->log(settings.quiet_failures ? spdlog::level::info : spdlog::level::warn,
                         "ca={} failure={} consecutive={} resting_until={}", server,
                         to_string(kind), h->consecutive_failures,
                         h->unavailable_until > now ? rfc3339(h->unavailable_until) : "-");
  }
}

void Pipeline::Impl::record_failure(CertificateRecord& rec, const acme::Error& e, RunResult& out) {
  const auto now = clock.now();
  rec.consecutive_failures += 1;
  rec.last_error = e.to_string();
  // Capped by the time the installed certificate has left (short-lived certificates).
  std::optional<seconds> remaining;
  if (rec.not_after != 0) remaining = duration_cast<seconds>(from_unix(rec.not_after) - now);
  const auto backoff = failure_backoff(rec.consecutive_failures, e.retry_after, remaining);
  rec.next_attempt = to_unix(now + backoff);
  rec.next_check = rec.next_attempt;
  save(rec);
  events.emit(rec.name, event::kFailed, rec.last_error);
  events.notify({std::string(notify_kind::kFailure), rec.name, rec.domains, rec.last_error,
                 rec.consecutive_failures, rec.next_attempt, rec.not_after});
  out.outcome = Outcome::kFailed;
  out.message = rec.last_error;
  out.next_check = from_unix(rec.next_check);
  // The agent logs a failure as a warning; a one-shot command prints it as its error line,
  // so its log repeats it only at debug (-v): one line per failure on the terminal.
  logger("renew")->log(settings.quiet_failures ? spdlog::level::debug : spdlog::level::warn,
                       "cert={} failed attempt={} retry_in_s={} error=\"{}\"", rec.name,
                       rec.consecutive_failures, backoff.count(), rec.last_error);
}

// A crash between installing the files and recording them leaves a newer certificate in
// OUT/NAME than the store knows: take it as installed (and its deploy hook as owed) instead
// of ordering again.
void Pipeline::Impl::adopt_installed(CertificateRecord& rec) {
  if (rec.out_dir.empty()) return;
  // Only what this run's own key went into: the pending key (kept until the record is
  // written) is the installed privkey.pem.
  auto pending = read_file(settings.state_dir + "/pending/" + rec.name + ".key");
  if (!pending) return;
  auto installed_key = read_file(rec.out_dir + "/privkey.pem");
  if (!installed_key || *installed_key != *pending) return;
  auto pem = read_file(rec.out_dir + "/cert.pem");
  if (!pem) return;
  auto info = acme::inspect_certificate(*pem);
  if (!info || info->serial_hex == rec.serial || to_unix(info->not_after) <= rec.not_after) return;
  std::set<std::string> have(info->dns_names.begin(), info->dns_names.end());
  have.insert(info->ip_addresses.begin(), info->ip_addresses.end());
  if (have != std::set<std::string>(rec.domains.begin(), rec.domains.end())) return;
  logger("renew")->warn(
      "cert={} found serial {} installed but not recorded (interrupted run): "
      "recording it",
      rec.name, info->serial_hex);
  const bool first = rec.not_after == 0;
  rec.not_before = to_unix(info->not_before);
  rec.not_after = to_unix(info->not_after);
  rec.serial = info->serial_hex;
  rec.ari_cert_id = info->ari_cert_id;
  rec.ari_chosen_time = rec.ari_window_start = rec.ari_window_end = 0;
  rec.consecutive_failures = 0;
  rec.next_attempt = 0;
  rec.last_error.clear();
  rec.last_success = unix_now();
  rec.hook_pending = !rec.deploy_hook.empty();
  events.check(store.clear_order(rec.name), "clearing the order of " + rec.name);
  ::unlink((settings.state_dir + "/pending/" + rec.name + ".key").c_str());
  events.emit(rec.name, first ? event::kObtained : event::kRenewed,
              "serial " + rec.serial + " (recorded after an interrupted run)");
  save(rec);
}

namespace {

// "127.0.0.1:80" and "127.0.0.1:080", ":80" and "0.0.0.0:80" name one socket.
bool same_listen_address(const std::string& a, const std::string& b) {
  auto pa = acme::parse_host_port(a, "listen", true, true);
  auto pb = acme::parse_host_port(b, "listen", true, true);
  if (!pa || !pb) return a == b;
  auto host = [](const std::string& h) { return h.empty() ? std::string("0.0.0.0") : h; };
  return pa->port == pb->port && host(pa->host) == host(pb->host);
}

}  // namespace

RunResult Pipeline::Impl::run(const std::string& name, const RunOptions& options) {
  RunResult out;
  auto lock = try_lock_certificate(settings.state_dir, name);
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
  // A pending key write killed between write and rename left its temp file: ours to remove
  // now that we hold the certificate's lock.
  remove_stale_temp_files(settings.state_dir + "/pending", name + ".key");
  // Re-read after taking the lock: another process may have renewed it meanwhile.
  auto found = store.find_certificate(name);
  if (!found || !*found) {
    out.outcome = Outcome::kFailed;
    out.message = found ? "no certificate named " + name : found.error().to_string();
    return out;
  }
  CertificateRecord rec = **found;
  adopt_installed(rec);
  if (settings.fleet.enabled()) {
    auto opened = fleet_store();
    if (!opened) return fleet_failure(name, opened.error());
    FleetStore* fs = *opened;
    if (!fs->kek_mismatch().empty()) {
      return fleet_failure(name,
                           make_error(Errc::kCrypto, "not installing: " + fs->kek_mismatch()));
    }
    // A newer version another agent published is installed here first (files, deploy hook).
    auto installed = install_from_fleet(rec, *fs, out);
    if (!installed) return fleet_failure(name, installed.error());
    if (*installed && !options.force) return out;
  }
  RunResult result = decide(rec, options);
  if (!result.installed) {
    check_expiry(rec);
    // An endpoint that did not serve the installed certificate is asked once more at each
    // check, so the metric (and its alert) clears once the server was fixed by hand.
    if (events.metrics().not_served(rec.name) && settings.serve_check) {
      ServeCheckConfig once = settings.serve_check(rec.name);
      once.timeout_seconds = 1;
      for (const auto& r : check_served(once, serve_check_sni(rec.domains), rec.serial, clock)) {
        events.metrics().set_served(rec.name, r.endpoint, r.ok);
        if (r.ok)
          events.emit(rec.name, event::kServed, r.endpoint + " serves serial " + rec.serial);
      }
    }
  }
  return result;
}

RunResult Pipeline::Impl::decide(CertificateRecord& rec, const RunOptions& options) {
  RunResult out;
  const std::string& name = rec.name;
  const auto now = clock.now();

  // A deploy hook owed since the last install (it failed, or the process died while it
  // ran) is run before anything else.
  if (rec.hook_pending && !rec.deploy_hook.empty()) {
    auto hr = events.deploy_hook(rec, event::kRenewed);
    rec.hook_pending = !hr;
    if (!hr && !options.force) {
      // Retry at the next check; the hook is not retried in a tight loop.
      out.outcome = Outcome::kHookFailed;
      out.message = hr.error().to_string();
      out.next_check =
          now + std::min<std::chrono::seconds>(settings.check_interval, std::chrono::seconds(600));
      rec.next_check = to_unix(out.next_check);
      save(rec);
      return out;
    }
    save(rec);
  } else if (rec.hook_pending) {
    rec.hook_pending = false;
    save(rec);
  }

  if (!options.force) {
    if (rec.next_attempt > to_unix(now)) {
      if (rec.next_check < rec.next_attempt) {
        rec.next_check = rec.next_attempt;
        save(rec);
      }
      out.outcome = Outcome::kBackoff;
      out.message = "retrying after " + rfc3339(rec.next_attempt) + ": " + rec.last_error;
      out.next_check = from_unix(rec.next_attempt);
      return out;
    }
    PolicyInput in;
    in.not_before = from_unix(rec.not_before);
    in.not_after = from_unix(rec.not_after);
    in.renew_before_days = window_days(rec);
    in.random01 = stable_random01(rec.serial + rec.name);
    // RFC 9773: ask the CA when it offers renewal information.
    if (options.ari && !rec.ari_cert_id.empty() && rec.not_after != 0 && !rec.revoked()) {
      // Asked of the CA that issued it (RFC 9773 §4.1), unless that CA is resting.
      const std::string ca = issued_by(rec);
      auto health = store.ca_health(ca);
      auto session =
          health && !ca_available(*health, to_unix(now))
              ? acme::Result<Session*>(make_error(Errc::kNetwork, "CA " + ca + " is resting"))
              : session_for(options_for(rec, ca));
      if (!session && health && ca_available(*health, to_unix(now))) note_ca(ca, &session.error());
      if (session && !(*session)->client->directory().renewal_info.empty()) {
        auto info = (*session)->client->renewal_info(rec.ari_cert_id);
        if (info) {
          in.ari = AriWindow{info->window_start, info->window_end};
          if (rec.ari_chosen_time != 0) {
            in.ari_chosen = from_unix(rec.ari_chosen_time);
            in.ari_chosen_in =
                AriWindow{from_unix(rec.ari_window_start), from_unix(rec.ari_window_end)};
          }
        } else {
          logger("renew")->warn("cert={} renewal info: {}", name, info.error().to_string());
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
      const auto next = std::min(plan.renew_at, now + settings.check_interval);
      rec.next_check = to_unix(next);
      save(rec);
      out.outcome = Outcome::kNotDue;
      out.message = "renews at " + rfc3339(to_unix(plan.renew_at)) + " (" + plan.reason + ")";
      out.next_check = next;
      return out;
    }
  }
  // Fleet: opened by run() before deciding.
  FleetStore* fs = settings.fleet.enabled() ? fleet.get() : nullptr;
  if (fs == nullptr) return obtain(rec);
  // Fleet: exactly one agent renews. Take the lease (or leave it to its live holder).
  auto lease = fs->try_lease(name);
  if (!lease) return fleet_failure(name, lease.error());
  if (!*lease) {
    out.outcome = Outcome::kLocked;
    out.message = "another agent of the fleet holds the lease on " + name;
    return out;
  }
  lease_generation = **lease;
  logger("fleet")->info("cert={} lease taken generation={}", name, lease_generation);
  // Re-read after taking the lease: the previous holder may have just published.
  RunResult result;
  auto installed = install_from_fleet(rec, *fs, result);
  if (!installed) {
    result = fleet_failure(name, installed.error());
  } else if (!*installed) {
    // The heartbeat keeps the lease ours for as long as the renewal runs.
    LeaseKeeper keeper(settings.fleet, name, lease_generation);
    result = obtain(rec);
  }
  (void)fs->release_lease(name, lease_generation);
  return result;
}

void Pipeline::Impl::install_hook(CertificateRecord& rec, std::string_view kind, RunResult& out) {
  if (!rec.hook_pending) return;
  auto hr = events.deploy_hook(rec, kind);
  if (hr) {
    rec.hook_pending = false;
    save(rec);
  } else {
    out.outcome = Outcome::kHookFailed;
    out.message = hr.error().to_string();
  }
}

acme::Result<bool> Pipeline::Impl::install_from_fleet(CertificateRecord& rec, FleetStore& fs,
                                                      RunResult& out) {
  ACME_ASSIGN(auto latest, fs.latest(rec.name));
  if (!latest || latest->serial == rec.serial || latest->not_after < rec.not_after) return false;
  ACME_ASSIGN(auto v, fs.fetch_latest(rec.name));
  if (!v) return false;
  ACME_ASSIGN(auto key, acme::PrivateKey::from_pem(v->key_pem));
  if (!acme::key_matches_certificate(key, v->cert_pem)) {
    return make_error(Errc::kCrypto, "version " + std::to_string(v->version) + " of " + rec.name +
                                         " in the fleet store: the key does not match the "
                                         "certificate: not installing it");
  }
  ACME_ASSIGN(auto info, acme::inspect_certificate(v->cert_pem));
  const std::string out_root = rec.out_dir.substr(0, rec.out_dir.rfind('/'));
  if (out_root.empty()) {
    return make_error(Errc::kInvalidInput, "output directory of " + rec.name + " is not set");
  }
  const std::vector<FileSpec> files = {
      {"privkey.pem", v->key_pem, 0600},
      {"cert.pem", v->cert_pem, 0644},
      {"chain.pem", v->chain_pem, 0644},
      {"fullchain.pem", v->fullchain_pem, 0644},
  };
  if (auto r = install_certificate_files(out_root, rec.name, files); !r) {
    return std::move(r).error().context("installing version " + std::to_string(v->version) +
                                        " of " + rec.name);
  }
  const bool first = rec.not_after == 0;
  const auto now = clock.now();
  rec.not_before = to_unix(info.not_before);
  rec.not_after = to_unix(info.not_after);
  rec.serial = info.serial_hex;
  rec.ari_cert_id = info.ari_cert_id;
  rec.ari_chosen_time = rec.ari_window_start = rec.ari_window_end = 0;
  rec.consecutive_failures = 0;
  rec.next_attempt = 0;
  rec.last_error.clear();
  rec.last_success = to_unix(now);
  PolicyInput in;
  in.not_before = info.not_before;
  in.not_after = info.not_after;
  in.renew_before_days = window_days(rec);
  in.random01 = stable_random01(rec.serial + rec.name);
  rec.next_check = to_unix(std::min(plan_renewal(in).renew_at, now + settings.check_interval));
  rec.hook_pending = !rec.deploy_hook.empty();
  save(rec);
  // An order of ours cut off earlier is not resumed: the fleet has a newer certificate.
  events.check(store.clear_order(rec.name), "clearing the order of " + rec.name);
  ::unlink((settings.state_dir + "/pending/" + rec.name + ".key").c_str());
  const std::string_view kind = first ? event::kObtained : event::kRenewed;
  events.emit(rec.name, kind,
              "serial " + rec.serial + " (fleet version " + std::to_string(v->version) + " from " +
                  v->published_by + ")");
  events.check(fs.record_install(rec.name, v->version, rec.serial),
               "recording the install of " + rec.name + " in the fleet store");
  events.metrics().fleet_installed(rec.name, v->version);
  logger("fleet")->info("cert={} installed fleet version={} serial={} from={}", rec.name,
                        v->version, rec.serial, v->published_by);
  out.installed = true;
  out.outcome = Outcome::kRenewed;
  out.message = "installed fleet version " + std::to_string(v->version) + ": serial " + rec.serial +
                ", valid until " + rfc3339(rec.not_after);
  out.issuer = info.issuer;
  out.next_check = from_unix(rec.next_check);
  install_hook(rec, kind, out);
  return true;
}

acme::Result<void> Pipeline::Impl::check_before_ordering(const CertificateRecord& rec,
                                                         const ChallengeSettings& ch) {
  // No order is created for a run that cannot install its result.
  const std::string out_root = rec.out_dir.substr(0, rec.out_dir.rfind('/'));
  if (out_root.empty()) {
    return make_error(Errc::kInvalidInput, "output directory of " + rec.name + " is not set");
  }
  // Creates OUT when missing, refuses a hostile or read-only one, probes a write.
  ACME_CHECK(check_certificate_files(out_root, rec.name));
  if (ch.challenge == "http-01" && !ch.webroot.empty()) {
    struct stat st {};
    if (::stat(ch.webroot.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return make_error(Errc::kInvalidInput, "webroot " + ch.webroot + " is not a directory");
    }
  }
  return acme::ok();
}

// One order at one CA, with this CA's account: writes the pending key first (or resumes the
// stored order with its key when `resume`), names the replaced certificate only to the CA
// that issued it (RFC 9773 §5), and on failure forgets the order and its key.
acme::Result<acme::IssuedCertificate> Pipeline::Impl::order_at(
    CertificateRecord& rec, const CaCandidate& ca, Session& session,
    const std::vector<acme::Identifier>& ids, acme::KeyType key_type, acme::Solver& solver,
    bool resume, const acme::CsrInfo* csr, bool dry) {
  auto log = logger("renew");
  ACME_CHECK(check_profile(ca.profile, ca.server, session.client->directory()));
  // The certificate key is written (0600) before the order exists, so an order resumed
  // after a crash finalizes with the key its CSR would have used.
  const std::string pending_dir = settings.state_dir + "/pending";
  const std::string pending_key = pending_dir + "/" + rec.name + ".key";
  acme::IssueRequest req;
  req.identifiers = ids;
  req.key_type = key_type;
  req.poll.timeout = settings.order_timeout;
  req.preferred_chain = rec.preferred_chain;
  req.profile = ca.profile;
  // A dry run neither resumes nor keeps anything: no stored order, no pending key.
  auto stored_order =
      dry ? acme::Result<std::optional<std::string>>(std::nullopt) : store.find_order(rec.name);
  if (csr != nullptr) {
    // The user's CSR holds the key: nothing to generate, keep or resume with.
    req.csr_der = csr->der;
    req.csr_public_key_der = csr->public_key_der;
    if (resume && stored_order && *stored_order) req.order_url = **stored_order;
  } else {
    auto existing_key =
        dry ? acme::Result<std::string>(make_error(Errc::kIo, "dry run")) : read_file(pending_key);
    if (existing_key && !check_private_file(pending_key, "pending certificate key")) {
      existing_key = acme::make_error(Errc::kIo, "not ours");  // never reuse a key others saw
    }
    if (resume && stored_order && *stored_order && existing_key) {
      req.order_url = **stored_order;
      req.key_pem = *existing_key;
      log->info("cert={} resuming order {}", rec.name, req.order_url);
    } else {
      ACME_ASSIGN(auto pem, certificate_key(rec, key_type));
      if (!dry) {
        ACME_CHECK(make_dirs(pending_dir, 0700));
        ACME_CHECK(atomic_write(pending_key, pem, 0600));
      }
      req.key_pem = pem;
    }
  }
  // RFC 9773 §5: name the certificate this one replaces when the CA offers ARI -- and only
  // to the CA that issued it. A revoked predecessor is not "replaced": it is already dead.
  if (!session.client->directory().renewal_info.empty() && !rec.revoked() &&
      issued_by(rec) == ca.server) {
    req.replaces = rec.ari_cert_id;
  }
  req.on_order_created = [this, &rec, dry, &log](const std::string& url) {
    if (dry) {
      log->info("cert={} dry run: order {}", rec.name, url);
      return;
    }
    events.check(store.set_order(rec.name, url, "pending"), "saving the order of " + rec.name);
    events.emit(rec.name, event::kOrdered, url);
  };
  auto progress = [&log, &rec](std::string_view step, std::chrono::milliseconds took,
                               std::string_view detail) {
    log->info("cert={} {} took_ms={} {}", rec.name, step, took.count(), detail);
  };
  const int bad_nonce_before = session.client->transport().bad_nonce_retries();
  auto issued = acme::Issuer(*session.client, solver, clock, progress).issue(req);
  if (!issued && is_account_does_not_exist(issued.error()) && req.order_url.empty() && !dry) {
    // The CA forgot the account (a test CA restarted, a staging reset): register the same
    // key again, once, and go on.
    GlobalOptions g = ca.options;
    g.agree_tos = true;  // this key's account agreed to the terms when it was created
    if (auto r = reregister_account(session, store, g, settings.state_dir); r) {
      issued = acme::Issuer(*session.client, solver, clock, progress).issue(req);
    } else {
      issued = std::move(r).error().context("registering the account again");
    }
  }
  events.metrics().bad_nonce_retries(session.client->transport().bad_nonce_retries() -
                                     bad_nonce_before);
  if (!issued && issued.error().code != Errc::kCancelled && !dry) {
    // A failed order is not worth resuming; the next attempt starts afresh.
    events.check(store.clear_order(rec.name), "clearing the order of " + rec.name);
    ::unlink(pending_key.c_str());
  }
  return issued;
}

// The key of a new order: with reuse_key (DANE/TLSA pins the public key) the installed
// privkey.pem while it is ours (0600) and of the configured type; otherwise a fresh one.
acme::Result<std::string> Pipeline::Impl::certificate_key(const CertificateRecord& rec,
                                                          acme::KeyType type) {
  if (rec.reuse_key && !rec.out_dir.empty()) {
    const std::string installed = rec.out_dir + "/privkey.pem";
    auto pem = read_file(installed);
    if (pem) {
      ACME_CHECK(check_private_file(installed, "installed certificate key"));
      auto key = acme::PrivateKey::from_pem(*pem);
      if (key && key->type() == type) {
        logger("renew")->info("cert={} reusing the installed key {}", rec.name, installed);
        return std::move(*pem);
      }
      logger("renew")->warn(
          "cert={} {} is {}: a new {} key is made instead of reusing it", rec.name, installed,
          key ? std::string(acme::to_string(key->type())) : "unreadable", acme::to_string(type));
    }
  }
  ACME_ASSIGN(auto key, acme::PrivateKey::generate(type));
  return key.to_pem();
}

RunResult Pipeline::Impl::obtain(CertificateRecord& rec, bool dry) {
  RunResult out;
  out.dry_run = dry;
  auto log = logger("renew");
  const auto start = clock.steady_now();
  // A dry run records nothing: its failure is only the result.
  auto fail = [&](const acme::Error& e) {
    if (!dry) {
      record_failure(rec, e, out);
      return;
    }
    out.outcome = Outcome::kFailed;
    out.message = e.to_string();
    log->log(settings.quiet_failures ? spdlog::level::info : spdlog::level::warn,
             "cert={} dry run failed: {}", rec.name, out.message);
  };
  auto directory_url = resolve_server(server_of(rec));
  if (!directory_url) {
    fail(directory_url.error());
    return out;
  }
  rec.server = *directory_url;
  ChallengeSettings ch = challenge_settings_from_json(rec.challenge_settings);
  if (ch.challenge.empty()) ch.challenge = rec.challenge;
  if (!ch.rfc2136_tsig_secret.empty() && !dry) {
    // Written before the database stopped holding secrets: move it to a file now.
    if (auto r = store_inline_secrets(ch, settings.state_dir, rec.name); r) {
      rec.challenge_settings = to_json(ch);
      save(rec);
    }
  }
  auto ids = acme::normalize_identifiers(rec.domains, challenge_allows_wildcard(ch.challenge));
  if (!ids) {
    fail(ids.error());
    return out;
  }
  if (auto r = check_identifiers_for_challenge(*ids, ch.challenge); !r) {
    record_failure(rec, r.error(), out);
    return out;
  }
  auto key_type = acme::parse_key_type(rec.key_type);
  if (!key_type) {
    fail(key_type.error());
    return out;
  }
  // --csr: the order names exactly what the CSR asks for and finalizes with it.
  std::optional<acme::CsrInfo> csr;
  if (!rec.csr_pem.empty()) {
    auto parsed = acme::parse_csr(rec.csr_pem);
    if (!parsed) {
      fail(std::move(parsed).error().context("the CSR of " + rec.name));
      return out;
    }
    std::set<std::string> want;
    for (const auto& id : *ids) want.insert(id.value);
    if (std::set<std::string>(parsed->names.begin(), parsed->names.end()) != want) {
      fail(make_error(Errc::kInvalidInput,
                      "the CSR of " + rec.name + " no longer names the certificate's domains"));
      return out;
    }
    csr = std::move(*parsed);
  }
  if (auto r = dry ? acme::ok() : check_before_ordering(rec, ch); !r) {
    fail(r.error());
    return out;
  }
  // http-01 without a webroot or a listen address of its own -- or with the very address
  // the shared responder listens on (binding it again could only fail) -- goes to the
  // shared responder; in a one-shot command, to the address the agent would answer on.
  const bool shared =
      ch.challenge == "http-01" && ch.webroot.empty() &&
      (ch.http01_listen.empty() || (settings.shared_responder != nullptr &&
                                    same_listen_address(ch.http01_listen, settings.shared_listen)));
  if (shared && settings.shared_responder == nullptr) ch.http01_listen = settings.shared_listen;
  // tls-alpn-01 alike, with the shared tls-alpn-01 listener.
  const bool shared_tls = ch.challenge == "tls-alpn-01" &&
                          (ch.tls_alpn_listen.empty() ||
                           (settings.shared_tls_responder != nullptr &&
                            same_listen_address(ch.tls_alpn_listen, settings.shared_tls_listen)));
  if (shared_tls && settings.shared_tls_responder == nullptr) {
    ch.tls_alpn_listen = settings.shared_tls_listen;
  }
  auto bundle = make_solver(ch, shared ? settings.shared_responder : nullptr, &clock,
                            shared_tls ? settings.shared_tls_responder : nullptr);
  if (!bundle) {
    fail(bundle.error());
    return out;
  }
  std::unique_ptr<acme::Solver> fleet_solver;
  if (fleet && !dry && ch.challenge == "http-01") {
    fleet_solver = std::make_unique<FleetHttp01Solver>(*bundle->solver, *fleet, rec.name);
  }
  acme::Solver& solver = fleet_solver ? *fleet_solver : *bundle->solver;
  // The CAs this order may go to, best first (pipeline/ca_choice.hpp): a CA that fails as
  // a CA (unreachable, 5xx, rate limited) and is now resting hands the order to the next.
  auto candidates = ca_candidates(*directory_url, primary_options(rec), rec.profile);
  if (!candidates) {
    fail(candidates.error());
    return out;
  }
  const int64_t now_unix = to_unix(clock.now());
  std::vector<CaHealth> health;
  for (const auto& c : *candidates) {
    auto h = store.ca_health(c.server);
    CaHealth fresh;
    fresh.server = c.server;
    health.push_back(h ? *h : fresh);
  }
  auto stored_order =
      dry ? acme::Result<std::optional<std::string>>(std::nullopt) : store.find_order(rec.name);
  const std::string resume_origin =
      stored_order && *stored_order ? url_origin(**stored_order) : std::string();
  const auto try_order =
      ca_try_order(*candidates, health, issued_by(rec), settings.acme.failover.return_to_primary,
                   now_unix, resume_origin);
  acme::Result<acme::IssuedCertificate> issued = make_error(Errc::kInternal, "no CA to order from");
  const CaCandidate* chosen = nullptr;
  std::optional<seconds> retry_after;  // the soonest any CA tried allows, if all sent one
  bool every_retry_after = true;
  for (size_t n = 0; n < try_order.size(); ++n) {
    const CaCandidate& ca = (*candidates)[try_order[n]];
    auto session = session_for(ca.options, dry);
    issued = session ? order_at(rec, ca, **session, *ids, *key_type, solver,
                                !resume_origin.empty() && url_origin(ca.server) == resume_origin,
                                csr ? &*csr : nullptr, dry)
                     : acme::Result<acme::IssuedCertificate>(std::move(session).error());
    if (issued) {
      if (!dry) note_ca(ca.server, nullptr);
      chosen = &ca;
      break;
    }
    if (issued.error().code == Errc::kCancelled) break;
    if (issued.error().retry_after) {
      retry_after = retry_after ? std::min(*retry_after, *issued.error().retry_after)
                                : *issued.error().retry_after;
    } else {
      every_retry_after = false;
    }
    if (!dry) note_ca(ca.server, &issued.error());
    if (classify_ca_failure(issued.error()) == CaFailure::kNone) break;  // any CA would refuse
    auto h = store.ca_health(ca.server);
    const bool resting = h && !ca_available(*h, to_unix(clock.now()));
    if (!resting || n + 1 == try_order.size()) break;  // counted; retried here after backoff
    const CaCandidate& next = (*candidates)[try_order[n + 1]];
    log->warn("cert={} CA {} failed ({}): trying {} CA {}", rec.name, ca.server,
              to_string(classify_ca_failure(issued.error())),
              next.fallback == 0 ? "the primary" : "fallback", next.server);
    events.emit(rec.name, event::kFailedOver, ca.server + " -> " + next.server);
  }
  events.metrics().renewal_finished(
      static_cast<double>(
          duration_cast<std::chrono::milliseconds>(clock.steady_now() - start).count()) /
      1000.0);
  const std::string pending_key = settings.state_dir + "/pending/" + rec.name + ".key";
  if (!issued) {
    if (issued.error().code == Errc::kCancelled) {
      // The agent is stopping: the order and its key stay to be resumed at the next start.
      // Not a failure: no backoff, no failure count, next_check left as it is (due).
      out.outcome = Outcome::kNotDue;
      out.message = "stopped; order kept to resume: " + issued.error().to_string();
      log->info("cert={} {}", rec.name, out.message);
      return out;
    }
    if (dry) {
      fail(issued.error());
      return out;
    }
    acme::Error e = std::move(issued).error();
    e.retry_after = every_retry_after ? retry_after : std::nullopt;
    record_failure(rec, e, out);
    return out;
  }
  const acme::ChainFacts chain = acme::chain_facts(issued->fullchain_pem);
  if (dry) {
    out.outcome = Outcome::kRenewed;
    out.message = "dry run: the CA issued serial " + issued->info.serial_hex + ", valid until " +
                  rfc3339(to_unix(issued->info.not_after)) + " (chain of " +
                  std::to_string(chain.depth) + " certificates, " + std::to_string(chain.bytes) +
                  " bytes); nothing was written";
    out.issuer = issued->info.issuer;
    out.order_url = issued->order_url;
    out.certificate_url = issued->certificate_url;
    log->info("cert={} {}", rec.name, out.message);
    return out;
  }

  int64_t fleet_version = 0;
  if (fleet) {
    // Published only while our lease (this generation) holds: an agent whose lease lapsed
    // and was taken over installs nothing, so no certificate is installed twice.
    FleetVersion v;
    v.serial = issued->info.serial_hex;
    v.not_before = to_unix(issued->info.not_before);
    v.not_after = to_unix(issued->info.not_after);
    v.cert_pem = issued->cert_pem;
    v.chain_pem = issued->chain_pem;
    v.fullchain_pem = issued->fullchain_pem;
    v.key_pem = issued->key_pem;
    auto published = fleet->publish(rec.name, lease_generation, v);
    events.check(store.clear_order(rec.name), "clearing the order of " + rec.name);
    ::unlink(pending_key.c_str());
    if (!published) {
      out.outcome =
          published.error().code == Errc::kCancelled ? Outcome::kLocked : Outcome::kFailed;
      out.message = published.error().to_string();
      log->warn("cert={} {}", rec.name, out.message);
      return out;
    }
    fleet_version = *published;
    log->info("cert={} published fleet version={} serial={}", rec.name, fleet_version, v.serial);
  }
  const std::string out_root = rec.out_dir.substr(0, rec.out_dir.rfind('/'));
  std::vector<FileSpec> files = {
      {"cert.pem", issued->cert_pem, 0644},
      {"chain.pem", issued->chain_pem, 0644},
      {"fullchain.pem", issued->fullchain_pem, 0644},
  };
  // With the user's CSR acmectl never had the key: no privkey.pem (nor anything holding it).
  if (!issued->key_pem.empty()) {
    files.insert(files.begin(), {"privkey.pem", issued->key_pem, 0600});
    // HAProxy's crt: key and chain in one file, so it is a key file (0600).
    files.push_back({"combined.pem", issued->key_pem + issued->fullchain_pem, 0600});
  }
  if (rec.pkcs12) {
    // PKCS#12 on request, installed in the same version as the PEM files.
    auto p12 = pkcs12_file(rec, issued->key_pem, issued->fullchain_pem);
    if (!p12) {
      events.check(store.clear_order(rec.name), "clearing the order of " + rec.name);
      ::unlink(pending_key.c_str());
      record_failure(rec, std::move(p12).error().context("certificate.p12"), out);
      return out;
    }
    files.push_back({"certificate.p12", std::move(*p12), 0600});
  }
  if (auto r = install_certificate_files(out_root, rec.name, files); !r) {
    // The previous files stay in place; the next attempt orders afresh after the backoff.
    events.check(store.clear_order(rec.name), "clearing the order of " + rec.name);
    ::unlink(pending_key.c_str());
    record_failure(rec, std::move(r).error().context("install"), out);
    return out;
  }

  const bool first = rec.not_after == 0;
  const int failures_before = rec.consecutive_failures;
  const auto now = clock.now();
  rec.not_before = to_unix(issued->info.not_before);
  rec.not_after = to_unix(issued->info.not_after);
  rec.serial = issued->info.serial_hex;
  rec.ari_cert_id = issued->info.ari_cert_id;
  rec.ari_chosen_time = rec.ari_window_start = rec.ari_window_end = 0;
  rec.chain_depth = chain.depth;
  rec.chain_bytes = static_cast<int64_t>(chain.bytes);
  rec.consecutive_failures = 0;
  rec.next_attempt = 0;
  rec.last_error.clear();
  rec.last_success = to_unix(now);
  rec.issued_by = chosen->server;
  PolicyInput in;
  in.not_before = issued->info.not_before;
  in.not_after = issued->info.not_after;
  in.renew_before_days = window_days(rec);
  in.random01 = stable_random01(rec.serial + rec.name);
  rec.next_check = to_unix(std::min(plan_renewal(in).renew_at, now + settings.check_interval));
  // Recorded before the hook runs, with the hook owed: a crash during the hook makes the
  // next start run the hook, not order again.
  rec.hook_pending = !rec.deploy_hook.empty();
  save(rec);
  events.check(store.clear_order(rec.name), "clearing the order of " + rec.name);
  ::unlink(pending_key.c_str());
  const std::string_view kind = first ? event::kObtained : event::kRenewed;
  events.emit(rec.name, kind,
              "serial " + rec.serial +
                  (chosen->fallback != 0 ? " from fallback CA " + chosen->server : std::string()));
  if (fleet) {
    events.check(fleet->record_install(rec.name, fleet_version, rec.serial),
                 "recording the install of " + rec.name + " in the fleet store");
    events.metrics().fleet_installed(rec.name, fleet_version);
  }
  out.installed = true;
  out.outcome = Outcome::kRenewed;
  out.message = std::string(kind) + ": serial " + rec.serial + ", valid until " +
                rfc3339(rec.not_after) +
                (chosen->fallback != 0 ? ", from fallback CA " + chosen->server : std::string());
  out.issuer = issued->info.issuer;
  out.order_url = issued->order_url;
  out.certificate_url = issued->certificate_url;
  log->info("cert={} {} serial={} not_after={} took_ms={}", rec.name, kind, rec.serial,
            rfc3339(rec.not_after),
            duration_cast<std::chrono::milliseconds>(clock.steady_now() - start).count());

  if (rec.hook_pending) {
    auto hr = events.deploy_hook(rec, kind);
    if (hr) {
      rec.hook_pending = false;
      save(rec);
    } else {
      out.outcome = Outcome::kHookFailed;
      out.message = hr.error().to_string();
    }
  }
  if (failures_before > 0) {
    events.notify({std::string(notify_kind::kRecovery), rec.name, rec.domains, "", failures_before,
                   0, rec.not_after});
  }
  out.next_check = from_unix(rec.next_check);
  verify_served(rec, first, out);
  return out;
}

// After the install and its deploy hook: does every configured endpoint serve the new
// serial? A mismatch is an event, a warning naming the endpoint and both serials, the
// metric acmectl_certificate_served 0 and a notification; with rollback_on_serve_failure a
// renewal is rolled back and counted as failed (its backoff keeps the agent from renewing
// again at once).
void Pipeline::Impl::verify_served(CertificateRecord& rec, bool first, RunResult& out) {
  const ServeCheckConfig sc =
      settings.serve_check ? settings.serve_check(rec.name) : ServeCheckConfig{};
  if (sc.endpoints.empty()) return;
  auto log = logger("serve");
  const std::string installed = rec.serial;
  std::string failures;
  for (const auto& r : check_served(sc, serve_check_sni(rec.domains), installed, clock)) {
    events.metrics().set_served(rec.name, r.endpoint, r.ok);
    if (r.ok) {
      events.emit(rec.name, event::kServed, r.endpoint + " serves serial " + installed);
      log->info("cert={} endpoint={} serves serial={}", rec.name, r.endpoint, installed);
      continue;
    }
    const std::string what = describe(r, installed);
    events.emit(rec.name, event::kServeMismatch, what);
    log->warn("cert={} served check failed endpoint={} served_serial={} installed_serial={}{}",
              rec.name, r.endpoint, r.served_serial.empty() ? "-" : r.served_serial, installed,
              r.error.empty() ? "" : " error=\"" + r.error + "\"");
    failures += (failures.empty() ? "" : "; ") + what;
  }
  if (failures.empty()) return;
  if (sc.rollback && !first) {
    auto rb = rollback_locked(rec, "served check failed");
    if (rb) {
      // The web server may serve the restored version now: say so in the metric.
      ServeCheckConfig again = sc;
      again.timeout_seconds = std::min(sc.timeout_seconds, 5);
      for (const auto& r : check_served(again, serve_check_sni(rec.domains), rec.serial, clock)) {
        events.metrics().set_served(rec.name, r.endpoint, r.ok);
      }
      record_failure(
          rec,
          make_error(Errc::kIo, "served check failed after installing serial " + installed + " (" +
                                    failures + "); rolled back to serial " + rec.serial),
          out);
      out.installed = true;  // the files changed again: the post hook runs
      return;
    }
    log->error("cert={} rollback after the failed served check: {}", rec.name,
               rb.error().to_string());
    failures += "; rollback failed: " + rb.error().to_string();
  }
  events.notify({std::string(notify_kind::kServeMismatch), rec.name, rec.domains, failures, 0, 0,
                 rec.not_after});
  out.message += "; not served: " + failures;
}

acme::Result<RollbackResult> Pipeline::Impl::rollback_locked(CertificateRecord& rec,
                                                             const std::string& reason) {
  const auto slash = rec.out_dir.rfind('/');
  if (rec.out_dir.empty() || slash == std::string::npos || rec.not_after == 0) {
    return make_error(Errc::kInvalidInput,
                      "nothing to roll back to: " + rec.name + " was never installed");
  }
  const std::string out_root = rec.out_dir.substr(0, slash);
  ACME_ASSIGN(auto v, certificate_versions(out_root, rec.name));
  if (v.current.empty() || v.previous.empty()) {
    return make_error(Errc::kInvalidInput, "nothing to roll back to: no version of " + rec.name +
                                               " older than the installed one is kept in " +
                                               out_root + "/." + rec.name + ".d");
  }
  ACME_ASSIGN(auto pem, read_file(v.previous_dir + "/cert.pem"));
  ACME_ASSIGN(auto info, acme::inspect_certificate(pem));
  if (info.not_after <= clock.now()) {
    return make_error(Errc::kInvalidInput, "not rolling back " + rec.name +
                                               ": the previous certificate (serial " +
                                               info.serial_hex + ", " + v.previous +
                                               ") expired at " + rfc3339(to_unix(info.not_after)));
  }
  ACME_CHECK(switch_certificate_version(out_root, rec.name, v.previous));
  RollbackResult r;
  r.from_serial = rec.serial;
  r.serial = info.serial_hex;
  r.version = v.previous;
  r.not_after = to_unix(info.not_after);
  rec.not_before = to_unix(info.not_before);
  rec.not_after = r.not_after;
  rec.serial = r.serial;
  rec.ari_cert_id = info.ari_cert_id;
  rec.ari_chosen_time = rec.ari_window_start = rec.ari_window_end = 0;
  rec.hook_pending = !rec.deploy_hook.empty();
  save(rec);
  events.emit(
      rec.name, event::kRolledBack,
      "serial " + r.from_serial + " -> serial " + r.serial + " (" + v.previous + "): " + reason);
  logger("renew")->warn("cert={} rolled back from serial {} to serial {} ({}): {}", rec.name,
                        r.from_serial, r.serial, v.previous, reason);
  if (rec.hook_pending) {
    auto hr = events.deploy_hook(rec, event::kRolledBack);
    if (hr) {
      rec.hook_pending = false;
      save(rec);
    } else {
      r.hook_error = hr.error().to_string();
    }
  }
  return r;
}

// [notify] expiry_fraction: once per certificate version (the event remembers the serial),
// when less than that part of its lifetime is left and it has not been replaced.
void Pipeline::Impl::check_expiry(const CertificateRecord& rec) {
  Notifier* notifier = events.notifier();
  if (notifier == nullptr || !notifier->enabled() || rec.not_after == 0 ||
      rec.not_after <= rec.not_before) {
    return;
  }
  const double fraction = notifier->config().expiry_fraction;
  const auto left_from =
      rec.not_after -
      static_cast<int64_t>(fraction * static_cast<double>(rec.not_after - rec.not_before));
  if (to_unix(clock.now()) < left_from) return;
  const std::string tag = "serial " + rec.serial;
  auto past = store.events(rec.name, 1000);
  if (past) {
    for (const auto& e : *past) {
      if (e.kind == event::kExpiryNotified && e.detail.compare(0, tag.size() + 1, tag + " ") == 0) {
        return;
      }
    }
  }
  events.emit(rec.name, event::kExpiryNotified, tag + " expires " + rfc3339(rec.not_after));
  events.notify({std::string(notify_kind::kExpiry), rec.name, rec.domains, rec.last_error,
                 rec.consecutive_failures, rec.next_attempt, rec.not_after});
}

}  // namespace agent
