#include "schedule/status.hpp"

#include <algorithm>
#include <chrono>

#include "base/time.hpp"
#include "schedule/policy.hpp"

namespace agent {

namespace {

int64_t planned(const CertificateRecord& c, int renew_before_days) {
  if (c.not_after == 0) return 0;
  if (c.ari_chosen_time != 0) return c.ari_chosen_time;
  PolicyInput in;
  in.not_before = std::chrono::system_clock::time_point(std::chrono::seconds(c.not_before));
  in.not_after = std::chrono::system_clock::time_point(std::chrono::seconds(c.not_after));
  in.renew_before_days = c.renew_before_days > 0 ? c.renew_before_days : renew_before_days;
  in.random01 = stable_random01(c.serial + c.name);
  return std::chrono::duration_cast<std::chrono::seconds>(
             plan_renewal(in).renew_at.time_since_epoch())
      .count();
}

}  // namespace

CertificateStatus certificate_status(const CertificateRecord& c, int renew_before_days,
                                     int64_t now) {
  CertificateStatus s;
  s.planned_renewal = planned(c, renew_before_days);
  s.days_left = c.not_after ? (c.not_after - now) / 86400 : 0;
  if (c.not_after != 0 && c.not_after <= now && s.days_left == 0) s.days_left = -1;
  const bool failing = c.consecutive_failures > 0;
  const int64_t retry_at = std::max(c.next_attempt, now);
  const std::string failing_text =
      "failing (" + std::to_string(c.consecutive_failures) + "), retry at " + rfc3339(retry_at);
  if (!c.managed) {
    s.status = s.kind = "unmanaged";
    s.next_reason = "unmanaged";
    return s;
  }
  if (c.not_after == 0) {
    s.kind = failing ? "failing" : "pending";
    s.status = failing ? failing_text : "pending";
    s.next_renewal = failing ? retry_at : now;
    s.next_reason = failing ? "retry after a failure" : "not issued yet";
    return s;
  }
  if (c.not_after <= now) {
    s.kind = "expired";
    s.status = failing ? "EXPIRED, " + failing_text : "EXPIRED";
  } else if (c.revoked()) {
    s.kind = "revoked";
    s.status = failing ? "revoked, " + failing_text : "revoked";
  } else if (failing) {
    s.kind = "failing";
    s.status = failing_text;
  } else if (s.planned_renewal <= now) {
    s.kind = s.status = "due";
  } else {
    s.kind = s.status = "valid";
  }
  if (failing && c.next_attempt > now) {
    s.next_renewal = c.next_attempt;
    s.next_reason = "retry after a failure";
  } else if (s.kind == "expired" || s.kind == "revoked") {
    s.next_renewal = now;
    s.next_reason = s.kind;
  } else if (s.planned_renewal <= now) {
    s.next_renewal = now;
    s.next_reason = failing ? "retry after a failure" : "due";
  } else {
    s.next_renewal = s.planned_renewal;
  }
  return s;
}

std::string next_renewal_text(const CertificateStatus& s) {
  if (s.next_renewal == 0) return "- (" + s.next_reason + ")";
  if (s.next_reason.empty()) return rfc3339(s.next_renewal);
  if (s.next_reason == "retry after a failure") return rfc3339(s.next_renewal) + " (retry)";
  return "now (" + s.next_reason + ")";
}

}  // namespace agent
