// A small HTTP/1.1 server for /.well-known/acme-challenge/TOKEN (RFC 8555 §8.3).
//
// One thread runs a poll() loop over the listening socket, a wake-up pipe and every open
// connection, so a slow or idle client never delays another. Each connection gets a total
// deadline (accept to last byte sent), a cap on its request head, and one answer; then it
// is closed. When the connection table is full, the oldest connection still waiting for
// its request is dropped for the new one: an idle flood cannot keep the CA's validator out.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "acme/base64url.hpp"
#include "acme/challenge.hpp"
#include "acme/host_port.hpp"
#include "acme/poll_server.hpp"
#include "acme/unique_fd.hpp"
#include "http01_request.hpp"

namespace acme {

namespace detail {

HeadState find_request_head(std::string_view buffered, std::size_t max_bytes,
                            std::size_t* head_size) {
  // RFC 9112 §2.2: a recipient MAY accept a bare LF as a line terminator.
  for (std::size_t i = buffered.find('\n'); i != std::string_view::npos;
       i = buffered.find('\n', i + 1)) {
    const std::size_t end = i + 1;
    if (end > max_bytes) break;
    const bool crlf_blank = i >= 3 && buffered.substr(i - 3, 4) == "\r\n\r\n";
    const bool lf_blank = i >= 1 && buffered[i - 1] == '\n';
    const bool mixed_blank = i >= 2 && buffered.substr(i - 2, 3) == "\n\r\n";
    if (crlf_blank || lf_blank || mixed_blank) {
      if (head_size != nullptr) *head_size = end;
      return HeadState::kComplete;
    }
  }
  return buffered.size() >= max_bytes ? HeadState::kTooLarge : HeadState::kIncomplete;
}

std::optional<RequestLine> parse_request_line(std::string_view head) {
  std::string_view line = head.substr(0, head.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return std::nullopt;
  const auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return std::nullopt;
  const std::string_view version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return std::nullopt;
  RequestLine out{line.substr(0, sp1), line.substr(sp1 + 1, sp2 - sp1 - 1)};
  for (const char c : out.method) {
    if (c < 'A' || c > 'Z') return std::nullopt;
  }
  for (const char c : out.target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return std::nullopt;
  }
  return out;
}

std::string http01_response(int status, std::string_view body, bool head_request) {
  const char* reason = "Error";
  switch (status) {
    case 200: reason = "OK"; break;
    case 400: reason = "Bad Request"; break;
    case 404: reason = "Not Found"; break;
    case 405: reason = "Method Not Allowed"; break;
    case 408: reason = "Request Timeout"; break;
    case 431: reason = "Request Header Fields Too Large"; break;
    default: break;
  }
  std::string out =
      "HTTP/1.1 " + std::to_string(status) + " " + reason +
      "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n";
  if (!head_request) out += body;
  return out;
}

}  // namespace detail

namespace {

constexpr std::string_view kPrefix = "/.well-known/acme-challenge/";
using SteadyClock = std::chrono::steady_clock;

struct Connection {
  UniqueFd fd;
  SteadyClock::time_point deadline;
  std::string in;
  std::string out;  // the response once the request is read; empty while reading
  std::size_t sent = 0;
};

}  // namespace

struct Http01Responder::Impl : detail::PollServer<Http01Responder::Impl, Connection> {
  Http01ResponderOptions options;
  std::mutex mu;
  std::map<std::string, std::string, std::less<>> tokens;
  std::atomic<std::size_t> served{0};

  ~Impl() { stop(); }

  std::optional<Connection> adopt(UniqueFd fd) {
    Connection c;
    c.fd = std::move(fd);
    c.deadline = SteadyClock::now() + options.request_deadline;
    return c;
  }

  // Drops the connection with the earliest deadline among those still reading. A real
  // validator sends its request within milliseconds of connecting, so the oldest reader
  // is the most likely to be idle. False when every connection is writing its answer
  // (then the newcomer is refused).
  bool make_room() {
    std::size_t victim = conns_.size();
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      if (!conns_[i].out.empty()) continue;
      if (victim == conns_.size() || conns_[i].deadline < conns_[victim].deadline) victim = i;
    }
    if (victim == conns_.size()) return false;
    dropped.fetch_add(1);
    close_at(victim);
    return true;
  }

  static short events(const Connection& c) {
    return static_cast<short>(c.out.empty() ? POLLIN : POLLOUT);
  }

  // Reads or writes what the socket allows. False when the connection is finished.
  bool step(Connection& c, short revents) {
    if (c.out.empty()) {
      char buf[4096];
      const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
      if (n <= 0) {
        dropped.fetch_add(1);
        return false;
      }
      c.in.append(buf, static_cast<std::size_t>(n));
      std::size_t head_size = 0;
      switch (detail::find_request_head(c.in, options.max_request_bytes, &head_size)) {
        case detail::HeadState::kIncomplete: return true;
        case detail::HeadState::kTooLarge:
          served.fetch_add(1);
          c.out = detail::http01_response(431, {}, false);
          break;
        case detail::HeadState::kComplete:
          c.out = answer(std::string_view(c.in).substr(0, head_size));
          break;
      }
      c.in.clear();
      c.in.shrink_to_fit();
    } else if ((revents & (POLLERR | POLLHUP)) != 0 && (revents & POLLOUT) == 0) {
      return false;
    }
    while (c.sent < c.out.size()) {
      const ssize_t n =
          ::send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      c.sent += static_cast<std::size_t>(n);
    }
    ::shutdown(c.fd.get(), SHUT_WR);
    return false;
  }

  std::string answer(std::string_view head) {
    served.fetch_add(1);
    const auto line = detail::parse_request_line(head);
    if (!line) return detail::http01_response(400, {}, false);
    const bool head_request = line->method == "HEAD";
    if (line->method != "GET" && !head_request) return detail::http01_response(405, {}, false);
    if (line->target.rfind(kPrefix, 0) == 0) {
      const std::string_view token = line->target.substr(kPrefix.size());
      {
        std::lock_guard lock(mu);
        if (auto it = tokens.find(token); it != tokens.end()) {
          return detail::http01_response(200, it->second, head_request);
        }
      }
      if (options.lookup && !token.empty() && is_base64url(token)) {
        if (auto found = options.lookup(std::string(token))) {
          return detail::http01_response(200, *found, head_request);
        }
      }
    }
    return detail::http01_response(404, {}, head_request);
  }
};

Http01Responder::Http01Responder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Http01Responder>> Http01Responder::start(const std::string& listen) {
  return start(listen, Http01ResponderOptions{});
}

Result<std::unique_ptr<Http01Responder>> Http01Responder::start(
    const std::string& listen, const Http01ResponderOptions& options) {
  ACME_ASSIGN(const HostPort hp, parse_listen_address(listen, "http-01 listen address"));
  ACME_ASSIGN(const SocketAddress addr, to_socket_address(hp, "http-01 listen address"));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->options.max_request_bytes = std::max<std::size_t>(64, options.max_request_bytes);
  ACME_CHECK(impl->bind_listener(listen, addr, options.max_connections, "http-01 responder"));
  impl->start();
  return std::unique_ptr<Http01Responder>(new Http01Responder(std::move(impl)));
}

Http01Responder::~Http01Responder() = default;  // Impl's destructor stops the loop

void Http01Responder::add(const std::string& token, const std::string& key_authorization) {
  std::lock_guard lock(impl_->mu);
  impl_->tokens[token] = key_authorization;
}

void Http01Responder::remove(const std::string& token) {
  std::lock_guard lock(impl_->mu);
  impl_->tokens.erase(token);
}

int Http01Responder::port() const noexcept { return impl_->port(); }

std::size_t Http01Responder::requests_served() const noexcept { return impl_->served.load(); }

std::size_t Http01Responder::connections_dropped() const noexcept { return impl_->dropped.load(); }

std::size_t Http01Responder::connections_open() const noexcept { return impl_->open.load(); }

}  // namespace acme
