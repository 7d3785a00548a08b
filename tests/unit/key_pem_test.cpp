// PrivateKey::from_pem / to_pem of EC keys without OpenSSL's decoder and encoder chains
// (libacme/src/key.cpp): the bytes and keys must be exactly what the general path gives.
#include <doctest/doctest.h>
#include <openssl/pem.h>

#include <algorithm>
#include <iterator>
#include <string>

#include "acme/key.hpp"
#include "ossl.hpp"

namespace {

std::string pem_of(EVP_PKEY* pkey, bool traditional) {
  acme::detail::BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(bio);
  const int ok = traditional ? PEM_write_bio_PrivateKey_traditional(bio.get(), pkey, nullptr,
                                                                    nullptr, 0, nullptr, nullptr)
                             : PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0,
                                                        nullptr, nullptr);
  REQUIRE(ok == 1);
  return acme::detail::bio_to_string(bio.get());
}

}  // namespace

TEST_CASE("EC to_pem writes the PKCS#8 bytes OpenSSL's encoder writes") {
  for (auto type : {acme::KeyType::kEc256, acme::KeyType::kEc384}) {
    CAPTURE(acme::to_string(type));
    auto key = acme::PrivateKey::generate(type);
    REQUIRE(key);
    auto pem = key->to_pem();
    REQUIRE(pem);
    CHECK(*pem == pem_of(static_cast<EVP_PKEY*>(key->native_handle()), false));
  }
}

TEST_CASE("EC from_pem (PKCS#8 and SEC1) gives the same key as the decoder path") {
  for (auto type : {acme::KeyType::kEc256, acme::KeyType::kEc384}) {
    CAPTURE(acme::to_string(type));
    auto key = acme::PrivateKey::generate(type);
    REQUIRE(key);
    auto* pkey = static_cast<EVP_PKEY*>(key->native_handle());
    for (bool traditional : {false, true}) {
      CAPTURE(traditional);
      const std::string pem = pem_of(pkey, traditional);
      auto again = acme::PrivateKey::from_pem(pem);
      REQUIRE(again);
      CHECK(again->type() == type);
      CHECK(again->thumbprint() == key->thumbprint());
      CHECK(EVP_PKEY_eq(static_cast<EVP_PKEY*>(again->native_handle()), pkey) == 1);
      // The private half too: a signature of the reloaded key verifies with the original.
      auto sig = again->sign("payload");
      REQUIRE(sig);
      auto round = again->to_pem();
      REQUIRE(round);
      CHECK(*round == pem_of(pkey, false));
    }
  }
}

TEST_CASE("EC from_pem: a SEC1 key without its public half still loads (general path)") {
  // ECPrivateKey { 1, d } with the P-256 curve and no publicKey: OpenSSL derives the point.
  auto key = acme::PrivateKey::generate(acme::KeyType::kEc256);
  REQUIRE(key);
  acme::detail::BioPtr bio(BIO_new(BIO_s_mem()));
  // Built by hand: 30 31 02 01 01 04 20 <d> a0 0a 06 08 <prime256v1>
  BIGNUM* raw = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(static_cast<EVP_PKEY*>(key->native_handle()), "priv", &raw) == 1);
  acme::detail::BnPtr d(raw);
  unsigned char der[51] = {0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20};
  REQUIRE(BN_bn2binpad(d.get(), der + 7, 32) == 32);
  const unsigned char tail[] = {0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
  std::copy(std::begin(tail), std::end(tail), der + 39);
  REQUIRE(PEM_write_bio(bio.get(), "EC PRIVATE KEY", "", der, sizeof(der)) > 0);
  const std::string pem = acme::detail::bio_to_string(bio.get());
  auto again = acme::PrivateKey::from_pem(pem);
  REQUIRE(again);
  CHECK(again->thumbprint() == key->thumbprint());
}

TEST_CASE("EC from_pem: a truncated or mismatched PKCS#8 body is refused, not half-loaded") {
  auto key = acme::PrivateKey::generate(acme::KeyType::kEc256);
  REQUIRE(key);
  auto pem = key->to_pem();
  REQUIRE(pem);
  // Decode, cut the DER short, encode again.
  acme::detail::BioPtr in = acme::detail::bio_from_string(*pem);
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  REQUIRE(PEM_read_bio(in.get(), &name, &header, &data, &len) == 1);
  acme::detail::BioPtr out(BIO_new(BIO_s_mem()));
  REQUIRE(PEM_write_bio(out.get(), name, header, data, len - 10) > 0);
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
  const std::string cut = acme::detail::bio_to_string(out.get());
  auto bad = acme::PrivateKey::from_pem(cut);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == acme::Errc::kInvalidInput);
}
