#pragma once
// Runs deploy/post hooks. Data goes in ACMECTL_* environment variables, never spliced into a
// command string. A command with shell syntax runs under /bin/sh -c (the user wrote shell);
// otherwise it is split on whitespace and executed directly.

#include <chrono>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "acme/result.hpp"

namespace agent {

struct HookContext {
  std::string cert_name;
  std::vector<std::string> domains;
  std::string dir;    // holds cert.pem, chain.pem, fullchain.pem, privkey.pem
  std::string event;  // "obtained", "renewed"
};

// True when the command needs a shell (pipes, redirections, quotes, variables, ...).
bool needs_shell(const std::string& command);

// Runs the hook, captures stdout+stderr into the log (logger "hook"), kills its process
// group after timeout. Non-zero exit, a signal, or a timeout is an Error naming the command.
acme::Result<void> run_hook(const std::string& command, const HookContext& ctx,
                            std::chrono::seconds timeout, spdlog::logger& log);

}  // namespace agent
