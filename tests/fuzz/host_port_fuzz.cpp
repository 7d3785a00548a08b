// HOST:PORT from options and config values (acme::parse_host_port, parse_listen_address,
// to_socket_address): never a crash, and what is accepted prints back to itself.
//
// Input: byte 0 holds the allow_empty_host / allow_port_zero flags; the rest is the text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "acme/host_port.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool allow_empty_host = (data[0] & 1) != 0;
  const bool allow_port_zero = (data[0] & 2) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  if (const auto hp = acme::parse_host_port(text, "--fuzz", allow_empty_host, allow_port_zero)) {
    FUZZ_CHECK(hp->port >= (allow_port_zero ? 0 : 1) && hp->port <= 65535);
    FUZZ_CHECK(allow_empty_host || !hp->host.empty());
    const auto back = acme::parse_host_port(hp->str(), "--fuzz", allow_empty_host, allow_port_zero);
    FUZZ_CHECK(back && back->host == hp->host && back->port == hp->port);
    if (hp->host.empty() || acme::is_ip_literal(hp->host)) {
      const auto addr = acme::to_socket_address(*hp, "--fuzz");
      FUZZ_CHECK(addr && addr->port() == hp->port);
    }
  }
  if (const auto listen = acme::parse_listen_address(text, "--http01-listen")) {
    FUZZ_CHECK(listen->host.empty() || acme::is_ip_literal(listen->host));
    FUZZ_CHECK(acme::to_socket_address(*listen, "--http01-listen").has_value());
  }
  return 0;
}
