#pragma once
// Runs deploy/post hooks. Data goes in ACMECTL_* environment variables, never spliced into a
// command string. A command with shell syntax runs under /bin/sh -c (the user wrote shell);
// otherwise it is split on whitespace and executed directly.

#include <spdlog/logger.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "acme/result.hpp"

namespace agent {

struct HookContext {
  std::string cert_name;
  std::vector<std::string> domains;
  std::string dir;    // holds cert.pem, chain.pem, fullchain.pem, privkey.pem
  std::string event;  // "obtained", "renewed"
  // Exported to the hook as they are, after (and overriding) the ACMECTL_* above: e.g.
  // ACMECTL_RENEWED_NAMES / ACMECTL_FAILED_NAMES for the post hook.
  std::vector<std::pair<std::string, std::string>> extra_env{};
  // Given on stdin (the notify command's JSON); empty: stdin is /dev/null.
  std::string input{};
};

// True when the command needs a shell (pipes, redirections, quotes, variables, ...).
bool needs_shell(const std::string& command);

// Runs the hook through acme::run_process: stdin /dev/null, no descriptor of ours but 0, 1,
// 2; stdout+stderr captured into the log (each line escaped: no terminal escapes reach it);
// its process group killed after timeout. Non-zero exit, a signal, or a timeout is an
// Error naming the command and the last line of its output.
acme::Result<void> run_hook(const std::string& command, const HookContext& ctx,
                            std::chrono::seconds timeout, spdlog::logger& log);

}  // namespace agent
