#include "pipeline/names.hpp"

#include <cctype>

namespace agent {

std::string default_cert_name(const std::string& first_name) {
  if (first_name.rfind("*.", 0) == 0) return "_wildcard." + first_name.substr(2);
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
