// Issue 16, daily use: the list STATUS, typo suggestions, error hints, the generators'
// version detection and the PKCS#12 bundle.
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include <string>

#include "acme/key.hpp"
#include "acme/pkcs12.hpp"
#include "base/time.hpp"
#include "cli/hints.hpp"
#include "cli/suggest.hpp"
#include "gen/dockerfile.hpp"
#include "gen/nginx.hpp"
#include "schedule/status.hpp"

using namespace agent;

namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kDay = 86400;

CertificateRecord issued(int64_t not_before, int64_t not_after) {
  CertificateRecord c;
  c.name = "example.com";
  c.serial = "0a";
  c.not_before = not_before;
  c.not_after = not_after;
  return c;
}

}  // namespace

TEST_CASE("status: valid, due, EXPIRED, failing, revoked, unmanaged, pending") {
  // 90-day certificate issued 10 days ago: valid, renewal ~30 days before expiry.
  auto c = issued(kNow - 10 * kDay, kNow + 80 * kDay);
  auto s = certificate_status(c, 30, kNow);
  CHECK(s.status == "valid");
  CHECK(s.next_reason.empty());
  CHECK(s.next_renewal > kNow);
  CHECK(s.days_left == 80);
  CHECK(next_renewal_text(s) == rfc3339(s.next_renewal));
  // The agent's window decides (a year-long certificate: the third-of-lifetime cap is far).
  const auto year = issued(kNow - 10 * kDay, kNow + 355 * kDay);
  CHECK(certificate_status(year, 60, kNow).planned_renewal <
        certificate_status(year, 30, kNow).planned_renewal - 25 * kDay);

  // Inside the window: due, and NEXT RENEWAL says now rather than a past time.
  c = issued(kNow - 80 * kDay, kNow + 10 * kDay);
  s = certificate_status(c, 30, kNow);
  CHECK(s.status == "due");
  CHECK(s.planned_renewal < kNow);
  CHECK(s.next_renewal == kNow);
  CHECK(next_renewal_text(s) == "now (due)");

  // Expired.
  c = issued(kNow - 91 * kDay, kNow - kDay);
  s = certificate_status(c, 30, kNow);
  CHECK(s.status == "EXPIRED");
  CHECK(s.kind == "expired");
  CHECK(s.days_left == -1);
  CHECK(next_renewal_text(s) == "now (expired)");

  // Failing with a retry in an hour: the retry time, said as such.
  c = issued(kNow - 80 * kDay, kNow + 10 * kDay);
  c.consecutive_failures = 3;
  c.next_attempt = kNow + 3600;
  s = certificate_status(c, 30, kNow);
  CHECK(s.status == "failing (3), retry at " + rfc3339(kNow + 3600));
  CHECK(s.next_renewal == kNow + 3600);
  CHECK(next_renewal_text(s) == rfc3339(kNow + 3600) + " (retry)");

  c = issued(kNow - 10 * kDay, kNow + 80 * kDay);
  c.revoked_serial = c.serial;
  s = certificate_status(c, 30, kNow);
  CHECK(s.status == "revoked");
  CHECK(next_renewal_text(s) == "now (revoked)");

  c.managed = false;
  s = certificate_status(c, 30, kNow);
  CHECK(s.status == "unmanaged");
  CHECK(s.next_renewal == 0);
  CHECK(next_renewal_text(s) == "- (unmanaged)");

  CertificateRecord fresh;
  s = certificate_status(fresh, 30, kNow);
  CHECK(s.status == "pending");
  CHECK(next_renewal_text(s) == "now (not issued yet)");
}

TEST_CASE("suggestions: the closest spelling, nothing for a wild guess") {
  using agent::cli::closest;
  using agent::cli::edit_distance;
  CHECK(edit_distance("isue", "issue") == 1);
  CHECK(edit_distance("domian", "domain") == 1);  // an adjacent swap is one edit
  const std::vector<std::string> cmds = {"issue", "renew", "list", "show", "revoke", "agent"};
  CHECK(closest("isue", cmds) == "issue");
  CHECK(closest("lsit", cmds) == "list");
  CHECK(closest("renwe", cmds) == "renew");
  CHECK_FALSE(closest("frobnicate", cmds));
  CHECK(closest("--domian", {"--domain", "--name", "--out"}) == "--domain");
  CHECK(closest("--zz", {"--domain", "--name", "--out"}) == std::nullopt);
  CHECK(closest("--doma", {"--domain", "--name", "--out"}) == "--domain");
}

TEST_CASE("hints: port in use, validation unreachable, untrusted CA") {
  using agent::cli::hint_for;
  auto h = hint_for("http-01 responder: cannot listen on 0.0.0.0:80: Address already in use");
  REQUIRE(h);
  CHECK(h->find("0.0.0.0:80") != std::string::npos);
  CHECK(h->find("nginx") != std::string::npos);
  CHECK(h->find("sport = :80") != std::string::npos);
  h = hint_for(
      "authorization for a.test is invalid: http-01 connection: Get "
      "\"http://a.test/.well-known/acme-challenge/TOK\": dial tcp 192.0.2.1:80: connect: "
      "connection refused");
  REQUIRE(h);
  CHECK(h->find("http://a.test/.well-known/acme-challenge/TOK at 192.0.2.1") != std::string::npos);
  h = hint_for(
      "ACME directory: GET https://ca/dir: TLS handshake with ca: certificate "
      "verification failed: unable to get local issuer certificate");
  REQUIRE(h);
  CHECK(h->find("--ca-bundle") != std::string::npos);
  CHECK_FALSE(hint_for("--name \"a b\": use letters, digits, '.', '-', '_'"));
}

TEST_CASE("gen: nginx version decides http2; go.mod decides the Go release") {
  using namespace agent::gen;
  CHECK(*nginx_has_http2_directive("1.25.1"));
  CHECK(*nginx_has_http2_directive("nginx version: nginx/1.27.3\n"));
  CHECK(*nginx_has_http2_directive("2.0"));
  CHECK_FALSE(*nginx_has_http2_directive("1.25.0"));
  CHECK_FALSE(*nginx_has_http2_directive("nginx version: nginx/1.22.1 (Debian)\n"));
  CHECK_FALSE(nginx_has_http2_directive("latest"));
  CHECK_FALSE(nginx_has_http2_directive(""));

  NginxOptions o;
  o.domains = {"example.com"};
  o.upstreams = {"127.0.0.1:8080"};
  auto old_style = nginx_site(o);
  REQUIRE(old_style);
  CHECK(old_style->find("listen 443 ssl http2;") != std::string::npos);
  CHECK(old_style->find("http2 on;") == std::string::npos);
  o.http2_directive = true;
  auto new_style = nginx_site(o);
  REQUIRE(new_style);
  CHECK(new_style->find("    listen 443 ssl;\n") != std::string::npos);
  CHECK(new_style->find("    http2 on;\n") != std::string::npos);
  CHECK(new_style->find(" http2;") == std::string::npos);
  CHECK(new_style->find("stapling") == std::string::npos);  // Let's Encrypt ended OCSP

  CHECK(go_version_from_mod("module x\n\ngo 1.22.3\n") == "1.22.3");
  CHECK(go_version_from_mod("module x\ngo 1.23 // comment\ntoolchain go1.23.4\n") == "1.23.4");
  CHECK(go_version_from_mod("module x\n\tgo 1.21\r\n") == "1.21");
  CHECK_FALSE(go_version_from_mod("module x\n"));
  CHECK_FALSE(go_version_from_mod("module x\ngo banana\n"));
  DockerfileOptions d;
  d.binary = "api";
  auto df = dockerfile(d);
  REQUIRE(df);
  CHECK(df->find("\nENV GIN_MODE=release\n") != std::string::npos);
}

TEST_CASE("pkcs12: key and chain, readable with the password; a wrong key is refused") {
  auto key = acme::PrivateKey::generate(acme::KeyType::kEc256);
  REQUIRE(key);
  auto key_pem = key->to_pem();
  REQUIRE(key_pem);
  // A self-signed certificate for the key, made with OpenSSL directly.
  EVP_PKEY* pkey = nullptr;
  {
    BIO* b = BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size()));
    pkey = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
    BIO_free(b);
  }
  REQUIRE(pkey != nullptr);
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("p12.test"), -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  X509_set_pubkey(x, pkey);
  REQUIRE(X509_sign(x, pkey, EVP_sha256()) > 0);
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(out, x);
  char* data = nullptr;
  const long n = BIO_get_mem_data(out, &data);
  const std::string cert_pem(data, static_cast<size_t>(n));
  BIO_free(out);

  auto p12 = acme::make_pkcs12(*key_pem, cert_pem + cert_pem, "s3cret", "p12.test");
  REQUIRE(p12);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(p12->data());
  PKCS12* parsed = d2i_PKCS12(nullptr, &p, static_cast<long>(p12->size()));
  REQUIRE(parsed != nullptr);
  CHECK(PKCS12_verify_mac(parsed, "s3cret", -1) == 1);
  CHECK(PKCS12_verify_mac(parsed, "wrong", -1) == 0);
  EVP_PKEY* k2 = nullptr;
  X509* c2 = nullptr;
  STACK_OF(X509)* ca = nullptr;
  REQUIRE(PKCS12_parse(parsed, "s3cret", &k2, &c2, &ca) == 1);
  CHECK(X509_cmp(c2, x) == 0);
  CHECK(EVP_PKEY_eq(k2, pkey) == 1);
  CHECK(sk_X509_num(ca) == 1);
  EVP_PKEY_free(k2);
  X509_free(c2);
  sk_X509_pop_free(ca, X509_free);
  PKCS12_free(parsed);

  auto other = acme::PrivateKey::generate(acme::KeyType::kEc256);
  REQUIRE(other);
  auto bad = acme::make_pkcs12(*other->to_pem(), cert_pem, "", "p12.test");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == acme::Errc::kInvalidInput);
  X509_free(x);
  EVP_PKEY_free(pkey);
}
