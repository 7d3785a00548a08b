// The one certificate pipeline (pipeline/pipeline.hpp) against the in-process fake CA:
// obtain, renew, backoff, a resumed order, ARI "replaces" and its alreadyReplaced retry, a
// failing deploy hook, and the account created exactly once by racing workers.
#include "pipeline/pipeline.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "acme/base64url.hpp"
#include "acme/certificate.hpp"
#include "base/time.hpp"
#include "challenge/settings.hpp"
#include "events/event_sink.hpp"
#include "fake_acme_server.hpp"
#include "fake_clock.hpp"
#include "session/account.hpp"

namespace {

using acme::test::FakeAcmeServer;
using acme::test::FakeClock;
using agent::Outcome;
using agent::RunOptions;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/acmectl-pipeline-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { (void)!system(("rm -rf '" + path + "'").c_str()); }
};

// The session's HTTP client: forwards to the fake CA the test owns.
class Forward final : public acme::HttpClient {
 public:
  explicit Forward(acme::HttpClient& to) : to_(to) {}
  acme::Result<acme::HttpResponse> send(const acme::HttpRequest& r) override { return to_.send(r); }

 private:
  acme::HttpClient& to_;
};

// A clock that says "cancelled" once armed (the agent stopping mid-order).
class StoppableClock final : public acme::Clock {
 public:
  explicit StoppableClock(FakeClock& base) : base_(base) {}
  std::chrono::system_clock::time_point now() const override { return base_.now(); }
  std::chrono::steady_clock::time_point steady_now() const override { return base_.steady_now(); }
  void sleep_for(Duration d) override {
    base_.sleep_for(d);
    if (arm_) cancelled_ = true;
  }
  bool cancelled() const override { return cancelled_; }
  std::atomic<bool> arm_{false};
  std::atomic<bool> cancelled_{false};

 private:
  FakeClock& base_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct World {
  TempDir dir;
  FakeClock fake_clock;
  StoppableClock clock{fake_clock};
  FakeAcmeServer ca{&fake_clock};
  std::unique_ptr<agent::Store> store;
  agent::metrics::Registry registry;
  std::unique_ptr<agent::EventSink> events;

  World() {
    auto s = agent::Store::open(dir.path + "/acmectl.db");
    REQUIRE(s);
    store = std::move(*s);
    events = std::make_unique<agent::EventSink>(*store, registry, std::chrono::seconds(10));
    // The CA "fetches" http-01 responses from the webroot the certificate names.
    ca.set_key_authorization_source([this](const std::string& type, const acme::Identifier&,
                                           const std::string& token) -> std::optional<std::string> {
      if (type != "http-01") return std::nullopt;
      const std::string body = slurp(webroot() + "/.well-known/acme-challenge/" + token);
      if (body.empty()) return std::nullopt;
      return body;
    });
    ::mkdir(webroot().c_str(), 0755);
  }
  std::string webroot() const { return dir.path + "/www"; }

  agent::PipelineSettings settings() {
    agent::PipelineSettings s;
    s.state_dir = dir.path;
    s.acme.server = std::string(FakeAcmeServer::kDirectoryUrl);
    s.acme.agree_tos = true;
    s.clock = &clock;
    s.http_factory = [this](const acme::HttpOptions&) {
      return acme::Result<std::unique_ptr<acme::HttpClient>>(std::make_unique<Forward>(ca));
    };
    return s;
  }

  // Records a certificate as `acmectl issue` does.
  void add(const std::string& name, const std::string& hook = "") {
    agent::CertificateRecord rec;
    rec.name = name;
    rec.domains = {name};
    rec.challenge = "http-01";
    rec.webroot = webroot();
    agent::ChallengeSettings ch;
    ch.webroot = webroot();
    rec.challenge_settings = agent::to_json(ch);
    rec.out_dir = dir.path + "/live/" + name;
    rec.server = std::string(FakeAcmeServer::kDirectoryUrl);
    rec.deploy_hook = hook;
    REQUIRE(store->upsert_certificate(rec));
  }

  agent::CertificateRecord record(const std::string& name) {
    auto r = store->find_certificate(name);
    REQUIRE(r);
    REQUIRE(*r);
    return **r;
  }

  std::string installed_serial(const std::string& name) {
    auto info = acme::inspect_certificate(slurp(dir.path + "/live/" + name + "/cert.pem"));
    return info ? info->serial_hex : "";
  }
};

}  // namespace

TEST_CASE("pipeline: obtains a new certificate, installs it, records it; not due afterwards") {
  World w;
  w.add("a.test");
  agent::Pipeline p(*w.store, *w.events, w.settings());
  auto r = p.run("a.test", {});
  INFO(r.message);
  CHECK(r.outcome == Outcome::kRenewed);
  CHECK(r.installed);
  const auto rec = w.record("a.test");
  CHECK_FALSE(rec.serial.empty());
  CHECK(w.installed_serial("a.test") == rec.serial);
  CHECK(rec.consecutive_failures == 0);
  CHECK_FALSE(rec.hook_pending);
  struct stat st {};
  REQUIRE(::stat((w.dir.path + "/live/a.test/privkey.pem").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(w.ca.violations().empty());

  // Not due: nothing is ordered.
  const int orders = w.ca.requests("newOrder");
  r = p.run("a.test", {});
  CHECK(r.outcome == Outcome::kNotDue);
  CHECK(w.ca.requests("newOrder") == orders);
  // --force renews now.
  r = p.run("a.test", RunOptions{true, true});
  CHECK(r.outcome == Outcome::kRenewed);
  CHECK(w.record("a.test").serial != rec.serial);
  CHECK(w.ca.requests("newOrder") == orders + 1);
}

TEST_CASE("pipeline: a failure is recorded with a persisted backoff that the next run honours") {
  World w;
  w.add("b.test");
  w.ca.fail_validation("b.test", "urn:ietf:params:acme:error:unauthorized", "no such token");
  agent::Pipeline p(*w.store, *w.events, w.settings());
  auto r = p.run("b.test", {});
  CHECK(r.outcome == Outcome::kFailed);
  CHECK(r.message.find("no such token") != std::string::npos);
  auto rec = w.record("b.test");
  CHECK(rec.consecutive_failures == 1);
  CHECK(rec.next_attempt > agent::to_unix(w.clock.now()));
  CHECK(rec.last_error.find("no such token") != std::string::npos);
  // A new pipeline (a restart) still honours the backoff: no order.
  const int orders = w.ca.requests("newOrder");
  agent::Pipeline p2(*w.store, *w.events, w.settings());
  r = p2.run("b.test", {});
  CHECK(r.outcome == Outcome::kBackoff);
  CHECK(w.ca.requests("newOrder") == orders);
  auto events = w.store->events("b.test", 10);
  REQUIRE(events);
  REQUIRE_FALSE(events->empty());
  bool failed_event = false;
  for (const auto& e : *events) failed_event = failed_event || e.kind == "failed";
  CHECK(failed_event);
}

TEST_CASE("pipeline: an order interrupted by a stop is resumed, not ordered again") {
  World w;
  w.add("c.test");
  w.ca.set_authz_pending_polls(2);
  w.clock.arm_ = true;  // the agent stops at the first poll
  {
    agent::Pipeline p(*w.store, *w.events, w.settings());
    auto r = p.run("c.test", {});
    CHECK(r.outcome == Outcome::kNotDue);
    CHECK(r.message.find("order kept") != std::string::npos);
  }
  auto order = w.store->find_order("c.test");
  REQUIRE(order);
  REQUIRE(*order);
  CHECK(::access((w.dir.path + "/pending/c.test.key").c_str(), F_OK) == 0);
  CHECK(w.ca.requests("newOrder") == 1);

  w.clock.arm_ = false;
  w.clock.cancelled_ = false;
  agent::Pipeline p(*w.store, *w.events, w.settings());
  auto r = p.run("c.test", {});
  INFO(r.message);
  CHECK(r.outcome == Outcome::kRenewed);
  CHECK(w.ca.requests("newOrder") == 1);  // resumed
  CHECK(::access((w.dir.path + "/pending/c.test.key").c_str(), F_OK) != 0);
  auto cleared = w.store->find_order("c.test");
  REQUIRE(cleared);
  CHECK_FALSE(*cleared);
}

TEST_CASE("pipeline: with ARI a renewal names what it replaces; alreadyReplaced orders without") {
  World w;
  w.ca.set_ari(true);
  w.add("d.test");
  agent::Pipeline p(*w.store, *w.events, w.settings());
  REQUIRE(p.run("d.test", {}).outcome == Outcome::kRenewed);
  const auto first = w.record("d.test");
  REQUIRE_FALSE(first.ari_cert_id.empty());
  CHECK(w.ca.replaces_seen().empty());

  REQUIRE(p.run("d.test", RunOptions{true, true}).outcome == Outcome::kRenewed);
  const auto second = w.record("d.test");
  REQUIRE(w.ca.replaces_seen().size() == 1);
  CHECK(w.ca.replaces_seen()[0] == first.ari_cert_id);

  // The CA says the predecessor was replaced already (by another client): the pipeline
  // orders again without "replaces" and still succeeds.
  w.ca.mark_replaced(second.ari_cert_id);
  auto r = p.run("d.test", RunOptions{true, true});
  INFO(r.message);
  CHECK(r.outcome == Outcome::kRenewed);
  CHECK(w.ca.replaces_seen().size() == 2);
  CHECK(w.record("d.test").serial != second.serial);

  // Not forced: the CA's window (60 days out) says not yet, so nothing is ordered.
  const int orders = w.ca.requests("newOrder");
  r = p.run("d.test", {});
  CHECK(r.outcome == Outcome::kNotDue);
  CHECK(w.ca.requests("newOrder") == orders);
  CHECK(w.ca.requests("renewalInfo") >= 1);
}

TEST_CASE("pipeline: a failing deploy hook leaves the certificate installed and the hook owed") {
  World w;
  const std::string flag = w.dir.path + "/hook-fails";
  const std::string hook = w.dir.path + "/hook.sh";
  {
    std::ofstream h(hook);
    h << "#!/bin/sh\nif [ -e " << flag << " ]; then echo broken >&2; exit 3; fi\n"
      << "echo \"$ACMECTL_CERT_NAME\" >> " << w.dir.path << "/hook.log\n";
  }
  ::chmod(hook.c_str(), 0755);
  { std::ofstream(flag) << "x"; }
  w.add("e.test", hook);
  agent::Pipeline p(*w.store, *w.events, w.settings());
  auto r = p.run("e.test", {});
  CHECK(r.outcome == Outcome::kHookFailed);
  CHECK(r.installed);
  auto rec = w.record("e.test");
  CHECK(rec.hook_pending);
  CHECK(w.installed_serial("e.test") == rec.serial);  // recorded before the hook ran

  // Fixed: the next run runs the owed hook, orders nothing.
  ::unlink(flag.c_str());
  const int orders = w.ca.requests("newOrder");
  r = p.run("e.test", {});
  CHECK(r.outcome == Outcome::kNotDue);
  CHECK(w.ca.requests("newOrder") == orders);
  CHECK_FALSE(w.record("e.test").hook_pending);
  CHECK(slurp(w.dir.path + "/hook.log") == "e.test\n");
}

TEST_CASE("pipeline: racing workers on an empty state dir create exactly one account") {
  World w;
  const std::vector<std::string> names = {"f1.test", "f2.test", "f3.test", "f4.test"};
  for (const auto& n : names) w.add(n);
  std::vector<std::thread> threads;
  std::atomic<int> renewed{0};
  for (const auto& n : names) {
    threads.emplace_back([&w, &renewed, n] {
      auto s = agent::Store::open(w.dir.path + "/acmectl.db");
      REQUIRE(s);
      agent::EventSink events(**s, w.registry, std::chrono::seconds(10));
      agent::Pipeline p(**s, events, w.settings());
      if (p.run(n, {}).outcome == Outcome::kRenewed) ++renewed;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(renewed == 4);
  CHECK(w.ca.requests("newAccount") == 1);
  auto account = w.store->find_account(std::string(FakeAcmeServer::kDirectoryUrl));
  REQUIRE(account);
  REQUIRE(*account);
  // Another run with the stored account works (the JWS verifies with the stored key).
  agent::Pipeline p(*w.store, *w.events, w.settings());
  CHECK(p.run("f1.test", RunOptions{true, true}).outcome == Outcome::kRenewed);
  CHECK(w.ca.violations().empty());
}

TEST_CASE("pipeline: an account the CA no longer knows is registered again with the same key") {
  World w;
  w.add("g.test");
  agent::Pipeline p(*w.store, *w.events, w.settings());
  REQUIRE(p.run("g.test", {}).outcome == Outcome::kRenewed);
  const int accounts = w.ca.requests("newAccount");
  auto account = w.store->find_account(std::string(FakeAcmeServer::kDirectoryUrl));
  REQUIRE(account);
  REQUIRE(*account);
  const std::string key_before = slurp((*account)->key_path);
  // A restarted test CA or a staging reset: the stored account is unknown.
  w.ca.respond_next("newOrder", 400,
                    R"({"type":"urn:ietf:params:acme:error:accountDoesNotExist",)"
                    R"("detail":"no account with this key id"})",
                    {{"Content-Type", "application/problem+json"}});
  auto r = p.run("g.test", RunOptions{true, true});
  INFO(r.message);
  CHECK(r.outcome == Outcome::kRenewed);
  CHECK(w.ca.requests("newAccount") == accounts + 1);  // once
  CHECK(slurp((*account)->key_path) == key_before);    // the same key
  CHECK(w.ca.violations().empty());
}

TEST_CASE("pipeline: an output directory that cannot take the files fails before any order") {
  World w;
  w.add("h.test");
  // OUT is a file: nothing can be installed under it.
  { std::ofstream(w.dir.path + "/live") << "not a directory"; }
  agent::Pipeline p(*w.store, *w.events, w.settings());
  auto r = p.run("h.test", {});
  CHECK(r.outcome == Outcome::kFailed);
  CHECK(r.message.find(w.dir.path + "/live") != std::string::npos);
  CHECK(w.ca.requests("newOrder") == 0);
  CHECK(w.record("h.test").consecutive_failures == 1);
}

TEST_CASE("pipeline: the stored profile is sent in newOrder and reused on renewal") {
  World w;
  w.ca.set_profiles({{"classic", "90 days"}, {"shortlived", "6 days, IP addresses allowed"}});
  w.add("p.test");
  auto rec = w.record("p.test");
  rec.profile = "shortlived";  // as `acmectl issue --profile shortlived` records it
  REQUIRE(w.store->upsert_certificate(rec));
  {
    agent::Pipeline p(*w.store, *w.events, w.settings());
    auto r = p.run("p.test", {});
    INFO(r.message);
    REQUIRE(r.outcome == Outcome::kRenewed);
  }
  // A later run (a restart: a new pipeline) renews from the store alone.
  agent::Pipeline p(*w.store, *w.events, w.settings());
  auto r = p.run("p.test", RunOptions{true, true});
  INFO(r.message);
  CHECK(r.outcome == Outcome::kRenewed);
  CHECK(w.ca.profiles_seen() == std::vector<std::string>{"shortlived", "shortlived"});
  CHECK(w.record("p.test").profile == "shortlived");
  CHECK(w.ca.violations().empty());
}

TEST_CASE("pipeline: a profile the CA does not advertise fails before any order") {
  World w;
  w.ca.set_profiles({{"classic", "90 days"}});
  w.add("q.test");
  auto rec = w.record("q.test");
  rec.profile = "shortlived";
  REQUIRE(w.store->upsert_certificate(rec));
  agent::Pipeline p(*w.store, *w.events, w.settings());
  auto r = p.run("q.test", {});
  CHECK(r.outcome == Outcome::kFailed);
  CHECK(r.message.find("does not offer the profile \"shortlived\"") != std::string::npos);
  CHECK(r.message.find(std::string(FakeAcmeServer::kDirectoryUrl)) != std::string::npos);
  CHECK(r.message.find("classic") != std::string::npos);
  CHECK(w.ca.requests("newOrder") == 0);
}

TEST_CASE("pipeline: External Account Binding registers the account; none or a wrong key fails") {
  const std::string key = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
  World w;
  w.ca.require_eab("kid-1", *acme::base64url_decode(key));
  w.add("e.test");

  SUBCASE("without EAB: an error naming the options, before newAccount") {
    agent::Pipeline p(*w.store, *w.events, w.settings());
    auto r = p.run("e.test", {});
    CHECK(r.outcome == Outcome::kFailed);
    CHECK(r.message.find("--eab-kid") != std::string::npos);
    CHECK(r.message.find("--eab-hmac-key") != std::string::npos);
    CHECK(w.ca.requests("newAccount") == 0);
  }
  SUBCASE("a wrong key: the CA's refusal names EAB") {
    auto s = w.settings();
    s.acme.eab_kid = "kid-1";
    s.acme.eab_hmac_key = "b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH";
    agent::Pipeline p(*w.store, *w.events, s);
    auto r = p.run("e.test", {});
    CHECK(r.outcome == Outcome::kFailed);
    CHECK(r.message.find("External Account Binding") != std::string::npos);
    CHECK(r.message.find(s.acme.eab_hmac_key) == std::string::npos);
    CHECK(w.ca.eab_bindings() == 0);
  }
  SUBCASE("the right key (HS256 by default); the key is nowhere in the database") {
    auto s = w.settings();
    s.acme.eab_kid = "kid-1";
    s.acme.eab_hmac_key = key;
    agent::Pipeline p(*w.store, *w.events, s);
    auto r = p.run("e.test", {});
    INFO(r.message);
    CHECK(r.outcome == Outcome::kRenewed);
    CHECK(w.ca.eab_bindings() == 1);
    CHECK(w.ca.violations().empty());
    for (const char* suffix : {"", "-wal"}) {
      CHECK(slurp(w.dir.path + "/acmectl.db" + suffix).find(key) == std::string::npos);
    }
  }
  SUBCASE("a MAC key that is not base64url is refused before any request") {
    auto s = w.settings();
    s.acme.eab_kid = "kid-1";
    s.acme.eab_hmac_key = "not base64url!";
    agent::Pipeline p(*w.store, *w.events, s);
    auto r = p.run("e.test", {});
    CHECK(r.outcome == Outcome::kFailed);
    CHECK(r.message.find("not base64url") != std::string::npos);
    CHECK(w.ca.requests("newAccount") == 0);
  }
}

namespace {

// The primary CA that is down: every request to it fails to connect; the rest goes to the
// fake CA (the fallback).
class DownPrimary final : public acme::HttpClient {
 public:
  DownPrimary(acme::HttpClient& to, std::atomic<int>& hits) : to_(to), hits_(hits) {}
  acme::Result<acme::HttpResponse> send(const acme::HttpRequest& r) override {
    if (r.url.rfind("https://down.test/", 0) == 0) {
      ++hits_;
      return acme::make_error(acme::Errc::kNetwork,
                              "GET " + r.url + ": connect: Connection refused");
    }
    return to_.send(r);
  }

 private:
  acme::HttpClient& to_;
  std::atomic<int>& hits_;
};

}  // namespace

TEST_CASE("pipeline: an unreachable primary hands the order to the fallback CA, then rests") {
  World w;
  w.add("fo.test");
  auto rec = w.record("fo.test");
  rec.server = "https://down.test/dir";
  REQUIRE(w.store->upsert_certificate(rec));
  std::atomic<int> primary_hits{0};
  auto settings = w.settings();
  settings.acme.server = "https://down.test/dir";
  settings.acme.failover.fallbacks = {
      {std::string(FakeAcmeServer::kDirectoryUrl), "", "", "", "", "", ""}};
  settings.acme.failover.retry_seconds = 600;
  settings.http_factory = [&](const acme::HttpOptions&) {
    return acme::Result<std::unique_ptr<acme::HttpClient>>(
        std::make_unique<DownPrimary>(w.ca, primary_hits));
  };
  {
    agent::Pipeline p(*w.store, *w.events, settings);
    auto r = p.run("fo.test", {});
    INFO(r.message);
    CHECK(r.outcome == Outcome::kRenewed);
    CHECK(r.message.find("from fallback CA https://ca.test/dir") != std::string::npos);
  }
  CHECK(primary_hits == 1);  // one directory fetch, then straight to the fallback
  rec = w.record("fo.test");
  CHECK(rec.issued_by == FakeAcmeServer::kDirectoryUrl);
  CHECK(rec.server == "https://down.test/dir");  // the configured primary stays
  CHECK(rec.consecutive_failures == 0);
  auto h = w.store->ca_health("https://down.test/dir");
  REQUIRE(h);
  CHECK(h->consecutive_failures == 1);
  CHECK(h->unavailable_until == agent::to_unix(w.clock.now()) + 600);
  CHECK(h->last_error.find("Connection refused") != std::string::npos);
  auto events = w.store->events("fo.test", 10);
  REQUIRE(events);
  bool failed_over = false;
  for (const auto& e : *events) {
    failed_over = failed_over || (e.kind == "failed_over" &&
                                  e.detail == "https://down.test/dir -> " +
                                                  std::string(FakeAcmeServer::kDirectoryUrl));
  }
  CHECK(failed_over);

  // While the primary rests, a renewal (a new process) does not even try it.
  {
    agent::Pipeline p(*w.store, *w.events, settings);
    CHECK(p.run("fo.test", RunOptions{true, true}).outcome == Outcome::kRenewed);
  }
  CHECK(primary_hits == 1);
  // Its rest over, it is tried first again (return_to_primary), and fails over again.
  w.fake_clock.advance(std::chrono::seconds(601));
  {
    agent::Pipeline p(*w.store, *w.events, settings);
    CHECK(p.run("fo.test", RunOptions{true, true}).outcome == Outcome::kRenewed);
  }
  CHECK(primary_hits == 2);
  h = w.store->ca_health("https://down.test/dir");
  REQUIRE(h);
  CHECK(h->consecutive_failures == 2);
  auto fb = w.store->ca_health(std::string(FakeAcmeServer::kDirectoryUrl));
  REQUIRE(fb);
  CHECK(fb->consecutive_failures == 0);
  CHECK(fb->last_success != 0);
  CHECK(w.ca.violations().empty());
}

TEST_CASE("pipeline: a failed validation at the primary does not move the order to a fallback") {
  World w;
  w.add("fv.test");
  w.ca.fail_validation("fv.test", "urn:ietf:params:acme:error:unauthorized", "no such token");
  std::atomic<int> other_hits{0};
  auto settings = w.settings();
  settings.acme.failover.fallbacks = {{"https://down.test/dir", "", "", "", "", "", ""}};
  settings.acme.failover.after_failures = 1;
  settings.http_factory = [&](const acme::HttpOptions&) {
    return acme::Result<std::unique_ptr<acme::HttpClient>>(
        std::make_unique<DownPrimary>(w.ca, other_hits));
  };
  agent::Pipeline p(*w.store, *w.events, settings);
  auto r = p.run("fv.test", {});
  CHECK(r.outcome == Outcome::kFailed);
  CHECK(r.message.find("no such token") != std::string::npos);
  CHECK(other_hits == 0);
  auto h = w.store->ca_health(std::string(FakeAcmeServer::kDirectoryUrl));
  REQUIRE(h);
  CHECK(h->consecutive_failures == 0);
}
