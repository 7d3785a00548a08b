// `acmectl issue`: obtain a certificate now, install it, record it for renewal.
#include "cli/issue_cmd.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "acme/issuer.hpp"
#include "deploy/files.hpp"
#include "hooks/hook_runner.hpp"

namespace agent::cli {

using acme::Errc;
using acme::make_error;

std::string default_cert_name(const std::string& first_name) {
  if (first_name.rfind("*.", 0) == 0) return "_wildcard." + first_name.substr(2);
  return first_name;
}

CLI::App* add_issue_command(CLI::App& app, IssueOptions& o) {
  auto* cmd = app.add_subcommand("issue", "Obtain a certificate now and record it for renewal");
  cmd->add_option("-d,--domain", o.domains, "Name to include (repeatable); first is the CN")
      ->required()
      ->take_all();
  cmd->add_option("--name", o.name, "Certificate name (default: the first name)");
  cmd->add_option("--key-type", o.key_type, "ec256 (default), ec384, rsa2048, rsa3072, rsa4096");
  add_challenge_options(*cmd, o.challenge);
  cmd->add_option("--out", o.out, "Output directory (default STATE/live)");
  cmd->add_option("--deploy-hook", o.deploy_hook, "Command to run after the files are installed");
  cmd->add_option("--preferred-chain", o.preferred_chain,
                  "Pick the alternate chain whose top issuer contains this text");
  cmd->add_option("--timeout", o.timeout_seconds, "Overall validation/finalize timeout, seconds")
      ->check(CLI::Range(1, 86400));
  return cmd;
}

namespace {

int64_t unix_seconds(acme::SysTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

bool valid_cert_name(const std::string& n) {
  if (n.empty() || n.size() > 255 || n == "." || n == ".." || n.front() == '.') return false;
  for (unsigned char c : n) {
    if (!(std::isalnum(c) || c == '.' || c == '-' || c == '_')) return false;
  }
  return true;
}

}  // namespace

int run_issue(const GlobalOptions& g, const IssueOptions& o) {
  auto log = logger("issue");
  // 1. Everything the user typed is checked before anything touches the network or disk.
  ChallengeSettings ch = o.challenge;
  apply_challenge_env(ch);
  if (auto r = check_challenge_settings(ch); !r) return fail(r.error());
  auto ids = acme::normalize_identifiers(o.domains, /*allow_wildcard=*/ch.challenge == "dns-01");
  if (!ids) return fail(ids.error());
  auto key_type = acme::parse_key_type(o.key_type);
  if (!key_type) return fail(key_type.error());
  const std::string name = o.name.empty() ? default_cert_name((*ids)[0].value) : o.name;
  if (!valid_cert_name(name)) {
    return fail(make_error(Errc::kInvalidInput,
                           "--name \"" + name + "\": use letters, digits, '.', '-', '_'"));
  }
  if (!g.email.empty() && (g.email.find('@') == std::string::npos ||
                           g.email.find_first_of(" ,<>\n") != std::string::npos)) {
    return fail(make_error(Errc::kInvalidInput, "--email " + g.email + ": not an e-mail address"));
  }
  auto directory_url = resolve_server(g.server);
  if (!directory_url) return fail(directory_url.error());
  const std::string state_dir = resolve_state_dir(g.state_dir);
  const std::string out_root = o.out.empty() ? state_dir + "/live" : o.out;
  const std::string out_dir = out_root + "/" + name;

  // 2. The responder binds before any order exists, so a busy port fails early.
  auto bundle = make_solver(ch);
  if (!bundle) return fail(bundle.error());
  acme::Solver& solver = *bundle->solver;

  // 3. Connect before writing anything: an unreachable or untrusted CA leaves no trace.
  auto t0 = std::chrono::steady_clock::now();
  auto session = connect(g, *directory_url);
  if (!session) return fail(session.error());
  log->info("directory url={} took_ms={}", *directory_url,
            std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0).count());
  auto store = open_store(state_dir);
  if (!store) return fail(store.error());
  if (auto r = ensure_account(*session, **store, g, state_dir); !r) return fail(r.error());

  // 4. Issue.
  acme::IssueRequest req;
  req.identifiers = *ids;
  req.key_type = *key_type;
  req.preferred_chain = o.preferred_chain;
  req.poll.timeout = std::chrono::seconds(o.timeout_seconds);
  Store& db = **store;
  req.on_order_created = [&db, &name, &log](const std::string& url) {
    if (auto r = db.set_order(name, url, "pending"); !r) log->warn("{}", r.error().to_string());
  };
  acme::Issuer issuer(*session->client, solver, acme::system_clock(),
                      [&log](std::string_view step, std::chrono::milliseconds took,
                             std::string_view detail) {
                        log->info("{} took_ms={}{}{}", step, took.count(),
                                  detail.empty() ? "" : " ", detail);
                      });
  auto issued = issuer.issue(req);
  if (!issued) {
    (void)db.add_event({name, "failed", 0, issued.error().to_string()});
    (void)db.clear_order(name);
    return fail(issued.error());
  }

  // 5. Install atomically; the key is never visible with a wider mode than 0600.
  const std::vector<FileSpec> files = {
      {"privkey.pem", issued->key_pem, 0600},
      {"cert.pem", issued->cert_pem, 0644},
      {"chain.pem", issued->chain_pem, 0644},
      {"fullchain.pem", issued->fullchain_pem, 0644},
  };
  if (auto r = install_certificate_files(out_root, name, files); !r) {
    (void)db.add_event({name, "failed", 0, r.error().to_string()});
    return fail(std::move(r).error().context("install"));
  }
  (void)db.clear_order(name);

  CertificateRecord rec;
  if (auto existing = db.find_certificate(name); existing && *existing) rec = **existing;
  rec.name = name;
  rec.domains.clear();
  for (const auto& id : *ids) rec.domains.push_back(id.value);
  rec.key_type = std::string(acme::to_string(*key_type));
  rec.challenge = ch.challenge;
  rec.http01_listen = ch.webroot.empty() ? (ch.http01_listen.empty() ? ":80" : ch.http01_listen) : "";
  rec.webroot = ch.webroot;
  rec.challenge_settings = to_json(ch);
  rec.ca_bundle = g.ca_bundle;
  rec.out_dir = out_dir;
  rec.server = *directory_url;
  rec.deploy_hook = o.deploy_hook;
  rec.preferred_chain = o.preferred_chain;  // renewals ask for the same chain
  rec.not_before = unix_seconds(issued->info.not_before);
  rec.not_after = unix_seconds(issued->info.not_after);
  rec.serial = issued->info.serial_hex;
  rec.ari_cert_id = issued->info.ari_cert_id;
  rec.ari_chosen_time = 0;
  rec.consecutive_failures = 0;
  rec.next_attempt = 0;
  rec.last_error.clear();
  rec.last_success = unix_seconds(std::chrono::system_clock::now());
  if (auto r = db.upsert_certificate(rec); !r) return fail(r.error());
  (void)db.add_event({name, "obtained", 0, "serial " + rec.serial});

  int rc = kExitOk;
  if (!o.deploy_hook.empty()) {
    HookContext hc{name, rec.domains, out_dir, "obtained"};
    auto hr = run_hook(o.deploy_hook, hc, std::chrono::seconds(60), *logger("hook"));
    (void)db.add_event({name, hr ? "hook_ran" : "hook_failed", 0,
                        hr ? o.deploy_hook : hr.error().to_string()});
    if (!hr) {
      std::fprintf(stderr, "acmectl: error: deploy hook: %s\n", hr.error().to_string().c_str());
      rc = kExitFailure;
    }
  }

  nlohmann::json out{{"name", name},
                     {"domains", rec.domains},
                     {"serial", rec.serial},
                     {"issuer", issued->info.issuer},
                     {"not_before", rfc3339(rec.not_before)},
                     {"not_after", rfc3339(rec.not_after)},
                     {"key_type", rec.key_type},
                     {"order_url", issued->order_url},
                     {"certificate_url", issued->certificate_url},
                     {"paths",
                      {{"dir", out_dir},
                       {"cert", out_dir + "/cert.pem"},
                       {"chain", out_dir + "/chain.pem"},
                       {"fullchain", out_dir + "/fullchain.pem"},
                       {"privkey", out_dir + "/privkey.pem"}}}};
  if (g.json) {
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "certificate " << name << " issued: serial " << rec.serial << ", valid until "
              << rfc3339(rec.not_after) << "\n  files in " << out_dir << "\n";
  }
  log->info("done took_ms={}", std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - t0).count());
  return rc;
}

}  // namespace agent::cli
