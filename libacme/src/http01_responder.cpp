// A tiny HTTP/1.1 server for /.well-known/acme-challenge/TOKEN (RFC 8555 §8.3).
// One background thread; each connection is answered and closed. Requests are read with a
// short deadline so a stalled client cannot hold the responder.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "acme/base64url.hpp"
#include "acme/challenge.hpp"

namespace acme {
namespace {

constexpr std::string_view kPrefix = "/.well-known/acme-challenge/";

class Fd {
 public:
  explicit Fd(int fd = -1) noexcept : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

struct ListenAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

Result<ListenAddr> parse_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return make_error(Errc::kInvalidInput, "listen address '" + listen + "' is not ADDR:PORT");
  }
  std::string host = listen.substr(0, colon);
  const std::string port_text = listen.substr(colon + 1);
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(port_text, &used);
    if (used != port_text.size()) port = -1;
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    return make_error(Errc::kInvalidInput, "listen address '" + listen + "': bad port");
  }
  ListenAddr out;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&out.ss);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) != 1) {
      return make_error(Errc::kInvalidInput, "listen address '" + listen + "': bad IPv6 address");
    }
    out.len = sizeof(sockaddr_in6);
    return out;
  }
  auto* a4 = reinterpret_cast<sockaddr_in*>(&out.ss);
  a4->sin_family = AF_INET;
  a4->sin_port = htons(static_cast<uint16_t>(port));
  if (host.empty()) {
    a4->sin_addr.s_addr = htonl(INADDR_ANY);
  } else if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) != 1) {
    return make_error(Errc::kInvalidInput,
                      "listen address '" + listen + "': '" + host + "' is not an IP address");
  }
  out.len = sizeof(sockaddr_in);
  return out;
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

struct Http01Responder::Impl {
  Fd listen_fd;
  Fd wake_read, wake_write;
  int port = 0;
  std::thread thread;
  std::mutex mu;
  std::map<std::string, std::string, std::less<>> tokens;
  std::atomic<std::size_t> served{0};

  void run() {
    while (true) {
      pollfd fds[2] = {{listen_fd.get(), POLLIN, 0}, {wake_read.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      if ((fds[0].revents & POLLIN) == 0) continue;
      Fd conn(::accept4(listen_fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (conn.get() < 0) continue;
      serve(conn.get());
    }
  }

  void serve(int fd) {
    std::string req;
    char buf[2048];
    // At most ~2 s and 8 KiB for the request head.
    for (int waited = 0; req.find("\r\n\r\n") == std::string::npos && req.size() < 8192;) {
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, 100);
      if (r == 0) {
        if ((waited += 100) >= 2000) return;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      const ssize_t n = r > 0 ? ::recv(fd, buf, sizeof buf, 0) : -1;
      if (n <= 0) return;
      req.append(buf, static_cast<size_t>(n));
    }
    const auto line_end = req.find("\r\n");
    const std::string_view line = std::string_view(req).substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 == line.npos ? line.npos : sp1 + 1);
    std::string_view method, target;
    if (sp1 != line.npos && sp2 != line.npos) {
      method = line.substr(0, sp1);
      target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    }
    std::string body;
    int status = 404;
    if (method != "GET" && method != "HEAD") {
      status = 405;
    } else if (target.rfind(kPrefix, 0) == 0) {
      const std::string_view token = target.substr(kPrefix.size());
      std::lock_guard lock(mu);
      auto it = tokens.find(token);
      if (it != tokens.end()) {
        status = 200;
        body = it->second;
      }
    }
    served.fetch_add(1);
    std::string resp = "HTTP/1.1 " + std::to_string(status) +
                       (status == 200 ? " OK" : status == 404 ? " Not Found" : " Method Not Allowed") +
                       "\r\nContent-Type: text/plain\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    if (method != "HEAD") resp += body;
    write_all(fd, resp);
  }
};

Http01Responder::Http01Responder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Http01Responder>> Http01Responder::start(const std::string& listen) {
  ACME_ASSIGN(auto addr, parse_listen(listen));
  auto impl = std::make_unique<Impl>();
  impl->listen_fd = Fd(::socket(addr.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (impl->listen_fd.get() < 0) {
    return make_error(Errc::kIo, "http-01 responder: socket: " + std::string(std::strerror(errno)));
  }
  const int one = 1;
  ::setsockopt(impl->listen_fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(impl->listen_fd.get(), reinterpret_cast<sockaddr*>(&addr.ss), addr.len) != 0) {
    return make_error(Errc::kIo, "http-01 responder: cannot listen on " + listen + ": " +
                                     std::strerror(errno));
  }
  if (::listen(impl->listen_fd.get(), 64) != 0) {
    return make_error(Errc::kIo, "http-01 responder: listen " + listen + ": " +
                                     std::strerror(errno));
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(impl->listen_fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
  impl->port = bound.ss_family == AF_INET6
                   ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                   : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    return make_error(Errc::kIo, "http-01 responder: pipe: " + std::string(std::strerror(errno)));
  }
  impl->wake_read = Fd(pipefd[0]);
  impl->wake_write = Fd(pipefd[1]);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<Http01Responder>(new Http01Responder(std::move(impl)));
}

Http01Responder::~Http01Responder() {
  if (!impl_) return;
  const char c = 'x';
  (void)!::write(impl_->wake_write.get(), &c, 1);
  if (impl_->thread.joinable()) impl_->thread.join();
}

void Http01Responder::add(const std::string& token, const std::string& key_authorization) {
  std::lock_guard lock(impl_->mu);
  impl_->tokens[token] = key_authorization;
}

void Http01Responder::remove(const std::string& token) {
  std::lock_guard lock(impl_->mu);
  impl_->tokens.erase(token);
}

int Http01Responder::port() const noexcept { return impl_->port; }

std::size_t Http01Responder::requests_served() const noexcept { return impl_->served.load(); }

}  // namespace acme
