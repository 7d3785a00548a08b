#pragma once
// The lease heartbeat. A renewal holds the certificate's fleet lease for as long as it
// runs; a slow one (a DNS-01 propagation wait, a CA that takes minutes) would otherwise
// outlive `lease_seconds`, and another agent would take the lease over and order the same
// certificate again. While a LeaseKeeper lives, a thread of its own pushes the lease's
// expiry ahead every lease_seconds / 3 on a connection of its own (opened only when the
// renewal lasts that long: most renewals take seconds and never open it). A dead agent's
// lease still lapses after lease_seconds, since its heartbeat dies with it.
//
// When the lease turns out lost (it lapsed while the database was unreachable and another
// agent took it), the keeper says so and stops; the renewal's publish, fenced by the
// lease's generation, then publishes and installs nothing.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "fleet/fleet_store.hpp"

namespace agent {

class LeaseKeeper {
 public:
  LeaseKeeper(FleetSettings settings, std::string cert_name, int64_t generation);
  ~LeaseKeeper();  // stops the heartbeat (and waits for it)
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // Heartbeats that pushed the expiry ahead so far, and whether the lease was found lost.
  int extensions() const { return extensions_.load(); }
  bool lost() const { return lost_.load(); }

 private:
  void run();

  FleetSettings settings_;
  std::string name_;
  int64_t generation_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<int> extensions_{0};
  std::atomic<bool> lost_{false};
  std::thread thread_;
};

}  // namespace agent
