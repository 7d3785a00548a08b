#include "acme/certificate.hpp"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <sys/socket.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <utility>

#include "acme/base64url.hpp"
#include "ossl.hpp"

namespace acme {
namespace {

using detail::ossl_error;

using Asn1Ia5StringPtr = std::unique_ptr<ASN1_IA5STRING, detail::OsslDeleter<&ASN1_IA5STRING_free>>;

// RFC 5280 Appendix A.1: ub-common-name is 64 characters.
constexpr std::size_t kMaxCommonName = 64;

std::string to_hex(const unsigned char* data, std::size_t len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (std::size_t i = 0; i < len; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0x0f];
  }
  return out;
}

std::string asn1_bytes(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

// A DNS name for an IA5String dNSName (RFC 5280 §4.2.1.6): printable ASCII, no spaces.
bool is_printable_ascii(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// Network-order address bytes for an "ip" identifier (RFC 8738 §3: IPv4 dotted-decimal,
// IPv6 text form), or empty when the text is not an address.
std::string parse_ip(const std::string& text) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) return std::string(buf, buf + 4);
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) return std::string(buf, buf + 16);
  return {};
}

// RFC 8738 §3 / RFC 5952: an iPAddress SAN back to text ("::1", not "0:0:...:1").
std::string format_ip(const ASN1_OCTET_STRING* ip) {
  char text[INET6_ADDRSTRLEN] = {};
  const int len = ASN1_STRING_length(ip);
  const unsigned char* data = ASN1_STRING_get0_data(ip);
  if (len == 4 && inet_ntop(AF_INET, data, text, sizeof(text)) != nullptr) return text;
  if (len == 16 && inet_ntop(AF_INET6, data, text, sizeof(text)) != nullptr) return text;
  return "invalid:" + to_hex(data, static_cast<std::size_t>(len > 0 ? len : 0));
}

Result<detail::GeneralNamePtr> make_general_name(const Identifier& id) {
  detail::GeneralNamePtr gen(GENERAL_NAME_new());
  if (!gen) return ossl_error("GENERAL_NAME_new");
  if (id.type == "dns") {
    if (!is_printable_ascii(id.value)) {
      return make_error(Errc::kInvalidInput, "CSR: invalid DNS identifier \"" + id.value + "\"");
    }
    Asn1Ia5StringPtr name(ASN1_IA5STRING_new());
    if (!name ||
        ASN1_STRING_set(name.get(), id.value.data(), static_cast<int>(id.value.size())) != 1) {
      return ossl_error("ASN1_STRING_set(dNSName)");
    }
    GENERAL_NAME_set0_value(gen.get(), GEN_DNS, name.release());
    return gen;
  }
  if (id.type == "ip") {
    const std::string bytes = parse_ip(id.value);
    if (bytes.empty()) {
      return make_error(Errc::kInvalidInput, "CSR: invalid IP identifier \"" + id.value + "\"");
    }
    detail::Asn1OctetStringPtr address(ASN1_OCTET_STRING_new());
    if (!address ||
        ASN1_OCTET_STRING_set(address.get(), reinterpret_cast<const unsigned char*>(bytes.data()),
                              static_cast<int>(bytes.size())) != 1) {
      return ossl_error("ASN1_OCTET_STRING_set(iPAddress)");
    }
    GENERAL_NAME_set0_value(gen.get(), GEN_IPADD, address.release());
    return gen;
  }
  return make_error(Errc::kInvalidInput, "CSR: unsupported identifier type \"" + id.type + "\"");
}

// The subjectAltName extension listing every identifier (RFC 8555 §7.4: the CSR names
// exactly the order's identifiers).
Result<detail::X509ExtensionPtr> make_san_extension(const std::vector<Identifier>& ids) {
  detail::GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) return ossl_error("GENERAL_NAMES_new");
  for (const Identifier& id : ids) {
    ACME_ASSIGN(detail::GeneralNamePtr gen, make_general_name(id));
    if (sk_GENERAL_NAME_push(names.get(), gen.get()) <= 0) {
      return ossl_error("sk_GENERAL_NAME_push");
    }
    gen.release();  // now owned by the stack
  }
  detail::X509ExtensionPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get()));
  if (!ext) return ossl_error("X509V3_EXT_i2d(subjectAltName)");
  return ext;
}

// Parsing a certificate costs ~1.5 M instructions with OpenSSL 3.0, most of it the
// decoder chain its public key is decoded through (rebuilt for every certificate). A
// freshly issued certificate is read twice in a row (inspect_certificate, then
// key_matches_certificate): the last one read on this thread is kept and shared.
Result<detail::X509Ptr> read_certificate(std::string_view pem) {
  thread_local std::string last_pem;
  thread_local detail::X509Ptr last;
  if (last && pem == last_pem && X509_up_ref(last.get()) == 1) return detail::X509Ptr(last.get());
  detail::BioPtr bio = detail::bio_from_string(pem);
  if (!bio) return ossl_error("BIO_new_mem_buf", Errc::kInvalidInput);
  detail::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    return ossl_error("PEM_read_bio_X509: no certificate in PEM", Errc::kInvalidInput);
  }
  if (X509_up_ref(cert.get()) == 1) {
    last.reset(cert.get());
    last_pem.assign(pem);
  }
  return cert;
}

Result<std::string> name_to_string(const X509_NAME* name) {
  detail::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return ossl_error("BIO_new");
  // XN_FLAG_RFC2253 escapes control characters and non-ASCII bytes, so the result is one
  // printable line whatever the CA put in the name.
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    return ossl_error("X509_NAME_print_ex");
  }
  return detail::bio_to_string(bio.get());
}

// system_clock counts nanoseconds in 64 bits (about ±292 years around 1970); times outside
// that range (RFC 9773's example certificate is dated year 1) saturate.
SysTime to_sys_time(std::int64_t secs) {
  using std::chrono::seconds;
  constexpr auto kMax = std::chrono::duration_cast<seconds>(SysTime::duration::max()).count();
  constexpr auto kMin = std::chrono::duration_cast<seconds>(SysTime::duration::min()).count();
  if (secs >= kMax) return SysTime::max();
  if (secs <= kMin) return SysTime::min();
  return SysTime(std::chrono::duration_cast<SysTime::duration>(seconds(secs)));
}

Result<SysTime> asn1_time_to_sys(const ASN1_TIME* t, const char* which) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return ossl_error(std::string("ASN1_TIME_to_tm(") + which + ")", Errc::kInvalidInput);
  }
  return to_sys_time(static_cast<std::int64_t>(timegm(&tm)));
}

// RFC 9773 §4.1: the serial number is the *content octets* of its DER INTEGER, including
// the leading 0x00 that DER adds when the high bit is set.
Result<std::string> serial_der_content(const ASN1_INTEGER* serial) {
  const int len = i2d_ASN1_INTEGER(serial, nullptr);
  if (len <= 0) return ossl_error("i2d_ASN1_INTEGER");
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ASN1_INTEGER(serial, &out) != len) return ossl_error("i2d_ASN1_INTEGER");
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  long content_len = 0;
  int tag = 0;
  int cls = 0;
  if ((ASN1_get_object(&p, &content_len, &tag, &cls, len) & 0x80) != 0 || tag != V_ASN1_INTEGER) {
    return ossl_error("ASN1_get_object(serialNumber)");
  }
  const auto offset =
      static_cast<std::size_t>(p - reinterpret_cast<const unsigned char*>(der.data()));
  return der.substr(offset, static_cast<std::size_t>(content_len));
}

void read_sans(X509* cert, CertificateInfo& info) {
  int crit = 0;
  detail::GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr)));
  if (!names) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(names.get(), i);
    int type = 0;
    const void* value = GENERAL_NAME_get0_value(gen, &type);
    if (type == GEN_DNS) {
      info.dns_names.push_back(asn1_bytes(static_cast<const ASN1_IA5STRING*>(value)));
    } else if (type == GEN_IPADD) {
      info.ip_addresses.push_back(format_ip(static_cast<const ASN1_OCTET_STRING*>(value)));
    }
  }
}

// DER: tag, definite length, contents.
std::string der_tlv(unsigned char tag, std::string_view contents) {
  std::string out(1, static_cast<char>(tag));
  const std::size_t n = contents.size();
  if (n < 0x80) {
    out += static_cast<char>(n);
  } else if (n < 0x100) {
    out += '\x81';
    out += static_cast<char>(n);
  } else if (n < 0x10000) {
    out += '\x82';
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  } else {
    out += '\x83';
    out += static_cast<char>(n >> 16);
    out += static_cast<char>((n >> 8) & 0xff);
    out += static_cast<char>(n & 0xff);
  }
  out.append(contents);
  return out;
}

// The CSR of an EC key, assembled as DER here: the same structure X509_REQ_sign makes
// (RFC 2986: version 0, the CN, the SubjectPublicKeyInfo, an extensionRequest attribute
// with the SAN extension; ecdsa-with-SHA256), without X509_REQ_set_pubkey, which in
// OpenSSL 3.0 encodes the public key through a freshly built encoder chain and decodes it
// again through a decoder chain (~5 M instructions, a tenth of a whole issuance).
Result<std::string> ec_csr_der(const PrivateKey& key, const std::string& common_name,
                               X509_EXTENSION* san) {
  static constexpr std::string_view kCnOid{"\x06\x03\x55\x04\x03", 5};
  static constexpr std::string_view kEcPublicKey{"\x06\x07\x2a\x86\x48\xce\x3d\x02\x01", 9};
  static constexpr std::string_view kP256{"\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 10};
  static constexpr std::string_view kP384{"\x06\x05\x2b\x81\x04\x00\x22", 7};
  static constexpr std::string_view kExtensionRequest{
      "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0e", 11};
  static constexpr std::string_view kEcdsaWithSha256{"\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02",
                                                     10};
  auto* pkey = static_cast<EVP_PKEY*>(key.native_handle());
  std::string subject;
  if (!common_name.empty()) {
    // UTF8String, as X509_NAME_add_entry_by_NID(MBSTRING_UTF8) gives under OpenSSL's
    // default string mask.
    subject = der_tlv(0x31, der_tlv(0x30, std::string(kCnOid) + der_tlv(0x0c, common_name)));
  }
  unsigned char pub[1 + 2 * 48];
  std::size_t pub_len = 0;
  if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &pub_len) !=
      1) {
    return ossl_error("EVP_PKEY_get_octet_string_param(pub)");
  }
  std::string bits(1, '\0');
  bits.append(reinterpret_cast<const char*>(pub), pub_len);
  const std::string spki =
      der_tlv(0x30, der_tlv(0x30, std::string(kEcPublicKey) +
                                      std::string(key.type() == KeyType::kEc384 ? kP384 : kP256)) +
                        der_tlv(0x03, bits));
  const int ext_len = i2d_X509_EXTENSION(san, nullptr);
  if (ext_len <= 0) return ossl_error("i2d_X509_EXTENSION");
  std::string ext(static_cast<std::size_t>(ext_len), '\0');
  auto* ext_out = reinterpret_cast<unsigned char*>(ext.data());
  if (i2d_X509_EXTENSION(san, &ext_out) != ext_len) return ossl_error("i2d_X509_EXTENSION");
  const std::string attributes = der_tlv(
      0xa0, der_tlv(0x30, std::string(kExtensionRequest) + der_tlv(0x31, der_tlv(0x30, ext))));
  const std::string info =
      der_tlv(0x30, std::string("\x02\x01\x00", 3) + der_tlv(0x30, subject) + spki + attributes);

  detail::EvpMdCtxPtr md(EVP_MD_CTX_new());
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, pkey) != 1) {
    return ossl_error("EVP_DigestSignInit");
  }
  std::size_t sig_len = 0;
  const auto* tbs = reinterpret_cast<const unsigned char*>(info.data());
  if (EVP_DigestSign(md.get(), nullptr, &sig_len, tbs, info.size()) != 1) {
    return ossl_error("EVP_DigestSign");
  }
  std::string sig(sig_len + 1, '\0');  // BIT STRING: no unused bits, then the signature
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()) + 1, &sig_len, tbs,
                     info.size()) != 1) {
    return ossl_error("EVP_DigestSign");
  }
  sig.resize(sig_len + 1);
  return der_tlv(0x30, info + der_tlv(0x30, kEcdsaWithSha256) + der_tlv(0x03, sig));
}

}  // namespace

Result<std::string> make_csr_der(const PrivateKey& key, const std::vector<Identifier>& ids) {
  if (ids.empty()) return make_error(Errc::kInvalidInput, "CSR: no identifiers");
  auto* pkey = static_cast<EVP_PKEY*>(key.native_handle());
  // Built first: it validates every identifier before any of them is used as the CN.
  ACME_ASSIGN(detail::X509ExtensionPtr san, make_san_extension(ids));
  if (key.type() == KeyType::kEc256 || key.type() == KeyType::kEc384) {
    std::string cn;
    for (const Identifier& id : ids) {
      if (id.type != "dns") continue;
      if (id.value.size() <= kMaxCommonName) cn = id.value;
      break;
    }
    return ec_csr_der(key, cn, san.get());
  }

  detail::X509ReqPtr req(X509_REQ_new());
  if (!req) return ossl_error("X509_REQ_new");
  // RFC 2986 §4.1: version is v1, encoded as the integer 0.
  if (X509_REQ_set_version(req.get(), 0) != 1) return ossl_error("X509_REQ_set_version");

  // CAs take the names from the SAN extension; the CN is informational and limited to 64
  // characters (RFC 5280 ub-common-name), so a longer first name leaves the subject empty.
  for (const Identifier& id : ids) {
    if (id.type != "dns") continue;
    if (id.value.size() <= kMaxCommonName) {
      X509_NAME* subject = X509_REQ_get_subject_name(req.get());  // owned by req
      if (X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(id.value.data()),
                                     static_cast<int>(id.value.size()), -1, 0) != 1) {
        return ossl_error("X509_NAME_add_entry_by_NID(CN)");
      }
    }
    break;
  }

  detail::X509ExtensionStackPtr exts(sk_X509_EXTENSION_new_null());
  if (!exts) return ossl_error("sk_X509_EXTENSION_new_null");
  if (sk_X509_EXTENSION_push(exts.get(), san.get()) <= 0) {
    return ossl_error("sk_X509_EXTENSION_push");
  }
  san.release();  // now owned by the stack
  if (X509_REQ_add_extensions(req.get(), exts.get()) != 1) {
    return ossl_error("X509_REQ_add_extensions");
  }
  if (X509_REQ_set_pubkey(req.get(), pkey) != 1) return ossl_error("X509_REQ_set_pubkey");
  if (X509_REQ_sign(req.get(), pkey, EVP_sha256()) <= 0) return ossl_error("X509_REQ_sign");

  // RFC 8555 §7.4: finalize carries the DER CSR (base64url-encoded by the caller).
  const int len = i2d_X509_REQ(req.get(), nullptr);
  if (len <= 0) return ossl_error("i2d_X509_REQ");
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_X509_REQ(req.get(), &out) != len) return ossl_error("i2d_X509_REQ");
  return der;
}

Result<CertificateInfo> inspect_certificate(std::string_view pem) {
  ACME_ASSIGN(detail::X509Ptr cert, read_certificate(pem));
  CertificateInfo info;
  ACME_ASSIGN(info.subject, name_to_string(X509_get_subject_name(cert.get())));
  ACME_ASSIGN(info.issuer, name_to_string(X509_get_issuer_name(cert.get())));

  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
  const std::string magnitude = asn1_bytes(serial);
  info.serial_hex =
      (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER ? "-" : "") +
      to_hex(reinterpret_cast<const unsigned char*>(magnitude.data()), magnitude.size());
  if (info.serial_hex.empty()) info.serial_hex = "00";

  ACME_ASSIGN(info.not_before, asn1_time_to_sys(X509_get0_notBefore(cert.get()), "notBefore"));
  ACME_ASSIGN(info.not_after, asn1_time_to_sys(X509_get0_notAfter(cert.get()), "notAfter"));
  read_sans(cert.get(), info);

  int crit = 0;
  detail::AuthorityKeyIdPtr aki(static_cast<AUTHORITY_KEYID*>(
      X509_get_ext_d2i(cert.get(), NID_authority_key_identifier, &crit, nullptr)));
  if (aki && aki->keyid != nullptr) {
    const std::string keyid = asn1_bytes(aki->keyid);
    info.authority_key_id_hex =
        to_hex(reinterpret_cast<const unsigned char*>(keyid.data()), keyid.size());
    // RFC 9773 §4.1: base64url(keyIdentifier) "." base64url(serialNumber DER content).
    ACME_ASSIGN(std::string serial_content, serial_der_content(serial));
    info.ari_cert_id = base64url_encode(keyid) + "." + base64url_encode(serial_content);
  }
  ERR_clear_error();  // X509_get_ext_d2i reports an absent extension through the queue
  return info;
}

std::vector<std::string> split_pem_certificates(std::string_view pem) {
  static constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  static constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t begin = pem.find(kBegin, pos);
    if (begin == std::string_view::npos) break;
    const std::size_t end = pem.find(kEnd, begin + kBegin.size());
    if (end == std::string_view::npos) break;
    pos = end + kEnd.size();
    std::string block(pem.substr(begin, pos - begin));
    block += '\n';
    out.push_back(std::move(block));
  }
  return out;
}

Result<std::string> certificate_der(std::string_view pem) {
  ACME_ASSIGN(detail::X509Ptr cert, read_certificate(pem));
  const int len = i2d_X509(cert.get(), nullptr);
  if (len <= 0) return ossl_error("i2d_X509");
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_X509(cert.get(), &out) != len) return ossl_error("i2d_X509");
  return der;
}

bool key_matches_certificate(const PrivateKey& key, std::string_view cert_pem) {
  auto cert = read_certificate(cert_pem);
  if (!cert) return false;
  const EVP_PKEY* cert_key = X509_get0_pubkey(cert->get());
  const bool match = cert_key != nullptr &&
                     EVP_PKEY_eq(cert_key, static_cast<const EVP_PKEY*>(key.native_handle())) == 1;
  ERR_clear_error();
  return match;
}

ChainFacts chain_facts(std::string_view chain_pem) {
  ChainFacts facts;
  for (const auto& pem : split_pem_certificates(chain_pem)) {
    auto der = certificate_der(pem);
    if (!der) continue;
    facts.depth += 1;
    facts.bytes += der->size();
  }
  return facts;
}

}  // namespace acme
