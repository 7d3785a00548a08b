#include "fake_ca.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

namespace acme::test {
namespace {

struct X509Free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
struct ReqFree {
  void operator()(X509_REQ* p) const noexcept { X509_REQ_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
struct NamesFree {
  void operator()(GENERAL_NAMES* p) const noexcept { GENERAL_NAMES_free(p); }
};
struct ExtsFree {
  void operator()(STACK_OF(X509_EXTENSION) * p) const noexcept {
    sk_X509_EXTENSION_pop_free(p, X509_EXTENSION_free);
  }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

PkeyPtr generate_ec_key() { return PkeyPtr(EVP_EC_gen("P-256")); }

bool add_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

struct CertSpec {
  std::string subject_cn;  // empty: empty subject
  EVP_PKEY* subject_key = nullptr;
  X509* issuer = nullptr;  // nullptr: self-signed
  EVP_PKEY* issuer_key = nullptr;
  bool ca = false;
  std::string san;  // "DNS:a,IP:1.2.3.4"
  long days = 90;
};

X509Ptr make_cert(const CertSpec& spec, std::time_t now) {
  X509Ptr cert(X509_new());
  std::unique_ptr<BIGNUM, BnFree> serial(BN_new());
  if (!cert || !serial || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      BN_rand(serial.get(), 64, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -3600, &now) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(spec.days), -3600, &now) ==
          nullptr) {
    return nullptr;
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (!spec.subject_cn.empty() &&
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(spec.subject_cn.c_str()),
                                 -1, -1, 0) != 1) {
    return nullptr;
  }
  X509* issuer = spec.issuer != nullptr ? spec.issuer : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) != 1 ||
      X509_set_pubkey(cert.get(), spec.subject_key) != 1) {
    return nullptr;
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert.get(), nullptr, nullptr, 0);
  bool ok = add_ext(cert.get(), &ctx, NID_basic_constraints,
                    spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
            add_ext(cert.get(), &ctx, NID_key_usage,
                    spec.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") &&
            add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash") &&
            add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  if (ok && !spec.ca) ok = add_ext(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");
  if (ok && !spec.san.empty()) ok = add_ext(cert.get(), &ctx, NID_subject_alt_name, spec.san);
  if (!ok || X509_sign(cert.get(), spec.issuer_key, EVP_sha256()) <= 0) return nullptr;
  return cert;
}

std::string to_pem(X509* cert) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return "";
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

// Canonical form for set comparison: DNS lower-cased, IP as its address bytes.
std::pair<std::string, std::string> canonical(const Identifier& id) {
  if (id.type == "ip") {
    unsigned char buf[16];
    if (inet_pton(AF_INET, id.value.c_str(), buf) == 1)
      return {"ip", std::string(reinterpret_cast<char*>(buf), 4)};
    if (inet_pton(AF_INET6, id.value.c_str(), buf) == 1)
      return {"ip", std::string(reinterpret_cast<char*>(buf), 16)};
    return {"ip?", id.value};
  }
  std::string v = id.value;
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return {id.type, v};
}

}  // namespace

struct FakeCa::Impl {
  PkeyPtr root_key[2];
  X509Ptr root[2];
  PkeyPtr intermediate_key;
  X509Ptr intermediate[2];
};

FakeCa::FakeCa(std::time_t now) : impl_(std::make_unique<Impl>()) {
  const char* roots[2] = {kRootA, kRootB};
  impl_->intermediate_key = generate_ec_key();
  for (int i = 0; i < 2; ++i) {
    impl_->root_key[i] = generate_ec_key();
    CertSpec root{roots[i], impl_->root_key[i].get(), nullptr, impl_->root_key[i].get(), true, "",
                  3650};
    impl_->root[i] = make_cert(root, now);
    CertSpec inter{kIntermediate,
                   impl_->intermediate_key.get(),
                   impl_->root[i].get(),
                   impl_->root_key[i].get(),
                   true,
                   "",
                   1825};
    impl_->intermediate[i] = make_cert(inter, now);
    // A CA that cannot build its own hierarchy is a broken test environment.
    if (!impl_->root[i] || !impl_->intermediate[i]) std::abort();
    intermediate_pem_[i] = to_pem(impl_->intermediate[i].get());
  }
}

FakeCa::~FakeCa() = default;

std::string FakeCa::issue_leaf(EVP_PKEY* key, const std::vector<Identifier>& ids, std::time_t now,
                               std::string* der_out, std::string* error) {
  std::string san;
  std::string cn;
  for (const auto& id : ids) {
    if (!san.empty()) san += ",";
    san += (id.type == "ip" ? "IP:" : "DNS:") + id.value;
    if (cn.empty() && id.type == "dns" && id.value.size() <= 64) cn = id.value;
  }
  CertSpec leaf{cn,  key, impl_->intermediate[0].get(), impl_->intermediate_key.get(), false,
                san, 90};
  X509Ptr cert = make_cert(leaf, now);
  if (!cert) {
    *error = "issuing the leaf certificate failed (OpenSSL)";
    return "";
  }
  const int len = i2d_X509(cert.get(), nullptr);
  if (len > 0 && der_out != nullptr) {
    der_out->assign(static_cast<std::size_t>(len), '\0');
    auto* p = reinterpret_cast<unsigned char*>(der_out->data());
    i2d_X509(cert.get(), &p);
  }
  return to_pem(cert.get());
}

std::optional<CsrInfo> parse_csr(const std::string& der, std::string* error) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const auto* end = p + der.size();
  std::unique_ptr<X509_REQ, ReqFree> req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req || p != end) {
    *error = "CSR is not a DER PKCS#10 request (d2i_X509_REQ)";
    return std::nullopt;
  }
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
  if (pub == nullptr || X509_REQ_verify(req.get(), pub) != 1) {
    *error = "CSR signature does not verify (X509_REQ_verify)";
    return std::nullopt;
  }
  CsrInfo info;
  EVP_PKEY_up_ref(pub);
  info.public_key.reset(pub);
  std::unique_ptr<STACK_OF(X509_EXTENSION), ExtsFree> exts(X509_REQ_get_extensions(req.get()));
  if (!exts) return info;
  std::unique_ptr<GENERAL_NAMES, NamesFree> names(static_cast<GENERAL_NAMES*>(
      X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return info;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type == GEN_DNS) {
      const auto* s = gn->d.dNSName;
      info.sans.push_back(
          {"dns", std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                              static_cast<std::size_t>(ASN1_STRING_length(s)))});
    } else if (gn->type == GEN_IPADD) {
      const auto* s = gn->d.iPAddress;
      const int len = ASN1_STRING_length(s);
      char text[INET6_ADDRSTRLEN] = {};
      const int family = len == 4 ? AF_INET : AF_INET6;
      if ((len == 4 || len == 16) &&
          inet_ntop(family, ASN1_STRING_get0_data(s), text, sizeof text)) {
        info.sans.push_back({"ip", text});
      } else {
        info.sans.push_back({"ip", "invalid-length-" + std::to_string(len)});
      }
    } else {
      info.sans.push_back({"other", "general-name-type-" + std::to_string(gn->type)});
    }
  }
  return info;
}

bool same_identifier_set(const std::vector<Identifier>& a, const std::vector<Identifier>& b) {
  std::set<std::pair<std::string, std::string>> sa;
  std::set<std::pair<std::string, std::string>> sb;
  for (const auto& id : a) sa.insert(canonical(id));
  for (const auto& id : b) sb.insert(canonical(id));
  return sa == sb;
}

}  // namespace acme::test
