#pragma once
// Process-wide counters and histograms the ACME transport and the renewer feed. Values that
// must survive a restart (per-certificate renewals, hooks) live in the store instead.

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "metrics/exposition.hpp"

namespace agent::metrics {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(bounds_.size(), 0) {}
  void observe(double v);
  void write(Exposition& out, std::string_view name, const Labels& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // non-cumulative per bucket
  uint64_t count_ = 0;
  double sum_ = 0;
};

// Handed in by whoever owns the process's metrics (the agent) to the pipeline, its event
// sink and the /metrics endpoint; one-shot commands use their own, never scraped.
class Registry {
 public:
  Registry();

  void acme_request(const std::string& endpoint, int status, double seconds);
  void bad_nonce_retries(int n);
  void renewal_finished(double seconds);
  void set_last_tick(int64_t unix_seconds);
  // A store write that failed (logged where it happened; counted here).
  void store_write_failed();
  int64_t last_tick() const;
  // The served-certificate check's last answer for one endpoint of a certificate.
  void set_served(const std::string& name, const std::string& endpoint, bool served);
  // True when an endpoint of this certificate did not serve it at the last check.
  bool not_served(const std::string& name) const;
  // A notification delivered (or given up on) through `channel` ("webhook", "command").
  void notification_sent(const std::string& channel, bool ok);
  // Fleet mode (docs/fleet.md): per certificate, whether this agent holds its lease, the
  // fleet version installed here and the newest one in the fleet store.
  struct FleetCert {
    bool lease_held = false;
    int64_t installed_version = 0;
    int64_t latest_version = 0;
  };
  void set_fleet(std::map<std::string, FleetCert> certs, bool connected);
  // This agent installed fleet version `version` of `name` (its own publish, or another
  // agent's): said at once, not only at the next poll of the fleet store.
  void fleet_installed(const std::string& name, int64_t version);

  // Writes every process-wide family (ACME traffic, renewal durations, scheduler tick).
  void write(Exposition& out) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, double> requests_;
  Histogram request_duration_;
  double bad_nonce_ = 0;
  double rate_limited_ = 0;
  Histogram renewal_duration_;
  int64_t last_tick_ = 0;
  double store_write_failures_ = 0;
  std::map<std::pair<std::string, std::string>, bool> served_;           // (name, endpoint)
  std::map<std::pair<std::string, std::string>, double> notifications_;  // (channel, result)
  bool fleet_ = false;
  bool fleet_connected_ = false;
  std::map<std::string, FleetCert> fleet_certs_;
};

// process_* metrics of this process (Linux /proc), as the Prometheus client libraries export.
void write_process_metrics(Exposition& out);

}  // namespace agent::metrics
