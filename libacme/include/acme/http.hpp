#pragma once
// HTTP seam. The production client speaks HTTP/1.1 over OpenSSL (one kept-alive
// connection, TLS verification always on); libcurl's is kept behind the same interface
// while both exist. Tests plug in an in-process fake ACME server.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "acme/result.hpp"

namespace acme {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "HEAD", "POST"
  std::string url;
  Headers headers;  // e.g. {"Content-Type", "application/jose+json"}
  std::string body;
};

struct HttpResponse {
  int status = 0;
  Headers headers;  // names lower-cased, in arrival order
  std::string body;

  // First header with this (lower-case) name.
  std::optional<std::string> header(std::string_view name) const;
  std::vector<std::string> headers_named(std::string_view name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // MUST return an Error (not a response) only when no HTTP response was received.
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

struct HttpOptions {
  std::string ca_bundle;  // extra trusted roots (PEM file), added to the system store
  // System roots as an OpenSSL hashed directory; empty: /etc/ssl/certs when it exists,
  // else OpenSSL's (or libcurl's) built-in default.
  std::string system_ca_dir;
  std::string user_agent = "acmectl/0.1 libacme";
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{60'000};
  std::size_t max_response_bytes = 4 * 1024 * 1024;
  // http:// URLs too (not for ACME, RFC 8555 §6.1: the agent's webhooks). Plain requests go
  // straight to the host, never through a proxy. The OpenSSL client only.
  bool allow_plain_http = false;
};

// The production client: make_openssl_http_client, or the libcurl one when libacme was
// built with it (ACME_HAVE_CURL, CMake option ACMECTL_WITH_CURL) and the environment says
// ACMECTL_HTTP_TRANSPORT=curl. Not thread-safe: one per thread.
Result<std::unique_ptr<HttpClient>> make_http_client(const HttpOptions& options);

// HTTP/1.1 over OpenSSL and POSIX sockets (http_openssl.cpp): one kept-alive TLS
// connection, TLS verification always on, HTTPS_PROXY/ALL_PROXY/NO_PROXY as curl reads
// them, no other shared library than OpenSSL's.
Result<std::unique_ptr<HttpClient>> make_openssl_http_client(const HttpOptions& options);

#if ACME_HAVE_CURL
// libcurl-backed client. One easy handle: every request reuses the TLS connection.
Result<std::unique_ptr<HttpClient>> make_curl_http_client(const HttpOptions& options);
#endif

// Call once from main before threads start (curl_global_init when built with libcurl).
void global_init();

// RFC 9110 §10.2.3 Retry-After: delay-seconds or an HTTP-date, relative to now.
// Dates in the past give 0; anything unparseable gives nullopt.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

// RFC 8288 Link header values with the given rel, e.g. rel="up" or rel="alternate".
// Accepts several headers and comma-separated links in one header.
std::vector<std::string> parse_links(const std::vector<std::string>& link_headers,
                                     std::string_view rel);

}  // namespace acme
