#include "acme/tls_probe.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "acme/process.hpp"
#include "acme/unique_fd.hpp"
#include "ossl.hpp"
#include "sigpipe_guard.hpp"

namespace acme {
namespace {

using Clock = std::chrono::steady_clock;
using detail::OsslDeleter;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OsslDeleter<&SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OsslDeleter<&SSL_free>>;
using BioPtr = std::unique_ptr<BIO, OsslDeleter<&BIO_free>>;
using AddrInfoPtr = std::unique_ptr<addrinfo, OsslDeleter<&freeaddrinfo>>;

int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 60'000));
}

// Waits until fd is ready for `events`; false at the deadline.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const int left = ms_left(deadline);
    if (left == 0) return false;
    pollfd pfd{fd, events, 0};
    const int r = ::poll(&pfd, 1, left);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

}  // namespace

Result<std::string> fetch_served_certificate(const std::string& host, int port,
                                             const std::string& sni,
                                             std::chrono::milliseconds timeout) {
  const std::string ep =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  const auto deadline = Clock::now() + timeout;
  auto timed_out = [&] {
    return make_error(Errc::kTimeout, ep + ": timed out after " + format_duration(timeout));
  };

  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* raw = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &raw); rc != 0) {
    return make_error(Errc::kNetwork, ep + ": resolve: " + ::gai_strerror(rc));
  }
  AddrInfoPtr ai(raw);

  UniqueFd fd;
  std::string last = "no address";
  for (const addrinfo* a = ai.get(); a != nullptr && !fd; a = a->ai_next) {
    UniqueFd s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s) {
      last = std::strerror(errno);
      continue;
    }
    if (::connect(s.get(), a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = std::strerror(errno);
        continue;
      }
      if (!wait_fd(s.get(), POLLOUT, deadline)) return timed_out();
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last = std::strerror(err);
        continue;
      }
    }
    fd = std::move(s);
  }
  if (!fd) return make_error(Errc::kNetwork, ep + ": connect: " + last);

  const detail::SigpipeGuard no_sigpipe;  // a peer that resets mid-handshake
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return detail::ossl_error("SSL_CTX_new");
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);  // compared, not trusted
  SslPtr ssl(SSL_new(ctx.get()));
  if (!ssl) return detail::ossl_error("SSL_new");
  if (!sni.empty() && SSL_set_tlsext_host_name(ssl.get(), sni.c_str()) != 1) {
    return detail::ossl_error("SSL_set_tlsext_host_name");
  }
  if (SSL_set_fd(ssl.get(), fd.get()) != 1) return detail::ossl_error("SSL_set_fd");
  for (;;) {
    ERR_clear_error();
    const int r = SSL_connect(ssl.get());
    if (r == 1) break;
    const int e = SSL_get_error(ssl.get(), r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      if (!wait_fd(fd.get(), e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
        return timed_out();
      }
      continue;
    }
    std::string why = detail::openssl_errors();
    if (why.empty()) why = e == SSL_ERROR_SYSCALL ? "connection closed" : "handshake failed";
    return make_error(Errc::kNetwork, ep + ": TLS handshake: " + why);
  }
  detail::X509Ptr leaf(SSL_get1_peer_certificate(ssl.get()));
  if (!leaf) return make_error(Errc::kNetwork, ep + ": TLS handshake: no certificate served");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), leaf.get()) != 1) {
    return detail::ossl_error("PEM_write_bio_X509");
  }
  std::string pem = detail::bio_to_string(bio.get());
  // A polite close; the answer does not matter.
  SSL_shutdown(ssl.get());
  return pem;
}

}  // namespace acme
