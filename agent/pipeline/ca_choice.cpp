#include "pipeline/ca_choice.hpp"

#include <algorithm>

#include "session/session.hpp"

namespace agent {

const char* to_string(CaFailure f) noexcept {
  switch (f) {
    case CaFailure::kNone: return "none";
    case CaFailure::kUnreachable: return "unreachable";
    case CaFailure::kServer: return "server-error";
    case CaFailure::kRateLimited: return "rate-limited";
  }
  return "unknown";
}

CaFailure classify_ca_failure(const acme::Error& e) {
  using acme::Errc;
  const std::string type = e.problem ? e.problem->acme_type() : std::string();
  if (type == "rateLimited" || e.http_status == 429) return CaFailure::kRateLimited;
  switch (e.code) {
    case Errc::kNetwork:
    case Errc::kTls: return CaFailure::kUnreachable;
    case Errc::kTimeout:   // a transport deadline or an order the CA never finished
    case Errc::kProtocol:  // an answer that is not ACME (a proxy's error page, bad JSON)
      return CaFailure::kServer;
    case Errc::kHttp:
      return e.http_status == 0 || e.http_status >= 500 ? CaFailure::kServer : CaFailure::kNone;
    case Errc::kAcmeProblem:
      // RFC 8555 §6.7: serverInternal (and badNonce after the transport's retries) are the
      // server's state; everything else describes the request or the names.
      if (type == "serverInternal" || type == "badNonce" || e.http_status >= 500) {
        return CaFailure::kServer;
      }
      return CaFailure::kNone;
    case Errc::kInvalidInput:
    case Errc::kValidation:
    case Errc::kCrypto:
    case Errc::kIo:
    case Errc::kInternal:
    case Errc::kCancelled: return CaFailure::kNone;
  }
  return CaFailure::kNone;
}

void note_ca_failure(CaHealth& h, CaFailure kind, const acme::Error& e, const CaFailover& policy,
                     int64_t now) {
  if (kind == CaFailure::kNone) return;
  h.consecutive_failures += 1;
  h.last_failure = now;
  h.last_error = e.to_string();
  const bool rest = kind == CaFailure::kUnreachable || kind == CaFailure::kRateLimited ||
                    h.consecutive_failures >= std::max(1, policy.after_failures);
  if (!rest) return;
  int64_t until = now + std::max(1, policy.retry_seconds);
  if (e.retry_after) until = std::max(until, now + e.retry_after->count());
  h.unavailable_until = std::max(h.unavailable_until, until);
}

void note_ca_success(CaHealth& h, int64_t now) {
  h.consecutive_failures = 0;
  h.unavailable_until = 0;
  h.last_success = now;
  h.last_error.clear();
}

std::string url_origin(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return {};
  const auto path = url.find('/', scheme + 3);
  return url.substr(0, path);
}

acme::Result<std::vector<CaCandidate>> ca_candidates(const std::string& primary_server,
                                                     const GlobalOptions& primary_options,
                                                     const std::string& primary_profile) {
  std::vector<CaCandidate> out;
  ACME_ASSIGN(const std::string primary, resolve_server(primary_server));
  CaCandidate p;
  p.server = primary;
  p.options = primary_options;
  p.options.server = primary;
  p.profile = primary_profile;
  out.push_back(std::move(p));
  int index = 0;
  for (const FallbackCa& fb : primary_options.failover.fallbacks) {
    ++index;
    auto url = resolve_server(fb.server);
    if (!url) {
      return std::move(url).error().context("[[acme.fallback]] #" + std::to_string(index));
    }
    if (std::any_of(out.begin(), out.end(),
                    [&](const CaCandidate& c) { return c.server == *url; })) {
      continue;
    }
    CaCandidate c;
    c.server = *url;
    c.fallback = index;
    c.profile = fb.profile;
    // Its own account: contact, terms and EAB of this CA, never the primary's EAB.
    GlobalOptions& g = c.options;
    g.state_dir = primary_options.state_dir;
    g.server = *url;
    g.ca_bundle = fb.ca_bundle;
    g.email = fb.email.empty() ? primary_options.email : fb.email;
    g.agree_tos = primary_options.agree_tos;
    g.eab_kid = fb.eab_kid;
    g.eab_hmac_key_file = fb.eab_hmac_key_file;
    g.eab_alg = fb.eab_alg;
    g.failover = primary_options.failover;
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<size_t> ca_try_order(const std::vector<CaCandidate>& candidates,
                                 const std::vector<CaHealth>& health, const std::string& issued_by,
                                 bool return_to_primary, int64_t now,
                                 const std::string& resume_origin) {
  std::vector<size_t> up, resting;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const bool ok = i >= health.size() || ca_available(health[i], now);
    (ok ? up : resting).push_back(i);
  }
  if (!return_to_primary && !issued_by.empty()) {
    auto it = std::find_if(up.begin(), up.end(),
                           [&](size_t i) { return candidates[i].server == issued_by; });
    if (it != up.end()) std::rotate(up.begin(), it, it + 1);
  }
  std::stable_sort(resting.begin(), resting.end(), [&](size_t a, size_t b) {
    return health[a].unavailable_until < health[b].unavailable_until;
  });
  std::vector<size_t> order = up;
  order.insert(order.end(), resting.begin(), resting.end());
  if (!resume_origin.empty()) {
    auto it = std::find_if(order.begin(), order.end(), [&](size_t i) {
      return url_origin(candidates[i].server) == resume_origin;
    });
    if (it != order.end()) std::rotate(order.begin(), it, it + 1);
  }
  return order;
}

}  // namespace agent
