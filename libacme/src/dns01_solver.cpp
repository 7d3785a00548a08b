// Dns01Solver: DNS-01 in the issuer flow. present() adds one TXT value per challenge where
// the _acme-challenge CNAME chain ends; wait_ready() checks every value at every server;
// cleanup() removes exactly what was added.
#include <map>

#include "acme/dns01.hpp"
#include "acme/key.hpp"

namespace acme {

Dns01Solver::Dns01Solver(std::unique_ptr<DnsProvider> provider,
                         std::shared_ptr<DnsResolver> resolver, Clock& clock, Dns01Options options)
    : provider_(std::move(provider)),
      resolver_(resolver ? std::move(resolver) : make_cares_resolver()),
      clock_(clock),
      options_(std::move(options)) {}

Result<void> Dns01Solver::present(const ChallengeContext& ctx) {
  if (ctx.identifier.type != "dns") {
    return make_error(Errc::kInvalidInput,
                      "dns-01 cannot prove " + ctx.identifier.type + " " + ctx.identifier.value);
  }
  const std::string name = dns01_record_name(ctx.identifier.value);
  // CNAME delegation: _acme-challenge.NAME may point into another zone (one the provider may
  // update); the CA follows it, so the value goes where the chain ends.
  ACME_ASSIGN(std::string target, follow_cnames(*resolver_, name, options_.resolvers));
  const std::string value = dns01_txt_value(ctx.key_authorization);
  if (options_.log) {
    options_.log(std::string(provider_->name()) + " add TXT " + target +
                 (target != name ? " (CNAME from " + name + ")" : "") + " for " +
                 ctx.identifier.value);
  }
  ACME_CHECK(provider_->add_txt(target, value));
  std::lock_guard lock(mu_);
  added_[ctx.token] = Added{target, value};
  return ok();
}

Result<void> Dns01Solver::wait_ready() {
  std::vector<TxtExpectation> expected;
  {
    std::lock_guard lock(mu_);
    std::map<std::string, std::vector<std::string>> by_name;
    for (const auto& [token, a] : added_) by_name[a.fqdn].push_back(a.value);
    for (auto& [fqdn, values] : by_name) expected.push_back({fqdn, std::move(values)});
  }
  if (expected.empty()) return ok();
  PropagationOptions p;
  p.servers = options_.resolvers;
  p.timeout = options_.propagation_timeout;
  p.interval = options_.propagation_interval;
  p.log = options_.log;
  return wait_for_propagation(*resolver_, clock_, expected, p);
}

void Dns01Solver::cleanup(const ChallengeContext& ctx) noexcept {
  try {
    Added a;
    {
      std::lock_guard lock(mu_);
      auto it = added_.find(ctx.token);
      if (it == added_.end()) return;  // present() failed or never ran: nothing to remove
      a = std::move(it->second);
      added_.erase(it);
    }
    if (auto r = provider_->remove_txt(a.fqdn, a.value); !r) {
      if (options_.warn) options_.warn("dns-01 cleanup: " + r.error().to_string());
    } else if (options_.log) {
      options_.log(std::string(provider_->name()) + " removed TXT " + a.fqdn);
    }
  } catch (...) {
    // Nothing but bad_alloc can get here; cleanup never throws (challenge.hpp).
  }
}

}  // namespace acme
