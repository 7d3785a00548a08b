#pragma once
// When to renew: a pure function of (certificate, policy, ARI, now), tested exhaustively.
//
// 1. Without ARI: renew when the remaining lifetime drops below the renewal window,
//    renew_before_days capped at a third of the lifetime (half for lifetimes under 10 days),
//    so 45-day and 6-day certificates are not renewed on every check.
// 2. With ARI (RFC 9773 §4.2): a random time inside the CA's suggested window, chosen once
//    and kept while the window is unchanged.
// 3. Emergency floor: with less than 1/20 of the lifetime left, renew now, whatever ARI says
//    (it overrides ARI's window; without ARI the window above always comes first or is the
//    user's explicit renew_before_days).
// A deterministic jitter (from the caller's random01) spreads a fleet over a short interval.

#include <chrono>
#include <optional>
#include <string>

namespace agent {

using SysTime = std::chrono::system_clock::time_point;

struct AriWindow {
  SysTime start;
  SysTime end;
  bool operator==(const AriWindow&) const = default;
};

struct PolicyInput {
  SysTime not_before;
  SysTime not_after;
  int renew_before_days = 30;
  std::optional<AriWindow> ari;            // the CA's current suggested window
  std::optional<SysTime> ari_chosen;       // our persisted pick for that window, if any
  std::optional<AriWindow> ari_chosen_in;  // the window the pick was made in
  double random01 = 0.0;                   // in [0, 1): jitter and ARI pick
};

struct RenewalPlan {
  SysTime renew_at;
  std::string reason;  // "window", "ari", "emergency", "expired"
  // Set when a new ARI time was picked: persist it (with the window) so later evaluations
  // keep it.
  std::optional<SysTime> new_ari_choice;
};

// The renewal window without ARI: min(renew_before_days, lifetime/3 or lifetime/2 < 10d).
std::chrono::seconds renewal_window(SysTime not_before, SysTime not_after, int renew_before_days);

RenewalPlan plan_renewal(const PolicyInput& in);

inline bool renewal_due(const RenewalPlan& plan, SysTime now) { return now >= plan.renew_at; }

// Failure backoff: 1 min, 10 min, 100 min, then daily -- capped at a tenth of the time the
// installed certificate has left (`remaining`; at least kMinBackoff), so a 6-day
// certificate gets many tries before it expires, not two; never earlier than Retry-After.
inline constexpr std::chrono::seconds kMinBackoff{10};
std::chrono::seconds failure_backoff(int consecutive_failures,
                                     std::optional<std::chrono::seconds> retry_after,
                                     std::optional<std::chrono::seconds> remaining = std::nullopt);

// A stable value in [0, 1) from a string (e.g. the serial), so the jitter of a certificate
// does not change from one check to the next.
double stable_random01(const std::string& seed);

}  // namespace agent
