#pragma once
// One certificate's status as `acmectl list`, `show` and the status page print it: a pure
// function of the record, the renewal window and now, so every view says the same.

#include <cstdint>
#include <string>

#include "store/store.hpp"

namespace agent {

struct CertificateStatus {
  // valid, due, EXPIRED, "failing (n), retry at T", revoked, unmanaged, pending (never
  // issued yet)
  std::string status;
  // Short form for machines and CSS: valid, due, expired, failing, revoked, unmanaged,
  // pending.
  std::string kind;
  // The next renewal as planned (ARI pick, else the renew_before_days window). 0: none.
  int64_t planned_renewal = 0;
  // When the next attempt really happens: never before now. 0: never (unmanaged).
  int64_t next_renewal = 0;
  // Why next_renewal is not planned_renewal ("due", "expired", "revoked", "retry after a
  // failure", "not issued yet", "unmanaged"), "" when it is.
  std::string next_reason;
  int64_t days_left = 0;  // whole days until not_after (negative once expired)
};

// renew_before_days: the agent's window ([agent] renew_before_days), used unless the
// certificate has its own.
CertificateStatus certificate_status(const CertificateRecord& c, int renew_before_days,
                                     int64_t now);

// "2026-12-01T10:00:00Z", or "now (due)" / "2026-12-01T10:00:00Z (retry after a failure)"
// / "- (unmanaged)": the NEXT RENEWAL cell of `list`.
std::string next_renewal_text(const CertificateStatus& s);

}  // namespace agent
