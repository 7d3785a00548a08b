// doctor: an http-01 token placed where the certificate's solver places it, fetched back the
// way the CA would, through whatever proxy (nginx) stands on port 80.
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "acme/base64url.hpp"
#include "acme/host_port.hpp"
#include "acme/unique_fd.hpp"
#include "doctor/checks.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;

namespace {

constexpr auto kHttpDeadline = std::chrono::seconds(5);
constexpr size_t kMaxAnswer = 64 * 1024;

// Milliseconds left until `deadline` (at least 0), for poll().
int ms_left(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
  return left > 0 ? static_cast<int>(left) : 0;
}

bool wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int n = ::poll(&p, 1, ms_left(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

acme::Result<PlainHttpAnswer> plain_http_get(const std::string& address, int port,
                                             const std::string& host_header,
                                             const std::string& path) {
  const std::string what = "http://" + host_header + ":" + std::to_string(port) + path;
  ACME_ASSIGN(auto sa, acme::to_socket_address({address, port}, "address"));
  const auto deadline = std::chrono::steady_clock::now() + kHttpDeadline;
  acme::UniqueFd fd(::socket(sa.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return make_error(Errc::kNetwork, what + ": socket: " + std::strerror(errno));
  if (::connect(fd.get(), sa.get(), sa.length) != 0 && errno != EINPROGRESS) {
    return make_error(Errc::kNetwork,
                      what + ": connect to " + address + ": " + std::strerror(errno));
  }
  if (!wait_fd(fd.get(), POLLOUT, deadline)) {
    return make_error(Errc::kTimeout, what + ": connect to " + address + " timed out");
  }
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    return make_error(Errc::kNetwork, what + ": connect to " + address + ":" +
                                          std::to_string(port) + ": " + std::strerror(err));
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host_header +
                              "\r\nUser-Agent: acmectl-doctor\r\nAccept: */*\r\n"
                              "Connection: close\r\n\r\n";
  for (size_t sent = 0; sent < request.size();) {
    if (!wait_fd(fd.get(), POLLOUT, deadline)) {
      return make_error(Errc::kTimeout, what + ": sending the request timed out");
    }
    const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return make_error(Errc::kNetwork, what + ": send: " + std::strerror(errno));
    }
    if (n > 0) sent += static_cast<size_t>(n);
  }
  std::string raw;
  for (;;) {
    if (!wait_fd(fd.get(), POLLIN, deadline)) {
      return make_error(Errc::kTimeout, what + ": no complete answer within 5 s");
    }
    char buf[4096];
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return make_error(Errc::kNetwork, what + ": recv: " + std::strerror(errno));
    if (n == 0) break;
    raw.append(buf, static_cast<size_t>(n));
    if (raw.size() > kMaxAnswer) break;
  }
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nBODY"
  PlainHttpAnswer a;
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) {
    return make_error(Errc::kProtocol, what + ": the answer is not HTTP");
  }
  a.status = std::atoi(raw.c_str() + 9);
  const size_t end = raw.find("\r\n\r\n");
  if (end != std::string::npos) a.body = raw.substr(end + 4);
  const std::string head = raw.substr(0, end);
  // A chunked body holds one chunk for a token this small: take its payload.
  std::string lower_head = head;
  for (char& c : lower_head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower_head.find("transfer-encoding: chunked") != std::string::npos) {
    const size_t crlf = a.body.find("\r\n");
    if (crlf != std::string::npos) {
      const size_t size = std::strtoul(a.body.c_str(), nullptr, 16);
      a.body = a.body.substr(crlf + 2, size);
    }
  }
  return a;
}

namespace doctor_detail {

std::string random_token() {
  std::random_device rd;  // getrandom(2) on Linux
  std::string bytes(32, '\0');
  for (char& c : bytes) c = static_cast<char>(rd() & 0xff);
  return acme::base64url_encode(bytes);
}

Finding check_http01(const DoctorOptions& options, const DoctorTarget& target,
                     const std::string& domain, const std::vector<std::string>& addresses) {
  const std::string token = random_token();
  const std::string path = "/.well-known/acme-challenge/" + token;
  // RFC 8738 §3 / RFC 3986 §3.2.2: an IPv6 address is bracketed in the URL and Host.
  const bool ip = acme::is_ip_literal(domain);
  const std::string host =
      ip && domain.find(':') != std::string::npos ? "[" + domain + "]" : domain;
  const std::string url = "http://" + host + ":" + std::to_string(options.http_port) + path;
  Finding f{"http-01", url, Severity::kOk, ""};
  if (addresses.empty()) {
    f.severity = Severity::kSkipped;
    f.message = "not fetched: " + domain + " has no address";
    return f;
  }
  ChallengeSettings s = target.challenge;
  if (s.webroot.empty() && s.http01_listen.empty()) s.http01_listen = options.shared_listen;
  const std::string where =
      !s.webroot.empty()
          ? "webroot " + s.webroot
          : "responder on " + (s.http01_listen.empty() ? std::string(":80") : s.http01_listen);
  auto solver = make_solver(s);
  if (!solver) {
    // Typically a running agent holding the responder's port: it answers for itself, but the
    // token cannot be placed from here.
    f.severity = Severity::kWarning;
    f.message = "not checked: " + solver.error().message;
    return f;
  }
  acme::ChallengeContext ctx;
  ctx.identifier = {ip ? "ip" : "dns", domain};
  ctx.challenge_type = "http-01";
  ctx.token = token;
  ctx.key_authorization = token + ".acmectl-doctor";
  if (auto p = solver->solver->present(ctx); !p) {
    solver->solver->cleanup(ctx);
    f.severity = Severity::kError;
    f.message = "cannot place the token (" + where + "): " + p.error().message;
    return f;
  }
  // Pebble and real CAs connect to one of the addresses; ask the first, as they would.
  auto got = plain_http_get(addresses.front(), options.http_port, host, path);
  solver->solver->cleanup(ctx);
  if (!got) {
    f.severity = Severity::kError;
    f.message = got.error().message;  // names the URL and what went wrong
    return f;
  }
  std::string body = got->body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  if (got->status != 200 || body != ctx.key_authorization) {
    f.severity = Severity::kError;
    f.message = url + " answered " + std::to_string(got->status) +
                (got->status == 200 ? " with another body" : "") +
                ", not the token placed by the " + where +
                ": the path does not reach acmectl (a proxy location missing?)";
    return f;
  }
  f.message = "token served by the " + where + " fetched back through " +
              acme::HostPort{addresses.front(), options.http_port}.str() + ", removed";
  return f;
}

}  // namespace doctor_detail
}  // namespace agent
