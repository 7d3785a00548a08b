// JWK and JWS as libacme reads and writes them:
//  - any JSON object as a JWK: jwk_thumbprint (RFC 7638) and PrivateKey::from_jwk (RFC 7517/
//    7518 private keys, as certbot stores account keys);
//  - a flattened JWS (RFC 7515 §7.2.2): base64url members decoded, the protected header
//    parsed and its "jwk" thumbprinted, as a server (or the test fake CA) reads our requests;
//  - sign_jws with header strings taken from the input (a hostile CA supplies the nonce,
//    the URLs and the account URL): it fails cleanly or round-trips them exactly.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "acme/base64url.hpp"
#include "acme/jws.hpp"
#include "acme/key.hpp"
#include "fuzz_check.hpp"

namespace {

const acme::PrivateKey& account_key() {
  static const acme::PrivateKey key = *acme::PrivateKey::generate(acme::KeyType::kEc256);
  return key;
}

nlohmann::json parse(std::string_view text) {
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

void read_jwk(const nlohmann::json& jwk) {
  (void)acme::jwk_thumbprint(jwk);
  if (auto key = acme::PrivateKey::from_jwk(jwk)) {
    // What an imported account key is used for: its own thumbprint and a signature.
    FUZZ_CHECK(*acme::jwk_thumbprint(key->public_jwk()) == key->thumbprint());
    FUZZ_CHECK(key->sign("fuzz").has_value());
  }
}

void read_jws(const nlohmann::json& jws) {
  const auto member = [&](const char* name) -> std::optional<std::string> {
    const auto it = jws.find(name);
    if (it == jws.end() || !it->is_string()) return std::nullopt;
    return acme::base64url_decode(it->get_ref<const std::string&>());
  };
  if (const auto prot = member("protected")) {
    const nlohmann::json header = parse(*prot);
    if (header.is_object()) {
      if (const auto jwk = header.find("jwk"); jwk != header.end()) read_jwk(*jwk);
    }
  }
  if (const auto payload = member("payload")) (void)parse(*payload);
  (void)member("signature");
}

void sign(std::string_view in) {
  acme::JwsProtected header;
  header.url = std::string(in);
  header.nonce = std::string(in.substr(0, in.size() / 2));
  if (in.size() % 2 == 1) header.kid = std::string(in.substr(in.size() / 2));
  const auto jws = acme::sign_jws(account_key(), header, in.substr(in.size() / 3));
  if (!jws) return;
  FUZZ_CHECK(!in.empty());
  const auto prot = acme::base64url_decode(jws->at("protected").get<std::string>());
  FUZZ_CHECK(prot.has_value());
  const nlohmann::json back = parse(*prot);
  FUZZ_CHECK(back.is_object());
  FUZZ_CHECK(back.at("url") == header.url);
  FUZZ_CHECK(back.at("nonce") == *header.nonce);
  FUZZ_CHECK(header.kid.empty() ? back.contains("jwk") : back.at("kid") == header.kid);
  const auto payload = acme::base64url_decode(jws->at("payload").get<std::string>());
  FUZZ_CHECK(payload && *payload == in.substr(in.size() / 3));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const nlohmann::json j = parse(in);
  if (j.is_object()) {
    read_jwk(j);
    read_jws(j);
  }
  sign(in);
  return 0;
}
