#pragma once
// CSRs and certificate inspection.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "acme/key.hpp"
#include "acme/result.hpp"

namespace acme {

using SysTime = std::chrono::system_clock::time_point;

// DER-encoded PKCS#10 request with every identifier as a SAN (DNS or IP, RFC 8738) and
// the first DNS name as CN when it fits (64 chars). Signed with SHA-256.
Result<std::string> make_csr_der(const PrivateKey& key, const std::vector<Identifier>& ids);

struct CertificateInfo {
  std::string subject;
  std::string issuer;
  std::string serial_hex;  // lower-case hex, no separators
  SysTime not_before;
  SysTime not_after;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  std::string authority_key_id_hex;  // empty when the extension is absent
  // RFC 9773 §4.1 ARI CertID: base64url(AKI keyIdentifier) "." base64url(serial DER content).
  std::string ari_cert_id;
};

// Inspects the first certificate in a PEM string.
Result<CertificateInfo> inspect_certificate(std::string_view pem);

// Splits a PEM bundle into individual "BEGIN CERTIFICATE" blocks (each ending in '\n').
std::vector<std::string> split_pem_certificates(std::string_view pem);

// DER of the first certificate in a PEM string (for revocation).
Result<std::string> certificate_der(std::string_view pem);

// What a chain costs a TLS handshake: how many certificates it holds (the leaf included)
// and their DER sizes summed (the bytes a server sends in its Certificate message).
struct ChainFacts {
  int depth = 0;
  std::size_t bytes = 0;
};
ChainFacts chain_facts(std::string_view chain_pem);

// True when the private key matches the certificate's public key.
bool key_matches_certificate(const PrivateKey& key, std::string_view cert_pem);

}  // namespace acme
