#include "cli/challenge_options.hpp"

namespace agent::cli {

void add_challenge_options(CLI::App& cmd, ChallengeSettings& s) {
  cmd.add_option("--challenge", s.challenge,
                 "http-01 (default), dns-01, tls-alpn-01 or dns-persist-01 (experimental)");
  cmd.add_option("--http01-listen", s.http01_listen,
                 "Built-in HTTP-01 responder address ADDR:PORT (default :80)");
  cmd.add_option("--tls-alpn-listen", s.tls_alpn_listen,
                 "Built-in TLS-ALPN-01 listener address ADDR:PORT (default :443)");
  cmd.add_option("-w,--webroot", s.webroot, "Write HTTP-01 responses under DIR instead");
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
  cmd.add_option("--propagation-interval", s.propagation_interval,
                 "Seconds between two rounds of the propagation check (default 2)");
}

}  // namespace agent::cli
