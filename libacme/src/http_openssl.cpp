// HttpClient on OpenSSL and POSIX sockets alone: HTTP/1.1 over TLS with keep-alive, for
// the ACME connection. It exists so that acmectl does not load libcurl and the ~30
// shared libraries libcurl pulls in (GnuTLS, Kerberos, LDAP, SSH, RTMP, PSL, IDN, brotli,
// zstd... relocating them was about a quarter of a one-shot issuance's instructions).
//
// It keeps every promise of the libcurl client (http_curl.cpp):
// - https:// only; TLS verification always on (chain and host name or IP address), the
//   system roots from the hashed directory (/etc/ssl/certs: only the root a chain needs
//   is read) plus an optional extra CA bundle;
// - connect timeout (TCP connect and TLS handshake, like CURLOPT_CONNECTTIMEOUT) and a
//   total timeout per request; a response size limit;
// - redirects are never followed (a 3xx is returned as a response);
// - HTTPS_PROXY / ALL_PROXY / NO_PROXY read as curl reads them (HTTP CONNECT proxies,
//   with Basic credentials from the proxy URL);
// - an error names the request and the step that failed: resolving, connecting, the
//   proxy, the TLS handshake, sending or reading.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "acme/http.hpp"
#include "http_openssl_detail.hpp"
#include "ossl.hpp"
#include "sigpipe_guard.hpp"

namespace acme {
namespace detail {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 &&
        std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Result<Url> parse_any(std::string_view url, bool proxy, bool allow_http = false) {
  Url out;
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    if (!proxy) return make_error(Errc::kInvalidInput, "URL without a scheme: " + std::string(url));
    out.scheme = "http";
  } else {
    out.scheme = lower(url.substr(0, sep));
    url.remove_prefix(sep + 3);
  }
  const bool plain_ok = proxy || (allow_http && out.scheme == "http");
  if (proxy ? out.scheme != "http" : out.scheme != "https" && !plain_ok) {
    return make_error(
        Errc::kInvalidInput,
        proxy ? "proxy scheme " + out.scheme + ":// is not supported (http:// only)"
              : "only https:// URLs are allowed (RFC 8555 §6.1), not " + out.scheme + "://");
  }
  const auto path = url.find_first_of("/?#");
  std::string_view authority = url.substr(0, path);
  std::string_view rest = path == std::string_view::npos ? "" : url.substr(path);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  out.target = rest.empty() || rest.front() != '/' ? "/" + std::string(rest) : std::string(rest);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    out.userinfo = percent_decode(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return make_error(Errc::kInvalidInput, "bad IPv6 literal in URL");
    }
    out.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty()) {
      if (authority.front() != ':') return make_error(Errc::kInvalidInput, "bad URL authority");
      port = authority.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return make_error(Errc::kInvalidInput, "URL without a host");
  out.host = lower(out.host);
  out.port = proxy ? 1080 : out.scheme == "http" ? 80 : 443;
  if (!port.empty()) {
    unsigned long p = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || (p = p * 10 + static_cast<unsigned long>(c - '0')) > 65535) {
        return make_error(Errc::kInvalidInput, "bad port in URL");
      }
    }
    if (p == 0) return make_error(Errc::kInvalidInput, "bad port in URL");
    out.port = static_cast<std::uint16_t>(p);
  }
  return out;
}

// An address in binary form for CIDR matching: family AF_INET/AF_INET6, 4 or 16 bytes.
bool to_addr(std::string_view text, int* family, unsigned char* bytes) {
  const std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), bytes) == 1) {
    *family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), bytes) == 1) {
    *family = AF_INET6;
    return true;
  }
  return false;
}

}  // namespace

Result<Url> parse_url(std::string_view url, bool allow_http) {
  return parse_any(url, false, allow_http);
}
Result<Url> parse_proxy_url(std::string_view url) { return parse_any(url, true); }

bool no_proxy_matches(std::string_view no_proxy, std::string_view host_in) {
  std::string host = lower(host_in);
  if (!host.empty() && host.back() == '.') host.pop_back();
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int host_family = 0;
  unsigned char host_addr[16] = {};
  const bool host_is_ip = to_addr(host, &host_family, host_addr);
  std::size_t pos = 0;
  while (pos <= no_proxy.size()) {
    std::size_t end = no_proxy.find_first_of(", ", pos);
    if (end == std::string_view::npos) end = no_proxy.size();
    std::string entry = lower(trim(no_proxy.substr(pos, end - pos)));
    pos = end + 1;
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (entry.front() == '[') {  // [v6] or [v6]/bits
      if (const auto close = entry.find(']'); close != std::string::npos) {
        entry = entry.substr(1, close - 1) + entry.substr(close + 1);
      }
    }
    if (host_is_ip) {
      std::string_view net = entry;
      int bits = -1;
      if (const auto slash = entry.find('/'); slash != std::string::npos) {
        net = std::string_view(entry).substr(0, slash);
        bits = std::atoi(entry.c_str() + slash + 1);
      }
      int family = 0;
      unsigned char addr[16] = {};
      if (!to_addr(net, &family, addr) || family != host_family) continue;
      const int max_bits = family == AF_INET ? 32 : 128;
      if (bits < 0 || bits > max_bits) bits = max_bits;
      bool match = true;
      for (int b = 0; b < bits && match; ++b) {
        const unsigned char mask = static_cast<unsigned char>(0x80 >> (b % 8));
        match = (addr[b / 8] & mask) == (host_addr[b / 8] & mask);
      }
      if (match) return true;
      continue;
    }
    if (entry.front() == '.') entry.erase(0, 1);
    if (!entry.empty() && entry.back() == '.') entry.pop_back();
    if (entry.empty()) continue;
    if (host == entry) return true;
    if (host.size() > entry.size() &&
        host.compare(host.size() - entry.size(), entry.size(), entry) == 0 &&
        host[host.size() - entry.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

std::optional<std::string> proxy_for(std::string_view host) {
  auto env = [](const char* name) -> std::string_view {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string_view(v) : std::string_view();
  };
  // curl reads the lower-case no_proxy first, then NO_PROXY.
  std::string_view no_proxy = env("no_proxy");
  if (no_proxy.empty()) no_proxy = env("NO_PROXY");
  if (!no_proxy.empty() && no_proxy_matches(no_proxy, host)) return std::nullopt;
  for (const char* name : {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
    if (std::string_view v = env(name); !v.empty()) return std::string(v);
  }
  return std::nullopt;
}

// ------------------------------------------------------------------ response parser

Result<void> ResponseParser::parse_head(std::string_view head) {
  // Status line, then header lines (CRLF or LF).
  auto next_line = [&head]() {
    const auto nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };
  const std::string_view status = next_line();
  if (status.size() < 12 || status.substr(0, 5) != "HTTP/" || status[8] != ' ' ||
      !std::isdigit(static_cast<unsigned char>(status[9])) ||
      !std::isdigit(static_cast<unsigned char>(status[10])) ||
      !std::isdigit(static_cast<unsigned char>(status[11]))) {
    return make_error(Errc::kProtocol, "malformed HTTP status line");
  }
  const int code = (status[9] - '0') * 100 + (status[10] - '0') * 10 + (status[11] - '0');
  const bool http10 = status.substr(0, 8) == "HTTP/1.0";
  HttpResponse r;
  r.status = code;
  std::optional<std::size_t> length;
  bool chunked = false;
  bool keep_alive = false;
  close_ = false;
  while (!head.empty()) {
    const std::string_view line = next_line();
    if (line.empty()) continue;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return make_error(Errc::kProtocol, "malformed HTTP header line");
    }
    std::string name = lower(trim(line.substr(0, colon)));
    const std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-length") {
      std::size_t n = 0;
      if (value.empty() || value.size() > 15)
        return make_error(Errc::kProtocol, "bad Content-Length");
      for (char c : value) {
        if (c < '0' || c > '9') return make_error(Errc::kProtocol, "bad Content-Length");
        n = n * 10 + static_cast<std::size_t>(c - '0');
      }
      if (length && *length != n) return make_error(Errc::kProtocol, "conflicting Content-Length");
      length = n;
    } else if (name == "transfer-encoding") {
      chunked = lower(value).find("chunked") != std::string::npos;
    } else if (name == "connection") {
      const std::string v = lower(value);
      if (v.find("close") != std::string::npos) close_ = true;
      if (v.find("keep-alive") != std::string::npos) keep_alive = true;
    }
    if (r.headers.size() < 200) r.headers.emplace_back(std::move(name), std::string(value));
  }
  if (http10 && !keep_alive) close_ = true;
  if (code >= 100 && code < 200) {
    // 100 Continue and friends: a final response follows.
    state_ = State::kHead;
    return ok();
  }
  response_ = std::move(r);
  if (head_ || code == 204 || code == 304) {
    state_ = State::kDone;
  } else if (chunked) {
    state_ = State::kChunkSize;
  } else if (length) {
    if (*length > max_body_) {
      too_large_ = true;
      return make_error(Errc::kProtocol, "response larger than the limit");
    }
    remaining_ = *length;
    state_ = remaining_ == 0 ? State::kDone : State::kBody;
  } else {
    close_ = true;
    state_ = State::kUntilClose;
  }
  return ok();
}

Result<void> ResponseParser::append_body(std::string_view data) {
  if (response_.body.size() + data.size() > max_body_) {
    too_large_ = true;
    return make_error(Errc::kProtocol, "response larger than the limit");
  }
  response_.body.append(data);
  return ok();
}

Result<void> ResponseParser::feed(std::string_view data, std::size_t* used) {
  constexpr std::size_t kMaxHead = 64 * 1024;
  const std::size_t total = data.size();
  if (!data.empty()) started_ = true;
  while (!data.empty() && state_ != State::kDone) {
    switch (state_) {
      case State::kHead: {
        const std::size_t old = buf_.size();
        buf_.append(
            data.substr(0, std::min(data.size(), kMaxHead + 4 - std::min(old, kMaxHead + 4))));
        std::size_t end = buf_.find("\r\n\r\n");
        std::size_t sep = 4;
        if (end == std::string::npos) {
          end = buf_.find("\n\n");
          sep = 2;
        }
        if (end == std::string::npos) {
          if (buf_.size() > kMaxHead) return make_error(Errc::kProtocol, "HTTP header too large");
          data.remove_prefix(buf_.size() - old);
          break;
        }
        const std::size_t consumed = end + sep - old;
        data.remove_prefix(consumed);
        const std::string head = buf_.substr(0, end);
        buf_.clear();
        ACME_CHECK(parse_head(head));
        break;
      }
      case State::kBody: {
        const std::size_t n = std::min(remaining_, data.size());
        ACME_CHECK(append_body(data.substr(0, n)));
        data.remove_prefix(n);
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kDone;
        break;
      }
      case State::kUntilClose:
        ACME_CHECK(append_body(data));
        data = {};
        break;
      case State::kChunkSize:
      case State::kTrailer: {
        const auto nl = data.find('\n');
        if (nl == std::string_view::npos) {
          buf_.append(data);
          if (buf_.size() > 4096) return make_error(Errc::kProtocol, "malformed chunked body");
          data = {};
          break;
        }
        buf_.append(data.substr(0, nl));
        data.remove_prefix(nl + 1);
        std::string_view line = trim(buf_);
        if (state_ == State::kTrailer) {
          if (line.empty()) state_ = State::kDone;
          buf_.clear();
          break;
        }
        line = line.substr(0, line.find(';'));
        std::size_t n = 0;
        if (line.empty() || line.size() > 15)
          return make_error(Errc::kProtocol, "malformed chunk size");
        for (char c : line) {
          const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                        : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                        : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                                    : -1;
          if (v < 0) return make_error(Errc::kProtocol, "malformed chunk size");
          n = n * 16 + static_cast<std::size_t>(v);
        }
        buf_.clear();
        if (n == 0) {
          state_ = State::kTrailer;
        } else {
          if (response_.body.size() + n > max_body_) {
            too_large_ = true;
            return make_error(Errc::kProtocol, "response larger than the limit");
          }
          remaining_ = n;
          state_ = State::kChunkData;
        }
        break;
      }
      case State::kChunkData: {
        const std::size_t n = std::min(remaining_, data.size());
        ACME_CHECK(append_body(data.substr(0, n)));
        data.remove_prefix(n);
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kChunkDataEnd;
        break;
      }
      case State::kChunkDataEnd: {
        // The CRLF after the chunk data.
        const auto nl = data.find('\n');
        if (nl == std::string_view::npos) {
          data = {};
          break;
        }
        data.remove_prefix(nl + 1);
        state_ = State::kChunkSize;
        break;
      }
      case State::kDone: break;
    }
  }
  if (used != nullptr) *used = total - data.size();
  return ok();
}

Result<void> ResponseParser::eof() {
  if (state_ == State::kUntilClose) {
    state_ = State::kDone;
    return ok();
  }
  if (state_ == State::kDone) return ok();
  return make_error(Errc::kNetwork, started_ ? "connection closed in the middle of the response"
                                             : "connection closed before any response");
}

}  // namespace detail

namespace {

using Clock = std::chrono::steady_clock;
using detail::Url;

// Debian's hashed certificate directory (c_rehash layout), kept by ca-certificates.
constexpr const char* kSystemCaDir = "/etc/ssl/certs";

struct SslCtxDeleter {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct SslDeleter {
  void operator()(SSL* s) const noexcept { SSL_free(s); }
};

std::string errno_text(int err) { return std::strerror(err); }

// Milliseconds left until the deadline (at least 0).
int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<long long>(0, left.count()));
}

// Waits until fd is readable or writable; false on timeout.
bool wait_fd(int fd, bool for_write, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    const int ms = ms_left(deadline);
    if (ms == 0) return false;
    const int rc = ::poll(&p, 1, ms);
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return true;  // let the next call report the error
  }
}

class Connection {
 public:
  ~Connection() { close(); }
  bool open() const noexcept { return fd_ >= 0; }
  void close() noexcept {
    if (ssl_) {
      ssl_.reset();
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const noexcept { return fd_; }
  SSL* ssl() const noexcept { return ssl_.get(); }
  void adopt(int fd) noexcept { fd_ = fd; }
  void set_ssl(SSL* s) noexcept { ssl_.reset(s); }
  std::string origin;  // host:port this connection talks to

 private:
  int fd_ = -1;
  std::unique_ptr<SSL, SslDeleter> ssl_;
};

class OpensslHttpClient final : public HttpClient {
 public:
  OpensslHttpClient(std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx, HttpOptions options)
      : ctx_(std::move(ctx)), options_(std::move(options)) {}

  Result<HttpResponse> send(const HttpRequest& req) override {
    const detail::SigpipeGuard no_sigpipe;
    const std::string what = req.method + " " + req.url;
    auto url = detail::parse_url(req.url, options_.allow_plain_http);
    if (!url) return make_error(url.error().code, what + ": " + url.error().message);
    const auto deadline = Clock::now() + options_.total_timeout;
    const std::string origin = url->scheme + "://" + url->host + ":" + std::to_string(url->port);
    // A kept-alive connection the server has closed meanwhile fails at once, before any
    // byte of a response: then one fresh connection is tried, as libcurl does.
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = conn_.open() && conn_.origin == origin;
      if (!reused) {
        conn_.close();
        if (auto r = connect(*url, deadline); !r) {
          conn_.close();
          return make_error(r.error().code, what + ": " + r.error().message);
        }
        conn_.origin = origin;
      }
      bool retry = false;
      auto r = exchange(req, *url, deadline, reused, &retry);
      if (r) return r;
      conn_.close();
      if (!retry) return make_error(r.error().code, what + ": " + r.error().message);
    }
    return make_error(Errc::kNetwork, what + ": the server closed the connection twice");
  }

 private:
  // TCP connection to host:port (every address getaddrinfo gives, in order).
  Result<int> tcp_connect(const std::string& host, std::uint16_t port, Clock::time_point deadline) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* res = nullptr;
    const std::string service = std::to_string(port);
    const int gai = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (gai != 0) {
      return make_error(Errc::kNetwork, "resolving " + host + ": " + ::gai_strerror(gai));
    }
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> list(res, ::freeaddrinfo);
    std::string last = "no address";
    bool timed_out = false;
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
      const int fd =
          ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
      if (fd < 0) {
        last = errno_text(errno);
        continue;
      }
      int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS) {
        if (!wait_fd(fd, true, deadline)) {
          ::close(fd);
          timed_out = true;
          last = "timed out";
          break;
        }
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err;
      }
      if (rc == 0) {
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        return fd;
      }
      last = errno_text(errno);
      ::close(fd);
    }
    return make_error(timed_out ? Errc::kTimeout : Errc::kNetwork,
                      "connecting to " + host + " port " + service + ": " + last);
  }

  // Plain-socket I/O with the proxy (before TLS).
  Result<void> raw_write(std::string_view data, Clock::time_point deadline) {
    while (!data.empty()) {
      const ssize_t n = ::send(conn_.fd(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (!wait_fd(conn_.fd(), true, deadline)) return make_error(Errc::kTimeout, "timed out");
      } else {
        return make_error(Errc::kNetwork, errno_text(errno));
      }
    }
    return ok();
  }

  Result<void> proxy_connect(const Url& target, const Url& proxy, Clock::time_point deadline) {
    const std::string authority =
        (target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host) + ":" +
        std::to_string(target.port);
    std::string req = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority +
                      "\r\nUser-Agent: " + options_.user_agent + "\r\n";
    if (!proxy.userinfo.empty()) {
      req += "Proxy-Authorization: Basic " + base64_encode(proxy.userinfo) + "\r\n";
    }
    req += "\r\n";
    const std::string step =
        "proxy " + proxy.host + ":" + std::to_string(proxy.port) + " CONNECT " + authority + ": ";
    if (auto r = raw_write(req, deadline); !r) {
      return make_error(r.error().code, step + r.error().message);
    }
    // Read the proxy's answer byte by byte up to the blank line: nothing of the TLS
    // stream that follows may be consumed here.
    detail::ResponseParser parser(true, 0);
    char c = 0;
    while (!parser.done()) {
      const ssize_t n = ::recv(conn_.fd(), &c, 1, 0);
      if (n == 1) {
        if (auto r = parser.feed(std::string_view(&c, 1), nullptr); !r) {
          return make_error(Errc::kNetwork, step + r.error().message);
        }
      } else if (n == 0) {
        return make_error(Errc::kNetwork, step + "the proxy closed the connection");
      } else if (errno == EAGAIN || errno == EINTR) {
        if (!wait_fd(conn_.fd(), false, deadline))
          return make_error(Errc::kTimeout, step + "timed out");
      } else {
        return make_error(Errc::kNetwork, step + errno_text(errno));
      }
    }
    const HttpResponse answer = parser.take();
    if (answer.status < 200 || answer.status > 299) {
      return make_error(Errc::kNetwork,
                        step + "the proxy answered " + std::to_string(answer.status));
    }
    return ok();
  }

  static std::string base64_encode(std::string_view in) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
      const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                         (static_cast<unsigned char>(in[i + 1]) << 8) |
                         static_cast<unsigned char>(in[i + 2]);
      out += kAlphabet[(v >> 18) & 63];
      out += kAlphabet[(v >> 12) & 63];
      out += kAlphabet[(v >> 6) & 63];
      out += kAlphabet[v & 63];
    }
    if (i < in.size()) {
      unsigned v = static_cast<unsigned char>(in[i]) << 16;
      if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
      out += kAlphabet[(v >> 18) & 63];
      out += kAlphabet[(v >> 12) & 63];
      out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
      out += '=';
    }
    return out;
  }

  // TCP (through the proxy when the environment names one), then TLS, within the connect
  // timeout (and the request's deadline).
  Result<void> connect(const Url& url, Clock::time_point request_deadline) {
    const auto deadline = std::min(request_deadline, Clock::now() + options_.connect_timeout);
    // Plain http:// (HttpOptions::allow_plain_http only) goes direct and without TLS: a
    // CONNECT tunnel is for TLS, and http_proxy's absolute-form requests are not spoken.
    const bool plain = url.scheme == "http";
    std::optional<Url> proxy;
    if (auto p = plain ? std::nullopt : detail::proxy_for(url.host)) {
      auto parsed = detail::parse_proxy_url(*p);
      if (!parsed)
        return make_error(Errc::kInvalidInput, "proxy " + *p + ": " + parsed.error().message);
      proxy = std::move(*parsed);
    }
    const Url& first_hop = proxy ? *proxy : url;
    auto fd = tcp_connect(first_hop.host, first_hop.port, deadline);
    if (!fd) {
      if (!proxy) return std::move(fd).error();
      return make_error(fd.error().code, "proxy " + first_hop.host + ":" +
                                             std::to_string(first_hop.port) + ": " +
                                             fd.error().message);
    }
    conn_.adopt(*fd);
    if (plain) return ok();
    if (proxy) ACME_CHECK(proxy_connect(url, *proxy, deadline));
    return tls_handshake(url, deadline);
  }

  Result<void> tls_handshake(const Url& url, Clock::time_point deadline) {
    const std::string step = "TLS handshake with " + url.host + ": ";
    SSL* ssl = SSL_new(ctx_.get());
    if (ssl == nullptr)
      return make_error(Errc::kTls, step + "SSL_new: " + detail::openssl_errors());
    conn_.set_ssl(ssl);
    SSL_set_fd(ssl, conn_.fd());
    unsigned char ip[16];
    const bool is_ip = inet_pton(AF_INET, url.host.c_str(), ip) == 1 ||
                       inet_pton(AF_INET6, url.host.c_str(), ip) == 1;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (is_ip) {
      if (X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str()) != 1) {
        return make_error(Errc::kTls, step + "bad IP address");
      }
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (SSL_set1_host(ssl, url.host.c_str()) != 1 ||
          SSL_set_tlsext_host_name(ssl, url.host.c_str()) != 1) {
        return make_error(Errc::kTls, step + "bad host name");
      }
    }
    ERR_clear_error();
    for (;;) {
      const int rc = SSL_connect(ssl);
      if (rc == 1) break;
      const int err = SSL_get_error(ssl, rc);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (!wait_fd(conn_.fd(), err == SSL_ERROR_WANT_WRITE, deadline)) {
          return make_error(Errc::kTimeout, step + "timed out");
        }
        continue;
      }
      const long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK) {
        return make_error(Errc::kTls, step + "certificate verification failed: " +
                                          X509_verify_cert_error_string(verify));
      }
      std::string detail = detail::openssl_errors();
      if (detail.empty()) {
        detail = err == SSL_ERROR_SYSCALL ? "the connection was closed or reset" : "failed";
      }
      return make_error(Errc::kTls, step + detail);
    }
    return ok();
  }

  // Writes the request and reads the response on the open connection. *retry: the
  // connection was a reused one and died before any byte of a response arrived.
  Result<HttpResponse> exchange(const HttpRequest& req, const Url& url, Clock::time_point deadline,
                                bool reused, bool* retry) {
    std::string out = req.method + " " + url.target + " HTTP/1.1\r\nHost: ";
    out += url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    if (url.port != (url.scheme == "http" ? 80 : 443)) out += ":" + std::to_string(url.port);
    out += "\r\nUser-Agent: " + options_.user_agent + "\r\nAccept: */*\r\n";
    for (const auto& [k, v] : req.headers) out += k + ": " + v + "\r\n";
    if (req.method == "POST") out += "Content-Length: " + std::to_string(req.body.size()) + "\r\n";
    out += "\r\n";
    if (req.method == "POST") out += req.body;

    std::string_view pending = out;
    while (!pending.empty()) {
      std::size_t n = 0;
      std::string error;
      const Io io = io_write(pending, &n, &error);
      if (io == Io::kDone) {
        pending.remove_prefix(n);
        continue;
      }
      if (io == Io::kWantRead || io == Io::kWantWrite) {
        if (!wait_fd(conn_.fd(), io == Io::kWantWrite, deadline)) {
          return make_error(Errc::kTimeout, "sending the request: timed out");
        }
        continue;
      }
      *retry = reused && pending.size() == out.size();
      return make_error(Errc::kNetwork, "sending the request: " + error);
    }

    detail::ResponseParser parser(req.method == "HEAD", options_.max_response_bytes);
    char buf[16384];
    while (!parser.done()) {
      std::size_t n = 0;
      std::string error;
      const Io io = io_read(buf, sizeof(buf), &n, &error);
      if (io == Io::kDone) {
        std::size_t used = 0;
        if (auto r = parser.feed(std::string_view(buf, n), &used); !r) {
          if (parser.too_large()) {
            return make_error(
                Errc::kProtocol,
                "response larger than " + std::to_string(options_.max_response_bytes) + " bytes");
          }
          return make_error(r.error().code, "reading the response: " + r.error().message);
        }
        continue;
      }
      if (io == Io::kWantRead || io == Io::kWantWrite) {
        if (!wait_fd(conn_.fd(), io == Io::kWantWrite, deadline)) {
          return make_error(Errc::kTimeout, "reading the response: timed out after " +
                                                std::to_string(options_.total_timeout.count()) +
                                                " ms");
        }
        continue;
      }
      if (io == Io::kClosed) {
        if (auto r = parser.eof(); !r) {
          *retry = reused && !parser.started();
          return make_error(r.error().code, "reading the response: " + r.error().message);
        }
        break;
      }
      *retry = reused && !parser.started();
      return make_error(Errc::kNetwork, "reading the response: " + error);
    }
    if (parser.close_after()) conn_.close();
    return parser.take();
  }

  // One write or read on the connection, through TLS or (plain http://) the socket.
  enum class Io { kDone, kWantRead, kWantWrite, kClosed, kError };

  Io io_write(std::string_view data, std::size_t* n, std::string* error) {
    if (SSL* ssl = conn_.ssl()) {
      ERR_clear_error();
      const int rc = SSL_write(ssl, data.data(), static_cast<int>(data.size()));
      if (rc > 0) {
        *n = static_cast<std::size_t>(rc);
        return Io::kDone;
      }
      return ssl_io(SSL_get_error(ssl, rc), error);
    }
    const ssize_t rc = ::send(conn_.fd(), data.data(), data.size(), MSG_NOSIGNAL);
    if (rc > 0) {
      *n = static_cast<std::size_t>(rc);
      return Io::kDone;
    }
    return socket_io(rc, Io::kWantWrite, error);
  }

  Io io_read(char* buf, std::size_t cap, std::size_t* n, std::string* error) {
    if (SSL* ssl = conn_.ssl()) {
      ERR_clear_error();
      const int rc = SSL_read(ssl, buf, static_cast<int>(cap));
      if (rc > 0) {
        *n = static_cast<std::size_t>(rc);
        return Io::kDone;
      }
      const int err = SSL_get_error(ssl, rc);
      // ZERO_RETURN (close_notify) or SYSCALL with EOF: the server closed.
      if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
        return Io::kClosed;
      }
      return ssl_io(err, error);
    }
    const ssize_t rc = ::recv(conn_.fd(), buf, cap, 0);
    if (rc > 0) {
      *n = static_cast<std::size_t>(rc);
      return Io::kDone;
    }
    return rc == 0 ? Io::kClosed : socket_io(rc, Io::kWantRead, error);
  }

  static Io ssl_io(int err, std::string* error) {
    if (err == SSL_ERROR_WANT_READ) return Io::kWantRead;
    if (err == SSL_ERROR_WANT_WRITE) return Io::kWantWrite;
    *error = io_error(err);
    return Io::kError;
  }

  // want: the direction to wait for when the socket would block.
  static Io socket_io(ssize_t rc, Io want, std::string* error) {
    if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return want;
    *error = rc == 0 ? std::string("connection closed") : errno_text(errno);
    return Io::kError;
  }

  static std::string io_error(int err) {
    std::string detail = detail::openssl_errors();
    if (!detail.empty()) return detail;
    if (err == SSL_ERROR_SYSCALL && errno != 0) return errno_text(errno);
    return "connection closed";
  }

  std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx_;
  HttpOptions options_;
  Connection conn_;
};

}  // namespace

#if !ACME_HAVE_CURL
void global_init() {}
#endif

Result<std::unique_ptr<HttpClient>> make_http_client(const HttpOptions& options) {
#if ACME_HAVE_CURL
  if (const char* t = std::getenv("ACMECTL_HTTP_TRANSPORT");
      t != nullptr && std::string_view(t) == "curl") {
    return make_curl_http_client(options);
  }
#endif
  return make_openssl_http_client(options);
}

Result<std::unique_ptr<HttpClient>> make_openssl_http_client(const HttpOptions& options) {
  std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return make_error(Errc::kInternal, "SSL_CTX_new: " + detail::openssl_errors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // System roots: the hashed directory is read lazily, one root per chain, where the
  // bundle file would be parsed whole (~140 certificates) on every start.
  std::string dir = options.system_ca_dir;
  if (dir.empty()) {
    struct stat st {};
    if (::stat(kSystemCaDir, &st) == 0 && S_ISDIR(st.st_mode)) dir = kSystemCaDir;
  }
  if (!dir.empty()) {
    if (SSL_CTX_load_verify_dir(ctx.get(), dir.c_str()) != 1) {
      return make_error(Errc::kTls, "system CA directory " + dir + ": " + detail::openssl_errors());
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
    return make_error(Errc::kTls, "system CA store: " + detail::openssl_errors());
  }
  if (!options.ca_bundle.empty()) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(options.ca_bundle.c_str(), "rb"),
                                            &std::fclose);
    if (!f)
      return make_error(Errc::kInvalidInput, "CA bundle " + options.ca_bundle + ": cannot open");
    if (X509_STORE_load_file(SSL_CTX_get_cert_store(ctx.get()), options.ca_bundle.c_str()) != 1) {
      ERR_clear_error();
      return make_error(Errc::kTls, "cannot load CA bundle " + options.ca_bundle);
    }
  }
  ERR_clear_error();
  return std::unique_ptr<HttpClient>(new OpensslHttpClient(std::move(ctx), options));
}

}  // namespace acme
