#include "acme/jws.hpp"

#include <openssl/evp.h>

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

Result<std::string> jws_hmac(std::string_view alg, std::string_view key, std::string_view data) {
  const char* digest = alg == "HS256"   ? "SHA256"
                       : alg == "HS384" ? "SHA384"
                       : alg == "HS512" ? "SHA512"
                                        : nullptr;
  if (digest == nullptr) {
    return make_error(Errc::kInvalidInput,
                      "MAC algorithm \"" + std::string(alg) + "\": use HS256, HS384 or HS512");
  }
  if (key.empty()) return make_error(Errc::kInvalidInput, "empty MAC key");
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t out_len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, key.data(), key.size(),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out,
                &out_len) == nullptr) {
    return make_error(Errc::kCrypto, std::string("HMAC-") + digest + " failed");
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

Result<nlohmann::json> sign_eab(const ExternalAccountBinding& eab, const std::string& url,
                                const nlohmann::json& account_jwk) {
  if (eab.kid.empty())
    return make_error(Errc::kInvalidInput, "External Account Binding: empty kid");
  if (url.empty()) return make_error(Errc::kInvalidInput, "External Account Binding: empty url");
  // RFC 8555 §7.3.4: "alg" a MAC algorithm, "kid" the CA's key identifier, "url" the
  // newAccount URL; no "nonce". Sorted keys: alg, kid, url.
  const nlohmann::json prot{{"alg", eab.alg}, {"kid", eab.kid}, {"url", url}};
  std::string protected_b64;
  std::string payload_b64;
  try {
    protected_b64 = base64url_encode(prot.dump());
    payload_b64 = base64url_encode(account_jwk.dump());
  } catch (const nlohmann::json::exception& e) {
    return make_error(Errc::kInvalidInput, std::string("External Account Binding: ") + e.what());
  }
  auto mac = jws_hmac(eab.alg, eab.hmac_key, protected_b64 + "." + payload_b64);
  if (!mac) return std::move(mac).error().context("External Account Binding");
  return nlohmann::json{{"protected", std::move(protected_b64)},
                        {"payload", std::move(payload_b64)},
                        {"signature", base64url_encode(*mac)}};
}

}  // namespace acme
