#include "acme/pkcs12.hpp"

#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "ossl.hpp"

namespace acme {

namespace {

using Pkcs12Ptr = std::unique_ptr<PKCS12, detail::OsslDeleter<&PKCS12_free>>;

struct X509StackDeleter {
  void operator()(STACK_OF(X509) * p) const noexcept { sk_X509_pop_free(p, X509_free); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;

detail::BioPtr mem_bio(std::string_view data) {
  return detail::BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

}  // namespace

Result<std::string> make_pkcs12(std::string_view key_pem, std::string_view chain_pem,
                                const std::string& password, const std::string& friendly_name) {
  using detail::ossl_error;
  auto kb = mem_bio(key_pem);
  if (!kb) return ossl_error("BIO_new_mem_buf");
  detail::EvpPkeyPtr key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (!key) return ossl_error("PEM_read_bio_PrivateKey", Errc::kInvalidInput);
  auto cb = mem_bio(chain_pem);
  if (!cb) return ossl_error("BIO_new_mem_buf");
  detail::X509Ptr leaf(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  if (!leaf)
    return ossl_error("PEM_read_bio_X509: no certificate in the chain", Errc::kInvalidInput);
  X509StackPtr cas(sk_X509_new_null());
  if (!cas) return ossl_error("sk_X509_new_null");
  for (;;) {
    detail::X509Ptr ca(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    if (!ca) break;
    if (sk_X509_push(cas.get(), ca.get()) <= 0) return ossl_error("sk_X509_push");
    (void)ca.release();  // owned by the stack now
  }
  ERR_clear_error();  // the end of the PEM stream is reported as an error
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    return ossl_error("X509_check_private_key: the key does not match the certificate",
                      Errc::kInvalidInput);
  }
  // nid 0 and iter 0: OpenSSL 3's defaults (AES-256-CBC, PBKDF2, 2048 iterations, SHA-256 MAC).
  Pkcs12Ptr p12(PKCS12_create(password.c_str(), friendly_name.c_str(), key.get(), leaf.get(),
                              cas.get(), 0, 0, 0, 0, 0));
  if (!p12) return ossl_error("PKCS12_create");
  auto out = detail::BioPtr(BIO_new(BIO_s_mem()));
  if (!out) return ossl_error("BIO_new");
  if (i2d_PKCS12_bio(out.get(), p12.get()) != 1) return ossl_error("i2d_PKCS12_bio");
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  if (n <= 0 || data == nullptr) return ossl_error("BIO_get_mem_data");
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace acme
