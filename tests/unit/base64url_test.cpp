// base64url (RFC 4648 §5, RFC 7515 §2) and standard base64 (RFC 4648 §4).
#include "acme/base64url.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>

namespace {

// RFC 4648 §10 test vectors: input, padded base64.
const std::pair<std::string, std::string> kRfc4648Vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

std::string strip_padding(std::string s) {
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

}  // namespace

TEST_CASE("RFC 4648 §10: base64 test vectors encode and decode") {
  for (const auto& [plain, encoded] : kRfc4648Vectors) {
    CAPTURE(plain);
    CHECK(acme::base64_encode(plain) == encoded);
    const auto decoded = acme::base64_decode(encoded);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == plain);
  }
}

TEST_CASE("RFC 4648 §10 / RFC 7515 §2: base64url vectors are unpadded") {
  for (const auto& [plain, encoded] : kRfc4648Vectors) {
    CAPTURE(plain);
    const std::string url = strip_padding(encoded);
    CHECK(acme::base64url_encode(plain) == url);
    const auto decoded = acme::base64url_decode(url);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == plain);
  }
}

TEST_CASE("RFC 4648 §5: base64url uses '-' and '_' where base64 uses '+' and '/'") {
  const std::string bytes("\xfb\xff\xbf", 3);
  CHECK(acme::base64_encode(bytes) == "+/+/");
  CHECK(acme::base64url_encode(bytes) == "-_-_");
  CHECK(acme::base64url_decode("-_-_") == bytes);
  CHECK(acme::base64_encode(std::string("\xfb\xff", 2)) == "+/8=");
  CHECK(acme::base64url_encode(std::string("\xfb\xff", 2)) == "-_8");
  CHECK(acme::base64url_decode("-_8") == std::string("\xfb\xff", 2));
}

TEST_CASE("RFC 7515 §2: base64url decoding rejects padding and the standard alphabet") {
  CHECK_FALSE(acme::base64url_decode("Zg==").has_value());
  CHECK_FALSE(acme::base64url_decode("Zm8=").has_value());
  CHECK_FALSE(acme::base64url_decode("+/+/").has_value());
  CHECK_FALSE(acme::base64url_decode("-_+_").has_value());
  CHECK_FALSE(acme::base64url_decode("ab/c").has_value());
  CHECK_FALSE(acme::base64url_decode("Zm9v YmFy").has_value());
  CHECK_FALSE(acme::base64url_decode("Zm9v\n").has_value());
  CHECK_FALSE(acme::base64url_decode(std::string("Zm\0v", 4)).has_value());
  // A single trailing symbol carries 6 bits: never a whole byte.
  CHECK_FALSE(acme::base64url_decode("Zm9vY").has_value());
  CHECK(acme::base64url_decode("") == std::string());
}

TEST_CASE("RFC 4648 §3.5: non-zero pad bits are rejected (one encoding per byte string)") {
  CHECK(acme::base64url_decode("Zg") == std::string("f"));
  CHECK_FALSE(acme::base64url_decode("Zh").has_value());
  CHECK(acme::base64url_decode("Zm8") == std::string("fo"));
  CHECK_FALSE(acme::base64url_decode("Zm9").has_value());
  CHECK_FALSE(acme::base64_decode("Zh==").has_value());
}

TEST_CASE("RFC 8555 §8.3: is_base64url accepts only non-empty url-alphabet tokens") {
  CHECK(acme::is_base64url("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"));
  CHECK(acme::is_base64url("AZaz09-_"));
  CHECK_FALSE(acme::is_base64url(""));
  CHECK_FALSE(acme::is_base64url("abc="));
  CHECK_FALSE(acme::is_base64url("a+b"));
  CHECK_FALSE(acme::is_base64url("a/b"));
  CHECK_FALSE(acme::is_base64url("../etc/passwd"));
  CHECK_FALSE(acme::is_base64url("a.b"));
  CHECK_FALSE(acme::is_base64url("tok en"));
  CHECK_FALSE(acme::is_base64url(std::string("ab\0", 3)));
  CHECK_FALSE(acme::is_base64url("\xc3\xa9"));
}

TEST_CASE("RFC 7468 §3: base64 decoding of PEM bodies skips line breaks, checks padding") {
  CHECK(acme::base64_decode("Zm9v\nYmFy\r\n") == std::string("foobar"));
  CHECK(acme::base64_decode("Zm9vYg==\n") == std::string("foob"));
  CHECK_FALSE(acme::base64_decode("Zm9vYg").has_value());    // missing padding
  CHECK_FALSE(acme::base64_decode("Zm9vYg=").has_value());   // short padding
  CHECK_FALSE(acme::base64_decode("Zm9v===").has_value());   // excess padding
  CHECK_FALSE(acme::base64_decode("Zg==Zg==").has_value());  // data after padding
  CHECK_FALSE(acme::base64_decode("-_-_").has_value());      // url alphabet
}

TEST_CASE("base64url round-trips every byte value") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t len = 0; len <= all.size(); len += 37) {
    const std::string part = all.substr(0, len);
    CHECK(acme::base64url_decode(acme::base64url_encode(part)) == part);
    CHECK(acme::base64_decode(acme::base64_encode(part)) == part);
  }
}
