// acme::escape_control and where it is applied in libacme (issue 13 finding 7).
#include "acme/escape.hpp"

#include <doctest/doctest.h>

#include <string>

#include "acme/problem.hpp"
#include "acme/result.hpp"

using acme::escape_control;

TEST_CASE("escape: C0, ESC and DEL become \\xNN, printable text stays") {
  CHECK(escape_control("plain text: a-b_c/d\\e 100%") == "plain text: a-b_c/d\\e 100%");
  CHECK(escape_control("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m");
  CHECK(escape_control("a\tb\nc\rd\x07") == "a\\x09b\\x0ac\\x0dd\\x07");
  CHECK(escape_control(std::string_view("nul\0x", 5)) == "nul\\x00x");
  CHECK(escape_control("del\x7f") == "del\\x7f");
}

TEST_CASE("escape: C1 controls and bytes that are not UTF-8 are escaped, UTF-8 text is not") {
  CHECK(escape_control("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x92 \xc2\xa0") ==
        "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x92 \xc2\xa0");
  CHECK(escape_control("\xc2\x9b"
                       "2J") == "\\xc2\\x9b2J");  // U+009B CSI
  CHECK(escape_control("\x9b"
                       "2J") == "\\x9b2J");                    // a lone CSI byte (8-bit terminals)
  CHECK(escape_control("\xc0\xaf") == "\\xc0\\xaf");           // overlong '/'
  CHECK(escape_control("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
  CHECK(escape_control("\xe6\x97") == "\\xe6\\x97");           // cut short
  CHECK(escape_control("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
}

TEST_CASE("escape: a CA's problem detail with terminal escapes is shown escaped") {
  auto p = acme::parse_problem(
      R"({"type":"urn:ietf:params:acme:error:malformed",)"
      R"("detail":"bad \u001b[2J\u001b]0;pwned\u0007 name\nsecond line",)"
      R"("subproblems":[{"type":"urn:ietf:params:acme:error:caa","detail":"\u009b1m",)"
      R"("identifier":{"type":"dns","value":"a\u001b.test"}}]})");
  REQUIRE(p);
  CHECK(p->detail == "bad \\x1b[2J\\x1b]0;pwned\\x07 name second line");
  CHECK(p->subproblems.at(0).detail == "\\xc2\\x9b1m");
  CHECK(p->subproblems.at(0).identifier->value == "a\\x1b.test");

  acme::Error e = acme::make_error(acme::Errc::kAcmeProblem, "POST https://ca.test/new-order");
  e.problem = acme::Problem{"urn:ietf:params:acme:error:malformed", "", "x\x1b[31my", 400, {}};
  CHECK(e.to_string() == "POST https://ca.test/new-order: malformed: x\\x1b[31my");

  // Text that reached a message some other way (a name, a path) is escaped too.
  acme::Error m = acme::make_error(acme::Errc::kInvalidInput, "bad name 'a\x1b]0;t\x07'");
  CHECK(m.to_string() == "bad name 'a\\x1b]0;t\\x07'");
}
