#pragma once
// JWS in flattened JSON serialization as RFC 8555 §6.2 requires.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

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

}  // namespace acme
