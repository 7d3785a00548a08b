#pragma once
// The fleet's key-encryption key (KEK): 32 bytes read from [store] kek_file on every host.
// Private keys go into the shared database only sealed with it (AES-256-GCM, OpenSSL EVP),
// so the database alone never yields a private key.
//
// The file holds the key as 64 hex digits (`openssl rand -hex 32`), optionally followed by
// a newline; it must be a regular file readable by its owner only (0600 or 0400).

#include <string>
#include <string_view>

#include "acme/result.hpp"

namespace agent {

class Kek {
 public:
  static acme::Result<Kek> load(const std::string& path);
  // From 32 raw bytes (tests).
  static acme::Result<Kek> from_bytes(std::string_view bytes);

  // A short public fingerprint of the key (16 hex digits of SHA-256 over a label and the
  // key): stored beside every sealed value so a host with another KEK says so plainly.
  const std::string& id() const { return id_; }

  // "v1." + base64url(nonce[12] || ciphertext || tag[16]); `aad` binds the blob to where it
  // belongs (certificate name and version), so a sealed key cannot be moved to another row.
  acme::Result<std::string> seal(std::string_view plaintext, std::string_view aad) const;
  acme::Result<std::string> open(std::string_view sealed, std::string_view aad) const;

 private:
  std::string key_;
  std::string id_;
};

}  // namespace agent
