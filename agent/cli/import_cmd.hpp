#pragma once
// `acmectl import certbot [DIR] | lego [PATH] | acme.sh DIR`: take over another client's
// certificates and account (agent/import).

#include <CLI/CLI.hpp>

#include "cli/common.hpp"

namespace agent::cli {

struct ImportCmdOptions {
  std::string certbot_dir = "/etc/letsencrypt";
  std::string lego_dir = ".lego";
  std::string acmesh_dir;
  bool copy = false;
  std::string out;
  std::string http01_listen;
  std::string webroot;
};

struct ImportCommands {
  CLI::App* import = nullptr;
  CLI::App* certbot = nullptr;
  CLI::App* lego = nullptr;
  CLI::App* acmesh = nullptr;
};

// add_globals adds the global options to each subcommand.
ImportCommands add_import_command(CLI::App& app, ImportCmdOptions& o,
                                  const std::function<void(CLI::App&)>& add_globals);
int run_import(const ImportCommands& cmds, const GlobalOptions& g, const ImportCmdOptions& o);

}  // namespace agent::cli
