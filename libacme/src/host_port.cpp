#include "acme/host_port.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>
#include <charconv>
#include <cstring>

namespace acme {
namespace {

Error invalid(std::string_view what, std::string_view text, std::string_view why) {
  return make_error(Errc::kInvalidInput,
                    std::string(what) + " '" + std::string(text) + "': " + std::string(why));
}

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// LDH labels, underscores allowed (service names in compose networks use them).
bool valid_host_name(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  size_t label = 0;
  for (const char c : h) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
    if (c == '-' && label == 0) return false;
    if (++label > 63) return false;
  }
  return label > 0;
}

}  // namespace

bool is_ip_literal(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return false;
  const std::string s(text);
  return is_ipv4(s) || is_ipv6(s);
}

std::string HostPort::str() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<HostPort> parse_host_port(std::string_view text, std::string_view what,
                                 bool allow_empty_host, bool allow_port_zero) {
  HostPort hp;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return invalid(what, text, "expected [IPV6]:PORT");
    }
    hp.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
    if (hp.host.find('\0') != std::string::npos || !is_ipv6(hp.host)) {
      return invalid(what, text, "'" + hp.host + "' is not an IPv6 address");
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return invalid(what, text, "expected HOST:PORT");
    hp.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (hp.host.find(':') != std::string::npos) {
      return invalid(what, text, "write an IPv6 address in brackets: [ADDR]:PORT");
    }
    if (hp.host.empty()) {
      if (!allow_empty_host) return invalid(what, text, "the host is missing: expected HOST:PORT");
    } else if (!is_ipv4(hp.host) && !valid_host_name(hp.host)) {
      return invalid(what, text, "'" + hp.host + "' is not a host name or IP address");
    }
  }
  const int min_port = allow_port_zero ? 0 : 1;
  int value = -1;
  const char* end = port.data() + port.size();
  const auto [p, ec] = std::from_chars(port.data(), end, value);
  if (port.empty() || ec != std::errc{} || p != end || value < min_port || value > 65535) {
    return invalid(what, text,
                   std::string("the port must be a number from ") + (allow_port_zero ? "0" : "1") +
                       " to 65535");
  }
  hp.port = value;
  return hp;
}

Result<HostPort> parse_listen_address(std::string_view text, std::string_view what) {
  ACME_ASSIGN(HostPort hp, parse_host_port(text, what, /*allow_empty_host=*/true,
                                           /*allow_port_zero=*/true));
  if (!hp.host.empty() && !is_ip_literal(hp.host)) {
    return invalid(what, text, "'" + hp.host + "' is not an IP address");
  }
  return hp;
}

int SocketAddress::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return 0;
}

Result<SocketAddress> to_socket_address(const HostPort& hp, std::string_view what) {
  SocketAddress out;
  if (hp.port < 0 || hp.port > 65535) {
    return invalid(what, hp.str(), "the port must be a number from 0 to 65535");
  }
  const auto port = htons(static_cast<uint16_t>(hp.port));
  if (hp.host.find(':') != std::string::npos) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = port;
    if (hp.host.find('\0') != std::string::npos ||
        inet_pton(AF_INET6, hp.host.c_str(), &a6->sin6_addr) != 1) {
      return invalid(what, hp.str(), "'" + hp.host + "' is not an IPv6 address");
    }
    out.length = sizeof(sockaddr_in6);
    return out;
  }
  auto* a4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  a4->sin_family = AF_INET;
  a4->sin_port = port;
  if (hp.host.empty()) {
    a4->sin_addr.s_addr = htonl(INADDR_ANY);
  } else if (hp.host.find('\0') != std::string::npos ||
             inet_pton(AF_INET, hp.host.c_str(), &a4->sin_addr) != 1) {
    return invalid(what, hp.str(), "'" + hp.host + "' is not an IP address");
  }
  out.length = sizeof(sockaddr_in);
  return out;
}

}  // namespace acme
