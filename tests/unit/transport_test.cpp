// Transport against the fake ACME server: nonces (RFC 8555 §6.5, §7.2), badNonce retry,
// error responses (RFC 8555 §6.6, §6.7, RFC 9110 §10.2.3), and the fake server's own JWS
// verification (RFC 8555 §6.2-§6.4).

#include "acme/transport.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <ctime>
#include <string>

#include "acme/http.hpp"
#include "acme/issuer.hpp"
#include "acme/jws.hpp"
#include "fake_acme_server.hpp"
#include "fake_clock.hpp"
#include "protocol_fixture.hpp"

namespace acme::test {
namespace {

using namespace std::chrono_literals;

const std::string kNewOrder = "https://ca.test/new-order";
const std::vector<Identifier> kOneName = {{"dns", "a.example.test"}};

std::string http_date(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string problem_body(const std::string& type, const std::string& detail, int status) {
  return nlohmann::json{
      {"type", "urn:ietf:params:acme:error:" + type}, {"detail", detail}, {"status", status}}
      .dump();
}

const Headers kProblemHeaders = {{"Content-Type", "application/problem+json"}};

// A fresh nonce straight from the server (HEAD newNonce).
std::string fetch_nonce(FakeAcmeServer& server) {
  auto resp = server.send({"HEAD", "https://ca.test/new-nonce", {}, ""});
  REQUIRE(resp.has_value());
  auto nonce = resp->header("replay-nonce");
  REQUIRE(nonce.has_value());
  return *nonce;
}

HttpRequest jose_post(const std::string& url, const nlohmann::json& jws) {
  return {"POST", url, {{"Content-Type", "application/jose+json"}}, jws.dump()};
}

}  // namespace

TEST_CASE_FIXTURE(
    ProtocolFixture,
    "RFC 8555 §7.2: nonces come from every response; one HEAD newNonce per issuance") {
  // The fixture registered an account: directory GET (no nonce, like Pebble), then the
  // transport's only HEAD newNonce.
  CHECK(server.head_new_nonce_count() == 1);
  RecordingSolver solver(server);
  Issuer issuer(client, solver, clock);
  IssueRequest request;
  request.identifiers = {{"dns", "a.example.test"}, {"dns", "b.example.test"}};
  auto cert = issuer.issue(request);
  REQUIRE_MESSAGE(cert.has_value(), (cert ? "" : cert.error().to_string()));
  CHECK(server.head_new_nonce_count() == 1);
  CHECK(server.requests("newNonce") == 1);
  CHECK(server.requests("directory") == 1);
}

TEST_CASE_FIXTURE(ProtocolFixture, "RFC 8555 §6.5: badNonce is retried at once and succeeds") {
  server.reject_next_nonces(2);
  auto order = client.new_order(kOneName);
  REQUIRE_MESSAGE(order.has_value(), (order ? "" : order.error().to_string()));
  CHECK(order->status == acme::OrderStatus::kPending);
  CHECK(server.requests("newOrder") == 3);
  CHECK(client.transport().bad_nonce_retries() == 2);
  // The nonces come from the badNonce responses themselves (RFC 8555 §6.5): no HEAD.
  CHECK(server.head_new_nonce_count() == 1);
  CHECK(clock.sleeps().empty());
}

TEST_CASE_FIXTURE(ProtocolFixture, "RFC 8555 §6.5: badNonce retry gives up after the bound") {
  server.set_reject_all_nonces(true);
  client.transport().set_max_bad_nonce_retries(3);
  auto order = client.new_order(kOneName);
  REQUIRE_FALSE(order.has_value());
  const Error& err = order.error();
  CHECK(err.code == Errc::kAcmeProblem);
  REQUIRE(err.problem.has_value());
  CHECK(err.problem->type == "urn:ietf:params:acme:error:badNonce");
  CHECK(err.problem->acme_type() == "badNonce");
  CHECK(err.http_status == 400);
  CHECK(server.requests("newOrder") == 1 + 3);
  CHECK(clock.sleeps().empty());
}

TEST_CASE_FIXTURE(
    ProtocolFixture,
    "RFC 8555 §6.6: rateLimited 429 with Retry-After seconds is returned, not slept") {
  server.respond_next("newOrder", 429,
                      problem_body("rateLimited", "too many new orders recently", 429),
                      {{"Content-Type", "application/problem+json"}, {"Retry-After", "7"}});
  auto order = client.new_order(kOneName);
  REQUIRE_FALSE(order.has_value());
  const Error& err = order.error();
  CHECK(err.code == Errc::kAcmeProblem);
  CHECK(err.http_status == 429);
  REQUIRE(err.problem.has_value());
  CHECK(err.problem->acme_type() == "rateLimited");
  CHECK(err.problem->detail == "too many new orders recently");
  REQUIRE(err.retry_after.has_value());
  CHECK(*err.retry_after == 7s);
  CHECK(is_retryable(err));
  // ARCHITECTURE.md: libacme never sleeps on rateLimited and never retries it.
  CHECK(clock.sleeps().empty());
  CHECK(server.requests("newOrder") == 1);
}

TEST_CASE_FIXTURE(ProtocolFixture, "RFC 9110 §10.2.3: Retry-After as an HTTP-date") {
  const std::string date = http_date(clock.now() + 120s);
  CHECK(date == "Wed, 01 Jan 2025 00:02:00 GMT");
  server.respond_next("newOrder", 429, problem_body("rateLimited", "slow down", 429),
                      {{"Content-Type", "application/problem+json"}, {"Retry-After", date}});
  auto order = client.new_order(kOneName);
  REQUIRE_FALSE(order.has_value());
  REQUIRE(order.error().retry_after.has_value());
  CHECK(*order.error().retry_after == 120s);
  CHECK(clock.sleeps().empty());

  SUBCASE("parse_retry_after: seconds, dates, past dates, garbage") {
    const auto now = clock.now();
    CHECK(parse_retry_after("7", now) == std::optional<std::chrono::seconds>(7s));
    CHECK(parse_retry_after(date, now) == std::optional<std::chrono::seconds>(120s));
    CHECK(parse_retry_after(http_date(now - 1h), now) == std::optional<std::chrono::seconds>(0s));
    CHECK_FALSE(parse_retry_after("soon", now).has_value());
  }
}

TEST_CASE_FIXTURE(ProtocolFixture, "5xx with an HTML body is a kHttp error naming URL and status") {
  server.respond_next("newOrder", 500, "<html><body><h1>Internal Server Error</h1></body></html>",
                      {{"Content-Type", "text/html"}});
  auto order = client.new_order(kOneName);
  REQUIRE_FALSE(order.has_value());
  const Error& err = order.error();
  CHECK(err.code == Errc::kHttp);
  CHECK(err.http_status == 500);
  CHECK_FALSE(err.problem.has_value());
  CHECK_MESSAGE(err.message.find(kNewOrder) != std::string::npos, err.message);
  CHECK_MESSAGE(err.message.find("500") != std::string::npos, err.message);
  CHECK(server.requests("newOrder") == 1);
}

TEST_CASE_FIXTURE(ProtocolFixture, "malformed JSON in a 200 answer is a kProtocol error") {
  auto order = client.new_order(kOneName);
  REQUIRE(order.has_value());
  server.respond_next("order", 200, "{\"status\":", {{"Content-Type", "application/json"}});
  auto polled = client.get_order(order->url);
  REQUIRE_FALSE(polled.has_value());
  CHECK(polled.error().code == Errc::kProtocol);
  CHECK_MESSAGE(polled.error().message.find(order->url) != std::string::npos,
                polled.error().message);
}

TEST_CASE_FIXTURE(ProtocolFixture, "RFC 8555 §6.7.1: problem document with subproblems") {
  // The example of RFC 8555 §6.7.1, verbatim.
  const std::string body = R"({
    "type": "urn:ietf:params:acme:error:malformed",
    "detail": "Some of the identifiers requested were rejected",
    "subproblems": [
        {
            "type": "urn:ietf:params:acme:error:malformed",
            "detail": "Invalid underscore in DNS name \"_example.org\"",
            "identifier": {
                "type": "dns",
                "value": "_example.org"
            }
        },
        {
            "type": "urn:ietf:params:acme:error:rejectedIdentifier",
            "detail": "This CA will not issue for \"example.net\"",
            "identifier": {
                "type": "dns",
                "value": "example.net"
            }
        }
    ]
})";
  server.respond_next("newOrder", 403, body, kProblemHeaders);
  auto order = client.new_order({{"dns", "_example.org"}, {"dns", "example.net"}});
  REQUIRE_FALSE(order.has_value());
  const Error& err = order.error();
  CHECK(err.code == Errc::kAcmeProblem);
  CHECK(err.http_status == 403);
  REQUIRE(err.problem.has_value());
  const Problem& p = *err.problem;
  CHECK(p.type == "urn:ietf:params:acme:error:malformed");
  CHECK(p.acme_type() == "malformed");
  CHECK(p.detail == "Some of the identifiers requested were rejected");
  REQUIRE(p.subproblems.size() == 2);
  CHECK(p.subproblems[0].type == "urn:ietf:params:acme:error:malformed");
  CHECK(p.subproblems[0].detail == "Invalid underscore in DNS name \"_example.org\"");
  REQUIRE(p.subproblems[0].identifier.has_value());
  CHECK(*p.subproblems[0].identifier == Identifier{"dns", "_example.org"});
  CHECK(p.subproblems[1].type == "urn:ietf:params:acme:error:rejectedIdentifier");
  CHECK(p.subproblems[1].detail == "This CA will not issue for \"example.net\"");
  REQUIRE(p.subproblems[1].identifier.has_value());
  CHECK(*p.subproblems[1].identifier == Identifier{"dns", "example.net"});
  const std::string text = err.to_string();
  CHECK_MESSAGE(text.find("example.net") != std::string::npos, text);
}

TEST_CASE("RFC 8555 §6.2: ES256, ES384 and RS256 account keys produce verifiable JWS") {
  KeyType type = KeyType::kEc256;
  SUBCASE("ES256") { type = KeyType::kEc256; }
  SUBCASE("ES384") { type = KeyType::kEc384; }
  SUBCASE("RS256") { type = KeyType::kRsa2048; }
  ProtocolFixture f(type);
  auto order = f.client.new_order(kOneName);
  REQUIRE_MESSAGE(order.has_value(), (order ? "" : order.error().to_string()));
  auto polled = f.client.get_order(order->url);
  REQUIRE(polled.has_value());
  CHECK(polled->url == order->url);
  CHECK(f.server.requests("order") == 1);
}

TEST_CASE("a host that does not answer is a kNetwork error, not a response") {
  FakeClock clock;
  FakeAcmeServer server(&clock);
  Client client(server, clock, "https://unknown.test/dir");
  auto loaded = client.load_directory();
  REQUIRE_FALSE(loaded.has_value());
  CHECK(loaded.error().code == Errc::kNetwork);
}

// The fake server must itself catch what it claims to catch, or "zero violations" means
// nothing.
TEST_CASE_FIXTURE(ProtocolFixture, "fake server: rejects replayed nonces, wrong url, bad JWS") {
  const std::string nonce = fetch_nonce(server);
  auto jws = sign_jws(*key, {kNewOrder, nonce, account_url},
                      R"({"identifiers":[{"type":"dns","value":"a.example.test"}]})");
  REQUIRE(jws.has_value());

  auto first = server.send(jose_post(kNewOrder, *jws));
  REQUIRE(first.has_value());
  CHECK(first->status == 201);
  CHECK(server.violations().empty());

  SUBCASE("replayed nonce: badNonce") {
    auto again = server.send(jose_post(kNewOrder, *jws));
    REQUIRE(again.has_value());
    CHECK(again->status == 400);
    CHECK(again->body.find("badNonce") != std::string::npos);
    CHECK(again->header("content-type") == std::optional<std::string>("application/problem+json"));
    CHECK(again->header("replay-nonce").has_value());
  }
  SUBCASE("url header differs from the request URL: unauthorized") {
    auto other = sign_jws(*key, {"https://ca.test/new-account", fetch_nonce(server), account_url},
                          R"({"identifiers":[{"type":"dns","value":"a.example.test"}]})");
    REQUIRE(other.has_value());
    auto resp = server.send(jose_post(kNewOrder, *other));
    REQUIRE(resp.has_value());
    CHECK(resp->status == 401);
  }
  SUBCASE("wrong Content-Type: 415") {
    auto fresh = sign_jws(*key, {kNewOrder, fetch_nonce(server), account_url}, "");
    REQUIRE(fresh.has_value());
    HttpRequest req = jose_post(kNewOrder, *fresh);
    req.headers = {{"Content-Type", "application/json"}};
    auto resp = server.send(req);
    REQUIRE(resp.has_value());
    CHECK(resp->status == 415);
  }
  SUBCASE("tampered signature: malformed") {
    auto fresh = sign_jws(*key, {kNewOrder, fetch_nonce(server), account_url},
                          R"({"identifiers":[{"type":"dns","value":"a.example.test"}]})");
    REQUIRE(fresh.has_value());
    std::string sig = (*fresh)["signature"].get<std::string>();
    sig[5] = sig[5] == 'A' ? 'B' : 'A';
    (*fresh)["signature"] = sig;
    auto resp = server.send(jose_post(kNewOrder, *fresh));
    REQUIRE(resp.has_value());
    CHECK(resp->status == 400);
    CHECK(resp->body.find("malformed") != std::string::npos);
  }
  SUBCASE("jwk instead of kid outside newAccount: malformed") {
    auto fresh = sign_jws(*key, {kNewOrder, fetch_nonce(server), ""},
                          R"({"identifiers":[{"type":"dns","value":"a.example.test"}]})");
    REQUIRE(fresh.has_value());
    auto resp = server.send(jose_post(kNewOrder, *fresh));
    REQUIRE(resp.has_value());
    CHECK(resp->status == 400);
  }
  SUBCASE("unprotected header member: malformed") {
    auto fresh = sign_jws(*key, {kNewOrder, fetch_nonce(server), account_url}, "");
    REQUIRE(fresh.has_value());
    (*fresh)["header"] = nlohmann::json::object();
    auto resp = server.send(jose_post(kNewOrder, *fresh));
    REQUIRE(resp.has_value());
    CHECK(resp->status == 400);
  }
  SUBCASE("GET on a POST-as-GET resource: 405") {
    auto resp = server.send({"GET", first->header("location").value_or(""), {}, ""});
    REQUIRE(resp.has_value());
    CHECK(resp->status == 405);
  }
  // Each subcase made exactly one bad request (the first send was clean).
  CHECK(server.violations().size() == 1);
  server.clear_violations();
}

}  // namespace acme::test
