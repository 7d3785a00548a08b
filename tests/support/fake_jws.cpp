#include "fake_jws.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include <array>
#include <vector>

namespace acme::test {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct BnFree {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct SigFree {
  void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};
struct BldFree {
  void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::optional<std::string> member_bytes(const nlohmann::json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return std::nullopt;
  return b64url_decode(it->get<std::string>());
}

PkeyPtr from_params(const char* type, const OSSL_PARAM* params, std::string* error) {
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) !=
          1) {
    *error = std::string("EVP_PKEY_fromdata failed for ") + type + " jwk";
    return nullptr;
  }
  return PkeyPtr(raw);
}

PkeyPtr ec_from_jwk(const nlohmann::json& jwk, std::string* error) {
  const std::string crv = jwk.value("crv", "");
  std::size_t size = 0;
  std::string group;
  if (crv == "P-256") {
    size = 32;
    group = "prime256v1";
  } else if (crv == "P-384") {
    size = 48;
    group = "secp384r1";
  } else {
    *error = "unsupported EC curve '" + crv + "'";
    return nullptr;
  }
  auto x = member_bytes(jwk, "x");
  auto y = member_bytes(jwk, "y");
  // RFC 7518 §6.2.1.2: x and y MUST be the full coordinate size, leading zeros kept.
  if (!x || !y || x->size() != size || y->size() != size) {
    *error = "EC jwk x/y missing, not base64url or not " + std::to_string(size) + " bytes";
    return nullptr;
  }
  std::string point = "\x04" + *x + *y;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  return from_params("EC", params, error);
}

PkeyPtr rsa_from_jwk(const nlohmann::json& jwk, std::string* error) {
  auto n = member_bytes(jwk, "n");
  auto e = member_bytes(jwk, "e");
  if (!n || !e || n->empty() || e->empty()) {
    *error = "RSA jwk n/e missing or not base64url";
    return nullptr;
  }
  // RFC 7518 §6.3.1: no leading zero octets.
  if ((*n)[0] == '\0' || (*e)[0] == '\0') {
    *error = "RSA jwk n/e has leading zero octets";
    return nullptr;
  }
  BnPtr bn_n(BN_bin2bn(bytes(*n), static_cast<int>(n->size()), nullptr));
  BnPtr bn_e(BN_bin2bn(bytes(*e), static_cast<int>(e->size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    *error = "OSSL_PARAM_BLD failed";
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) {
    *error = "OSSL_PARAM_BLD_to_param failed";
    return nullptr;
  }
  PkeyPtr key = from_params("RSA", params.get(), error);
  if (key && EVP_PKEY_get_bits(key.get()) < 2048) {
    *error = "RSA key shorter than 2048 bits";
    return nullptr;
  }
  return key;
}

}  // namespace

std::string b64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = in.size() - i;
  if (rest == 1) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> b64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    const auto pos = kAlphabet.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Non-canonical encodings leave set bits behind; a strict server refuses them.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string random_b64url(std::size_t n) {
  std::vector<unsigned char> buf(n);
  if (RAND_bytes(buf.data(), static_cast<int>(n)) != 1) std::abort();  // broken invariant
  return b64url_encode(std::string_view(reinterpret_cast<const char*>(buf.data()), n));
}

std::string sha256_bytes(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

PkeyPtr pkey_from_jwk(const nlohmann::json& jwk, std::string* error) {
  if (!jwk.is_object()) {
    *error = "jwk is not a JSON object";
    return nullptr;
  }
  for (const char* priv : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    if (jwk.contains(priv)) {
      *error = std::string("jwk carries private member '") + priv + "'";
      return nullptr;
    }
  }
  const std::string kty = jwk.value("kty", "");
  if (kty == "EC") return ec_from_jwk(jwk, error);
  if (kty == "RSA") return rsa_from_jwk(jwk, error);
  *error = "unsupported jwk kty '" + kty + "'";
  return nullptr;
}

std::string alg_for_jwk(const nlohmann::json& jwk) {
  const std::string kty = jwk.value("kty", "");
  if (kty == "RSA") return "RS256";
  if (kty == "EC") {
    const std::string crv = jwk.value("crv", "");
    if (crv == "P-256") return "ES256";
    if (crv == "P-384") return "ES384";
  }
  return "";
}

std::string jwk_thumbprint_b64(const nlohmann::json& jwk) {
  // nlohmann::json objects are std::map-backed: dump() is lexicographic and compact.
  nlohmann::json canonical;
  if (jwk.value("kty", "") == "RSA") {
    canonical = {{"e", jwk.value("e", "")}, {"kty", "RSA"}, {"n", jwk.value("n", "")}};
  } else {
    canonical = {{"crv", jwk.value("crv", "")},
                 {"kty", jwk.value("kty", "")},
                 {"x", jwk.value("x", "")},
                 {"y", jwk.value("y", "")}};
  }
  return b64url_encode(sha256_bytes(canonical.dump()));
}

bool verify_jws_signature(EVP_PKEY* key, std::string_view alg, std::string_view input,
                          std::string_view signature, std::string* error) {
  const EVP_MD* md = alg == "ES384" ? EVP_sha384() : EVP_sha256();
  std::string sig(signature);
  if (alg == "ES256" || alg == "ES384") {
    const std::size_t half = alg == "ES256" ? 32 : 48;
    if (signature.size() != 2 * half) {
      *error = std::string(alg) + " signature is " + std::to_string(signature.size()) +
               " bytes, RFC 7518 §3.4 wants raw r||s of " + std::to_string(2 * half);
      return false;
    }
    std::unique_ptr<ECDSA_SIG, SigFree> ecdsa(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(bytes(signature), static_cast<int>(half), nullptr);
    BIGNUM* s = BN_bin2bn(bytes(signature.substr(half)), static_cast<int>(half), nullptr);
    if (!ecdsa || !r || !s || ECDSA_SIG_set0(ecdsa.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      *error = "ECDSA_SIG_set0 failed";
      return false;
    }
    const int len = i2d_ECDSA_SIG(ecdsa.get(), nullptr);
    if (len <= 0) {
      *error = "i2d_ECDSA_SIG failed";
      return false;
    }
    sig.assign(static_cast<std::size_t>(len), '\0');
    auto* p = reinterpret_cast<unsigned char*>(sig.data());
    i2d_ECDSA_SIG(ecdsa.get(), &p);
  } else if (alg != "RS256") {
    *error = "unsupported alg '" + std::string(alg) + "'";
    return false;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) != 1) {
    *error = "EVP_DigestVerifyInit failed";
    return false;
  }
  if (EVP_DigestVerify(ctx.get(), bytes(sig), sig.size(), bytes(input), input.size()) != 1) {
    *error = std::string(alg) + " signature does not verify";
    return false;
  }
  return true;
}

std::optional<FlattenedJws> parse_flattened_jws(const std::string& body, std::string* error) {
  const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    *error = "request body is not a JSON object";
    return std::nullopt;
  }
  for (const char* member : {"protected", "payload", "signature"}) {
    if (!j.contains(member) || !j[member].is_string()) {
      *error = std::string("flattened JWS lacks string member '") + member + "'";
      return std::nullopt;
    }
  }
  if (j.size() != 3) {
    *error = "flattened JWS has members besides protected/payload/signature: " + j.dump();
    return std::nullopt;
  }
  const std::string prot_b64 = j["protected"].get<std::string>();
  const std::string payload_b64 = j["payload"].get<std::string>();
  auto prot = b64url_decode(prot_b64);
  auto payload = b64url_decode(payload_b64);
  auto sig = b64url_decode(j["signature"].get<std::string>());
  if (!prot || !payload || !sig) {
    *error = "JWS member is not strict base64url";
    return std::nullopt;
  }
  FlattenedJws out;
  out.header = nlohmann::json::parse(*prot, nullptr, false);
  if (!out.header.is_object()) {
    *error = "protected header is not a JSON object";
    return std::nullopt;
  }
  out.payload = std::move(*payload);
  out.signing_input = prot_b64 + "." + payload_b64;
  out.signature = std::move(*sig);
  return out;
}

}  // namespace acme::test
