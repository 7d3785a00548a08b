// Issue 16: the agent's status page stays correct at 10,000 certificates: a summary of
// every certificate by status, 100 rows a page with problems first, the issuer read only
// for the rows shown. (The render time is measured by bench/status_page.cpp,
// docs/BENCHMARKS.md; this test checks the content, not the clock.)
#include "metrics/status_page.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

using namespace agent;
using agent::metrics::kStatusPageSize;
using agent::metrics::render_status_page;
using agent::metrics::StatusPageInput;

namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kDay = 86400;
constexpr int kCerts = 10'000;

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

// The data-status of each row, in page order.
std::vector<std::string> row_kinds(const std::string& page) {
  std::vector<std::string> kinds;
  const std::string key = "data-status=\"";
  for (auto p = page.find(key); p != std::string::npos; p = page.find(key, p + 1)) {
    const auto start = p + key.size();
    kinds.push_back(page.substr(start, page.find('"', start) - start));
  }
  return kinds;
}

std::string first_row_name(const std::string& page) {
  const std::string key = "<tr class=\"cert ";
  const auto row = page.find(key);
  if (row == std::string::npos) return "";
  const auto p = page.find("data-name=\"", row) + 11;
  return page.substr(p, page.find('"', p) - p);
}

// Every 97th expired (104 of 10,000), every 53rd that is not expired failing (189 - 2 =
// 187), the other 9,709 valid.
std::vector<CertificateRecord> fleet() {
  std::vector<CertificateRecord> certs;
  certs.reserve(kCerts);
  for (int i = 0; i < kCerts; ++i) {
    CertificateRecord c;
    char name[32];
    std::snprintf(name, sizeof name, "c%05d", i);
    c.name = name;
    c.domains = {c.name + ".example.com"};
    c.serial = std::to_string(i + 1);
    c.not_before = kNow - 10 * kDay;
    c.not_after = kNow + 80 * kDay;
    c.last_success = c.not_before;
    if (i % 97 == 0) {
      c.not_before = kNow - 91 * kDay;
      c.not_after = kNow - kDay;
    } else if (i % 53 == 0) {
      c.consecutive_failures = 2;
      c.next_attempt = kNow + 3600;
      c.last_error = "authorization for " + c.domains[0] + " is invalid";
    }
    certs.push_back(c);
  }
  return certs;
}

}  // namespace

TEST_CASE("status page: 10,000 certificates are summarised and paged, problems first") {
  const auto certs = fleet();
  int issuer_calls = 0;
  StatusPageInput in;
  in.now = kNow;
  in.issuer = [&issuer_calls](const CertificateRecord&) {
    ++issuer_calls;
    return std::string("Test CA");
  };

  const std::string p1 = render_status_page(certs, in);
  CHECK(p1.find("<h1>acmectl: 10000 certificates</h1>") != std::string::npos);
  // The summary counts every certificate, not only the page's.
  CHECK(p1.find("<span class=\"st expired\">expired</span> 104</span>") != std::string::npos);
  CHECK(p1.find("<span class=\"st failing\">failing</span> 187</span>") != std::string::npos);
  CHECK(p1.find("<span class=\"st valid\">valid</span> 9709</span>") != std::string::npos);
  CHECK(p1.find("Page 1 of 100") != std::string::npos);
  CHECK(p1.find("<a href=\"/?page=2\">next</a>") != std::string::npos);
  CHECK(p1.find(">previous</a>") == std::string::npos);
  // One page of rows, each with its timeline; the issuer read for those rows only.
  CHECK(count(p1, "<tr class=\"cert ") == kStatusPageSize);
  CHECK(count(p1, "<svg class=\"tl\"") == kStatusPageSize);
  CHECK(issuer_calls == static_cast<int>(kStatusPageSize));
  // Problems first: page 1 is all expired (104 of them), by name.
  auto kinds = row_kinds(p1);
  REQUIRE(kinds.size() == kStatusPageSize);
  for (const auto& k : kinds) CHECK(k == "expired");
  CHECK(first_row_name(p1) == "c00000");
  // A page is small whatever the fleet size.
  CHECK(p1.size() < 200'000);

  // Page 2: the last 4 expired, then the failing ones, whose last error is shown.
  in.page = 2;
  const std::string p2 = render_status_page(certs, in);
  kinds = row_kinds(p2);
  REQUIRE(kinds.size() == kStatusPageSize);
  for (std::size_t i = 0; i < kinds.size(); ++i) CHECK(kinds[i] == (i < 4 ? "expired" : "failing"));
  CHECK(p2.find("is invalid") != std::string::npos);
  CHECK(p2.find("<a href=\"/?page=1\">previous</a>") != std::string::npos);

  // The last page: valid ones only, no next link; a page past the end shows the last.
  in.page = 100;
  const std::string p100 = render_status_page(certs, in);
  kinds = row_kinds(p100);
  REQUIRE(kinds.size() == kStatusPageSize);
  for (const auto& k : kinds) CHECK(k == "valid");
  CHECK(p100.find("Page 100 of 100") != std::string::npos);
  CHECK(p100.find(">next</a>") == std::string::npos);
  CHECK(first_row_name(p100) == "c09897");
  in.page = 1000;
  CHECK(render_status_page(certs, in) == p100);

  // Every certificate is on exactly one page.
  std::size_t rows = 0;
  for (std::size_t page = 1; page <= 100; ++page) {
    in.page = page;
    rows += count(render_status_page(certs, in), "<tr class=\"cert ");
  }
  CHECK(rows == static_cast<std::size_t>(kCerts));
}
