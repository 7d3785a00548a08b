#include "acme/certificate.hpp"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/pem.h>
#include <sys/socket.h>

#include <cstdint>
#include <ctime>
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

Result<detail::X509Ptr> read_certificate(std::string_view pem) {
  detail::BioPtr bio = detail::bio_from_string(pem);
  if (!bio) return ossl_error("BIO_new_mem_buf", Errc::kInvalidInput);
  detail::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    return ossl_error("PEM_read_bio_X509: no certificate in PEM", Errc::kInvalidInput);
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

}  // namespace

Result<std::string> make_csr_der(const PrivateKey& key, const std::vector<Identifier>& ids) {
  if (ids.empty()) return make_error(Errc::kInvalidInput, "CSR: no identifiers");
  auto* pkey = static_cast<EVP_PKEY*>(key.native_handle());
  // Built first: it validates every identifier before any of them is used as the CN.
  ACME_ASSIGN(detail::X509ExtensionPtr san, make_san_extension(ids));

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

}  // namespace acme
