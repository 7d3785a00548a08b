#pragma once
// Shared setup for the hermetic protocol tests: a fake clock, the fake ACME server, a
// Client with a registered account, and a Solver that records every call and serves
// what it presented to the server's validation.

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "acme/challenge.hpp"
#include "acme/client.hpp"
#include "acme/key.hpp"
#include "fake_acme_server.hpp"
#include "fake_clock.hpp"

namespace acme::test {

struct ProtocolFixture {
  FakeClock clock;
  FakeAcmeServer server{&clock};
  Client client{server, clock, std::string(FakeAcmeServer::kDirectoryUrl)};
  std::optional<PrivateKey> key;
  std::string account_url;

  explicit ProtocolFixture(KeyType type = KeyType::kEc256) {
    auto generated = PrivateKey::generate(type);
    REQUIRE_MESSAGE(generated.has_value(), "PrivateKey::generate");
    key.emplace(std::move(*generated));
    auto account = client.new_account(*key, {{"mailto:a@b.test"}, true});
    REQUIRE_MESSAGE(account.has_value(),
                    "new_account: " << (account ? std::string() : account.error().to_string()));
    account_url = account->url;
    client.set_account(*key, account_url);
  }

  // Zero JWS / protocol violations in every test that uses the fixture.
  ~ProtocolFixture() {
    for (const auto& v : server.violations()) FAIL_CHECK("fake server violation: " << v);
  }
  ProtocolFixture(const ProtocolFixture&) = delete;
  ProtocolFixture& operator=(const ProtocolFixture&) = delete;
};

// Records present / wait_ready / cleanup and what the server had seen at each call.
class RecordingSolver final : public Solver {
 public:
  explicit RecordingSolver(FakeAcmeServer& server, std::string type = "http-01")
      : server_(server), type_(std::move(type)) {
    server_.set_key_authorization_source(
        [this](const std::string& challenge_type, const Identifier&,
               const std::string& token) -> std::optional<std::string> {
          if (challenge_type != type_) return std::nullopt;
          auto it = live_.find(token);
          if (it == live_.end()) return std::nullopt;
          return it->second;
        });
  }
  ~RecordingSolver() override { server_.set_key_authorization_source(nullptr); }
  RecordingSolver(const RecordingSolver&) = delete;
  RecordingSolver& operator=(const RecordingSolver&) = delete;

  std::string challenge_type() const override { return type_; }

  Result<void> present(const ChallengeContext& ctx) override {
    events.push_back("present " + ctx.identifier.value);
    responses_at_present.push_back(server_.challenge_responses());
    if (ctx.identifier.value == fail_present_for) {
      return make_error(Errc::kIo, "present " + ctx.identifier.value + ": disk full");
    }
    presented.push_back(ctx);
    // What the CA would fetch: the key authorization (http-01, RFC 8555 §8.3) or the TXT
    // record value (dns-01, §8.4).
    live_[ctx.token] =
        type_ == "dns-01" ? dns01_txt_value(ctx.key_authorization) : ctx.key_authorization;
    return ok();
  }

  Result<void> wait_ready() override {
    events.push_back("wait_ready");
    ++wait_ready_calls;
    presents_at_wait = presented.size();
    responses_at_wait = server_.challenge_responses();
    return ok();
  }

  void cleanup(const ChallengeContext& ctx) noexcept override {
    events.push_back("cleanup " + ctx.identifier.value);
    cleaned.push_back(ctx);
    live_.erase(ctx.token);
  }

  std::vector<std::string> presented_values() const {
    std::vector<std::string> out;
    for (const auto& c : presented) out.push_back(c.identifier.value);
    return out;
  }
  // True when every successfully presented token was cleaned up.
  bool all_cleaned() const {
    return std::all_of(presented.begin(), presented.end(), [this](const ChallengeContext& p) {
      return std::any_of(cleaned.begin(), cleaned.end(),
                         [&](const ChallengeContext& c) { return c.token == p.token; });
    });
  }

  std::string fail_present_for;
  std::vector<std::string> events;
  std::vector<ChallengeContext> presented;
  std::vector<ChallengeContext> cleaned;
  std::vector<int> responses_at_present;
  int wait_ready_calls = 0;
  std::size_t presents_at_wait = 0;
  int responses_at_wait = -1;

 private:
  FakeAcmeServer& server_;
  std::string type_;
  std::map<std::string, std::string> live_;
};

}  // namespace acme::test
