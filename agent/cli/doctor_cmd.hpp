#pragma once
// `acmectl doctor`: the preflight (agent/doctor) for recorded certificates or names given
// with their settings; a table on a terminal, JSON otherwise.

#include <CLI/CLI.hpp>

#include "challenge/settings.hpp"
#include "cli/common.hpp"

namespace agent::cli {

struct DoctorCmdOptions {
  std::vector<std::string> domains;
  ChallengeSettings challenge;  // for names that are not recorded (and --dns-resolver)
  std::string caa_identity;
  int http_port = 80;
  std::vector<std::string> expect_ips;
  CLI::App* cmd = nullptr;
};

CLI::App* add_doctor_command(CLI::App& app, DoctorCmdOptions& o);
// g: the command line's globals (the config is read here, so a broken one is a finding).
int run_doctor_cmd(const GlobalOptions& g, const DoctorCmdOptions& o);

}  // namespace agent::cli
