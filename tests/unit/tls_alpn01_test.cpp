// The tls-alpn-01 responder (RFC 8737) against a real OpenSSL client on loopback: the
// validation certificate (SAN, critical acmeIdentifier), ALPN and SNI refusals, IP
// identifiers by reverse name (RFC 8738 §6), and the limits shared with the HTTP-01
// responder (deadline, connection cap, prompt stop).
#include "acme/tls_alpn01.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "acme/key.hpp"
#include "acme/unique_fd.hpp"

namespace {

using acme::UniqueFd;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kKeyAuth = "tok_0123456789-abc.thumbprint-xyz";

struct SslCtxFree {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const { SSL_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};

UniqueFd connect_to(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

struct Handshake {
  bool ok = false;
  std::string alpn;
  std::unique_ptr<X509, X509Free> cert;
};

// A blocking client handshake. alpn: wire-format protocol list ("" sends none).
Handshake handshake(int port, const std::string& sni, const std::string& alpn,
                    int max_version = 0) {
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  REQUIRE(ctx);
  if (max_version != 0) SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  UniqueFd fd = connect_to(port);
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  REQUIRE(ssl);
  SSL_set_fd(ssl.get(), fd.get());
  if (!sni.empty()) SSL_set_tlsext_host_name(ssl.get(), sni.c_str());
  if (!alpn.empty()) {
    SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>(alpn.data()),
                        static_cast<unsigned>(alpn.size()));
  }
  Handshake out;
  out.ok = SSL_connect(ssl.get()) == 1;
  ERR_clear_error();
  if (out.ok) {
    const unsigned char* p = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(ssl.get(), &p, &len);
    out.alpn.assign(reinterpret_cast<const char*>(p), len);
    out.cert.reset(SSL_get1_peer_certificate(ssl.get()));
  }
  return out;
}

const std::string kAcmeAlpn = std::string("\x0a") + "acme-tls/1";

// The client's SSL_connect can return before the responder's thread has read the
// client Finished and counted the handshake: wait (up to 5 s) for the count.
std::size_t completed_after_wait(const acme::TlsAlpn01Responder& r, std::size_t want) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (r.handshakes_completed() < want && std::chrono::steady_clock::now() < until) {
    poll(nullptr, 0, 10);
  }
  return r.handshakes_completed();
}

std::vector<std::string> sans(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (g->type == GEN_DNS) {
      out.push_back("DNS:" +
                    std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)),
                                ASN1_STRING_length(g->d.dNSName)));
    } else if (g->type == GEN_IPADD) {
      char text[INET6_ADDRSTRLEN] = {};
      const int len = ASN1_STRING_length(g->d.iPAddress);
      inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(g->d.iPAddress), text,
                sizeof text);
      out.push_back(std::string("IP:") + text);
    } else {
      out.push_back("other");
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

// The acmeIdentifier extension: whether it is critical, and its extnValue bytes.
std::pair<bool, std::string> acme_identifier(X509* cert) {
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  const int at = X509_get_ext_by_OBJ(cert, oid, -1);
  ASN1_OBJECT_free(oid);
  if (at < 0) return {false, {}};
  X509_EXTENSION* ext = X509_get_ext(cert, at);
  const ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(ext);
  return {X509_EXTENSION_get_critical(ext) == 1,
          std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)),
                      static_cast<std::size_t>(ASN1_STRING_length(v)))};
}

std::string expected_extension_value(const std::string& key_authorization) {
  return std::string("\x04\x20", 2) + acme::sha256(key_authorization);
}

std::unique_ptr<acme::TlsAlpn01Responder> start(const acme::TlsAlpn01ResponderOptions& o = {}) {
  auto r = acme::TlsAlpn01Responder::start("127.0.0.1:0", o);
  REQUIRE(r);
  return std::move(*r);
}

}  // namespace

TEST_CASE("tls-alpn-01 server names: DNS as is, IPs by reverse name (RFC 8738 §6)") {
  CHECK(acme::tls_alpn01_server_name({"dns", "A.Example.COM."}) == "a.example.com");
  CHECK(acme::tls_alpn01_server_name({"ip", "127.0.0.1"}) == "1.0.0.127.in-addr.arpa");
  CHECK(acme::tls_alpn01_server_name({"ip", "192.0.2.10"}) == "10.2.0.192.in-addr.arpa");
  // RFC 3596 §2.5's example address.
  CHECK(acme::tls_alpn01_server_name({"ip", "4321:0:1:2:3:4:567:89ab"}) ==
        "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa");
  CHECK(acme::tls_alpn01_server_name({"ip", "::1"}) ==
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa");
  CHECK(acme::tls_alpn01_server_name({"ip", "999.1.1.1"}).empty());
  CHECK(acme::tls_alpn01_server_name({"dns", "*.example.com"}).empty());
  CHECK(acme::tls_alpn01_server_name({"dns", "a b"}).empty());
  CHECK(acme::tls_alpn01_server_name({"email", "a@b.c"}).empty());
}

TEST_CASE("tls-alpn-01 certificate: one SAN, critical acmeIdentifier = SHA-256(keyAuthz)") {
  auto c = acme::make_tls_alpn01_certificate({"dns", "a.example.com"}, kKeyAuth);
  REQUIRE(c);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(c->cert_pem.data(), static_cast<int>(c->cert_pem.size())), &BIO_free);
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  REQUIRE(cert);
  CHECK(sans(cert.get()) == std::vector<std::string>{"DNS:a.example.com"});
  auto [critical, value] = acme_identifier(cert.get());
  CHECK(critical);
  CHECK(value == expected_extension_value(kKeyAuth));
  CHECK(value.size() == 34);
  // Self-signed by the key returned with it.
  auto key = acme::PrivateKey::from_pem(c->key_pem);
  REQUIRE(key);
  CHECK(X509_verify(cert.get(), static_cast<EVP_PKEY*>(key->native_handle())) == 1);
  ERR_clear_error();

  CHECK_FALSE(acme::make_tls_alpn01_certificate({"dns", "*.example.com"}, kKeyAuth));
  CHECK_FALSE(acme::make_tls_alpn01_certificate({"ip", "999.1.1.1"}, kKeyAuth));
}

TEST_CASE("tls-alpn-01 responder: answers acme-tls/1 for the SNI name, refuses the rest") {
  auto r = start();
  REQUIRE(r->add({"dns", "a.example.com"}, "tok1", kKeyAuth));

  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    CAPTURE(version);
    auto h = handshake(r->port(), "a.example.com", kAcmeAlpn, version);
    REQUIRE(h.ok);
    CHECK(h.alpn == "acme-tls/1");
    REQUIRE(h.cert);
    CHECK(sans(h.cert.get()) == std::vector<std::string>{"DNS:a.example.com"});
    CHECK(acme_identifier(h.cert.get()) ==
          std::make_pair(true, expected_extension_value(kKeyAuth)));
  }
  CHECK(completed_after_wait(*r, 2) == 2);

  // Another protocol, no ALPN, no SNI, an unknown SNI: refused, nothing served.
  CHECK_FALSE(handshake(r->port(), "a.example.com", "\x02h2\x08http/1.1").ok);
  CHECK_FALSE(handshake(r->port(), "a.example.com", "").ok);
  CHECK_FALSE(handshake(r->port(), "", kAcmeAlpn).ok);
  CHECK_FALSE(handshake(r->port(), "b.example.com", kAcmeAlpn).ok);
  // TLS 1.1 is below RFC 8737's floor.
  CHECK_FALSE(handshake(r->port(), "a.example.com", kAcmeAlpn, TLS1_1_VERSION).ok);
  CHECK(r->handshakes_completed() == 2);

  // acme-tls/1 among others is selected.
  auto mixed = handshake(r->port(), "a.example.com", "\x02h2" + kAcmeAlpn);
  REQUIRE(mixed.ok);
  CHECK(mixed.alpn == "acme-tls/1");

  r->remove({"dns", "a.example.com"}, "tok1");
  CHECK_FALSE(handshake(r->port(), "a.example.com", kAcmeAlpn).ok);
}

TEST_CASE("tls-alpn-01 responder: IP identifiers by reverse name, two tokens for one name") {
  auto r = start();
  REQUIRE(r->add({"ip", "127.0.0.1"}, "tok1", kKeyAuth));
  REQUIRE(r->add({"ip", "::1"}, "tok2", kKeyAuth));
  auto v4 = handshake(r->port(), "1.0.0.127.in-addr.arpa", kAcmeAlpn);
  REQUIRE(v4.ok);
  CHECK(sans(v4.cert.get()) == std::vector<std::string>{"IP:127.0.0.1"});
  auto v6 = handshake(r->port(), acme::tls_alpn01_server_name({"ip", "::1"}), kAcmeAlpn);
  REQUIRE(v6.ok);
  CHECK(sans(v6.cert.get()) == std::vector<std::string>{"IP:::1"});

  // Two orders for one name at once: the latest is served until it is removed.
  REQUIRE(r->add({"dns", "a.example.com"}, "first", "first.keyauth"));
  REQUIRE(r->add({"dns", "a.example.com"}, "second", "second.keyauth"));
  auto h = handshake(r->port(), "a.example.com", kAcmeAlpn);
  REQUIRE(h.ok);
  CHECK(acme_identifier(h.cert.get()).second == expected_extension_value("second.keyauth"));
  r->remove({"dns", "a.example.com"}, "second");
  h = handshake(r->port(), "a.example.com", kAcmeAlpn);
  REQUIRE(h.ok);
  CHECK(acme_identifier(h.cert.get()).second == expected_extension_value("first.keyauth"));
}

TEST_CASE("tls-alpn-01 responder: a silent client is cut at the handshake deadline") {
  acme::TlsAlpn01ResponderOptions o;
  o.handshake_deadline = milliseconds(500);
  auto r = start(o);
  UniqueFd fd = connect_to(r->port());
  const auto t0 = Clock::now();
  pollfd p{fd.get(), POLLIN, 0};
  REQUIRE(::poll(&p, 1, 3000) == 1);
  char buf[16];
  CHECK(::recv(fd.get(), buf, sizeof buf, 0) <= 0);
  const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
  CHECK(took >= milliseconds(400));
  CHECK(took < milliseconds(1500));
  CHECK(r->connections_dropped() == 1);
}

TEST_CASE("tls-alpn-01 responder: a full connection table does not lock the validator out") {
  acme::TlsAlpn01ResponderOptions o;
  o.max_connections = 50;
  auto r = start(o);
  REQUIRE(r->add({"dns", "a.example.com"}, "tok", kKeyAuth));
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 120; ++i) idle.push_back(connect_to(r->port()));
  const auto t0 = Clock::now();
  auto h = handshake(r->port(), "a.example.com", kAcmeAlpn);
  CHECK(h.ok);
  CHECK(std::chrono::duration_cast<milliseconds>(Clock::now() - t0) < milliseconds(2000));
  CHECK(r->connections_open() <= 50);
  CHECK(r->connections_dropped() >= 70);

  // Stops promptly with connections open.
  const auto s0 = Clock::now();
  r.reset();
  CHECK(std::chrono::duration_cast<milliseconds>(Clock::now() - s0) < milliseconds(1000));
}

TEST_CASE("tls-alpn-01 responder: a busy port is an error at start") {
  auto r = start();
  auto again = acme::TlsAlpn01Responder::start("127.0.0.1:" + std::to_string(r->port()));
  REQUIRE_FALSE(again);
  CHECK(again.error().message.find("cannot listen on 127.0.0.1:") != std::string::npos);
  CHECK_FALSE(acme::TlsAlpn01Responder::start("localhost:0"));
}
