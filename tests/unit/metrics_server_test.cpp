// The agent's HTTP endpoint (agent/metrics/server.cpp) over real loopback sockets: routes,
// HEAD, keep-alive, limits, timeouts, and that neither a silent client nor a slow scraper
// delays /healthz.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

#include "acme/unique_fd.hpp"
#include "metrics/registry.hpp"
#include "metrics/server.hpp"
#include "store/store.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct ServerTempDir {
  std::string path;
  ServerTempDir() {
    // tmpfs when there is one: the store fsyncs every upsert (2,000 of them below).
    char shm[] = "/dev/shm/acmectl-metrics-server-test.XXXXXX";
    char tmp[] = "/tmp/acmectl-metrics-server-test.XXXXXX";
    const char* p = mkdtemp(shm);
    path = p != nullptr ? p : mkdtemp(tmp);
  }
  ~ServerTempDir() { (void)!system(("rm -rf '" + path + "'").c_str()); }
};

// A store with `n` issued certificates and a server on a free loopback port.
struct Fixture {
  ServerTempDir dir;
  agent::metrics::Registry registry;
  std::unique_ptr<agent::metrics::MetricsServer> server;

  explicit Fixture(int n = 3) {
    auto store = agent::Store::open(dir.path + "/acmectl.db");
    REQUIRE(store);
    for (int i = 0; i < n; ++i) {
      agent::CertificateRecord r;
      r.name = "cert" + std::to_string(i);
      r.domains = {r.name + ".example"};
      r.out_dir = dir.path + "/live/" + r.name;
      r.server = "https://ca.test/dir";
      r.not_before = 1'700'000'000;
      r.not_after = 1'700'000'000 + 90 * 86400;
      r.serial = "0a" + std::to_string(i);
      REQUIRE((*store)->upsert_certificate(r));
    }
    registry.set_last_tick(static_cast<int64_t>(std::time(nullptr)));
    agent::metrics::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.db_path = dir.path + "/acmectl.db";
    o.registry = &registry;
    auto s = agent::metrics::MetricsServer::start(o);
    REQUIRE(s);
    server = std::move(*s);
  }
  int port() const { return server->port(); }
};

acme::UniqueFd dial(int port, int rcvbuf = 0) {
  acme::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  if (rcvbuf > 0) ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  timeval tv{10, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

void send_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close early (the 431 test)
    off += static_cast<std::size_t>(n);
  }
}

struct Response {
  int status = 0;
  std::string head;  // status line and headers, lower-cased names kept as sent
  std::string body;  // de-chunked
  bool has(const std::string& header_line) const {
    return head.find("\r\n" + header_line + "\r\n") != std::string::npos;
  }
};

// Reads one response (Content-Length, chunked, or up to the close); nullopt on EOF or
// timeout before a whole head. `buf` keeps bytes that belong to the next response.
std::optional<Response> read_response(int fd, std::string& buf, bool head_request = false) {
  auto fill = [&]() {
    char tmp[65536];
    const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t end;
  while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return std::nullopt;
  }
  Response r;
  r.head = buf.substr(0, end + 2);
  buf.erase(0, end + 4);
  r.status = std::atoi(r.head.c_str() + 9);
  if (head_request) return r;
  const auto cl = r.head.find("Content-Length: ");
  if (cl != std::string::npos) {
    const std::size_t len = std::strtoul(r.head.c_str() + cl + 16, nullptr, 10);
    while (buf.size() < len) {
      if (!fill()) return std::nullopt;
    }
    r.body = buf.substr(0, len);
    buf.erase(0, len);
  } else if (r.has("Transfer-Encoding: chunked")) {
    while (true) {
      std::size_t nl;
      while ((nl = buf.find("\r\n")) == std::string::npos) {
        if (!fill()) return std::nullopt;
      }
      const std::size_t size = std::strtoul(buf.c_str(), nullptr, 16);
      while (buf.size() < nl + 2 + size + 2) {
        if (!fill()) return std::nullopt;
      }
      r.body.append(buf, nl + 2, size);
      buf.erase(0, nl + 2 + size + 2);
      if (size == 0) break;
    }
  } else {
    while (fill()) {
    }
    r.body = std::move(buf);
    buf.clear();
  }
  return r;
}

std::optional<Response> get(int port, const std::string& request) {
  auto fd = dial(port);
  send_all(fd.get(), request);
  std::string buf;
  return read_response(fd.get(), buf, request.rfind("HEAD ", 0) == 0);
}

// True when the server closed the connection (EOF or reset) within `seconds`.
bool closed_within(int fd, int seconds) {
  pollfd p{fd, POLLIN, 0};
  const auto until = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < until) {
    if (::poll(&p, 1, 100) > 0) {
      char c[4096];
      const ssize_t n = ::recv(fd, c, sizeof c, MSG_DONTWAIT);
      if (n <= 0) return n == 0 || errno != EAGAIN;
    }
  }
  return false;
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

}  // namespace

TEST_CASE("metrics server: routes, content types, status codes") {
  Fixture f;
  CHECK(f.port() > 0);
  auto m = get(f.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n");
  REQUIRE(m);
  CHECK(m->status == 200);
  CHECK(m->has("Content-Type: text/plain; version=0.0.4; charset=utf-8"));
  CHECK(m->head.find("Content-Encoding") == std::string::npos);  // never gzip
  CHECK(m->body.rfind("# HELP acmectl_build_info", 0) == 0);
  CHECK(m->body.find("acmectl_certificate_ready{name=\"cert2\"} 0\n") != std::string::npos);
  CHECK(m->body.find("process_") != std::string::npos);
  auto ready = agent::metrics::render_metrics(f.dir.path + "/acmectl.db", 30);
  REQUIRE(ready);
  // The same families as the one-piece rendering (the registry's part aside).
  CHECK(m->body.find("acmectl_certificate_expiration_timestamp_seconds{name=\"cert1\"}") !=
        std::string::npos);

  auto h = get(f.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(h);
  CHECK(h->status == 200);
  CHECK(h->body == "ok\n");

  auto page = get(f.port(), "GET /?page=0&x=%41 HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->has("Content-Type: text/html; charset=utf-8"));
  CHECK(page->has("Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'"));
  CHECK(page->body.find("cert1") != std::string::npos);

  auto nf = get(f.port(), "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(nf);
  CHECK(nf->status == 404);
  auto post = get(f.port(), "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(post);
  CHECK(post->status == 405);
  CHECK(post->has("Allow: GET, HEAD"));
  auto bad = get(f.port(), "garbage\r\n\r\n");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  auto body = get(f.port(), "GET /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  REQUIRE(body);
  CHECK(body->status == 413);
}

TEST_CASE("metrics server: HEAD gets the headers a GET would, and no body") {
  Fixture f;
  for (const char* path : {"/metrics", "/healthz", "/"}) {
    auto fd = dial(f.port());
    send_all(fd.get(), std::string("HEAD ") + path + " HTTP/1.1\r\nConnection: close\r\n\r\n");
    std::string buf;
    auto r = read_response(fd.get(), buf, true);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->has("Connection: close"));
    CHECK(closed_within(fd.get(), 5));
    CHECK(buf.empty());  // nothing after the head
  }
}

TEST_CASE("metrics server: keep-alive serves two requests on one connection, then close") {
  Fixture f;
  auto fd = dial(f.port());
  std::string buf;
  send_all(fd.get(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  auto a = read_response(fd.get(), buf);
  REQUIRE(a);
  CHECK(a->status == 200);
  CHECK_FALSE(a->has("Connection: close"));
  send_all(fd.get(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  auto b = read_response(fd.get(), buf);
  REQUIRE(b);
  CHECK(b->status == 200);
  CHECK(b->body.find("acmectl_build_info") != std::string::npos);
  // Pipelined: two requests in one write, answered in order.
  send_all(fd.get(),
           "GET /nope HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
  auto c = read_response(fd.get(), buf);
  auto d = read_response(fd.get(), buf);
  REQUIRE(c);
  REQUIRE(d);
  CHECK(c->status == 404);
  CHECK(d->status == 200);
  CHECK(d->has("Connection: close"));
  CHECK(closed_within(fd.get(), 5));
  // HTTP/1.0 closes unless asked otherwise.
  auto e = get(f.port(), "GET /healthz HTTP/1.0\r\n\r\n");
  REQUIRE(e);
  CHECK(e->head.rfind("HTTP/1.0 200", 0) == 0);
}

TEST_CASE("metrics server: a silent client neither blocks /healthz nor stays forever") {
  Fixture f;
  auto silent = dial(f.port());
  send_all(silent.get(), "GET /heal");  // half a request line, then nothing
  const auto t = Clock::now();
  auto h = get(f.port(), "GET /healthz HTTP/1.1\r\n\r\n");
  REQUIRE(h);
  CHECK(h->status == 200);
  CHECK(ms_since(t) < 1000);
  // The read timeout (5 s) drops it.
  CHECK(closed_within(silent.get(), 8));
}

TEST_CASE("metrics server: a header flood gets 431 and the connection is closed") {
  Fixture f;
  auto fd = dial(f.port());
  std::string req = "GET /metrics HTTP/1.1\r\n";
  while (req.size() < 40'000) req += "X-Flood: " + std::string(100, 'a') + "\r\n";
  send_all(fd.get(), req);  // no end of head: the server must not wait for one
  std::string buf;
  auto r = read_response(fd.get(), buf);
  REQUIRE(r);
  CHECK(r->status == 431);
  CHECK(r->has("Connection: close"));
  CHECK(closed_within(fd.get(), 5));
  // Too many (short) headers: 431 too.
  std::string many = "GET /healthz HTTP/1.1\r\n";
  for (int i = 0; i < 200; ++i) many += "A" + std::to_string(i) + ": b\r\n";
  auto m = get(f.port(), many + "\r\n");
  REQUIRE(m);
  CHECK(m->status == 431);
}

TEST_CASE("metrics server: a scraper that does not read delays neither /healthz nor others") {
  // ~2,000 certificates: ~1.4 MB of exposition, far more than the socket buffers hold.
  Fixture f(2000);
  auto slow = dial(f.port(), 4096);
  send_all(slow.get(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  ::usleep(300'000);  // the scrape is stuck on the full socket now
  for (int i = 0; i < 3; ++i) {
    const auto t = Clock::now();
    auto h = get(f.port(), "GET /healthz HTTP/1.1\r\n\r\n");
    REQUIRE(h);
    CHECK(h->status == 200);
    CHECK(ms_since(t) < 1000);
  }
  // Another scrape completes meanwhile.
  auto other = get(f.port(), "GET /metrics HTTP/1.1\r\n\r\n");
  REQUIRE(other);
  CHECK(other->status == 200);
  CHECK(other->body.find("acmectl_certificate_ready{name=\"cert1999\"}") != std::string::npos);
  // The slow one then reads all of it: complete and the same certificates.
  std::string buf;
  auto r = read_response(slow.get(), buf);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body.size() > 1'000'000);
  CHECK(r->body.find("acmectl_certificate_ready{name=\"cert1999\"}") != std::string::npos);
  CHECK(r->body.find("process_") != std::string::npos);
}

TEST_CASE("metrics server: binds at start; busy port reported; localhost resolves") {
  Fixture f(0);
  agent::metrics::ServerOptions o;
  o.listen = "127.0.0.1:" + std::to_string(f.port());
  o.db_path = f.dir.path + "/acmectl.db";
  auto busy = agent::metrics::MetricsServer::start(o);
  REQUIRE_FALSE(busy);
  CHECK(busy.error().message.find("cannot listen on 127.0.0.1:") != std::string::npos);
  o.listen = "localhost:0";  // ::1 or 127.0.0.1, as the resolver orders them
  auto local = agent::metrics::MetricsServer::start(o);
  REQUIRE(local);
  CHECK((*local)->port() > 0);
  // No scheduler tick yet (no registry): /healthz fails.
  o.listen = "127.0.0.1:0";
  auto fresh = agent::metrics::MetricsServer::start(o);
  REQUIRE(fresh);
  auto h = get((*fresh)->port(), "GET /healthz HTTP/1.1\r\n\r\n");
  REQUIRE(h);
  CHECK(h->status == 503);
  CHECK(h->body == "scheduler has not run yet\n");
}
