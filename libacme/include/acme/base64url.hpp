#pragma once
// base64url without padding (RFC 7515 §2, RFC 4648 §5).

#include <optional>
#include <string>
#include <string_view>

namespace acme {

std::string base64url_encode(std::string_view bytes);
// Accepts input without padding only; returns nullopt on any other character.
std::optional<std::string> base64url_decode(std::string_view text);
// True when every character is in the base64url alphabet and text is non-empty.
// Used before any server-supplied token touches a path (RFC 8555 §8.3).
bool is_base64url(std::string_view text) noexcept;

std::string base64_encode(std::string_view bytes);  // standard, padded (PEM bodies)
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace acme
