// Which CA an order goes to (pipeline/ca_choice.hpp): what counts as the CA failing, when a
// CA rests and for how long, and the order CAs are tried in -- plus the pipeline falling
// over from an unreachable primary to the fallback (the in-process fake CA) and staying
// off the primary while it rests.
#include "pipeline/ca_choice.hpp"

#include <doctest/doctest.h>

namespace {

using agent::CaFailure;
using agent::CaHealth;

acme::Error problem(const std::string& type, int status) {
  acme::Error e = acme::make_error(acme::Errc::kAcmeProblem, "POST https://ca/new-order");
  acme::Problem p;
  p.type = "urn:ietf:params:acme:error:" + type;
  p.status = status;
  e.problem = p;
  e.http_status = status;
  return e;
}

std::vector<agent::CaCandidate> three() {
  agent::GlobalOptions g;
  g.email = "ops@example.com";
  g.agree_tos = true;
  g.eab_kid = "primary-kid";
  g.failover.fallbacks = {{"https://b.test/dir", "/b.pem", "", "kid-b", "/b.key", "HS384", "p"},
                          {"https://c.test/dir", "", "c@example.com", "", "", "", ""},
                          {"https://a.test/dir", "", "", "", "", "", ""}};  // the primary again
  auto c = agent::ca_candidates("https://a.test/dir", g, "classic");
  REQUIRE(c);
  return *c;
}

}  // namespace

TEST_CASE("ca_choice: only failures of the CA itself count") {
  using acme::Errc;
  CHECK(agent::classify_ca_failure(acme::make_error(Errc::kNetwork, "connect: refused")) ==
        CaFailure::kUnreachable);
  CHECK(agent::classify_ca_failure(acme::make_error(Errc::kTls, "handshake")) ==
        CaFailure::kUnreachable);
  CHECK(agent::classify_ca_failure(acme::make_error(Errc::kTimeout, "order")) ==
        CaFailure::kServer);
  acme::Error http = acme::make_error(Errc::kHttp, "502");
  http.http_status = 502;
  CHECK(agent::classify_ca_failure(http) == CaFailure::kServer);
  http.http_status = 404;
  CHECK(agent::classify_ca_failure(http) == CaFailure::kNone);
  CHECK(agent::classify_ca_failure(problem("serverInternal", 500)) == CaFailure::kServer);
  CHECK(agent::classify_ca_failure(problem("rateLimited", 429)) == CaFailure::kRateLimited);
  // What would fail at any CA never moves a certificate.
  CHECK(agent::classify_ca_failure(problem("unauthorized", 403)) == CaFailure::kNone);
  CHECK(agent::classify_ca_failure(problem("rejectedIdentifier", 400)) == CaFailure::kNone);
  CHECK(agent::classify_ca_failure(problem("caa", 403)) == CaFailure::kNone);
  CHECK(agent::classify_ca_failure(acme::make_error(Errc::kValidation, "invalid")) ==
        CaFailure::kNone);
  CHECK(agent::classify_ca_failure(acme::make_error(Errc::kIo, "disk full")) == CaFailure::kNone);
  CHECK(agent::classify_ca_failure(acme::make_error(Errc::kInvalidInput, "EAB")) ==
        CaFailure::kNone);
}

TEST_CASE("ca_choice: a CA rests when unreachable or rate limited at once, else after N") {
  agent::CaFailover policy;
  policy.after_failures = 3;
  policy.retry_seconds = 600;
  const int64_t now = 1'000'000;
  CaHealth h;
  const acme::Error server = problem("serverInternal", 500);
  agent::note_ca_failure(h, CaFailure::kServer, server, policy, now);
  agent::note_ca_failure(h, CaFailure::kServer, server, policy, now + 60);
  CHECK(h.consecutive_failures == 2);
  CHECK(agent::ca_available(h, now + 60));
  agent::note_ca_failure(h, CaFailure::kServer, server, policy, now + 120);
  CHECK_FALSE(agent::ca_available(h, now + 120));
  CHECK(h.unavailable_until == now + 120 + 600);
  CHECK(agent::ca_available(h, now + 720));
  agent::note_ca_success(h, now + 800);
  CHECK(h.consecutive_failures == 0);
  CHECK(h.unavailable_until == 0);
  CHECK(h.last_error.empty());

  CaHealth down;
  agent::note_ca_failure(down, CaFailure::kUnreachable,
                         acme::make_error(acme::Errc::kNetwork, "refused"), policy, now);
  CHECK(down.consecutive_failures == 1);
  CHECK(down.unavailable_until == now + 600);

  // Retry-After longer than the rest wins; shorter does not shorten it.
  CaHealth limited;
  acme::Error rl = problem("rateLimited", 429);
  rl.retry_after = std::chrono::seconds(7200);
  agent::note_ca_failure(limited, CaFailure::kRateLimited, rl, policy, now);
  CHECK(limited.unavailable_until == now + 7200);
  rl.retry_after = std::chrono::seconds(5);
  CaHealth brief;
  agent::note_ca_failure(brief, CaFailure::kRateLimited, rl, policy, now);
  CHECK(brief.unavailable_until == now + 600);

  // Not the CA's fault: nothing changes.
  CaHealth fine;
  agent::note_ca_failure(fine, CaFailure::kNone, problem("unauthorized", 403), policy, now);
  CHECK(fine.consecutive_failures == 0);
  CHECK(fine.last_failure == 0);
}

TEST_CASE("ca_choice: candidates are the primary then each fallback once, with their own account") {
  const auto c = three();
  REQUIRE(c.size() == 3);
  CHECK(c[0].server == "https://a.test/dir");
  CHECK(c[0].fallback == 0);
  CHECK(c[0].profile == "classic");
  CHECK(c[0].options.eab_kid == "primary-kid");
  CHECK(c[1].server == "https://b.test/dir");
  CHECK(c[1].fallback == 1);
  CHECK(c[1].profile == "p");
  CHECK(c[1].options.email == "ops@example.com");  // the primary's, unless its own
  CHECK(c[1].options.eab_kid == "kid-b");          // never the primary's EAB
  CHECK(c[1].options.eab_hmac_key_file == "/b.key");
  CHECK(c[1].options.eab_alg == "HS384");
  CHECK(c[1].options.ca_bundle == "/b.pem");
  CHECK(c[1].options.agree_tos);
  CHECK(c[2].server == "https://c.test/dir");
  CHECK(c[2].fallback == 2);
  CHECK(c[2].options.email == "c@example.com");
  CHECK(c[2].options.eab_kid.empty());
  CHECK(c[2].profile.empty());

  agent::GlobalOptions bad;
  bad.failover.fallbacks = {{"http://plain.test/dir", "", "", "", "", "", ""}};
  auto r = agent::ca_candidates("https://a.test/dir", bad, "");
  REQUIRE_FALSE(r);
  CHECK(r.error().to_string().find("[[acme.fallback]] #1") != std::string::npos);
}

TEST_CASE("ca_choice: try order -- resting CAs last, return_to_primary, a stored order first") {
  const auto c = three();
  const int64_t now = 5000;
  std::vector<CaHealth> h(3);
  using V = std::vector<size_t>;
  CHECK(agent::ca_try_order(c, h, "", true, now) == V{0, 1, 2});
  // The primary rests: the fallbacks first, the primary as a last resort.
  h[0].unavailable_until = now + 10;
  CHECK(agent::ca_try_order(c, h, "https://a.test/dir", true, now) == V{1, 2, 0});
  // Its rest is over: back to the primary (return_to_primary = true) ...
  CHECK(agent::ca_try_order(c, h, "https://b.test/dir", true, now + 10) == V{0, 1, 2});
  // ... or stay with the CA that issued the installed certificate (false) while it works.
  CHECK(agent::ca_try_order(c, h, "https://b.test/dir", false, now + 10) == V{1, 0, 2});
  CHECK(agent::ca_try_order(c, h, "https://c.test/dir", false, now + 10) == V{2, 0, 1});
  h[2].unavailable_until = now + 100;
  CHECK(agent::ca_try_order(c, h, "https://c.test/dir", false, now + 10) == V{0, 1, 2});
  // Resting ones: soonest back first.
  h[0].unavailable_until = now + 200;
  h[1].unavailable_until = now + 50;
  CHECK(agent::ca_try_order(c, h, "", true, now) == V{1, 2, 0});
  // A stored order goes back to where it was placed, resting or not.
  CHECK(agent::ca_try_order(c, h, "", true, now, "https://a.test") == V{0, 1, 2});
  CHECK(agent::url_origin("https://c.test:8443/acme/order/1") == "https://c.test:8443");
  CHECK(agent::url_origin("no-scheme").empty());
}
