#include <doctest/doctest.h>

#include <string>

#include "acme/issuer.hpp"

using acme::normalize_identifiers;

TEST_CASE("names are lower-cased, de-duplicated, IPs recognised (RFC 8738)") {
  auto r = normalize_identifiers(
      {"WWW.Example.COM", "www.example.com", "example.com.", "127.0.0.1", "::1", "0:0:0:0:0:0:0:1"},
      false);
  REQUIRE(r);
  REQUIRE(r->size() == 4);
  CHECK((*r)[0] == acme::Identifier{"dns", "www.example.com"});
  CHECK((*r)[1] == acme::Identifier{"dns", "example.com"});
  CHECK((*r)[2] == acme::Identifier{"ip", "127.0.0.1"});
  CHECK((*r)[3] == acme::Identifier{"ip", "::1"});
}

TEST_CASE("invalid names give one message naming the name and the problem") {
  const std::string label64(64, 'a');
  std::string long_name;
  while (long_name.size() < 254) long_name += "abcdefghi.";
  long_name = long_name.substr(0, 254);
  if (long_name.back() == '.') long_name.back() = 'x';
  struct Case {
    std::string name;
    std::string message;
  };
  const Case cases[] = {
      {"", "invalid name \"\": empty name"},
      {"a..b.test", "invalid name \"a..b.test\": empty label"},
      {".a.test", "invalid name \".a.test\": empty label"},
      {label64 + ".test", "invalid name \"" + label64 + ".test\": label longer than 63 characters"},
      {long_name, "invalid name \"" + long_name + "\": longer than 253 characters"},
      {"a b.test", "invalid name \"a b.test\": contains space"},
      {"a/b.test", "invalid name \"a/b.test\": contains '/'"},
      {"a_b.test", "invalid name \"a_b.test\": contains '_'"},
      {"-a.test", "invalid name \"-a.test\": label starts or ends with '-'"},
      {"localhost", "invalid name \"localhost\": a single label: use the fully qualified name"},
      {"intranet.", "invalid name \"intranet.\": a single label: use the fully qualified name"},
      {"a.*.test", "invalid name \"a.*.test\": '*' is only allowed as the whole first label"},
      {"*.x.test",
       "invalid name \"*.x.test\": wildcard names need the dns-01 challenge (RFC 8555 §7.1.3)"},
      {"caf\xc3\xa9.test",
       "invalid name \"caf\xc3\xa9.test\": not ASCII (use the xn-- punycode form)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto r = normalize_identifiers({c.name}, false);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == acme::Errc::kInvalidInput);
    CHECK(r.error().message == c.message);
  }
}

TEST_CASE("a 63-character label and a 253-character name are accepted") {
  const std::string label63(63, 'a');
  std::string name = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  REQUIRE(name.size() == 253);
  auto r = normalize_identifiers({name}, false);
  REQUIRE(r);
  CHECK((*r)[0].value == name);
}

TEST_CASE("wildcards are accepted only when allowed (dns-01)") {
  auto r = normalize_identifiers({"*.Example.test", "example.test"}, true);
  REQUIRE(r);
  CHECK((*r)[0].value == "*.example.test");
  CHECK_FALSE(normalize_identifiers({"*."}, true));
  CHECK_FALSE(normalize_identifiers({"*"}, true));
}

TEST_CASE("no names at all is an error") {
  auto r = normalize_identifiers({}, false);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "no names given");
}
