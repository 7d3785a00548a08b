// import: what every reader shares, and writing the plan (account, then certificates).
#include "import/import.hpp"

#include <chrono>

#include "acme/certificate.hpp"
#include "deploy/files.hpp"
#include "pipeline/names.hpp"
#include "session/account.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;

namespace {

int64_t to_unix(acme::SysTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string concat(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s;
  return out;
}

}  // namespace

acme::Result<void> fill_certificate(ImportedCertificate& c, const std::string& fullchain_pem,
                                    const std::string& key_pem, const std::string& what) {
  const auto blocks = acme::split_pem_certificates(fullchain_pem);
  if (blocks.empty()) {
    return make_error(Errc::kInvalidInput, what + ": no certificate in the PEM file");
  }
  auto info = acme::inspect_certificate(blocks.front());
  if (!info) return std::move(info).error().context(what);
  auto key = acme::PrivateKey::from_pem(key_pem);
  if (!key) return std::move(key).error().context(what + ": private key");
  if (!acme::key_matches_certificate(*key, blocks.front())) {
    return make_error(Errc::kInvalidInput,
                      what + ": the private key does not belong to the certificate");
  }
  c.cert_pem = blocks.front();
  c.chain_pem = concat(std::vector<std::string>(blocks.begin() + 1, blocks.end()));
  c.key_pem = key_pem;
  c.key_type = std::string(acme::to_string(key->type()));
  c.domains = info->dns_names;
  c.domains.insert(c.domains.end(), info->ip_addresses.begin(), info->ip_addresses.end());
  if (c.domains.empty()) {
    return make_error(Errc::kInvalidInput, what + ": the certificate names no DNS name");
  }
  if (!valid_cert_name(c.name)) {
    return make_error(Errc::kInvalidInput,
                      what + ": '" + c.name + "' cannot be an acmectl certificate name");
  }
  c.name = normalize_cert_name(c.name);
  return acme::ok();
}

acme::Result<ImportResult> apply_import(Store& store, const ImportPlan& plan,
                                        const ImportSettings& settings) {
  // Everything that can refuse the import is checked before the first write.
  for (const auto& c : plan.certificates) {
    ACME_ASSIGN(auto existing, store.find_certificate(c.name));
    if (existing) {
      return make_error(Errc::kInvalidInput, "a certificate named " + c.name +
                                                 " is already recorded (acmectl delete " + c.name +
                                                 " first)");
    }
  }
  ACME_ASSIGN(auto found, store.find_account(plan.directory_url));
  if (found && !found->account_url.empty() && found->account_url != plan.account.account_url) {
    return make_error(Errc::kInvalidInput, "acmectl already has the account " + found->account_url +
                                               " for " + plan.directory_url + "; the " +
                                               plan.client + " account " +
                                               plan.account.account_url + " would replace it");
  }
  const std::string out_root =
      settings.out_root.empty() ? settings.state_dir + "/live" : settings.out_root;
  // Renewing in place (certbot's live/NAME without --copy) installs into the live dir's
  // parent; the files there are the same certificate and key, now in acmectl's versioned
  // layout, so the version kept for a rollback after the first renewal is a real one.
  auto root_of = [&](const ImportedCertificate& c) {
    return settings.copy || c.live_dir.empty() ? out_root
                                               : c.live_dir.substr(0, c.live_dir.rfind('/'));
  };
  for (const auto& c : plan.certificates) ACME_CHECK(check_certificate_files(root_of(c), c.name));

  ImportResult result;
  ACME_ASSIGN(result.account_key_path,
              import_account(store, settings.state_dir, plan.directory_url, *plan.account.key,
                             plan.account.account_url, plan.account.contact));
  for (const auto& c : plan.certificates) {
    CertificateRecord rec;
    rec.name = c.name;
    rec.domains = c.domains;
    rec.key_type = c.key_type;
    rec.challenge = c.challenge.challenge;
    rec.http01_listen = c.challenge.http01_listen;
    rec.webroot = c.challenge.webroot;
    rec.challenge_settings = to_json(c.challenge);
    rec.server = plan.directory_url;
    rec.ca_bundle = settings.ca_bundle;
    rec.deploy_hook = c.deploy_hook;
    const std::vector<FileSpec> files = {
        {"privkey.pem", c.key_pem, 0600},
        {"cert.pem", c.cert_pem, 0644},
        {"chain.pem", c.chain_pem, 0644},
        {"fullchain.pem", c.cert_pem + c.chain_pem, 0644},
    };
    ACME_CHECK(install_certificate_files(root_of(c), c.name, files));
    rec.out_dir = root_of(c) + "/" + c.name;
    auto info = acme::inspect_certificate(c.cert_pem);
    if (info) {
      rec.not_before = to_unix(info->not_before);
      rec.not_after = to_unix(info->not_after);
      rec.serial = info->serial_hex;
      rec.ari_cert_id = info->ari_cert_id;
    }
    ACME_CHECK(store.upsert_certificate(rec));
    result.imported.push_back(rec.name);
    result.out_dirs.push_back(rec.out_dir);
  }
  return result;
}

}  // namespace agent
