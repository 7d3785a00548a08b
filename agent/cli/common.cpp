#include "cli/common.hpp"

#include <cstdio>

#include "cli/hints.hpp"

namespace agent::cli {

int fail(const acme::Error& e) {
  const std::string text = e.to_string();
  std::fprintf(stderr, "acmectl: error: %s\n", text.c_str());
  print_hint(text);
  return kExitFailure;
}

void print_hint(const std::string& error_message) {
  if (auto h = hint_for(error_message)) std::fprintf(stderr, "acmectl: hint: %s\n", h->c_str());
}

int usage_fail(const std::string& message) {
  std::fprintf(stderr, "acmectl: usage error: %s\n", message.c_str());
  return kExitUsage;
}

}  // namespace agent::cli
