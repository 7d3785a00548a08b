#pragma once
// http-01 in a fleet: the token and key authorization go into the shared store before the
// local solver presents them, so whichever agent's responder the load balancer (or the
// CA) reaches answers it (the daemon's responder looks up tokens it does not hold in the
// store). Cleanup removes both.

#include <string>

#include "acme/challenge.hpp"
#include "fleet/fleet_store.hpp"

namespace agent {

class FleetHttp01Solver final : public acme::Solver {
 public:
  FleetHttp01Solver(acme::Solver& inner, FleetStore& store, std::string cert_name)
      : inner_(inner), store_(store), cert_name_(std::move(cert_name)) {}
  std::string challenge_type() const override { return inner_.challenge_type(); }
  acme::Result<void> present(const acme::ChallengeContext& ctx) override {
    if (auto r = store_.put_token(ctx.token, ctx.key_authorization, cert_name_); !r) {
      return std::move(r).error().context("sharing the http-01 token with the fleet");
    }
    return inner_.present(ctx);
  }
  acme::Result<void> wait_ready() override { return inner_.wait_ready(); }
  void cleanup(const acme::ChallengeContext& ctx) noexcept override {
    inner_.cleanup(ctx);
    (void)store_.delete_token(ctx.token);
  }

 private:
  acme::Solver& inner_;
  FleetStore& store_;
  std::string cert_name_;
};

}  // namespace agent
