// The DNS provider registry: an explicit table, no self-registration (lego's lesson: one
// place lists what exists).
#include <array>

#include "acme/dns01.hpp"

namespace acme {
namespace {

struct Entry {
  std::string_view name;
  std::unique_ptr<DnsProvider> (*make)(const DnsProviderOptions&);
};

constexpr std::array kProviders = {
    Entry{"rfc2136",
          [](const DnsProviderOptions& o) { return make_rfc2136_provider(o.rfc2136, o.resolver); }},
    Entry{"exec", [](const DnsProviderOptions& o) { return make_exec_provider(o.exec); }},
};

}  // namespace

std::vector<std::string> dns_provider_names() {
  std::vector<std::string> out;
  for (const auto& e : kProviders) out.emplace_back(e.name);
  return out;
}

Result<std::unique_ptr<DnsProvider>> make_dns_provider(std::string_view name,
                                                       const DnsProviderOptions& options) {
  for (const auto& e : kProviders) {
    if (e.name == name) return e.make(options);
  }
  std::string known;
  for (const auto& e : kProviders) known += (known.empty() ? "" : ", ") + std::string(e.name);
  return make_error(Errc::kInvalidInput,
                    "unknown DNS provider \"" + std::string(name) + "\" (known: " + known + ")");
}

}  // namespace acme
