#pragma once
// `acmectl agent`: the renewal daemon. Issues configured certificates that have none yet,
// renews everything in the store on schedule with bounded concurrency, answers HTTP-01
// challenges, reloads its config on SIGHUP (keeping the old one when the new one is
// invalid) and stops cleanly on SIGTERM (an in-flight order is kept and resumed).

#include <string>

#include <CLI/CLI.hpp>

#include "cli/common.hpp"

namespace agent {

struct AgentCmdOptions {
  std::string metrics_listen;
  bool once = false;  // one pass over what is due, then exit (status 1 if anything failed)
};

CLI::App* add_agent_command(CLI::App& app, AgentCmdOptions& o);
int run_agent(const cli::GlobalOptions& g, const AgentCmdOptions& o);

}  // namespace agent
