#pragma once
// `acmectl gen …`: configuration generators for the rest of a deployment.

#include <CLI/CLI.hpp>

#include "cli/common.hpp"
#include "gen/alerts.hpp"

namespace agent::cli {

struct GenOptions {
  gen::AlertOptions alerts;
  std::string out;  // --out FILE: write atomically instead of printing
};

struct GenCommands {
  CLI::App* gen = nullptr;
  CLI::App* alerts = nullptr;
};

GenCommands add_gen_command(CLI::App& app, GenOptions& o);
int run_gen(const GenCommands& cmds, const GenOptions& o);

}  // namespace agent::cli
