#pragma once
// `acmectl rollback NAME`: put the previous certificate version back (docs/operations.md
// "Rolling back a bad renewal").

#include <CLI/CLI.hpp>

#include "cli/common.hpp"

namespace agent::cli {

struct RollbackCmdOptions {
  std::string name;
  // From [agent]: the post hook (run once after the switch) and the hooks' timeout.
  std::string post_hook;
  int hook_timeout_seconds = 300;
};

CLI::App* add_rollback_command(CLI::App& app, RollbackCmdOptions& o);
int run_rollback(const GlobalOptions& g, const RollbackCmdOptions& o);

}  // namespace agent::cli
