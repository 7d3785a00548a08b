#pragma once
// dns-persist-01 (draft-ietf-acme-dns-persist, EXPERIMENTAL; the record layout of drafts
// -00/-01, which Let's Encrypt staging implements): the domain owner publishes once
//   _validation-persist.NAME. IN TXT "ISSUER; accounturi=ACCOUNT_URL[; policy=wildcard]
//                                    [; persistUntil=UNIX_SECONDS]"
// and every later order for NAME is validated against that record: the client only POSTs
// the challenge, nothing is published at order time.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acme/challenge.hpp"
#include "acme/result.hpp"

namespace acme {

inline constexpr std::string_view kDnsPersist01 = "dns-persist-01";

struct PersistRecord {
  std::string issuer_domain;                  // one of the CA's issuer domain names
  std::string account_uri;                    // the ACME account URL
  bool wildcard = false;                      // policy=wildcard: also covers subdomains and *.NAME
  std::optional<std::int64_t> persist_until;  // unix seconds; CAs ignore the record after it
};

// "_validation-persist.NAME." (a leading "*." of NAME is dropped: the record sits at the base).
std::string dns_persist_record_name(std::string_view name);
// The TXT value, parameters in the order above.
std::string dns_persist_record_value(const PersistRecord& record);
// Parses a TXT value (RFC 8659 issue-value syntax: tags case-insensitive, spaces around
// ';' and '=' allowed, unknown tags ignored). kInvalidInput when it is not one.
Result<PersistRecord> parse_dns_persist_record(std::string_view value);
// The issuer domain name to publish: the directory's meta.issuerDomainNames[0], else its
// meta.caaIdentities[0] (earlier drafts), lower-cased, no trailing dot; kInvalidInput naming
// the CA at `url` when it has neither.
Result<std::string> dns_persist_issuer(const std::vector<std::string>& issuer_domain_names,
                                       const std::vector<std::string>& caa_identities,
                                       const std::string& url);

// --persist-until: unix seconds, "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SSZ".
// kInvalidInput naming the value when it is none of them.
Result<std::int64_t> parse_persist_until(std::string_view text);

// Nothing to present or clean up: the record was published beforehand (acmectl
// persist-record). The order only POSTs the challenge.
class DnsPersistSolver final : public Solver {
 public:
  std::string challenge_type() const override { return std::string(kDnsPersist01); }
  Result<void> present(const ChallengeContext&) override { return ok(); }
  void cleanup(const ChallengeContext&) noexcept override {}
};

}  // namespace acme
