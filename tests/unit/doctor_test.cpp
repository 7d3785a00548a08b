// doctor's pure pieces: the RFC 8659 CAA decision and the CAA data format.
#include "doctor/doctor.hpp"

#include <doctest/doctest.h>

using agent::caa_refusal;
using agent::CaaRecord;
using agent::parse_caa;

namespace {
CaaRecord caa(int flags, const std::string& tag, const std::string& value) {
  return CaaRecord{flags, tag, value};
}
}  // namespace

TEST_CASE("RFC 8659 §4.2: issue properties") {
  const std::vector<std::string> le = {"letsencrypt.org"};
  CHECK(caa_refusal({}, "a.example", le).empty());
  CHECK(caa_refusal({caa(0, "issue", "letsencrypt.org")}, "a.example", le).empty());
  // Parameters after ';' and whitespace do not matter; case does not either.
  CHECK(caa_refusal({caa(0, "issue", " LetsEncrypt.org ; accounturi=x")}, "a.example", le).empty());
  CHECK(caa_refusal({caa(0, "issue", "ca.example"), caa(0, "issue", "letsencrypt.org")},
                    "a.example", le)
            .empty());
  CHECK(caa_refusal({caa(0, "issue", "ca.example")}, "a.example", le) ==
        "0 issue \"ca.example\" does not permit letsencrypt.org");
  // issue ";" forbids every CA.
  CHECK(caa_refusal({caa(0, "issue", ";")}, "a.example", le) ==
        "0 issue \";\" does not permit letsencrypt.org");
  // Only iodef: no restriction.
  CHECK(caa_refusal({caa(0, "iodef", "mailto:sec@a.example")}, "a.example", le).empty());
}

TEST_CASE("RFC 8659 §4.3: issuewild for wildcard names only") {
  const std::vector<std::string> le = {"letsencrypt.org"};
  const std::vector<CaaRecord> set = {caa(0, "issue", "letsencrypt.org"), caa(0, "issuewild", ";")};
  CHECK(caa_refusal(set, "a.example", le).empty());
  CHECK(caa_refusal(set, "*.a.example", le) == "0 issuewild \";\" does not permit letsencrypt.org");
  // Without issuewild, issue decides for a wildcard too.
  CHECK(caa_refusal({caa(0, "issue", "letsencrypt.org")}, "*.a.example", le).empty());
}

TEST_CASE("RFC 8659 §4.1: a critical unknown tag forbids issuance") {
  const std::vector<std::string> le = {"letsencrypt.org"};
  CHECK(caa_refusal({caa(128, "tbs", "x"), caa(0, "issue", "letsencrypt.org")}, "a.example", le)
            .find("critical") != std::string::npos);
  CHECK(caa_refusal({caa(0, "tbs", "x"), caa(0, "issue", "letsencrypt.org")}, "a.example", le)
            .empty());
}

TEST_CASE("CAA data as the resolver carries it") {
  auto r = parse_caa("0 issue ca.example; validationmethods=dns-01");
  REQUIRE(r);
  CHECK(r->flags == 0);
  CHECK(r->tag == "issue");
  CHECK(r->value == "ca.example; validationmethods=dns-01");
  CHECK(r->text() == "0 issue \"ca.example; validationmethods=dns-01\"");
  CHECK_FALSE(parse_caa("garbage"));
}

TEST_CASE("clock: the CA's Date within a minute") {
  // Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110 §5.6.7's example) is 784111777.
  const std::time_t t = 784111777;
  const std::string date = "Sun, 06 Nov 1994 08:49:37 GMT";
  CHECK(agent::clock_finding("u", date, t).severity == agent::Severity::kOk);
  CHECK(agent::clock_finding("u", date, t + 60).severity == agent::Severity::kOk);
  const auto ahead = agent::clock_finding("u", date, t + 61);
  CHECK(ahead.severity == agent::Severity::kError);
  CHECK(ahead.message ==
        "the local clock is 61 s ahead of the CA's (Date: Sun, 06 Nov 1994 08:49:37 GMT): fix "
        "the time (NTP) first");
  const auto behind = agent::clock_finding("u", date, t - 3600);
  CHECK(behind.severity == agent::Severity::kError);
  CHECK(behind.message.find("3600 s behind") != std::string::npos);
  CHECK(agent::clock_finding("u", std::nullopt, t).severity == agent::Severity::kWarning);
  CHECK(agent::clock_finding("u", std::string("yesterday"), t).severity ==
        agent::Severity::kWarning);
}
