#pragma once
// tls-alpn-01 (RFC 8737): a TLS listener that answers the CA's validator, on ALPN
// "acme-tls/1" only, with a self-signed certificate for the name in the SNI that carries
// the critical id-pe-acmeIdentifier extension (1.3.6.1.5.5.7.1.31) holding SHA-256 of the
// key authorization. For an "ip" identifier (RFC 8738 §6) the SNI is the reverse-mapping
// name (1.0.0.127.in-addr.arpa, …ip6.arpa) and the certificate's only SAN is that address.
//
// Contract (the same promises as Http01Responder):
//  - start() binds at once, so a busy port is reported before any order is created.
//  - add()/remove() are thread-safe and take effect for the next handshake.
//  - A ClientHello without ALPN "acme-tls/1", or naming no identifier added, is refused
//    with a fatal alert (no_application_protocol / unrecognized_name): this listener never
//    serves anything else. Only TLS 1.2 and 1.3 (RFC 8737 §3).
//  - One event-loop thread (poll) serves every connection concurrently. Each connection
//    has a total deadline from accept to the end of its handshake; the table of open
//    connections is capped, and when it is full the oldest connection is dropped for the
//    new one, so slow or idle clients cannot keep the validator out. After a completed
//    handshake the connection is closed (RFC 8737 §3: nothing else is exchanged).
//  - The destructor closes every connection and returns within a second.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "acme/challenge.hpp"
#include "acme/result.hpp"

namespace acme {

struct TlsAlpn01ResponderOptions {
  // From accept to the end of the handshake (not an idle timer).
  std::chrono::milliseconds handshake_deadline{5000};
  // Open connections at once; when full, the oldest is dropped for a new one.
  std::size_t max_connections = 256;
};

class TlsAlpn01Responder {
 public:
  // listen: "ADDR:PORT", ":PORT" (all IPv4 interfaces) or "[::1]:PORT"; port 0 binds a
  // free port (see port()).
  static Result<std::unique_ptr<TlsAlpn01Responder>> start(
      const std::string& listen, const TlsAlpn01ResponderOptions& options = {});
  ~TlsAlpn01Responder();
  TlsAlpn01Responder(const TlsAlpn01Responder&) = delete;
  TlsAlpn01Responder& operator=(const TlsAlpn01Responder&) = delete;

  // Makes the validation certificate for this identifier and serves it from now on. The
  // same identifier may be added under several tokens (two orders at once): the latest
  // added is served until it is removed.
  Result<void> add(const Identifier& id, const std::string& token,
                   const std::string& key_authorization);
  void remove(const Identifier& id, const std::string& token);
  int port() const noexcept;
  // Handshakes completed with acme-tls/1 and a validation certificate.
  std::size_t handshakes_completed() const noexcept;
  // Connections closed without a completed handshake: refused, deadline, eviction, errors.
  std::size_t connections_dropped() const noexcept;
  std::size_t connections_open() const noexcept;

 private:
  struct Impl;
  explicit TlsAlpn01Responder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// tls-alpn-01 through a running TlsAlpn01Responder (not owned).
class TlsAlpn01Solver final : public Solver {
 public:
  explicit TlsAlpn01Solver(TlsAlpn01Responder& responder) : responder_(responder) {}
  std::string challenge_type() const override { return "tls-alpn-01"; }
  Result<void> present(const ChallengeContext& ctx) override;
  void cleanup(const ChallengeContext& ctx) noexcept override;

 private:
  TlsAlpn01Responder& responder_;
};

// The SNI a validator sends for the identifier: the DNS name itself (lower case), or for
// an IP address the reverse-mapping name of RFC 8738 §6 ("1.0.0.127.in-addr.arpa"; IPv6
// as 32 nibbles under ip6.arpa). Empty for an invalid identifier.
std::string tls_alpn01_server_name(const Identifier& id);

// The validation certificate (PEM) and its key for an identifier: self-signed, its only
// SAN the identifier, the critical acmeIdentifier extension holding SHA-256 of the key
// authorization (RFC 8737 §3). Exposed for tests; the responder makes its own.
struct TlsAlpn01Certificate {
  std::string cert_pem;
  std::string key_pem;
};
Result<TlsAlpn01Certificate> make_tls_alpn01_certificate(const Identifier& id,
                                                         const std::string& key_authorization);

}  // namespace acme
