#pragma once
// RFC 7807 problem documents (RFC 8555 §6.7).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace acme {

struct Identifier {
  std::string type;  // "dns" or "ip" (RFC 8555 §9.7.7, RFC 8738)
  std::string value;
  bool operator==(const Identifier&) const = default;
};

// RFC 7807 problem subproblem (RFC 8555 §6.7.1).
struct Subproblem {
  std::string type;
  std::string detail;
  std::optional<Identifier> identifier;
};

// RFC 7807 problem document as used by RFC 8555 §6.7.
struct Problem {
  std::string type;  // full URN, e.g. urn:ietf:params:acme:error:badNonce
  std::string title;
  std::string detail;
  int status = 0;
  std::vector<Subproblem> subproblems;

  // The part after "urn:ietf:params:acme:error:" ("badNonce"), or the whole type.
  std::string acme_type() const;
  // "badNonce: detail (sub: dns example.com: detail; ...)"
  std::string describe() const;
};

// Parses a problem document body. Returns nullopt when it is not a JSON object with "type".
std::optional<Problem> parse_problem(std::string_view body);

inline constexpr std::string_view kAcmeErrorPrefix = "urn:ietf:params:acme:error:";

}  // namespace acme
