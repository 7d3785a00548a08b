#pragma once
// `acmectl renew`, `list`, `show`, `delete`: one-shot management of recorded certificates.

#include <CLI/CLI.hpp>

#include "cli/common.hpp"
#include "config/config.hpp"

namespace agent::cli {

struct RenewCmdOptions {
  std::vector<std::string> names;
  bool force = false;
  bool dry_run = false;  // the whole flow against the CA for each, nothing written
  std::string post_hook;
  int renew_before_days = 0;  // 0: config or 30
  // From [agent]: where the shared HTTP-01 responder answers when no agent runs.
  std::string shared_listen;
  std::string shared_tls_listen;  // [agent] tls_alpn_listen
  int hook_timeout_seconds = 300;
  // From the config: [notify] and each certificate's served check (by name).
  NotifyConfig notify;
  std::map<std::string, ServeCheckConfig> serve_checks;
  // The config file's [[certificate]] list, applied to the store before the pass (as the
  // agent does at start) when a config file was read and no agent runs on the state dir.
  bool sync_config = false;
  std::vector<CertificateConfig> configured;
};

struct ShowCmdOptions {
  std::string name;
};

struct DeleteCmdOptions {
  std::string name;
  bool purge = false;
};

CLI::App* add_renew_command(CLI::App& app, RenewCmdOptions& o);
CLI::App* add_list_command(CLI::App& app);
CLI::App* add_show_command(CLI::App& app, ShowCmdOptions& o);
CLI::App* add_delete_command(CLI::App& app, DeleteCmdOptions& o);

int run_renew(const GlobalOptions& g, const RenewCmdOptions& o);
// renew_before_days: [agent] renew_before_days (the window the agent renews in).
int run_list(const GlobalOptions& g, int renew_before_days);
int run_show(const GlobalOptions& g, const ShowCmdOptions& o, int renew_before_days);
int run_delete(const GlobalOptions& g, const DeleteCmdOptions& o);

}  // namespace agent::cli
