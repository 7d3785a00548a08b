#pragma once
// `acmectl issue`: record a certificate's settings, then run the one certificate pipeline
// for it (in the running agent when there is one, else here).

#include <CLI/CLI.hpp>

#include "challenge/settings.hpp"
#include "cli/common.hpp"
#include "config/config.hpp"

namespace agent::cli {

struct IssueOptions {
  std::vector<std::string> domains;
  std::string name;
  std::string key_type = "ec256";
  ChallengeSettings challenge;
  std::string out;
  std::string deploy_hook;
  bool pkcs12 = false;               // --pkcs12
  std::string pkcs12_password_file;  // --pkcs12-password-file FILE (implies --pkcs12)
  std::string preferred_chain;
  std::string profile;
  int timeout_seconds = 300;
  bool force = false;
};

// What `issue` shares with the agent's config ([agent] http01_listen, hook timeout).
struct IssueDefaults {
  std::string shared_listen;      // where the shared responder answers; "" = ":80"
  std::string shared_tls_listen;  // [agent] tls_alpn_listen; "" = ":443"
  int hook_timeout_seconds = 300;
  // From the config: each certificate's served check (verify_endpoints ...), by name.
  std::map<std::string, ServeCheckConfig> serve_checks{};
};

// Adds `issue` to app; run_issue is called when it was chosen.
CLI::App* add_issue_command(CLI::App& app, IssueOptions& options);
int run_issue(const GlobalOptions& g, const IssueOptions& options, const IssueDefaults& defaults);

}  // namespace agent::cli
