#pragma once
// Which CA an order goes to (docs/operations.md "A fallback CA"): the primary ([acme]
// server, or the certificate's own server) and the [[acme.fallback]] CAs, in that order,
// minus the CAs that are resting after failing *as a CA*. Pure functions of (settings,
// per-CA health, now); the pipeline persists the health in the store.
//
// A CA failure is the CA itself not working: unreachable (connect, TLS, transport timeout),
// answering 5xx / serverInternal / garbage, or rateLimited. A failed validation, a refused
// name (rejectedIdentifier, caa, unauthorized) or a local problem is not: it would fail at
// every CA, so it never moves a certificate to another CA.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "acme/result.hpp"
#include "session/options.hpp"
#include "store/store.hpp"

namespace agent {

enum class CaFailure {
  kNone,         // not the CA's fault (validation, bad request, local error)
  kUnreachable,  // connect/TLS/transport failure: skipped at once
  kServer,       // 5xx, serverInternal, unparsable answer, order stuck: counted
  kRateLimited,  // rateLimited / HTTP 429: skipped at once (until Retry-After at least)
};

const char* to_string(CaFailure f) noexcept;
CaFailure classify_ca_failure(const acme::Error& e);

// A failure of the CA at `now`: counts it, and makes the CA rest (unavailable_until) when
// it is unreachable or rate limited, or after policy.after_failures in a row; the rest
// lasts policy.retry_seconds, or until its Retry-After when that is later.
void note_ca_failure(CaHealth& h, CaFailure kind, const acme::Error& e, const CaFailover& policy,
                     int64_t now);
void note_ca_success(CaHealth& h, int64_t now);
inline bool ca_available(const CaHealth& h, int64_t now) { return h.unavailable_until <= now; }

// One CA an order may go to, with the settings its account and order use.
struct CaCandidate {
  std::string server;     // resolved directory URL
  GlobalOptions options;  // email, EAB, ca_bundle of this CA (its own account)
  std::string profile;    // the profile ordered there
  int fallback = 0;       // 0: the primary; N: [[acme.fallback]] #N
};

// The primary then every fallback (resolved; a fallback naming the primary or an earlier
// fallback again is dropped). `primary_options` holds the primary's settings; a
// certificate's profile applies at the primary, a fallback orders its own `profile`.
acme::Result<std::vector<CaCandidate>> ca_candidates(const std::string& primary_server,
                                                     const GlobalOptions& primary_options,
                                                     const std::string& primary_profile);

// The order in which candidates are tried (indices into `candidates`; health[i] belongs to
// candidates[i]): CAs not resting, in config order -- except that with return_to_primary
// false the CA that issued the installed certificate (`issued_by`) goes first while it is
// not resting -- then the resting ones, soonest back first, as a last resort. A stored
// order (`resume_origin`: scheme://host[:port] of its URL) puts its CA first, so an order
// interrupted by a crash is finished where it was placed.
std::vector<size_t> ca_try_order(const std::vector<CaCandidate>& candidates,
                                 const std::vector<CaHealth>& health, const std::string& issued_by,
                                 bool return_to_primary, int64_t now,
                                 const std::string& resume_origin = {});

// scheme://host[:port] of a URL ("" when it has none).
std::string url_origin(const std::string& url);

}  // namespace agent
