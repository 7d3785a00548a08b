#include "challenge/settings.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "acme/dns01.hpp"
#include "acme/dns_persist.hpp"
#include "acme/host_port.hpp"
#include "deploy/files.hpp"
#include "log/log.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;

std::string to_json(const ChallengeSettings& s) {
  nlohmann::json j{{"challenge", s.challenge},
                   {"http01_listen", s.http01_listen},
                   {"webroot", s.webroot},
                   {"tls_alpn_listen", s.tls_alpn_listen},
                   {"dns_provider", s.dns_provider},
                   {"dns_exec", s.dns_exec},
                   {"rfc2136_server", s.rfc2136_server},
                   {"rfc2136_tsig_name", s.rfc2136_tsig_name},
                   {"rfc2136_tsig_secret_file", s.rfc2136_tsig_secret_file},
                   {"rfc2136_tsig_algorithm", s.rfc2136_tsig_algorithm},
                   {"dns_resolvers", s.dns_resolvers},
                   {"propagation_timeout", s.propagation_timeout},
                   {"propagation_interval", s.propagation_interval}};
  return j.dump();
}

acme::Result<void> store_inline_secrets(ChallengeSettings& s, const std::string& state_dir,
                                        const std::string& cert_name) {
  if (s.rfc2136_tsig_secret.empty()) return acme::ok();
  ACME_ASSIGN(const std::string secret, rfc2136_tsig_secret(s));
  const std::string dir = state_dir + "/secrets";
  ACME_CHECK(make_dirs(dir, 0700));
  const std::string path = dir + "/" + cert_name + ".tsig";
  ACME_CHECK(atomic_write(path, secret + "\n", 0600));
  s.rfc2136_tsig_secret.clear();
  s.rfc2136_tsig_secret_file = path;
  return acme::ok();
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
  str("tls_alpn_listen", s.tls_alpn_listen);
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
  if (auto it = j.find("propagation_interval"); it != j.end() && it->is_number_integer()) {
    s.propagation_interval = it->get<int>();
  }
  return s;
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

namespace {

acme::Error usage(std::string message) {
  return make_error(Errc::kInvalidInput, std::move(message));
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Base64 as written in named.conf (padding optional), without decoding it.
bool looks_base64(const std::string& s) {
  if (s.empty()) return false;
  size_t pad = 0;
  for (char c : s) {
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return false;
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
  }
  return pad <= 2 && (s.size() - pad) % 4 != 1;
}

acme::Result<void> check_dns01(const ChallengeSettings& s) {
  // http01_listen / webroot may come from [defaults]: ignored for dns-01, not an error.
  std::string known;
  for (const auto& n : acme::dns_provider_names()) known += (known.empty() ? "" : " or ") + n;
  if (s.dns_provider.empty()) {
    return usage("--challenge dns-01 needs --dns-provider (" + known + ")");
  }
  if (s.dns_provider == "rfc2136") {
    if (s.rfc2136_server.empty()) {
      return usage(
          "--dns-provider rfc2136 needs --rfc2136-server ADDR:PORT "
          "(or ACMECTL_RFC2136_SERVER)");
    }
    if (auto r = acme::parse_dns_server(s.rfc2136_server); !r) {
      return usage("--rfc2136-server " + s.rfc2136_server + ": " + r.error().message);
    }
    if (s.rfc2136_tsig_name.empty()) {
      return usage(
          "--dns-provider rfc2136 needs --rfc2136-tsig-name NAME "
          "(or ACMECTL_RFC2136_TSIG_NAME)");
    }
    if (auto r = acme::parse_tsig_algorithm(s.rfc2136_tsig_algorithm); !r) {
      return usage("--rfc2136-tsig-algorithm " + s.rfc2136_tsig_algorithm +
                   ": use hmac-sha256, hmac-sha512 or hmac-sha1");
    }
    ACME_CHECK(rfc2136_tsig_secret(s));
  } else if (s.dns_provider == "exec") {
    if (s.dns_exec.empty()) return usage("--dns-provider exec needs --dns-exec PATH");
    // Stored for renewals, which the agent runs from another working directory.
    if (s.dns_exec.front() != '/') {
      return usage("--dns-exec " + s.dns_exec + ": use an absolute path (renewals run elsewhere)");
    }
    struct stat st {};
    if (::stat(s.dns_exec.c_str(), &st) != 0) {
      return usage("--dns-exec " + s.dns_exec + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode) || ::access(s.dns_exec.c_str(), X_OK) != 0) {
      return usage("--dns-exec " + s.dns_exec + ": not an executable file");
    }
  } else {
    return usage("--dns-provider " + s.dns_provider + ": use " + known);
  }
  for (const auto& r : s.dns_resolvers) {
    if (auto p = acme::parse_dns_server(r); !p) {
      return usage("--dns-resolver " + r + ": " + p.error().message);
    }
  }
  if (s.propagation_timeout < 0 || s.propagation_timeout > 86400) {
    return usage("--propagation-timeout " + std::to_string(s.propagation_timeout) +
                 ": use 0 to 86400 seconds");
  }
  if (s.propagation_interval < 1 || s.propagation_interval > 3600) {
    return usage("--propagation-interval " + std::to_string(s.propagation_interval) +
                 ": use 1 to 3600 seconds");
  }
  return acme::ok();
}

}  // namespace

acme::Result<std::string> rfc2136_tsig_secret(const ChallengeSettings& s) {
  if (!s.rfc2136_tsig_secret.empty() && !s.rfc2136_tsig_secret_file.empty()) {
    return usage("use either --rfc2136-tsig-secret or --rfc2136-tsig-secret-file, not both");
  }
  if (!s.rfc2136_tsig_secret.empty()) {
    const std::string secret = trim(s.rfc2136_tsig_secret);
    if (!looks_base64(secret)) return usage("--rfc2136-tsig-secret: not base64");
    return secret;
  }
  if (s.rfc2136_tsig_secret_file.empty()) {
    return usage(
        "--dns-provider rfc2136 needs --rfc2136-tsig-secret BASE64 or "
        "--rfc2136-tsig-secret-file FILE");
  }
  const std::string& path = s.rfc2136_tsig_secret_file;
  if (path.front() != '/') {
    return usage("--rfc2136-tsig-secret-file " + path +
                 ": use an absolute path (renewals run elsewhere)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return usage("--rfc2136-tsig-secret-file " + path + ": cannot read: " + std::strerror(errno));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  // A BIND key file (tsig-keygen): key "name" { algorithm ...; secret "BASE64"; };
  if (const auto at = text.find("secret"); at != std::string::npos) {
    const auto q1 = text.find('"', at);
    const auto q2 = q1 == std::string::npos ? q1 : text.find('"', q1 + 1);
    if (q2 != std::string::npos) text = text.substr(q1 + 1, q2 - q1 - 1);
  }
  text = trim(text);
  if (!looks_base64(text)) {
    return usage("--rfc2136-tsig-secret-file " + path +
                 ": holds no base64 secret (nor a key file with secret \"...\")");
  }
  return text;
}

acme::Result<void> check_identifiers_for_challenge(const std::vector<acme::Identifier>& ids,
                                                   const std::string& challenge) {
  for (const auto& id : ids) {
    if (challenge == "dns-01" && id.type == "ip") {
      return usage("--challenge dns-01 cannot prove the IP address " + id.value +
                   " (RFC 8738: use http-01 or tls-alpn-01)");
    }
    if (challenge == acme::kDnsPersist01 && id.type == "ip") {
      return usage("--challenge dns-persist-01 cannot prove the IP address " + id.value +
                   " (use http-01 or tls-alpn-01)");
    }
    if (challenge == "tls-alpn-01" && id.value.rfind("*.", 0) == 0) {
      return usage("--challenge tls-alpn-01 cannot prove the wildcard " + id.value +
                   " (RFC 8737: use dns-01)");
    }
  }
  return acme::ok();
}

acme::Result<void> check_challenge_settings(const ChallengeSettings& s) {
  if (s.challenge != "http-01" && s.challenge != "dns-01" && s.challenge != "tls-alpn-01" &&
      s.challenge != acme::kDnsPersist01) {
    return make_error(Errc::kInvalidInput,
                      "--challenge " + s.challenge +
                          ": use http-01, dns-01, tls-alpn-01 or dns-persist-01 (experimental)");
  }
  // dns-persist-01: the record was published once (acmectl persist-record); nothing to set.
  if (s.challenge == acme::kDnsPersist01) return acme::ok();
  if (s.challenge == "tls-alpn-01") {
    // --webroot / --http01-listen may come from [defaults]: ignored for tls-alpn-01.
    if (!s.tls_alpn_listen.empty()) {
      if (auto r = acme::parse_listen_address(s.tls_alpn_listen, "--tls-alpn-listen"); !r) {
        return std::move(r).error();
      }
    }
    return acme::ok();
  }
  if (s.challenge == "http-01") {
    if (!s.webroot.empty() && !s.http01_listen.empty()) {
      return make_error(Errc::kInvalidInput, "use either --webroot or --http01-listen, not both");
    }
    return acme::ok();
  }
  return check_dns01(s);
}

namespace {

acme::Result<SolverBundle> make_dns01_solver(const ChallengeSettings& s, acme::Clock& clock) {
  acme::DnsProviderOptions po;
  po.resolver = acme::make_cares_resolver();
  if (s.dns_provider == "rfc2136") {
    ACME_ASSIGN(po.rfc2136.server, acme::parse_dns_server(s.rfc2136_server));
    po.rfc2136.tsig_name = s.rfc2136_tsig_name;
    ACME_ASSIGN(po.rfc2136.tsig_secret, rfc2136_tsig_secret(s));
    ACME_ASSIGN(po.rfc2136.tsig_algorithm, acme::parse_tsig_algorithm(s.rfc2136_tsig_algorithm));
  }
  po.exec.program = s.dns_exec;
  ACME_ASSIGN(auto provider, acme::make_dns_provider(s.dns_provider, po));
  acme::Dns01Options o;
  for (const auto& r : s.dns_resolvers) {
    ACME_ASSIGN(auto server, acme::parse_dns_server(r));
    o.resolvers.push_back(server);
  }
  o.propagation_timeout = std::chrono::seconds(s.propagation_timeout);
  o.propagation_interval = std::chrono::seconds(s.propagation_interval);
  auto log = logger("dns01");
  o.log = [log](const std::string& line) { log->info("{}", line); };
  o.warn = [log](const std::string& line) { log->warn("{}", line); };
  SolverBundle b;
  b.solver =
      std::make_unique<acme::Dns01Solver>(std::move(provider), po.resolver, clock, std::move(o));
  return b;
}

}  // namespace

acme::Result<SolverBundle> make_solver(const ChallengeSettings& s, acme::Http01Responder* shared,
                                       acme::Clock* clock, acme::TlsAlpn01Responder* shared_tls) {
  ACME_CHECK(check_challenge_settings(s));
  if (s.challenge == "dns-01") return make_dns01_solver(s, clock ? *clock : acme::system_clock());
  SolverBundle b;
  if (s.challenge == acme::kDnsPersist01) {
    b.solver = std::make_unique<acme::DnsPersistSolver>();
    return b;
  }
  if (s.challenge == "tls-alpn-01") {
    acme::TlsAlpn01Responder* responder = shared_tls;
    if (responder == nullptr) {
      ACME_ASSIGN(b.tls_responder, acme::TlsAlpn01Responder::start(
                                       s.tls_alpn_listen.empty() ? ":443" : s.tls_alpn_listen));
      responder = b.tls_responder.get();
    }
    b.solver = std::make_unique<acme::TlsAlpn01Solver>(*responder);
    return b;
  }
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

}  // namespace agent
