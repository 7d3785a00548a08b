// HTTP response headers libacme acts on: Retry-After (RFC 9110 §10.2.3, both forms) decides
// how long the scheduler waits; Link (RFC 8288) gives the alternate chains (RFC 8555 §7.4.2)
// and "up" links.
//
// Input: lines; the first line is a Retry-After value, every line is also a Link header.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acme/http.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // A fixed "now" (2026-01-01T00:00:00Z) keeps runs reproducible.
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));

  std::vector<std::string> lines;
  for (std::size_t start = 0; start <= in.size();) {
    const std::size_t nl = in.find('\n', start);
    lines.emplace_back(in.substr(start, nl == std::string_view::npos ? in.npos : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }

  if (const auto delay = acme::parse_retry_after(lines.front(), now)) {
    FUZZ_CHECK(delay->count() >= 0);
  }
  (void)acme::parse_retry_after(in, now);

  for (const char* rel : {"alternate", "up", "index"}) {
    for (const auto& uri : acme::parse_links(lines, rel)) {
      FUZZ_CHECK(uri.find('>') == std::string::npos);
    }
  }

  acme::HttpResponse resp;
  for (const auto& line : lines) resp.headers.emplace_back("link", line);
  (void)resp.header("link");
  (void)resp.headers_named("link");
  return 0;
}
