// The tls-alpn-01 validation certificate (RFC 8737 §3) and the SNI of an identifier.
#include <arpa/inet.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>

#include "acme/key.hpp"
#include "acme/tls_alpn01.hpp"
#include "ossl.hpp"
#include "tls_alpn01_detail.hpp"

namespace acme {

using detail::ossl_error;

namespace {

using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, detail::OsslDeleter<&ASN1_OBJECT_free>>;
using Asn1Ia5StringPtr = std::unique_ptr<ASN1_IA5STRING, detail::OsslDeleter<&ASN1_IA5STRING_free>>;

// RFC 8737 §6.1: id-pe-acmeIdentifier.
constexpr const char* kAcmeIdentifierOid = "1.3.6.1.5.5.7.1.31";

// A DNS name fit for a dNSName SAN and an SNI: LDH labels and dots, no wildcard (RFC 8737
// §3: tls-alpn-01 is not offered for wildcard names).
bool plain_dns_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '-' || c == '.';
  });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Result<detail::GeneralNamePtr> general_name(const Identifier& id) {
  detail::GeneralNamePtr gen(GENERAL_NAME_new());
  if (!gen) return ossl_error("GENERAL_NAME_new");
  if (id.type == "dns") {
    if (!plain_dns_name(id.value)) {
      return make_error(Errc::kProtocol,
                        "tls-alpn-01: unusable DNS identifier \"" + id.value + "\"");
    }
    Asn1Ia5StringPtr name(ASN1_IA5STRING_new());
    if (!name ||
        ASN1_STRING_set(name.get(), id.value.data(), static_cast<int>(id.value.size())) != 1) {
      return ossl_error("ASN1_STRING_set(dNSName)");
    }
    GENERAL_NAME_set0_value(gen.get(), GEN_DNS, name.release());
    return gen;
  }
  unsigned char buf[16];
  int len = 0;
  if (id.type == "ip" && inet_pton(AF_INET, id.value.c_str(), buf) == 1) len = 4;
  if (id.type == "ip" && len == 0 && inet_pton(AF_INET6, id.value.c_str(), buf) == 1) len = 16;
  if (len == 0) {
    return make_error(Errc::kProtocol,
                      "tls-alpn-01: unusable identifier " + id.type + " \"" + id.value + "\"");
  }
  detail::Asn1OctetStringPtr address(ASN1_OCTET_STRING_new());
  if (!address || ASN1_OCTET_STRING_set(address.get(), buf, len) != 1) {
    return ossl_error("ASN1_OCTET_STRING_set(iPAddress)");
  }
  GENERAL_NAME_set0_value(gen.get(), GEN_IPADD, address.release());
  return gen;
}

}  // namespace

std::string tls_alpn01_server_name(const Identifier& id) {
  if (id.type == "dns") {
    std::string name = lower(id.value);
    if (name.size() > 1 && name.back() == '.') name.pop_back();
    return plain_dns_name(name) ? name : std::string();
  }
  if (id.type != "ip") return {};
  unsigned char buf[16];
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  if (inet_pton(AF_INET, id.value.c_str(), buf) == 1) {
    // RFC 1035 §3.5: the octets in reverse order under in-addr.arpa.
    for (int i = 3; i >= 0; --i) out += std::to_string(buf[i]) + ".";
    return out + "in-addr.arpa";
  }
  if (inet_pton(AF_INET6, id.value.c_str(), buf) == 1) {
    // RFC 3596 §2.5: every nibble, least significant first, under ip6.arpa.
    for (int i = 15; i >= 0; --i) {
      out += kHex[buf[i] & 0x0f];
      out += '.';
      out += kHex[buf[i] >> 4];
      out += '.';
    }
    return out + "ip6.arpa";
  }
  return {};
}

namespace detail {

Result<X509Ptr> make_validation_certificate(EVP_PKEY* key, const Identifier& id,
                                            const std::string& key_authorization) {
  X509Ptr cert(X509_new());
  if (!cert) return ossl_error("X509_new");
  if (X509_set_version(cert.get(), 2) != 1) return ossl_error("X509_set_version");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return ossl_error("RAND_bytes");
  serial[0] &= 0x7f;  // a positive INTEGER (RFC 5280 §4.1.2.2)
  BnPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return ossl_error("BN_to_ASN1_INTEGER(serial)");
  }
  // A day either side of now: the validator's clock may differ from ours.
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -86400) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7 * 86400) == nullptr) {
    return ossl_error("X509_gmtime_adj");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  const auto* cn = reinterpret_cast<const unsigned char*>("acmectl tls-alpn-01");
  if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8, cn, -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    return ossl_error("X509_NAME_add_entry_by_NID(CN)");
  }
  if (X509_set_pubkey(cert.get(), key) != 1) return ossl_error("X509_set_pubkey");

  // RFC 8737 §3: the subjectAltName holds the identifier being validated and nothing else.
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) return ossl_error("GENERAL_NAMES_new");
  ACME_ASSIGN(GeneralNamePtr gen, general_name(id));
  if (sk_GENERAL_NAME_push(names.get(), gen.get()) <= 0) return ossl_error("sk_GENERAL_NAME_push");
  gen.release();
  if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) !=
      1) {
    return ossl_error("X509_add1_ext_i2d(subjectAltName)");
  }

  // RFC 8737 §3: the critical acmeIdentifier extension; its extnValue is the DER of
  // Authorization ::= OCTET STRING (SIZE (32)), SHA-256 of the key authorization.
  const std::string digest = sha256(key_authorization);
  std::string inner = std::string("\x04\x20", 2) + digest;
  Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
  if (!value ||
      ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(inner.data()),
                            static_cast<int>(inner.size())) != 1) {
    return ossl_error("ASN1_OCTET_STRING_set(acmeIdentifier)");
  }
  Asn1ObjectPtr oid(OBJ_txt2obj(kAcmeIdentifierOid, 1));
  if (!oid) return ossl_error("OBJ_txt2obj(id-pe-acmeIdentifier)");
  X509ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 1, value.get()));
  if (!ext) return ossl_error("X509_EXTENSION_create_by_OBJ(acmeIdentifier)");
  if (X509_add_ext(cert.get(), ext.get(), -1) != 1) return ossl_error("X509_add_ext");
  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) return ossl_error("X509_sign");
  return cert;
}

}  // namespace detail

Result<TlsAlpn01Certificate> make_tls_alpn01_certificate(const Identifier& id,
                                                         const std::string& key_authorization) {
  ACME_ASSIGN(PrivateKey key, PrivateKey::generate(KeyType::kEc256));
  ACME_ASSIGN(detail::X509Ptr cert,
              detail::make_validation_certificate(static_cast<EVP_PKEY*>(key.native_handle()), id,
                                                  key_authorization));
  detail::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) {
    return ossl_error("PEM_write_bio_X509");
  }
  TlsAlpn01Certificate out;
  out.cert_pem = detail::bio_to_string(bio.get());
  ACME_ASSIGN(out.key_pem, key.to_pem());
  return out;
}

}  // namespace acme
