#pragma once
// `acmectl profiles [--server URL] [--json]`: the ACME profiles the CA advertises in its
// directory (draft-ietf-acme-profiles meta.profiles), with their descriptions.

#include <CLI/CLI.hpp>

#include "session/options.hpp"

namespace agent::cli {

CLI::App* add_profiles_command(CLI::App& app);
int run_profiles(const GlobalOptions& g);

}  // namespace agent::cli
