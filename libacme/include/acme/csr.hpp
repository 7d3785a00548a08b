#pragma once
// A CSR the user brings (`acmectl issue --csr FILE`): read, its signature checked, its names
// and public key extracted, so the order names exactly what the CSR asks for and the
// downloaded certificate can be checked against the CSR's key (which acmectl never sees).

#include <string>
#include <string_view>
#include <vector>

#include "acme/result.hpp"

namespace acme {

struct CsrInfo {
  std::string der;  // the PKCS#10 request as sent to finalize (RFC 8555 §7.4)
  // The subject CN (when it is a name) first, then every SAN (dNSName, iPAddress), lower-cased
  // and without duplicates: what the order must name.
  std::vector<std::string> names;
  std::string public_key_der;   // SubjectPublicKeyInfo DER
  std::string key_description;  // "EC P-256", "RSA 2048", "ED25519", ...
};

// PEM ("BEGIN CERTIFICATE REQUEST", or "BEGIN NEW CERTIFICATE REQUEST") or DER. Errors are
// kInvalidInput naming what is wrong: not a CSR, a signature that does not verify, no name.
Result<CsrInfo> parse_csr(std::string_view pem_or_der);

// True when the certificate (first in the PEM) carries the CSR's public key.
bool csr_matches_certificate(const CsrInfo& csr, std::string_view cert_pem);

// The SubjectPublicKeyInfo DER of the first certificate in a PEM string.
Result<std::string> certificate_public_key_der(std::string_view cert_pem);

}  // namespace acme
