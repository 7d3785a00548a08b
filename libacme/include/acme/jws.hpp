#pragma once
// JWS in flattened JSON serialization as RFC 8555 §6.2 requires.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "acme/key.hpp"
#include "acme/result.hpp"

namespace acme {

struct JwsProtected {
  std::string url;
  std::optional<std::string> nonce;  // absent only for keyChange's inner JWS
  // Account URL: "kid" header. Empty: the public key goes in a "jwk" header
  // (newAccount, revocation by certificate key, RFC 8555 §6.2).
  std::string kid;
};

// Signs payload and returns {"protected","payload","signature"}. An empty payload string
// means POST-as-GET (RFC 8555 §6.3) and is sent as "".
Result<nlohmann::json> sign_jws(const PrivateKey& key, const JwsProtected& header,
                                std::string_view payload);

// Low level: base64url(signature over "protected_b64.payload_b64"). Used to reproduce
// RFC 7515 test vectors byte for byte.
Result<std::string> sign_jws_input(const PrivateKey& key, std::string_view protected_b64,
                                   std::string_view payload_b64);

// External Account Binding (RFC 8555 §7.3.4): the CA's key identifier and MAC key.
struct ExternalAccountBinding {
  std::string kid;
  std::string hmac_key;       // raw bytes (the base64url the CA hands out, decoded)
  std::string alg = "HS256";  // HS256, HS384 or HS512
};

// HMAC of data with the SHA-2 hash named by a JWS alg (HS256, HS384, HS512); raw bytes.
Result<std::string> jws_hmac(std::string_view alg, std::string_view key, std::string_view data);

// The inner JWS of newAccount's "externalAccountBinding": protected {alg, kid, url},
// payload the account's public JWK, MACed with the EAB key. No nonce (§7.3.4).
Result<nlohmann::json> sign_eab(const ExternalAccountBinding& eab, const std::string& url,
                                const nlohmann::json& account_jwk);

}  // namespace acme
