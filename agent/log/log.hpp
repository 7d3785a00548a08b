#pragma once
// Process logging: one stderr sink ("text" or "json"), named loggers per component.
// Never log a key or a secret.

#include <spdlog/logger.h>

#include <memory>
#include <string>

#include "acme/result.hpp"

namespace agent {

// Installs the process sink on stderr; an error names the bad option.
// terminal: a one-shot command may print short lines when stderr is a terminal (text
// format, info level or above); the agent never does (its lines name the certificate).
acme::Result<void> setup_logging(const std::string& level, const std::string& format,
                                 bool terminal = false);
// The logger of one component ("renew", "agent", "hook", ...), created on first use.
std::shared_ptr<spdlog::logger> logger(const std::string& component);

}  // namespace agent
