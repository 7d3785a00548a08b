#include "daemon/config_sync.hpp"

#include "acme/certificate.hpp"
#include "acme/csr.hpp"
#include "acme/issuer.hpp"
#include "base/time.hpp"
#include "challenge/settings.hpp"
#include "deploy/files.hpp"
#include "log/log.hpp"
#include "session/session.hpp"

namespace agent {

using acme::make_error;

namespace {

// True when the installed certificate is missing or does not cover exactly these names.
bool needs_reissue(const CertificateRecord& rec, const std::vector<std::string>& domains) {
  if (rec.not_after == 0) return true;
  auto pem = read_file(rec.out_dir + "/cert.pem");
  if (!pem) return true;
  auto info = acme::inspect_certificate(*pem);
  if (!info) return true;
  std::set<std::string> have(info->dns_names.begin(), info->dns_names.end());
  have.insert(info->ip_addresses.begin(), info->ip_addresses.end());
  return have != std::set<std::string>(domains.begin(), domains.end());
}

}  // namespace

acme::Result<ConfigSync> sync_configured_certificates(
    Store& store, const std::vector<CertificateConfig>& certs, const GlobalOptions& g,
    const std::function<void(const CertificateRecord&)>& each) {
  ConfigSync out;
  auto log = logger("agent");
  std::set<std::string> configured;
  for (const auto& c : certs) {
    // csr_file: the names come from the CSR (and domains, when given, must match them).
    std::string csr_pem;
    std::vector<std::string> wanted = c.domains;
    if (!c.csr_file.empty()) {
      const std::string path = absolute_path(c.csr_file);
      ACME_ASSIGN(csr_pem, read_file(path));
      auto csr = acme::parse_csr(csr_pem);
      if (!csr) return std::move(csr).error().context("certificate " + c.name + ": " + path);
      if (!c.domains.empty() && std::set<std::string>(c.domains.begin(), c.domains.end()) !=
                                    std::set<std::string>(csr->names.begin(), csr->names.end())) {
        return make_error(acme::Errc::kInvalidInput,
                          "certificate " + c.name + ": " + path + " does not name its domains");
      }
      wanted = csr->names;
    }
    ACME_ASSIGN(auto ids, acme::normalize_identifiers(
                              wanted, challenge_allows_wildcard(c.challenge.challenge)));
    ACME_CHECK(check_identifiers_for_challenge(ids, c.challenge.challenge));
    std::vector<std::string> domains;
    for (const auto& id : ids) domains.push_back(id.value);
    ACME_ASSIGN(auto existing, store.find_certificate(c.name));
    CertificateRecord rec = existing ? *existing : CertificateRecord{};
    const bool reissue = !existing || needs_reissue(rec, domains) || rec.csr_pem != csr_pem;
    ChallengeSettings ch = c.challenge;
    ACME_CHECK(store_inline_secrets(ch, g.state_dir, c.name));
    rec.name = c.name;
    rec.domains = domains;
    rec.key_type = c.key_type;
    rec.challenge = ch.challenge;
    rec.challenge_settings = to_json(ch);
    rec.http01_listen = ch.http01_listen;
    rec.webroot = absolute_path(ch.webroot);
    const std::string out_root = c.out.empty() ? g.state_dir + "/live" : absolute_path(c.out);
    rec.out_dir = out_root + "/" + c.name;
    auto server = resolve_server(c.server.empty() ? g.server : c.server);
    if (!server) return std::move(server).error().context("certificate " + c.name);
    rec.server = *server;
    rec.deploy_hook = c.deploy_hook;
    rec.ca_bundle = absolute_path(g.ca_bundle);
    rec.renew_before_days = c.renew_before_days.value_or(0);
    rec.preferred_chain = c.preferred_chain;
    rec.profile = c.profile;
    rec.pkcs12 = c.pkcs12;
    rec.pkcs12_password_file = absolute_path(c.pkcs12_password_file);
    rec.reuse_key = c.reuse_key;
    rec.csr_pem = csr_pem;
    rec.persist_until = c.persist_until;
    rec.origin = "config";
    rec.managed = true;
    configured.insert(c.name);
    if (reissue) {
      rec.next_check = 0;
      // A certificate never issued is due anyway (and the pipeline honours its backoff);
      // forcing it made every restart ignore a persisted backoff. Force only a reissue for
      // changed names, and not while a failure's backoff runs.
      if (rec.not_after != 0 && rec.next_attempt <= unix_now()) out.reissue.insert(c.name);
      log->info("cert={} {}", c.name,
                !existing            ? "new: will issue"
                : rec.not_after == 0 ? "not issued yet: will issue"
                                     : "names changed: will reissue");
    }
    // An existing row gets only its settings updated: a renewal finishing right now (its
    // worker holds the certificate's lock, not this thread) keeps what it wrote.
    if (existing) {
      ACME_CHECK(store.update_certificate_settings(rec, reissue));
    } else {
      ACME_CHECK(store.upsert_certificate(rec));
    }
  }
  // Certificates the config no longer lists stop being renewed (files and record kept;
  // `acmectl list` shows them as unmanaged, `acmectl delete` forgets them).
  ACME_ASSIGN(auto all, store.list_certificates());
  for (auto& rec : all) {
    if (rec.origin == "config" && rec.managed && configured.count(rec.name) == 0) {
      ACME_CHECK(store.set_managed(rec.name, false));
      log->info("cert={} removed from the config: no longer renewed (unmanaged)", rec.name);
      rec.managed = false;
    }
    if (each) each(rec);
  }
  return out;
}

}  // namespace agent
