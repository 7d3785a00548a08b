#pragma once
// `acmectl issue`: record a certificate's settings, then run the one certificate pipeline
// for it (in the running agent when there is one, else here).

#include <CLI/CLI.hpp>
#include <optional>

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
  bool reuse_key = false;     // renewals keep the installed private key
  std::string csr_file;       // the user's CSR: names from it, no key written
  bool dry_run = false;       // the whole flow against the CA, nothing written locally
  std::string persist_until;  // dns-persist-01: the published record's persistUntil (metrics)
};

// --preferred-chain: "shortest", or text of the chain's top issuer CN. A lower-case word
// other than "shortest" (a mistyped keyword), an empty value or control characters: the
// usage error message; nullopt when the value is fine.
std::optional<std::string> check_preferred_chain(const std::string& value);

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
