#include "cli/habits.hpp"

namespace agent::cli {

void add_habit_options(CLI::App& cmd, HabitOptions& h) {
  cmd.add_flag("--staging", h.staging,
               "Use Let's Encrypt's staging CA (same as --server letsencrypt-staging)");
  cmd.add_flag("-n,--non-interactive", h.non_interactive,
               "Accepted for certbot habits; acmectl never prompts");
  cmd.add_flag("-q,--quiet", h.quiet,
               "Print nothing unless something failed or changed (for cron)");
  cmd.add_flag("-v,--verbose", h.verbose, "Log more detail (same as --log-level debug)");
}

namespace {

// How often `name` was given on the command line: on the app itself and on every
// subcommand that was chosen (global options are registered on each of them).
std::size_t given(const CLI::App& app, const std::string& name) {
  std::size_t n = 0;
  if (const CLI::Option* opt = app.get_option_no_throw(name)) n += opt->count();
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App* s) { return s->parsed(); })) {
    n += given(*sub, name);
  }
  return n;
}

}  // namespace

std::optional<std::string> apply_habits(const CLI::App& app, const HabitOptions& h,
                                        GlobalOptions& g) {
  if (h.staging) {
    if (given(app, "--server") > 0 && g.server != "letsencrypt-staging" &&
        g.server != "https://acme-staging-v02.api.letsencrypt.org/directory") {
      return "--staging conflicts with --server " + g.server;
    }
    g.server = "letsencrypt-staging";  // over ACMECTL_SERVER and the config file
  }
  if (h.quiet && h.verbose) return "-q/--quiet and -v/--verbose exclude each other";
  if ((h.quiet || h.verbose) && given(app, "--log-level") > 0) {
    return std::string(h.quiet ? "-q/--quiet" : "-v/--verbose") + " and --log-level " +
           g.log_level + " exclude each other";
  }
  if (h.quiet) {
    g.log_level = "error";
    g.quiet = true;
  }
  if (h.verbose) {
    g.log_level = "debug";
    g.verbose = true;
  }
  return std::nullopt;
}

}  // namespace agent::cli
