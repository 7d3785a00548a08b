// Reading a user's CSR (RFC 2986) for `--csr FILE`.
#include "acme/csr.hpp"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>

#include "ossl.hpp"

namespace acme {
namespace {

using detail::ossl_error;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void add_name(std::vector<std::string>& names, std::string name) {
  name = lower(std::move(name));
  if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
}

Result<std::string> spki_der(EVP_PKEY* key) {
  const int len = i2d_PUBKEY(key, nullptr);
  if (len <= 0) return ossl_error("i2d_PUBKEY");
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_PUBKEY(key, &out) != len) return ossl_error("i2d_PUBKEY");
  return der;
}

std::string describe_key(EVP_PKEY* key) {
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_RSA) return "RSA " + std::to_string(EVP_PKEY_get_bits(key));
  if (id == EVP_PKEY_EC) {
    char group[64] = {};
    std::size_t glen = 0;
    if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &glen) == 1) {
      const std::string g(group, glen);
      if (g == "prime256v1") return "EC P-256";
      if (g == "secp384r1") return "EC P-384";
      if (g == "secp521r1") return "EC P-521";
      return "EC " + g;
    }
    return "EC";
  }
  const char* name = OBJ_nid2sn(id);
  return name ? lower(name) == "ed25519" ? "ED25519" : std::string(name) : "unknown";
}

}  // namespace

Result<CsrInfo> parse_csr(std::string_view input) {
  detail::X509ReqPtr req;
  if (input.find("-----BEGIN") != std::string_view::npos) {
    detail::BioPtr bio = detail::bio_from_string(input);
    if (!bio) return ossl_error("BIO_new_mem_buf", Errc::kInvalidInput);
    // PEM_read_bio_X509_REQ accepts both "CERTIFICATE REQUEST" and "NEW CERTIFICATE REQUEST".
    req.reset(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  } else {
    const auto* p = reinterpret_cast<const unsigned char*>(input.data());
    req.reset(d2i_X509_REQ(nullptr, &p, static_cast<long>(input.size())));
  }
  ERR_clear_error();
  if (!req) return make_error(Errc::kInvalidInput, "not a certificate signing request (PKCS#10)");
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr) {
    ERR_clear_error();
    return make_error(Errc::kInvalidInput, "the CSR's public key cannot be read");
  }
  if (X509_REQ_verify(req.get(), key) != 1) {
    ERR_clear_error();
    return make_error(Errc::kInvalidInput,
                      "the CSR's signature does not verify with its own public key");
  }
  CsrInfo info;
  const int der_len = i2d_X509_REQ(req.get(), nullptr);
  if (der_len <= 0) return ossl_error("i2d_X509_REQ");
  info.der.resize(static_cast<std::size_t>(der_len));
  auto* out = reinterpret_cast<unsigned char*>(info.der.data());
  if (i2d_X509_REQ(req.get(), &out) != der_len) return ossl_error("i2d_X509_REQ");
  ACME_ASSIGN(info.public_key_der, spki_der(key));
  info.key_description = describe_key(key);

  // The CN counts as a name only when it looks like one (a CA puts it in the SANs anyway).
  const X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  const int cn_at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (cn_at >= 0) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, cn_at));
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n > 0) {
      add_name(info.names, std::string(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n)));
    }
    OPENSSL_free(utf8);
  }
  detail::X509ExtensionStackPtr exts(X509_REQ_get_extensions(req.get()));
  if (exts) {
    for (int i = 0; i < sk_X509_EXTENSION_num(exts.get()); ++i) {
      X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
      if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
      detail::GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
      if (!sans) {
        ERR_clear_error();
        return make_error(Errc::kInvalidInput, "the CSR's subjectAltName cannot be read");
      }
      for (int j = 0; j < sk_GENERAL_NAME_num(sans.get()); ++j) {
        const GENERAL_NAME* gen = sk_GENERAL_NAME_value(sans.get(), j);
        int type = 0;
        const void* value = GENERAL_NAME_get0_value(gen, &type);
        const auto* s = static_cast<const ASN1_STRING*>(value);
        const std::string bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                static_cast<std::size_t>(ASN1_STRING_length(s)));
        if (type == GEN_DNS) {
          add_name(info.names, bytes);
        } else if (type == GEN_IPADD) {
          char text[INET6_ADDRSTRLEN] = {};
          const int family = bytes.size() == 4 ? AF_INET : bytes.size() == 16 ? AF_INET6 : 0;
          if (family == 0 || inet_ntop(family, bytes.data(), text, sizeof(text)) == nullptr) {
            return make_error(Errc::kInvalidInput, "the CSR has a malformed iPAddress name");
          }
          add_name(info.names, text);
        }
      }
    }
  }
  if (info.names.empty()) {
    return make_error(Errc::kInvalidInput, "the CSR names no domain (no CN, no subjectAltName)");
  }
  return info;
}

Result<std::string> certificate_public_key_der(std::string_view cert_pem) {
  detail::BioPtr bio = detail::bio_from_string(cert_pem);
  if (!bio) return ossl_error("BIO_new_mem_buf", Errc::kInvalidInput);
  detail::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return ossl_error("PEM_read_bio_X509", Errc::kInvalidInput);
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (key == nullptr) return ossl_error("X509_get0_pubkey", Errc::kInvalidInput);
  return spki_der(key);
}

bool csr_matches_certificate(const CsrInfo& csr, std::string_view cert_pem) {
  auto der = certificate_public_key_der(cert_pem);
  ERR_clear_error();
  return der && *der == csr.public_key_der;
}

}  // namespace acme
