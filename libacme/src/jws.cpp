#include "acme/jws.hpp"

#include <utility>

#include "acme/base64url.hpp"

namespace acme {

Result<std::string> sign_jws_input(const PrivateKey& key, std::string_view protected_b64,
                                   std::string_view payload_b64) {
  // RFC 7515 §5.1: the JWS Signing Input is ASCII(BASE64URL(header) || '.' ||
  // BASE64URL(payload)).
  std::string input;
  input.reserve(protected_b64.size() + 1 + payload_b64.size());
  input += protected_b64;
  input += '.';
  input += payload_b64;
  ACME_ASSIGN(std::string signature, key.sign(input));
  return base64url_encode(signature);
}

Result<nlohmann::json> sign_jws(const PrivateKey& key, const JwsProtected& header,
                                std::string_view payload) {
  // RFC 8555 §6.4: every request carries the URL it is sent to.
  if (header.url.empty()) return make_error(Errc::kInvalidInput, "JWS: empty \"url\" header");

  // RFC 8555 §6.2: "alg", exactly one of "jwk" and "kid", "nonce", "url". nlohmann::json
  // sorts keys, which happens to be the order listed: alg, jwk|kid, nonce, url.
  nlohmann::json prot = nlohmann::json::object();
  prot["alg"] = key.jws_alg();
  if (header.kid.empty()) {
    prot["jwk"] = key.public_jwk();
  } else {
    prot["kid"] = header.kid;
  }
  if (header.nonce) prot["nonce"] = *header.nonce;
  prot["url"] = header.url;

  std::string protected_b64;
  try {
    protected_b64 = base64url_encode(prot.dump());
  } catch (const nlohmann::json::exception& e) {
    // dump() throws on invalid UTF-8, e.g. in a URL or nonce from a broken server.
    return make_error(Errc::kInvalidInput, std::string("JWS protected header: ") + e.what());
  }
  // RFC 8555 §6.3: POST-as-GET sends the empty string as "payload" (base64url of zero
  // bytes is itself empty, so no special case is needed).
  std::string payload_b64 = base64url_encode(payload);
  ACME_ASSIGN(std::string signature, sign_jws_input(key, protected_b64, payload_b64));

  // Flattened JWS JSON serialization (RFC 7515 §7.2.2).
  return nlohmann::json{{"protected", std::move(protected_b64)},
                        {"payload", std::move(payload_b64)},
                        {"signature", std::move(signature)}};
}

}  // namespace acme
