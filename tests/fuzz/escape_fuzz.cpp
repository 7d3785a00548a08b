// acme::escape_control: what stands between a CA's problem detail, a hook's output or a name
// and the operator's terminal (issue 13 finding 7). Checked against an independent UTF-8
// decoder: the output is valid UTF-8 with no C0, DEL or C1 control in it, text without any
// passes unchanged, and escaping is idempotent.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "acme/escape.hpp"
#include "fuzz_check.hpp"

namespace {

// Decodes `s` as UTF-8 (RFC 3629: shortest form, no surrogates, at most U+10FFFF) and calls
// f(code point) for each; false when `s` is not valid UTF-8.
template <class F>
bool for_each_code_point(std::string_view s, F f) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    char32_t cp = 0;
    if (c < 0x80) {
      n = 1;
      cp = c;
    } else if ((c & 0xe0) == 0xc0) {
      n = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3f);
    }
    static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    f(cp);
    i += n;
  }
  return true;
}

bool is_control(char32_t cp) { return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string out = acme::escape_control(in);

  bool clean = true;
  FUZZ_CHECK(for_each_code_point(out, [&](char32_t cp) { clean = clean && !is_control(cp); }));
  FUZZ_CHECK(clean);

  bool in_clean = true;
  const bool in_valid =
      for_each_code_point(in, [&](char32_t cp) { in_clean = in_clean && !is_control(cp); });
  if (in_valid && in_clean) FUZZ_CHECK(out == in);
  if (!(in_valid && in_clean)) FUZZ_CHECK(out != in);

  FUZZ_CHECK(acme::escape_control(out) == out);
  return 0;
}
