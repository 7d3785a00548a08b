#pragma once
// `acmectl agent`: the renewal daemon. Issues configured certificates that have none yet,
// renews everything in the store on schedule with bounded concurrency, answers HTTP-01
// challenges, takes work from `acmectl renew`/`issue` on its control socket, reloads its
// config on SIGHUP (keeping the old one when the new one is invalid) and stops cleanly on
// SIGTERM (an in-flight order is kept and resumed). It sleeps until the next certificate is
// due, a signal, or a control request (and at most 30 s, so /healthz sees it alive).

#include <string>

#include "session/options.hpp"

namespace agent {

struct AgentOptions {
  std::string metrics_listen;
  bool once = false;  // one pass over what is due, then exit (status 1 if anything failed)
};

// Returns the process exit status (0, 1, or 2 for a config error).
int run_agent(const GlobalOptions& g, const AgentOptions& o);

}  // namespace agent
