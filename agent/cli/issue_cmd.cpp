// `acmectl issue`: check what the user typed, record the certificate, run the pipeline.
#include "cli/issue_cmd.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "acme/csr.hpp"
#include "acme/dns_persist.hpp"
#include "acme/issuer.hpp"
#include "cli/challenge_options.hpp"
#include "config/config.hpp"
#include "daemon/control.hpp"
#include "deploy/files.hpp"
#include "events/event_sink.hpp"
#include "pipeline/names.hpp"
#include "pipeline/pipeline.hpp"
#include "session/account.hpp"
#include "store/open_store.hpp"

namespace agent::cli {

using acme::Errc;
using acme::make_error;

CLI::App* add_issue_command(CLI::App& app, IssueOptions& o) {
  auto* cmd = app.add_subcommand("issue", "Obtain a certificate now and record it for renewal");
  cmd->add_option("-d,--domain", o.domains,
                  "Name to include (repeatable, or a,b); first is the CN (required unless --csr)")
      ->take_all()
      ->delimiter(',');
  cmd->add_option("--name,--cert-name", o.name, "Certificate name (default: the first name)");
  cmd->add_option("--key-type", o.key_type, "ec256 (default), ec384, rsa2048, rsa3072, rsa4096");
  add_challenge_options(*cmd, o.challenge);
  cmd->add_option("--out", o.out, "Output directory (default STATE/live)");
  cmd->add_option("--deploy-hook", o.deploy_hook, "Command to run after the files are installed");
  cmd->add_flag("--pkcs12", o.pkcs12,
                "Also write certificate.p12 (key + chain, PKCS#12, 0600); kept for renewals");
  cmd->add_option("--pkcs12-password-file", o.pkcs12_password_file,
                  "File whose first line is the PKCS#12 password (default: empty password)");
  cmd->add_option("--preferred-chain", o.preferred_chain,
                  "shortest (fewest bytes), or pick the alternate chain whose top issuer "
                  "contains this text");
  cmd->add_option("--profile", o.profile,
                  "ACME profile the CA offers (see `acmectl profiles`); kept for renewals");
  cmd->add_option("--timeout", o.timeout_seconds, "Overall validation/finalize timeout, seconds")
      ->check(CLI::Range(1, 86400));
  cmd->add_flag("--force,--force-renewal", o.force,
                "Issue now even when the recorded certificate is not due; allow dropping names");
  cmd->add_flag("--reuse-key", o.reuse_key,
                "Keep the certificate's private key on renewal (for DANE/TLSA pins)");
  cmd->add_option("--csr", o.csr_file,
                  "Finalize with this CSR (PEM or DER): names from it, no key written");
  cmd->add_option("--persist-until", o.persist_until,
                  "dns-persist-01: the published record's persistUntil (exported as a metric)");
  cmd->add_flag("--dry-run", o.dry_run,
                "Run the whole flow against the CA (staging for letsencrypt) and write nothing");
  return cmd;
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void print_issued(const GlobalOptions& g, const CertificateRecord& rec, const RunResult& r) {
  nlohmann::json out{{"name", rec.name},
                     {"domains", rec.domains},
                     {"serial", rec.serial},
                     {"issuer", r.issuer},
                     {"not_before", rfc3339(rec.not_before)},
                     {"not_after", rfc3339(rec.not_after)},
                     {"key_type", rec.key_type},
                     {"order_url", r.order_url},
                     {"certificate_url", r.certificate_url},
                     {"outcome", to_string(r.outcome)},
                     {"paths",
                      {{"dir", rec.out_dir},
                       {"cert", rec.out_dir + "/cert.pem"},
                       {"chain", rec.out_dir + "/chain.pem"},
                       {"fullchain", rec.out_dir + "/fullchain.pem"},
                       {"combined", rec.out_dir + "/combined.pem"},
                       {"pkcs12", rec.pkcs12 ? rec.out_dir + "/certificate.p12" : ""},
                       {"privkey", rec.out_dir + "/privkey.pem"}}}};
  if (g.json) {
    std::cout << out.dump(2) << "\n";
  } else if (r.outcome == Outcome::kNotDue) {
    if (g.quiet) return;  // -q: nothing changed, nothing to say
    std::cout << "certificate " << rec.name << " is not due: " << r.message
              << " (--force issues it now)\n  files in " << rec.out_dir << "\n";
  } else {
    std::cout << "certificate " << rec.name << " issued: serial " << rec.serial << ", valid until "
              << rfc3339(rec.not_after) << "\n  files in " << rec.out_dir << "\n";
  }
}

// --dry-run: the record is built as `issue` would save it, and handed to the pipeline's dry
// run; the store is only read (for the account) and only when it exists already.
int run_issue_dry_run(const GlobalOptions& g, const IssueOptions& o, const IssueDefaults& defaults,
                      const std::string& state_dir, const std::string& name,
                      const std::vector<acme::Identifier>& ids, const ChallengeSettings& ch,
                      const std::string& directory_url, const std::string& out_dir,
                      const std::string& csr_pem) {
  // With [store] url, this host's records in PostgreSQL (only read here).
  const std::string db_path = state_dir + "/acmectl.db";
  auto fleet = fleet_settings(g.config);
  if (!fleet) return fail(fleet.error());
  auto store = fleet->enabled()
                   ? open_configured_store(state_dir, *fleet)
                   : Store::open(::access(db_path.c_str(), F_OK) == 0 ? db_path : ":memory:");
  if (!store) return fail(store.error());
  CertificateRecord rec;
  rec.name = name;
  for (const auto& id : ids) rec.domains.push_back(id.value);
  rec.key_type = o.key_type;
  if (auto existing = (*store)->find_certificate(name); existing && *existing) {
    rec.out_dir = (*existing)->out_dir;  // --reuse-key reads the installed key from there
  }
  if (rec.out_dir.empty() || !o.out.empty()) rec.out_dir = out_dir;
  rec.challenge = ch.challenge;
  rec.http01_listen = ch.http01_listen;
  rec.webroot = ch.webroot;
  rec.challenge_settings = to_json(ch);
  rec.ca_bundle = absolute_path(g.ca_bundle);
  rec.server = directory_url;
  rec.preferred_chain = o.preferred_chain;
  rec.profile = o.profile;
  rec.reuse_key = o.reuse_key;
  rec.csr_pem = csr_pem;
  metrics::Registry registry;
  EventSink events(**store, registry, std::chrono::seconds(defaults.hook_timeout_seconds));
  PipelineSettings ps;
  ps.state_dir = state_dir;
  ps.acme = g;
  ps.order_timeout = std::chrono::seconds(o.timeout_seconds);
  ps.shared_listen = defaults.shared_listen;
  ps.quiet_failures = true;
  Pipeline pipeline(**store, events, std::move(ps));
  const RunResult r = pipeline.dry_run(rec);
  if (r.outcome != Outcome::kRenewed) return fail(make_error(Errc::kIo, r.message));
  if (g.json) {
    std::cout << nlohmann::json{{"name", name},
                                {"domains", rec.domains},
                                {"dry_run", true},
                                {"server", dry_run_directory(directory_url)},
                                {"issuer", r.issuer},
                                {"order_url", r.order_url},
                                {"certificate_url", r.certificate_url},
                                {"outcome", "dry-run"},
                                {"message", r.message}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "certificate " << name << ": " << r.message << "\n";
  }
  return kExitOk;
}

}  // namespace

std::optional<std::string> check_preferred_chain(const std::string& value) {
  bool word = !value.empty();
  bool blank = true;
  for (const char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return "--preferred-chain: control characters are not allowed";
    }
    if (c != ' ' && c != '\t') blank = false;
    if (!((c >= 'a' && c <= 'z') || c == '-' || c == '_')) word = false;
  }
  if (blank) return "--preferred-chain: empty value (use shortest or an issuer name)";
  if (word && value != acme::kShortestChain) {
    return "--preferred-chain " + value +
           ": unknown value (use shortest, or the issuer CN of the chain's root, e.g. \"ISRG "
           "Root X1\")";
  }
  return std::nullopt;
}

int run_issue(const GlobalOptions& g, const IssueOptions& o, const IssueDefaults& defaults) {
  auto log = logger("issue");
  const auto t0 = std::chrono::steady_clock::now();
  // 1. Everything the user typed is checked before anything touches the network or disk.
  if (o.reuse_key && !o.csr_file.empty()) {
    return usage_fail("--reuse-key and --csr exclude each other (with --csr the key is yours)");
  }
  if (o.domains.empty() && o.csr_file.empty()) return usage_fail("issue: -d NAME (or --csr FILE)");
  if (!o.preferred_chain.empty()) {
    if (auto bad = check_preferred_chain(o.preferred_chain)) return usage_fail(*bad);
  }
  int64_t persist_until = 0;
  if (!o.persist_until.empty()) {
    if (o.challenge.challenge != acme::kDnsPersist01) {
      return usage_fail("--persist-until goes with --challenge dns-persist-01");
    }
    auto until = acme::parse_persist_until(o.persist_until);
    if (!until) return usage_fail(until.error().message);
    persist_until = *until;
  }
  ChallengeSettings ch = o.challenge;
  apply_challenge_env(ch);
  if (auto r = check_challenge_settings(ch); !r) return fail(r.error());
  ch.webroot = absolute_path(ch.webroot);
  std::string csr_pem;
  std::vector<std::string> requested = o.domains;
  if (!o.csr_file.empty()) {
    auto text = read_file(absolute_path(o.csr_file));
    if (!text) return fail(std::move(text).error().context("--csr " + o.csr_file));
    auto csr = acme::parse_csr(*text);
    if (!csr) return fail(std::move(csr).error().context("--csr " + o.csr_file));
    auto from_csr =
        acme::normalize_identifiers(csr->names, challenge_allows_wildcard(ch.challenge));
    if (!from_csr) return fail(std::move(from_csr).error().context("--csr " + o.csr_file));
    if (!o.domains.empty()) {
      auto given = acme::normalize_identifiers(o.domains, challenge_allows_wildcard(ch.challenge));
      if (!given) return fail(given.error());
      std::set<std::string> a, b;
      for (const auto& id : *given) a.insert(id.value);
      for (const auto& id : *from_csr) b.insert(id.value);
      if (a != b) {
        std::vector<std::string> names(b.begin(), b.end());
        return fail(make_error(Errc::kInvalidInput, "--csr " + o.csr_file + " names " +
                                                        join(names) + ", not what -d gave"));
      }
    }
    requested.clear();
    for (const auto& id : *from_csr) requested.push_back(id.value);
    csr_pem = std::move(*text);
  }
  auto ids = acme::normalize_identifiers(
      requested, /*allow_wildcard=*/challenge_allows_wildcard(ch.challenge));
  if (!ids) return fail(ids.error());
  if (auto r = check_identifiers_for_challenge(*ids, ch.challenge); !r) {
    return usage_fail(r.error().message);
  }
  auto key_type = acme::parse_key_type(o.key_type);
  if (!key_type) return usage_fail(key_type.error().message);
  const std::string name =
      normalize_cert_name(o.name.empty() ? default_cert_name((*ids)[0].value) : o.name);
  if (!valid_cert_name(name)) {
    return fail(make_error(Errc::kInvalidInput,
                           "--name \"" + name + "\": use letters, digits, '.', '-', '_'"));
  }
  if (!g.email.empty() && (g.email.find('@') == std::string::npos ||
                           g.email.find_first_of(" ,<>\n") != std::string::npos)) {
    return fail(make_error(Errc::kInvalidInput, "--email " + g.email + ": not an e-mail address"));
  }
  if (auto eab = eab_from(g); !eab) return usage_fail(eab.error().to_string());
  if (!o.pkcs12_password_file.empty()) {
    if (auto pw = read_file(o.pkcs12_password_file); !pw) {
      return fail(std::move(pw).error().context("--pkcs12-password-file"));
    }
  }
  auto directory_url = resolve_server(g.server);
  if (!directory_url) return fail(directory_url.error());
  const std::string state_dir = resolve_state_dir(g.state_dir);
  const std::string out_root = o.out.empty() ? state_dir + "/live" : absolute_path(o.out);
  if (o.dry_run) {
    return run_issue_dry_run(g, o, defaults, state_dir, name, *ids, ch, *directory_url,
                             out_root + "/" + name, csr_pem);
  }

  // 2. Record the settings (the agent and `renew` use them from now on).
  auto store = open_store(g, state_dir);
  if (!store) return fail(store.error());
  Store& db = **store;
  auto existing = db.find_certificate(name);
  if (!existing) return fail(existing.error());
  std::vector<std::string> domains;
  for (const auto& id : *ids) domains.push_back(id.value);
  bool reissue = o.force || !*existing || (*existing)->not_after == 0;
  if (*existing) {
    const std::set<std::string> now_names(domains.begin(), domains.end());
    const std::set<std::string> old_names((*existing)->domains.begin(), (*existing)->domains.end());
    std::vector<std::string> dropped;
    for (const auto& n : old_names) {
      if (now_names.count(n) == 0) dropped.push_back(n);
    }
    if (!dropped.empty() && !o.force) {
      return fail(make_error(Errc::kInvalidInput,
                             "certificate " + name + " also covers " + join(dropped) +
                                 ": dropping names needs --force (or use another --name)"));
    }
    if (!dropped.empty()) log->warn("cert={} dropping names: {}", name, join(dropped));
    if (now_names != old_names) reissue = true;
    if ((*existing)->csr_pem != csr_pem) reissue = true;  // another CSR: another key
  }
  CertificateRecord rec = *existing ? **existing : CertificateRecord{};
  if (auto r = store_inline_secrets(ch, state_dir, name); !r) return fail(r.error());
  rec.name = name;
  rec.domains = domains;
  rec.key_type = std::string(acme::to_string(*key_type));
  rec.challenge = ch.challenge;
  rec.http01_listen = ch.http01_listen;  // "": the shared responder ([agent] http01_listen)
  rec.webroot = ch.webroot;
  rec.challenge_settings = to_json(ch);
  rec.ca_bundle = absolute_path(g.ca_bundle);
  rec.out_dir = out_root + "/" + name;
  rec.server = *directory_url;
  rec.deploy_hook = o.deploy_hook;
  rec.preferred_chain = o.preferred_chain;  // renewals ask for the same chain
  rec.profile = o.profile;                  // and the same profile
  rec.pkcs12 = o.pkcs12 || !o.pkcs12_password_file.empty();
  rec.pkcs12_password_file = absolute_path(o.pkcs12_password_file);
  rec.reuse_key = o.reuse_key;  // and keep the key
  rec.csr_pem = csr_pem;        // or finalize with the same CSR
  rec.persist_until = persist_until;
  rec.managed = true;
  const bool created = !*existing;
  auto saved = created ? db.upsert_certificate(rec) : db.update_certificate_settings(rec, reissue);
  if (!saved) return fail(saved.error());

  // 3. The one pipeline: in the running agent (its responder, its lock), else here.
  RunResult result;
  const RunOptions run_options{reissue, /*ari=*/false};
  auto delegated = control_run(state_dir, {{name}, run_options.force, run_options.ari});
  if (!delegated) return fail(delegated.error());
  if (*delegated) {
    log->info("cert={} handed to the running agent ({})", name, control_socket_path(state_dir));
    if ((*delegated)->empty()) return fail(make_error(Errc::kIo, "the agent gave no result"));
    const ControlReply& reply = (*delegated)->front();
    result.outcome = outcome_from_string(reply.outcome);
    result.message = reply.message;
    result.installed = reply.installed;
  } else {
    metrics::Registry registry;
    EventSink events(db, registry, std::chrono::seconds(defaults.hook_timeout_seconds));
    PipelineSettings ps;
    ps.state_dir = state_dir;
    ps.acme = g;
    ps.order_timeout = std::chrono::seconds(o.timeout_seconds);
    ps.shared_listen = defaults.shared_listen;
    ps.shared_tls_listen = defaults.shared_tls_listen;
    ps.quiet_failures = true;
    ps.serve_check = [&defaults](const std::string& cert) {
      auto it = defaults.serve_checks.find(cert);
      return it == defaults.serve_checks.end() ? ServeCheckConfig{} : it->second;
    };
    auto fleet = fleet_settings(g.config);  // [store]: issue through the fleet's leases
    if (!fleet) return fail(fleet.error());
    ps.fleet = *fleet;
    Pipeline pipeline(db, events, std::move(ps));
    result = pipeline.run(name, run_options);
  }
  auto after = db.find_certificate(name);
  if (after && *after) rec = **after;

  int rc = kExitOk;
  switch (result.outcome) {
    case Outcome::kRenewed:
    case Outcome::kNotDue: print_issued(g, rec, result); break;
    case Outcome::kHookFailed:
      print_issued(g, rec, result);
      std::fprintf(stderr, "acmectl: error: deploy hook: %s\n", result.message.c_str());
      rc = kExitFailure;
      break;
    case Outcome::kBackoff:
      rc = fail(
          make_error(Errc::kInvalidInput, name + ": " + result.message + " (--force tries now)"));
      break;
    case Outcome::kLocked:
    case Outcome::kFailed:
      if (created && rec.not_after == 0) {
        // Nothing was ever issued for this new name: do not leave it for the agent to
        // retry; the failure stays in the event history.
        if (auto r = db.delete_certificate(name); !r) log->warn("{}", r.error().to_string());
      }
      rc = fail(make_error(Errc::kIo, result.message));
      break;
  }
  log->debug("done took_ms={}", std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - t0)
                                    .count());
  return rc;
}

}  // namespace agent::cli
