#include "pipeline/names.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace agent {

std::string default_cert_name(const std::string& first_name) {
  if (first_name.rfind("*.", 0) == 0) return "_wildcard." + first_name.substr(2);
  // RFC 8738 IP identifiers, in their canonical text form (RFC 5952 for IPv6). An IPv4
  // address is a fine directory name as it is; an IPv6 one has ':', so it becomes
  // "ip-" + the address with '_' for ':' ("::1" -> "ip-__1"), which no DNS name can be.
  unsigned char buf[16];
  char text[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, first_name.c_str(), buf) == 1 &&
      inet_ntop(AF_INET, buf, text, sizeof text) != nullptr) {
    return text;
  }
  if (inet_pton(AF_INET6, first_name.c_str(), buf) == 1 &&
      inet_ntop(AF_INET6, buf, text, sizeof text) != nullptr) {
    std::string name = std::string("ip-") + text;
    std::replace(name.begin(), name.end(), ':', '_');
    return name;
  }
  return first_name;
}

bool valid_cert_name(std::string_view n) {
  if (n.empty() || n.size() > 255 || n == "." || n == ".." || n.front() == '.') return false;
  for (unsigned char c : n) {
    if (!(std::isalnum(c) || c == '.' || c == '-' || c == '_')) return false;
  }
  return true;
}

std::string normalize_cert_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace agent
