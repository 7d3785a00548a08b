#pragma once
// The HTTP/1.1 request parsing of the HTTP-01 responder, separate from its sockets so
// tests and fuzz targets can feed it bytes directly.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace acme::detail {

enum class HeadState { kIncomplete, kComplete, kTooLarge };

// Whether `buffered` holds a whole request head (ends in an empty line, CRLF or bare LF,
// RFC 9112 §2.2) within `max_bytes`. On kComplete, *head_size is the head's length.
HeadState find_request_head(std::string_view buffered, std::size_t max_bytes,
                            std::size_t* head_size);

struct RequestLine {
  std::string_view method;
  std::string_view target;
};
// "METHOD SP TARGET SP HTTP/1.x" (RFC 9112 §3); nullopt when malformed.
std::optional<RequestLine> parse_request_line(std::string_view head);

// A complete response with Content-Length and Connection: close; no body for HEAD.
std::string http01_response(int status, std::string_view body, bool head_request);

}  // namespace acme::detail
