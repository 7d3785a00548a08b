// The built-in HTTP-01 responder against real loopback clients: concurrent connections,
// a total per-request deadline, the connection and size caps, and a prompt stop
// (issue 13 finding 1).
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "acme/challenge.hpp"
#include "acme/unique_fd.hpp"
#include "http01_request.hpp"

namespace {

using acme::UniqueFd;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kToken = "tok_0123456789-abcdefABCDEF";
constexpr const char* kKeyAuth = "tok_0123456789-abcdefABCDEF.thumbprint";

UniqueFd connect_to(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Everything the server sends until it closes, or until `limit` passes.
std::string read_until_close(int fd, milliseconds limit) {
  std::string out;
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now()).count();
    if (::poll(&p, 1, static_cast<int>(std::max<long>(left, 0))) <= 0) break;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Whether the server closed (EOF or reset) within `limit`.
bool closed_within(int fd, milliseconds limit) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
  char buf[256];
  const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  return n <= 0;
}

std::string get(int port, const std::string& target, const std::string& method = "GET") {
  UniqueFd fd = connect_to(port);
  send_all(fd.get(), method + " " + target + " HTTP/1.1\r\nHost: a.test\r\n\r\n");
  return read_until_close(fd.get(), milliseconds(2000));
}

std::unique_ptr<acme::Http01Responder> start(const acme::Http01ResponderOptions& o = {}) {
  auto r = acme::Http01Responder::start("127.0.0.1:0", o);
  REQUIRE(r);
  auto responder = std::move(*r);
  responder->add(kToken, kKeyAuth);
  return responder;
}

}  // namespace

TEST_CASE("http01 responder: answers the token, 404 otherwise, HEAD without body") {
  auto r = start();
  CHECK(r->port() > 0);
  const std::string ok = get(r->port(), std::string("/.well-known/acme-challenge/") + kToken);
  CHECK(ok.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(ok.find("Content-Length: " + std::to_string(std::strlen(kKeyAuth)) + "\r\n") !=
        std::string::npos);
  CHECK(ok.substr(ok.size() - std::strlen(kKeyAuth)) == kKeyAuth);

  const std::string head =
      get(r->port(), std::string("/.well-known/acme-challenge/") + kToken, "HEAD");
  CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(head.find(kKeyAuth) == std::string::npos);

  CHECK(get(r->port(), "/.well-known/acme-challenge/other").rfind("HTTP/1.1 404", 0) == 0);
  CHECK(get(r->port(), "/").rfind("HTTP/1.1 404", 0) == 0);
  CHECK(get(r->port(), "/.well-known/acme-challenge/x", "POST").rfind("HTTP/1.1 405", 0) == 0);
  r->remove(kToken);
  CHECK(get(r->port(), std::string("/.well-known/acme-challenge/") + kToken)
            .rfind("HTTP/1.1 404", 0) == 0);
  CHECK(r->requests_served() == 6);
}

TEST_CASE("http01 responder: a slow-drip client is cut at the total deadline") {
  acme::Http01ResponderOptions o;
  o.request_deadline = milliseconds(600);
  auto r = start(o);
  UniqueFd fd = connect_to(r->port());
  const std::string request = std::string("GET /.well-known/acme-challenge/") + kToken +
                              " HTTP/1.1\r\nHost: a.test\r\n\r\n";
  // One byte every 40 ms: never idle for long, but the whole request would take ~3.6 s.
  const auto t0 = Clock::now();
  bool cut = false;
  for (char c : request) {
    if (::send(fd.get(), &c, 1, MSG_NOSIGNAL) != 1 || closed_within(fd.get(), milliseconds(40))) {
      cut = true;
      break;
    }
  }
  const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
  CHECK(cut);
  CHECK(took >= milliseconds(500));
  CHECK(took < milliseconds(1500));
  CHECK(r->connections_dropped() == 1);
  CHECK(r->requests_served() == 0);
}

TEST_CASE("http01 responder: 200 idle connections do not delay a real request") {
  auto r = start();
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 200; ++i) idle.push_back(connect_to(r->port()));
  // Half of them also sent a partial request line.
  for (int i = 0; i < 200; i += 2) send_all(idle[i].get(), "GET /.well-known/acme-chall");
  for (int attempt = 0; attempt < 100 && r->connections_open() < 200; ++attempt) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  CHECK(r->connections_open() == 200);
  const auto t0 = Clock::now();
  const std::string ok = get(r->port(), std::string("/.well-known/acme-challenge/") + kToken);
  const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
  CHECK(ok.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(took < milliseconds(500));
  CHECK(r->connections_dropped() == 0);
}

TEST_CASE("http01 responder: when full, the oldest idle connection makes room") {
  acme::Http01ResponderOptions o;
  o.max_connections = 4;
  auto r = start(o);
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(connect_to(r->port()));
  for (int attempt = 0; attempt < 100 && r->connections_open() < 4; ++attempt) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  const std::string ok = get(r->port(), std::string("/.well-known/acme-challenge/") + kToken);
  CHECK(ok.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(r->connections_dropped() == 1);
  CHECK(closed_within(idle[0].get(), milliseconds(1000)));  // the oldest went
  CHECK(r->connections_open() <= 4);
}

TEST_CASE("http01 responder: an over-size request head gets 431 and is closed") {
  auto r = start();
  UniqueFd fd = connect_to(r->port());
  std::string big = "GET /.well-known/acme-challenge/x HTTP/1.1\r\n";
  while (big.size() < 16384)
    big += "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  send_all(fd.get(), big);
  const std::string answer = read_until_close(fd.get(), milliseconds(2000));
  CHECK(answer.rfind("HTTP/1.1 431 ", 0) == 0);
}

TEST_CASE("http01 responder: destroyed within a second with idle and dripping clients") {
  auto r = start();
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 50; ++i) idle.push_back(connect_to(r->port()));
  send_all(idle[0].get(), "GET /.well-known/acme-ch");
  // One client drips a byte every 50 ms for up to 3 s while the responder is destroyed.
  UniqueFd drip = connect_to(r->port());
  std::atomic<bool> stop_drip{false};
  std::thread dripper([&] {
    const auto until = Clock::now() + milliseconds(3000);
    while (!stop_drip && Clock::now() < until) {
      if (::send(drip.get(), "x", 1, MSG_NOSIGNAL) != 1) break;
      std::this_thread::sleep_for(milliseconds(50));
    }
  });
  for (int attempt = 0; attempt < 100 && r->connections_open() < 51; ++attempt) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  CHECK(r->connections_open() == 51);
  std::this_thread::sleep_for(milliseconds(200));  // the drip is under way
  const auto t0 = Clock::now();
  r.reset();
  const auto took = Clock::now() - t0;
  stop_drip = true;
  dripper.join();
  CHECK(took < milliseconds(1000));
  // Every connection was closed by the responder, not left to the kernel.
  for (auto& fd : idle) CHECK(closed_within(fd.get(), milliseconds(100)));
  CHECK(closed_within(drip.get(), milliseconds(100)));
}

TEST_CASE("http01 responder: listening and accepted sockets are close-on-exec") {
  // Descriptors open before (inherited from ctest, say) are not the responder's.
  std::vector<bool> before(1024);
  for (int fd = 0; fd < 1024; ++fd) before[fd] = ::fcntl(fd, F_GETFD) >= 0;
  auto r = start();
  UniqueFd held = connect_to(r->port());
  for (int attempt = 0; attempt < 100 && r->connections_open() < 1; ++attempt) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  REQUIRE(r->connections_open() == 1);
  int checked = 0;
  for (int fd = 3; fd < 1024; ++fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0 || before[fd]) continue;
    CAPTURE(fd);
    CHECK((flags & FD_CLOEXEC) != 0);
    ++checked;
  }
  CHECK(checked == 5);  // listener, wake pipe (2), accepted connection, our client
}

TEST_CASE("http01 request parsing") {
  using acme::detail::find_request_head;
  using acme::detail::HeadState;
  size_t n = 0;
  CHECK(find_request_head("GET / HTTP/1.1\r\nHost: x\r\n", 100, &n) == HeadState::kIncomplete);
  CHECK(find_request_head("GET / HTTP/1.1\r\nHost: x\r\n\r\nrest", 100, &n) ==
        HeadState::kComplete);
  CHECK(n == 27);
  CHECK(find_request_head("GET / HTTP/1.1\nHost: x\n\n", 100, &n) == HeadState::kComplete);
  CHECK(n == 24);
  CHECK(find_request_head(std::string(100, 'a'), 100, &n) == HeadState::kTooLarge);
  CHECK(find_request_head("GET / HTTP/1.1\r\n\r\n", 10, &n) == HeadState::kTooLarge);

  auto line = acme::detail::parse_request_line("GET /a/b HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(line);
  CHECK(line->method == "GET");
  CHECK(line->target == "/a/b");
  for (const char* bad : {"", "GET", "GET /", "GET  / HTTP/1.1", "GET / HTTP/2", "get / HTTP/1.1",
                          "GET /\x01 HTTP/1.1", " / HTTP/1.1"}) {
    CAPTURE(bad);
    CHECK_FALSE(acme::detail::parse_request_line(bad));
  }
  CHECK(acme::detail::http01_response(200, "abc", true) ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: "
        "close\r\n\r\n");
}

TEST_CASE("http01 responder: a token it does not hold is looked up (the fleet's store)") {
  acme::Http01ResponderOptions o;
  std::atomic<int> asked{0};
  o.lookup = [&asked](const std::string& token) -> std::optional<std::string> {
    ++asked;
    if (token == "fromTheFleet") return std::string("fromTheFleet.thumb");
    return std::nullopt;
  };
  auto r = acme::Http01Responder::start("127.0.0.1:0", o);
  REQUIRE(r);
  (*r)->add(kToken, kKeyAuth);
  const std::string own = get((*r)->port(), std::string("/.well-known/acme-challenge/") + kToken);
  CHECK(own.substr(own.size() - std::strlen(kKeyAuth)) == kKeyAuth);
  CHECK(asked == 0);  // held locally: no lookup
  const std::string shared = get((*r)->port(), "/.well-known/acme-challenge/fromTheFleet");
  CHECK(shared.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(shared.substr(shared.size() - 18) == "fromTheFleet.thumb");
  CHECK(get((*r)->port(), "/.well-known/acme-challenge/unknown").rfind("HTTP/1.1 404", 0) == 0);
  // Not base64url: never handed to the lookup.
  CHECK(get((*r)->port(), "/.well-known/acme-challenge/a%2F..").rfind("HTTP/1.1 404", 0) == 0);
  CHECK(asked == 2);
}
