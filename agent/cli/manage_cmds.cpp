#include "cli/manage_cmds.hpp"

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "hooks/hook_runner.hpp"
#include "renew/renewer.hpp"
#include "schedule/policy.hpp"

namespace agent::cli {

using acme::Errc;
using acme::make_error;

namespace {

int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// Planned renewal time as the agent would compute it without ARI.
int64_t planned_renewal(const CertificateRecord& c, int renew_before_days) {
  if (c.not_after == 0) return 0;
  if (c.ari_chosen_time != 0) return c.ari_chosen_time;
  PolicyInput in;
  in.not_before = std::chrono::system_clock::time_point(std::chrono::seconds(c.not_before));
  in.not_after = std::chrono::system_clock::time_point(std::chrono::seconds(c.not_after));
  in.renew_before_days = c.renew_before_days > 0 ? c.renew_before_days : renew_before_days;
  in.random01 = stable_random01(c.serial + c.name);
  return std::chrono::duration_cast<std::chrono::seconds>(
             plan_renewal(in).renew_at.time_since_epoch())
      .count();
}

std::string last_result(const CertificateRecord& c) {
  if (c.revoked()) return "revoked";
  if (c.consecutive_failures > 0) return "failing (" + std::to_string(c.consecutive_failures) + ")";
  if (c.hook_pending) return "hook failed";
  if (c.last_success != 0) return "ok";
  return "-";
}

}  // namespace

CLI::App* add_renew_command(CLI::App& app, RenewCmdOptions& o) {
  auto* cmd = app.add_subcommand("renew", "Renew recorded certificates that are due (for cron)");
  cmd->add_option("names", o.names, "Certificate names (default: all)");
  cmd->add_flag("--force", o.force, "Renew now, due or not");
  cmd->add_option("--post-hook", o.post_hook, "Command run once if anything was renewed");
  cmd->add_option("--renew-before-days", o.renew_before_days, "Renewal window in days (30)")
      ->check(CLI::Range(1, 365));
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
  auto store = open_existing_store(g);
  if (!store) return fail(store.error());
  std::vector<std::string> names = o.names;
  if (names.empty()) {
    auto all = (*store)->list_certificates();
    if (!all) return fail(all.error());
    for (const auto& c : *all) names.push_back(c.name);
  }
  RenewerSettings settings;
  settings.state_dir = resolve_state_dir(g.state_dir);
  settings.acme = g;
  if (o.renew_before_days > 0) settings.renew_before_days = o.renew_before_days;
  Renewer renewer(**store, settings);
  int rc = kExitOk;
  bool installed = false;
  std::vector<std::string> renewed_names;
  for (const auto& name : names) {
    auto found = (*store)->find_certificate(name);
    if (!found || !*found) {
      std::fprintf(stderr, "acmectl: error: no certificate named %s\n", name.c_str());
      rc = kExitFailure;
      continue;
    }
    const RenewResult r = renewer.run(name, o.force);
    installed = installed || r.installed;
    if (r.installed) renewed_names.push_back(name);
    if (r.outcome == Outcome::kFailed || r.outcome == Outcome::kHookFailed ||
        r.outcome == Outcome::kLocked) {
      std::fprintf(stderr, "acmectl: error: %s: %s\n", name.c_str(), r.message.c_str());
      rc = kExitFailure;
    }
    std::cout << name << ": " << to_string(r.outcome) << ": " << r.message << "\n";
  }
  if (installed && !o.post_hook.empty()) {
    HookContext ctx{"", renewed_names, "", "renewed"};
    auto hr = run_hook(o.post_hook, ctx, settings.hook_timeout, *logger("hook"));
    if (!hr) {
      std::fprintf(stderr, "acmectl: error: post hook: %s\n", hr.error().to_string().c_str());
      rc = kExitFailure;
    }
  }
  return rc;
}

int run_list(const GlobalOptions& g) {
  auto store = open_existing_store(g);
  if (!store) return fail(store.error());
  auto all = (*store)->list_certificates();
  if (!all) return fail(all.error());
  const int64_t now = now_unix();
  if (g.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : *all) {
      out.push_back({{"name", c.name},
                     {"domains", c.domains},
                     {"not_after", c.not_after ? rfc3339(c.not_after) : ""},
                     {"days_left", c.not_after ? (c.not_after - now) / 86400 : 0},
                     {"next_renewal", c.not_after ? rfc3339(planned_renewal(c, 30)) : ""},
                     {"serial", c.serial},
                     {"last_result", last_result(c)},
                     {"consecutive_failures", c.consecutive_failures},
                     {"last_error", c.last_error},
                     {"dir", c.out_dir}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::printf("%-28s %-21s %9s %-21s %-12s %s\n", "NAME", "NOT AFTER", "DAYS LEFT",
              "NEXT RENEWAL", "LAST RESULT", "DOMAINS");
  for (const auto& c : *all) {
    std::printf("%-28s %-21s %9lld %-21s %-12s %s\n", c.name.c_str(),
                c.not_after ? rfc3339(c.not_after).c_str() : "-",
                static_cast<long long>(c.not_after ? (c.not_after - now) / 86400 : 0),
                c.not_after ? rfc3339(planned_renewal(c, 30)).c_str() : "-",
                last_result(c).c_str(), join(c.domains, ",").c_str());
  }
  return kExitOk;
}

int run_show(const GlobalOptions& g, const ShowCmdOptions& o) {
  auto store = open_existing_store(g);
  if (!store) return fail(store.error());
  auto found = (*store)->find_certificate(o.name);
  if (!found) return fail(found.error());
  if (!*found) return fail(make_error(Errc::kInvalidInput, "no certificate named " + o.name));
  const CertificateRecord& c = **found;
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
                                {"key_type", c.key_type},
                                {"challenge", c.challenge},
                                {"dir", c.out_dir},
                                {"serial", c.serial},
                                {"not_before", c.not_before ? rfc3339(c.not_before) : ""},
                                {"not_after", c.not_after ? rfc3339(c.not_after) : ""},
                                {"next_renewal", c.not_after ? rfc3339(planned_renewal(c, 30)) : ""},
                                {"consecutive_failures", c.consecutive_failures},
                                {"last_error", c.last_error},
                                {"deploy_hook", c.deploy_hook},
                                {"events", ev}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  std::cout << "name:         " << c.name << "\n"
            << "domains:      " << join(c.domains, ", ") << "\n"
            << "server:       " << c.server << "\n"
            << "key type:     " << c.key_type << "\n"
            << "challenge:    " << c.challenge << "\n"
            << "files:        " << c.out_dir << "\n"
            << "serial:       " << c.serial << "\n"
            << "valid:        " << (c.not_before ? rfc3339(c.not_before) : "-") << " .. "
            << (c.not_after ? rfc3339(c.not_after) : "-") << "\n"
            << "next renewal: " << (c.not_after ? rfc3339(planned_renewal(c, 30)) : "-") << "\n"
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

}  // namespace agent::cli
