#include "schedule/policy.hpp"

#include <algorithm>
#include <cstdint>

namespace agent {

using std::chrono::duration_cast;
using std::chrono::seconds;

std::chrono::seconds renewal_window(SysTime not_before, SysTime not_after, int renew_before_days) {
  const seconds lifetime = std::max(seconds(0), duration_cast<seconds>(not_after - not_before));
  const seconds configured = seconds(int64_t{renew_before_days} * 86400);
  const seconds cap = lifetime < seconds(10 * 86400) ? lifetime / 2 : lifetime / 3;
  return std::min(configured, cap);
}

RenewalPlan plan_renewal(const PolicyInput& in) {
  const seconds lifetime =
      std::max(seconds(0), duration_cast<seconds>(in.not_after - in.not_before));
  const double r = std::clamp(in.random01, 0.0, 0.999999);
  // Emergency floor: 1/20 of the lifetime before expiry overrides everything.
  const SysTime emergency_at = in.not_after - lifetime / 20;

  RenewalPlan plan;
  if (in.ari) {
    const bool keep = in.ari_chosen && in.ari_chosen_in && *in.ari_chosen_in == *in.ari;
    if (keep) {
      plan.renew_at = *in.ari_chosen;
    } else {
      const auto span = duration_cast<seconds>(in.ari->end - in.ari->start);
      plan.renew_at =
          in.ari->start + seconds(static_cast<int64_t>(static_cast<double>(span.count()) * r));
      plan.new_ari_choice = plan.renew_at;
    }
    plan.reason = "ari";
  } else {
    const seconds window = renewal_window(in.not_before, in.not_after, in.renew_before_days);
    // Jitter: up to a tenth of the window, at most an hour, always earlier (never later).
    const seconds spread = std::min(window / 10, seconds(3600));
    plan.renew_at = in.not_after - window -
                    seconds(static_cast<int64_t>(static_cast<double>(spread.count()) * r));
    plan.reason = "window";
  }
  // The floor overrides ARI only: without ARI the window (at most a third of the
  // lifetime, and renew_before_days) is the user's choice, and for long lifetimes 1/20 of
  // the lifetime would be earlier than renew_before_days (91 days for 5-year certificates).
  if (in.ari && emergency_at < plan.renew_at) {
    plan.renew_at = emergency_at;
    plan.reason = "emergency";
  }
  return plan;
}

std::chrono::seconds failure_backoff(int consecutive_failures,
                                     std::optional<std::chrono::seconds> retry_after,
                                     std::optional<std::chrono::seconds> remaining) {
  seconds delay(0);
  static constexpr int64_t kLadder[] = {60, 600, 6000};  // then daily
  if (consecutive_failures > 0) {
    const auto i = static_cast<size_t>(consecutive_failures - 1);
    delay = seconds(i < std::size(kLadder) ? kLadder[i] : 86400);
    // The ladder was made for 90-day certificates; a short-lived (or nearly expired) one
    // retries at least ten times in what it has left. One already expired gains nothing
    // from hammering a failing CA every few seconds: it keeps the ladder.
    if (remaining && *remaining > seconds(0)) {
      delay = std::min(delay, std::max(kMinBackoff, *remaining / 10));
    }
  }
  if (retry_after && *retry_after > delay) delay = *retry_after;
  return delay;
}

double stable_random01(const std::string& seed) {
  // FNV-1a 64, then the top 53 bits as a fraction.
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : seed) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return static_cast<double>(h >> 11) / static_cast<double>(uint64_t{1} << 53);
}

}  // namespace agent
