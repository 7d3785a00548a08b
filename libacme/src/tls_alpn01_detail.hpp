#pragma once
// Private to libacme (and its tests): the tls-alpn-01 certificate with a given key.

#include <string>

#include "acme/result.hpp"
#include "ossl.hpp"

namespace acme::detail {

// Self-signed, SAN = the identifier only, critical acmeIdentifier = SHA-256(key_authorization).
Result<X509Ptr> make_validation_certificate(EVP_PKEY* key, const Identifier& id,
                                            const std::string& key_authorization);

}  // namespace acme::detail
