// JWS signing: RFC 7515 Appendix A vectors, RFC 7518 §3.4 raw ECDSA signatures, and the
// RFC 8555 §6.2 protected header.
#include "acme/jws.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "acme/base64url.hpp"
#include "acme/key.hpp"
#include "ossl.hpp"

namespace {

using nlohmann::json;

// RFC 7515 Appendix A.2.1: the RSA key.
json rfc7515_rsa_jwk() {
  return {
      {"kty", "RSA"},
      {"n",
       "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm"
       "4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5"
       "rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGh"
       "yxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"},
      {"e", "AQAB"},
      {"d",
       "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NX"
       "OoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V"
       "51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jT"
       "j3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ"},
      {"p",
       "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5"
       "PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc"},
      {"q",
       "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQe"
       "ZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc"},
      {"dp",
       "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1"
       "R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0"},
      {"dq",
       "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0aj"
       "aHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU"},
      {"qi",
       "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7"
       "YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"},
  };
}

// RFC 7515 A.2.1 (and A.1, A.3): the JWS Payload, base64url-encoded.
constexpr const char* kPayloadB64 =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
    "fQ";

// RFC 7515 A.2.1: the expected RS256 signature.
constexpr const char* kRs256Signature =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5j"
    "ujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L"
    "07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEU"
    "ipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

// RFC 7515 A.3.1: the P-256 key and the ES256 signature it produced (ECDSA is randomized,
// so this one can only be verified, not reproduced).
json rfc7515_ec_jwk() {
  return {{"kty", "EC"},
          {"crv", "P-256"},
          {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
          {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
          {"d", "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}};
}
constexpr const char* kEs256Signature =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

acme::PrivateKey import(const json& jwk) {
  auto key = acme::PrivateKey::from_jwk(jwk);
  REQUIRE_MESSAGE(key.has_value(), key.error().message);
  return std::move(*key);
}

acme::PrivateKey generate(acme::KeyType type) {
  auto key = acme::PrivateKey::generate(type);
  REQUIRE_MESSAGE(key.has_value(), key.error().message);
  return std::move(*key);
}

// Independent check of a JWS signature with OpenSSL: for ECDSA the raw r||s (RFC 7518
// §3.4) is turned back into a DER ECDSA-Sig-Value first.
bool verify(const acme::PrivateKey& key, const std::string& input, const std::string& sig) {
  auto* pkey = static_cast<EVP_PKEY*>(key.native_handle());
  std::string der = sig;
  const EVP_MD* md = EVP_sha256();
  if (key.type() == acme::KeyType::kEc256 || key.type() == acme::KeyType::kEc384) {
    if (key.type() == acme::KeyType::kEc384) md = EVP_sha384();
    const std::size_t half = sig.size() / 2;
    const auto* raw = reinterpret_cast<const unsigned char*>(sig.data());
    acme::detail::EcdsaSigPtr ecdsa(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(raw, static_cast<int>(half), nullptr);
    BIGNUM* s = BN_bin2bn(raw + half, static_cast<int>(half), nullptr);
    if (!ecdsa || r == nullptr || s == nullptr || ECDSA_SIG_set0(ecdsa.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return false;
    }
    const int len = i2d_ECDSA_SIG(ecdsa.get(), nullptr);
    der.assign(static_cast<std::size_t>(len), '\0');
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    i2d_ECDSA_SIG(ecdsa.get(), &out);
  }
  acme::detail::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  ERR_clear_error();
  return ok;
}

std::string decode(const json& value) {
  auto bytes = acme::base64url_decode(value.get<std::string>());
  REQUIRE(bytes.has_value());
  return *bytes;
}

}  // namespace

TEST_CASE("RFC 7515 A.2: RS256 JWS signature matches byte for byte") {
  const acme::PrivateKey key = import(rfc7515_rsa_jwk());
  CHECK(std::string(key.jws_alg()) == "RS256");
  auto sig = acme::sign_jws_input(key, "eyJhbGciOiJSUzI1NiJ9", kPayloadB64);
  REQUIRE_MESSAGE(sig.has_value(), sig.error().message);
  CHECK(*sig == kRs256Signature);
}

TEST_CASE("RFC 8555 §8.1: key authorization with the RFC 7515 A.2 key") {
  const acme::PrivateKey key = import(rfc7515_rsa_jwk());
  auto thumb = acme::jwk_thumbprint(rfc7515_rsa_jwk());  // private members are ignored
  REQUIRE(thumb.has_value());
  CHECK(key.thumbprint() == *thumb);
  const std::string token = "DGyRejmCefe7v4NfDGDKfA";
  CHECK(acme::key_authorization(token, key) == token + "." + key.thumbprint());
}

TEST_CASE("RFC 7515 A.3: the ES256 example signature verifies as raw r||s") {
  const acme::PrivateKey key = import(rfc7515_ec_jwk());
  const std::string input = std::string("eyJhbGciOiJFUzI1NiJ9.") + kPayloadB64;
  const auto sig = acme::base64url_decode(kEs256Signature);
  REQUIRE(sig.has_value());
  REQUIRE(sig->size() == 64);
  CHECK(verify(key, input, *sig));
  std::string tampered = *sig;
  tampered[10] = static_cast<char>(tampered[10] ^ 1);
  CHECK_FALSE(verify(key, input, tampered));
}

TEST_CASE("RFC 7518 §3.4: ES256 and ES384 signatures are raw r||s of 64 and 96 bytes") {
  const std::pair<acme::KeyType, std::size_t> kCases[] = {{acme::KeyType::kEc256, 64},
                                                          {acme::KeyType::kEc384, 96}};
  for (const auto& [type, size] : kCases) {
    CAPTURE(acme::to_string(type));
    const acme::PrivateKey key = generate(type);
    // Many signatures, so a short r or s (leading zero byte) is padded at least sometimes.
    for (int i = 0; i < 64; ++i) {
      const std::string input = "protected.payload" + std::to_string(i);
      auto sig = key.sign(input);
      REQUIRE(sig.has_value());
      CHECK(sig->size() == size);
      CHECK(verify(key, input, *sig));
    }
    auto sig = acme::sign_jws_input(key, "eyJhbGciOiJFUzI1NiJ9", kPayloadB64);
    REQUIRE(sig.has_value());
    CHECK(decode(*sig).size() == size);
  }
}

TEST_CASE("RFC 7518 §3.3: RS256 signatures verify with PKCS#1 v1.5 SHA-256") {
  const acme::PrivateKey key = generate(acme::KeyType::kRsa2048);
  auto sig = key.sign("data");
  REQUIRE(sig.has_value());
  CHECK(sig->size() == 256);
  CHECK(verify(key, "data", *sig));
  CHECK_FALSE(verify(key, "other data", *sig));
}

TEST_CASE("RFC 8555 §6.2: sign_jws with kid puts alg, kid, nonce, url in the header") {
  const acme::PrivateKey key = generate(acme::KeyType::kEc256);
  acme::JwsProtected header;
  header.url = "https://example.com/acme/new-order";
  header.nonce = "6S8IqOGY7eL2lsGoTZYifg";
  header.kid = "https://example.com/acme/acct/evOfKhNU60wg";
  const std::string payload = R"({"identifiers":[{"type":"dns","value":"example.org"}]})";
  auto jws = acme::sign_jws(key, header, payload);
  REQUIRE_MESSAGE(jws.has_value(), jws.error().message);

  CHECK(jws->size() == 3);
  const std::string prot = decode((*jws)["protected"]);
  CHECK(prot == R"({"alg":"ES256","kid":"https://example.com/acme/acct/evOfKhNU60wg",)"
                R"("nonce":"6S8IqOGY7eL2lsGoTZYifg","url":"https://example.com/acme/new-order"})");
  CHECK(decode((*jws)["payload"]) == payload);
  const std::string input =
      (*jws)["protected"].get<std::string>() + "." + (*jws)["payload"].get<std::string>();
  CHECK(verify(key, input, decode((*jws)["signature"])));
}

TEST_CASE("RFC 8555 §6.2: sign_jws without kid embeds the public JWK") {
  const acme::PrivateKey key = import(rfc7515_rsa_jwk());
  acme::JwsProtected header;
  header.url = "https://example.com/acme/new-account";
  header.nonce = "nonce-1";
  auto jws = acme::sign_jws(key, header, R"({"termsOfServiceAgreed":true})");
  REQUIRE(jws.has_value());
  const json prot = json::parse(decode((*jws)["protected"]));
  const json expected = {{"alg", "RS256"},
                         {"jwk", key.public_jwk()},
                         {"nonce", "nonce-1"},
                         {"url", "https://example.com/acme/new-account"}};
  CHECK(prot == expected);
  CHECK(prot["jwk"].size() == 3);  // e, kty, n: no private members
  CHECK(decode((*jws)["protected"]) == expected.dump());
  const std::string input =
      (*jws)["protected"].get<std::string>() + "." + (*jws)["payload"].get<std::string>();
  CHECK(verify(key, input, decode((*jws)["signature"])));
}

TEST_CASE("RFC 8555 §7.3.5: the inner keyChange JWS has no nonce") {
  const acme::PrivateKey key = generate(acme::KeyType::kEc384);
  acme::JwsProtected header;
  header.url = "https://example.com/acme/key-change";
  auto jws = acme::sign_jws(key, header, R"({"account":"x"})");
  REQUIRE(jws.has_value());
  const json prot = json::parse(decode((*jws)["protected"]));
  CHECK_FALSE(prot.contains("nonce"));
  CHECK(prot["alg"] == "ES384");
  CHECK(prot["jwk"]["crv"] == "P-384");
}

TEST_CASE("RFC 8555 §6.3: POST-as-GET sends an empty payload string") {
  const acme::PrivateKey key = generate(acme::KeyType::kEc256);
  acme::JwsProtected header;
  header.url = "https://example.com/acme/order/1";
  header.nonce = "n";
  header.kid = "https://example.com/acme/acct/1";
  auto jws = acme::sign_jws(key, header, "");
  REQUIRE(jws.has_value());
  CHECK((*jws)["payload"] == "");
  const std::string input = (*jws)["protected"].get<std::string>() + ".";
  CHECK(verify(key, input, decode((*jws)["signature"])));
}

TEST_CASE("RFC 8555 §6.4: sign_jws refuses an empty url") {
  const acme::PrivateKey key = generate(acme::KeyType::kEc256);
  auto jws = acme::sign_jws(key, acme::JwsProtected{}, "{}");
  REQUIRE_FALSE(jws.has_value());
  CHECK(jws.error().code == acme::Errc::kInvalidInput);
}

TEST_CASE("sign_jws reports invalid UTF-8 in the header instead of throwing") {
  const acme::PrivateKey key = generate(acme::KeyType::kEc256);
  acme::JwsProtected header;
  header.url = "https://example.com/\xff";
  auto jws = acme::sign_jws(key, header, "{}");
  REQUIRE_FALSE(jws.has_value());
  CHECK(jws.error().code == acme::Errc::kInvalidInput);
}

namespace {

std::string to_hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// The MAC key of Pebble's example EAB config (kid-1), and the RFC 7515 A.3 EC public key.
constexpr const char* kEabKeyB64 =
    "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
const nlohmann::json kEabJwk = {{"kty", "EC"},
                                {"crv", "P-256"},
                                {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
                                {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}};

}  // namespace

TEST_CASE("RFC 4231 §4.3: HMAC-SHA-256/384/512 test case 2") {
  const std::string data = "what do ya want for nothing?";
  auto h256 = acme::jws_hmac("HS256", "Jefe", data);
  REQUIRE(h256.has_value());
  CHECK(to_hex(*h256) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  auto h384 = acme::jws_hmac("HS384", "Jefe", data);
  REQUIRE(h384.has_value());
  CHECK(to_hex(*h384) ==
        "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecf"
        "ab21649");
  auto h512 = acme::jws_hmac("HS512", "Jefe", data);
  REQUIRE(h512.has_value());
  CHECK(to_hex(*h512) ==
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f6"
        "5f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
  CHECK_FALSE(acme::jws_hmac("HS1", "Jefe", data).has_value());
  CHECK_FALSE(acme::jws_hmac("HS256", "", data).has_value());
}

TEST_CASE("RFC 8555 §7.3.4: the EAB inner JWS byte for byte (HS256, HS384, HS512)") {
  // Expected values computed independently (Python's hmac over the same signing input).
  acme::ExternalAccountBinding eab;
  eab.kid = "kid-1";
  eab.hmac_key = *acme::base64url_decode(kEabKeyB64);
  auto jws = acme::sign_eab(eab, "https://ca.test/new-account", kEabJwk);
  REQUIRE(jws.has_value());
  CHECK((*jws)["protected"] ==
        "eyJhbGciOiJIUzI1NiIsImtpZCI6ImtpZC0xIiwidXJsIjoiaHR0cHM6Ly9jYS50ZXN0L25ldy1hY2NvdW50In0");
  CHECK((*jws)["payload"] ==
        "eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImY4M09KM0QyeEYxQmc4dnViOXRMZTFnSE16Vjc2ZThUdXM5dV"
        "BIdlJWRVUiLCJ5IjoieF9GRXpSdTltMzZITE5fdHVlNjU5TE5wWFc2cEN5U3Rpa1lqS0lXSTVhMCJ9");
  CHECK((*jws)["signature"] == "gd02XRnkjBtjG3I9Ow9sKisr1ROWUhq8TSio_jBJHqk");
  // alg, kid, url and nothing else: no nonce, no jwk (§7.3.4).
  const auto prot =
      nlohmann::json::parse(*acme::base64url_decode((*jws)["protected"].get<std::string>()));
  CHECK(prot.size() == 3);
  CHECK(prot["url"] == "https://ca.test/new-account");
  CHECK(nlohmann::json::parse(*acme::base64url_decode((*jws)["payload"].get<std::string>())) ==
        kEabJwk);

  eab.alg = "HS384";
  jws = acme::sign_eab(eab, "https://ca.test/new-account", kEabJwk);
  REQUIRE(jws.has_value());
  CHECK((*jws)["signature"] == "o5_nMHYkJM2-FuRZopXNs-gRjqwlTSgadzJRusv9-B7euIC-fqGXfsojT-sdUa2n");
  eab.alg = "HS512";
  jws = acme::sign_eab(eab, "https://ca.test/new-account", kEabJwk);
  REQUIRE(jws.has_value());
  CHECK((*jws)["signature"] ==
        "KqgO2iuDAx8rcH25Ei-gF46Lt-QONEBGByUFYxkWRodIzXKJkv4jf9zeMwaYRIShcpIwfK7s8P2oCJm89RUkOw");
}

TEST_CASE("RFC 8555 §7.3.4: sign_eab refuses what cannot be bound") {
  acme::ExternalAccountBinding eab;
  eab.hmac_key = "k";
  CHECK_FALSE(acme::sign_eab(eab, "https://ca.test/new-account", kEabJwk).has_value());  // no kid
  eab.kid = "kid-1";
  eab.alg = "none";
  auto bad = acme::sign_eab(eab, "https://ca.test/new-account", kEabJwk);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message.find("External Account Binding") != std::string::npos);
}
