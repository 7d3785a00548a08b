#pragma once
// `acmectl gen alerts`: Prometheus alerting rules for the agent's metrics. A pure string
// generator; tests run the output through `promtool check rules` and `promtool test rules`.

#include <string>

namespace agent::gen {

struct AlertOptions {
  std::string job = "acmectl";  // the scrape job name, for the "agent down" rule
  int warning_days = 14;
  int critical_days = 3;
};

std::string alert_rules(const AlertOptions& options);

}  // namespace agent::gen
