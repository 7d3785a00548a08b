#pragma once
// The agent's HTML status page (GET / on the metrics listener): every certificate with its
// names, status, issuer, days left, next renewal and last result, and an inline SVG
// timeline of its lifetime, renewal window and now. Server-rendered, no script, no
// external asset. Large fleets are paged (kPageSize rows a page, problems first) under a
// summary of every certificate by status.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace agent::metrics {

inline constexpr std::size_t kStatusPageSize = 100;

struct StatusPageInput {
  int renew_before_days = 30;
  int64_t now = 0;
  std::size_t page = 1;  // 1-based (?page=N)
  // The issuer's name for a row (read from its cert.pem); called only for the rows shown.
  std::function<std::string(const CertificateRecord&)> issuer;
};

std::string render_status_page(const std::vector<CertificateRecord>& certs,
                               const StatusPageInput& in);

// The issuer CN of OUT/NAME/cert.pem, "-" when unreadable.
std::string issuer_from_files(const CertificateRecord& c);

}  // namespace agent::metrics
