#include "cli/challenge_setup.hpp"

#include <cstdlib>

#include <nlohmann/json.hpp>

namespace agent::cli {

using acme::Errc;
using acme::make_error;

std::string to_json(const ChallengeSettings& s) {
  nlohmann::json j{{"challenge", s.challenge},
                   {"http01_listen", s.http01_listen},
                   {"webroot", s.webroot},
                   {"dns_provider", s.dns_provider},
                   {"dns_exec", s.dns_exec},
                   {"rfc2136_server", s.rfc2136_server},
                   {"rfc2136_tsig_name", s.rfc2136_tsig_name},
                   {"rfc2136_tsig_secret", s.rfc2136_tsig_secret},
                   {"rfc2136_tsig_secret_file", s.rfc2136_tsig_secret_file},
                   {"rfc2136_tsig_algorithm", s.rfc2136_tsig_algorithm},
                   {"dns_resolvers", s.dns_resolvers},
                   {"propagation_timeout", s.propagation_timeout}};
  return j.dump();
}

ChallengeSettings challenge_settings_from_json(const std::string& text) {
  ChallengeSettings s;
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return s;
  auto str = [&j](const char* key, std::string& out) {
    if (auto it = j.find(key); it != j.end() && it->is_string()) out = it->get<std::string>();
  };
  str("challenge", s.challenge);
  str("http01_listen", s.http01_listen);
  str("webroot", s.webroot);
  str("dns_provider", s.dns_provider);
  str("dns_exec", s.dns_exec);
  str("rfc2136_server", s.rfc2136_server);
  str("rfc2136_tsig_name", s.rfc2136_tsig_name);
  str("rfc2136_tsig_secret", s.rfc2136_tsig_secret);
  str("rfc2136_tsig_secret_file", s.rfc2136_tsig_secret_file);
  str("rfc2136_tsig_algorithm", s.rfc2136_tsig_algorithm);
  if (auto it = j.find("dns_resolvers"); it != j.end() && it->is_array()) {
    for (const auto& r : *it) {
      if (r.is_string()) s.dns_resolvers.push_back(r.get<std::string>());
    }
  }
  if (auto it = j.find("propagation_timeout"); it != j.end() && it->is_number_integer()) {
    s.propagation_timeout = it->get<int>();
  }
  return s;
}

void add_challenge_options(CLI::App& cmd, ChallengeSettings& s) {
  cmd.add_option("--challenge", s.challenge, "http-01 (default) or dns-01");
  cmd.add_option("--http01-listen", s.http01_listen,
                 "Built-in HTTP-01 responder address ADDR:PORT (default :80)");
  cmd.add_option("--webroot", s.webroot, "Write HTTP-01 responses under DIR instead");
  cmd.add_option("--dns-provider", s.dns_provider, "DNS-01 provider: rfc2136 or exec");
  cmd.add_option("--dns-exec", s.dns_exec, "Program run as PATH present|cleanup FQDN VALUE");
  cmd.add_option("--rfc2136-server", s.rfc2136_server, "DNS server for UPDATE, ADDR:PORT");
  cmd.add_option("--rfc2136-tsig-name", s.rfc2136_tsig_name, "TSIG key name");
  cmd.add_option("--rfc2136-tsig-secret", s.rfc2136_tsig_secret, "TSIG secret (base64)");
  cmd.add_option("--rfc2136-tsig-secret-file", s.rfc2136_tsig_secret_file,
                 "File holding the TSIG secret (base64)");
  cmd.add_option("--rfc2136-tsig-algorithm", s.rfc2136_tsig_algorithm,
                 "hmac-sha256 (default), hmac-sha512 or hmac-sha1");
  cmd.add_option("--dns-resolver", s.dns_resolvers,
                 "Where propagation is checked, ADDR:PORT (repeatable; default: the zone's "
                 "authoritative servers)");
  cmd.add_option("--propagation-timeout", s.propagation_timeout,
                 "Seconds to wait for DNS propagation (default 120)");
}

void apply_challenge_env(ChallengeSettings& s) {
  auto fill = [](std::string& field, const char* env) {
    if (!field.empty()) return;
    if (const char* v = std::getenv(env); v && *v) field = v;
  };
  fill(s.rfc2136_server, "ACMECTL_RFC2136_SERVER");
  fill(s.rfc2136_tsig_name, "ACMECTL_RFC2136_TSIG_NAME");
  fill(s.rfc2136_tsig_secret, "ACMECTL_RFC2136_TSIG_SECRET");
  fill(s.rfc2136_tsig_secret_file, "ACMECTL_RFC2136_TSIG_SECRET_FILE");
  if (const char* v = std::getenv("ACMECTL_RFC2136_TSIG_ALGORITHM"); v && *v) {
    if (s.rfc2136_tsig_algorithm == "hmac-sha256") s.rfc2136_tsig_algorithm = v;
  }
}

acme::Result<void> check_challenge_settings(const ChallengeSettings& s) {
  if (s.challenge != "http-01" && s.challenge != "dns-01") {
    return make_error(Errc::kInvalidInput, "--challenge " + s.challenge + ": use http-01 or dns-01");
  }
  if (s.challenge == "http-01") {
    if (!s.webroot.empty() && !s.http01_listen.empty()) {
      return make_error(Errc::kInvalidInput, "use either --webroot or --http01-listen, not both");
    }
    return acme::ok();
  }
  return make_error(Errc::kInvalidInput,
                    "--challenge dns-01: DNS-01 is not available in this build yet");
}

acme::Result<SolverBundle> make_solver(const ChallengeSettings& s, acme::Http01Responder* shared) {
  ACME_CHECK(check_challenge_settings(s));
  SolverBundle b;
  if (!s.webroot.empty()) {
    b.solver = std::make_unique<acme::Http01WebrootSolver>(s.webroot);
    return b;
  }
  acme::Http01Responder* responder = shared;
  if (responder == nullptr) {
    ACME_ASSIGN(b.responder,
                acme::Http01Responder::start(s.http01_listen.empty() ? ":80" : s.http01_listen));
    responder = b.responder.get();
  }
  b.solver = std::make_unique<acme::Http01StandaloneSolver>(*responder);
  return b;
}

}  // namespace agent::cli
