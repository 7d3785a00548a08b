// RFC 8555 §7.1 resources and RFC 9773 renewal info: the body is parsed as the transport
// does (nlohmann::json without exceptions) and handed to every decoder. Nothing may throw
// (ARCHITECTURE.md: nothing but bad_alloc escapes libacme), crash or leak.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "acme/base64url.hpp"
#include "acme/types.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;

  if (auto d = acme::parse_directory(j)) {
    FUZZ_CHECK(!d->new_nonce.empty() && !d->new_account.empty() && !d->new_order.empty());
  }
  (void)acme::parse_account(j);
  if (auto c = acme::parse_challenge(j)) {
    (void)acme::is_base64url(c->token);
    if (c->error) (void)c->error->describe();
  }
  if (auto a = acme::parse_authorization(j)) {
    FUZZ_CHECK(!a->identifier.type.empty() && !a->identifier.value.empty());
    (void)a->find_challenge("http-01");
    (void)a->find_challenge("dns-01");
  }
  if (auto o = acme::parse_order(j)) {
    FUZZ_CHECK(acme::to_string(o->status) != "unknown" && !o->finalize.empty());
    if (o->error) (void)o->error->describe();
  }
  if (auto r = acme::parse_renewal_info(j)) {
    // RFC 9773 §4.2: a window that does not end after it starts is refused.
    FUZZ_CHECK(r->window_start < r->window_end);
  }
  return 0;
}
