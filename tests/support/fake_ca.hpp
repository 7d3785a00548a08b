#pragma once
// The fake ACME server's certificate authority: CSR checks and real X.509 issuance with
// OpenSSL, so libacme's certificate inspection runs on genuine certificates.
//
// Hierarchy: one intermediate key ("Fake Intermediate") certified twice, by "Fake Root A"
// (the default chain) and by "Fake Root B" (the alternate chain, RFC 8555 §7.4.2), so the
// two chains differ only in the issuer of their topmost certificate, as with a
// cross-signed CA.

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acme/result.hpp"
#include "fake_jws.hpp"

namespace acme::test {

struct CsrInfo {
  std::vector<Identifier> sans;  // DNS and IP subjectAltNames, in CSR order
  PkeyPtr public_key;
};

// Parses a DER PKCS#10 request, checks its self-signature. nullopt with *error otherwise.
std::optional<CsrInfo> parse_csr(const std::string& der, std::string* error);

// True when both identifier lists hold the same set (IP addresses compared as addresses,
// DNS names case-insensitively).
bool same_identifier_set(const std::vector<Identifier>& a, const std::vector<Identifier>& b);

class FakeCa {
 public:
  static constexpr const char* kRootA = "Fake Root A";
  static constexpr const char* kRootB = "Fake Root B";
  static constexpr const char* kIntermediate = "Fake Intermediate";

  // CA certificates are valid from now - 1h (the server's clock, so fake time works).
  explicit FakeCa(std::time_t now);
  ~FakeCa();
  FakeCa(const FakeCa&) = delete;
  FakeCa& operator=(const FakeCa&) = delete;

  // A leaf for this key and these identifiers, valid from now - 1h for 90 days.
  // Returns the PEM, or "" (with *error) on an OpenSSL failure.
  std::string issue_leaf(EVP_PKEY* key, const std::vector<Identifier>& ids, std::time_t now,
                         std::string* der_out, std::string* error);

  // The intermediate certificate (PEM) of chain 0 (Root A) or 1 (Root B).
  const std::string& intermediate_pem(int chain) const { return intermediate_pem_[chain]; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string intermediate_pem_[2];
};

}  // namespace acme::test
