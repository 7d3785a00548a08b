#pragma once
// PKCS#12 (RFC 7292) bundles of a certificate key and its chain, for Java key stores,
// Windows and appliances that take one .p12/.pfx file.

#include <string>
#include <string_view>

#include "acme/result.hpp"

namespace acme {

// DER of a PKCS#12 holding the private key (PEM) and every certificate of the chain (PEM,
// leaf first; the leaf is the key's certificate, the rest go in as CA certificates),
// encrypted with `password` ("" is allowed: many tools expect an empty password rather
// than none). OpenSSL 3's defaults: AES-256-CBC with PBKDF2, HMAC-SHA256 MAC.
// kInvalidInput when the key does not match the leaf or a PEM cannot be read.
Result<std::string> make_pkcs12(std::string_view key_pem, std::string_view chain_pem,
                                const std::string& password, const std::string& friendly_name);

}  // namespace acme
