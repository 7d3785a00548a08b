#pragma once
// `acmectl account register|show|rollover|deactivate` and `acmectl revoke`: what is done
// with the ACME account itself rather than with one certificate's lifecycle.

#include <CLI/CLI.hpp>

#include "cli/common.hpp"

namespace agent::cli {

struct AccountCmdOptions {
  std::string key_type = "ec256";  // account rollover --key-type
  bool yes = false;                // account deactivate --yes
};

struct AccountCommands {
  CLI::App* account = nullptr;
  CLI::App* register_ = nullptr;
  CLI::App* show = nullptr;
  CLI::App* rollover = nullptr;
  CLI::App* deactivate = nullptr;
};

struct RevokeCmdOptions {
  std::string name;
  std::string reason = "unspecified";
  // Revocation by the certificate's own key (a lost account): both set, no NAME.
  std::string cert_file;
  std::string key_file;
};

// add_globals: adds the global options to each new subcommand (main.cpp's list).
AccountCommands add_account_command(CLI::App& app, AccountCmdOptions& o,
                                    const std::function<void(CLI::App&)>& add_globals);
int run_account(const AccountCommands& cmds, const GlobalOptions& g, const AccountCmdOptions& o);

CLI::App* add_revoke_command(CLI::App& app, RevokeCmdOptions& o);
int run_revoke(const GlobalOptions& g, const RevokeCmdOptions& o);

// RFC 5280 §5.3.1 reason codes a CA accepts from a subscriber (RFC 8555 §7.6): by name
// ("keyCompromise") or number. nullopt for anything else.
std::optional<int> revocation_reason(const std::string& text);

}  // namespace agent::cli
