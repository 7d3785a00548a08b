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
#include "acme/host_port.hpp"
#include "acme/unique_fd.hpp"

namespace acme {
namespace {

constexpr std::string_view kPrefix = "/.well-known/acme-challenge/";

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
  UniqueFd listen_fd;
  UniqueFd wake_read, wake_write;
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
      UniqueFd conn(::accept4(listen_fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
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
    std::string resp =
        "HTTP/1.1 " + std::to_string(status) +
        (status == 200   ? " OK"
         : status == 404 ? " Not Found"
                         : " Method Not Allowed") +
        "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n\r\n";
    if (method != "HEAD") resp += body;
    write_all(fd, resp);
  }
};

Http01Responder::Http01Responder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Http01Responder>> Http01Responder::start(const std::string& listen) {
  ACME_ASSIGN(const HostPort hp, parse_listen_address(listen, "http-01 listen address"));
  ACME_ASSIGN(auto addr, to_socket_address(hp, "http-01 listen address"));
  auto impl = std::make_unique<Impl>();
  impl->listen_fd = UniqueFd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (impl->listen_fd.get() < 0) {
    return make_error(Errc::kIo, "http-01 responder: socket: " + std::string(std::strerror(errno)));
  }
  const int one = 1;
  ::setsockopt(impl->listen_fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(impl->listen_fd.get(), addr.get(), addr.length) != 0) {
    return make_error(
        Errc::kIo, "http-01 responder: cannot listen on " + listen + ": " + std::strerror(errno));
  }
  if (::listen(impl->listen_fd.get(), 64) != 0) {
    return make_error(Errc::kIo,
                      "http-01 responder: listen " + listen + ": " + std::strerror(errno));
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
  impl->wake_read = UniqueFd(pipefd[0]);
  impl->wake_write = UniqueFd(pipefd[1]);
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
