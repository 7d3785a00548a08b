// The tls-alpn-01 listener (RFC 8737): non-blocking OpenSSL handshakes on one poll() loop.
//
// The ClientHello callback decides everything before OpenSSL answers: it refuses a hello
// without ALPN "acme-tls/1" (no_application_protocol) or naming no identifier we serve
// (unrecognized_name), and otherwise sets that identifier's validation certificate on the
// connection. Limits as in the HTTP-01 responder: a total deadline per connection, a cap
// on open connections that evicts the oldest, accept() paused briefly when out of
// descriptors.
#include <fcntl.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "acme/host_port.hpp"
#include "acme/key.hpp"
#include "acme/poll_server.hpp"
#include "acme/tls_alpn01.hpp"
#include "acme/unique_fd.hpp"
#include "ossl.hpp"
#include "tls_alpn01_detail.hpp"

namespace acme {
namespace {

using SteadyClock = std::chrono::steady_clock;
using SslCtxPtr = std::unique_ptr<SSL_CTX, detail::OsslDeleter<&SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, detail::OsslDeleter<&SSL_free>>;

// RFC 8737 §6.2: the ALPN protocol ID, as it appears in the wire list (length-prefixed).
constexpr unsigned char kAcmeTls1[] = {10, 'a', 'c', 'm', 'e', '-', 't', 'l', 's', '/', '1'};

struct Connection {
  UniqueFd fd;
  SslPtr ssl;
  SteadyClock::time_point deadline;
  bool want_write = false;
};

struct Served {
  std::string token;
  detail::X509Ptr cert;
};

// Reads a 2-byte big-endian length.
std::size_t u16(const unsigned char* p) { return (std::size_t{p[0]} << 8) | p[1]; }

// RFC 6066 §3: the host_name of a server_name extension, lower-cased without a final dot.
std::string sni_host_name(const unsigned char* p, std::size_t len) {
  if (len < 2 || u16(p) != len - 2) return {};
  p += 2;
  len -= 2;
  while (len >= 3) {
    const unsigned type = p[0];
    const std::size_t n = u16(p + 1);
    if (n > len - 3) return {};
    if (type == 0) {  // host_name
      std::string name(reinterpret_cast<const char*>(p + 3), n);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (name.size() > 1 && name.back() == '.') name.pop_back();
      return name;
    }
    p += 3 + n;
    len -= 3 + n;
  }
  return {};
}

// RFC 7301 §3.1: whether the ProtocolNameList offers acme-tls/1.
bool offers_acme_tls1(const unsigned char* p, std::size_t len) {
  if (len < 2 || u16(p) != len - 2) return false;
  p += 2;
  len -= 2;
  while (len >= 1) {
    const std::size_t n = p[0];
    if (n == 0 || n + 1 > len) return false;
    if (n + 1 == sizeof kAcmeTls1 && std::memcmp(p, kAcmeTls1, sizeof kAcmeTls1) == 0) return true;
    p += n + 1;
    len -= n + 1;
  }
  return false;
}

}  // namespace

struct TlsAlpn01Responder::Impl : detail::PollServer<TlsAlpn01Responder::Impl, Connection> {
  TlsAlpn01ResponderOptions options;
  PrivateKey key;  // one key for every validation certificate of this listener
  SslCtxPtr ctx;
  std::mutex mu;
  // SNI name -> certificates, the latest added last.
  std::map<std::string, std::vector<Served>, std::less<>> served;
  std::atomic<std::size_t> completed{0};

  explicit Impl(PrivateKey k) : key(std::move(k)) {}
  ~Impl() { stop(); }

  static int client_hello(SSL* ssl, int* alert, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    const unsigned char* ext = nullptr;
    std::size_t len = 0;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &ext,
                                  &len) != 1 ||
        !offers_acme_tls1(ext, len)) {
      *alert = SSL_AD_NO_APPLICATION_PROTOCOL;
      return SSL_CLIENT_HELLO_ERROR;
    }
    std::string name;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &len) == 1) {
      name = sni_host_name(ext, len);
    }
    X509* cert = nullptr;
    {
      std::lock_guard lock(self->mu);
      if (auto it = self->served.find(name); it != self->served.end() && !it->second.empty()) {
        cert = it->second.back().cert.get();
        X509_up_ref(cert);
      }
    }
    if (cert == nullptr) {
      *alert = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_CLIENT_HELLO_ERROR;
    }
    detail::X509Ptr owned(cert);
    auto* pkey = static_cast<EVP_PKEY*>(self->key.native_handle());
    if (SSL_use_cert_and_key(ssl, owned.get(), pkey, nullptr, 1) != 1) {
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_CLIENT_HELLO_ERROR;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
  }

  // The hello was checked to offer acme-tls/1: select it (never anything else).
  static int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen,
                         const unsigned char* in, unsigned int inlen, void*) {
    for (unsigned int i = 0; i < inlen;) {
      const unsigned n = in[i];
      if (i + 1 + n > inlen) break;
      if (n + 1 == sizeof kAcmeTls1 && std::memcmp(in + i, kAcmeTls1, sizeof kAcmeTls1) == 0) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(n);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + n;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }

  // OpenSSL writes to the socket with write(): a peer gone away must give EPIPE here, not
  // a SIGPIPE that kills the process. Blocked for the loop's thread only.
  static void before_loop() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  }

  std::optional<Connection> adopt(UniqueFd fd) {
    Connection c;
    c.ssl.reset(SSL_new(ctx.get()));
    if (!c.ssl || SSL_set_fd(c.ssl.get(), fd.get()) != 1) {
      ERR_clear_error();
      return std::nullopt;
    }
    SSL_set_accept_state(c.ssl.get());
    c.fd = std::move(fd);
    c.deadline = SteadyClock::now() + options.handshake_deadline;
    return c;
  }

  // Every connection is still in its handshake: the one with the earliest deadline has
  // had the longest to finish, and a real validator finishes in milliseconds.
  bool make_room() {
    if (conns_.empty()) return true;
    std::size_t victim = 0;
    for (std::size_t i = 1; i < conns_.size(); ++i) {
      if (conns_[i].deadline < conns_[victim].deadline) victim = i;
    }
    dropped.fetch_add(1);
    close_at(victim);
    return true;
  }

  static short events(const Connection& c) {
    return static_cast<short>(c.want_write ? POLLOUT : POLLIN);
  }

  // Advances the handshake. False when the connection is finished.
  bool step(Connection& c, short /*revents*/) {
    const int r = SSL_do_handshake(c.ssl.get());
    if (r == 1) {
      completed.fetch_add(1);
      // RFC 8737 §3: the validator closes once the handshake is done; say goodbye once,
      // without waiting for its close_notify.
      (void)SSL_shutdown(c.ssl.get());
      ERR_clear_error();
      return false;
    }
    switch (SSL_get_error(c.ssl.get(), r)) {
      case SSL_ERROR_WANT_READ: c.want_write = false; return true;
      case SSL_ERROR_WANT_WRITE: c.want_write = true; return true;
      default:
        ERR_clear_error();
        dropped.fetch_add(1);
        return false;
    }
  }
};

TlsAlpn01Responder::TlsAlpn01Responder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<TlsAlpn01Responder>> TlsAlpn01Responder::start(
    const std::string& listen, const TlsAlpn01ResponderOptions& options) {
  ACME_ASSIGN(const HostPort hp, parse_listen_address(listen, "tls-alpn-01 listen address"));
  ACME_ASSIGN(const SocketAddress addr, to_socket_address(hp, "tls-alpn-01 listen address"));
  ACME_ASSIGN(PrivateKey key, PrivateKey::generate(KeyType::kEc256));
  auto impl = std::make_unique<Impl>(std::move(key));
  impl->options = options;

  impl->ctx.reset(SSL_CTX_new(TLS_server_method()));
  if (!impl->ctx) return detail::ossl_error("SSL_CTX_new");
  SSL_CTX* ctx = impl->ctx.get();
  // RFC 8737 §4: TLS 1.2 or higher. No sessions to resume: each handshake is one answer.
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return detail::ossl_error("SSL_CTX_set_min_proto_version");
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_client_hello_cb(ctx, &Impl::client_hello, impl.get());
  SSL_CTX_set_alpn_select_cb(ctx, &Impl::select_alpn, nullptr);

  ACME_CHECK(impl->bind_listener(listen, addr, options.max_connections, "tls-alpn-01 responder"));
  impl->start();
  return std::unique_ptr<TlsAlpn01Responder>(new TlsAlpn01Responder(std::move(impl)));
}

TlsAlpn01Responder::~TlsAlpn01Responder() = default;  // Impl's destructor stops the loop

Result<void> TlsAlpn01Responder::add(const Identifier& id, const std::string& token,
                                     const std::string& key_authorization) {
  const std::string name = tls_alpn01_server_name(id);
  if (name.empty()) {
    return make_error(Errc::kProtocol,
                      "tls-alpn-01: unusable identifier " + id.type + " \"" + id.value + "\"");
  }
  ACME_ASSIGN(detail::X509Ptr cert,
              detail::make_validation_certificate(
                  static_cast<EVP_PKEY*>(impl_->key.native_handle()), id, key_authorization));
  std::lock_guard lock(impl_->mu);
  auto& list = impl_->served[name];
  std::erase_if(list, [&token](const Served& s) { return s.token == token; });
  list.push_back(Served{token, std::move(cert)});
  return ok();
}

void TlsAlpn01Responder::remove(const Identifier& id, const std::string& token) {
  const std::string name = tls_alpn01_server_name(id);
  std::lock_guard lock(impl_->mu);
  auto it = impl_->served.find(name);
  if (it == impl_->served.end()) return;
  std::erase_if(it->second, [&token](const Served& s) { return s.token == token; });
  if (it->second.empty()) impl_->served.erase(it);
}

int TlsAlpn01Responder::port() const noexcept { return impl_->port(); }

std::size_t TlsAlpn01Responder::handshakes_completed() const noexcept {
  return impl_->completed.load();
}

std::size_t TlsAlpn01Responder::connections_dropped() const noexcept {
  return impl_->dropped.load();
}

std::size_t TlsAlpn01Responder::connections_open() const noexcept { return impl_->open.load(); }

Result<void> TlsAlpn01Solver::present(const ChallengeContext& ctx) {
  if (ctx.identifier.type == "dns" && ctx.identifier.value.rfind("*.", 0) == 0) {
    // RFC 8737 §3: never offered for a wildcard; a CA that does is broken.
    return make_error(Errc::kProtocol, "tls-alpn-01 cannot validate the wildcard " +
                                           ctx.identifier.value + " (RFC 8737 §3)");
  }
  return responder_.add(ctx.identifier, ctx.token, ctx.key_authorization);
}

void TlsAlpn01Solver::cleanup(const ChallengeContext& ctx) noexcept {
  try {
    responder_.remove(ctx.identifier, ctx.token);
  } catch (...) {  // bad_alloc while building the name: nothing to remove then
  }
}

}  // namespace acme
