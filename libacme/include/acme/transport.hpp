#pragma once
// Signed requests to an ACME server: nonce pool, JWS, bounded badNonce retry, problem
// documents. All retry policy for a single request lives here (badNonce only); every
// other retry belongs to the caller's scheduler. Never sleeps on rateLimited.

#include <deque>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "acme/clock.hpp"
#include "acme/http.hpp"
#include "acme/key.hpp"
#include "acme/result.hpp"
#include "acme/types.hpp"

namespace acme {

// Replay-Nonce values collected from every response (RFC 8555 §7.2). Only when empty does
// the transport HEAD newNonce.
class NoncePool {
 public:
  explicit NoncePool(std::size_t capacity = 16) : capacity_(capacity) {}
  // Takes the Replay-Nonce header of a response, if it is a valid base64url token.
  void collect(const HttpResponse& response);
  std::optional<std::string> take();
  std::size_t size() const noexcept { return nonces_.size(); }
  void clear() noexcept { nonces_.clear(); }

 private:
  std::size_t capacity_;
  std::deque<std::string> nonces_;
};

// Observer for metrics: called once per HTTP exchange.
struct RequestEvent {
  std::string endpoint;  // "newOrder", "authz", ... or "other"
  int status = 0;        // 0 when no response
  std::chrono::milliseconds duration{0};
};

class Transport {
 public:
  Transport(HttpClient& http, Clock& clock);

  // GET the directory (RFC 8555 §7.1.1).
  Result<Directory> fetch_directory(const std::string& url);
  void set_directory(Directory d) { directory_ = std::move(d); }
  const Directory& directory() const noexcept { return directory_; }

  // Signed POST. payload: JSON text, or "" for POST-as-GET. kid empty: "jwk" header.
  // Returns the response when the status is 2xx; an Error (with the problem document and
  // Retry-After) otherwise. badNonce is retried at once, up to max_bad_nonce_retries.
  Result<HttpResponse> post(const std::string& url, const std::string& payload,
                            const PrivateKey& key, const std::string& kid);

  // Unsigned GET (directory, renewalInfo).
  Result<HttpResponse> get(const std::string& url);

  void set_max_bad_nonce_retries(int n) noexcept { max_bad_nonce_retries_ = n; }
  int bad_nonce_retries() const noexcept { return bad_nonce_retries_; }
  int requests() const noexcept { return requests_; }
  NoncePool& nonces() noexcept { return nonces_; }
  void set_observer(std::function<void(const RequestEvent&)> f) { observer_ = std::move(f); }

 private:
  Result<std::string> next_nonce();
  Result<HttpResponse> exchange(const HttpRequest& req);
  std::string endpoint_name(const std::string& url) const;

  HttpClient& http_;
  Clock& clock_;
  Directory directory_;
  NoncePool nonces_;
  // Pebble rejects up to half of good nonces in tests; 20 keeps a wrong failure below 1e-6
  // per request while a CA that rejects everything is still given up on quickly.
  int max_bad_nonce_retries_ = 20;
  int bad_nonce_retries_ = 0;
  int requests_ = 0;
  std::function<void(const RequestEvent&)> observer_;
};

// Turns a non-2xx response into an Error: parses the problem document, Retry-After.
Error error_from_response(const HttpRequest& req, const HttpResponse& resp,
                          std::chrono::system_clock::time_point now);

// Parses a JSON body; a kProtocol error naming the URL when it is not valid JSON.
Result<nlohmann::json> parse_json_body(const std::string& url, const HttpResponse& resp);

}  // namespace acme
