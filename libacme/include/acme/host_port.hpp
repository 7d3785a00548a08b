#pragma once
// The one HOST:PORT parser of the project: command-line options, config values, generated
// configs and listeners all read addresses through it, so they accept the same spellings
// and say the same thing about a bad one.
//
// Accepted: "HOST:PORT" where HOST is an IPv4 address or a host name (letters, digits,
// '-', '_', dots between non-empty labels; no leading '-'), and "[IPV6]:PORT". An IPv6
// address MUST be written in brackets ("::1:80" is ambiguous and refused). The port is a
// decimal number from 1 to 65535; port 0 ("let the kernel choose") only when the caller
// passes allow_port_zero (listeners whose bound port is read back, e.g. in tests).
// An empty host (":80") only when the caller passes allow_empty_host: for a listener it
// means every address.
//
// Errors are Errc::kInvalidInput "WHAT 'TEXT': WHY", e.g.
//   --http01-listen 'x': expected HOST:PORT

#include <sys/socket.h>

#include <string>
#include <string_view>

#include "acme/result.hpp"

namespace acme {

struct HostPort {
  std::string host;  // IPv4, IPv6 without brackets, or a host name; empty: every address
  int port = 0;
  // "host:port", "[v6]:port", ":port" (empty host).
  std::string str() const;
};

Result<HostPort> parse_host_port(std::string_view text, std::string_view what,
                                 bool allow_empty_host = false, bool allow_port_zero = false);

// A listen address: parse_host_port with an empty host and port 0 allowed, and the host
// (when given) an IP address, since a listener binds an address, not a name.
Result<HostPort> parse_listen_address(std::string_view text, std::string_view what);

// A socket address for bind()/connect().
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family() const noexcept { return storage.ss_family; }
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() noexcept { return reinterpret_cast<sockaddr*>(&storage); }
  // The port in host byte order (IPv4 or IPv6), 0 for anything else.
  int port() const noexcept;
};

// HOST must be an IP address or empty; empty means every IPv4 address (0.0.0.0), which is
// what ":PORT" has always meant for acmectl's listeners. WHAT names the option in errors.
Result<SocketAddress> to_socket_address(const HostPort& hp, std::string_view what);

// Whether TEXT is an IPv4 or IPv6 address literal (IPv6 without brackets).
bool is_ip_literal(std::string_view text);

}  // namespace acme
