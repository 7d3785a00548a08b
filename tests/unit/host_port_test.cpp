// acme::parse_host_port / parse_listen_address / to_socket_address and acme::UniqueFd.
#include "acme/host_port.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <type_traits>

#include "acme/unique_fd.hpp"

namespace {

bool fd_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

}  // namespace

TEST_CASE("host_port: accepted spellings") {
  auto a = acme::parse_host_port("127.0.0.1:8080", "--upstream");
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 8080);
  CHECK(a->str() == "127.0.0.1:8080");

  auto b = acme::parse_host_port("[::1]:9000", "--upstream");
  REQUIRE(b);
  CHECK(b->host == "::1");
  CHECK(b->port == 9000);
  CHECK(b->str() == "[::1]:9000");

  auto c = acme::parse_host_port("app_backend.internal:65535", "--upstream");
  REQUIRE(c);
  CHECK(c->host == "app_backend.internal");
  CHECK(c->port == 65535);

  auto d = acme::parse_host_port(":80", "--http01-listen", /*allow_empty_host=*/true);
  REQUIRE(d);
  CHECK(d->host.empty());
  CHECK(d->port == 80);
  CHECK(d->str() == ":80");
}

TEST_CASE("host_port: errors name the option, the text and the reason") {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"x", "--http01-listen 'x': expected HOST:PORT"},
           Case{":80", "--http01-listen ':80': the host is missing: expected HOST:PORT"},
           Case{"::1:80",
                "--http01-listen '::1:80': write an IPv6 address in brackets: [ADDR]:PORT"},
           Case{"[::1]80", "--http01-listen '[::1]80': expected [IPV6]:PORT"},
           Case{"[::1]", "--http01-listen '[::1]': expected [IPV6]:PORT"},
           Case{"[host]:80", "--http01-listen '[host]:80': 'host' is not an IPv6 address"},
           Case{"bad host:80",
                "--http01-listen 'bad host:80': 'bad host' is not a host name or IP address"},
           Case{"-a:80", "--http01-listen '-a:80': '-a' is not a host name or IP address"},
           Case{"a..b:80", "--http01-listen 'a..b:80': 'a..b' is not a host name or IP address"},
           Case{"h:0", "--http01-listen 'h:0': the port must be a number from 1 to 65535"},
           Case{"h:65536", "--http01-listen 'h:65536': the port must be a number from 1 to 65535"},
           Case{"h:", "--http01-listen 'h:': the port must be a number from 1 to 65535"},
           Case{"h:80x", "--http01-listen 'h:80x': the port must be a number from 1 to 65535"},
           Case{"h:-1", "--http01-listen 'h:-1': the port must be a number from 1 to 65535"},
           Case{"h: 80", "--http01-listen 'h: 80': the port must be a number from 1 to 65535"},
       }) {
    CAPTURE(c.text);
    auto r = acme::parse_host_port(c.text, "--http01-listen");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == acme::Errc::kInvalidInput);
    CHECK(r.error().message == c.message);
  }
  // A NUL inside the host is refused, not truncated.
  auto nul = acme::parse_host_port(std::string_view("a\0b:80", 6), "x");
  CHECK_FALSE(nul);
  auto nul6 = acme::parse_host_port(std::string_view("[::1\0x]:80", 10), "x");
  CHECK_FALSE(nul6);
}

TEST_CASE("host_port: port 0 only where the caller asks") {
  CHECK_FALSE(acme::parse_host_port("127.0.0.1:0", "x"));
  auto z = acme::parse_host_port("127.0.0.1:0", "x", false, /*allow_port_zero=*/true);
  REQUIRE(z);
  CHECK(z->port == 0);
  auto bad = acme::parse_host_port("127.0.0.1:65536", "x", false, true);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "x '127.0.0.1:65536': the port must be a number from 0 to 65535");
}

TEST_CASE("host_port: listen addresses are IP literals, empty, port 0 allowed") {
  auto a = acme::parse_listen_address(":0", "--http01-listen");
  REQUIRE(a);
  CHECK(a->host.empty());
  CHECK(a->port == 0);
  CHECK(acme::parse_listen_address("[::1]:80", "--http01-listen"));
  auto name = acme::parse_listen_address("localhost:80", "--http01-listen");
  REQUIRE_FALSE(name);
  CHECK(name.error().message == "--http01-listen 'localhost:80': 'localhost' is not an IP address");
  auto v4 = acme::parse_listen_address("999.1.1.1:80", "--http01-listen");
  REQUIRE_FALSE(v4);
  CHECK(v4.error().message == "--http01-listen '999.1.1.1:80': '999.1.1.1' is not an IP address");
}

TEST_CASE("host_port: socket addresses") {
  auto v4 = acme::to_socket_address({"127.0.0.1", 8402}, "x");
  REQUIRE(v4);
  CHECK(v4->family() == AF_INET);
  CHECK(v4->length == sizeof(sockaddr_in));
  CHECK(v4->port() == 8402);
  CHECK(reinterpret_cast<const sockaddr_in*>(v4->get())->sin_addr.s_addr == htonl(INADDR_LOOPBACK));

  auto any = acme::to_socket_address({"", 80}, "x");
  REQUIRE(any);
  CHECK(any->family() == AF_INET);
  CHECK(reinterpret_cast<const sockaddr_in*>(any->get())->sin_addr.s_addr == htonl(INADDR_ANY));

  auto v6 = acme::to_socket_address({"::1", 443}, "x");
  REQUIRE(v6);
  CHECK(v6->family() == AF_INET6);
  CHECK(v6->length == sizeof(sockaddr_in6));
  CHECK(v6->port() == 443);

  auto name = acme::to_socket_address({"localhost", 80}, "--listen");
  REQUIRE_FALSE(name);
  CHECK(name.error().message == "--listen 'localhost:80': 'localhost' is not an IP address");

  // Binding what the parser produced: port 0 comes back as the kernel's choice.
  auto hp = acme::parse_listen_address("127.0.0.1:0", "x");
  REQUIRE(hp);
  auto sa = acme::to_socket_address(*hp, "x");
  REQUIRE(sa);
  acme::UniqueFd s(::socket(sa->family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(s.valid());
  REQUIRE(::bind(s.get(), sa->get(), sa->length) == 0);
  acme::SocketAddress bound;
  bound.length = sizeof bound.storage;
  REQUIRE(::getsockname(s.get(), bound.get(), &bound.length) == 0);
  CHECK(bound.port() > 0);
}

TEST_CASE("unique_fd: owns exactly one descriptor") {
  static_assert(!std::is_copy_constructible_v<acme::UniqueFd>);
  static_assert(!std::is_copy_assignable_v<acme::UniqueFd>);
  static_assert(std::is_nothrow_move_constructible_v<acme::UniqueFd>);
  static_assert(std::is_nothrow_move_assignable_v<acme::UniqueFd>);
  static_assert(std::is_nothrow_destructible_v<acme::UniqueFd>);

  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  {
    acme::UniqueFd r(p[0]);
    acme::UniqueFd w(p[1]);
    CHECK(r.valid());
    CHECK(r.get() == p[0]);
    acme::UniqueFd moved(std::move(r));
    CHECK_FALSE(r.valid());  // NOLINT(bugprone-use-after-move): moved-from is empty
    CHECK(moved.get() == p[0]);
    moved = std::move(w);  // closes p[0]
    CHECK_FALSE(fd_open(p[0]));
    CHECK(fd_open(p[1]));
    const int raw = moved.release();
    CHECK_FALSE(moved.valid());
    CHECK(raw == p[1]);
    moved.reset(raw);
    moved.reset(raw);  // resetting to the same descriptor keeps it open
    CHECK(fd_open(p[1]));
    acme::UniqueFd empty;
    CHECK_FALSE(empty);
  }
  CHECK_FALSE(fd_open(p[1]));  // closed by the destructor
}
