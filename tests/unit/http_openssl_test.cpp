// The OpenSSL HTTP client's pure parts (libacme/src/http_openssl.cpp): URLs, curl's
// proxy environment rules, and the HTTP/1.1 response parser.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "acme/http.hpp"
#include "http_openssl_detail.hpp"

using acme::detail::no_proxy_matches;
using acme::detail::parse_proxy_url;
using acme::detail::parse_url;
using acme::detail::proxy_for;
using acme::detail::ResponseParser;

TEST_CASE("parse_url: https only, default port 443, IPv6 literals, target") {
  auto u = parse_url("https://Acme.Example:8443/dir?x=1#frag");
  REQUIRE(u);
  CHECK(u->host == "acme.example");
  CHECK(u->port == 8443);
  CHECK(u->target == "/dir?x=1");
  u = parse_url("https://[::1]/acme");
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->port == 443);
  u = parse_url("https://127.0.0.1");
  REQUIRE(u);
  CHECK(u->target == "/");
  for (const char* bad : {"http://acme.example/dir", "ftp://x/", "acme.example/dir", "https:///x",
                          "https://x:0/", "https://x:70000/", "https://x:1a/"}) {
    CAPTURE(bad);
    auto r = parse_url(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == acme::Errc::kInvalidInput);
  }
  CHECK(parse_url("http://x/").error().message.find("only https://") != std::string::npos);
}

TEST_CASE("parse_url: http:// only when allowed (webhooks), port 80 by default") {
  auto u = parse_url("http://127.0.0.1/hooks?t=1", /*allow_http=*/true);
  REQUIRE(u);
  CHECK(u->scheme == "http");
  CHECK(u->port == 80);
  CHECK(u->target == "/hooks?t=1");
  u = parse_url("https://x/", true);
  REQUIRE(u);
  CHECK(u->port == 443);
  CHECK_FALSE(parse_url("ftp://x/", true));
  CHECK_FALSE(parse_url("http://x/", false));
}

// A one-shot plain HTTP server on a loopback port: answers one request with `answer`,
// records what it read.
struct OneShotServer {
  int listen_fd = -1;
  int port = 0;
  std::string request;
  std::thread thread;

  explicit OneShotServer(std::string answer) {
    listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listen_fd, 4) == 0);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    thread = std::thread([this, answer = std::move(answer)] {
      const int c = ::accept(listen_fd, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      // Headers, then the body by Content-Length.
      for (;;) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
        const auto end = request.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        const auto cl = request.find("Content-Length: ");
        const std::size_t body = cl == std::string::npos ? 0 : std::stoul(request.substr(cl + 16));
        if (request.size() >= end + 4 + body) break;
      }
      ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(c);
    });
  }
  ~OneShotServer() {
    ::shutdown(listen_fd, SHUT_RDWR);
    if (thread.joinable()) thread.join();
    ::close(listen_fd);
  }
};

TEST_CASE("plain http:// round trip with allow_plain_http, direct even with a proxy set") {
  OneShotServer server("HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok");
  ::setenv("https_proxy", "http://127.0.0.1:1", 1);  // a dead proxy: must not be used
  acme::HttpOptions o;
  o.allow_plain_http = true;
  o.total_timeout = std::chrono::seconds(5);
  auto client = acme::make_openssl_http_client(o);
  REQUIRE(client);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port) + "/hooks/x";
  auto r = (*client)->send({"POST", url, {{"Content-Type", "application/json"}}, "{\"a\":1}"});
  ::unsetenv("https_proxy");
  REQUIRE(r);
  CHECK(r->status == 202);
  CHECK(r->body == "ok");
  server.thread.join();
  CHECK(server.request.rfind("POST /hooks/x HTTP/1.1\r\n", 0) == 0);
  CHECK(server.request.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port) + "\r\n") !=
        std::string::npos);
  CHECK(server.request.find("\r\n\r\n{\"a\":1}") != std::string::npos);

  // Without the option an http:// URL is refused before any connection.
  auto strict = acme::make_openssl_http_client({});
  REQUIRE(strict);
  auto refused = (*strict)->send({"GET", url, {}, ""});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("only https://") != std::string::npos);
}

TEST_CASE("parse_proxy_url: http:// or no scheme, port 1080 by default, credentials") {
  auto p = parse_proxy_url("proxy.example");
  REQUIRE(p);
  CHECK(p->host == "proxy.example");
  CHECK(p->port == 1080);
  p = parse_proxy_url("http://us%40er:p%3Ass@10.0.0.1:3128/");
  REQUIRE(p);
  CHECK(p->host == "10.0.0.1");
  CHECK(p->port == 3128);
  CHECK(p->userinfo == "us@er:p:ss");
  auto bad = parse_proxy_url("socks5://10.0.0.1:1080");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("socks5") != std::string::npos);
}

TEST_CASE("no_proxy_matches: curl's rules") {
  CHECK(no_proxy_matches("*", "anything.example"));
  CHECK(no_proxy_matches("example.com", "example.com"));
  CHECK(no_proxy_matches("example.com", "www.example.com"));
  CHECK(no_proxy_matches(".example.com", "www.example.com"));
  CHECK(no_proxy_matches(".example.com", "example.com"));
  CHECK_FALSE(no_proxy_matches("example.com", "badexample.com"));
  CHECK(no_proxy_matches("localhost, Example.COM.", "WWW.example.com."));
  CHECK(no_proxy_matches("foo,127.0.0.1", "127.0.0.1"));
  CHECK_FALSE(no_proxy_matches("127.0.0.1", "127.0.0.2"));
  CHECK(no_proxy_matches("10.0.0.0/8", "10.1.2.3"));
  CHECK_FALSE(no_proxy_matches("10.0.0.0/8", "11.1.2.3"));
  CHECK(no_proxy_matches("::1", "::1"));
  CHECK(no_proxy_matches("[fd00::]/8", "fd12::1"));
  CHECK_FALSE(no_proxy_matches("fd00::/8", "fe80::1"));
  CHECK_FALSE(no_proxy_matches("", "example.com"));
  CHECK_FALSE(no_proxy_matches("*.example.com", "www.example.com"));  // curl: no globs
}

TEST_CASE("proxy_for: https_proxy, HTTPS_PROXY, all_proxy, then no_proxy") {
  for (const char* v :
       {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"}) {
    unsetenv(v);
  }
  CHECK_FALSE(proxy_for("acme.example"));
  setenv("ALL_PROXY", "http://all:1", 1);
  CHECK(proxy_for("acme.example") == std::optional<std::string>("http://all:1"));
  setenv("HTTPS_PROXY", "http://upper:2", 1);
  CHECK(proxy_for("acme.example") == std::optional<std::string>("http://upper:2"));
  setenv("https_proxy", "http://lower:3", 1);
  CHECK(proxy_for("acme.example") == std::optional<std::string>("http://lower:3"));
  setenv("NO_PROXY", "example", 1);
  CHECK_FALSE(proxy_for("acme.example"));
  setenv("no_proxy", "other.test", 1);  // the lower-case one wins
  CHECK(proxy_for("acme.example"));
  for (const char* v :
       {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"}) {
    unsetenv(v);
  }
}

namespace {

// Feeds the text in pieces of `step` bytes.
acme::Result<acme::HttpResponse> parse(const std::string& text, std::size_t step, bool head = false,
                                       std::size_t limit = 1 << 20, bool eof = false) {
  ResponseParser p(head, limit);
  for (std::size_t i = 0; i < text.size() && !p.done(); i += step) {
    std::size_t used = 0;
    ACME_CHECK(p.feed(std::string_view(text).substr(i, step), &used));
  }
  if (eof) ACME_CHECK(p.eof());
  if (!p.done()) return acme::make_error(acme::Errc::kNetwork, "not done");
  return p.take();
}

}  // namespace

TEST_CASE("ResponseParser: Content-Length, chunked, HEAD, 1xx, until close, in any pieces") {
  const std::string cl =
      "HTTP/1.1 201 Created\r\nReplay-Nonce: abc\r\nLink: <a>;rel=\"up\"\r\nLink: "
      "<b>;rel=\"up\"\r\n"
      "Content-Length: 5\r\n\r\nhello";
  const std::string chunked =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: 1\r\n\r\n";
  for (std::size_t step : {1, 2, 7, 1000}) {
    CAPTURE(step);
    auto r = parse(cl, step);
    REQUIRE(r);
    CHECK(r->status == 201);
    CHECK(r->body == "hello");
    CHECK(r->header("replay-nonce") == std::optional<std::string>("abc"));
    CHECK(r->headers_named("link").size() == 2);
    r = parse(chunked, step);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "abc0123456789abcdef");
  }
  auto head = parse("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 3, true);
  REQUIRE(head);
  CHECK(head->body.empty());
  auto close = parse("HTTP/1.0 200 OK\r\n\r\nuntil the end", 4, false, 1 << 20, true);
  REQUIRE(close);
  CHECK(close->body == "until the end");
}

TEST_CASE("ResponseParser: the size limit, malformed input and an early close are errors") {
  ResponseParser big(false, 4);
  auto r = big.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", nullptr);
  CHECK_FALSE(r);
  CHECK(big.too_large());
  ResponseParser big_chunked(false, 4);
  r = big_chunked.feed(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n", nullptr);
  CHECK_FALSE(r);
  CHECK(big_chunked.too_large());
  ResponseParser garbage(false, 100);
  CHECK_FALSE(garbage.feed("SSH-2.0-OpenSSH\r\n\r\n", nullptr));
  ResponseParser bad_length(false, 100);
  CHECK_FALSE(bad_length.feed("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", nullptr));
  ResponseParser cut(false, 100);
  REQUIRE(cut.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", nullptr));
  CHECK_FALSE(cut.done());
  CHECK_FALSE(cut.eof());
  ResponseParser nothing(false, 100);
  auto e = nothing.eof();
  REQUIRE_FALSE(e);
  CHECK(e.error().message.find("before any response") != std::string::npos);
}

TEST_CASE("ResponseParser: Connection: close and HTTP/1.0 ask for the connection to be closed") {
  ResponseParser a(false, 100);
  REQUIRE(a.feed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", nullptr));
  CHECK(a.done());
  CHECK(a.close_after());
  ResponseParser b(false, 100);
  REQUIRE(b.feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", nullptr));
  CHECK_FALSE(b.close_after());
  ResponseParser c(false, 100);
  REQUIRE(c.feed("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", nullptr));
  CHECK(c.close_after());
}
