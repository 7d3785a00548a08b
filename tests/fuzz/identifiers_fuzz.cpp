// Domain names and IP addresses from the command line and the config
// (acme::normalize_identifiers): RFC 1035 §2.3.4 limits, RFC 8738 IPs, wildcards.
//
// Input: byte 0 chooses allow_wildcard; the rest is names separated by '\n'.
// Properties: whatever is accepted is within the limits, lower case, unique, accepted again
// unchanged (normalising is idempotent), and fits in a CSR.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acme/certificate.hpp"
#include "acme/issuer.hpp"
#include "acme/key.hpp"
#include "fuzz_check.hpp"

namespace {

const acme::PrivateKey& cert_key() {
  static const acme::PrivateKey key = *acme::PrivateKey::generate(acme::KeyType::kEc256);
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool allow_wildcard = (data[0] & 1) != 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string> names;
  for (std::size_t start = 0; start <= in.size();) {
    const std::size_t nl = in.find('\n', start);
    names.emplace_back(in.substr(start, nl == std::string_view::npos ? in.npos : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }

  const auto ids = acme::normalize_identifiers(names, allow_wildcard);
  if (!ids) return 0;
  FUZZ_CHECK(!ids->empty() && ids->size() <= 100);
  std::vector<std::string> values;
  for (std::size_t i = 0; i < ids->size(); ++i) {
    const acme::Identifier& id = (*ids)[i];
    FUZZ_CHECK(id.type == "dns" || id.type == "ip");
    FUZZ_CHECK(!id.value.empty() && id.value.size() <= 253);
    FUZZ_CHECK(id.value.find('\0') == std::string::npos);
    for (const char c : id.value) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    if (!allow_wildcard) FUZZ_CHECK(id.value.find('*') == std::string::npos);
    for (std::size_t k = 0; k < i; ++k) FUZZ_CHECK(!((*ids)[k] == id));
    values.push_back(id.value);
  }
  const auto again = acme::normalize_identifiers(values, allow_wildcard);
  FUZZ_CHECK(again.has_value() && *again == *ids);

  // Everything accepted must be encodable as a SAN: the CSR is built from these.
  FUZZ_CHECK(acme::make_csr_der(cert_key(), *ids).has_value());
  return 0;
}
