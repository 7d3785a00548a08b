#include "acme/key.hpp"

#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <cstring>
#include <new>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "acme/base64url.hpp"
#include "ossl.hpp"

namespace acme {
namespace {

using detail::ossl_error;

// Curve size in bytes: the length of each JWK coordinate and of r and s in a JWS
// signature (RFC 7518 §3.4, §6.2.1.2).
std::size_t ec_field_bytes(KeyType type) noexcept { return type == KeyType::kEc384 ? 48 : 32; }

bool is_ec(KeyType type) noexcept { return type == KeyType::kEc256 || type == KeyType::kEc384; }

const EVP_MD* digest_for(KeyType type) noexcept {
  return type == KeyType::kEc384 ? EVP_sha384() : EVP_sha256();
}

const char* jwk_curve(KeyType type) noexcept { return type == KeyType::kEc384 ? "P-384" : "P-256"; }

// OpenSSL's own short name for the curve, accepted by every EC provider.
const char* ossl_curve(KeyType type) noexcept {
  return type == KeyType::kEc384 ? SN_secp384r1 : SN_X9_62_prime256v1;
}

// PEM passphrase callback that refuses: an encrypted key fails instead of OpenSSL prompting
// on the terminal of a daemon.
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return 0; }

// Identifies one of the five supported key types, or says exactly what the key is.
Result<KeyType> classify(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    const int bits = EVP_PKEY_get_bits(pkey);
    switch (bits) {
      case 2048: return KeyType::kRsa2048;
      case 3072: return KeyType::kRsa3072;
      case 4096: return KeyType::kRsa4096;
      default:
        return make_error(Errc::kInvalidInput,
                          "unsupported key: RSA " + std::to_string(bits) + " bits");
    }
  }
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char name[80] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey, name, sizeof(name), &len) != 1) {
      ERR_clear_error();
      return make_error(Errc::kInvalidInput,
                        "unsupported key: EC key without a named curve (explicit parameters)");
    }
    int nid = OBJ_sn2nid(name);
    if (nid == NID_undef) nid = EC_curve_nist2nid(name);
    if (nid == NID_X9_62_prime256v1) return KeyType::kEc256;
    if (nid == NID_secp384r1) return KeyType::kEc384;
    return make_error(Errc::kInvalidInput, std::string("unsupported key: EC curve ") + name);
  }
  const char* name = EVP_PKEY_get0_type_name(pkey);
  return make_error(Errc::kInvalidInput,
                    std::string("unsupported key: ") + (name != nullptr ? name : "unknown type"));
}

// Unsigned big-endian bytes of a key parameter; pad > 0 left-pads to that width.
Result<std::string> bn_param(EVP_PKEY* pkey, const char* param, int pad) {
  BIGNUM* raw = nullptr;
  const int ok = EVP_PKEY_get_bn_param(pkey, param, &raw);
  detail::BnPtr bn(raw);
  if (ok != 1) return ossl_error(std::string("EVP_PKEY_get_bn_param(") + param + ")");
  const int size = pad > 0 ? pad : BN_num_bytes(bn.get());
  std::string out(static_cast<std::size_t>(size), '\0');
  auto* data = reinterpret_cast<unsigned char*>(out.data());
  const int written = pad > 0 ? BN_bn2binpad(bn.get(), data, pad) : BN_bn2bin(bn.get(), data);
  if (written != size) return ossl_error(std::string("BN_bn2binpad(") + param + ")");
  return out;
}

// RFC 7638 §3.2: only the required members, so nlohmann's dump() (sorted keys, no
// whitespace) is the canonical form. RSA n and e carry no leading zero octets
// (RFC 7518 §6.3.1); EC x and y are full-length (RFC 7518 §6.2.1.2).
Result<nlohmann::json> make_public_jwk(EVP_PKEY* pkey, KeyType type) {
  if (is_ec(type)) {
    const int size = static_cast<int>(ec_field_bytes(type));
    ACME_ASSIGN(std::string x, bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, size));
    ACME_ASSIGN(std::string y, bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, size));
    return nlohmann::json{{"crv", jwk_curve(type)},
                          {"kty", "EC"},
                          {"x", base64url_encode(x)},
                          {"y", base64url_encode(y)}};
  }
  ACME_ASSIGN(std::string n, bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, 0));
  ACME_ASSIGN(std::string e, bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, 0));
  return nlohmann::json{{"e", base64url_encode(e)}, {"kty", "RSA"}, {"n", base64url_encode(n)}};
}

// DER: tag, definite length, contents.
std::string der(unsigned char tag, std::string_view contents) {
  std::string out(1, static_cast<char>(tag));
  const std::size_t n = contents.size();
  if (n < 0x80) {
    out += static_cast<char>(n);
  } else if (n < 0x100) {
    out += '\x81';
    out += static_cast<char>(n);
  } else {
    out += '\x82';
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  }
  out.append(contents);
  return out;
}

// PrivateKeyInfo of an EC key, as OpenSSL's PKCS#8 encoder writes it.
Result<std::string> ec_pkcs8_der(EVP_PKEY* pkey, KeyType type) {
  static constexpr std::string_view kEcPublicKey{"\x06\x07\x2a\x86\x48\xce\x3d\x02\x01", 9};
  static constexpr std::string_view kP256{"\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 10};
  static constexpr std::string_view kP384{"\x06\x05\x2b\x81\x04\x00\x22", 7};
  ACME_ASSIGN(std::string priv,
              bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, static_cast<int>(ec_field_bytes(type))));
  std::size_t pub_len = 0;
  unsigned char pub[1 + 2 * 48];
  if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &pub_len) !=
          1 ||
      pub_len != 1 + 2 * ec_field_bytes(type) || pub[0] != 0x04) {
    OPENSSL_cleanse(priv.data(), priv.size());
    return ossl_error("EVP_PKEY_get_octet_string_param(pub)");
  }
  std::string bits(1, '\0');
  bits.append(reinterpret_cast<const char*>(pub), pub_len);
  std::string sec1 =
      der(0x30, std::string("\x02\x01\x01", 3) + der(0x04, priv) + der(0xa1, der(0x03, bits)));
  OPENSSL_cleanse(priv.data(), priv.size());
  std::string alg =
      der(0x30, std::string(kEcPublicKey) + std::string(type == KeyType::kEc384 ? kP384 : kP256));
  std::string out = der(0x30, std::string("\x02\x01\x00", 3) + alg + der(0x04, sec1));
  OPENSSL_cleanse(sec1.data(), sec1.size());
  return out;
}

// Everything a PrivateKey caches, computed once so the accessors cannot fail.
struct LoadedKey {
  detail::EvpPkeyPtr pkey;
  KeyType type;
  nlohmann::json jwk;
  std::string thumbprint;
};

Result<LoadedKey> load(detail::EvpPkeyPtr pkey) {
  ACME_ASSIGN(KeyType type, classify(pkey.get()));
  ACME_ASSIGN(nlohmann::json jwk, make_public_jwk(pkey.get(), type));
  ACME_ASSIGN(std::string thumbprint, jwk_thumbprint(jwk));
  return LoadedKey{std::move(pkey), type, std::move(jwk), std::move(thumbprint)};
}

// A base64url JWK member decoded to bytes; an error names the member.
Result<std::string> jwk_bytes(const nlohmann::json& jwk, const char* name) {
  const auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return make_error(Errc::kInvalidInput, std::string("JWK: missing member \"") + name + "\"");
  }
  auto bytes = base64url_decode(it->get_ref<const std::string&>());
  if (!bytes || bytes->empty()) {
    return make_error(Errc::kInvalidInput,
                      std::string("JWK: member \"") + name + "\" is not base64url");
  }
  return std::move(*bytes);
}

// Builds the key from OSSL_PARAMs (RFC 7517/7518 members mapped to OSSL_PKEY_PARAM_*).
Result<detail::EvpPkeyPtr> key_from_params(const char* key_type, OSSL_PARAM_BLD* bld) {
  detail::OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) return ossl_error("OSSL_PARAM_BLD_to_param");
  detail::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, key_type, nullptr));
  if (!ctx) return ossl_error("EVP_PKEY_CTX_new_from_name");
  if (EVP_PKEY_fromdata_init(ctx.get()) != 1) return ossl_error("EVP_PKEY_fromdata_init");
  EVP_PKEY* raw = nullptr;
  const int ok = EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get());
  detail::EvpPkeyPtr pkey(raw);
  if (ok != 1) return ossl_error("EVP_PKEY_fromdata", Errc::kInvalidInput);
  return pkey;
}

// One DER TLV: tag byte, contents. Definite lengths up to 4 bytes (DER has no others).
struct Tlv {
  unsigned char tag = 0;
  const unsigned char* data = nullptr;
  std::size_t len = 0;
};

// Reads the TLV at p (advancing p past it); false when it does not fit in [p, end).
bool read_tlv(const unsigned char*& p, const unsigned char* end, Tlv& out) {
  if (end - p < 2) return false;
  out.tag = *p++;
  std::size_t len = *p++;
  if (len & 0x80) {
    const std::size_t n = len & 0x7f;
    if (n == 0 || n > 4 || static_cast<std::size_t>(end - p) < n) return false;
    len = 0;
    for (std::size_t i = 0; i < n; ++i) len = (len << 8) | *p++;
  }
  if (static_cast<std::size_t>(end - p) < len) return false;
  out.data = p;
  out.len = len;
  p += len;
  return true;
}

// The named curve of an encoded OBJECT IDENTIFIER TLV, when it is P-256 or P-384.
const char* curve_of_oid(const unsigned char* tlv, std::size_t len) {
  const unsigned char* p = tlv;
  std::unique_ptr<ASN1_OBJECT, detail::OsslDeleter<&ASN1_OBJECT_free>> obj(
      d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(len)));
  if (!obj) return nullptr;
  switch (OBJ_obj2nid(obj.get())) {
    case NID_X9_62_prime256v1: return SN_X9_62_prime256v1;
    case NID_secp384r1: return SN_secp384r1;
    default: return nullptr;
  }
}

// RFC 5915 ECPrivateKey { version 1, privateKey OCTET STRING, [0] parameters OPTIONAL,
// [1] publicKey BIT STRING OPTIONAL } with a P-256/P-384 curve (from [0] or from the
// PKCS#8 algorithm, `curve`) and a public key: built with EVP_PKEY_fromdata.
detail::EvpPkeyPtr ec_key_from_sec1(const unsigned char* p, std::size_t len, const char* curve) {
  const unsigned char* end = p + len;
  Tlv seq, version, priv, item;
  if (!read_tlv(p, end, seq) || seq.tag != 0x30) return nullptr;
  p = seq.data;
  end = seq.data + seq.len;
  if (!read_tlv(p, end, version) || version.tag != 0x02 || version.len != 1 ||
      version.data[0] != 1) {
    return nullptr;
  }
  if (!read_tlv(p, end, priv) || priv.tag != 0x04 || priv.len == 0) return nullptr;
  const unsigned char* pub = nullptr;
  std::size_t pub_len = 0;
  while (p < end) {
    if (!read_tlv(p, end, item)) return nullptr;
    if (item.tag == 0xa0) {
      const char* named = curve_of_oid(item.data, item.len);
      if (named == nullptr || (curve != nullptr && std::string_view(named) != curve))
        return nullptr;
      curve = named;
    } else if (item.tag == 0xa1) {
      const unsigned char* q = item.data;
      Tlv bits;
      if (!read_tlv(q, item.data + item.len, bits) || bits.tag != 0x03 || bits.len < 2 ||
          bits.data[0] != 0) {
        return nullptr;
      }
      pub = bits.data + 1;
      pub_len = bits.len - 1;
    }
  }
  if (curve == nullptr || pub == nullptr) return nullptr;
  detail::SecretBnPtr d(BN_bin2bn(priv.data, static_cast<int>(priv.len), nullptr));
  detail::OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!d || !bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  auto key = key_from_params("EC", bld.get());
  if (!key) {
    ERR_clear_error();
    return nullptr;
  }
  return std::move(*key);
}

// The fast path of from_pem: an unencrypted "PRIVATE KEY" (PKCS#8) or "EC PRIVATE KEY"
// (SEC1) PEM of a P-256/P-384 key. nullptr for anything else, which then goes through
// PEM_read_bio_PrivateKey (and fails or succeeds there as it always did).
detail::EvpPkeyPtr ec_key_from_pem(std::string_view pem) {
  detail::BioPtr bio = detail::bio_from_string(pem);
  if (!bio) return nullptr;
  char* raw_name = nullptr;
  char* raw_header = nullptr;
  unsigned char* raw_data = nullptr;
  long len = 0;
  const int ok = PEM_read_bio(bio.get(), &raw_name, &raw_header, &raw_data, &len);
  detail::OsslStringPtr name(raw_name), header(raw_header);
  std::unique_ptr<unsigned char, detail::OsslFreeDeleter> data(raw_data);
  detail::EvpPkeyPtr key;
  if (ok == 1 && header && header.get()[0] == '\0' && len > 0) {
    const std::string_view type(name.get());
    if (type == "EC PRIVATE KEY") {
      key = ec_key_from_sec1(data.get(), static_cast<std::size_t>(len), nullptr);
    } else if (type == "PRIVATE KEY") {
      // PrivateKeyInfo { version 0, AlgorithmIdentifier { id-ecPublicKey, namedCurve },
      // privateKey OCTET STRING (an ECPrivateKey), [0] attributes OPTIONAL }
      const unsigned char* p = data.get();
      const unsigned char* end = p + len;
      Tlv seq, version, alg, oid, params, octets;
      static constexpr unsigned char kEcPublicKey[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
      if (read_tlv(p, end, seq) && seq.tag == 0x30 &&
          (p = seq.data, end = seq.data + seq.len, read_tlv(p, end, version)) &&
          version.tag == 0x02 && version.len == 1 && version.data[0] == 0 &&
          read_tlv(p, end, alg) && alg.tag == 0x30 && read_tlv(p, end, octets) &&
          octets.tag == 0x04) {
        const unsigned char* a = alg.data;
        const unsigned char* a_end = alg.data + alg.len;
        const unsigned char* params_start = nullptr;
        if (read_tlv(a, a_end, oid) && oid.tag == 0x06 && oid.len == sizeof(kEcPublicKey) &&
            std::memcmp(oid.data, kEcPublicKey, sizeof(kEcPublicKey)) == 0 &&
            (params_start = a, read_tlv(a, a_end, params)) && params.tag == 0x06) {
          const char* curve =
              curve_of_oid(params_start, static_cast<std::size_t>(a - params_start));
          if (curve != nullptr) key = ec_key_from_sec1(octets.data, octets.len, curve);
        }
      }
    }
  }
  if (data) OPENSSL_cleanse(data.get(), static_cast<std::size_t>(len));
  ERR_clear_error();
  return key;
}

Result<detail::EvpPkeyPtr> rsa_from_jwk(const nlohmann::json& jwk) {
  detail::OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld) return ossl_error("OSSL_PARAM_BLD_new");
  // The builder only references the BIGNUMs, so they live until the key is built.
  std::vector<detail::SecretBnPtr> numbers;
  auto push = [&](const char* member, const char* param) -> Result<void> {
    ACME_ASSIGN(std::string bytes, jwk_bytes(jwk, member));
    detail::SecretBnPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                                     static_cast<int>(bytes.size()), nullptr));
    OPENSSL_cleanse(bytes.data(), bytes.size());
    if (!bn) return ossl_error("BN_bin2bn");
    if (OSSL_PARAM_BLD_push_BN(bld.get(), param, bn.get()) != 1) {
      return ossl_error("OSSL_PARAM_BLD_push_BN");
    }
    numbers.push_back(std::move(bn));
    return ok();
  };
  ACME_CHECK(push("n", OSSL_PKEY_PARAM_RSA_N));
  ACME_CHECK(push("e", OSSL_PKEY_PARAM_RSA_E));
  ACME_CHECK(push("d", OSSL_PKEY_PARAM_RSA_D));
  // RFC 7518 §6.3.2: the CRT members come all together or not at all.
  static constexpr std::pair<const char*, const char*> kCrt[] = {
      {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
      {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
      {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
      {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
      {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
  int present = 0;
  for (const auto& [member, param] : kCrt) present += jwk.contains(member) ? 1 : 0;
  if (present != 0 && present != 5) {
    return make_error(Errc::kInvalidInput, "JWK: RSA key has only some of p, q, dp, dq, qi");
  }
  if (jwk.contains("oth")) {
    return make_error(Errc::kInvalidInput, "JWK: multi-prime RSA keys (\"oth\") are not supported");
  }
  if (present == 5) {
    for (const auto& [member, param] : kCrt) ACME_CHECK(push(member, param));
  }
  return key_from_params("RSA", bld.get());
}

Result<detail::EvpPkeyPtr> ec_from_jwk(const nlohmann::json& jwk) {
  const auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string()) {
    return make_error(Errc::kInvalidInput, "JWK: missing member \"crv\"");
  }
  KeyType type;
  if (*crv == "P-256") {
    type = KeyType::kEc256;
  } else if (*crv == "P-384") {
    type = KeyType::kEc384;
  } else {
    return make_error(Errc::kInvalidInput,
                      "unsupported key: EC curve " + crv->get_ref<const std::string&>());
  }
  const std::size_t size = ec_field_bytes(type);
  ACME_ASSIGN(std::string x, jwk_bytes(jwk, "x"));
  ACME_ASSIGN(std::string y, jwk_bytes(jwk, "y"));
  ACME_ASSIGN(std::string d, jwk_bytes(jwk, "d"));
  // RFC 7518 §6.2.1.2 and §6.2.2.1: x, y and d are exactly the curve size.
  if (x.size() != size || y.size() != size || d.size() != size) {
    OPENSSL_cleanse(d.data(), d.size());
    return make_error(Errc::kInvalidInput, std::string("JWK: ") + jwk_curve(type) +
                                               " coordinates must be " + std::to_string(size) +
                                               " bytes");
  }
  // SEC 1 §2.3.3 uncompressed point: 0x04 || x || y.
  const std::string point = std::string(1, '\x04') + x + y;
  detail::SecretBnPtr priv(BN_bin2bn(reinterpret_cast<const unsigned char*>(d.data()),
                                     static_cast<int>(d.size()), nullptr));
  OPENSSL_cleanse(d.data(), d.size());
  if (!priv) return ossl_error("BN_bin2bn");
  detail::OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld) return ossl_error("OSSL_PARAM_BLD_new");
  if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, ossl_curve(type), 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) != 1) {
    return ossl_error("OSSL_PARAM_BLD_push");
  }
  return key_from_params("EC", bld.get());
}

// The public and private halves of an imported key must belong together, or every
// signature would be rejected by the CA with a confusing "badSignature".
Result<void> check_pair(EVP_PKEY* pkey) {
  detail::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx) return ossl_error("EVP_PKEY_CTX_new_from_pkey");
  if (EVP_PKEY_pairwise_check(ctx.get()) != 1) {
    return ossl_error("JWK: private key does not match public key: EVP_PKEY_pairwise_check",
                      Errc::kInvalidInput);
  }
  return ok();
}

}  // namespace

Result<KeyType> parse_key_type(std::string_view name) {
  for (const KeyType t : {KeyType::kEc256, KeyType::kEc384, KeyType::kRsa2048, KeyType::kRsa3072,
                          KeyType::kRsa4096}) {
    if (to_string(t) == name) return t;
  }
  return make_error(Errc::kInvalidInput,
                    "unknown key type \"" + std::string(name) +
                        "\" (expected ec256, ec384, rsa2048, rsa3072 or rsa4096)");
}

std::string_view to_string(KeyType type) noexcept {
  switch (type) {
    case KeyType::kEc256: return "ec256";
    case KeyType::kEc384: return "ec384";
    case KeyType::kRsa2048: return "rsa2048";
    case KeyType::kRsa3072: return "rsa3072";
    case KeyType::kRsa4096: return "rsa4096";
  }
  return "unknown";
}

struct PrivateKey::Impl {
  detail::EvpPkeyPtr pkey;
  nlohmann::json jwk;
  std::string thumbprint;
};

PrivateKey::PrivateKey(std::unique_ptr<Impl> impl, KeyType type) noexcept
    : impl_(std::move(impl)), type_(type) {}
PrivateKey::PrivateKey(PrivateKey&&) noexcept = default;
PrivateKey& PrivateKey::operator=(PrivateKey&&) noexcept = default;
PrivateKey::~PrivateKey() = default;

Result<PrivateKey> PrivateKey::generate(KeyType type) {
  // EVP_PKEY_Q_keygen's RSA default public exponent is 65537.
  std::size_t rsa_bits = 0;
  switch (type) {
    case KeyType::kRsa2048: rsa_bits = 2048; break;
    case KeyType::kRsa3072: rsa_bits = 3072; break;
    case KeyType::kRsa4096: rsa_bits = 4096; break;
    default: break;
  }
  detail::EvpPkeyPtr pkey(is_ec(type) ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", ossl_curve(type))
                                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", rsa_bits));
  if (!pkey) return ossl_error("EVP_PKEY_Q_keygen");
  ACME_ASSIGN(LoadedKey key, load(std::move(pkey)));
  auto impl = std::make_unique<Impl>(
      Impl{std::move(key.pkey), std::move(key.jwk), std::move(key.thumbprint)});
  return PrivateKey(std::move(impl), key.type);
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  // P-256 and P-384 keys (what acmectl makes) without OpenSSL 3.0's decoder machinery: it
  // builds a chain of every decoder of every provider on each call (~5 M instructions
  // per key, no cache before OpenSSL 3.1). Any other PEM takes the general path below.
  if (detail::EvpPkeyPtr fast = ec_key_from_pem(pem)) {
    ACME_ASSIGN(LoadedKey key, load(std::move(fast)));
    auto impl = std::make_unique<Impl>(
        Impl{std::move(key.pkey), std::move(key.jwk), std::move(key.thumbprint)});
    return PrivateKey(std::move(impl), key.type);
  }
  detail::BioPtr bio = detail::bio_from_string(pem);
  if (!bio) return ossl_error("BIO_new_mem_buf", Errc::kInvalidInput);
  detail::EvpPkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!pkey) {
    return ossl_error("PEM_read_bio_PrivateKey: no unencrypted private key in PEM",
                      Errc::kInvalidInput);
  }
  ERR_clear_error();  // the decoder may leave notes from the formats it tried first
  ACME_ASSIGN(LoadedKey key, load(std::move(pkey)));
  auto impl = std::make_unique<Impl>(
      Impl{std::move(key.pkey), std::move(key.jwk), std::move(key.thumbprint)});
  return PrivateKey(std::move(impl), key.type);
}

Result<PrivateKey> PrivateKey::from_jwk(const nlohmann::json& jwk) {
  try {
    if (!jwk.is_object()) return make_error(Errc::kInvalidInput, "JWK: not a JSON object");
    const auto kty = jwk.find("kty");
    if (kty == jwk.end() || !kty->is_string()) {
      return make_error(Errc::kInvalidInput, "JWK: missing member \"kty\"");
    }
    if (*kty != "RSA" && *kty != "EC") {
      return make_error(Errc::kInvalidInput,
                        "unsupported key: JWK kty " + kty->get_ref<const std::string&>());
    }
    ACME_ASSIGN(detail::EvpPkeyPtr pkey, *kty == "RSA" ? rsa_from_jwk(jwk) : ec_from_jwk(jwk));
    ACME_ASSIGN(LoadedKey key, load(std::move(pkey)));
    // A key without CRT parameters cannot be pairwise-checked by OpenSSL; its public half
    // is still validated when the CA verifies the first signature.
    if (is_ec(key.type) || jwk.contains("p")) ACME_CHECK(check_pair(key.pkey.get()));
    auto impl = std::make_unique<Impl>(
        Impl{std::move(key.pkey), std::move(key.jwk), std::move(key.thumbprint)});
    return PrivateKey(std::move(impl), key.type);
  } catch (const nlohmann::json::exception& e) {
    return make_error(Errc::kInvalidInput, std::string("JWK: ") + e.what());
  }
}

Result<std::string> PrivateKey::to_pem() const {
  detail::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return ossl_error("BIO_new");
  if (is_ec(type_)) {
    // The same PKCS#8 bytes PEM_write_bio_PrivateKey writes (RFC 5915 ECPrivateKey with
    // the public key and without parameters, inside PrivateKeyInfo), without OpenSSL
    // 3.0's encoder chain (~4 M instructions per call).
    ACME_ASSIGN(std::string der, ec_pkcs8_der(impl_->pkey.get(), type_));
    const int ok = PEM_write_bio(bio.get(), "PRIVATE KEY", "",
                                 reinterpret_cast<const unsigned char*>(der.data()),
                                 static_cast<long>(der.size()));
    OPENSSL_cleanse(der.data(), der.size());
    if (ok <= 0) return ossl_error("PEM_write_bio");
    return detail::bio_to_string(bio.get());
  }
  // PEM_write_bio_PrivateKey writes unencrypted PKCS#8 ("BEGIN PRIVATE KEY").
  if (PEM_write_bio_PrivateKey(bio.get(), impl_->pkey.get(), nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    return ossl_error("PEM_write_bio_PrivateKey");
  }
  return detail::bio_to_string(bio.get());
}

const char* PrivateKey::jws_alg() const noexcept {
  // RFC 7518 §3.1.
  switch (type_) {
    case KeyType::kEc256: return "ES256";
    case KeyType::kEc384: return "ES384";
    default: return "RS256";
  }
}

nlohmann::json PrivateKey::public_jwk() const { return impl_->jwk; }

std::string PrivateKey::thumbprint() const { return impl_->thumbprint; }

Result<std::string> PrivateKey::sign(std::string_view data) const {
  detail::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return ossl_error("EVP_MD_CTX_new");
  // RS256 is RSASSA-PKCS1-v1_5, OpenSSL's default RSA padding (RFC 7518 §3.3).
  if (EVP_DigestSignInit(ctx.get(), nullptr, digest_for(type_), nullptr, impl_->pkey.get()) != 1) {
    return ossl_error("EVP_DigestSignInit");
  }
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1) {
    return ossl_error("EVP_DigestSign");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     data.size()) != 1) {
    return ossl_error("EVP_DigestSign");
  }
  sig.resize(len);
  if (!is_ec(type_)) return sig;

  // RFC 7518 §3.4: ECDSA JWS signatures are R || S, each a big-endian integer padded to the
  // curve size, not the DER ECDSA-Sig-Value OpenSSL produces.
  const auto* der = reinterpret_cast<const unsigned char*>(sig.data());
  detail::EcdsaSigPtr ecdsa(d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(sig.size())));
  if (!ecdsa) return ossl_error("d2i_ECDSA_SIG");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(ecdsa.get(), &r, &s);
  const int size = static_cast<int>(ec_field_bytes(type_));
  std::string raw(static_cast<std::size_t>(2 * size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, size) != size || BN_bn2binpad(s, out + size, size) != size) {
    return ossl_error("BN_bn2binpad(ECDSA r, s)");
  }
  return raw;
}

void* PrivateKey::native_handle() const noexcept { return impl_->pkey.get(); }

Result<std::string> jwk_thumbprint(const nlohmann::json& jwk) {
  try {
    if (!jwk.is_object()) return make_error(Errc::kInvalidInput, "JWK: not a JSON object");
    const auto kty = jwk.find("kty");
    if (kty == jwk.end() || !kty->is_string()) {
      return make_error(Errc::kInvalidInput, "JWK: missing member \"kty\"");
    }
    // RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace;
    // nlohmann::json keeps object keys sorted, so dump() produces exactly that.
    std::vector<const char*> members;
    if (*kty == "RSA") {
      members = {"e", "kty", "n"};
    } else if (*kty == "EC") {
      members = {"crv", "kty", "x", "y"};
    } else {
      return make_error(Errc::kInvalidInput,
                        "unsupported key: JWK kty " + kty->get_ref<const std::string&>());
    }
    nlohmann::json canonical = nlohmann::json::object();
    for (const char* name : members) {
      const auto it = jwk.find(name);
      if (it == jwk.end() || !it->is_string()) {
        return make_error(Errc::kInvalidInput, std::string("JWK: missing member \"") + name + "\"");
      }
      canonical[name] = *it;
    }
    return base64url_encode(sha256(canonical.dump()));
  } catch (const nlohmann::json::exception& e) {
    return make_error(Errc::kInvalidInput, std::string("JWK: ") + e.what());
  }
}

std::string key_authorization(std::string_view token, const PrivateKey& account_key) {
  // RFC 8555 §8.1: keyAuthorization = token || '.' || base64url(Thumbprint(accountKey)).
  std::string out(token);
  out += '.';
  out += account_key.thumbprint();
  return out;
}

std::string dns01_txt_value(std::string_view key_authorization) {
  // RFC 8555 §8.4: the TXT record holds base64url(SHA-256(keyAuthorization)).
  return base64url_encode(sha256(key_authorization));
}

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    // Hashing bytes already in memory fails only when OpenSSL cannot allocate its context;
    // bad_alloc is the one exception libacme lets escape (ARCHITECTURE.md).
    ERR_clear_error();
    throw std::bad_alloc();
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

}  // namespace acme
