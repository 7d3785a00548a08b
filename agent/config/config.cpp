// TOML config (INTERFACE.md "Config file"). Every error is one line naming the file and, when
// toml++ knows it, the line and column of the offending key or value.
#include "config/config.hpp"

#include <fcntl.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <string_view>

#include "acme/dns_persist.hpp"
#include "acme/host_port.hpp"
#include "pipeline/names.hpp"
#include "session/session.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;

namespace {

constexpr std::array<std::string_view, 5> kKeyTypes = {"ec256", "ec384", "rsa2048", "rsa3072",
                                                       "rsa4096"};

// ADDR:PORT with ADDR optional (":PORT": every address) and IPv6 in brackets ("[::1]:80").
// Whether ADDR resolves is the listener's business; this catches typos at load time.
bool valid_listen(std::string_view s) {
  return acme::parse_host_port(s, "listen", /*allow_empty_host=*/true, /*allow_port_zero=*/true)
      .has_value();
}

// Typed access to nodes, with errors in the "FILE:LINE:COL: what" form.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }

  acme::Error at(const toml::source_region& where, const std::string& what) const {
    if (where.begin.line == 0) return plain(what);
    return make_error(Errc::kInvalidInput, path_ + ":" + std::to_string(where.begin.line) + ":" +
                                               std::to_string(where.begin.column) + ": " + what);
  }
  acme::Error plain(const std::string& what) const {
    return make_error(Errc::kInvalidInput, path_ + ": " + what);
  }
  acme::Error unknown(const toml::key& k, std::string_view table) const {
    return at(k.source(), "unknown key '" + std::string(k.str()) + "' " +
                              (table.empty() ? std::string("at top level")
                                             : "in [" + std::string(table) + "]"));
  }

  acme::Result<void> str(const toml::node& n, std::string_view key, std::string& out) const {
    const auto* v = n.as_string();
    if (v == nullptr) return at(n.source(), quoted(key) + " must be a string");
    // A NUL would cut a path short where the C library reads it (issue 13 finding 8).
    if (v->get().find('\0') != std::string::npos) {
      return at(n.source(), quoted(key) + " must not contain a NUL character");
    }
    out = v->get();
    return acme::ok();
  }
  acme::Result<void> boolean(const toml::node& n, std::string_view key, bool& out) const {
    const auto* v = n.as_boolean();
    if (v == nullptr) return at(n.source(), quoted(key) + " must be a boolean");
    out = v->get();
    return acme::ok();
  }
  acme::Result<void> integer(const toml::node& n, std::string_view key, int64_t lo, int64_t hi,
                             int& out) const {
    const auto* v = n.as_integer();
    if (v == nullptr) return at(n.source(), quoted(key) + " must be an integer");
    if (v->get() < lo || v->get() > hi) {
      return at(n.source(), quoted(key) + " must be an integer between " + std::to_string(lo) +
                                " and " + std::to_string(hi));
    }
    out = static_cast<int>(v->get());
    return acme::ok();
  }
  acme::Result<void> strings(const toml::node& n, std::string_view key,
                             std::vector<std::string>& out) const {
    const auto* arr = n.as_array();
    if (arr == nullptr) return at(n.source(), quoted(key) + " must be an array of strings");
    std::vector<std::string> vals;
    for (const auto& e : *arr) {
      const auto* s = e.as_string();
      if (s == nullptr) return at(e.source(), quoted(key) + " must be an array of strings");
      if (s->get().find('\0') != std::string::npos) {
        return at(e.source(), quoted(key) + " must not contain a NUL character");
      }
      vals.push_back(s->get());
    }
    out = std::move(vals);
    return acme::ok();
  }
  // Empty means "the default" (and, for metrics_listen, "off" turns the endpoint off).
  acme::Result<void> listen(const toml::node& n, std::string_view key, std::string& out) const {
    ACME_CHECK(str(n, key, out));
    if (out.empty() || (key == "metrics_listen" && out == "off")) return acme::ok();
    if (!valid_listen(out)) {
      return at(n.source(), quoted(key) + " must be ADDR:PORT (e.g. 127.0.0.1:8402, :8402, " +
                                "[::1]:8402), not \"" + out + "\"");
    }
    return acme::ok();
  }

 private:
  static std::string quoted(std::string_view key) { return "'" + std::string(key) + "'"; }
  std::string path_;
};

acme::Result<void> check_eab_alg(const Reader& r, const toml::node& v, const std::string& alg) {
  if (alg != "HS256" && alg != "HS384" && alg != "HS512") {
    return r.at(v.source(), "'eab_alg' must be HS256, HS384 or HS512, not \"" + alg + "\"");
  }
  return acme::ok();
}

// One [[acme.fallback]] table (docs/operations.md "A fallback CA").
acme::Result<FallbackCa> read_fallback(const Reader& r, const toml::table& t, size_t index) {
  FallbackCa fb;
  for (auto&& [k, v] : t) {
    const std::string_view key = k.str();
    if (key == "server") {
      ACME_CHECK(r.str(v, key, fb.server));
      if (auto url = resolve_server(fb.server); !url) {
        return r.at(v.source(), "'server' of [[acme.fallback]] #" + std::to_string(index) +
                                    ": must be an https:// URL or one of letsencrypt, "
                                    "letsencrypt-staging");
      }
    } else if (key == "ca_bundle") {
      ACME_CHECK(r.str(v, key, fb.ca_bundle));
    } else if (key == "email") {
      ACME_CHECK(r.str(v, key, fb.email));
    } else if (key == "eab_kid") {
      ACME_CHECK(r.str(v, key, fb.eab_kid));
    } else if (key == "eab_hmac_key_file") {
      ACME_CHECK(r.str(v, key, fb.eab_hmac_key_file));
    } else if (key == "eab_alg") {
      ACME_CHECK(r.str(v, key, fb.eab_alg));
      ACME_CHECK(check_eab_alg(r, v, fb.eab_alg));
    } else if (key == "profile") {
      ACME_CHECK(r.str(v, key, fb.profile));
    } else {
      return r.unknown(k, "[acme.fallback]");
    }
  }
  if (fb.server.empty()) {
    return r.at(t.source(), "[[acme.fallback]] #" + std::to_string(index) + " needs 'server'");
  }
  return fb;
}

acme::Result<void> read_acme(const Reader& r, const toml::table& t, AcmeSection& a) {
  for (auto&& [k, v] : t) {
    const std::string_view key = k.str();
    if (key == "server") {
      ACME_CHECK(r.str(v, key, a.server));
    } else if (key == "ca_bundle") {
      ACME_CHECK(r.str(v, key, a.ca_bundle));
    } else if (key == "email") {
      ACME_CHECK(r.str(v, key, a.email));
    } else if (key == "agree_tos") {
      ACME_CHECK(r.boolean(v, key, a.agree_tos));
    } else if (key == "eab_kid") {
      ACME_CHECK(r.str(v, key, a.eab_kid));
    } else if (key == "eab_hmac_key_file") {
      ACME_CHECK(r.str(v, key, a.eab_hmac_key_file));
    } else if (key == "eab_alg") {
      ACME_CHECK(r.str(v, key, a.eab_alg));
      ACME_CHECK(check_eab_alg(r, v, a.eab_alg));
    } else if (key == "fallback_after_failures") {
      ACME_CHECK(r.integer(v, key, 1, 100, a.failover.after_failures));
    } else if (key == "fallback_retry_seconds") {
      ACME_CHECK(r.integer(v, key, 1, 86400, a.failover.retry_seconds));
    } else if (key == "return_to_primary") {
      ACME_CHECK(r.boolean(v, key, a.failover.return_to_primary));
    } else if (key == "fallback") {
      const toml::array* arr = v.as_array();
      if (arr == nullptr) {
        return r.at(v.source(), "'fallback' must be an array of tables: write [[acme.fallback]]");
      }
      for (const toml::node& n : *arr) {
        const toml::table* ft = n.as_table();
        if (ft == nullptr) {
          return r.at(n.source(), "'fallback' must be an array of tables: write [[acme.fallback]]");
        }
        ACME_ASSIGN(FallbackCa fb, read_fallback(r, *ft, a.failover.fallbacks.size() + 1));
        a.failover.fallbacks.push_back(std::move(fb));
      }
    } else {
      return r.unknown(k, "acme");
    }
  }
  return acme::ok();
}

acme::Result<void> read_agent(const Reader& r, const toml::table& t, AgentSection& a) {
  for (auto&& [k, v] : t) {
    const std::string_view key = k.str();
    if (key == "metrics_listen") {
      ACME_CHECK(r.listen(v, key, a.metrics_listen));
    } else if (key == "http01_listen") {
      ACME_CHECK(r.listen(v, key, a.http01_listen));
    } else if (key == "tls_alpn_listen") {
      ACME_CHECK(r.listen(v, key, a.tls_alpn_listen));
    } else if (key == "renew_before_days") {
      ACME_CHECK(r.integer(v, key, 1, 365, a.renew_before_days));
    } else if (key == "concurrency") {
      ACME_CHECK(r.integer(v, key, 1, 64, a.concurrency));
    } else if (key == "post_hook") {
      ACME_CHECK(r.str(v, key, a.post_hook));
    } else if (key == "check_interval_seconds") {
      ACME_CHECK(r.integer(v, key, 60, 86400, a.check_interval_seconds));
    } else if (key == "hook_timeout_seconds") {
      ACME_CHECK(r.integer(v, key, 1, 3600, a.hook_timeout_seconds));
    } else {
      return r.unknown(k, "agent");
    }
  }
  return acme::ok();
}

acme::Result<void> read_store(const Reader& r, const toml::table& t, FleetSettings& s) {
  for (auto&& [k, v] : t) {
    const std::string_view key = k.str();
    if (key == "url") {
      ACME_CHECK(r.str(v, key, s.url));
      if (s.url.rfind("postgresql://", 0) != 0 && s.url.rfind("postgres://", 0) != 0) {
        return r.at(v.source(),
                    "'url' must be postgresql://USER@HOST:PORT/DB (the password "
                    "goes in password_file or PGPASSFILE, never here)");
      }
      if (redact_url(s.url) != s.url) {
        return r.at(v.source(),
                    "'url' must not contain a password: use password_file or "
                    "PGPASSFILE");
      }
    } else if (key == "password_file") {
      ACME_CHECK(r.str(v, key, s.password_file));
    } else if (key == "kek_file") {
      ACME_CHECK(r.str(v, key, s.kek_file));
    } else if (key == "agent_id") {
      ACME_CHECK(r.str(v, key, s.agent_id));
    } else if (key == "lease_seconds") {
      ACME_CHECK(r.integer(v, key, 5, 86400, s.lease_seconds));
    } else if (key == "poll_seconds") {
      ACME_CHECK(r.integer(v, key, 1, 3600, s.poll_seconds));
    } else {
      return r.unknown(k, "store");
    }
  }
  return acme::ok();
}

// The challenge keys: one per ChallengeSettings field, same name. Returns false when
// `key` is not one of them. Provider-specific checks (known provider, base64 secret, readable
// secret file) stay in check_challenge_settings, run when the solver is built.
acme::Result<bool> read_challenge_key(const Reader& r, std::string_view key, const toml::node& v,
                                      ChallengeSettings& ch) {
  if (key == "challenge") {
    ACME_CHECK(r.str(v, key, ch.challenge));
    if (ch.challenge != "http-01" && ch.challenge != "dns-01" && ch.challenge != "tls-alpn-01") {
      return r.at(v.source(), "'challenge' must be http-01, dns-01 or tls-alpn-01");
    }
  } else if (key == "http01_listen") {
    ACME_CHECK(r.listen(v, key, ch.http01_listen));
  } else if (key == "tls_alpn_listen") {
    ACME_CHECK(r.listen(v, key, ch.tls_alpn_listen));
  } else if (key == "webroot") {
    ACME_CHECK(r.str(v, key, ch.webroot));
  } else if (key == "dns_provider") {
    ACME_CHECK(r.str(v, key, ch.dns_provider));
  } else if (key == "dns_exec") {
    ACME_CHECK(r.str(v, key, ch.dns_exec));
  } else if (key == "rfc2136_server") {
    ACME_CHECK(r.str(v, key, ch.rfc2136_server));
  } else if (key == "rfc2136_tsig_name") {
    ACME_CHECK(r.str(v, key, ch.rfc2136_tsig_name));
  } else if (key == "rfc2136_tsig_secret") {
    ACME_CHECK(r.str(v, key, ch.rfc2136_tsig_secret));
  } else if (key == "rfc2136_tsig_secret_file") {
    // Only the path: the secret is read when it is used, so it can be rotated without a reload.
    ACME_CHECK(r.str(v, key, ch.rfc2136_tsig_secret_file));
  } else if (key == "rfc2136_tsig_algorithm") {
    ACME_CHECK(r.str(v, key, ch.rfc2136_tsig_algorithm));
  } else if (key == "dns_resolver" || key == "dns_resolvers") {
    ACME_CHECK(r.strings(v, key, ch.dns_resolvers));
  } else if (key == "propagation_timeout") {
    ACME_CHECK(r.integer(v, key, 0, 86400, ch.propagation_timeout));
  } else if (key == "propagation_interval") {
    ACME_CHECK(r.integer(v, key, 1, 3600, ch.propagation_interval));
  } else {
    return false;
  }
  return true;
}

// Per-certificate keys other than name/domains: what [defaults] may hold. Applied to `c` in
// table order; a [[certificate]] is read by applying [defaults] first, then its own table,
// so its own keys win.
acme::Result<void> read_cert_keys(const Reader& r, const toml::table& t, std::string_view table,
                                  CertificateConfig& c) {
  if (t.contains("dns_resolver") && t.contains("dns_resolvers")) {
    return r.at(t.get("dns_resolvers")->source(),
                "set 'dns_resolver' or 'dns_resolvers', not both, in [" + std::string(table) + "]");
  }
  for (auto&& [k, v] : t) {
    const std::string_view key = k.str();
    if (key == "name" || key == "domains") {
      if (table == "defaults") {
        return r.at(k.source(), "'" + std::string(key) + "' cannot be set in [defaults]");
      }
      continue;  // read by read_certificate
    }
    if (key == "key_type") {
      ACME_CHECK(r.str(v, key, c.key_type));
      bool known = false;
      for (auto kt : kKeyTypes) known = known || kt == c.key_type;
      if (!known) {
        return r.at(v.source(),
                    "'key_type' must be one of ec256, ec384, rsa2048, rsa3072, rsa4096");
      }
    } else if (key == "out") {
      ACME_CHECK(r.str(v, key, c.out));
    } else if (key == "deploy_hook") {
      ACME_CHECK(r.str(v, key, c.deploy_hook));
    } else if (key == "server") {
      ACME_CHECK(r.str(v, key, c.server));
    } else if (key == "preferred_chain") {
      ACME_CHECK(r.str(v, key, c.preferred_chain));
    } else if (key == "profile") {
      ACME_CHECK(r.str(v, key, c.profile));
    } else if (key == "pkcs12") {
      ACME_CHECK(r.boolean(v, key, c.pkcs12));
    } else if (key == "pkcs12_password_file") {
      ACME_CHECK(r.str(v, key, c.pkcs12_password_file));
    } else if (key == "reuse_key") {
      ACME_CHECK(r.boolean(v, key, c.reuse_key));
    } else if (key == "csr_file") {
      ACME_CHECK(r.str(v, key, c.csr_file));
    } else if (key == "persist_until") {
      std::string text;
      if (v.is_integer()) {
        text = std::to_string(v.as_integer()->get());
      } else {
        ACME_CHECK(r.str(v, key, text));
      }
      auto until = acme::parse_persist_until(text);
      if (!until) {
        return r.at(v.source(),
                    "'persist_until' must be unix seconds, \"YYYY-MM-DD\" or "
                    "\"YYYY-MM-DDTHH:MM:SSZ\"");
      }
      c.persist_until = *until;
    } else if (key == "renew_before_days") {
      int days = 0;
      ACME_CHECK(r.integer(v, key, 1, 365, days));
      c.renew_before_days = days;
    } else if (key == "verify_endpoints") {
      ACME_CHECK(r.strings(v, key, c.serve_check.endpoints));
      for (const auto& e : c.serve_check.endpoints) {
        if (!acme::parse_host_port(e, "verify_endpoints")) {
          return r.at(v.source(),
                      "'verify_endpoints' entries must be HOST:PORT (e.g. "
                      "127.0.0.1:443, [::1]:443), not \"" +
                          e + "\"");
        }
      }
    } else if (key == "verify_timeout") {
      ACME_CHECK(r.integer(v, key, 1, 600, c.serve_check.timeout_seconds));
    } else if (key == "rollback_on_serve_failure") {
      ACME_CHECK(r.boolean(v, key, c.serve_check.rollback));
    } else {
      ACME_ASSIGN(const bool known, read_challenge_key(r, key, v, c.challenge));
      if (!known) return r.unknown(k, table);
    }
  }
  return acme::ok();
}

acme::Result<CertificateConfig> read_certificate(const Reader& r, const toml::table& t,
                                                 const toml::table* defaults, int index) {
  CertificateConfig c;
  if (defaults != nullptr) ACME_CHECK(read_cert_keys(r, *defaults, "defaults", c));
  ACME_CHECK(read_cert_keys(r, t, "[certificate]", c));

  const std::string label = "[[certificate]] #" + std::to_string(index);
  if (const toml::node* n = t.get("name")) {
    ACME_CHECK(r.str(*n, "name", c.name));
    if (!valid_cert_name(c.name)) {
      return r.at(n->source(),
                  "'name' must be letters, digits, '.', '-' and '_' (it names a "
                  "directory), not \"" +
                      c.name + "\"");
    }
  }
  const toml::node* domains = t.get("domains");
  if (domains != nullptr) ACME_CHECK(r.strings(*domains, "domains", c.domains));
  if (c.domains.empty() && c.csr_file.empty()) {
    return r.plain(label + (c.name.empty() ? "" : " (name \"" + c.name + "\")") +
                   ": domains must not be empty");
  }
  if (c.reuse_key && !c.csr_file.empty()) {
    return r.plain(label + (c.name.empty() ? "" : " (name \"" + c.name + "\")") +
                   ": reuse_key and csr_file exclude each other (with a CSR the key is yours)");
  }
  // Names themselves are checked (and normalized) by acme::normalize_identifiers later.
  if (c.name.empty() && c.domains.empty()) {
    return r.plain(label + ": a certificate with csr_file and no domains needs a name");
  }
  if (c.name.empty()) c.name = default_cert_name(c.domains.front());
  c.name = normalize_cert_name(c.name);
  return c;
}

// Where a certificate's name came from, for the duplicate-name message.
const toml::source_region& name_source(const toml::table& t) {
  if (const toml::node* n = t.get("name")) return n->source();
  return t.get("domains")->source();
}

acme::Error syntax_error(const Reader& r, const toml::parse_error& e) {
  std::string desc(e.description());
  for (char& ch : desc) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  return r.at(e.source(), "TOML syntax error: " + desc);
}

// [gen.NAME] tables: scalars and arrays of scalars, kept as the strings a flag would get.
acme::Result<void> read_gen(const Reader& r, const toml::table& gen,
                            std::map<std::string, std::vector<GenSetting>>& out) {
  for (auto&& [name, node] : gen) {
    const toml::table* t = node.as_table();
    if (t == nullptr) {
      return r.at(node.source(), "'gen." + std::string(name.str()) +
                                     "' must be a table: write [gen." + std::string(name.str()) +
                                     "]");
    }
    auto& settings = out[std::string(name.str())];
    for (auto&& [k, v] : *t) {
      GenSetting s;
      s.key = std::string(k.str());
      s.where = r.path() + ":" + std::to_string(k.source().begin.line) + ":" +
                std::to_string(k.source().begin.column);
      auto scalar = [&, &name = name](const toml::node& n) -> acme::Result<void> {
        if (const auto* str = n.as_string()) {
          s.values.push_back(str->get());
        } else if (const auto* i = n.as_integer()) {
          s.values.push_back(std::to_string(i->get()));
        } else if (const auto* b = n.as_boolean()) {
          s.values.push_back(b->get() ? "true" : "false");
        } else {
          return r.at(n.source(), "'" + s.key + "' in [gen." + std::string(name.str()) +
                                      "] must be a string, integer, boolean or an array of them");
        }
        return acme::ok();
      };
      if (const auto* arr = v.as_array()) {
        for (const toml::node& e : *arr) ACME_CHECK(scalar(e));
      } else {
        ACME_CHECK(scalar(v));
      }
      settings.push_back(std::move(s));
    }
  }
  return acme::ok();
}

}  // namespace

acme::Result<void> read_notify(const Reader& r, const toml::table& t, NotifyConfig& n) {
  for (auto&& [k, v] : t) {
    const std::string_view key = k.str();
    if (key == "webhook") {
      ACME_CHECK(r.str(v, key, n.webhook));
      if (n.webhook.rfind("http://", 0) != 0 && n.webhook.rfind("https://", 0) != 0) {
        return r.at(v.source(),
                    "'webhook' must be an http:// or https:// URL, not \"" + n.webhook + "\"");
      }
    } else if (key == "command") {
      ACME_CHECK(r.str(v, key, n.command));
    } else if (key == "expiry_fraction") {
      const auto* d = v.as_floating_point();
      if (d == nullptr || !(d->get() > 0.0 && d->get() < 1.0)) {
        return r.at(v.source(), "'expiry_fraction' must be a number between 0 and 1 (e.g. 0.2)");
      }
      n.expiry_fraction = d->get();
    } else if (key == "timeout") {
      ACME_CHECK(r.integer(v, key, 1, 300, n.timeout_seconds));
    } else if (key == "retries") {
      ACME_CHECK(r.integer(v, key, 0, 10, n.retries));
    } else {
      return r.unknown(k, "notify");
    }
  }
  return acme::ok();
}

acme::Result<Config> parse_config(const std::string& text, const std::string& path) {
  const Reader r(path);
#if TOML_EXCEPTIONS
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return syntax_error(r, e);
  }
#else
  toml::parse_result parsed = toml::parse(text, path);
  if (!parsed) return syntax_error(r, parsed.error());
  toml::table root = std::move(parsed).table();
#endif

  Config cfg;
  cfg.path = path;
  const toml::table* defaults = nullptr;
  const toml::array* certs = nullptr;
  for (auto&& [k, v] : root) {
    const std::string_view key = k.str();
    if (key == "state_dir") {
      ACME_CHECK(r.str(v, key, cfg.state_dir));
    } else if (key == "acme" || key == "agent" || key == "defaults" || key == "notify") {
      const toml::table* t = v.as_table();
      if (t == nullptr) return r.at(v.source(), "'" + std::string(key) + "' must be a table");
      if (key == "notify") {
        ACME_CHECK(read_notify(r, *t, cfg.notify));
      } else if (key == "acme") {
        ACME_CHECK(read_acme(r, *t, cfg.acme));
      } else if (key == "agent") {
        ACME_CHECK(read_agent(r, *t, cfg.agent));
      } else {
        // Checked here too, so a bad [defaults] is reported even with no certificate.
        CertificateConfig scratch;
        ACME_CHECK(read_cert_keys(r, *t, "defaults", scratch));
        defaults = t;
      }
    } else if (key == "store") {
      const toml::table* t = v.as_table();
      if (t == nullptr) return r.at(v.source(), "'store' must be a table");
      ACME_CHECK(read_store(r, *t, cfg.store));
    } else if (key == "gen") {
      const toml::table* t = v.as_table();
      if (t == nullptr) return r.at(v.source(), "'gen' must be a table: write [gen.nginx] etc.");
      ACME_CHECK(read_gen(r, *t, cfg.gen));
    } else if (key == "certificate") {
      certs = v.as_array();
      if (certs == nullptr) {
        return r.at(v.source(), "'certificate' must be an array of tables: write [[certificate]]");
      }
    } else {
      return r.unknown(k, "");
    }
  }

  if (certs == nullptr) return cfg;
  std::map<std::string, int> names;  // name -> index of the certificate that has it
  int index = 0;
  for (const toml::node& node : *certs) {
    ++index;
    const toml::table* t = node.as_table();
    if (t == nullptr) {
      return r.at(node.source(), "'certificate' must be an array of tables: write [[certificate]]");
    }
    ACME_ASSIGN(CertificateConfig c, read_certificate(r, *t, defaults, index));
    if (auto [it, fresh] = names.emplace(c.name, index); !fresh) {
      return r.at(name_source(*t), "duplicate certificate name '" + c.name +
                                       "' (also [[certificate]] #" + std::to_string(it->second) +
                                       ")");
    }
    cfg.certificates.push_back(std::move(c));
  }
  return cfg;
}

acme::Result<Config> load_config(const std::string& path) {
  // POSIX read so the message carries the real errno (a directory is EISDIR on read, not open).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return make_error(Errc::kInvalidInput, path + ": cannot read: " + std::strerror(errno));
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      const int err = errno;
      ::close(fd);
      return make_error(Errc::kInvalidInput, path + ": cannot read: " + std::strerror(err));
    }
  }
  ::close(fd);
  return parse_config(text, path);
}

std::string config_path(const std::string& flag) {
  if (!flag.empty()) return flag;
  static const char* const kDefault = "/etc/acmectl/acmectl.toml";
  return ::access(kDefault, F_OK) == 0 ? kDefault : "";
}

GlobalOptions merge_globals(const GlobalOptions& g, const Config& cfg) {
  GlobalOptions out = g;
  if (out.state_dir.empty()) out.state_dir = cfg.state_dir;
  out.state_dir = resolve_state_dir(out.state_dir);
  if (out.server.empty()) out.server = cfg.acme.server;
  if (out.ca_bundle.empty()) out.ca_bundle = cfg.acme.ca_bundle;
  if (out.email.empty()) out.email = cfg.acme.email;
  out.agree_tos = out.agree_tos || cfg.acme.agree_tos;
  if (out.eab_kid.empty()) out.eab_kid = cfg.acme.eab_kid;
  if (out.eab_hmac_key.empty() && out.eab_hmac_key_file.empty()) {
    out.eab_hmac_key_file = cfg.acme.eab_hmac_key_file;
  }
  if (out.eab_alg.empty()) out.eab_alg = cfg.acme.eab_alg;
  out.failover = cfg.acme.failover;
  for (auto& fb : out.failover.fallbacks) fb.ca_bundle = absolute_path(fb.ca_bundle);
  return out;
}

acme::Result<GlobalOptions> with_config(const GlobalOptions& g) {
  const std::string path = config_path(g.config);
  if (path.empty()) return g;
  ACME_ASSIGN(Config cfg, load_config(path));
  GlobalOptions out = merge_globals(g, cfg);
  out.config = path;
  return out;
}

acme::Result<AgentSection> agent_settings(const std::string& config) {
  const std::string path = config_path(config);
  if (path.empty()) return AgentSection{};
  ACME_ASSIGN(Config cfg, load_config(path));
  return cfg.agent;
}

acme::Result<Config> optional_config(const std::string& config) {
  const std::string path = config_path(config);
  if (path.empty()) return Config{};
  return load_config(path);
}

acme::Result<FleetSettings> fleet_settings(const std::string& config) {
  const std::string path = config_path(config);
  if (path.empty()) return FleetSettings{};
  ACME_ASSIGN(Config cfg, load_config(path));
  return cfg.store;
}

}  // namespace agent
