// base64url (RFC 7515 §2, RFC 4648 §5) and padded base64 for PEM bodies (RFC 7468 §3):
// decoding never crashes, and the codecs are exact inverses. The decoders claim every byte
// string has exactly one accepted base64url encoding (zero trailing bits, no padding), so
// re-encoding whatever decodes must give the input back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "acme/base64url.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // Bytes -> text -> bytes.
  const std::string url = acme::base64url_encode(in);
  FUZZ_CHECK(in.empty() || acme::is_base64url(url));
  const auto url_back = acme::base64url_decode(url);
  FUZZ_CHECK(url_back && *url_back == in);
  const std::string std64 = acme::base64_encode(in);
  FUZZ_CHECK(std64.size() % 4 == 0);
  const auto std_back = acme::base64_decode(std64);
  FUZZ_CHECK(std_back && *std_back == in);

  // Text -> bytes -> text: the encoding is canonical.
  if (const auto decoded = acme::base64url_decode(in)) {
    FUZZ_CHECK(acme::base64url_encode(*decoded) == in);
    FUZZ_CHECK(in.empty() || acme::is_base64url(in));
  }
  if (const auto decoded = acme::base64_decode(in)) {
    // Whitespace is skipped in PEM bodies, so compare without it.
    std::string stripped;
    for (const char c : in) {
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') stripped += c;
    }
    FUZZ_CHECK(acme::base64_encode(*decoded) == stripped);
  }
  return 0;
}
