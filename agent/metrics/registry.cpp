#include "metrics/registry.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

namespace agent::metrics {

void Histogram::observe(double v) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (v <= bounds_[i]) {
      ++counts_[i];
      break;
    }
  }
  ++count_;
  sum_ += v;
}

void Histogram::write(Exposition& out, std::string_view name, const Labels& labels) const {
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    Labels l = labels;
    l.emplace_back("le", format_value(bounds_[i]));
    out.sample(bucket, l, static_cast<double>(cumulative));
  }
  Labels inf = labels;
  inf.emplace_back("le", "+Inf");
  out.sample(bucket, inf, static_cast<double>(count_));
  out.sample(std::string(name) + "_sum", labels, sum_);
  out.sample(std::string(name) + "_count", labels, static_cast<double>(count_));
}

Registry::Registry()
    : request_duration_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      renewal_duration_({0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}) {}

void Registry::acme_request(const std::string& endpoint, int status, double seconds) {
  std::lock_guard lock(mu_);
  requests_[{endpoint, status == 0 ? "error" : std::to_string(status)}] += 1;
  request_duration_.observe(seconds);
  if (status == 429) rate_limited_ += 1;
}

void Registry::bad_nonce_retries(int n) {
  std::lock_guard lock(mu_);
  bad_nonce_ += n;
}

void Registry::renewal_finished(double seconds) {
  std::lock_guard lock(mu_);
  renewal_duration_.observe(seconds);
}

void Registry::set_last_tick(int64_t t) {
  std::lock_guard lock(mu_);
  last_tick_ = t;
}

void Registry::store_write_failed() {
  std::lock_guard lock(mu_);
  store_write_failures_ += 1;
}

void Registry::set_served(const std::string& name, const std::string& endpoint, bool served) {
  std::lock_guard lock(mu_);
  served_[{name, endpoint}] = served;
}

bool Registry::not_served(const std::string& name) const {
  std::lock_guard lock(mu_);
  for (auto it = served_.lower_bound({name, ""}); it != served_.end() && it->first.first == name;
       ++it) {
    if (!it->second) return true;
  }
  return false;
}

void Registry::notification_sent(const std::string& channel, bool ok) {
  std::lock_guard lock(mu_);
  notifications_[{channel, ok ? "success" : "failure"}] += 1;
}

int64_t Registry::last_tick() const {
  std::lock_guard lock(mu_);
  return last_tick_;
}

void Registry::write(Exposition& out) const {
  std::lock_guard lock(mu_);
  out.family("acmectl_acme_requests_total", "counter",
             "HTTP requests made to ACME servers, by endpoint and HTTP status");
  for (const auto& [key, v] : requests_) {
    out.sample("acmectl_acme_requests_total", {{"endpoint", key.first}, {"status", key.second}}, v);
  }
  out.family("acmectl_acme_request_duration_seconds", "histogram",
             "Duration of HTTP requests to ACME servers");
  request_duration_.write(out, "acmectl_acme_request_duration_seconds", {});
  out.family("acmectl_acme_bad_nonce_retries_total", "counter",
             "Requests retried because the server rejected the nonce (RFC 8555 6.5)");
  out.sample("acmectl_acme_bad_nonce_retries_total", bad_nonce_);
  out.family("acmectl_acme_rate_limited_total", "counter",
             "Responses with HTTP 429 (rateLimited) from ACME servers");
  out.sample("acmectl_acme_rate_limited_total", rate_limited_);
  out.family("acmectl_renewal_duration_seconds", "histogram",
             "Wall time of issuance and renewal attempts");
  renewal_duration_.write(out, "acmectl_renewal_duration_seconds", {});
  out.family("acmectl_scheduler_last_tick_timestamp_seconds", "gauge",
             "When the scheduler loop last ran");
  out.sample("acmectl_scheduler_last_tick_timestamp_seconds", static_cast<double>(last_tick_));
  out.family("acmectl_store_write_failures_total", "counter",
             "Writes to the state database that failed (each one is logged)");
  out.sample("acmectl_store_write_failures_total", store_write_failures_);
  out.family("acmectl_certificate_served", "gauge",
             "1 when the endpoint served the installed certificate at the last check after an "
             "install, else 0");
  for (const auto& [key, v] : served_) {
    out.sample("acmectl_certificate_served", {{"name", key.first}, {"endpoint", key.second}},
               v ? 1 : 0);
  }
  // Every series from the start at 0, so increase() sees the first failure.
  out.family("acmectl_notifications_total", "counter",
             "Notifications ([notify] webhook, command) by channel and result");
  for (const char* channel : {"command", "webhook"}) {
    for (const char* result : {"failure", "success"}) {
      auto it = notifications_.find({channel, result});
      out.sample("acmectl_notifications_total", {{"channel", channel}, {"result", result}},
                 it == notifications_.end() ? 0 : it->second);
    }
  }
  if (!fleet_) return;
  out.family("acmectl_fleet_store_up", "gauge",
             "1 when the last query of the fleet's PostgreSQL store worked");
  out.sample("acmectl_fleet_store_up", fleet_connected_ ? 1 : 0);
  out.family("acmectl_fleet_lease_held", "gauge",
             "1 while this agent holds the fleet lease on the certificate (renewing it)");
  for (const auto& [name, c] : fleet_certs_) {
    out.sample("acmectl_fleet_lease_held", {{"name", name}}, c.lease_held ? 1 : 0);
  }
  out.family("acmectl_certificate_installed_version", "gauge",
             "Fleet version of the certificate installed on this host (0: none)");
  for (const auto& [name, c] : fleet_certs_) {
    out.sample("acmectl_certificate_installed_version", {{"name", name}},
               static_cast<double>(c.installed_version));
  }
  out.family("acmectl_fleet_latest_version", "gauge",
             "Newest version of the certificate in the fleet store");
  for (const auto& [name, c] : fleet_certs_) {
    out.sample("acmectl_fleet_latest_version", {{"name", name}},
               static_cast<double>(c.latest_version));
  }
}

void Registry::set_fleet(std::map<std::string, FleetCert> certs, bool connected) {
  std::lock_guard lock(mu_);
  fleet_ = true;
  fleet_connected_ = connected;
  if (connected) fleet_certs_ = std::move(certs);
}

void Registry::fleet_installed(const std::string& name, int64_t version) {
  std::lock_guard lock(mu_);
  FleetCert& c = fleet_certs_[name];
  c.installed_version = std::max(c.installed_version, version);
  c.latest_version = std::max(c.latest_version, version);
}

void write_process_metrics(Exposition& out) {
  // /proc/self/stat: utime (14), stime (15), starttime (22), vsize (23), rss (24).
  std::ifstream stat("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = content.rfind(')');
  if (close == std::string::npos) return;
  std::istringstream fields(content.substr(close + 2));
  std::vector<std::string> f;
  for (std::string x; fields >> x;) f.push_back(x);
  // f[0] is field 3 (state).
  auto field = [&f](size_t n) -> double { return n - 3 < f.size() ? std::stod(f[n - 3]) : 0.0; };
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  double boot_time = 0;
  {
    std::ifstream s("/proc/stat");
    for (std::string line; std::getline(s, line);) {
      if (line.rfind("btime ", 0) == 0) boot_time = std::stod(line.substr(6));
    }
  }
  int fds = 0;
  if (std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir("/proc/self/fd"), &::closedir); d) {
    while (const dirent* e = ::readdir(d.get())) {
      if (e->d_name[0] != '.') ++fds;
    }
    --fds;  // the directory handle itself
  }
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  out.family("process_cpu_seconds_total", "counter",
             "Total user and system CPU time spent in seconds.");
  out.sample("process_cpu_seconds_total", (field(14) + field(15)) / ticks);
  out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  out.sample("process_resident_memory_bytes", field(24) * page);
  out.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  out.sample("process_virtual_memory_bytes", field(23));
  out.family("process_start_time_seconds", "gauge",
             "Start time of the process since unix epoch in seconds.");
  out.sample("process_start_time_seconds", boot_time + field(22) / ticks);
  out.family("process_open_fds", "gauge", "Number of open file descriptors.");
  out.sample("process_open_fds", fds);
  out.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
  out.sample("process_max_fds", static_cast<double>(rl.rlim_cur));
}

}  // namespace agent::metrics
