#include "cli/gen_cmd.hpp"

#include <cstdio>
#include <iostream>

#include "deploy/files.hpp"

namespace agent::cli {

GenCommands add_gen_command(CLI::App& app, GenOptions& o) {
  GenCommands c;
  c.gen = app.add_subcommand("gen", "Generate configuration for the rest of a deployment");
  c.gen->require_subcommand(1);
  c.alerts = c.gen->add_subcommand("alerts", "Prometheus alerting rules for acmectl's metrics");
  c.alerts->add_option("--job", o.alerts.job, "Prometheus job name of the agent (acmectl)");
  c.alerts->add_option("--warning-days", o.alerts.warning_days, "Warn below this many days (14)")
      ->check(CLI::Range(1, 365));
  c.alerts->add_option("--critical-days", o.alerts.critical_days,
                       "Critical below this many days (3)")
      ->check(CLI::Range(1, 365));
  c.alerts->add_option("--out", o.out, "Write to FILE (atomically) instead of stdout");
  return c;
}

int run_gen(const GenCommands& cmds, const GenOptions& o) {
  std::string text;
  if (cmds.alerts->parsed()) text = gen::alert_rules(o.alerts);
  if (o.out.empty()) {
    std::cout << text;
    return kExitOk;
  }
  if (auto r = atomic_write(o.out, text, 0644); !r) {
    std::fprintf(stderr, "acmectl: error: %s\n", r.error().to_string().c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace agent::cli
