#include "cli/account_cmds.hpp"

#include <doctest/doctest.h>

using agent::cli::revocation_reason;

TEST_CASE("revoke: reasons by RFC 5280 name or code, only those a subscriber may give") {
  CHECK(revocation_reason("unspecified") == 0);
  CHECK(revocation_reason("0") == 0);
  CHECK(revocation_reason("keyCompromise") == 1);
  CHECK(revocation_reason("1") == 1);
  CHECK(revocation_reason("affiliationChanged") == 3);
  CHECK(revocation_reason("superseded") == 4);
  CHECK(revocation_reason("4") == 4);
  CHECK(revocation_reason("cessationOfOperation") == 5);
  // cACompromise (2), certificateHold (6), removeFromCRL (8), privilegeWithdrawn (9),
  // aACompromise (10) are the CA's business; 7 does not exist.
  for (const char* bad : {"2", "6", "7", "8", "9", "10", "cACompromise", "certificateHold",
                          "keycompromise", "", "-1", "01"}) {
    CAPTURE(bad);
    CHECK_FALSE(revocation_reason(bad).has_value());
  }
}
