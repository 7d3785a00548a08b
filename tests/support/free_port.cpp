// free_port [N]: prints N (default 1) distinct free loopback ports, one a line.
//
// Each port is taken by binding a TCP socket to 127.0.0.1:0 (the kernel picks
// an unused port) and is kept only if UDP can bind it too, since some servers
// (a DNS server) listen on both. All sockets stay open until every port is
// chosen, so the N ports are distinct; they are closed on exit and the caller
// binds them right after. Used by the test fixtures: no hard-coded ports.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "acme/unique_fd.hpp"

namespace {

using acme::UniqueFd;

bool bind_loopback(int fd, unsigned short port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

// Returns the port bound, or 0 when this attempt must be retried.
unsigned short take_port(std::vector<UniqueFd>& held) {
  UniqueFd tcp(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (tcp.get() < 0 || !bind_loopback(tcp.get(), 0)) {
    std::fprintf(stderr, "free_port: socket/bind: %s\n", std::strerror(errno));
    std::exit(1);
  }
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(tcp.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::fprintf(stderr, "free_port: getsockname: %s\n", std::strerror(errno));
    std::exit(1);
  }
  const unsigned short port = ntohs(addr.sin_port);
  UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (udp.get() < 0 || !bind_loopback(udp.get(), port)) {
    held.push_back(std::move(tcp));  // keep it so the kernel offers another
    return 0;
  }
  held.push_back(std::move(tcp));
  held.push_back(std::move(udp));
  return port;
}

}  // namespace

int main(int argc, char** argv) {
  long n = 1;
  if (argc > 2 || (argc == 2 && ((n = std::strtol(argv[1], nullptr, 10)) < 1 || n > 64))) {
    std::fprintf(stderr, "usage: free_port [N]   (1 <= N <= 64)\n");
    return 2;
  }
  std::vector<UniqueFd> held;
  held.reserve(static_cast<size_t>(n) * 4);
  for (long found = 0, tries = 0; found < n; ++tries) {
    if (tries > 1000) {
      std::fprintf(stderr, "free_port: no free TCP+UDP port found\n");
      return 1;
    }
    if (const unsigned short port = take_port(held); port != 0) {
      std::printf("%u\n", port);
      ++found;
    }
  }
  return 0;
}
