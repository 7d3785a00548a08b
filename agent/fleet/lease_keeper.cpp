#include "fleet/lease_keeper.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include "log/log.hpp"

namespace agent {

LeaseKeeper::LeaseKeeper(FleetSettings settings, std::string cert_name, int64_t generation)
    : settings_(std::move(settings)), name_(std::move(cert_name)), generation_(generation) {
  thread_ = std::thread([this] { run(); });
}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LeaseKeeper::run() {
  auto log = logger("fleet");
  // A third of the lease: two heartbeats may fail (a database restart) before it lapses.
  const auto interval =
      std::chrono::milliseconds(std::max(1000, settings_.lease_seconds * 1000 / 3));
  std::unique_ptr<FleetStore> store;
  std::unique_lock<std::mutex> lk(mu_);
  while (!cv_.wait_for(lk, interval, [this] { return stop_; })) {
    lk.unlock();
    acme::Result<bool> kept = acme::make_error(acme::Errc::kIo, "not connected");
    if (!store) {
      auto opened = FleetStore::open(settings_);
      if (opened) {
        store = std::move(*opened);
      } else {
        kept = opened.error();
      }
    }
    if (store) kept = store->extend_lease(name_, generation_);
    lk.lock();
    if (!kept) {
      // Not fatal yet: the lease holds until its expiry; the next beat tries again.
      log->warn("cert={} cannot extend the fleet lease (generation {}): {}", name_, generation_,
                kept.error().to_string());
      continue;
    }
    if (!*kept) {
      lost_ = true;
      log->warn(
          "cert={} the fleet lease (generation {}) was lost to another agent: this renewal "
          "will publish nothing",
          name_, generation_);
      return;
    }
    ++extensions_;
    log->debug("cert={} fleet lease extended by {} s (generation {})", name_,
               settings_.lease_seconds, generation_);
  }
}

}  // namespace agent
