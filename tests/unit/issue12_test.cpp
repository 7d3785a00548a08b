// Issue 12 pieces of libacme that the CLI work builds on: reading a user's CSR (parse_csr)
// and the dns-persist-01 record layout (draft-ietf-acme-dns-persist-00/-01, experimental).

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "acme/certificate.hpp"
#include "acme/csr.hpp"
#include "acme/dns_persist.hpp"
#include "acme/issuer.hpp"

namespace acme::test {
namespace {

std::vector<Identifier> names(const std::vector<std::string>& in) {
  auto ids = normalize_identifiers(in, false);
  REQUIRE(ids.has_value());
  return *ids;
}

}  // namespace

TEST_CASE("parse_csr: names (CN first, then SANs, no duplicates), key, signature") {
  auto key = PrivateKey::generate(KeyType::kEc256);
  REQUIRE(key.has_value());
  auto der = make_csr_der(*key, names({"b.example.test", "a.example.test", "192.0.2.1"}));
  REQUIRE(der.has_value());
  auto csr = parse_csr(*der);
  REQUIRE_MESSAGE(csr.has_value(), (csr ? "" : csr.error().to_string()));
  CHECK(csr->names == std::vector<std::string>{"b.example.test", "a.example.test", "192.0.2.1"});
  CHECK(csr->der == *der);
  CHECK(csr->key_description == "EC P-256");

  SUBCASE("a flipped signature bit is refused") {
    std::string bad = *der;
    bad[bad.size() - 3] = static_cast<char>(bad[bad.size() - 3] ^ 0x01);
    auto r = parse_csr(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == Errc::kInvalidInput);
  }
  SUBCASE("not a CSR") {
    auto r =
        parse_csr("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message == "not a certificate signing request (PKCS#10)");
    CHECK_FALSE(parse_csr("").has_value());
  }
}

TEST_CASE("dns-persist-01 record: name, value, parse, persistUntil") {
  CHECK(dns_persist_record_name("Example.COM") == "_validation-persist.example.com.");
  CHECK(dns_persist_record_name("*.example.com") == "_validation-persist.example.com.");
  PersistRecord r{"authority.example", "https://ca.example/acct/123", false, std::nullopt};
  // The draft's own example (§4.1).
  CHECK(dns_persist_record_value(r) == "authority.example; accounturi=https://ca.example/acct/123");
  r.wildcard = true;
  r.persist_until = 1721952000;
  CHECK(dns_persist_record_value(r) ==
        "authority.example; accounturi=https://ca.example/acct/123; policy=wildcard; "
        "persistUntil=1721952000");
  auto back = parse_dns_persist_record(
      "\tAuthority.Example ;AccountURI = https://ca.example/acct/123; Policy=WILDCARD; "
      "persistUntil=1721952000; future=x");
  REQUIRE(back.has_value());
  CHECK(back->issuer_domain == "authority.example");
  CHECK(back->account_uri == "https://ca.example/acct/123");
  CHECK(back->wildcard);
  CHECK(back->persist_until == 1721952000);
  CHECK_FALSE(parse_dns_persist_record("authority.example").has_value());
  CHECK_FALSE(parse_dns_persist_record("; accounturi=x").has_value());
  CHECK_FALSE(parse_dns_persist_record("a; accounturi=x; persistUntil=soon").has_value());

  CHECK(parse_persist_until("1721952000").value() == 1721952000);
  CHECK(parse_persist_until("2027-01-01").value() == 1798761600);
  CHECK(parse_persist_until("2027-01-01T12:00:00Z").value() == 1798804800);
  for (const char* bad : {"", "0", "-5", "2027-13-01", "2027-01-01 12:00", "tomorrow"}) {
    CHECK_MESSAGE(!parse_persist_until(bad).has_value(), bad);
  }
}

TEST_CASE("dns-persist-01 issuer: issuerDomainNames first, else caaIdentities") {
  CHECK(dns_persist_issuer({"Authority.Example."}, {"ca.example"}, "u").value() ==
        "authority.example");
  CHECK(dns_persist_issuer({}, {"ca.example"}, "u").value() == "ca.example");
  auto none = dns_persist_issuer({}, {}, "https://ca.test/dir");
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().message.find("does not offer dns-persist-01") != std::string::npos);
  DnsPersistSolver solver;
  CHECK(solver.challenge_type() == "dns-persist-01");
}

}  // namespace acme::test
