#pragma once
// The challenge options of `issue` (--challenge, --http01-listen, --webroot, DNS-01).

#include <CLI/CLI.hpp>

#include "challenge/settings.hpp"

namespace agent::cli {

// Registers --challenge, --http01-listen, --webroot and the DNS-01 options on cmd.
void add_challenge_options(CLI::App& cmd, ChallengeSettings& s);

}  // namespace agent::cli
