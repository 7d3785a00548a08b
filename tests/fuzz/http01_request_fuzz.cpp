// The HTTP-01 responder's request parsing (libacme/src/http01_request.hpp): the bytes any
// client on the network sends to the agent's always-open listener.
//
// Input: byte 0 picks how many bytes each simulated recv() delivers and the head limit; the
// rest is what the client sends. The head is searched after every chunk, as the responder
// does, and the answer built for what was parsed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "http01_request.hpp"

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using acme::detail::HeadState;
  if (size == 0) return 0;
  const std::size_t chunk = 1 + (data[0] & 0x0f);
  const std::size_t max_bytes = (data[0] & 0x10) != 0 ? 64 : 8192;
  const std::string_view sent(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::string buffered;
  std::size_t head_size = 0;
  HeadState state = HeadState::kIncomplete;
  for (std::size_t pos = 0; pos < sent.size() && state == HeadState::kIncomplete; pos += chunk) {
    buffered.append(sent.substr(pos, chunk));
    state = acme::detail::find_request_head(buffered, max_bytes, &head_size);
  }
  if (state == HeadState::kTooLarge) FUZZ_CHECK(buffered.size() >= max_bytes);
  if (state != HeadState::kComplete) return 0;
  FUZZ_CHECK(head_size > 0 && head_size <= buffered.size() && head_size <= max_bytes);
  // Bytes after the head do not move where it ends.
  std::size_t again = 0;
  FUZZ_CHECK(acme::detail::find_request_head(sent, max_bytes, &again) == HeadState::kComplete);
  FUZZ_CHECK(again == head_size);

  const std::string_view head = std::string_view(buffered).substr(0, head_size);
  const auto line = acme::detail::parse_request_line(head);
  if (!line) {
    (void)acme::detail::http01_response(400, "", false);
    return 0;
  }
  FUZZ_CHECK(!line->method.empty() && !line->target.empty());
  FUZZ_CHECK(inside(line->method, head) && inside(line->target, head));
  for (const char c : line->target) {
    FUZZ_CHECK(static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f);
  }
  const bool head_request = line->method == "HEAD";
  const std::string resp = acme::detail::http01_response(200, line->target, head_request);
  FUZZ_CHECK(resp.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  const std::string length = "Content-Length: " + std::to_string(line->target.size()) + "\r\n";
  FUZZ_CHECK(resp.find(length) != std::string::npos);
  const std::size_t body_at = resp.find("\r\n\r\n") + 4;
  FUZZ_CHECK(resp.size() - body_at == (head_request ? 0 : line->target.size()));
  return 0;
}
