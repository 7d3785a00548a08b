#pragma once
#include <CLI/CLI.hpp>

#include "cli/challenge_setup.hpp"
#include "cli/common.hpp"

namespace agent::cli {

struct IssueOptions {
  std::vector<std::string> domains;
  std::string name;
  std::string key_type = "ec256";
  ChallengeSettings challenge;
  std::string out;
  std::string deploy_hook;
  std::string preferred_chain;
  int timeout_seconds = 300;
};

// Adds `issue` to app; run_issue is called when it was chosen.
CLI::App* add_issue_command(CLI::App& app, IssueOptions& options);
int run_issue(const GlobalOptions& g, const IssueOptions& options);

// Default certificate name: the first name with "*." written as "_wildcard.".
std::string default_cert_name(const std::string& first_name);

}  // namespace agent::cli
