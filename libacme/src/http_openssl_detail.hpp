#pragma once
// Private to libacme and its tests: the pure parts of the OpenSSL HTTP client
// (http_openssl.cpp), testable without a network.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "acme/http.hpp"
#include "acme/result.hpp"

namespace acme::detail {

struct Url {
  std::string scheme;  // lower case
  std::string host;    // without brackets for IPv6 literals
  std::uint16_t port = 0;
  std::string target;    // path and query, "/" when empty
  std::string userinfo;  // proxies only: "user:password" (percent-decoded)
};

// "https://host[:port]/path?q" (and "http://" for proxies; a proxy URL without a scheme
// is http:// as curl reads it, default port 1080 like curl's).
// https:// only, unless allow_http (then http:// too, port 80 by default).
Result<Url> parse_url(std::string_view url, bool allow_http = false);
Result<Url> parse_proxy_url(std::string_view url);

// curl's NO_PROXY rules: "*" matches every host; otherwise a comma (or space) separated
// list of host names, matched exactly or as a domain suffix ("example.com" and
// ".example.com" both match example.com and www.example.com), of IP addresses matched
// exactly, and of CIDR ranges (192.168.0.0/16, fd00::/8). Case-insensitive; a trailing
// dot is ignored.
bool no_proxy_matches(std::string_view no_proxy, std::string_view host);

// The proxy curl would use for an https:// URL to host, from the environment:
// https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY (first set and non-empty wins), unless
// no_proxy/NO_PROXY matches host. nullopt: connect directly.
std::optional<std::string> proxy_for(std::string_view host);

// Incremental HTTP/1.1 response parser: feed bytes, ask when it is done.
class ResponseParser {
 public:
  ResponseParser(bool head_request, std::size_t max_body) noexcept
      : head_(head_request), max_body_(max_body) {}
  // Consumes bytes; returns an error for a malformed response or a body above the limit.
  // Bytes after the end of the response are not consumed (*used says how many were).
  Result<void> feed(std::string_view data, std::size_t* used);
  // The connection closed: completes a body delimited by the close, else an error.
  Result<void> eof();
  bool done() const noexcept { return state_ == State::kDone; }
  bool too_large() const noexcept { return too_large_; }
  // After done(): the server wants the connection closed (Connection: close, HTTP/1.0).
  bool close_after() const noexcept { return close_; }
  bool started() const noexcept { return started_; }
  HttpResponse take() { return std::move(response_); }

 private:
  enum class State {
    kHead,
    kBody,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailer,
    kUntilClose,
    kDone
  };
  Result<void> parse_head(std::string_view head);
  Result<void> append_body(std::string_view data);
  bool head_;
  std::size_t max_body_;
  State state_ = State::kHead;
  std::string buf_;  // header bytes, or a partial chunk-size line
  std::size_t remaining_ = 0;
  bool close_ = false;
  bool too_large_ = false;
  bool started_ = false;
  HttpResponse response_;
};

}  // namespace acme::detail
