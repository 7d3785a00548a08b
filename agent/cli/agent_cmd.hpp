#pragma once
// `acmectl agent [--metrics-listen ADDR:PORT] [--once]` (the daemon is daemon/daemon.hpp).

#include <CLI/CLI.hpp>

#include "daemon/daemon.hpp"

namespace agent::cli {

CLI::App* add_agent_command(CLI::App& app, AgentOptions& o);

}  // namespace agent::cli
