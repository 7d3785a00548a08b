#pragma once
// `acmectl import certbot|lego|acme.sh`: take over another client's certificates with the
// SAME ACME account, so the next renewal is acmectl's and no new account or order is made.
//
// Contract:
//  - read_* MUST NOT change anything on disk; they check everything an import needs (the
//    account for the target server, every certificate with its key, the names) and return
//    a plan, or one error naming the file that is wrong.
//  - apply_import writes only after read_* succeeded: the account key into the state dir,
//    the certificates into the store (and, with copy, their files into OUT). The other
//    client's files are never modified.
//  - No CA is contacted.

#include <memory>
#include <string>
#include <vector>

#include "acme/key.hpp"
#include "acme/result.hpp"
#include "challenge/settings.hpp"
#include "store/store.hpp"

namespace agent {

struct ImportedAccount {
  std::string account_url;
  std::string contact;  // "mailto:..." or ""
  std::string source;   // the file the key came from
  std::shared_ptr<acme::PrivateKey> key;
};

struct ImportedCertificate {
  std::string name;
  std::vector<std::string> domains;  // from the certificate's SANs
  std::string key_type;              // ec256, rsa2048, ...
  ChallengeSettings challenge;
  std::string deploy_hook;
  // The other client's files: the certificate, the chain and the key (PEM text).
  std::string cert_pem, chain_pem, key_pem;
  // Where the other client keeps the live files, when acmectl can renew in place there
  // (certbot's live/NAME): out_dir without --copy. Empty: the files are always copied.
  std::string live_dir;
  std::string source;              // renewal conf, lego json, acme.sh conf
  std::vector<std::string> notes;  // settings that could not be mapped
};

struct ImportPlan {
  std::string client;         // certbot, lego, acme.sh
  std::string directory_url;  // the server the user targets (--server)
  ImportedAccount account;
  std::vector<ImportedCertificate> certificates;
  std::vector<std::string> skipped;  // whole certificates not imported, and why
};

// Challenge settings the user gave to `import` (--http01-listen, --webroot): they replace
// whatever was read for every certificate.
struct ImportOverrides {
  std::string http01_listen;
  std::string webroot;
  std::string email;  // picks the lego account when several exist for the server
};

// certbot's config dir (default /etc/letsencrypt): renewal/NAME.conf, accounts/, live/.
acme::Result<ImportPlan> read_certbot(const std::string& dir, const std::string& directory_url,
                                      const ImportOverrides& overrides);
// lego's --path (default ./.lego): accounts/HOST_PORT/EMAIL/, certificates/.
acme::Result<ImportPlan> read_lego(const std::string& dir, const std::string& directory_url,
                                   const ImportOverrides& overrides);
// acme.sh's home (~/.acme.sh): NAME[_ecc]/NAME.conf, ca/HOST/PATH/{account.key,ca.conf}.
acme::Result<ImportPlan> read_acmesh(const std::string& dir, const std::string& directory_url,
                                     const ImportOverrides& overrides);

struct ImportSettings {
  std::string state_dir;
  std::string ca_bundle;  // recorded with each certificate (as issue does)
  bool copy = false;      // install the files into out_root instead of renewing in place
  std::string out_root;   // default STATE/live
};

struct ImportResult {
  std::string account_key_path;
  std::vector<std::string> imported;  // certificate names
  std::vector<std::string> out_dirs;  // where each one's files are (same order)
};

// Refuses (kInvalidInput, nothing written) a certificate name already recorded.
acme::Result<ImportResult> apply_import(Store& store, const ImportPlan& plan,
                                        const ImportSettings& settings);

// ---- shared by the readers ----------------------------------------------------------------

// The certificate (first PEM block), its chain (the rest) and its key, checked: the key
// parses, is a supported type and matches the certificate. `what` names the source in errors.
acme::Result<void> fill_certificate(ImportedCertificate& c, const std::string& fullchain_pem,
                                    const std::string& key_pem, const std::string& what);

}  // namespace agent
