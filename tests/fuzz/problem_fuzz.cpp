// RFC 7807 / RFC 8555 §6.7 problem documents: acme::parse_problem on any body, then every
// accessor that turns the document into text for logs and error messages.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "acme/problem.hpp"
#include "acme/result.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto problem = acme::parse_problem(body);
  if (!problem) return 0;
  FUZZ_CHECK(!problem->type.empty());
  (void)problem->acme_type();
  (void)problem->describe();
  // The path an error response takes: an Error carrying the problem, printed and classified.
  acme::Error e = acme::make_error(acme::Errc::kAcmeProblem, "POST https://ca/new-order");
  e.problem = problem;
  e.http_status = problem->status;
  (void)e.to_string();
  (void)acme::is_retryable(e);
  return 0;
}
