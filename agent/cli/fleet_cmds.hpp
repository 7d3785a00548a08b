#pragma once
// Fleet views and tools for the CLI (docs/fleet.md): `acmectl list` adds who holds each
// lease and when each host installed which version; `acmectl store migrate` moves a
// single host's state into a fleet store.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "session/options.hpp"

namespace agent {

// With a [store] url in the config: prints the fleet table after `acmectl list`'s, or adds
// a "fleet" object to each certificate of its --json array. No store configured: nothing.
// Returns false (after printing the error line) when the store cannot be read.
bool add_fleet_to_list(const GlobalOptions& g, nlohmann::json* json_out);

struct StoreMigrateOptions {
  std::string from;  // sqlite:PATH
  std::string to;    // postgresql://…
  std::string kek_file;
  std::string password_file;
  std::string agent_id;
};

struct StoreCommands {
  CLI::App* store = nullptr;
  CLI::App* migrate = nullptr;
};
StoreCommands add_store_command(CLI::App& app, StoreMigrateOptions& o);
int run_store_migrate(const GlobalOptions& g, const StoreMigrateOptions& o);

}  // namespace agent
