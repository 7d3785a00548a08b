#pragma once
// The issuance flow (RFC 8555 §7.1 overview): new order -> authorizations -> present every
// challenge -> wait -> respond -> poll -> finalize -> download. Cleanup always runs; on
// failure, authorizations still pending are deactivated so they do not linger.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "acme/certificate.hpp"
#include "acme/challenge.hpp"
#include "acme/client.hpp"
#include "acme/key.hpp"
#include "acme/result.hpp"

namespace acme {

inline constexpr std::string_view kShortestChain = "shortest";

struct IssueRequest {
  std::vector<Identifier> identifiers;
  KeyType key_type = KeyType::kEc256;
  // Reuse this certificate key instead of generating one (PEM). Empty: generate.
  std::string key_pem;
  std::string replaces;  // RFC 9773 ARI cert ID of the certificate being replaced
  std::string profile;   // draft-ietf-acme-profiles; "": the CA's default
  // Issuer CN substring of the chain's top; "shortest": the offered chain (RFC 8555 §7.4.2
  // Link rel="alternate") with the fewest DER bytes; empty: the default chain.
  std::string preferred_chain;
  // The user's own CSR (DER, see acme/csr.hpp): finalize with it as it is; no key is made
  // or returned (key_pem and key_type are ignored), and the certificate is checked to carry
  // csr_public_key_der.
  std::string csr_der;
  std::string csr_public_key_der;
  PollOptions poll;
  // Resume an existing order instead of creating one (agent restart). Empty: new order.
  std::string order_url;
  // Called as soon as the order exists, so callers can persist its URL.
  std::function<void(const std::string& order_url)> on_order_created;
};

struct IssuedCertificate {
  std::string cert_pem;       // the leaf
  std::string chain_pem;      // the issuers
  std::string fullchain_pem;  // leaf + issuers
  std::string key_pem;        // the certificate's private key (PKCS#8); empty with a CSR
  CertificateInfo info;
  std::string order_url;
  std::string certificate_url;
  std::vector<std::string> alternate_urls;
};

// Progress: one call per finished step ("order", "authorizations", "validation",
// "finalize", "download") with its duration.
using ProgressFn = std::function<void(std::string_view step, std::chrono::milliseconds took,
                                      std::string_view detail)>;

class Issuer {
 public:
  // The client must already have an account set (Client::set_account).
  Issuer(Client& client, Solver& solver, Clock& clock, ProgressFn progress = {});
  Result<IssuedCertificate> issue(const IssueRequest& request);

 private:
  Result<IssuedCertificate> run(const IssueRequest& request, Order& order,
                                std::vector<ChallengeContext>& presented,
                                std::vector<std::string>& pending_authzs);
  void step(std::string_view name, std::chrono::steady_clock::time_point since,
            std::string_view detail = {});

  Client& client_;
  Solver& solver_;
  Clock& clock_;
  ProgressFn progress_;
};

// Validates and normalises names from the user: lower-cases, drops duplicates (keeping
// order), recognises IP addresses (RFC 8738). Rejects empty labels, labels over 63 and
// names over 253 octets, characters outside LDH (plus a leading "*." wildcard), "..",
// "/", spaces. allow_wildcard is false for http-01 (RFC 8555 §7.1.3 wildcards need dns-01).
Result<std::vector<Identifier>> normalize_identifiers(const std::vector<std::string>& names,
                                                      bool allow_wildcard);

}  // namespace acme
