#include "fleet/kek.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cctype>
#include <memory>

#include "acme/base64url.hpp"
#include "acme/key.hpp"
#include "deploy/files.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;

namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr std::string_view kPrefix = "v1.";

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

acme::Error crypto_error(const std::string& call) {
  std::string msg = "kek: " + call + " failed";
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    msg += std::string(": ") + buf;
  }
  return make_error(Errc::kCrypto, msg);
}

std::string hex(std::string_view bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

acme::Result<Kek> Kek::from_bytes(std::string_view bytes) {
  if (bytes.size() != kKeyBytes) {
    return make_error(Errc::kInvalidInput, "kek: the key must be 32 bytes");
  }
  Kek k;
  k.key_ = std::string(bytes);
  k.id_ = hex(acme::sha256("acmectl-kek-id\n" + k.key_)).substr(0, 16);
  return k;
}

acme::Result<Kek> Kek::load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error(Errc::kInvalidInput, "kek_file " + path + " is not a readable file");
  }
  if ((st.st_mode & 077) != 0) {
    return make_error(Errc::kInvalidInput, "kek_file " + path + " is readable by others (mode 0" +
                                               std::to_string((st.st_mode >> 6) & 7) +
                                               std::to_string((st.st_mode >> 3) & 7) +
                                               std::to_string(st.st_mode & 7) + "): chmod 600 it");
  }
  auto text = read_file(path);
  if (!text) return std::move(text).error().context("kek_file");
  std::string digits;
  for (char c : *text) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    digits += c;
  }
  if (digits.size() != 2 * kKeyBytes) {
    return make_error(Errc::kInvalidInput,
                      "kek_file " + path + " must hold 64 hex digits (openssl rand -hex 32)");
  }
  std::string bytes;
  for (size_t i = 0; i < digits.size(); i += 2) {
    const int hi = hex_digit(digits[i]), lo = hex_digit(digits[i + 1]);
    if (hi < 0 || lo < 0) {
      return make_error(Errc::kInvalidInput,
                        "kek_file " + path + " must hold 64 hex digits (openssl rand -hex 32)");
    }
    bytes += static_cast<char>(hi * 16 + lo);
  }
  return from_bytes(bytes);
}

acme::Result<std::string> Kek::seal(std::string_view plaintext, std::string_view aad) const {
  unsigned char nonce[kNonceBytes];
  if (RAND_bytes(nonce, sizeof nonce) != 1) return crypto_error("RAND_bytes");
  Ctx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return crypto_error("EVP_CIPHER_CTX_new");
  const auto* key = reinterpret_cast<const unsigned char*>(key_.data());
  if (EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key, nonce, nullptr) != 1) {
    return crypto_error("EVP_EncryptInit_ex2");
  }
  int len = 0;
  if (EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1) {
    return crypto_error("EVP_EncryptUpdate(aad)");
  }
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  std::copy(nonce, nonce + kNonceBytes, o);
  if (EVP_EncryptUpdate(ctx.get(), o + kNonceBytes, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1) {
    return crypto_error("EVP_EncryptUpdate");
  }
  int fin = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), o + kNonceBytes + len, &fin) != 1) {
    return crypto_error("EVP_EncryptFinal_ex");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          o + kNonceBytes + plaintext.size()) != 1) {
    return crypto_error("EVP_CTRL_GCM_GET_TAG");
  }
  return std::string(kPrefix) + acme::base64url_encode(out);
}

acme::Result<std::string> Kek::open(std::string_view sealed, std::string_view aad) const {
  if (sealed.substr(0, kPrefix.size()) != kPrefix) {
    return make_error(Errc::kCrypto, "kek: not a sealed value of this version");
  }
  auto raw = acme::base64url_decode(sealed.substr(kPrefix.size()));
  if (!raw || raw->size() < kNonceBytes + kTagBytes) {
    return make_error(Errc::kCrypto, "kek: sealed value is damaged");
  }
  const auto* in = reinterpret_cast<const unsigned char*>(raw->data());
  const size_t n = raw->size() - kNonceBytes - kTagBytes;
  Ctx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return crypto_error("EVP_CIPHER_CTX_new");
  const auto* key = reinterpret_cast<const unsigned char*>(key_.data());
  if (EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key, in, nullptr) != 1) {
    return crypto_error("EVP_DecryptInit_ex2");
  }
  int len = 0;
  if (EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1) {
    return crypto_error("EVP_DecryptUpdate(aad)");
  }
  std::string out(n, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (EVP_DecryptUpdate(ctx.get(), o, &len, in + kNonceBytes, static_cast<int>(n)) != 1) {
    return crypto_error("EVP_DecryptUpdate");
  }
  std::string tag(raw->data() + kNonceBytes + n, kTagBytes);
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1) {
    return crypto_error("EVP_CTRL_GCM_SET_TAG");
  }
  int fin = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), o + len, &fin) != 1) {
    ERR_clear_error();
    return make_error(Errc::kCrypto,
                      "kek: authentication failed (another key-encryption key sealed it, or it "
                      "was altered)");
  }
  return out;
}

}  // namespace agent
