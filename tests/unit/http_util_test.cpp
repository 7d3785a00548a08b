#include <doctest/doctest.h>

#include <chrono>

#include "acme/http.hpp"
#include "acme/result.hpp"

using namespace std::chrono;

TEST_CASE("RFC 9110 §10.2.3 Retry-After: delay-seconds") {
  const auto now = system_clock::from_time_t(784111777);
  CHECK(acme::parse_retry_after("120", now) == seconds(120));
  CHECK(acme::parse_retry_after(" 0 ", now) == seconds(0));
  CHECK(acme::parse_retry_after("99999999999999999999999", now) == seconds(365 * 86400));
  CHECK_FALSE(acme::parse_retry_after("-5", now));
  CHECK_FALSE(acme::parse_retry_after("soon", now));
  CHECK_FALSE(acme::parse_retry_after("", now));
}

TEST_CASE("RFC 9110 §5.6.7 Retry-After: HTTP-date in all three forms") {
  // Sun, 06 Nov 1994 08:49:37 GMT == 784111777
  const auto now = system_clock::from_time_t(784111777 - 30);
  CHECK(acme::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) == seconds(30));
  CHECK(acme::parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now) == seconds(30));
  CHECK(acme::parse_retry_after("Sun Nov  6 08:49:37 1994", now) == seconds(30));
  // A date in the past means "now".
  CHECK(acme::parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now + seconds(60)) == seconds(0));
  CHECK_FALSE(acme::parse_retry_after("Sun, 06 Nov 1994 08:49:37", now));
}

TEST_CASE("RFC 8288 Link headers: rel=\"up\" and rel=\"alternate\" (RFC 8555 §7.4.2)") {
  const std::vector<std::string> headers = {
      R"(<https://ca.test/dir>;rel="index")",
      R"(<https://ca.test/cert/1/1>;rel="alternate", <https://ca.test/cert/1/2>; rel=alternate)",
      R"(<https://ca.test/issuer>; title="x"; rel="up")",
      R"(<https://ca.test/both>; rel="alternate up")",
  };
  CHECK(acme::parse_links(headers, "alternate") ==
        std::vector<std::string>{"https://ca.test/cert/1/1", "https://ca.test/cert/1/2",
                                 "https://ca.test/both"});
  CHECK(acme::parse_links(headers, "up") ==
        std::vector<std::string>{"https://ca.test/issuer", "https://ca.test/both"});
  CHECK(acme::parse_links(headers, "next").empty());
  CHECK(acme::parse_links({"garbage", "<unterminated"}, "up").empty());
}

TEST_CASE("header lookup is by lower-case name, first wins") {
  acme::HttpResponse r;
  r.headers = {{"replay-nonce", "a"}, {"link", "1"}, {"link", "2"}};
  CHECK(r.header("replay-nonce") == "a");
  CHECK_FALSE(r.header("location"));
  CHECK(r.headers_named("link") == std::vector<std::string>{"1", "2"});
}

TEST_CASE("retryable vs permanent errors are decided in one place") {
  acme::Error e = acme::make_error(acme::Errc::kNetwork, "x");
  CHECK(acme::is_retryable(e));
  e.code = acme::Errc::kTls;
  CHECK_FALSE(acme::is_retryable(e));
  e.code = acme::Errc::kAcmeProblem;
  e.problem = acme::Problem{"urn:ietf:params:acme:error:rateLimited", "", "", 429, {}};
  e.http_status = 429;
  CHECK(acme::is_retryable(e));
  e.problem = acme::Problem{"urn:ietf:params:acme:error:unauthorized", "", "", 403, {}};
  e.http_status = 403;
  CHECK_FALSE(acme::is_retryable(e));
}

TEST_CASE("Error::to_string is one line with the problem and Retry-After") {
  acme::Error e =
      acme::make_error(acme::Errc::kAcmeProblem, "POST https://ca.test/new-order: HTTP 429");
  e.problem =
      acme::Problem{"urn:ietf:params:acme:error:rateLimited", "", "too many\nrequests", 429, {}};
  e.retry_after = seconds(7);
  CHECK(
      e.to_string() ==
      "POST https://ca.test/new-order: HTTP 429: rateLimited: too many requests (retry after 7s)");
}
