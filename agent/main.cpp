// acmectl: parse, call, map Result to exit code. Wiring only.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <string_view>

#include "acme/http.hpp"
#include "cli/account_cmds.hpp"
#include "cli/agent_cmd.hpp"
#include "cli/common.hpp"
#include "cli/completion.hpp"
#include "cli/doctor_cmd.hpp"
#include "cli/fleet_cmds.hpp"
#include "cli/gen_cmd.hpp"
#include "cli/habits.hpp"
#include "cli/help_text.hpp"
#include "cli/import_cmd.hpp"
#include "cli/issue_cmd.hpp"
#include "cli/manage_cmds.hpp"
#include "cli/persist_cmd.hpp"
#include "cli/profiles_cmd.hpp"
#include "cli/rollback_cmd.hpp"
#include "cli/suggest.hpp"
#include "config/config.hpp"

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// The top-level command this run invokes, when its parse needs only its own options: ""
// when there is no command word (`acmectl --version`, `acmectl --help` list the commands,
// not their options); nullopt for an unknown word (typo suggestions look at every command)
// and for the documentation commands (completion and man pages describe every command),
// which get the whole tree. Defining the
// global options on every command cost more than a third of `acmectl --version`'s
// instructions (16 options x 25 commands of CLI11 objects), at every run.
std::optional<std::string> lean_command(int argc, char** argv) {
  static constexpr std::string_view kValued[] = {
      "--state-dir", "--config",       "--server",  "--ca-bundle", "-m",          "--email",
      "--eab-kid",   "--eab-hmac-key", "--eab-alg", "--log-level", "--log-format"};
  static constexpr std::string_view kCommands[] = {
      "issue",    "renew",          "list",    "agent",  "show",   "delete", "rollback", "revoke",
      "profiles", "persist-record", "account", "import", "doctor", "store",  "gen"};
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--") return std::nullopt;
    if (a.empty() || a.front() == '-') {
      if (std::find(std::begin(kValued), std::end(kValued), a) != std::end(kValued)) ++i;
      continue;
    }
    const bool known =
        std::find(std::begin(kCommands), std::end(kCommands), a) != std::end(kCommands);
    if (!known) return std::nullopt;
    return std::string(a);
  }
  return std::string();
}

// The top-level command `a` belongs to ("" for the app itself).
std::string top_level_name(const CLI::App& a) {
  const CLI::App* at = &a;
  if (at->get_parent() == nullptr) return "";
  while (at->get_parent()->get_parent() != nullptr) at = at->get_parent();
  return at->get_name();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace agent::cli;
  using agent::GlobalOptions;
  acme::global_init();

  CLI::App app{"acmectl: ACME client and certificate lifecycle agent", "acmectl"};
  app.set_version_flag("--version", "acmectl " ACMECTL_VERSION);
  app.require_subcommand(1);
  GlobalOptions g;
  g.state_dir = env_or("ACMECTL_STATE_DIR", "");
  g.config = env_or("ACMECTL_CONFIG", "");
  g.server = env_or("ACMECTL_SERVER", "");
  g.ca_bundle = env_or("ACMECTL_CA_BUNDLE", "");
  g.email = env_or("ACMECTL_EMAIL", "");
  g.eab_kid = env_or("ACMECTL_EAB_KID", "");
  g.eab_hmac_key = env_or("ACMECTL_EAB_HMAC_KEY", "");
  // Global options are accepted before or after the command name.
  HabitOptions habits;  // --staging, -n, -q, -v (cli/habits.hpp)
  const std::optional<std::string> lean = lean_command(argc, argv);
  auto add_globals = [&g, &habits, &lean](CLI::App& a) {
    // Only the invoked command (and the app) take them when that is all the parse needs.
    if (lean && a.get_parent() != nullptr && top_level_name(a) != *lean) return;
    const std::size_t first_global = a.get_options({}).size();
    a.add_option("--state-dir", g.state_dir, "State directory (env ACMECTL_STATE_DIR)");
    a.add_option("--config", g.config, "TOML config file (env ACMECTL_CONFIG)");
    a.add_option("--server", g.server,
                 "ACME directory URL, or letsencrypt / letsencrypt-staging (env ACMECTL_SERVER)");
    a.add_option("--ca-bundle", g.ca_bundle,
                 "Extra trusted roots for the ACME server's TLS (env ACMECTL_CA_BUNDLE)");
    a.add_option("-m,--email", g.email, "Account contact e-mail (env ACMECTL_EMAIL)");
    a.add_flag("--agree-tos", g.agree_tos, "Agree to the CA's terms of service");
    a.add_option("--eab-kid", g.eab_kid, "External Account Binding key id (env ACMECTL_EAB_KID)");
    a.add_option("--eab-hmac-key", g.eab_hmac_key,
                 "External Account Binding MAC key, base64url (env ACMECTL_EAB_HMAC_KEY)");
    a.add_option("--eab-alg", g.eab_alg,
                 "External Account Binding MAC: HS256 (default), HS384, HS512")
        ->check(CLI::IsMember({"HS256", "HS384", "HS512"}));
    a.add_flag("--json", g.json, "Machine-readable output");
    a.add_option("--log-level", g.log_level, "trace, debug, info (default), warn, error, off");
    a.add_option("--log-format", g.log_format, "text (default) or json");
    add_habit_options(a, habits);
    // Listed once, after the command's own options (cli/help_text.hpp).
    const auto opts = a.get_options({});
    for (std::size_t i = first_global; i < opts.size(); ++i) opts[i]->group(kGlobalGroup);
  };
  add_globals(app);

  IssueOptions issue;
  auto* issue_cmd = add_issue_command(app, issue);
  add_globals(*issue_cmd);
  RenewCmdOptions renew;
  auto* renew_cmd = add_renew_command(app, renew);
  add_globals(*renew_cmd);
  auto* list_cmd = add_list_command(app);
  add_globals(*list_cmd);
  agent::AgentOptions agent_opts;
  auto* agent_cmd = add_agent_command(app, agent_opts);
  add_globals(*agent_cmd);
  GenOptions gen_opts;
  const GenCommands gen_cmds = add_gen_command(app, gen_opts);
  ShowCmdOptions show;
  auto* show_cmd = add_show_command(app, show);
  add_globals(*show_cmd);
  DeleteCmdOptions del;
  auto* delete_cmd = add_delete_command(app, del);
  add_globals(*delete_cmd);
  RollbackCmdOptions rollback;
  auto* rollback_cmd = add_rollback_command(app, rollback);
  add_globals(*rollback_cmd);
  RevokeCmdOptions revoke;
  auto* revoke_cmd = add_revoke_command(app, revoke);
  add_globals(*revoke_cmd);
  auto* profiles_cmd = add_profiles_command(app);
  add_globals(*profiles_cmd);
  PersistRecordOptions persist;
  auto* persist_cmd = add_persist_record_command(app, persist);
  add_globals(*persist_cmd);
  AccountCmdOptions account;
  const AccountCommands account_cmds = add_account_command(app, account, add_globals);
  ImportCmdOptions import_opts;
  const ImportCommands import_cmds = add_import_command(app, import_opts, add_globals);
  DoctorCmdOptions doctor;
  auto* doctor_cmd = add_doctor_command(app, doctor);
  add_globals(*doctor_cmd);
  agent::StoreMigrateOptions store_migrate;
  const agent::StoreCommands store_cmds = agent::add_store_command(app, store_migrate);
  add_globals(*store_cmds.migrate);
  const DocCommands doc_cmds = add_doc_commands(app, add_globals);  // completion, man

  add_help_footers(app);
  if (auto typo = check_spelling(app, argc, argv)) return usage_fail(*typo);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "acmectl: usage error: %s\n", e.what());
    std::fprintf(stderr, "run 'acmectl --help' for usage\n");
    return kExitUsage;
  }
  if (auto bad = apply_habits(app, habits, g)) return usage_fail(*bad);
  if (auto r = agent::setup_logging(g.log_level, g.log_format, !agent_cmd->parsed()); !r) {
    return usage_fail(r.error().to_string());
  }
  if (doc_cmds.parsed()) return run_doc_commands(app, doc_cmds, g);
  if (agent_cmd->parsed()) return agent::run_agent(g, agent_opts);
  if (doctor_cmd->parsed()) return run_doctor_cmd(g, doctor);  // reads the config itself
  if (gen_cmds.gen->parsed()) return run_gen(gen_cmds, gen_opts, agent::config_path(g.config));
  // The one-shot commands take [acme] and state_dir from the config the command line
  // left open, and share the agent's [agent] settings (its responder address, post hook,
  // window, hook timeout).
  auto eff = agent::with_config(g);
  if (!eff) return usage_fail(eff.error().to_string());
  auto agent_section = agent::agent_settings(g.config);
  if (!agent_section) return usage_fail(agent_section.error().to_string());
  if (issue_cmd->parsed()) {
    IssueDefaults defaults{agent_section->http01_listen, agent_section->tls_alpn_listen,
                           agent_section->hook_timeout_seconds};
    auto cfg = agent::optional_config(g.config);  // each certificate's served check
    if (!cfg) return usage_fail(cfg.error().to_string());
    for (const auto& c : cfg->certificates) defaults.serve_checks[c.name] = c.serve_check;
    return run_issue(*eff, issue, defaults);
  }
  if (renew_cmd->parsed()) {
    // The timer's `acmectl renew` runs the same post hook, window and responder as the agent.
    if (renew.post_hook.empty()) renew.post_hook = agent_section->post_hook;
    if (renew.renew_before_days == 0) renew.renew_before_days = agent_section->renew_before_days;
    renew.shared_listen = agent_section->http01_listen;
    renew.shared_tls_listen = agent_section->tls_alpn_listen;
    renew.hook_timeout_seconds = agent_section->hook_timeout_seconds;
    auto cfg = agent::optional_config(g.config);  // [notify], each served check
    if (!cfg) return usage_fail(cfg.error().to_string());
    renew.notify = cfg->notify;
    for (const auto& c : cfg->certificates) renew.serve_checks[c.name] = c.serve_check;
    renew.sync_config = !cfg->path.empty();
    renew.configured = cfg->certificates;
    return run_renew(*eff, renew);
  }
  if (rollback_cmd->parsed()) {
    rollback.post_hook = agent_section->post_hook;
    rollback.hook_timeout_seconds = agent_section->hook_timeout_seconds;
    return run_rollback(*eff, rollback);
  }
  if (list_cmd->parsed()) return run_list(*eff, agent_section->renew_before_days);
  if (show_cmd->parsed()) return run_show(*eff, show, agent_section->renew_before_days);
  if (delete_cmd->parsed()) return run_delete(*eff, del);
  if (revoke_cmd->parsed()) return run_revoke(*eff, revoke);
  if (profiles_cmd->parsed()) return run_profiles(*eff);
  if (import_cmds.import->parsed()) return run_import(import_cmds, *eff, import_opts);
  if (persist_cmd->parsed()) return run_persist_record(*eff, persist);
  if (account_cmds.account->parsed()) return run_account(account_cmds, *eff, account);
  if (store_cmds.migrate->parsed()) return agent::run_store_migrate(*eff, store_migrate);
  return kExitUsage;
}
