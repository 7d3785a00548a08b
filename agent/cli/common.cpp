#include "cli/common.hpp"

#include <cstdio>

namespace agent::cli {

int fail(const acme::Error& e) {
  std::fprintf(stderr, "acmectl: error: %s\n", e.to_string().c_str());
  return kExitFailure;
}

int usage_fail(const std::string& message) {
  std::fprintf(stderr, "acmectl: usage error: %s\n", message.c_str());
  return kExitUsage;
}

}  // namespace agent::cli
