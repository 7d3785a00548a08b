#include "cli/manage_cmds.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "acme/certificate.hpp"
#include "base/file_lock.hpp"
#include "cli/fleet_cmds.hpp"
#include "config/config.hpp"
#include "daemon/config_sync.hpp"
#include "daemon/control.hpp"
#include "deploy/files.hpp"
#include "deploy/purge.hpp"
#include "events/event_sink.hpp"
#include "events/notifier.hpp"
#include "metrics/status_page.hpp"
#include "pipeline/names.hpp"
#include "pipeline/pipeline.hpp"
#include "schedule/policy.hpp"
#include "schedule/status.hpp"

namespace agent::cli {

using acme::Errc;
using acme::make_error;

namespace {

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string last_result(const CertificateRecord& c) {
  if (!c.managed) return "unmanaged";
  if (c.revoked()) return "revoked";
  if (c.consecutive_failures > 0) return "failing (" + std::to_string(c.consecutive_failures) + ")";
  if (c.hook_pending) return "hook failed";
  if (c.last_success != 0) return "ok";
  return "-";
}

// `renew --dry-run`: in this process (never handed to a running agent), every named
// certificate whether due or not, no post hook, nothing written (Pipeline::dry_run).
int run_renew_dry_run(const GlobalOptions& g, const RenewCmdOptions& o, Store& store,
                      const std::vector<std::string>& names) {
  metrics::Registry registry;
  EventSink events(store, registry, std::chrono::seconds(o.hook_timeout_seconds));
  PipelineSettings settings;
  settings.state_dir = resolve_state_dir(g.state_dir);
  settings.acme = g;
  settings.shared_listen = o.shared_listen;
  settings.quiet_failures = true;
  Pipeline pipeline(store, events, settings);
  int rc = kExitOk;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& name : names) {
    auto found = store.find_certificate(name);
    if (!found || !*found) continue;
    const RunResult r = pipeline.dry_run(**found);
    const bool ok = r.outcome == Outcome::kRenewed;
    if (!ok) {
      std::fprintf(stderr, "acmectl: error: %s: %s\n", name.c_str(), r.message.c_str());
      rc = kExitFailure;
    }
    if (g.json) {
      out.push_back({{"name", name},
                     {"outcome", ok ? "dry-run" : to_string(r.outcome)},
                     {"message", r.message},
                     {"installed", false},
                     {"dry_run", true}});
    } else if (ok) {
      std::cout << name << ": " << r.message << "\n";
    }
  }
  if (g.json) std::cout << out.dump(2) << "\n";
  return rc;
}

}  // namespace

CLI::App* add_renew_command(CLI::App& app, RenewCmdOptions& o) {
  auto* cmd = app.add_subcommand("renew", "Renew recorded certificates that are due (for cron)");
  cmd->add_option("names", o.names, "Certificate names (default: all)");
  cmd->add_flag("--force,--force-renewal", o.force, "Renew now, due or not");
  cmd->add_flag("--dry-run", o.dry_run,
                "Renew each (due or not) against the CA (staging for letsencrypt); write nothing");
  // --json is a global option: one array of {name, outcome, message, installed}.
  cmd->add_option("--post-hook", o.post_hook, "Command run once if anything was renewed");
  cmd->add_option("--renew-before-days", o.renew_before_days, "Renewal window in days (30)")
      ->check(CLI::Range(1, 365));
  return cmd;
}

CLI::App* add_delete_command(CLI::App& app, DeleteCmdOptions& o) {
  auto* cmd = app.add_subcommand("delete",
                                 "Stop tracking a certificate (its files are kept unless --purge)");
  cmd->add_option("name", o.name, "Certificate name")->required();
  cmd->add_flag("--purge", o.purge, "Also remove its files (OUT/NAME and its versions)");
  return cmd;
}

CLI::App* add_list_command(CLI::App& app) {
  return app.add_subcommand("list", "List recorded certificates");
}

CLI::App* add_show_command(CLI::App& app, ShowCmdOptions& o) {
  auto* cmd = app.add_subcommand("show", "Show one certificate and its recent events");
  cmd->add_option("name", o.name, "Certificate name")->required();
  return cmd;
}

int run_renew(const GlobalOptions& g, const RenewCmdOptions& o) {
  // The timer's pass takes up the config's [[certificate]] list as the agent does at
  // start: one never issued is issued now, one with new names reissued (a running agent
  // owns its config: SIGHUP makes it re-read it).
  std::set<std::string> reissue;
  if (o.sync_config && !o.dry_run && !agent_listening(resolve_state_dir(g.state_dir))) {
    GlobalOptions resolved = g;
    resolved.state_dir = resolve_state_dir(g.state_dir);
    auto store = open_store(g, resolved.state_dir);
    if (!store) return fail(store.error());
    auto synced = sync_configured_certificates(**store, o.configured, resolved);
    if (!synced) return fail(synced.error());
    reissue = std::move(synced->reissue);
  }
  if (o.names.empty() && !store_exists(g)) {
    // A fresh install (the timer fires before the first issue): nothing to do.
    if (g.json) {
      std::cout << "[]\n";
    } else if (!g.quiet) {
      std::cout << "nothing to renew: no certificate recorded in " << resolve_state_dir(g.state_dir)
                << " yet\n";
    }
    return kExitOk;
  }
  auto store = open_existing_store(g);
  if (!store) return fail(store.error());
  const std::string state_dir = resolve_state_dir(g.state_dir);
  std::vector<std::string> names;
  int rc = kExitOk;
  for (const auto& n : o.names) {
    const std::string name = normalize_cert_name(n);
    auto found = (*store)->find_certificate(name);
    if (!found || !*found) {
      std::fprintf(stderr, "acmectl: error: no certificate named %s\n", n.c_str());
      rc = kExitFailure;
      continue;
    }
    names.push_back(name);
  }
  if (o.names.empty()) {
    auto all = (*store)->list_certificates();
    if (!all) return fail(all.error());
    for (const auto& c : *all) {
      if (c.managed) names.push_back(c.name);  // gone from the config: no longer renewed
    }
  }
  if (names.empty()) return rc;
  if (o.dry_run) return rc | run_renew_dry_run(g, o, **store, names);

  // A running agent does the work (its responder, one order per certificate); else here.
  std::vector<std::pair<std::string, RunResult>> results;
  auto delegated = control_run(state_dir, {names, o.force, true});
  if (!delegated) return fail(delegated.error());
  if (*delegated) {
    logger("renew")->info("handed {} certificate(s) to the running agent ({})", names.size(),
                          control_socket_path(state_dir));
    for (const auto& reply : **delegated) {
      RunResult r;
      r.outcome = outcome_from_string(reply.outcome);
      r.message = reply.message;
      r.installed = reply.installed;
      results.emplace_back(reply.name, r);
    }
  } else {
    metrics::Registry registry;
    // Declared before the sink: its destructor waits (boundedly) for queued deliveries.
    Notifier notifier(registry);
    notifier.configure(o.notify);
    EventSink events(**store, registry, std::chrono::seconds(o.hook_timeout_seconds));
    events.set_notifier(&notifier);
    PipelineSettings settings;
    settings.state_dir = state_dir;
    settings.acme = g;
    if (o.renew_before_days > 0) settings.renew_before_days = o.renew_before_days;
    settings.shared_listen = o.shared_listen;
    settings.shared_tls_listen = o.shared_tls_listen;
    settings.quiet_failures = true;
    settings.serve_check = [&o](const std::string& name) {
      auto it = o.serve_checks.find(name);
      return it == o.serve_checks.end() ? ServeCheckConfig{} : it->second;
    };
    auto fleet = fleet_settings(g.config);  // [store]: renew through the fleet's leases
    if (!fleet) return fail(fleet.error());
    settings.fleet = *fleet;
    Pipeline pipeline(**store, events, settings);
    std::vector<std::string> renewed, failed;
    for (const auto& name : names) {
      RunResult r = pipeline.run(name, RunOptions{o.force || reissue.count(name) > 0, true});
      if (r.installed) renewed.push_back(name);
      if (r.outcome == Outcome::kFailed || r.outcome == Outcome::kHookFailed) {
        failed.push_back(name);
      }
      results.emplace_back(name, std::move(r));
    }
    if ((!renewed.empty() || !failed.empty()) && !o.post_hook.empty()) {
      if (auto hr = events.post_hook(o.post_hook, renewed, failed); !hr) {
        std::fprintf(stderr, "acmectl: error: post hook: %s\n", hr.error().to_string().c_str());
        rc = kExitFailure;
      }
    }
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, r] : results) {
    const bool failed = r.outcome == Outcome::kFailed || r.outcome == Outcome::kHookFailed ||
                        r.outcome == Outcome::kLocked;
    if (failed) {
      // Said once, on stderr; stdout carries what went well.
      std::fprintf(stderr, "acmectl: error: %s: %s\n", name.c_str(), r.message.c_str());
      print_hint(r.message);
      rc = kExitFailure;
    }
    if (g.json) {
      out.push_back({{"name", name},
                     {"outcome", to_string(r.outcome)},
                     {"message", r.message},
                     {"installed", r.installed}});
    } else if (!failed && (r.installed || !g.quiet)) {
      std::cout << name << ": " << to_string(r.outcome) << ": " << r.message << "\n";
    }
  }
  if (g.json) std::cout << out.dump(2) << "\n";
  return rc;
}

namespace {

// The CA column of `list`: host[:port] of the issuing CA's directory URL ("-": none yet).
std::string ca_host(const std::string& url) {
  if (url.empty()) return "-";
  const auto start = url.find("://");
  const std::string rest = start == std::string::npos ? url : url.substr(start + 3);
  return rest.substr(0, rest.find('/'));
}

// One column of `acmectl list`: others add theirs to the vector in run_list.
struct Column {
  std::string header;
  std::function<std::string(const CertificateRecord&, const CertificateStatus&)> cell;
  bool last = false;  // printed unpadded (free text that may be long)
};

}  // namespace

int run_list(const GlobalOptions& g, int renew_before_days) {
  // A fresh install (no store yet) or a store whose certificates were all deleted:
  // nothing recorded is an answer, not an error.
  const auto say_none = [&g] {
    std::cout << "no certificates recorded in " << resolve_state_dir(g.state_dir)
              << " yet (acmectl issue -d NAME)\n";
  };
  if (!store_exists(g)) {
    if (g.json) {
      std::cout << "[]\n";
    } else {
      say_none();
    }
    return kExitOk;
  }
  auto store = open_existing_store(g);
  if (!store) return fail(store.error());
  auto all = (*store)->list_certificates();
  if (!all) return fail(all.error());
  if (all->empty() && !g.json) {
    say_none();
    std::cout.flush();
    return add_fleet_to_list(g, nullptr) ? kExitOk : kExitFailure;
  }
  const int64_t now = unix_now();
  std::vector<CertificateStatus> status;
  std::vector<std::string> issuers;
  for (const auto& c : *all) {
    status.push_back(certificate_status(c, renew_before_days, now));
    issuers.push_back(metrics::issuer_from_files(c));  // as the status page shows it
  }
  if (g.json) {
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t i = 0; i < all->size(); ++i) {
      const auto& c = (*all)[i];
      const auto& s = status[i];
      out.push_back({{"name", c.name},
                     {"domains", c.domains},
                     {"status", s.status},
                     {"status_kind", s.kind},
                     {"not_after", c.not_after ? rfc3339(c.not_after) : ""},
                     {"days_left", s.days_left},
                     {"next_renewal", s.next_renewal ? rfc3339(s.next_renewal) : ""},
                     {"next_renewal_reason", s.next_reason},
                     {"planned_renewal", s.planned_renewal ? rfc3339(s.planned_renewal) : ""},
                     {"serial", c.serial},
                     {"key_type", c.key_type},
                     {"issuer", issuers[i]},
                     {"last_result", last_result(c)},
                     {"consecutive_failures", c.consecutive_failures},
                     {"next_attempt", c.next_attempt ? rfc3339(c.next_attempt) : ""},
                     {"last_error", c.last_error},
                     {"issued_by", c.issued_by},
                     {"chain_depth", c.chain_depth},
                     {"chain_bytes", c.chain_bytes},
                     {"dir", c.out_dir},
                     {"paths",
                      {{"cert", c.out_dir + "/cert.pem"},
                       {"fullchain", c.out_dir + "/fullchain.pem"},
                       {"privkey", c.out_dir + "/privkey.pem"},
                       {"combined", c.out_dir + "/combined.pem"}}}});
    }
    if (!add_fleet_to_list(g, &out)) return kExitFailure;
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::size_t row = 0;  // the row being printed: its issuer
  std::vector<Column> cols = {
      {"NAME", [](const auto& c, const auto&) { return c.name; }},
      {"STATUS", [](const auto&, const auto& s) { return s.status; }},
      {"NOT AFTER",
       [](const auto& c, const auto&) { return c.not_after ? rfc3339(c.not_after) : "-"; }},
      {"DAYS LEFT",
       [](const auto& c, const auto& s) {
         return c.not_after ? std::to_string(s.days_left) : std::string("-");
       }},
      {"NEXT RENEWAL", [](const auto&, const auto& s) { return next_renewal_text(s); }},
      {"KEY", [](const auto& c, const auto&) { return c.key_type; }},
      {"ISSUER", [&issuers, &row](const auto&, const auto&) { return issuers[row]; }},
      {"CA", [](const auto& c, const auto&) { return ca_host(c.issued_by); }},
  };
  if (g.verbose) {
    cols.push_back({"PATH", [](const auto& c, const auto&) { return c.out_dir; }});
    cols.push_back({"LAST ERROR", [](const auto& c, const auto&) {
                      return c.last_error.empty() ? std::string("-") : c.last_error;
                    }});
  }
  cols.push_back(
      {"DOMAINS", [](const auto& c, const auto&) { return join(c.domains, ","); }, true});
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> width;
  for (const auto& col : cols) width.push_back(col.header.size());
  for (row = 0; row < all->size(); ++row) {
    cells.emplace_back();
    for (std::size_t k = 0; k < cols.size(); ++k) {
      cells.back().push_back(cols[k].cell((*all)[row], status[row]));
      width[k] = std::max(width[k], cells.back().back().size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& r) {
    std::string line;
    for (std::size_t k = 0; k < cols.size(); ++k) {
      line += r[k];
      if (!cols[k].last && k + 1 < cols.size())
        line += std::string(width[k] - r[k].size() + 2, ' ');
    }
    std::cout << line << "\n";
  };
  std::vector<std::string> headers;
  for (const auto& col : cols) headers.push_back(col.header);
  print_row(headers);
  for (const auto& r : cells) print_row(r);
  std::cout.flush();
  std::fflush(stdout);
  if (!add_fleet_to_list(g, nullptr)) return kExitFailure;
  return kExitOk;
}

int run_show(const GlobalOptions& g, const ShowCmdOptions& o, int renew_before_days) {
  auto store = open_existing_store(g);
  if (!store) return fail(store.error());
  auto found = (*store)->find_certificate(o.name);
  if (!found) return fail(found.error());
  if (!*found) return fail(make_error(Errc::kInvalidInput, "no certificate named " + o.name));
  const CertificateRecord& c = **found;
  const CertificateStatus st = certificate_status(c, renew_before_days, unix_now());
  auto events = (*store)->events(c.name, 20);
  if (g.json) {
    nlohmann::json ev = nlohmann::json::array();
    if (events) {
      for (const auto& e : *events) {
        ev.push_back({{"at", rfc3339(e.at)}, {"kind", e.kind}, {"detail", e.detail}});
      }
    }
    std::cout << nlohmann::json{{"name", c.name},
                                {"domains", c.domains},
                                {"server", c.server},
                                {"issued_by", c.issued_by},
                                {"key_type", c.key_type},
                                {"challenge", c.challenge},
                                {"dir", c.out_dir},
                                {"serial", c.serial},
                                {"not_before", c.not_before ? rfc3339(c.not_before) : ""},
                                {"not_after", c.not_after ? rfc3339(c.not_after) : ""},
                                {"status", st.status},
                                {"next_renewal", st.next_renewal ? rfc3339(st.next_renewal) : ""},
                                {"next_renewal_reason", st.next_reason},
                                {"planned_renewal",
                                 st.planned_renewal ? rfc3339(st.planned_renewal) : ""},
                                {"consecutive_failures", c.consecutive_failures},
                                {"last_error", c.last_error},
                                {"deploy_hook", c.deploy_hook},
                                {"chain_depth", c.chain_depth},
                                {"chain_bytes", c.chain_bytes},
                                {"preferred_chain", c.preferred_chain},
                                {"reuse_key", c.reuse_key},
                                {"csr", !c.csr_pem.empty()},
                                {"events", ev}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  std::cout << "name:         " << c.name << "\n"
            << "domains:      " << join(c.domains, ", ") << "\n"
            << "server:       " << c.server << "\n"
            << "issued by:    " << (c.issued_by.empty() ? "-" : c.issued_by) << "\n"
            << "key type:     "
            << (c.csr_pem.empty() ? c.key_type + (c.reuse_key ? ", reused on renewal" : "")
                                  : std::string("from the CSR (no private key here)"))
            << "\n"
            << "challenge:    " << c.challenge << "\n"
            << "files:        " << c.out_dir << "\n"
            << "serial:       " << c.serial << "\n"
            << "valid:        " << (c.not_before ? rfc3339(c.not_before) : "-") << " .. "
            << (c.not_after ? rfc3339(c.not_after) : "-") << "\n"
            << "status:       " << st.status << "\n"
            << "next renewal: " << next_renewal_text(st) << "\n"
            << "chain:        "
            << (c.chain_depth ? std::to_string(c.chain_depth) + " certificates, " +
                                    std::to_string(c.chain_bytes) + " bytes (DER)"
                              : std::string("-"))
            << (c.preferred_chain.empty() ? "" : "; preferred: " + c.preferred_chain) << "\n"
            << "last result:  " << last_result(c)
            << (c.last_error.empty() ? "" : " (" + c.last_error + ")") << "\n";
  if (!c.deploy_hook.empty()) std::cout << "deploy hook:  " << c.deploy_hook << "\n";
  if (events && !events->empty()) {
    std::cout << "events:\n";
    for (const auto& e : *events) {
      std::cout << "  " << rfc3339(e.at) << "  " << e.kind << "  " << e.detail << "\n";
    }
  }
  return kExitOk;
}

int run_delete(const GlobalOptions& g, const DeleteCmdOptions& o) {
  auto store = open_existing_store(g);
  if (!store) return fail(store.error());
  const std::string name = normalize_cert_name(o.name);
  auto found = (*store)->find_certificate(name);
  if (!found) return fail(found.error());
  if (!*found) return fail(make_error(Errc::kInvalidInput, "no certificate named " + o.name));
  const CertificateRecord rec = **found;
  // The certificate's lock: never delete under a renewal that is writing it.
  const std::string state_dir = resolve_state_dir(g.state_dir);
  auto lock = try_lock_certificate(state_dir, name);
  if (!lock) return fail(lock.error());
  if (!*lock) {
    return fail(make_error(Errc::kIo, name + " is being renewed right now; try again shortly"));
  }
  if (auto r = (*store)->delete_certificate(name); !r) return fail(r.error());
  if (auto r = (*store)->clear_order(name); !r) return fail(r.error());
  ::unlink((state_dir + "/pending/" + name + ".key").c_str());
  ::unlink((state_dir + "/secrets/" + name + ".tsig").c_str());
  if (auto r = (*store)->add_event({name, "deleted", unix_now(), o.purge ? "purged" : ""}); !r) {
    logger("store")->error("recording the deletion of {}: {}", name, r.error().to_string());
  }
  std::string purged;
  if (o.purge && !rec.out_dir.empty()) {
    const std::string out_root = rec.out_dir.substr(0, rec.out_dir.rfind('/'));
    if (auto r = remove_certificate_files(out_root, name); !r) return fail(r.error());
    purged = " and its files in " + rec.out_dir;
  }
  if (g.json) {
    std::cout << nlohmann::json{{"name", name},
                                {"deleted", true},
                                {"purged", o.purge},
                                {"dir", rec.out_dir}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "certificate " << name << " deleted" << purged
              << (o.purge ? "" : "; its files stay in " + rec.out_dir) << "\n";
  }
  return kExitOk;
}

}  // namespace agent::cli
