#pragma once
// Private keys for accounts and certificates (OpenSSL 3 EVP underneath, never exposed).

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "acme/result.hpp"

namespace acme {

enum class KeyType { kEc256, kEc384, kRsa2048, kRsa3072, kRsa4096 };

// "ec256", "ec384", "rsa2048", "rsa3072", "rsa4096".
Result<KeyType> parse_key_type(std::string_view name);
std::string_view to_string(KeyType type) noexcept;

class PrivateKey {
 public:
  // Generates a fresh key. RSA uses e = 65537.
  static Result<PrivateKey> generate(KeyType type);
  // PKCS#8 or traditional PEM ("BEGIN PRIVATE KEY", "BEGIN EC PRIVATE KEY", "BEGIN RSA ...").
  // Only the five supported key types are accepted.
  static Result<PrivateKey> from_pem(std::string_view pem);
  // A private JWK (RFC 7517/7518: RSA n,e,d,p,q,dp,dq,qi; EC crv,x,y,d), as certbot stores
  // account keys.
  static Result<PrivateKey> from_jwk(const nlohmann::json& jwk);

  PrivateKey(PrivateKey&&) noexcept;
  PrivateKey& operator=(PrivateKey&&) noexcept;
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;
  ~PrivateKey();

  KeyType type() const noexcept { return type_; }
  // PKCS#8 PEM. The caller writes it with mode 0600.
  Result<std::string> to_pem() const;

  // JWS "alg" (RFC 7518 §3.1): ES256, ES384 or RS256.
  const char* jws_alg() const noexcept;
  // Public JWK with exactly the members RFC 7638 §3.2 requires, so its dump() is canonical.
  nlohmann::json public_jwk() const;
  // RFC 7638 thumbprint: base64url(SHA-256(canonical public JWK)).
  std::string thumbprint() const;

  // Signs data for a JWS: RS256 PKCS#1 v1.5; ES256/ES384 as raw r||s (RFC 7518 §3.4),
  // not DER. Returns the raw signature bytes.
  Result<std::string> sign(std::string_view data) const;

  // Opaque pointer to the EVP_PKEY, for libacme's own sources only.
  void* native_handle() const noexcept;

 private:
  struct Impl;
  PrivateKey(std::unique_ptr<Impl> impl, KeyType type) noexcept;
  std::unique_ptr<Impl> impl_;
  KeyType type_;
};

// RFC 7638 thumbprint of any public JWK (RSA: e,kty,n; EC: crv,kty,x,y).
Result<std::string> jwk_thumbprint(const nlohmann::json& jwk);

// RFC 8555 §8.1: token || '.' || base64url(thumbprint(accountKey)).
std::string key_authorization(std::string_view token, const PrivateKey& account_key);
// RFC 8555 §8.4: base64url(SHA-256(key authorization)) for the TXT record.
std::string dns01_txt_value(std::string_view key_authorization);

// SHA-256 digest (raw bytes). Small helper shared by JWK and DNS-01 code.
std::string sha256(std::string_view data);

}  // namespace acme
