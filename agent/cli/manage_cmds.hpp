#pragma once
// `acmectl renew`, `list`, `show`: one-shot management of recorded certificates.

#include <CLI/CLI.hpp>

#include "cli/common.hpp"

namespace agent::cli {

struct RenewCmdOptions {
  std::vector<std::string> names;
  bool force = false;
  std::string post_hook;
  int renew_before_days = 0;  // 0: config or 30
};

struct ShowCmdOptions {
  std::string name;
};

CLI::App* add_renew_command(CLI::App& app, RenewCmdOptions& o);
CLI::App* add_list_command(CLI::App& app);
CLI::App* add_show_command(CLI::App& app, ShowCmdOptions& o);

int run_renew(const GlobalOptions& g, const RenewCmdOptions& o);
int run_list(const GlobalOptions& g);
int run_show(const GlobalOptions& g, const ShowCmdOptions& o);

}  // namespace agent::cli
