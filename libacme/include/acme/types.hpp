#pragma once
// RFC 8555 resources as plain structs. Unknown fields are ignored; missing required
// fields are a kProtocol error at parse time.

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acme/result.hpp"

namespace acme {

// RFC 8555 §7.1.6 status values. A status outside these sets is a kProtocol error at
// parse time, so no caller compares strings or meets a value it does not know.
enum class OrderStatus { kPending, kReady, kProcessing, kValid, kInvalid };
enum class AuthorizationStatus { kPending, kValid, kInvalid, kDeactivated, kExpired, kRevoked };
enum class ChallengeStatus { kPending, kProcessing, kValid, kInvalid };

// The RFC's spelling ("pending", "ready", ...).
std::string_view to_string(OrderStatus status) noexcept;
std::string_view to_string(AuthorizationStatus status) noexcept;
std::string_view to_string(ChallengeStatus status) noexcept;
std::optional<OrderStatus> parse_order_status(std::string_view text) noexcept;
std::optional<AuthorizationStatus> parse_authorization_status(std::string_view text) noexcept;
std::optional<ChallengeStatus> parse_challenge_status(std::string_view text) noexcept;

struct Directory {
  std::string new_nonce;
  std::string new_account;
  std::string new_order;
  std::string revoke_cert;
  std::string key_change;
  std::string new_authz;     // optional in RFC 8555
  std::string renewal_info;  // RFC 9773, optional
  std::string terms_of_service;
  std::string website;
  std::vector<std::string> caa_identities;
  // draft-ietf-acme-dns-persist meta.issuerDomainNames (dns-persist-01 records name one).
  std::vector<std::string> issuer_domain_names;
  bool external_account_required = false;
  // draft-ietf-acme-profiles meta.profiles: name -> human-readable description.
  std::map<std::string, std::string> profiles;
};

struct Account {
  std::string url;  // the "kid"
  std::string status;
  std::vector<std::string> contact;
  std::string orders;
};

struct Challenge {
  std::string type;  // "http-01", "dns-01", ...
  std::string url;
  ChallengeStatus status = ChallengeStatus::kPending;
  std::string token;                             // none for dns-persist-01
  std::vector<std::string> issuer_domain_names;  // dns-persist-01
  std::optional<Problem> error;
};

struct Authorization {
  std::string url;
  Identifier identifier;
  AuthorizationStatus status = AuthorizationStatus::kPending;
  std::string expires;
  bool wildcard = false;
  std::vector<Challenge> challenges;

  const Challenge* find_challenge(std::string_view type) const;
};

struct Order {
  std::string url;
  OrderStatus status = OrderStatus::kPending;
  std::string expires;
  std::vector<Identifier> identifiers;
  std::vector<std::string> authorizations;
  std::string finalize;
  std::string certificate;
  std::string replaces;
  std::string profile;  // draft-ietf-acme-profiles, when the CA names it
  std::optional<Problem> error;
  // Retry-After of the response that produced this object, if any.
  std::optional<std::chrono::seconds> retry_after;
};

struct CertificateChain {
  std::string pem;                      // leaf first, then issuers
  std::vector<std::string> alternates;  // Link rel="alternate" URLs (RFC 8555 §7.4.2)
};

// RFC 9773 renewal information.
struct RenewalInfo {
  std::chrono::system_clock::time_point window_start;
  std::chrono::system_clock::time_point window_end;
  std::string explanation_url;
  std::optional<std::chrono::seconds> retry_after;
};

Result<Directory> parse_directory(const nlohmann::json& j);
Result<Account> parse_account(const nlohmann::json& j);
Result<Challenge> parse_challenge(const nlohmann::json& j);
Result<Authorization> parse_authorization(const nlohmann::json& j);
Result<Order> parse_order(const nlohmann::json& j);
Result<RenewalInfo> parse_renewal_info(const nlohmann::json& j);

}  // namespace acme
