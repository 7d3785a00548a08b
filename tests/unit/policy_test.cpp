#include "schedule/policy.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace std::chrono;
using agent::AriWindow;
using agent::PolicyInput;
using agent::SysTime;

namespace {

const SysTime kIssued = system_clock::from_time_t(1'800'000'000);
constexpr auto kDay = hours(24);

PolicyInput input(seconds lifetime, int days, double r = 0.0) {
  PolicyInput in;
  in.not_before = kIssued;
  in.not_after = kIssued + lifetime;
  in.renew_before_days = days;
  in.random01 = r;
  return in;
}

}  // namespace

TEST_CASE("policy: 90-day certificate renews 30 days before expiry") {
  auto plan = agent::plan_renewal(input(90 * kDay, 30));
  CHECK(plan.reason == "window");
  CHECK(plan.renew_at == kIssued + 60 * kDay);
  CHECK_FALSE(agent::renewal_due(plan, kIssued + 60 * kDay - seconds(1)));
  CHECK(agent::renewal_due(plan, kIssued + 60 * kDay));
}

TEST_CASE("policy: the window is capped at a third of the lifetime (45-day certificates)") {
  // A fixed 30 days would renew a 45-day certificate after 15 days; a third caps it at 15.
  auto plan = agent::plan_renewal(input(45 * kDay, 30));
  CHECK(plan.renew_at == kIssued + 30 * kDay);
  CHECK(agent::renewal_window(kIssued, kIssued + 45 * kDay, 30) ==
        duration_cast<seconds>(15 * kDay));
}

TEST_CASE("policy: lifetimes under 10 days use half the lifetime (6-day certificates)") {
  auto plan = agent::plan_renewal(input(6 * kDay, 30));
  CHECK(plan.renew_at == kIssued + 3 * kDay);
  // Two-minute test certificates renew after one minute.
  auto tiny = agent::plan_renewal(input(seconds(120), 30));
  CHECK(tiny.renew_at == kIssued + seconds(60));
}

TEST_CASE("policy: exhaustive — never due right after issuance, always due before expiry") {
  const seconds lifetimes[] = {seconds(120),
                               seconds(3600),
                               duration_cast<seconds>(1 * kDay),
                               duration_cast<seconds>(6 * kDay),
                               duration_cast<seconds>(9 * kDay),
                               duration_cast<seconds>(10 * kDay),
                               duration_cast<seconds>(45 * kDay),
                               duration_cast<seconds>(90 * kDay),
                               duration_cast<seconds>(397 * kDay)};
  const int days[] = {1, 7, 30, 60, 365};
  const double rs[] = {0.0, 0.25, 0.5, 0.999};
  for (auto lifetime : lifetimes) {
    for (int d : days) {
      for (double r : rs) {
        CAPTURE(lifetime.count());
        CAPTURE(d);
        CAPTURE(r);
        auto in = input(lifetime, d, r);
        auto plan = agent::plan_renewal(in);
        const auto window = agent::renewal_window(in.not_before, in.not_after, d);
        const auto cap = lifetime < duration_cast<seconds>(10 * kDay) ? lifetime / 2 : lifetime / 3;
        CHECK(window <= cap);
        CHECK(window <= seconds(int64_t{d} * 86400));
        // Renewal happens in the second half (or last two thirds) of the lifetime at the
        // earliest, minus at most the jitter, and before the emergency floor.
        // Without ARI the emergency floor never applies: the window is the rule.
        const auto spread = std::min(window / 10, seconds(3600));
        CHECK(plan.reason == "window");
        CHECK(plan.renew_at >= in.not_after - window - spread);
        CHECK(plan.renew_at <= in.not_after - window);
        CHECK(plan.renew_at < in.not_after);
        CHECK_FALSE(agent::renewal_due(plan, in.not_before + seconds(1)));
        CHECK(agent::renewal_due(plan, in.not_after - window));
      }
    }
  }
}

TEST_CASE("policy: 5-year certificates still renew renew_before_days before expiry") {
  // 1/20 of five years is 91 days: the floor must not pull renewal earlier without ARI.
  auto plan = agent::plan_renewal(input(5 * 365 * kDay, 30));
  CHECK(plan.reason == "window");
  CHECK(plan.renew_at == kIssued + 5 * 365 * kDay - 30 * kDay);
}

TEST_CASE("policy: jitter moves renewal earlier, never later, by at most an hour") {
  auto a = agent::plan_renewal(input(90 * kDay, 30, 0.0));
  auto b = agent::plan_renewal(input(90 * kDay, 30, 0.999));
  CHECK(b.renew_at < a.renew_at);
  CHECK(a.renew_at - b.renew_at <= hours(1));
}

TEST_CASE("policy: RFC 9773 ARI — a time inside the window is chosen once and kept") {
  auto in = input(90 * kDay, 30, 0.5);
  in.ari = AriWindow{kIssued + 50 * kDay, kIssued + 52 * kDay};
  auto first = agent::plan_renewal(in);
  CHECK(first.reason == "ari");
  REQUIRE(first.new_ari_choice);
  CHECK(first.renew_at == kIssued + 51 * kDay);
  // Persisted pick with the same window: kept even when the random draw differs.
  in.ari_chosen = first.new_ari_choice;
  in.ari_chosen_in = in.ari;
  in.random01 = 0.9;
  auto again = agent::plan_renewal(in);
  CHECK(again.renew_at == kIssued + 51 * kDay);
  CHECK_FALSE(again.new_ari_choice);
  // The CA moves the window (e.g. revocation planned): a new pick inside the new window.
  in.ari = AriWindow{kIssued + 10 * kDay, kIssued + 11 * kDay};
  auto moved = agent::plan_renewal(in);
  REQUIRE(moved.new_ari_choice);
  CHECK(moved.renew_at >= kIssued + 10 * kDay);
  CHECK(moved.renew_at < kIssued + 11 * kDay);
}

TEST_CASE("policy: ARI may renew later than the default window, but not past the emergency floor") {
  auto in = input(90 * kDay, 30, 0.0);
  in.ari = AriWindow{kIssued + 80 * kDay, kIssued + 89 * kDay};
  auto plan = agent::plan_renewal(in);
  CHECK(plan.reason == "ari");
  CHECK(plan.renew_at == kIssued + 80 * kDay);
  in.ari = AriWindow{kIssued + 88 * kDay, kIssued + 89 * kDay};
  auto late = agent::plan_renewal(in);
  CHECK(late.reason == "emergency");
  CHECK(late.renew_at == kIssued + 90 * kDay - (90 * kDay) / 20);
}

TEST_CASE("policy: an ARI window in the past means renew now") {
  auto in = input(90 * kDay, 30, 0.3);
  in.ari = AriWindow{kIssued - 2 * kDay, kIssued - kDay};
  auto plan = agent::plan_renewal(in);
  CHECK(agent::renewal_due(plan, kIssued));
}

TEST_CASE(
    "policy: failure backoff is 1 min, 10 min, 100 min, then daily, and honours Retry-After") {
  CHECK(agent::failure_backoff(0, std::nullopt) == seconds(0));
  CHECK(agent::failure_backoff(1, std::nullopt) == minutes(1));
  CHECK(agent::failure_backoff(2, std::nullopt) == minutes(10));
  CHECK(agent::failure_backoff(3, std::nullopt) == minutes(100));
  CHECK(agent::failure_backoff(4, std::nullopt) == hours(24));
  CHECK(agent::failure_backoff(40, std::nullopt) == hours(24));
  CHECK(agent::failure_backoff(1, seconds(3600)) == seconds(3600));
  CHECK(agent::failure_backoff(4, seconds(5)) == hours(24));
}

TEST_CASE("policy: stable jitter source is in [0, 1) and depends on its seed") {
  const double a = agent::stable_random01("0abc");
  CHECK(a >= 0.0);
  CHECK(a < 1.0);
  CHECK(a == agent::stable_random01("0abc"));
  CHECK(a != agent::stable_random01("0abd"));
}

TEST_CASE("policy: the failure backoff is capped by the remaining lifetime") {
  using std::chrono::hours;
  using std::chrono::minutes;
  using std::chrono::seconds;
  // A 6-day certificate renewing with 3 days left: tries at 1 min, 10 min, 100 min, then
  // every 7.2 h (a tenth of what is left), never daily.
  CHECK(agent::failure_backoff(1, std::nullopt, hours(72)) == minutes(1));
  CHECK(agent::failure_backoff(3, std::nullopt, hours(72)) == minutes(100));
  CHECK(agent::failure_backoff(4, std::nullopt, hours(72)) == seconds(72 * 360));
  // A 90-day certificate with 30 days left: the ladder as it was.
  CHECK(agent::failure_backoff(4, std::nullopt, hours(24 * 30)) == hours(24));
  // Minutes left: at least kMinBackoff apart; expired: the ladder (no hammering a failing CA).
  CHECK(agent::failure_backoff(2, std::nullopt, seconds(60)) == agent::kMinBackoff);
  CHECK(agent::failure_backoff(2, std::nullopt, seconds(-5)) == minutes(10));
  CHECK(agent::failure_backoff(2, std::nullopt, seconds(300)) == seconds(30));
  // The CA's Retry-After still wins.
  CHECK(agent::failure_backoff(2, seconds(3600), seconds(300)) == seconds(3600));
}
