// make_csr_der assembles EC CSRs as DER itself (libacme/src/certificate.cpp, no
// X509_REQ_set_pubkey): the result must be what OpenSSL's X509_REQ API builds.
#include <doctest/doctest.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#include "acme/certificate.hpp"
#include "acme/key.hpp"
#include "ossl.hpp"

namespace {

// The CertificationRequestInfo OpenSSL's own API makes for the same key and names.
std::string reference_tbs(const acme::PrivateKey& key, const std::vector<std::string>& dns,
                          bool with_cn) {
  auto* pkey = static_cast<EVP_PKEY*>(key.native_handle());
  acme::detail::X509ReqPtr req(X509_REQ_new());
  REQUIRE(X509_REQ_set_version(req.get(), 0) == 1);
  if (with_cn) {
    REQUIRE(X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req.get()), NID_commonName,
                                       MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(dns[0].data()),
                                       static_cast<int>(dns[0].size()), -1, 0) == 1);
  }
  GENERAL_NAMES* names = GENERAL_NAMES_new();
  for (const auto& d : dns) {
    GENERAL_NAME* g = GENERAL_NAME_new();
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, d.data(), static_cast<int>(d.size()));
    GENERAL_NAME_set0_value(g, GEN_DNS, s);
    sk_GENERAL_NAME_push(names, g);
  }
  X509_EXTENSION* ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, names);
  GENERAL_NAMES_free(names);
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  sk_X509_EXTENSION_push(exts, ext);
  REQUIRE(X509_REQ_add_extensions(req.get(), exts) == 1);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  REQUIRE(X509_REQ_set_pubkey(req.get(), pkey) == 1);
  REQUIRE(X509_REQ_sign(req.get(), pkey, EVP_sha256()) > 0);
  unsigned char* out = nullptr;
  const int len = i2d_re_X509_REQ_tbs(req.get(), &out);
  REQUIRE(len > 0);
  std::string tbs(reinterpret_cast<char*>(out), static_cast<std::size_t>(len));
  OPENSSL_free(out);
  return tbs;
}

// The first element of the outer SEQUENCE of a DER CSR: its CertificationRequestInfo,
// byte for byte as make_csr_der wrote it.
std::string tbs_of(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  long len = 0;
  int tag = 0, cls = 0;
  REQUIRE((ASN1_get_object(&p, &len, &tag, &cls, static_cast<long>(der.size())) & 0x80) == 0);
  const unsigned char* inner = p;
  REQUIRE((ASN1_get_object(&p, &len, &tag, &cls, static_cast<long>(der.size())) & 0x80) == 0);
  return std::string(reinterpret_cast<const char*>(inner),
                     static_cast<std::size_t>(p - inner + len));
}

}  // namespace

TEST_CASE("EC CSR: the same CertificationRequestInfo bytes as X509_REQ, a valid signature") {
  for (auto type : {acme::KeyType::kEc256, acme::KeyType::kEc384}) {
    CAPTURE(acme::to_string(type));
    auto key = acme::PrivateKey::generate(type);
    REQUIRE(key);
    const std::vector<std::string> dns{"example.com", "www.example.com"};
    auto der = acme::make_csr_der(*key, {{"dns", dns[0]}, {"dns", dns[1]}});
    REQUIRE(der);
    CHECK(tbs_of(*der) == reference_tbs(*key, dns, true));
    const auto* p = reinterpret_cast<const unsigned char*>(der->data());
    acme::detail::X509ReqPtr parsed(d2i_X509_REQ(nullptr, &p, static_cast<long>(der->size())));
    REQUIRE(parsed);
    CHECK(p == reinterpret_cast<const unsigned char*>(der->data()) + der->size());
    CHECK(X509_REQ_verify(parsed.get(), static_cast<EVP_PKEY*>(key->native_handle())) == 1);
    CHECK(X509_REQ_get_signature_nid(parsed.get()) == NID_ecdsa_with_SHA256);
  }
}

TEST_CASE("EC CSR: a first name longer than 64 characters leaves the subject empty") {
  auto key = acme::PrivateKey::generate(acme::KeyType::kEc256);
  REQUIRE(key);
  const std::string longname = std::string(70, 'a') + ".example.com";
  auto der = acme::make_csr_der(*key, {{"dns", longname}});
  REQUIRE(der);
  CHECK(tbs_of(*der) == reference_tbs(*key, {longname}, false));
}
