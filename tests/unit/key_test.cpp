// Private keys, JWK import, RFC 7638 thumbprints and RFC 8555 key authorizations.
#include "acme/key.hpp"

#include <doctest/doctest.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "acme/base64url.hpp"
#include "ossl.hpp"

namespace {

using nlohmann::json;

// RFC 7638 §3.1 example key (the RSA key of RFC 7517 Appendix A.1), public members.
const std::string kRfc7638N =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY3"
    "68QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4"
    "lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
const std::string kRfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

json rfc7638_public_jwk() {
  return {{"kty", "RSA"}, {"n", kRfc7638N}, {"e", "AQAB"}, {"alg", "RS256"}, {"kid", "2011-04-29"}};
}

// RFC 7517 Appendix A.2: the private half of the same key.
json rfc7517_private_jwk() {
  json jwk = rfc7638_public_jwk();
  jwk["d"] =
      "X4cTteJY_gn4FYPsXB8rdXix5vwsg1FLN5E3EaG6RJoVH-HLLKD9M7dx5oo7GURknchnrRweUkC7hT5fJLM0WbFA"
      "KNLWY2vv7B6NqXSzUvxT0_YSfqijwp3RTzlBaCxWp4doFk5N2o8Gy_nHNKroADIkJ46pRUohsXywbReAdYaMwFs9"
      "tv8d_cPVY3i07a3t8MN6TNwm0dSawm9v47UiCl3Sk5ZiG7xojPLu4sbg1U2jx4IBTNBznbJSzFHK66jT8bgkuqsk"
      "0GjskDJk19Z4qwjwbsnn4j2WBii3RL-Us2lGVkY8fkFzme1z0HbIkfz0Y6mqnOYtqc0X4jfcKoAC8Q";
  jwk["p"] =
      "83i-7IvMGXoMXCskv73TKr8637FiO7Z27zv8oj6pbWUQyLPQBQxtPVnwD20R-60eTDmD2ujnMt5PoqMrm8RfmNhV"
      "WDtjjMmCMjOpSXicFHj7XOuVIYQyqVWlWEh6dN36GVZYk93N8Bc9vY41xy8B9RzzOGVQzXvNEvn7O0nVbfs";
  jwk["q"] =
      "3dfOR9cuYq-0S-mkFLzgItgMEfFzB2q3hWehMuG0oCuqnb3vobLyumqjVZQO1dIrdwgTnCdpYzBcOfW5r370AFXj"
      "iWft_NGEiovonizhKpo9VVS78TzFgxkIdrecRezsZ-1kYd_s1qDbxtkDEgfAITAG9LUnADun4vIcb6yelxk";
  jwk["dp"] =
      "G4sPXkc6Ya9y8oJW9_ILj4xuppu0lzi_H7VTkS8xj5SdX3coE0oimYwxIi2emTAue0UOa5dpgFGyBJ4c8tQ2VF40"
      "2XRugKDTP8akYhFo5tAA77Qe_NmtuYZc3C3m3I24G2GvR5sSDxUyAN2zq8Lfn9EUms6rY3Ob8YeiKkTiBj0";
  jwk["dq"] =
      "s9lAH9fggBsoFR8Oac2R_E2gw282rT2kGOAhvIllETE1efrA6huUUvMfBcMpn8lqeW6vzznYY5SSQF7pMdC_agI3"
      "nG8Ibp1BUb0JUiraRNqUfLhcQb_d9GF4Dh7e74WbRsobRonujTYN1xCaP6TO61jvWrX-L18txXw494Q_cgk";
  jwk["qi"] =
      "GyM_p6JrXySiz1toFgKbWV-JdI3jQ4ypu9rbMWx3rQJBfmt0FoYzgUIZEVFEcOqwemRN81zoDAaa-Bk0KWNGDjJH"
      "ZDdDmFhW3AN7lI-puxk_mHZGJ11rxyR8O55XLSe3SPmRfKwZI6yU24ZxvQKFYItdldUKGzO6Ia6zTKhAVRU";
  return jwk;
}

// RFC 7515 Appendix A.3.1: the P-256 example key.
json rfc7515_ec_jwk() {
  return {{"kty", "EC"},
          {"crv", "P-256"},
          {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
          {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
          {"d", "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}};
}

// Keys are slow to generate (RSA 4096 especially): one per type for the whole binary.
const acme::PrivateKey& cached_key(acme::KeyType type) {
  static std::map<acme::KeyType, acme::PrivateKey> keys;
  auto it = keys.find(type);
  if (it == keys.end()) {
    auto key = acme::PrivateKey::generate(type);
    REQUIRE_MESSAGE(key.has_value(), key.error().message);
    it = keys.emplace(type, std::move(*key)).first;
  }
  return it->second;
}

// PEM of a key made directly with OpenSSL, for types libacme refuses to generate.
std::string foreign_key_pem(EVP_PKEY* pkey, bool traditional = false) {
  acme::detail::BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(bio);
  const int ok = traditional ? PEM_write_bio_PrivateKey_traditional(bio.get(), pkey, nullptr,
                                                                    nullptr, 0, nullptr, nullptr)
                             : PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0,
                                                        nullptr, nullptr);
  REQUIRE(ok == 1);
  return acme::detail::bio_to_string(bio.get());
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

}  // namespace

TEST_CASE("key type names: ec256, ec384, rsa2048, rsa3072, rsa4096") {
  for (const char* name : {"ec256", "ec384", "rsa2048", "rsa3072", "rsa4096"}) {
    auto type = acme::parse_key_type(name);
    REQUIRE(type.has_value());
    CHECK(acme::to_string(*type) == name);
  }
  auto bad = acme::parse_key_type("rsa1024");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == acme::Errc::kInvalidInput);
}

TEST_CASE("RFC 7518 §3.1: every key type generates, round-trips through PEM, keeps its JWK") {
  const std::pair<acme::KeyType, const char*> kCases[] = {
      {acme::KeyType::kEc256, "ES256"},   {acme::KeyType::kEc384, "ES384"},
      {acme::KeyType::kRsa2048, "RS256"}, {acme::KeyType::kRsa3072, "RS256"},
      {acme::KeyType::kRsa4096, "RS256"},
  };
  for (const auto& [type, alg] : kCases) {
    CAPTURE(acme::to_string(type));
    const acme::PrivateKey& key = cached_key(type);
    CHECK(key.type() == type);
    CHECK(std::string(key.jws_alg()) == alg);
    CHECK(key.native_handle() != nullptr);

    auto pem = key.to_pem();
    REQUIRE(pem.has_value());
    CHECK(pem->rfind("-----BEGIN PRIVATE KEY-----\n", 0) == 0);  // PKCS#8

    auto again = acme::PrivateKey::from_pem(*pem);
    REQUIRE_MESSAGE(again.has_value(), again.error().message);
    CHECK(again->type() == type);
    CHECK(again->thumbprint() == key.thumbprint());
    CHECK(again->public_jwk() == key.public_jwk());

    // RFC 7638 §3.2: the cached thumbprint is the one of the public JWK.
    auto thumb = acme::jwk_thumbprint(key.public_jwk());
    REQUIRE(thumb.has_value());
    CHECK(*thumb == key.thumbprint());
    CHECK(key.thumbprint().size() == 43);  // 32 bytes, unpadded
  }
}

TEST_CASE("RFC 7638 §3.2: public_jwk has exactly the required members, full-length EC coords") {
  const json ec256 = cached_key(acme::KeyType::kEc256).public_jwk();
  CHECK(ec256.size() == 4);
  CHECK(ec256["kty"] == "EC");
  CHECK(ec256["crv"] == "P-256");
  CHECK(acme::base64url_decode(ec256["x"].get<std::string>())->size() == 32);
  CHECK(acme::base64url_decode(ec256["y"].get<std::string>())->size() == 32);

  const json ec384 = cached_key(acme::KeyType::kEc384).public_jwk();
  CHECK(ec384["crv"] == "P-384");
  CHECK(acme::base64url_decode(ec384["x"].get<std::string>())->size() == 48);
  CHECK(acme::base64url_decode(ec384["y"].get<std::string>())->size() == 48);

  const json rsa = cached_key(acme::KeyType::kRsa2048).public_jwk();
  CHECK(rsa.size() == 3);
  CHECK(rsa["kty"] == "RSA");
  CHECK(rsa["e"] == "AQAB");  // 65537, no leading zero octets (RFC 7518 §6.3.1.2)
  const auto n = acme::base64url_decode(rsa["n"].get<std::string>());
  REQUIRE(n.has_value());
  CHECK(n->size() == 256);
  CHECK(static_cast<unsigned char>((*n)[0]) >= 0x80);  // no leading zero octet
}

TEST_CASE("RFC 7638 §3.1: thumbprint of the example RSA key") {
  auto thumb = acme::jwk_thumbprint(rfc7638_public_jwk());
  REQUIRE(thumb.has_value());
  CHECK(*thumb == kRfc7638Thumbprint);
}

TEST_CASE("RFC 7517 A.2: private RSA JWK imports; thumbprint matches RFC 7638 §3.1") {
  auto key = acme::PrivateKey::from_jwk(rfc7517_private_jwk());
  REQUIRE_MESSAGE(key.has_value(), key.error().message);
  CHECK(key->type() == acme::KeyType::kRsa2048);
  CHECK(key->thumbprint() == kRfc7638Thumbprint);
  // RFC 7638 §3.1 shows this exact canonical JSON (members e, kty, n; no whitespace).
  CHECK(key->public_jwk().dump() == R"({"e":"AQAB","kty":"RSA","n":")" + kRfc7638N + R"("})");
}

TEST_CASE("RFC 8555 §8.1: key authorization is token '.' thumbprint") {
  auto key = acme::PrivateKey::from_jwk(rfc7517_private_jwk());
  REQUIRE(key.has_value());
  const std::string token = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
  CHECK(acme::key_authorization(token, *key) == token + "." + kRfc7638Thumbprint);
  const acme::PrivateKey& ec = cached_key(acme::KeyType::kEc256);
  CHECK(acme::key_authorization(token, ec) == token + "." + ec.thumbprint());
}

TEST_CASE("RFC 8555 §8.4: dns01_txt_value is base64url(SHA-256(key authorization))") {
  // FIPS 180-2 B.1: SHA-256("abc") = ba7816bf...f20015ad.
  const std::string abc_digest =
      from_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(acme::sha256("abc") == abc_digest);
  CHECK(acme::dns01_txt_value("abc") == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  CHECK(acme::dns01_txt_value("") == "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
  CHECK(acme::dns01_txt_value("abc") == acme::base64url_encode(abc_digest));
}

TEST_CASE("RFC 7515 A.3.1: private EC JWK imports and keeps its coordinates") {
  const json jwk = rfc7515_ec_jwk();
  auto key = acme::PrivateKey::from_jwk(jwk);
  REQUIRE_MESSAGE(key.has_value(), key.error().message);
  CHECK(key->type() == acme::KeyType::kEc256);
  CHECK(std::string(key->jws_alg()) == "ES256");
  const json expected = {{"crv", "P-256"}, {"kty", "EC"}, {"x", jwk["x"]}, {"y", jwk["y"]}};
  CHECK(key->public_jwk() == expected);
  auto pem = key->to_pem();
  REQUIRE(pem.has_value());
  auto again = acme::PrivateKey::from_pem(*pem);
  REQUIRE(again.has_value());
  CHECK(again->thumbprint() == key->thumbprint());
}

TEST_CASE("from_jwk rejects malformed and mismatched JWKs with kInvalidInput") {
  auto expect_invalid = [](const json& jwk, const std::string& message) {
    CAPTURE(jwk.dump());
    auto key = acme::PrivateKey::from_jwk(jwk);
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error().code == acme::Errc::kInvalidInput);
    if (!message.empty()) CHECK(key.error().message == message);
  };
  expect_invalid(json::array(), "JWK: not a JSON object");
  expect_invalid(json{{"kty", 1}}, "JWK: missing member \"kty\"");
  expect_invalid(json{{"kty", "oct"}, {"k", "AAAA"}}, "unsupported key: JWK kty oct");
  expect_invalid(rfc7638_public_jwk(), "JWK: missing member \"d\"");  // public only

  json bad_b64 = rfc7517_private_jwk();
  bad_b64["d"] = "not+base64url/";
  expect_invalid(bad_b64, "JWK: member \"d\" is not base64url");

  json partial_crt = rfc7517_private_jwk();
  partial_crt.erase("qi");
  expect_invalid(partial_crt, "JWK: RSA key has only some of p, q, dp, dq, qi");

  json p521 = rfc7515_ec_jwk();
  p521["crv"] = "P-521";
  expect_invalid(p521, "unsupported key: EC curve P-521");

  json short_x = rfc7515_ec_jwk();
  short_x["x"] = acme::base64url_encode(std::string(31, 'x'));
  expect_invalid(short_x, "JWK: P-256 coordinates must be 32 bytes");

  json off_curve = rfc7515_ec_jwk();
  off_curve["y"] = off_curve["x"];
  expect_invalid(off_curve, "");

  // d belongs to a different key than (x, y).
  json mismatched = cached_key(acme::KeyType::kEc256).public_jwk();
  mismatched["d"] = rfc7515_ec_jwk()["d"];
  expect_invalid(mismatched, "");
}

TEST_CASE("RFC 7638 §3.2: jwk_thumbprint validates members instead of throwing") {
  auto expect_invalid = [](const json& jwk) {
    CAPTURE(jwk.dump());
    auto thumb = acme::jwk_thumbprint(jwk);
    REQUIRE_FALSE(thumb.has_value());
    CHECK(thumb.error().code == acme::Errc::kInvalidInput);
  };
  expect_invalid(json("RSA"));
  expect_invalid(json::object());
  expect_invalid(json{{"kty", "RSA"}, {"e", "AQAB"}});
  expect_invalid(json{{"kty", "RSA"}, {"e", "AQAB"}, {"n", 5}});
  expect_invalid(json{{"kty", "EC"}, {"crv", "P-256"}, {"x", "AA"}});
  expect_invalid(json{{"kty", "oct"}, {"k", "AA"}});
  // Extra members do not change the thumbprint (RFC 7638 §3.3).
  json extra = rfc7638_public_jwk();
  extra["use"] = "sig";
  CHECK(acme::jwk_thumbprint(extra).value() == kRfc7638Thumbprint);
}

TEST_CASE("from_pem: garbage, empty and encrypted PEM give kInvalidInput") {
  for (const std::string& pem : {std::string(), std::string("garbage"),
                                 std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n"
                                             "-----END PRIVATE KEY-----\n")}) {
    auto key = acme::PrivateKey::from_pem(pem);
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error().code == acme::Errc::kInvalidInput);
    CHECK(key.error().message.rfind("PEM_read_bio_PrivateKey", 0) == 0);
  }

  // An encrypted key must fail, not prompt for a passphrase on the terminal.
  auto* pkey = static_cast<EVP_PKEY*>(cached_key(acme::KeyType::kEc256).native_handle());
  acme::detail::BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(bio);
  char pass[] = "secret";
  REQUIRE(PEM_write_bio_PKCS8PrivateKey(bio.get(), pkey, EVP_aes_256_cbc(), pass, 6, nullptr,
                                        nullptr) == 1);
  const std::string encrypted = acme::detail::bio_to_string(bio.get());
  REQUIRE(encrypted.find("ENCRYPTED PRIVATE KEY") != std::string::npos);
  auto key = acme::PrivateKey::from_pem(encrypted);
  REQUIRE_FALSE(key.has_value());
  CHECK(key.error().code == acme::Errc::kInvalidInput);
}

TEST_CASE("from_pem: traditional 'BEGIN EC/RSA PRIVATE KEY' PEM is accepted") {
  for (const acme::KeyType type : {acme::KeyType::kEc384, acme::KeyType::kRsa2048}) {
    const acme::PrivateKey& key = cached_key(type);
    const std::string pem =
        foreign_key_pem(static_cast<EVP_PKEY*>(key.native_handle()), /*traditional=*/true);
    CHECK(pem.find(type == acme::KeyType::kEc384 ? "BEGIN EC PRIVATE KEY"
                                                 : "BEGIN RSA PRIVATE KEY") != std::string::npos);
    auto again = acme::PrivateKey::from_pem(pem);
    REQUIRE_MESSAGE(again.has_value(), again.error().message);
    CHECK(again->type() == type);
    CHECK(again->thumbprint() == key.thumbprint());
  }
}

TEST_CASE("from_pem: unsupported key types are rejected with a clear message") {
  acme::detail::EvpPkeyPtr rsa1024(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024}));
  REQUIRE(rsa1024);
  auto key = acme::PrivateKey::from_pem(foreign_key_pem(rsa1024.get()));
  REQUIRE_FALSE(key.has_value());
  CHECK(key.error().code == acme::Errc::kInvalidInput);
  CHECK(key.error().message == "unsupported key: RSA 1024 bits");

  acme::detail::EvpPkeyPtr p521(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp521r1"));
  REQUIRE(p521);
  key = acme::PrivateKey::from_pem(foreign_key_pem(p521.get()));
  REQUIRE_FALSE(key.has_value());
  CHECK(key.error().message == "unsupported key: EC curve secp521r1");

  acme::detail::EvpPkeyPtr ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  REQUIRE(ed25519);
  key = acme::PrivateKey::from_pem(foreign_key_pem(ed25519.get()));
  REQUIRE_FALSE(key.has_value());
  CHECK(key.error().message == "unsupported key: ED25519");
}

TEST_CASE("PrivateKey moves keep the key") {
  auto first = acme::PrivateKey::generate(acme::KeyType::kEc256);
  REQUIRE(first.has_value());
  const std::string thumb = first->thumbprint();
  acme::PrivateKey moved(std::move(*first));
  CHECK(moved.thumbprint() == thumb);
  auto second = acme::PrivateKey::generate(acme::KeyType::kEc256);
  REQUIRE(second.has_value());
  *second = std::move(moved);
  CHECK(second->thumbprint() == thumb);
}
