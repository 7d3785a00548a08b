#pragma once
// What a TLS server actually serves: connect, send SNI, read the leaf certificate. Used by
// the agent's served-certificate check after an install (the reload that should make a web
// server pick up new files may be missing, asynchronous or broken).
//
// Contract:
//  - No certificate verification: the caller compares the served leaf with the one it just
//    installed, so trust is not the question; the handshake MUST still complete.
//  - Returns within `timeout` (connect and handshake together), whatever the peer does.
//  - SNI is sent when `sni` is non-empty (callers leave it empty for IP-address names:
//    RFC 6066 §3 forbids literal IP addresses in server_name).

#include <chrono>
#include <string>

#include "acme/result.hpp"

namespace acme {

// The served leaf certificate of HOST:PORT (host: an IP address or a name resolved with
// getaddrinfo) as PEM. Errors name the endpoint and the step: "127.0.0.1:8443: connect:
// Connection refused", "…: TLS handshake: …", "…: timed out after 2s".
Result<std::string> fetch_served_certificate(const std::string& host, int port,
                                             const std::string& sni,
                                             std::chrono::milliseconds timeout);

}  // namespace acme
