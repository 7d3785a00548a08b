// Validation and normalisation of user-supplied names (RFC 1035 §2.3.4 limits, RFC 8738 IPs).
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "acme/issuer.hpp"

namespace acme {
namespace {

Error bad_name(const std::string& name, const std::string& why) {
  return make_error(Errc::kInvalidInput, "invalid name \"" + name + "\": " + why);
}

std::optional<std::string> canonical_ip(const std::string& text) {
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
    return std::string(inet_ntop(AF_INET, buf, out, sizeof out));
  }
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    return std::string(inet_ntop(AF_INET6, buf, out, sizeof out));
  }
  return std::nullopt;
}

}  // namespace

Result<std::vector<Identifier>> normalize_identifiers(const std::vector<std::string>& names,
                                                      bool allow_wildcard) {
  std::vector<Identifier> out;
  for (const auto& original : names) {
    if (original.empty()) return bad_name(original, "empty name");
    std::string name = original;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (auto ip = canonical_ip(name)) {
      Identifier id{"ip", *ip};
      if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(std::move(id));
      continue;
    }
    if (name.size() > 1 && name.back() == '.') name.pop_back();  // absolute form
    if (name.size() > 253) return bad_name(original, "longer than 253 characters");
    std::string_view rest = name;
    if (rest.rfind("*.", 0) == 0) {
      if (!allow_wildcard) {
        return bad_name(original, "wildcard names need the dns-01 challenge (RFC 8555 §7.1.3)");
      }
      rest.remove_prefix(2);
    }
    if (rest.empty()) return bad_name(original, "empty name");
    size_t start = 0;
    while (true) {
      const size_t dot = rest.find('.', start);
      const std::string_view label =
          rest.substr(start, dot == std::string_view::npos ? rest.npos : dot - start);
      if (label.empty()) return bad_name(original, "empty label");
      if (label.size() > 63) return bad_name(original, "label longer than 63 characters");
      for (char c : label) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) return bad_name(original, "not ASCII (use the xn-- punycode form)");
        if (c == '*') return bad_name(original, "'*' is only allowed as the whole first label");
        if (!(std::isalnum(u) || c == '-')) {
          std::string shown = c == ' ' ? "space" : std::string("'") + c + "'";
          return bad_name(original, "contains " + shown);
        }
      }
      if (label.front() == '-' || label.back() == '-') {
        return bad_name(original, "label starts or ends with '-'");
      }
      if (dot == std::string_view::npos) {
        // RFC 3696 §2: a top-level label is never all digits. Such a name is an IP address
        // written with a trailing dot ("9.1.1.1.") or a bad one ("999.1.1.1"): as a "dns"
        // identifier it would be accepted here and refused by the CA, or become a second
        // spelling of an "ip" identifier.
        if (std::all_of(label.begin(), label.end(), [](char c) { return c >= '0' && c <= '9'; })) {
          return bad_name(original,
                          "last label is all digits: neither a DNS name nor an IP address");
        }
        // A single label ("localhost", "intranet") is no public DNS name: CAs refuse it
        // (CA/Browser Forum Baseline Requirements: internal names), so refuse it here,
        // before any order or disk write.
        if (start == 0) {
          return bad_name(original, "a single label: use the fully qualified name");
        }
        break;
      }
      start = dot + 1;
    }
    Identifier id{"dns", name};
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(std::move(id));
  }
  if (out.empty()) return make_error(Errc::kInvalidInput, "no names given");
  if (out.size() > 100) return make_error(Errc::kInvalidInput, "more than 100 names");
  return out;
}

}  // namespace acme
