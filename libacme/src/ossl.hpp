#pragma once
// Private to libacme (and its tests): RAII owners for OpenSSL 3 handles and error reporting.
// ARCHITECTURE.md: every handle is owned by a unique_ptr with a deleter from the moment it
// exists. STYLE.md (OpenBSD acme-client): a failure names the call that failed and appends
// the drained OpenSSL error queue.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstddef>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "acme/result.hpp"

namespace acme::detail {

// Calls Free on the pointer; Free is a plain OpenSSL function, never a macro.
template <auto Free>
struct OsslDeleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};

// OPENSSL_free and the sk_*_pop_free helpers are macros or inline wrappers, so they get
// hand-written deleters.
struct OsslFreeDeleter {
  void operator()(void* p) const noexcept { OPENSSL_free(p); }
};
struct X509ExtensionStackDeleter {
  void operator()(STACK_OF(X509_EXTENSION) * p) const noexcept {
    sk_X509_EXTENSION_pop_free(p, X509_EXTENSION_free);
  }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OsslDeleter<&EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OsslDeleter<&EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OsslDeleter<&EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, OsslDeleter<&X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OsslDeleter<&X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OsslDeleter<&X509_NAME_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OsslDeleter<&X509_EXTENSION_free>>;
using X509ExtensionStackPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), X509ExtensionStackDeleter>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, OsslDeleter<&GENERAL_NAME_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OsslDeleter<&GENERAL_NAMES_free>>;
using AuthorityKeyIdPtr = std::unique_ptr<AUTHORITY_KEYID, OsslDeleter<&AUTHORITY_KEYID_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OsslDeleter<&ASN1_INTEGER_free>>;
using Asn1OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, OsslDeleter<&ASN1_OCTET_STRING_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, OsslDeleter<&ASN1_TIME_free>>;
using BioPtr = std::unique_ptr<BIO, OsslDeleter<&BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, OsslDeleter<&BN_free>>;
// For private key material: BN_clear_free wipes the limbs before freeing.
using SecretBnPtr = std::unique_ptr<BIGNUM, OsslDeleter<&BN_clear_free>>;
using OsslParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OsslDeleter<&OSSL_PARAM_BLD_free>>;
using OsslParamPtr = std::unique_ptr<OSSL_PARAM, OsslDeleter<&OSSL_PARAM_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OsslDeleter<&ECDSA_SIG_free>>;
using OsslStringPtr = std::unique_ptr<char, OsslFreeDeleter>;
using OsslBytesPtr = std::unique_ptr<unsigned char, OsslFreeDeleter>;

// Drains the calling thread's OpenSSL error queue into one line:
// "error:...; error:..." (empty when the queue was empty).
inline std::string openssl_errors() {
  std::string out;
  for (;;) {
    const char* data = nullptr;
    int flags = 0;
    const unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags);
    if (code == 0) break;
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      out += " (";
      out += data;
      out += ")";
    }
  }
  return out;
}

// "EVP_DigestSign: error:...": names the OpenSSL call that failed, then the error queue.
inline Error ossl_error(std::string_view call, Errc code = Errc::kCrypto) {
  std::string message(call);
  std::string queue = openssl_errors();
  message += queue.empty() ? std::string(" failed") : ": " + queue;
  return make_error(code, std::move(message));
}

// Contents of a memory BIO as a string.
inline std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(len));
}

// A read-only memory BIO over text; null when the text is too large for OpenSSL's int sizes.
inline BioPtr bio_from_string(std::string_view text) {
  if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return BioPtr();
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

}  // namespace acme::detail
