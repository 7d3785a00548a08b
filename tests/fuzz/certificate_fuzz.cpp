// PEM splitting and certificate inspection: what libacme does with the chain a CA returns
// (RFC 8555 §7.4.2) and with the files it finds on disk at renewal time.
//
// Input: a PEM bundle, or, when it has no "-----BEGIN", raw DER that is wrapped into one
// certificate block first, so the fuzzer can mutate the ASN.1 itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "acme/base64url.hpp"
#include "acme/certificate.hpp"
#include "acme/key.hpp"
#include "fuzz_check.hpp"

namespace {

const acme::PrivateKey& some_key() {
  static const acme::PrivateKey key = *acme::PrivateKey::generate(acme::KeyType::kEc256);
  return key;
}

std::string der_to_pem(std::string_view der) {
  const std::string body = acme::base64_encode(der);
  std::string pem = "-----BEGIN CERTIFICATE-----\n";
  for (std::size_t i = 0; i < body.size(); i += 64) pem.append(body, i, 64).append("\n");
  pem += "-----END CERTIFICATE-----\n";
  return pem;
}

void inspect(std::string_view pem) {
  if (auto info = acme::inspect_certificate(pem)) {
    // The ARI CertID exists exactly when the AKI does (RFC 9773 §4.1).
    FUZZ_CHECK(info->ari_cert_id.empty() == info->authority_key_id_hex.empty());
    FUZZ_CHECK(!info->serial_hex.empty());
  }
  if (auto der = acme::certificate_der(pem)) FUZZ_CHECK(!der->empty());
  (void)acme::key_matches_certificate(some_key(), pem);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.find("-----BEGIN") == std::string_view::npos) {
    inspect(der_to_pem(in));
    return 0;
  }
  const auto blocks = acme::split_pem_certificates(in);
  for (const auto& block : blocks) {
    FUZZ_CHECK(block.rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
    FUZZ_CHECK(block.size() >= 2 && block.back() == '\n');
    inspect(block);
  }
  // The whole bundle too: inspection reads the first certificate, whatever follows.
  inspect(in);
  // A key file is read from the same kind of text (PrivateKey::from_pem). Only when a key
  // label is there: OpenSSL 3 tries every decoder on anything else (2.5 ms a call, 40x the
  // rest of this function).
  if (in.find("PRIVATE KEY") != std::string_view::npos) (void)acme::PrivateKey::from_pem(in);
  return 0;
}
