#pragma once
// RFC 7807 problem documents (RFC 8555 §6.7).

#include <optional>
#include <string_view>

#include "acme/result.hpp"

namespace acme {

// Parses a problem document body. Returns nullopt when it is not a JSON object with "type".
std::optional<Problem> parse_problem(std::string_view body);

inline constexpr std::string_view kAcmeErrorPrefix = "urn:ietf:params:acme:error:";

}  // namespace acme
