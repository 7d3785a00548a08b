#pragma once
// The fake ACME server's own JOSE code: base64url, JWK -> EVP_PKEY, RFC 7638 thumbprints
// and JWS signature verification. Deliberately independent of libacme's crypto, so a bug
// there cannot hide itself by being mirrored in the verifier. Internal to tests/support.

#include <openssl/evp.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace acme::test {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// RFC 7515 §2 base64url without padding.
std::string b64url_encode(std::string_view bytes);
// Strict: alphabet only, no padding, canonical trailing bits. nullopt otherwise.
std::optional<std::string> b64url_decode(std::string_view text);

// n random bytes, base64url-encoded (nonces, tokens, ids).
std::string random_b64url(std::size_t n);

// SHA-256 of data (raw bytes).
std::string sha256_bytes(std::string_view data);

// A public key from a public JWK (EC P-256/P-384, RSA >= 2048 bits). A JWK carrying a
// private member ("d", "p", ...) is refused: the client leaked its key.
PkeyPtr pkey_from_jwk(const nlohmann::json& jwk, std::string* error);

// The JWS alg a key of this JWK must use (RFC 7518 §3.1): ES256, ES384, RS256; "" if none.
std::string alg_for_jwk(const nlohmann::json& jwk);

// RFC 7638 §3: base64url(SHA-256(canonical JSON of the required members)).
std::string jwk_thumbprint_b64(const nlohmann::json& jwk);

// Verifies a JWS signature over input. ES256/ES384 signatures are raw r||s (RFC 7518
// §3.4) and are converted to DER for EVP_DigestVerify; RS256 is PKCS#1 v1.5.
bool verify_jws_signature(EVP_PKEY* key, std::string_view alg, std::string_view input,
                          std::string_view signature, std::string* error);

// A flattened JWS (RFC 7515 §7.2.2) split and decoded.
struct FlattenedJws {
  nlohmann::json header;  // decoded protected header
  std::string payload;    // decoded payload ("" for POST-as-GET)
  std::string signing_input;
  std::string signature;  // raw bytes
};

// Parses a request body: a JSON object with exactly "protected", "payload", "signature"
// (RFC 8555 §6.2: no unprotected header, flattened serialization only).
std::optional<FlattenedJws> parse_flattened_jws(const std::string& body, std::string* error);

}  // namespace acme::test
