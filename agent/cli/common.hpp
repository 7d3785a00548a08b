#pragma once
// What every command's printing side shares: exit codes and the one-line error format.
// (Sessions, accounts, the store and logging live below cli/: session/, log/, store/.)

#include <string>

#include "acme/result.hpp"
#include "base/time.hpp"
#include "log/log.hpp"
#include "session/options.hpp"
#include "session/session.hpp"

namespace agent::cli {

// Exit codes (INTERFACE.md): 0 success, 1 failure, 2 usage error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Prints "acmectl: error: <e>" on stderr and returns kExitFailure.
int fail(const acme::Error& e);
// Prints "acmectl: usage error: <message>" on stderr and returns kExitUsage.
int usage_fail(const std::string& message);
// "acmectl: hint: …" on stderr when cli/hints.hpp knows advice for this error.
void print_hint(const std::string& error_message);

}  // namespace agent::cli
