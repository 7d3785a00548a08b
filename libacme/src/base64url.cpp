#include "acme/base64url.hpp"

#include <array>
#include <cstdint>

namespace acme {
namespace {

constexpr char kStdAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr int kInvalid = -1;

// Reverse lookup table: character -> 6-bit value, or kInvalid.
constexpr std::array<int, 256> make_table(const char* alphabet) {
  std::array<int, 256> table{};
  for (int& v : table) v = kInvalid;
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = i;
  return table;
}

constexpr std::array<int, 256> kStdTable = make_table(kStdAlphabet);
constexpr std::array<int, 256> kUrlTable = make_table(kUrlAlphabet);

// RFC 4648 §4/§5 encoding; `pad` appends '=' to a multiple of four characters.
std::string encode(std::string_view bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                            (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                            static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    const std::uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                            (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

// Decodes unpadded symbols; any character outside the table is an error. RFC 4648 §3.5:
// the unused bits of the last symbol must be zero, so every byte string has exactly one
// accepted encoding.
std::optional<std::string> decode_symbols(std::string_view text,
                                          const std::array<int, 256>& table) {
  if (text.size() % 4 == 1) return std::nullopt;  // 6 bits cannot end a byte
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = table[static_cast<unsigned char>(c)];
    if (v == kInvalid) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-zero trailing bits
  return out;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  // RFC 7515 §2: base64url with all trailing '=' omitted.
  return encode(bytes, kUrlAlphabet, /*pad=*/false);
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // '=' is not in the url table, so padded input is rejected along with '+', '/' and
  // whitespace.
  return decode_symbols(text, kUrlTable);
}

bool is_base64url(std::string_view text) noexcept {
  if (text.empty()) return false;
  for (const char c : text) {
    if (kUrlTable[static_cast<unsigned char>(c)] == kInvalid) return false;
  }
  return true;
}

std::string base64_encode(std::string_view bytes) {
  return encode(bytes, kStdAlphabet, /*pad=*/true);
}

std::optional<std::string> base64_decode(std::string_view text) {
  // PEM bodies (RFC 7468 §3) wrap lines, so whitespace is skipped; padding is required and
  // may only close the text.
  std::string symbols;
  symbols.reserve(text.size());
  std::size_t padding = 0;
  for (const char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding != 0) return std::nullopt;  // data after '='
    symbols += c;
  }
  // Exactly the padding that completes the last quantum (a lone 6-bit symbol, which would
  // need three '=', is rejected by decode_symbols).
  if (padding != (4 - symbols.size() % 4) % 4) return std::nullopt;
  return decode_symbols(symbols, kStdTable);
}

}  // namespace acme
