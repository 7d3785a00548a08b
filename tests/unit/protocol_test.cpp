// Client and Issuer against the fake ACME server (RFC 8555): accounts, orders,
// authorizations, the present -> wait -> respond -> poll -> finalize -> download flow,
// failure handling, polling, alternate chains. Every test also asserts the server saw
// zero JWS/protocol violations (ProtocolFixture's destructor).

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "acme/certificate.hpp"
#include "acme/issuer.hpp"
#include "acme/types.hpp"
#include "fake_acme_server.hpp"
#include "fake_clock.hpp"
#include "protocol_fixture.hpp"

namespace acme::test {
namespace {

using namespace std::chrono_literals;

std::vector<Identifier> names(const std::vector<std::string>& in, bool wildcard = false) {
  auto ids = normalize_identifiers(in, wildcard);
  REQUIRE_MESSAGE(ids.has_value(), (ids ? "" : ids.error().to_string()));
  return *ids;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Issuer of the topmost certificate of a chain: what preferred_chain matches
// (as certbot and lego do).
std::string top_issuer(const std::string& chain_pem) {
  const auto certs = split_pem_certificates(chain_pem);
  REQUIRE_FALSE(certs.empty());
  auto info = inspect_certificate(certs.back());
  REQUIRE(info.has_value());
  return info->issuer;
}

std::string authz_of(const FakeAcmeServer& server, const std::string& order_url,
                     const std::string& value) {
  for (const auto& url : server.order_authorizations(order_url)) {
    if (server.authz_identifier(url).value == value) return url;
  }
  FAIL("no authorization for " << value);
  return "";
}

struct IssueRun {
  Result<IssuedCertificate> result;
  std::string order_url;
  std::vector<std::string> steps;
};

IssueRun run_issuer(ProtocolFixture& f, Solver& solver, IssueRequest request) {
  IssueRun run{make_error(Errc::kInternal, "not run"), {}, {}};
  request.on_order_created = [&run](const std::string& url) { run.order_url = url; };
  Issuer issuer(f.client, solver, f.clock,
                [&run](std::string_view step, std::chrono::milliseconds, std::string_view) {
                  run.steps.emplace_back(step);
                });
  run.result = issuer.issue(request);
  return run;
}

}  // namespace

// ---- Accounts ------------------------------------------------------------------------

TEST_CASE_FIXTURE(ProtocolFixture, "RFC 8555 §7.3: new_account returns the URL from Location") {
  CHECK(contains(account_url, "https://ca.test/acct/"));
  CHECK(client.account_url() == account_url);
  CHECK(server.account_status(account_url) == "valid");
  CHECK(server.requests("newAccount") == 1);
  // RFC 8555 §7.3.1: the same key again is the same account (200, same Location).
  auto again = client.new_account(*key, {{"mailto:a@b.test"}, true});
  REQUIRE(again.has_value());
  CHECK(again->url == account_url);
  CHECK(again->status == "valid");
}

TEST_CASE_FIXTURE(ProtocolFixture, "RFC 8555 §7.3.1: find_account with onlyReturnExisting") {
  SUBCASE("unknown key: accountDoesNotExist") {
    auto other = PrivateKey::generate(KeyType::kEc256);
    REQUIRE(other.has_value());
    auto found = client.find_account(*other);
    REQUIRE_FALSE(found.has_value());
    CHECK(found.error().code == Errc::kAcmeProblem);
    REQUIRE(found.error().problem.has_value());
    CHECK(found.error().problem->acme_type() == "accountDoesNotExist");
    CHECK(server.requests("newAccount") == 2);
  }
  SUBCASE("known key: the existing account URL") {
    auto found = client.find_account(*key);
    REQUIRE(found.has_value());
    CHECK(found->url == account_url);
  }
}

TEST_CASE_FIXTURE(ProtocolFixture, "RFC 8555 §7.3.6: account deactivation") {
  auto account = client.deactivate_account();
  REQUIRE_MESSAGE(account.has_value(), (account ? "" : account.error().to_string()));
  CHECK(account->status == "deactivated");
  CHECK(server.account_deactivations() == 1);
  CHECK(server.account_status(account_url) == "deactivated");
  // The server refuses the deactivated account from now on.
  auto order = client.new_order({{"dns", "a.example.test"}});
  REQUIRE_FALSE(order.has_value());
  REQUIRE(order.error().problem.has_value());
  CHECK(order.error().problem->acme_type() == "unauthorized");
}

TEST_CASE_FIXTURE(ProtocolFixture, "RFC 8555 §7.3.5: account key rollover") {
  SUBCASE("the account signs with the new key from then on") {
    auto fresh = PrivateKey::generate(KeyType::kEc384);
    REQUIRE(fresh.has_value());
    auto changed = client.change_key(*fresh);
    REQUIRE_MESSAGE(changed.has_value(), (changed ? "" : changed.error().to_string()));
    CHECK(server.key_changes() == 1);
    CHECK(client.account_key() == &*fresh);
    CHECK(client.account_url() == account_url);
    // Requests now verify against the new key (ES384), and the old key is no account.
    auto order = client.new_order({{"dns", "a.example.test"}});
    REQUIRE_MESSAGE(order.has_value(), (order ? "" : order.error().to_string()));
    auto old = client.find_account(*key);
    REQUIRE_FALSE(old.has_value());
    REQUIRE(old.error().problem.has_value());
    CHECK(old.error().problem->acme_type() == "accountDoesNotExist");
    auto found = client.find_account(*fresh);
    REQUIRE(found.has_value());
    CHECK(found->url == account_url);
  }
  SUBCASE("a key another account uses: 409, the old key stays") {
    auto other_key = PrivateKey::generate(KeyType::kEc256);
    REQUIRE(other_key.has_value());
    Client other{server, clock, std::string(FakeAcmeServer::kDirectoryUrl)};
    REQUIRE(other.new_account(*other_key, {{}, true}).has_value());
    client.set_account(*key, account_url);
    auto changed = client.change_key(*other_key);
    REQUIRE_FALSE(changed.has_value());
    CHECK(changed.error().http_status == 409);
    CHECK(server.key_changes() == 0);
    CHECK(client.account_key() == &*key);
    CHECK(client.new_order({{"dns", "a.example.test"}}).has_value());
  }
  SUBCASE("the same key is refused before any request") {
    auto same = client.change_key(*key);
    REQUIRE_FALSE(same.has_value());
    CHECK(same.error().code == Errc::kInvalidInput);
    CHECK(server.requests("keyChange") == 0);
  }
}

// ---- Orders and authorizations -------------------------------------------------------

TEST_CASE_FIXTURE(ProtocolFixture, "RFC 8555 §7.4, §7.5: order and authorization resources") {
  auto order = client.new_order(names({"A.Example.test", "b.example.test"}));
  REQUIRE_MESSAGE(order.has_value(), (order ? "" : order.error().to_string()));
  CHECK(contains(order->url, "https://ca.test/order/"));
  CHECK(order->status == OrderStatus::kPending);
  CHECK(order->identifiers ==
        std::vector<Identifier>{{"dns", "a.example.test"}, {"dns", "b.example.test"}});
  REQUIRE(order->authorizations.size() == 2);
  CHECK(contains(order->finalize, "https://ca.test/finalize/"));

  auto authz = client.get_authorization(order->authorizations[0]);
  REQUIRE(authz.has_value());
  CHECK(authz->url == order->authorizations[0]);
  CHECK(authz->identifier == Identifier{"dns", "a.example.test"});
  CHECK(authz->status == AuthorizationStatus::kPending);
  const Challenge* http = authz->find_challenge("http-01");
  REQUIRE(http != nullptr);
  CHECK(http->status == ChallengeStatus::kPending);
  CHECK(http->token.size() == 43);

  SUBCASE("RFC 8555 §7.5.2: deactivating an authorization") {
    auto deactivated = client.deactivate_authorization(authz->url);
    REQUIRE(deactivated.has_value());
    CHECK(deactivated->status == AuthorizationStatus::kDeactivated);
    CHECK(server.authz_deactivations() == 1);
    CHECK(server.authz_status(authz->url) == "deactivated");
    auto polled = client.get_order(order->url);
    REQUIRE(polled.has_value());
    CHECK(polled->status == OrderStatus::kInvalid);
  }
  SUBCASE("RFC 8555 §7.5.1: responding to a challenge POSTs {}") {
    auto chall = client.respond_challenge(http->url);
    REQUIRE_MESSAGE(chall.has_value(), (chall ? "" : chall.error().to_string()));
    CHECK(chall->url == http->url);
    CHECK(server.challenge_responses() == 1);
    auto polled = client.poll_authorization(authz->url, PollOptions{});
    REQUIRE(polled.has_value());
    CHECK(polled->status == AuthorizationStatus::kValid);
  }
}

// ---- The issuance flow ---------------------------------------------------------------

TEST_CASE_FIXTURE(ProtocolFixture, "RFC 8555 §7.1: happy path issuance with the Issuer") {
  RecordingSolver solver(server);
  IssueRequest request;
  request.identifiers = names({"a.example.test", "b.example.test"});
  auto run = run_issuer(*this, solver, request);
  REQUIRE_MESSAGE(run.result.has_value(), (run.result ? "" : run.result.error().to_string()));
  const IssuedCertificate& cert = *run.result;

  // Present all -> wait once -> respond -> cleanup (ARCHITECTURE.md, challenge.hpp).
  CHECK(solver.presented_values() == std::vector<std::string>{"a.example.test", "b.example.test"});
  CHECK(std::all_of(solver.responses_at_present.begin(), solver.responses_at_present.end(),
                    [](int n) { return n == 0; }));
  CHECK(solver.wait_ready_calls == 1);
  CHECK(solver.presents_at_wait == 2);
  CHECK(solver.responses_at_wait == 0);
  CHECK(server.challenge_responses() == 2);
  CHECK(solver.all_cleaned());
  CHECK(solver.cleaned.size() == 2);
  const auto first_cleanup =
      std::find_if(solver.events.begin(), solver.events.end(),
                   [](const std::string& e) { return contains(e, "cleanup"); });
  const auto wait = std::find(solver.events.begin(), solver.events.end(), "wait_ready");
  CHECK(wait < first_cleanup);
  for (const auto& ctx : solver.presented) {
    CHECK(ctx.challenge_type == "http-01");
    // RFC 8555 §8.1, computed independently by the server.
    CHECK(ctx.key_authorization == server.key_authorization(account_url, ctx.token));
  }

  // The certificate.
  CHECK(cert.fullchain_pem == cert.cert_pem + cert.chain_pem);
  CHECK(split_pem_certificates(cert.fullchain_pem).size() == 2);
  CHECK(cert.info.dns_names == std::vector<std::string>{"a.example.test", "b.example.test"});
  CHECK(contains(cert.info.issuer, "Fake Intermediate"));
  CHECK_FALSE(cert.info.ari_cert_id.empty());
  auto cert_key = PrivateKey::from_pem(cert.key_pem);
  REQUIRE(cert_key.has_value());
  CHECK(cert_key->type() == KeyType::kEc256);
  CHECK(key_matches_certificate(*cert_key, cert.cert_pem));
  CHECK_FALSE(key_matches_certificate(*key, cert.cert_pem));

  CHECK(cert.order_url == run.order_url);
  CHECK(server.order_status(run.order_url) == "valid");
  CHECK(contains(cert.certificate_url, "https://ca.test/cert/"));
  CHECK(cert.alternate_urls.empty());
  CHECK(server.requests("newOrder") == 1);
  CHECK(server.requests("finalize") == 1);
  CHECK(server.requests("certificate") == 1);
  CHECK(server.authz_deactivations() == 0);
  CHECK(run.steps ==
        std::vector<std::string>{"order", "authorizations", "validation", "finalize", "download"});
}

TEST_CASE_FIXTURE(ProtocolFixture, "RFC 8555 §7.1.3: wildcard names are validated with dns-01") {
  RecordingSolver solver(server, "dns-01");
  IssueRequest request;
  request.identifiers = names({"*.example.test", "example.test"}, /*allow_wildcard=*/true);
  request.key_type = KeyType::kEc384;
  auto run = run_issuer(*this, solver, request);
  REQUIRE_MESSAGE(run.result.has_value(), (run.result ? "" : run.result.error().to_string()));
  // RFC 8555 §7.1.4: both authorizations name example.test; the TXT values were checked
  // by the server against its own key authorization digest (RFC 8555 §8.4).
  CHECK(solver.presented.size() == 2);
  for (const auto& ctx : solver.presented) CHECK(ctx.identifier.value == "example.test");
  CHECK(run.result->info.dns_names == std::vector<std::string>{"*.example.test", "example.test"});
  auto cert_key = PrivateKey::from_pem(run.result->key_pem);
  REQUIRE(cert_key.has_value());
  CHECK(cert_key->type() == KeyType::kEc384);
}

TEST_CASE_FIXTURE(ProtocolFixture,
                  "RFC 8555 §7.5.1: invalid challenge -> kValidation, pending authz deactivated") {
  const std::string detail =
      "Invalid response from http://bad.example.test/.well-known/acme-challenge/x: 404";
  server.fail_validation("bad.example.test", "incorrectResponse", detail);
  // good.example.test is still pending when bad.example.test has failed.
  server.set_authz_pending_polls("good.example.test", 50);
  RecordingSolver solver(server);
  IssueRequest request;
  request.identifiers = names({"bad.example.test", "good.example.test"});
  auto run = run_issuer(*this, solver, request);
  REQUIRE_FALSE(run.result.has_value());
  const Error& err = run.result.error();
  CHECK(err.code == Errc::kValidation);
  CHECK_MESSAGE(contains(err.message, "bad.example.test"), err.message);
  CHECK_MESSAGE(contains(err.message, detail), err.message);

  REQUIRE_FALSE(run.order_url.empty());
  CHECK(server.authz_status(authz_of(server, run.order_url, "bad.example.test")) == "invalid");
  CHECK(server.authz_status(authz_of(server, run.order_url, "good.example.test")) == "deactivated");
  CHECK(server.authz_deactivations() >= 1);
  CHECK(solver.presented.size() == 2);
  CHECK(solver.all_cleaned());
  CHECK(server.requests("finalize") == 0);
}

TEST_CASE_FIXTURE(ProtocolFixture,
                  "cleanup runs and authorizations are deactivated when present fails") {
  RecordingSolver solver(server);
  solver.fail_present_for = "b.example.test";
  IssueRequest request;
  request.identifiers = names({"a.example.test", "b.example.test"});
  auto run = run_issuer(*this, solver, request);
  REQUIRE_FALSE(run.result.has_value());
  CHECK_MESSAGE(contains(run.result.error().to_string(), "disk full"),
                run.result.error().to_string());
  CHECK(solver.presented_values() == std::vector<std::string>{"a.example.test"});
  CHECK(solver.all_cleaned());
  CHECK(solver.wait_ready_calls == 0);
  CHECK(server.challenge_responses() == 0);
  REQUIRE_FALSE(run.order_url.empty());
  for (const auto& url : server.order_authorizations(run.order_url)) {
    CHECK(server.authz_status(url) == "deactivated");
  }
}

TEST_CASE_FIXTURE(ProtocolFixture, "a server error while responding still cleans up") {
  server.respond_next("challenge", 500, "<html>oops</html>", {{"Content-Type", "text/html"}});
  RecordingSolver solver(server);
  IssueRequest request;
  request.identifiers = names({"a.example.test"});
  auto run = run_issuer(*this, solver, request);
  REQUIRE_FALSE(run.result.has_value());
  CHECK(run.result.error().code == Errc::kHttp);
  CHECK(run.result.error().http_status == 500);
  CHECK(solver.all_cleaned());
  REQUIRE_FALSE(run.order_url.empty());
  CHECK(server.authz_status(server.order_authorizations(run.order_url).at(0)) == "deactivated");
}

TEST_CASE_FIXTURE(ProtocolFixture, "IssueRequest.key_pem reuses the certificate key") {
  auto cert_key = PrivateKey::generate(KeyType::kEc256);
  REQUIRE(cert_key.has_value());
  auto pem = cert_key->to_pem();
  REQUIRE(pem.has_value());
  RecordingSolver solver(server);
  IssueRequest request;
  request.identifiers = names({"a.example.test"});
  request.key_pem = *pem;
  auto run = run_issuer(*this, solver, request);
  REQUIRE_MESSAGE(run.result.has_value(), (run.result ? "" : run.result.error().to_string()));
  CHECK(run.result->key_pem == *pem);
  CHECK(key_matches_certificate(*cert_key, run.result->cert_pem));
}

TEST_CASE_FIXTURE(ProtocolFixture,
                  "RFC 8555 §7.1.3: a reused (already valid) authorization is left alone") {
  server.add_pre_valid("a.example.test");
  RecordingSolver solver(server);
  IssueRequest request;
  request.identifiers = names({"a.example.test", "b.example.test"});
  auto run = run_issuer(*this, solver, request);
  REQUIRE_MESSAGE(run.result.has_value(), (run.result ? "" : run.result.error().to_string()));
  CHECK(solver.presented_values() == std::vector<std::string>{"b.example.test"});
  CHECK(server.responded_identifiers() == std::vector<Identifier>{{"dns", "b.example.test"}});
  CHECK(run.result->info.dns_names == std::vector<std::string>{"a.example.test", "b.example.test"});

  SUBCASE("every authorization valid: nothing to present, no wait") {
    // A second order for the same names where both are already valid.
    server.add_pre_valid("b.example.test");
    RecordingSolver idle(server);
    auto again = run_issuer(*this, idle, request);
    REQUIRE(again.result.has_value());
    CHECK(idle.presented.empty());
    CHECK(server.challenge_responses() == 1);
  }
}

TEST_CASE_FIXTURE(ProtocolFixture,
                  "RFC 8555 §7.4: a processing order is polled after each Retry-After") {
  server.set_finalize_processing(/*polls=*/2, /*retry_after_seconds=*/4);
  RecordingSolver solver(server);
  IssueRequest request;
  request.identifiers = names({"a.example.test"});
  auto run = run_issuer(*this, solver, request);
  REQUIRE_MESSAGE(run.result.has_value(), (run.result ? "" : run.result.error().to_string()));
  const auto sleeps = clock.sleeps();
  const auto four = std::count(sleeps.begin(), sleeps.end(), Clock::Duration(4s));
  // finalize answered processing + Retry-After 4, then two more polls did: three waits of
  // 4 s and no poll before its Retry-After elapsed (RFC 8555 §7.4: clients follow it).
  CHECK_MESSAGE(four == 3, "sleeps of 4 s: " << four);
  CHECK(server.early_polls() == 0);
  CHECK(server.requests("certificate") == 1);
  CHECK(server.order_status(run.order_url) == "valid");
}

// The first poll is prompt (PollOptions::first_delay, 50 ms) and never immediate; then the
// delays grow (x1.6) up to max_delay. That a Retry-After always wins over the computed
// delay is checked by "RFC 8555 §7.4: a processing order is polled after each Retry-After".
TEST_CASE_FIXTURE(ProtocolFixture, "polling: first poll after 40-100 ms, then growing delays") {
  auto order = client.new_order({{"dns", "a.example.test"}});
  REQUIRE(order.has_value());
  auto authz = client.get_authorization(order->authorizations.at(0));
  REQUIRE(authz.has_value());
  const Challenge* http = authz->find_challenge("http-01");
  REQUIRE(http != nullptr);
  server.set_authz_pending_polls(4);
  REQUIRE(client.respond_challenge(http->url).has_value());
  clock.clear_sleeps();
  const int before = server.requests("authz");

  auto polled = client.poll_authorization(authz->url, PollOptions{});
  REQUIRE_MESSAGE(polled.has_value(), (polled ? "" : polled.error().to_string()));
  CHECK(polled->status == AuthorizationStatus::kValid);
  CHECK(server.requests("authz") - before == 5);
  const auto sleeps = clock.sleeps();
  REQUIRE(sleeps.size() >= 4);
  CHECK(sleeps[0] >= 40ms);
  CHECK(sleeps[0] <= 100ms);
  CHECK(sleeps[1] > sleeps[0]);
  CHECK(sleeps[2] > sleeps[1]);
  CHECK(sleeps[3] > sleeps[2]);
  for (const auto& s : sleeps) CHECK(s <= PollOptions{}.max_delay);
}

TEST_CASE_FIXTURE(ProtocolFixture, "polling: the overall timeout gives kTimeout") {
  server.set_authz_pending_polls(1'000'000);

  SUBCASE("Client::poll_authorization") {
    auto order = client.new_order({{"dns", "a.example.test"}});
    REQUIRE(order.has_value());
    auto authz = client.get_authorization(order->authorizations.at(0));
    REQUIRE(authz.has_value());
    REQUIRE(client.respond_challenge(authz->find_challenge("http-01")->url).has_value());
    clock.clear_sleeps();
    PollOptions options;
    options.timeout = 10s;
    auto polled = client.poll_authorization(authz->url, options);
    REQUIRE_FALSE(polled.has_value());
    CHECK(polled.error().code == Errc::kTimeout);
    CHECK(clock.total_slept() <= options.timeout + options.max_delay);
    CHECK(clock.total_slept() >= options.timeout - options.max_delay);
    CHECK(server.requests("authz") < 30);
  }
  SUBCASE("Issuer: kTimeout, cleanup ran, the pending authorization deactivated") {
    RecordingSolver solver(server);
    IssueRequest request;
    request.identifiers = names({"a.example.test"});
    request.poll.timeout = 20s;
    auto run = run_issuer(*this, solver, request);
    REQUIRE_FALSE(run.result.has_value());
    CHECK(run.result.error().code == Errc::kTimeout);
    CHECK(solver.all_cleaned());
    CHECK(solver.cleaned.size() == 1);
    REQUIRE_FALSE(run.order_url.empty());
    CHECK(server.authz_status(server.order_authorizations(run.order_url).at(0)) == "deactivated");
  }
}

TEST_CASE_FIXTURE(ProtocolFixture, "RFC 8555 §7.4.2: alternate chains and preferred_chain") {
  server.set_alternate_chains(true);
  RecordingSolver solver(server);
  IssueRequest request;
  request.identifiers = names({"a.example.test"});

  SUBCASE("default chain when no preference is given") {
    auto run = run_issuer(*this, solver, request);
    REQUIRE_MESSAGE(run.result.has_value(), (run.result ? "" : run.result.error().to_string()));
    CHECK(contains(top_issuer(run.result->chain_pem), "Fake Root A"));
    REQUIRE(run.result->alternate_urls.size() == 1);
    CHECK(run.result->alternate_urls[0] == run.result->certificate_url + "/alt");
  }
  SUBCASE("preferred_chain selects the alternate by issuer CN") {
    request.preferred_chain = "Fake Root B";
    auto run = run_issuer(*this, solver, request);
    REQUIRE_MESSAGE(run.result.has_value(), (run.result ? "" : run.result.error().to_string()));
    CHECK(contains(top_issuer(run.result->chain_pem), "Fake Root B"));
    CHECK(run.result->fullchain_pem == run.result->cert_pem + run.result->chain_pem);
    CHECK(server.requests("certificate") == 2);
  }
  SUBCASE("a preference matching the default chain downloads nothing more") {
    request.preferred_chain = "Root A";
    auto run = run_issuer(*this, solver, request);
    REQUIRE(run.result.has_value());
    CHECK(contains(top_issuer(run.result->chain_pem), "Fake Root A"));
    CHECK(server.requests("certificate") == 1);
  }
  SUBCASE("a preference matching no chain falls back to the default") {
    request.preferred_chain = "No Such Root";
    auto run = run_issuer(*this, solver, request);
    REQUIRE(run.result.has_value());
    CHECK(contains(top_issuer(run.result->chain_pem), "Fake Root A"));
  }
}

TEST_CASE_FIXTURE(ProtocolFixture, "Client::download_certificate reads Link rel=alternate") {
  server.set_alternate_chains(true);
  RecordingSolver solver(server);
  IssueRequest request;
  request.identifiers = names({"a.example.test"});
  auto run = run_issuer(*this, solver, request);
  REQUIRE(run.result.has_value());
  auto chain = client.download_certificate(run.result->certificate_url);
  REQUIRE(chain.has_value());
  CHECK(chain->alternates == std::vector<std::string>{run.result->certificate_url + "/alt"});
  CHECK(split_pem_certificates(chain->pem).size() == 2);
}

TEST_CASE_FIXTURE(ProtocolFixture, "IssueRequest.order_url resumes an existing order") {
  auto order = client.new_order(names({"a.example.test"}));
  REQUIRE(order.has_value());
  RecordingSolver solver(server);
  IssueRequest request;
  request.identifiers = names({"a.example.test"});
  request.order_url = order->url;
  auto run = run_issuer(*this, solver, request);
  REQUIRE_MESSAGE(run.result.has_value(), (run.result ? "" : run.result.error().to_string()));
  CHECK(run.result->order_url == order->url);
  CHECK(server.requests("newOrder") == 1);
  CHECK(server.order_status(order->url) == "valid");
}

TEST_CASE_FIXTURE(ProtocolFixture, "RFC 8555 §7.6: revocation by the account key") {
  RecordingSolver solver(server);
  IssueRequest request;
  request.identifiers = names({"a.example.test"});
  auto run = run_issuer(*this, solver, request);
  REQUIRE(run.result.has_value());
  auto der = certificate_der(run.result->cert_pem);
  REQUIRE(der.has_value());
  auto revoked = client.revoke_certificate(*der, 4);  // superseded
  REQUIRE_MESSAGE(revoked.has_value(), (revoked ? "" : revoked.error().to_string()));
  CHECK(server.revocations() == 1);
  auto again = client.revoke_certificate(*der, 4);
  REQUIRE_FALSE(again.has_value());
  REQUIRE(again.error().problem.has_value());
  CHECK(again.error().problem->acme_type() == "alreadyRevoked");
}

TEST_CASE_FIXTURE(ProtocolFixture, "draft-ietf-acme-profiles: meta.profiles and newOrder profile") {
  server.set_profiles({{"classic", "The usual 90 days"}, {"shortlived", "Six days"}});
  Client fresh{server, clock, std::string(FakeAcmeServer::kDirectoryUrl)};
  REQUIRE(fresh.load_directory().has_value());
  CHECK(fresh.directory().profiles ==
        std::map<std::string, std::string>{{"classic", "The usual 90 days"},
                                           {"shortlived", "Six days"}});
  auto order = client.new_order({{"dns", "a.example.test"}}, {}, "shortlived");
  REQUIRE_MESSAGE(order.has_value(), (order ? "" : order.error().to_string()));
  CHECK(order->profile == "shortlived");
  auto plain = client.new_order({{"dns", "b.example.test"}});
  REQUIRE(plain.has_value());
  CHECK(plain->profile.empty());
  CHECK(server.profiles_seen() == std::vector<std::string>{"shortlived", ""});
}

TEST_CASE("RFC 8555 §7.3.4: newAccount with External Account Binding") {
  FakeClock clock;
  FakeAcmeServer server{&clock};
  server.require_eab("kid-9", "0123456789abcdef0123456789abcdef");
  Client client{server, clock, std::string(FakeAcmeServer::kDirectoryUrl)};
  REQUIRE(client.load_directory().has_value());
  CHECK(client.directory().external_account_required);
  auto key = PrivateKey::generate(KeyType::kEc256);
  REQUIRE(key.has_value());
  NewAccountOptions options;
  options.terms_agreed = true;

  auto none = client.new_account(*key, options);
  REQUIRE_FALSE(none.has_value());
  REQUIRE(none.error().problem.has_value());
  CHECK(none.error().problem->acme_type() == "externalAccountRequired");

  ExternalAccountBinding eab{"kid-9", "another key entirely", "HS512"};
  auto wrong = client.new_account(*key, options, &eab);
  REQUIRE_FALSE(wrong.has_value());
  CHECK(server.eab_bindings() == 0);

  eab.hmac_key = "0123456789abcdef0123456789abcdef";
  auto bound = client.new_account(*key, options, &eab);
  REQUIRE_MESSAGE(bound.has_value(), (bound ? "" : bound.error().to_string()));
  CHECK(server.eab_bindings() == 1);
  CHECK(server.violations().empty());
}

TEST_CASE("RFC 8555 §7.1.6: statuses are enums; an unknown status is a protocol error") {
  for (auto st : {OrderStatus::kPending, OrderStatus::kReady, OrderStatus::kProcessing,
                  OrderStatus::kValid, OrderStatus::kInvalid}) {
    CHECK(parse_order_status(to_string(st)) == st);
  }
  for (auto st : {AuthorizationStatus::kPending, AuthorizationStatus::kValid,
                  AuthorizationStatus::kInvalid, AuthorizationStatus::kDeactivated,
                  AuthorizationStatus::kExpired, AuthorizationStatus::kRevoked}) {
    CHECK(parse_authorization_status(to_string(st)) == st);
  }
  for (auto st : {ChallengeStatus::kPending, ChallengeStatus::kProcessing, ChallengeStatus::kValid,
                  ChallengeStatus::kInvalid}) {
    CHECK(parse_challenge_status(to_string(st)) == st);
  }
  CHECK_FALSE(parse_order_status("Valid").has_value());
  CHECK_FALSE(parse_authorization_status("ready").has_value());

  auto order = parse_order(nlohmann::json{{"status", "almost-done"},
                                          {"finalize", "https://ca.test/f"},
                                          {"identifiers", nlohmann::json::array()}});
  REQUIRE_FALSE(order.has_value());
  CHECK(order.error().code == Errc::kProtocol);
  CHECK(contains(order.error().message, "order has an unknown status \"almost-done\""));

  auto missing = parse_order(nlohmann::json{{"finalize", "https://ca.test/f"}});
  REQUIRE_FALSE(missing.has_value());
  CHECK(contains(missing.error().message, "\"status\""));

  // An authorization keeps the challenges it can read; one with a status outside the RFC's
  // set is skipped like a challenge of an unknown type (RFC 8555 §7.1.4).
  auto authz = parse_authorization(nlohmann::json{
      {"status", "pending"},
      {"identifier", {{"type", "dns"}, {"value", "a.test"}}},
      {"challenges",
       {{{"type", "http-01"}, {"url", "https://ca.test/c/1"}, {"status", "weird"}, {"token", "t"}},
        {{"type", "dns-01"},
         {"url", "https://ca.test/c/2"},
         {"status", "valid"},
         {"token", "t"}}}}});
  REQUIRE(authz.has_value());
  CHECK(authz->status == AuthorizationStatus::kPending);
  REQUIRE(authz->challenges.size() == 1);
  CHECK(authz->challenges[0].status == ChallengeStatus::kValid);
}

}  // namespace acme::test
