#include "config/config.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

using agent::Config;
using agent::parse_config;

namespace {

// The example from INTERFACE.md "Config file (TOML)", verbatim.
const char* const kInterfaceExample =
    R"(state_dir = "/var/lib/acmectl"          # same as --state-dir

[acme]
server = "https://acme-v02.api.letsencrypt.org/directory"
ca_bundle = "/etc/acmectl/ca.pem"       # optional, same as --ca-bundle
email = "ops@example.com"
agree_tos = true

[agent]
metrics_listen = "127.0.0.1:9469"
http01_listen = "127.0.0.1:8402"        # built-in HTTP-01 responder
renew_before_days = 30
concurrency = 4
post_hook = "systemctl reload nginx"    # once after any renewal in a pass

[defaults]                              # any per-certificate key
out = "/etc/acmectl/live"
key_type = "ec256"
challenge = "http-01"

[[certificate]]
name = "example"
domains = ["example.com", "www.example.com"]
deploy_hook = "/etc/acmectl/hooks/reload-nginx.sh"

[[certificate]]
name = "wildcard"
domains = ["*.example.com", "example.com"]
challenge = "dns-01"
dns_provider = "rfc2136"
rfc2136_server = "127.0.0.1:53"
rfc2136_tsig_name = "acme-key"
rfc2136_tsig_secret_file = "/etc/acmectl/tsig.secret"
)";

// The single-line message of a config that must be rejected.
std::string error_of(const std::string& text) {
  auto r = parse_config(text, "t.toml");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == acme::Errc::kInvalidInput);
  CHECK(r.error().message.find('\n') == std::string::npos);
  return r.error().message;
}

Config parsed(const std::string& text) {
  auto r = parse_config(text, "t.toml");
  if (!r) FAIL(r.error().message);
  return std::move(r).value();
}

const std::string kCert = "[[certificate]]\ndomains = [\"example.com\"]\n";

}  // namespace

TEST_CASE("config: the INTERFACE.md example") {
  const Config c = parsed(kInterfaceExample);
  CHECK(c.path == "t.toml");
  CHECK(c.state_dir == "/var/lib/acmectl");
  CHECK(c.acme.server == "https://acme-v02.api.letsencrypt.org/directory");
  CHECK(c.acme.ca_bundle == "/etc/acmectl/ca.pem");
  CHECK(c.acme.email == "ops@example.com");
  CHECK(c.acme.agree_tos);
  CHECK(c.agent.metrics_listen == "127.0.0.1:9469");
  CHECK(c.agent.http01_listen == "127.0.0.1:8402");
  CHECK(c.agent.renew_before_days == 30);
  CHECK(c.agent.concurrency == 4);
  CHECK(c.agent.post_hook == "systemctl reload nginx");
  CHECK(c.agent.check_interval_seconds == 3600);
  CHECK(c.agent.hook_timeout_seconds == 300);
  REQUIRE(c.certificates.size() == 2);

  const auto& ex = c.certificates[0];
  CHECK(ex.name == "example");
  CHECK(ex.domains == std::vector<std::string>{"example.com", "www.example.com"});
  CHECK(ex.key_type == "ec256");
  CHECK(ex.out == "/etc/acmectl/live");
  CHECK(ex.deploy_hook == "/etc/acmectl/hooks/reload-nginx.sh");
  CHECK(ex.challenge.challenge == "http-01");
  CHECK(ex.server.empty());
  CHECK_FALSE(ex.renew_before_days.has_value());

  const auto& wc = c.certificates[1];
  CHECK(wc.name == "wildcard");
  CHECK(wc.domains == std::vector<std::string>{"*.example.com", "example.com"});
  CHECK(wc.out == "/etc/acmectl/live");
  CHECK(wc.deploy_hook.empty());
  CHECK(wc.challenge.challenge == "dns-01");
  CHECK(wc.challenge.dns_provider == "rfc2136");
  CHECK(wc.challenge.rfc2136_server == "127.0.0.1:53");
  CHECK(wc.challenge.rfc2136_tsig_name == "acme-key");
  // Only the path: the file does not exist here and is not read at load time.
  CHECK(wc.challenge.rfc2136_tsig_secret_file == "/etc/acmectl/tsig.secret");
  CHECK(wc.challenge.rfc2136_tsig_secret.empty());
  CHECK(wc.challenge.rfc2136_tsig_algorithm == "hmac-sha256");
}

TEST_CASE("config: empty file gives the defaults") {
  const Config c = parsed("");
  CHECK(c.state_dir.empty());
  CHECK(c.agent.metrics_listen == "127.0.0.1:9469");
  CHECK(c.agent.concurrency == 4);
  CHECK(c.certificates.empty());
}

TEST_CASE("config: every challenge key maps to its ChallengeSettings field") {
  const Config c = parsed(R"([[certificate]]
domains = ["a.example"]
challenge = "dns-01"
http01_listen = "[::1]:8080"
webroot = "/srv/www"
dns_provider = "exec"
dns_exec = "/usr/local/bin/dns-hook"
rfc2136_server = "[2001:db8::1]:53"
rfc2136_tsig_name = "k"
rfc2136_tsig_secret = "c2VjcmV0"
rfc2136_tsig_secret_file = "/nonexistent/tsig"
rfc2136_tsig_algorithm = "hmac-sha512"
dns_resolver = ["127.0.0.1:53", "[::1]:5353"]
propagation_timeout = 600
propagation_interval = 5
key_type = "rsa3072"
out = "/out"
deploy_hook = "hook"
server = "letsencrypt-staging"
renew_before_days = 10
preferred_chain = "ISRG Root X1"
)");
  REQUIRE(c.certificates.size() == 1);
  const auto& cert = c.certificates[0];
  const auto& ch = cert.challenge;
  CHECK(ch.challenge == "dns-01");
  CHECK(ch.http01_listen == "[::1]:8080");
  CHECK(ch.webroot == "/srv/www");
  CHECK(ch.dns_provider == "exec");
  CHECK(ch.dns_exec == "/usr/local/bin/dns-hook");
  CHECK(ch.rfc2136_server == "[2001:db8::1]:53");
  CHECK(ch.rfc2136_tsig_name == "k");
  CHECK(ch.rfc2136_tsig_secret == "c2VjcmV0");
  CHECK(ch.rfc2136_tsig_secret_file == "/nonexistent/tsig");
  CHECK(ch.rfc2136_tsig_algorithm == "hmac-sha512");
  CHECK(ch.dns_resolvers == std::vector<std::string>{"127.0.0.1:53", "[::1]:5353"});
  CHECK(ch.propagation_timeout == 600);
  CHECK(ch.propagation_interval == 5);
  CHECK(cert.key_type == "rsa3072");
  CHECK(cert.out == "/out");
  CHECK(cert.deploy_hook == "hook");
  CHECK(cert.server == "letsencrypt-staging");
  CHECK(cert.renew_before_days == 10);
  CHECK(cert.preferred_chain == "ISRG Root X1");
  CHECK(cert.name == "a.example");

  // The plural spelling is accepted too.
  const Config p = parsed(kCert + "dns_resolvers = [\"192.0.2.1:53\"]\n");
  CHECK(p.certificates[0].challenge.dns_resolvers == std::vector<std::string>{"192.0.2.1:53"});
}

TEST_CASE("config: [defaults] apply where a certificate does not set the key") {
  const Config c = parsed(R"([defaults]
key_type = "rsa2048"
out = "/d/live"
renew_before_days = 20
challenge = "dns-01"
dns_provider = "rfc2136"
dns_resolver = ["127.0.0.1:53"]

[[certificate]]
domains = ["a.example"]

[[certificate]]
domains = ["b.example"]
key_type = "ec384"
renew_before_days = 7
challenge = "http-01"
dns_resolvers = ["127.0.0.2:53"]
out = "/b"
)");
  REQUIRE(c.certificates.size() == 2);
  const auto& a = c.certificates[0];
  CHECK(a.name == "a.example");
  CHECK(a.key_type == "rsa2048");
  CHECK(a.out == "/d/live");
  CHECK(a.renew_before_days == 20);
  CHECK(a.challenge.challenge == "dns-01");
  CHECK(a.challenge.dns_provider == "rfc2136");
  CHECK(a.challenge.dns_resolvers == std::vector<std::string>{"127.0.0.1:53"});
  const auto& b = c.certificates[1];
  CHECK(b.key_type == "ec384");
  CHECK(b.out == "/b");
  CHECK(b.renew_before_days == 7);
  CHECK(b.challenge.challenge == "http-01");
  CHECK(b.challenge.dns_provider == "rfc2136");  // not overridden: still the default
  CHECK(b.challenge.dns_resolvers == std::vector<std::string>{"127.0.0.2:53"});
}

TEST_CASE("config: default name is the first domain, *. written _wildcard.") {
  const Config c = parsed(R"([[certificate]]
domains = ["*.example.com", "example.com"]
[[certificate]]
domains = ["example.org"]
)");
  REQUIRE(c.certificates.size() == 2);
  CHECK(c.certificates[0].name == "_wildcard.example.com");
  CHECK(c.certificates[1].name == "example.org");
}

TEST_CASE("config: default name of an IP address (RFC 8738): IPv4 as is, IPv6 as ip-...") {
  const Config c = parsed(R"([[certificate]]
domains = ["127.0.0.1"]
[[certificate]]
domains = ["::1"]
[[certificate]]
domains = ["2001:DB8:0:0::1", "a.example.com"]
challenge = "tls-alpn-01"
tls_alpn_listen = "[::]:8443"
[agent]
tls_alpn_listen = "127.0.0.1:8443"
)");
  REQUIRE(c.certificates.size() == 3);
  CHECK(c.certificates[0].name == "127.0.0.1");
  CHECK(c.certificates[1].name == "ip-__1");
  CHECK(c.certificates[2].name == "ip-2001_db8__1");
  CHECK(c.certificates[2].challenge.challenge == "tls-alpn-01");
  CHECK(c.certificates[2].challenge.tls_alpn_listen == "[::]:8443");
  CHECK(c.agent.tls_alpn_listen == "127.0.0.1:8443");
}

TEST_CASE("config: listen addresses") {
  for (const char* ok :
       {"127.0.0.1:9469", ":9469", "[::1]:9469", "[::]:0", "localhost:80", "off", ""}) {
    CAPTURE(ok);
    const Config c = parsed(std::string("[agent]\nmetrics_listen = \"") + ok + "\"\n");
    CHECK(c.agent.metrics_listen == ok);
  }
  for (const char* bad : {"9469", "127.0.0.1", "127.0.0.1:", "::1:80", "[::1]80", "[::1:80",
                          "a:65536", "a:8x", "a b:80"}) {
    CAPTURE(bad);
    CHECK(error_of(std::string("[agent]\nhttp01_listen = \"") + bad + "\"\n") ==
          std::string("t.toml:2:17: 'http01_listen' must be ADDR:PORT (e.g. 127.0.0.1:8402, "
                      ":8402, [::1]:8402), not \"") +
              bad + "\"");
  }
  CHECK(error_of("[agent]\nhttp01_listen = \"off\"\n") ==
        "t.toml:2:17: 'http01_listen' must be ADDR:PORT (e.g. 127.0.0.1:8402, :8402, "
        "[::1]:8402), not \"off\"");
  CHECK(error_of(kCert + "http01_listen = \"80\"\n") ==
        "t.toml:3:17: 'http01_listen' must be ADDR:PORT (e.g. 127.0.0.1:8402, :8402, "
        "[::1]:8402), not \"80\"");
}

TEST_CASE("config: unknown keys name file, line, column, key and table") {
  CHECK(error_of("[agent]\nconcurrency = 2\nrenew_befor = 3\n") ==
        "t.toml:3:1: unknown key 'renew_befor' in [agent]");
  CHECK(error_of("[acme]\n  emial = \"x\"\n") == "t.toml:2:3: unknown key 'emial' in [acme]");
  CHECK(error_of("state_dir = \"/s\"\nstatedir = \"/s\"\n") ==
        "t.toml:2:1: unknown key 'statedir' at top level");
  CHECK(error_of("[agnet]\n") == "t.toml:1:2: unknown key 'agnet' at top level");
  CHECK(error_of(kCert + "deploy_hok = \"x\"\n") ==
        "t.toml:3:1: unknown key 'deploy_hok' in [[certificate]]");
  CHECK(error_of("[defaults]\nkeytype = \"ec256\"\n") ==
        "t.toml:2:1: unknown key 'keytype' in [defaults]");
  CHECK(error_of("[defaults]\ndomains = [\"a.example\"]\n") ==
        "t.toml:2:1: 'domains' cannot be set in [defaults]");
  CHECK(error_of("[agent.sub]\nx = 1\n") == "t.toml:1:8: unknown key 'sub' in [agent]");
}

TEST_CASE("config: wrong types") {
  CHECK(error_of("state_dir = 5\n") == "t.toml:1:13: 'state_dir' must be a string");
  CHECK(error_of("[acme]\nagree_tos = \"yes\"\n") == "t.toml:2:13: 'agree_tos' must be a boolean");
  CHECK(error_of("[agent]\nconcurrency = \"4\"\n") ==
        "t.toml:2:15: 'concurrency' must be an integer");
  CHECK(error_of("[agent]\nconcurrency = 4.0\n") ==
        "t.toml:2:15: 'concurrency' must be an integer");
  CHECK(error_of("[[certificate]]\ndomains = \"example.com\"\n") ==
        "t.toml:2:11: 'domains' must be an array of strings");
  CHECK(error_of("[[certificate]]\ndomains = [\"a.example\", 5]\n") ==
        "t.toml:2:25: 'domains' must be an array of strings");
  CHECK(error_of(kCert + "dns_resolver = \"127.0.0.1:53\"\n") ==
        "t.toml:3:16: 'dns_resolver' must be an array of strings");
  CHECK(error_of("agent = 1\n") == "t.toml:1:9: 'agent' must be a table");
  CHECK(error_of("[certificate]\ndomains = [\"a.example\"]\n") ==
        "t.toml:1:1: 'certificate' must be an array of tables: write [[certificate]]");
}

TEST_CASE("config: out-of-range integers") {
  CHECK(error_of("[agent]\nconcurrency = 0\n") ==
        "t.toml:2:15: 'concurrency' must be an integer between 1 and 64");
  CHECK(error_of("[agent]\nconcurrency = 65\n") ==
        "t.toml:2:15: 'concurrency' must be an integer between 1 and 64");
  CHECK(error_of("[agent]\nrenew_before_days = 366\n") ==
        "t.toml:2:21: 'renew_before_days' must be an integer between 1 and 365");
  CHECK(error_of("[agent]\ncheck_interval_seconds = 59\n") ==
        "t.toml:2:26: 'check_interval_seconds' must be an integer between 60 and 86400");
  CHECK(error_of("[agent]\ncheck_interval_seconds = 86401\n") ==
        "t.toml:2:26: 'check_interval_seconds' must be an integer between 60 and 86400");
  CHECK(error_of(kCert + "renew_before_days = 0\n") ==
        "t.toml:3:21: 'renew_before_days' must be an integer between 1 and 365");
  // Larger than int: rejected, not truncated.
  CHECK(error_of("[agent]\nconcurrency = 4294967300\n") ==
        "t.toml:2:15: 'concurrency' must be an integer between 1 and 64");
  const Config c = parsed("[agent]\nconcurrency = 64\ncheck_interval_seconds = 60\n");
  CHECK(c.agent.concurrency == 64);
  CHECK(c.agent.check_interval_seconds == 60);
}

TEST_CASE("config: key_type and challenge values") {
  for (const char* kt : {"ec256", "ec384", "rsa2048", "rsa3072", "rsa4096"}) {
    CAPTURE(kt);
    CHECK(parsed(kCert + "key_type = \"" + kt + "\"\n").certificates[0].key_type == kt);
  }
  CHECK(error_of(kCert + "key_type = \"rsa1024\"\n") ==
        "t.toml:3:12: 'key_type' must be one of ec256, ec384, rsa2048, rsa3072, rsa4096");
  CHECK(error_of("[defaults]\nkey_type = \"ed25519\"\n") ==
        "t.toml:2:12: 'key_type' must be one of ec256, ec384, rsa2048, rsa3072, rsa4096");
  CHECK(error_of(kCert + "challenge = \"tls-sni-01\"\n") ==
        "t.toml:3:13: 'challenge' must be http-01, dns-01 or tls-alpn-01");
}

TEST_CASE("config: certificate names and domains") {
  CHECK(error_of("[[certificate]]\nname = \"x\"\n") ==
        "t.toml: [[certificate]] #1 (name \"x\"): domains must not be empty");
  CHECK(error_of(kCert + "[[certificate]]\nname = \"x\"\ndomains = []\n") ==
        "t.toml: [[certificate]] #2 (name \"x\"): domains must not be empty");
  CHECK(error_of("[[certificate]]\n") == "t.toml: [[certificate]] #1: domains must not be empty");
  CHECK(error_of(R"([[certificate]]
name = "x"
domains = ["a.example"]

[[certificate]]
name = "x"
domains = ["b.example"]
)") == "t.toml:6:8: duplicate certificate name 'x' (also [[certificate]] #1)");
  // A defaulted name collides too.
  CHECK(error_of(kCert + kCert) ==
        "t.toml:4:11: duplicate certificate name 'example.com' (also [[certificate]] #1)");
  CHECK(error_of(kCert + "name = \"../etc\"\n") ==
        "t.toml:3:8: 'name' must be letters, digits, '.', '-' and '_' (it names a directory), "
        "not \"../etc\"");
  CHECK(error_of(kCert + "dns_resolver = []\ndns_resolvers = []\n") ==
        "t.toml:4:17: set 'dns_resolver' or 'dns_resolvers', not both, in [[certificate]]");
}

TEST_CASE("config: TOML syntax errors carry the line") {
  // Descriptions are toml++ 3.3's own words.
  CHECK(error_of("[agent]\nconcurrency = 4\nconcurrency = 5\n") ==
        "t.toml:3:15: TOML syntax error: Error while parsing key-value pair: cannot redefine "
        "existing integer 'concurrency'");
  CHECK(error_of("[agent]\nconcurrency = 4\nmetrics_listen = \"unterminated\n") ==
        "t.toml:3:31: TOML syntax error: Error while parsing string: unescaped control characters "
        "other than TAB (U+0009) are explicitly prohibited");
  CHECK(error_of("[agent\n") ==
        "t.toml:1:7: TOML syntax error: Error while parsing table header: expected ']', saw '\\n'");
}

TEST_CASE("config: a NUL in a string is refused, not used to cut a path short") {
  CHECK(error_of("[defaults]\nout = \"/etc/acmectl/live\\u0000/tmp\"\n") ==
        "t.toml:2:7: 'out' must not contain a NUL character");
  CHECK(error_of("[[certificate]]\ndomains = [\"a.test\\u0000.evil\"]\n") ==
        "t.toml:2:12: 'domains' must not contain a NUL character");
}

TEST_CASE("config: load_config reads the file or says why not") {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("acmectl_config_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string file = (dir / "acmectl.toml").string();
  {
    std::ofstream out(file);
    out << kInterfaceExample;
  }
  auto ok = agent::load_config(file);
  REQUIRE(ok.has_value());
  CHECK(ok->path == file);
  CHECK(ok->certificates.size() == 2);

  auto missing = agent::load_config((dir / "nope.toml").string());
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message ==
        (dir / "nope.toml").string() + ": cannot read: No such file or directory");

  auto is_dir = agent::load_config(dir.string());
  REQUIRE_FALSE(is_dir.has_value());
  CHECK(is_dir.error().message == dir.string() + ": cannot read: Is a directory");

  {
    std::ofstream out(file);
    out << "[agent]\nbogus = 1\n";
  }
  auto bad = agent::load_config(file);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == file + ":2:1: unknown key 'bogus' in [agent]");
  fs::remove_all(dir);
}

TEST_CASE("config: [gen.NAME] tables keep their keys for `acmectl gen`") {
  auto c = parse_config(R"([gen.nginx]
domain = ["example.com", "www.example.com"]
hsts_max_age = 600
hsts_preload = true

[gen.dockerfile]
binary = "api"

[[certificate]]
domains = ["example.com"]
)",
                        "/etc/acmectl/x.toml");
  REQUIRE_MESSAGE(c, (c ? "" : c.error().message));
  REQUIRE(c->gen.size() == 2);
  const auto& n = c->gen.at("nginx");
  REQUIRE(n.size() == 3);
  CHECK(n[0].key == "domain");
  CHECK((n[0].values == std::vector<std::string>{"example.com", "www.example.com"}));
  CHECK(n[0].where == "/etc/acmectl/x.toml:2:1");
  CHECK((n[1].values == std::vector<std::string>{"600"}));
  CHECK((n[2].values == std::vector<std::string>{"true"}));
  CHECK(c->gen.at("dockerfile")[0].values.front() == "api");
  CHECK(c->certificates.size() == 1);

  auto bad = parse_config("[gen]\nnginx = 1\n", "f.toml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "f.toml:2:9: 'gen.nginx' must be a table: write [gen.nginx]");
  auto nested = parse_config("[gen.nginx]\nx = { a = 1 }\n", "f.toml");
  REQUIRE_FALSE(nested);
  CHECK(nested.error().message.find("f.toml:2:5: 'x' in [gen.nginx] must be a string") == 0);
  auto top = parse_config("gen = 3\n", "f.toml");
  REQUIRE_FALSE(top);
  CHECK(top.error().message.find("'gen' must be a table") != std::string::npos);
}

TEST_CASE("config: EAB in [acme] and the per-certificate profile") {
  const Config c = parsed(R"([acme]
eab_kid = "kid-1"
eab_hmac_key_file = "/etc/acmectl/eab.key"
eab_alg = "HS384"

[defaults]
profile = "classic"

[[certificate]]
domains = ["a.example"]
profile = "shortlived"

[[certificate]]
domains = ["b.example"]
)");
  CHECK(c.acme.eab_kid == "kid-1");
  CHECK(c.acme.eab_hmac_key_file == "/etc/acmectl/eab.key");
  CHECK(c.acme.eab_alg == "HS384");
  REQUIRE(c.certificates.size() == 2);
  CHECK(c.certificates[0].profile == "shortlived");
  CHECK(c.certificates[1].profile == "classic");

  // The command line wins; a key given there replaces the config's key file.
  agent::GlobalOptions g;
  g.eab_hmac_key = "AAAA";
  const auto merged = agent::merge_globals(g, c);
  CHECK(merged.eab_kid == "kid-1");
  CHECK(merged.eab_hmac_key == "AAAA");
  CHECK(merged.eab_hmac_key_file.empty());
  CHECK(merged.eab_alg == "HS384");
  CHECK(agent::merge_globals(agent::GlobalOptions{}, c).eab_hmac_key_file ==
        "/etc/acmectl/eab.key");

  CHECK(error_of("[acme]\neab_alg = \"HS1\"\n").find("'eab_alg' must be HS256, HS384 or HS512") !=
        std::string::npos);
}

TEST_CASE("config: [[acme.fallback]] tables and the failover keys") {
  auto cfg = parse_config(R"([acme]
server = "https://primary.test/dir"
email = "ops@example.com"
fallback_after_failures = 2
fallback_retry_seconds = 120
return_to_primary = false

[[acme.fallback]]
server = "https://backup.test/dir"
ca_bundle = "/etc/acmectl/backup.pem"
eab_kid = "kid-1"
eab_hmac_key_file = "/etc/acmectl/backup.eab"
eab_alg = "HS512"
profile = "shortlived"

[[acme.fallback]]
server = "letsencrypt"
email = "le@example.com"
)",
                          "f.toml");
  REQUIRE(cfg);
  const auto& f = cfg->acme.failover;
  CHECK(f.after_failures == 2);
  CHECK(f.retry_seconds == 120);
  CHECK_FALSE(f.return_to_primary);
  REQUIRE(f.fallbacks.size() == 2);
  CHECK(f.fallbacks[0].server == "https://backup.test/dir");
  CHECK(f.fallbacks[0].ca_bundle == "/etc/acmectl/backup.pem");
  CHECK(f.fallbacks[0].eab_kid == "kid-1");
  CHECK(f.fallbacks[0].eab_hmac_key_file == "/etc/acmectl/backup.eab");
  CHECK(f.fallbacks[0].eab_alg == "HS512");
  CHECK(f.fallbacks[0].profile == "shortlived");
  CHECK(f.fallbacks[1].server == "letsencrypt");
  CHECK(f.fallbacks[1].email == "le@example.com");
  // merge_globals hands them to every command's settings.
  CHECK(agent::merge_globals({}, *cfg).failover.fallbacks.size() == 2);

  auto defaults = parse_config("[acme]\nserver = \"https://p.test/dir\"\n", "d.toml");
  REQUIRE(defaults);
  CHECK(defaults->acme.failover.after_failures == 3);
  CHECK(defaults->acme.failover.retry_seconds == 600);
  CHECK(defaults->acme.failover.return_to_primary);
  CHECK(defaults->acme.failover.fallbacks.empty());

  auto err = [](const std::string& text) {
    auto r = parse_config(text, "bad.toml");
    REQUIRE_FALSE(r);
    return r.error().message;
  };
  CHECK(err("[acme]\n[[acme.fallback]]\nemail = \"x@example.com\"\n") ==
        "bad.toml:2:1: [[acme.fallback]] #1 needs 'server'");
  CHECK(err("[[acme.fallback]]\nserver = \"https://b.test/dir\"\nserverr = \"x\"\n") ==
        "bad.toml:3:1: unknown key 'serverr' in [[acme.fallback]]");
  CHECK(err("[[acme.fallback]]\nserver = \"http://b.test/dir\"\n")
            .find("'server' of [[acme.fallback]] #1: must be an https:// URL") !=
        std::string::npos);
  CHECK(err("[[acme.fallback]]\nserver = \"https://b.test/dir\"\neab_alg = \"HS1\"\n") ==
        "bad.toml:3:11: 'eab_alg' must be HS256, HS384 or HS512, not \"HS1\"");
  CHECK(err("[acme]\nfallback_after_failures = 0\n") ==
        "bad.toml:2:27: 'fallback_after_failures' must be an integer between 1 and 100");
  CHECK(err("[acme]\nfallback = \"https://b.test/dir\"\n") ==
        "bad.toml:2:12: 'fallback' must be an array of tables: write [[acme.fallback]]");
}

TEST_CASE("config: served check keys per certificate and in [defaults]") {
  Config c = parsed(
      "[defaults]\nverify_timeout = 7\n[[certificate]]\ndomains = [\"example.com\"]\n"
      "verify_endpoints = [\"127.0.0.1:443\", \"[::1]:8443\"]\n"
      "rollback_on_serve_failure = true\n");
  REQUIRE(c.certificates.size() == 1);
  const auto& sc = c.certificates[0].serve_check;
  CHECK(sc.endpoints == std::vector<std::string>{"127.0.0.1:443", "[::1]:8443"});
  CHECK(sc.timeout_seconds == 7);
  CHECK(sc.rollback);
  CHECK(parsed(kCert).certificates[0].serve_check.timeout_seconds == 30);
  CHECK(error_of(kCert + "verify_endpoints = [\"localhost\"]\n") ==
        "t.toml:3:20: 'verify_endpoints' entries must be HOST:PORT (e.g. 127.0.0.1:443, "
        "[::1]:443), not \"localhost\"");
  CHECK(error_of(kCert + "verify_timeout = 0\n") ==
        "t.toml:3:18: 'verify_timeout' must be an integer between 1 and 600");
  CHECK(error_of(kCert + "rollback_on_serve_failure = \"yes\"\n") ==
        "t.toml:3:29: 'rollback_on_serve_failure' must be a boolean");
}

TEST_CASE("config: [notify]") {
  Config c = parsed(
      "[notify]\nwebhook = \"https://hooks.example/T1\"\ncommand = \"/bin/notify\"\n"
      "expiry_fraction = 0.25\ntimeout = 3\nretries = 0\n");
  CHECK(c.notify.webhook == "https://hooks.example/T1");
  CHECK(c.notify.command == "/bin/notify");
  CHECK(c.notify.expiry_fraction == doctest::Approx(0.25));
  CHECK(c.notify.timeout_seconds == 3);
  CHECK(c.notify.retries == 0);
  CHECK(c.notify.enabled());
  CHECK_FALSE(parsed("").notify.enabled());
  CHECK(error_of("[notify]\nwebhook = \"ftp://x\"\n") ==
        "t.toml:2:11: 'webhook' must be an http:// or https:// URL, not \"ftp://x\"");
  CHECK(error_of("[notify]\nexpiry_fraction = 1.5\n") ==
        "t.toml:2:19: 'expiry_fraction' must be a number between 0 and 1 (e.g. 0.2)");
  CHECK(error_of("[notify]\nurl = \"http://x\"\n") == "t.toml:2:1: unknown key 'url' in [notify]");
}

TEST_CASE("config: [store] makes a fleet; no password in the URL, unknown keys named") {
  const Config c = parsed(R"([store]
url = "postgresql://acme@db.internal:5432/acmectl"
password_file = "/etc/acmectl/db.password"
kek_file = "/etc/acmectl/kek"
agent_id = "web-1"
lease_seconds = 120
poll_seconds = 5
)");
  CHECK(c.store.enabled());
  CHECK(c.store.url == "postgresql://acme@db.internal:5432/acmectl");
  CHECK(c.store.password_file == "/etc/acmectl/db.password");
  CHECK(c.store.kek_file == "/etc/acmectl/kek");
  CHECK(c.store.agent_id == "web-1");
  CHECK(c.store.lease_seconds == 120);
  CHECK(c.store.poll_seconds == 5);
  CHECK_FALSE(parsed("").store.enabled());
  CHECK(parsed("").store.lease_seconds == 300);

  CHECK(error_of("[store]\nurl = \"postgresql://acme:secret@db/x\"\n") ==
        "t.toml:2:7: 'url' must not contain a password: use password_file or PGPASSFILE");
  CHECK(error_of("[store]\nurl = \"mysql://db/x\"\n").find("must be postgresql://") !=
        std::string::npos);
  CHECK(error_of("[store]\nlease_secs = 3\n") == "t.toml:2:1: unknown key 'lease_secs' in [store]");
  CHECK(error_of("[store]\nlease_seconds = 1\n").find("'lease_seconds'") != std::string::npos);
}
