#include "cli/agent_cmd.hpp"

namespace agent::cli {

CLI::App* add_agent_command(CLI::App& app, AgentOptions& o) {
  auto* cmd = app.add_subcommand("agent", "Run the renewal daemon");
  cmd->add_option("--metrics-listen", o.metrics_listen,
                  "Address for /metrics and /healthz (default 127.0.0.1:9469)");
  cmd->add_flag("--once", o.once, "Process what is due once, then exit");
  return cmd;
}

}  // namespace agent::cli
