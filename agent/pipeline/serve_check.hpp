#pragma once
// The served-certificate check: after an install and its deploy hook, does each configured
// endpoint serve the serial just installed? A reload may be asynchronous, so each endpoint
// is asked again with backoff (250 ms doubling to 4 s) until it serves the serial or the
// timeout passes. Uses the pipeline's clock, so an agent that is stopping stops waiting.

#include <string>
#include <vector>

#include "acme/clock.hpp"
#include "config/config.hpp"

namespace agent {

struct ServedResult {
  std::string endpoint;       // as configured, "127.0.0.1:443"
  bool ok = false;            // served_serial == the installed serial
  std::string served_serial;  // "" when nothing could be read (then `error` says why)
  std::string error;
};

// SNI for a certificate: its first name, none for an IP address (RFC 6066 §3).
std::string serve_check_sni(const std::vector<std::string>& domains);

// One result per endpoint, in the configured order.
std::vector<ServedResult> check_served(const ServeCheckConfig& cfg, const std::string& sni,
                                       const std::string& serial, acme::Clock& clock);

// "127.0.0.1:443 serves serial 1a2b, installed 3c4d" / "127.0.0.1:443: connect: refused".
std::string describe(const ServedResult& r, const std::string& installed_serial);

}  // namespace agent
