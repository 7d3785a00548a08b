#pragma once
// Spellings certbot and lego users type by habit (INTERFACE.md "Daily use"): `--staging`,
// `-n/--non-interactive`, `-q/--quiet`, `-v`. Like the other global options they are
// accepted before or after the command name. (`-m`, `--cert-name`, `--force-renewal`,
// `-w` and `-d a,b` are spelled where their options are defined.)

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "session/options.hpp"

namespace agent::cli {

struct HabitOptions {
  bool staging = false;          // = --server letsencrypt-staging
  bool non_interactive = false;  // accepted; acmectl never prompts
  bool quiet = false;            // log level error: nothing on stderr unless it failed
  bool verbose = false;          // log level debug
};

// Registers --staging, -n/--non-interactive, -q/--quiet and -v on cmd.
void add_habit_options(CLI::App& cmd, HabitOptions& h);

// Folds the habits of a parsed command line into g. Returns a usage error message when
// they contradict each other or an explicit option (--staging with another --server,
// -q with -v or with --log-level).
std::optional<std::string> apply_habits(const CLI::App& app, const HabitOptions& h,
                                        GlobalOptions& g);

}  // namespace agent::cli
