#pragma once
// A certificate's challenge settings and the solver built from them. Shared by `issue`,
// `renew` and the agent (through the pipeline) so every path solves challenges alike.

#include <memory>
#include <string>
#include <vector>

#include "acme/challenge.hpp"
#include "acme/clock.hpp"
#include "acme/result.hpp"
#include "acme/tls_alpn01.hpp"

namespace agent {

struct ChallengeSettings {
  std::string challenge = "http-01";  // http-01 | dns-01 | tls-alpn-01
  std::string http01_listen;          // built-in responder; empty: ":80"
  std::string webroot;                // or a webroot
  // tls-alpn-01 (RFC 8737) listener; empty: the shared one ([agent] tls_alpn_listen), ":443"
  std::string tls_alpn_listen;
  // dns-01
  std::string dns_provider;  // rfc2136 | exec
  std::string dns_exec;
  std::string rfc2136_server;
  std::string rfc2136_tsig_name;
  std::string rfc2136_tsig_secret;
  std::string rfc2136_tsig_secret_file;
  std::string rfc2136_tsig_algorithm = "hmac-sha256";
  std::vector<std::string> dns_resolvers;
  int propagation_timeout = 120;  // seconds
  int propagation_interval = 2;   // seconds between rounds of the propagation check
};

// Stored with each certificate (store column challenge_settings) so renewals solve the
// same way. Never holds a secret: an inline TSIG secret is moved to a file first
// (store_inline_secrets), and to_json drops whatever inline secret is left.
std::string to_json(const ChallengeSettings& s);
// An inline TSIG secret (--rfc2136-tsig-secret or ACMECTL_RFC2136_TSIG_SECRET) is written to
// STATE/secrets/CERTNAME.tsig (0600) and replaced by that path, so the database never
// holds it and renewals still find it.
acme::Result<void> store_inline_secrets(ChallengeSettings& s, const std::string& state_dir,
                                        const std::string& cert_name);
// Unknown or missing members keep their defaults.
ChallengeSettings challenge_settings_from_json(const std::string& json);

// Fills unset DNS-01 settings from ACMECTL_RFC2136_* environment variables.
void apply_challenge_env(ChallengeSettings& s);

// A ready solver and whatever it needs kept alive (the responder).
struct SolverBundle {
  std::unique_ptr<acme::Http01Responder> responder;
  std::unique_ptr<acme::TlsAlpn01Responder> tls_responder;
  std::unique_ptr<acme::Solver> solver;
};

// Validates the settings and builds the solver. An http-01 responder binds here, so a busy
// port is reported before any order is created. `shared` (optional) is an already-running
// responder to use instead of binding one (the agent's). `clock` (optional, default the
// system clock) paces the dns-01 propagation check; a cancelled clock stops it.
// `shared_tls` (optional): the agent's running tls-alpn-01 listener, used likewise.
acme::Result<SolverBundle> make_solver(const ChallengeSettings& s,
                                       acme::Http01Responder* shared = nullptr,
                                       acme::Clock* clock = nullptr,
                                       acme::TlsAlpn01Responder* shared_tls = nullptr);

// Wildcard names (*.NAME) can be proved by dns-01 and dns-persist-01 (RFC 8555 §7.1.3).
inline bool challenge_allows_wildcard(const std::string& challenge) {
  return challenge == "dns-01" || challenge == "dns-persist-01";
}

// The identifiers this challenge can prove: dns-01 proves DNS names only (RFC 8738 §7: no
// dns-01 for IP addresses); tls-alpn-01 no wildcard (RFC 8737 §3). kInvalidInput naming the
// first identifier that cannot be proved.
acme::Result<void> check_identifiers_for_challenge(const std::vector<acme::Identifier>& ids,
                                                   const std::string& challenge);

// Checks the settings without binding or connecting anything. For dns-01: a known provider
// and its options (rfc2136: server ADDR:PORT, TSIG name, a base64 secret or a readable secret
// file, a known algorithm; exec: an executable file), every --dns-resolver ADDR:PORT, sane
// timeouts. Errors are kInvalidInput and name the option.
acme::Result<void> check_challenge_settings(const ChallengeSettings& s);

// The TSIG secret: --rfc2136-tsig-secret, or the file's content (bare base64, or a BIND key
// file as tsig-keygen writes it: the `secret "..."` value is used).
acme::Result<std::string> rfc2136_tsig_secret(const ChallengeSettings& s);

}  // namespace agent
