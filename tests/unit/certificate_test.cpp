// CSRs (RFC 2986, RFC 8555 §7.4, RFC 8738) and certificate inspection (RFC 5280,
// RFC 9773 §4.1).
#include "acme/certificate.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <openssl/pem.h>

#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include "acme/base64url.hpp"
#include "acme/key.hpp"
#include "ossl.hpp"

namespace {

using acme::Identifier;
using std::chrono::seconds;

// RFC 9773 Appendix A: the example certificate, whose ARI CertID the RFC gives.
constexpr const char* kRfc9773Cert = R"(-----BEGIN CERTIFICATE-----
MIIBQzCB66ADAgECAgUAh2VDITAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwpFeGFt
cGxlIENBMCIYDzAwMDEwMTAxMDAwMDAwWhgPMDAwMTAxMDEwMDAwMDBaMBYxFDAS
BgNVBAMTC2V4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeBZu
7cbpAYNXZLbbh8rNIzuOoqOOtmxA1v7cRm//AwyMwWxyHz4zfwmBhcSrf47NUAFf
qzLQ2PPQxdTXREYEnKMjMCEwHwYDVR0jBBgwFoAUaYhba4dGQEHhs3uEe6CuLN4B
yNQwCgYIKoZIzj0EAwIDRwAwRAIge09+S5TZAlw5tgtiVvuERV6cT4mfutXIlwTb
+FYN/8oCIClDsqBklhB9KAelFiYt9+6FDj3z4KGVelYM5MdsO3pK
-----END CERTIFICATE-----
)";

constexpr std::time_t kNotBefore = 1700000000;  // 2023-11-14T22:13:20Z
constexpr std::time_t kNotAfter = kNotBefore + 90 * 86400;
constexpr std::time_t kFarFuture = 2600000000;  // 2052: GeneralizedTime

acme::PrivateKey generate(acme::KeyType type) {
  auto key = acme::PrivateKey::generate(type);
  REQUIRE_MESSAGE(key.has_value(), key.error().message);
  return std::move(*key);
}

EVP_PKEY* evp(const acme::PrivateKey& key) { return static_cast<EVP_PKEY*>(key.native_handle()); }

struct CertSpec {
  std::string cn;
  std::uint64_t serial = 1;
  std::time_t not_before = kNotBefore;
  std::time_t not_after = kNotAfter;
  std::string san;  // X509V3 config syntax, e.g. "DNS:example.com,IP:192.0.2.1"
  bool ca = false;
};

// Builds and signs a certificate with OpenSSL directly. issuer == nullptr: self-signed.
acme::detail::X509Ptr make_cert(const CertSpec& spec, const acme::PrivateKey& subject_key,
                                X509* issuer, const acme::PrivateKey& issuer_key) {
  acme::detail::X509Ptr cert(X509_new());
  REQUIRE(cert);
  REQUIRE(X509_set_version(cert.get(), 2) == 1);  // v3
  REQUIRE(ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), spec.serial) == 1);
  REQUIRE(ASN1_TIME_set(X509_getm_notBefore(cert.get()), spec.not_before) != nullptr);
  REQUIRE(ASN1_TIME_set(X509_getm_notAfter(cert.get()), spec.not_after) != nullptr);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  REQUIRE(X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("Test, Inc."), -1, -1,
                                     0) == 1);
  REQUIRE(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1,
                                     -1, 0) == 1);
  REQUIRE(X509_set_issuer_name(cert.get(),
                               issuer != nullptr ? X509_get_subject_name(issuer) : subject) == 1);
  REQUIRE(X509_set_pubkey(cert.get(), evp(subject_key)) == 1);

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& value) {
    acme::detail::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    REQUIRE(ext);
    REQUIRE(X509_add_ext(cert.get(), ext.get(), -1) == 1);
  };
  if (spec.ca) {
    add(NID_basic_constraints, "critical,CA:TRUE");
    add(NID_subject_key_identifier, "hash");
  }
  if (issuer != nullptr) add(NID_authority_key_identifier, "keyid:always");
  if (!spec.san.empty()) add(NID_subject_alt_name, spec.san);
  REQUIRE(X509_sign(cert.get(), evp(issuer_key), EVP_sha256()) > 0);
  return cert;
}

std::string to_pem(X509* cert) {
  acme::detail::BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(bio);
  REQUIRE(PEM_write_bio_X509(bio.get(), cert) == 1);
  return acme::detail::bio_to_string(bio.get());
}

std::string to_der(X509* cert) {
  const int len = i2d_X509(cert, nullptr);
  REQUIRE(len > 0);
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  REQUIRE(i2d_X509(cert, &out) == len);
  return der;
}

std::string asn1_bytes(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

std::string hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    out += kDigits[static_cast<unsigned char>(c) >> 4];
    out += kDigits[static_cast<unsigned char>(c) & 0x0f];
  }
  return out;
}

// Everything the test needs to know about a parsed CSR.
struct ParsedCsr {
  long version = -1;
  bool signature_ok = false;
  std::string subject;
  std::vector<std::string> dns;
  std::vector<std::string> ip_bytes;
};

ParsedCsr parse_csr(const std::string& der, const acme::PrivateKey& key) {
  ParsedCsr out;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  acme::detail::X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  REQUIRE(req);
  CHECK(p == reinterpret_cast<const unsigned char*>(der.data()) + der.size());  // no trailer
  out.version = X509_REQ_get_version(req.get());
  out.signature_ok = X509_REQ_verify(req.get(), evp(key)) == 1;
  acme::detail::BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_REQ_get_subject_name(req.get()), 0, XN_FLAG_RFC2253);
  out.subject = acme::detail::bio_to_string(bio.get());

  acme::detail::X509ExtensionStackPtr exts(X509_REQ_get_extensions(req.get()));
  REQUIRE(exts);
  REQUIRE(sk_X509_EXTENSION_num(exts.get()) == 1);
  X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), 0);
  REQUIRE(OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == NID_subject_alt_name);
  acme::detail::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
  REQUIRE(names);
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(names.get(), i);
    int type = 0;
    const auto* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(gen, &type));
    if (type == GEN_DNS) out.dns.push_back(asn1_bytes(value));
    if (type == GEN_IPADD) out.ip_bytes.push_back(asn1_bytes(value));
  }
  ERR_clear_error();
  return out;
}

}  // namespace

TEST_CASE("RFC 8555 §7.4 / RFC 8738: CSR carries every identifier as a SAN, CN first DNS") {
  const std::vector<Identifier> ids = {
      {"dns", "example.com"}, {"dns", "www.example.com"}, {"ip", "127.0.0.1"}, {"ip", "::1"}};
  for (const acme::KeyType type :
       {acme::KeyType::kEc256, acme::KeyType::kEc384, acme::KeyType::kRsa2048}) {
    CAPTURE(acme::to_string(type));
    const acme::PrivateKey key = generate(type);
    auto der = acme::make_csr_der(key, ids);
    REQUIRE_MESSAGE(der.has_value(), der.error().message);
    const ParsedCsr csr = parse_csr(*der, key);
    CHECK(csr.version == 0);  // RFC 2986 §4.1: v1 encoded as 0
    CHECK(csr.signature_ok);
    CHECK(csr.subject == "CN=example.com");
    CHECK(csr.dns == std::vector<std::string>{"example.com", "www.example.com"});
    REQUIRE(csr.ip_bytes.size() == 2);
    CHECK(csr.ip_bytes[0] == std::string("\x7f\x00\x00\x01", 4));
    CHECK(csr.ip_bytes[1] == std::string(15, '\0') + '\x01');
  }
}

TEST_CASE("RFC 5280 A.1: a first DNS name over 64 characters leaves the CSR subject empty") {
  const acme::PrivateKey key = generate(acme::KeyType::kEc256);
  const std::string long_name = std::string(60, 'a') + ".example.com";  // 72 characters
  auto der = acme::make_csr_der(key, {{"dns", long_name}, {"dns", "short.example.com"}});
  REQUIRE(der.has_value());
  const ParsedCsr csr = parse_csr(*der, key);
  CHECK(csr.signature_ok);
  CHECK(csr.subject.empty());
  CHECK(csr.dns == std::vector<std::string>{long_name, "short.example.com"});

  const std::string exact = std::string(52, 'b') + ".example.com";  // 64 characters
  der = acme::make_csr_der(key, {{"dns", exact}});
  REQUIRE(der.has_value());
  CHECK(parse_csr(*der, key).subject == "CN=" + exact);
}

TEST_CASE("RFC 8738: a CSR for IP identifiers only has no CN") {
  const acme::PrivateKey key = generate(acme::KeyType::kEc256);
  auto der = acme::make_csr_der(key, {{"ip", "192.0.2.1"}, {"ip", "2001:db8::1"}});
  REQUIRE(der.has_value());
  const ParsedCsr csr = parse_csr(*der, key);
  CHECK(csr.signature_ok);
  CHECK(csr.subject.empty());
  CHECK(csr.dns.empty());
  REQUIRE(csr.ip_bytes.size() == 2);
  CHECK(csr.ip_bytes[0] == std::string("\xc0\x00\x02\x01", 4));
  CHECK(csr.ip_bytes[1].size() == 16);
}

TEST_CASE("make_csr_der rejects unusable identifiers with kInvalidInput") {
  const acme::PrivateKey key = generate(acme::KeyType::kEc256);
  const std::vector<std::vector<Identifier>> bad = {
      {},
      {{"ip", "999.1.1.1"}},
      {{"ip", "example.com"}},
      {{"email", "a@example.com"}},
      {{"dns", ""}},
      {{"dns", "bad name.example.com"}},
      {{"dns", "caf\xc3\xa9.example"}},
  };
  for (const auto& ids : bad) {
    CAPTURE(ids.size());
    auto der = acme::make_csr_der(key, ids);
    REQUIRE_FALSE(der.has_value());
    CAPTURE(der.error().message);
    CHECK(der.error().code == acme::Errc::kInvalidInput);
  }
  auto der = acme::make_csr_der(key, {{"email", "a@example.com"}});
  CHECK(der.error().message == "CSR: unsupported identifier type \"email\"");
}

TEST_CASE("RFC 5280 §4.1: inspect a self-signed certificate: names, serial, dates, SANs") {
  const acme::PrivateKey key = generate(acme::KeyType::kEc256);
  CertSpec spec;
  spec.cn = "example.com";
  spec.serial = 0x0123456789abcdefULL;
  spec.san = "DNS:example.com,DNS:www.example.com,IP:192.0.2.1,IP:2001:db8:0:0:0:0:0:1";
  acme::detail::X509Ptr cert = make_cert(spec, key, nullptr, key);
  auto info = acme::inspect_certificate(to_pem(cert.get()));
  REQUIRE_MESSAGE(info.has_value(), info.error().message);
  CHECK(info->subject == "CN=example.com,O=Test\\, Inc.");
  CHECK(info->issuer == info->subject);
  CHECK(info->serial_hex == "0123456789abcdef");
  CHECK(info->not_before == acme::SysTime(seconds(kNotBefore)));
  CHECK(info->not_after == acme::SysTime(seconds(kNotAfter)));
  CHECK(info->dns_names == std::vector<std::string>{"example.com", "www.example.com"});
  CHECK(info->ip_addresses == std::vector<std::string>{"192.0.2.1", "2001:db8::1"});
  CHECK(info->authority_key_id_hex.empty());
  CHECK(info->ari_cert_id.empty());  // RFC 9773 §4.1 needs the AKI
}

TEST_CASE("RFC 9773 §4.1: a CA-issued certificate has AKI and ARI CertID") {
  const acme::PrivateKey ca_key = generate(acme::KeyType::kEc384);
  const acme::PrivateKey leaf_key = generate(acme::KeyType::kRsa2048);
  CertSpec ca_spec;
  ca_spec.cn = "Test CA";
  ca_spec.ca = true;
  acme::detail::X509Ptr ca = make_cert(ca_spec, ca_key, nullptr, ca_key);
  CertSpec leaf_spec;
  leaf_spec.cn = "leaf.example.com";
  leaf_spec.serial = 0x87654321;  // high bit set: DER content gains a leading 0x00
  leaf_spec.not_after = kFarFuture;
  leaf_spec.san = "DNS:leaf.example.com";
  acme::detail::X509Ptr leaf = make_cert(leaf_spec, leaf_key, ca.get(), ca_key);

  auto info = acme::inspect_certificate(to_pem(leaf.get()));
  REQUIRE_MESSAGE(info.has_value(), info.error().message);
  CHECK(info->issuer == "CN=Test CA,O=Test\\, Inc.");
  CHECK(info->serial_hex == "87654321");
  CHECK(info->not_after == acme::SysTime(seconds(kFarFuture)));

  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(ca.get());
  REQUIRE(ski != nullptr);
  const std::string keyid = asn1_bytes(ski);
  CHECK(info->authority_key_id_hex == hex(keyid));
  CHECK(info->ari_cert_id == acme::base64url_encode(keyid) + "." +
                                 acme::base64url_encode(std::string("\x00\x87\x65\x43\x21", 5)));
  CHECK(info->ari_cert_id.substr(info->ari_cert_id.find('.')) == ".AIdlQyE");
}

TEST_CASE("RFC 9773 Appendix A: the example certificate's CertID") {
  auto info = acme::inspect_certificate(kRfc9773Cert);
  REQUIRE_MESSAGE(info.has_value(), info.error().message);
  CHECK(info->ari_cert_id == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
  CHECK(info->authority_key_id_hex == "69885b6b87464041e1b37b847ba0ae2cde01c8d4");
  CHECK(info->serial_hex == "87654321");
  CHECK(info->subject == "CN=example.com");
  CHECK(info->issuer == "CN=Example CA");
  // Dated year 1: outside what system_clock can count, so it saturates.
  CHECK(info->not_before == acme::SysTime::min());
  CHECK(info->not_after == acme::SysTime::min());
}

TEST_CASE("RFC 7468 §5.1: split_pem_certificates returns each CERTIFICATE block") {
  const acme::PrivateKey key = generate(acme::KeyType::kEc256);
  CertSpec spec;
  spec.cn = "a.example";
  acme::detail::X509Ptr a = make_cert(spec, key, nullptr, key);
  spec.cn = "b.example";
  acme::detail::X509Ptr b = make_cert(spec, key, nullptr, key);
  const std::string pem_a = to_pem(a.get());
  const std::string pem_b = to_pem(b.get());
  const std::string bundle = "leading text\n" + pem_a + "\n" + pem_b + "trailing";

  const auto blocks = acme::split_pem_certificates(bundle);
  REQUIRE(blocks.size() == 2);
  CHECK(blocks[0] == pem_a);
  CHECK(blocks[1] == pem_b);
  CHECK(acme::inspect_certificate(blocks[1])->subject == "CN=b.example,O=Test\\, Inc.");
  // Without a final newline the block still ends in one.
  const auto trimmed = acme::split_pem_certificates(pem_a.substr(0, pem_a.size() - 1));
  REQUIRE(trimmed.size() == 1);
  CHECK(trimmed[0] == pem_a);

  CHECK(acme::split_pem_certificates("").empty());
  CHECK(acme::split_pem_certificates(pem_a.substr(0, pem_a.size() / 2)).empty());
  // inspect_certificate reads the first certificate of a bundle.
  CHECK(acme::inspect_certificate(pem_a + pem_b)->subject == "CN=a.example,O=Test\\, Inc.");
}

TEST_CASE("RFC 8555 §7.6: certificate_der gives the DER for revocation") {
  const acme::PrivateKey key = generate(acme::KeyType::kEc256);
  CertSpec spec;
  spec.cn = "example.com";
  acme::detail::X509Ptr cert = make_cert(spec, key, nullptr, key);
  auto der = acme::certificate_der(to_pem(cert.get()));
  REQUIRE(der.has_value());
  CHECK(*der == to_der(cert.get()));

  auto bad = acme::certificate_der("not a certificate");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == acme::Errc::kInvalidInput);
}

TEST_CASE("inspect_certificate: garbage gives kInvalidInput naming the OpenSSL call") {
  for (const char* pem :
       {"", "garbage", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}) {
    auto info = acme::inspect_certificate(pem);
    REQUIRE_FALSE(info.has_value());
    CHECK(info.error().code == acme::Errc::kInvalidInput);
    CHECK(info.error().message.rfind("PEM_read_bio_X509", 0) == 0);
  }
}

TEST_CASE("key_matches_certificate compares the certificate's public key") {
  const acme::PrivateKey key = generate(acme::KeyType::kEc256);
  const acme::PrivateKey other = generate(acme::KeyType::kEc256);
  const acme::PrivateKey rsa = generate(acme::KeyType::kRsa2048);
  CertSpec spec;
  spec.cn = "example.com";
  const std::string pem = to_pem(make_cert(spec, key, nullptr, key).get());
  CHECK(acme::key_matches_certificate(key, pem));
  CHECK_FALSE(acme::key_matches_certificate(other, pem));
  CHECK_FALSE(acme::key_matches_certificate(rsa, pem));
  CHECK_FALSE(acme::key_matches_certificate(key, "garbage"));
  CHECK(ERR_peek_error() == 0);  // no stale errors left for the next caller
}
