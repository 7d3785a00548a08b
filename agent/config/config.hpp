#pragma once
// The agent's TOML config (INTERFACE.md "Config file"). Every command-line option has a
// config spelling; the command line wins. Unknown keys are an error naming file, line, key.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "acme/result.hpp"
#include "challenge/settings.hpp"
#include "fleet/fleet_store.hpp"
#include "session/options.hpp"

namespace agent {

struct AcmeSection {
  std::string server;  // directory URL or "letsencrypt" / "letsencrypt-staging"
  std::string ca_bundle;
  std::string email;
  bool agree_tos = false;
  std::string eab_kid;
  std::string eab_hmac_key_file;  // the MAC key (base64url) lives in this file, not here
  std::string eab_alg;
  CaFailover failover;  // fallback_after_failures, fallback_retry_seconds,
                        // return_to_primary, [[acme.fallback]]
};

struct AgentSection {
  std::string metrics_listen = "127.0.0.1:9469";
  std::string http01_listen;    // built-in responder shared by every http-01 certificate
  std::string tls_alpn_listen;  // tls-alpn-01 listener shared likewise; "" = ":443"
  int renew_before_days = 30;
  int concurrency = 4;
  std::string post_hook;              // once after any renewal in a pass
  int check_interval_seconds = 3600;  // how often certificates are re-examined at most
  int hook_timeout_seconds = 300;
};

// The served-certificate check (docs/operations.md "Rolling back a bad renewal"): after an
// install and its deploy hook, each endpoint must serve the installed serial.
struct ServeCheckConfig {
  std::vector<std::string> endpoints;  // "HOST:PORT"; empty: no check
  int timeout_seconds = 30;            // how long the served serial may lag the install
  bool rollback = false;               // rollback_on_serve_failure: put the previous one back
};

// [notify]: failures, recoveries and near-expiry without Prometheus (docs/operations.md
// "Notifications").
struct NotifyConfig {
  std::string webhook;           // http:// or https:// URL: a JSON POST
  std::string command;           // run with ACMECTL_* env and the JSON on stdin
  double expiry_fraction = 0.2;  // notify when less than this part of the lifetime is left
  int timeout_seconds = 10;      // per attempt
  int retries = 2;               // further attempts after a failed one
  bool enabled() const { return !webhook.empty() || !command.empty(); }
};

struct CertificateConfig {
  std::string name;
  std::vector<std::string> domains;
  std::string key_type = "ec256";
  ChallengeSettings challenge;
  std::string out;  // output root; files go to OUT/NAME
  std::string deploy_hook;
  std::string server;  // per-certificate CA override; empty: [acme] server
  std::optional<int> renew_before_days;
  std::string preferred_chain;
  std::string profile;           // draft-ietf-acme-profiles; "": the CA's default
  ServeCheckConfig serve_check;  // verify_endpoints, verify_timeout, rollback_on_serve_failure
  bool pkcs12 = false;           // pkcs12 = true: also OUT/NAME/certificate.p12
  std::string pkcs12_password_file;
  bool reuse_key = false;     // renewals keep the installed private key
  std::string csr_file;       // the user's CSR: names from it (domains optional), no key written
  int64_t persist_until = 0;  // dns-persist-01: the published record's persistUntil
};

// One key of a [gen.NAME] table: the options of `acmectl gen NAME`, spelled like the flags
// with '_' for '-' ("hsts_max_age" for --hsts-max-age). Values as the flag would get them
// (an array: the flag repeated). Which keys exist is the generator's business: an unknown
// one is reported by `acmectl gen` with `where`.
struct GenSetting {
  std::string key;
  std::vector<std::string> values;
  std::string where;  // "FILE:LINE:COL"
};

struct Config {
  std::string path;  // the file it was read from
  std::string state_dir;
  AcmeSection acme;
  AgentSection agent;
  FleetSettings store;  // [store]: a PostgreSQL fleet store when url is set (docs/fleet.md)
  std::vector<CertificateConfig> certificates;
  std::map<std::string, std::vector<GenSetting>> gen;  // [gen.nginx], [gen.systemd], ...
  NotifyConfig notify;
};

// Parses and validates a config file. Errors are kInvalidInput with one line:
//   "FILE:LINE:COL: unknown key 'renew_befor' in [agent]"
//   "FILE:LINE:COL: 'concurrency' must be an integer between 1 and 64"
//   "FILE: [[certificate]] #2 (name \"x\"): domains must not be empty"
//   "FILE:LINE:COL: TOML syntax error: <toml++ description>"
// [defaults] keys are applied to every [[certificate]] that does not set them.
acme::Result<Config> load_config(const std::string& path);
// Same, from text (tests); `path` only names the source in messages.
acme::Result<Config> parse_config(const std::string& text, const std::string& path);

// The config file a command reads: --config / ACMECTL_CONFIG, else
// /etc/acmectl/acmectl.toml when it exists, else none ("").
std::string config_path(const std::string& flag);

// Effective global settings: command line (and env) over the config file over defaults;
// the state dir resolved.
GlobalOptions merge_globals(const GlobalOptions& g, const Config& cfg);

// For the one-shot commands (issue, renew, list, show, revoke, account): loads the config
// when there is one and fills what the command line left empty. A broken config is an
// error naming the file and line.
acme::Result<GlobalOptions> with_config(const GlobalOptions& g);

// The [agent] section the one-shot commands share with the agent (the post hook, the
// renewal window, where the shared HTTP-01 responder answers, the hook timeout): the
// config's, or the defaults when there is no config file.
acme::Result<AgentSection> agent_settings(const std::string& config);
// The [store] section (a fleet when its url is set; docs/fleet.md), or none.
acme::Result<FleetSettings> fleet_settings(const std::string& config);

// The whole config a one-shot command shares with the agent ([notify], each certificate's
// served check): the config's, or an empty one when there is no config file.
acme::Result<Config> optional_config(const std::string& config);

}  // namespace agent
