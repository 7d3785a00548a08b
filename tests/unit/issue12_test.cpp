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
#include "fake_acme_server.hpp"
#include "fake_clock.hpp"
#include "protocol_fixture.hpp"

namespace acme::test {
namespace {

std::vector<Identifier> names(const std::vector<std::string>& in) {
  auto ids = normalize_identifiers(in, false);
  REQUIRE(ids.has_value());
  return *ids;
}

Result<IssuedCertificate> issue(ProtocolFixture& f, const IssueRequest& request) {
  RecordingSolver solver(f.server);
  return Issuer(f.client, solver, f.clock).issue(request);
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

TEST_CASE_FIXTURE(ProtocolFixture, "RFC 8555 §7.4: finalize with the user's CSR") {
  auto user_key = PrivateKey::generate(KeyType::kRsa2048);
  REQUIRE(user_key.has_value());
  auto der = make_csr_der(*user_key, names({"a.example.test", "www.a.example.test"}));
  REQUIRE(der.has_value());
  auto csr = parse_csr(*der);
  REQUIRE(csr.has_value());
  IssueRequest request;
  request.identifiers = names(csr->names);
  request.csr_der = csr->der;
  request.csr_public_key_der = csr->public_key_der;
  auto issued = issue(*this, request);
  REQUIRE_MESSAGE(issued.has_value(), (issued ? "" : issued.error().to_string()));
  CHECK(issued->key_pem.empty());
  CHECK(key_matches_certificate(*user_key, issued->cert_pem));
  CHECK(csr_matches_certificate(*csr, issued->cert_pem));

  SUBCASE("a certificate for another key is refused") {
    auto other = PrivateKey::generate(KeyType::kEc256);
    REQUIRE(other.has_value());
    auto other_der = make_csr_der(*other, names({"a.example.test"}));
    REQUIRE(other_der.has_value());
    auto other_csr = parse_csr(*other_der);
    REQUIRE(other_csr.has_value());
    request.identifiers = names({"a.example.test"});
    request.csr_der = other_csr->der;                  // finalized with this key ...
    request.csr_public_key_der = csr->public_key_der;  // ... but expecting the first one
    auto r = issue(*this, request);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message == "downloaded certificate does not carry the public key of the CSR");
  }
}

TEST_CASE_FIXTURE(ProtocolFixture, "chain facts and --preferred-chain shortest") {
  server.set_alternate_chains(true);
  IssueRequest request;
  request.identifiers = names({"a.example.test"});

  SUBCASE("the longer default chain loses to the shorter alternate") {
    server.set_long_default_chain(true);
    request.preferred_chain = std::string(kShortestChain);
    auto issued = issue(*this, request);
    REQUIRE_MESSAGE(issued.has_value(), (issued ? "" : issued.error().to_string()));
    const ChainFacts facts = chain_facts(issued->fullchain_pem);
    CHECK(facts.depth == 2);
    auto def = client.download_certificate(issued->certificate_url);
    auto alt = client.download_certificate(issued->alternate_urls.at(0));
    REQUIRE(def.has_value());
    REQUIRE(alt.has_value());
    CHECK(chain_facts(def->pem).depth == 3);
    CHECK(facts.bytes == chain_facts(alt->pem).bytes);
    CHECK(facts.bytes < chain_facts(def->pem).bytes);
  }
  SUBCASE("two chains of one depth: the one with fewer bytes, the default on a tie") {
    request.preferred_chain = std::string(kShortestChain);
    auto issued = issue(*this, request);
    REQUIRE(issued.has_value());
    auto def = client.download_certificate(issued->certificate_url);
    auto alt = client.download_certificate(issued->alternate_urls.at(0));
    REQUIRE(def.has_value());
    REQUIRE(alt.has_value());
    const std::size_t d = chain_facts(def->pem).bytes;
    const std::size_t a = chain_facts(alt->pem).bytes;
    CHECK(chain_facts(issued->fullchain_pem).bytes == std::min(d, a));
    if (a >= d) CHECK(issued->fullchain_pem == def->pem);
  }
  SUBCASE("without a preference the default chain, its facts counted in DER") {
    auto issued = issue(*this, request);
    REQUIRE(issued.has_value());
    std::size_t der_bytes = 0;
    for (const auto& pem : split_pem_certificates(issued->fullchain_pem)) {
      auto der = certificate_der(pem);
      REQUIRE(der.has_value());
      der_bytes += der->size();
    }
    CHECK(chain_facts(issued->fullchain_pem).bytes == der_bytes);
    CHECK(chain_facts(issued->fullchain_pem).depth == 2);
    CHECK(chain_facts("").depth == 0);
  }
}

TEST_CASE_FIXTURE(ProtocolFixture, "dns-persist-01 against the fake CA: the record is checked") {
  server.set_dns_persist("ca.test");
  Client fresh{server, clock, std::string(FakeAcmeServer::kDirectoryUrl)};
  REQUIRE(fresh.load_directory().has_value());
  fresh.set_account(*key, account_url);
  // This libacme does not read meta.issuerDomainNames yet: the fake's caaIdentities name it.
  auto issuer = dns_persist_issuer({}, fresh.directory().caa_identities, "fake");
  REQUIRE(issuer.has_value());
  CHECK(*issuer == "ca.test");

  PersistRecord record{*issuer, account_url, false, std::nullopt};
  DnsPersistSolver solver;
  auto order_for = [&](const std::vector<std::string>& in, bool wildcard) {
    auto ids = normalize_identifiers(in, wildcard);
    REQUIRE(ids.has_value());
    IssueRequest request;
    request.identifiers = *ids;
    return Issuer(fresh, solver, clock).issue(request);
  };

  SUBCASE("the record acmectl persist-record prints validates; nothing is presented") {
    server.set_persist_txt(dns_persist_record_name("a.example.test"),
                           dns_persist_record_value(record));
    auto issued = order_for({"a.example.test"}, false);
    REQUIRE_MESSAGE(issued.has_value(), (issued ? "" : issued.error().to_string()));
  }
  SUBCASE("another account's record is refused by the CA") {
    record.account_uri = "https://ca.test/acct/someone-else";
    server.set_persist_txt(dns_persist_record_name("a.example.test"),
                           dns_persist_record_value(record));
    auto issued = order_for({"a.example.test"}, false);
    REQUIRE_FALSE(issued.has_value());
    CHECK(issued.error().to_string().find("accounturi") != std::string::npos);
  }
  SUBCASE("a wildcard needs policy=wildcard") {
    server.set_persist_txt(dns_persist_record_name("*.b.example.test"),
                           dns_persist_record_value(record));
    REQUIRE_FALSE(order_for({"*.b.example.test"}, true).has_value());
    record.wildcard = true;
    server.set_persist_txt(dns_persist_record_name("*.b.example.test"),
                           dns_persist_record_value(record));
    auto issued = order_for({"*.b.example.test"}, true);
    REQUIRE_MESSAGE(issued.has_value(), (issued ? "" : issued.error().to_string()));
  }
  SUBCASE("a persistUntil that has passed is refused") {
    record.persist_until = 1000;
    server.set_persist_txt(dns_persist_record_name("a.example.test"),
                           dns_persist_record_value(record));
    REQUIRE_FALSE(order_for({"a.example.test"}, false).has_value());
  }
}

}  // namespace acme::test
