#pragma once
// The agent's /metrics, /healthz and status page (/) endpoint, on a loopback address by
// default: a small HTTP/1.1 server of its own (one poll loop thread, acme/poll_server.hpp).
// Every scrape reads the store, so values survive restarts and reflect other processes
// (`acmectl renew` from cron) too.

#include <functional>
#include <memory>
#include <string>

#include "acme/result.hpp"

namespace agent {
class Store;
}

namespace agent::metrics {

class Registry;

struct ServerOptions {
  std::string listen = "127.0.0.1:9469";
  std::string db_path;
  // Opens a store connection (one per endpoint); unset: the SQLite store at db_path.
  std::function<acme::Result<std::unique_ptr<Store>>()> open_store;
  int renew_before_days = 30;
  int stall_seconds = 120;  // /healthz fails when the scheduler has not ticked for this long
  const Registry* registry = nullptr;  // the agent's process-wide metrics; none: left out
};

// Renders the full exposition from a store (also used by the benchmark).
acme::Result<std::string> render_metrics(const std::string& db_path, int renew_before_days);
acme::Result<std::string> render_metrics(Store& store, int renew_before_days);
// The same, written into `buffer` (cleared first; its capacity is reused).
acme::Result<std::string> render_metrics(Store& store, int renew_before_days, std::string buffer,
                                         const Registry* registry = nullptr);

class MetricsServer {
 public:
  // Binds at once (a busy port is reported before the agent starts working).
  static acme::Result<std::unique_ptr<MetricsServer>> start(const ServerOptions& options);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  int port() const noexcept { return port_; }

 private:
  struct Impl;
  MetricsServer() = default;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace agent::metrics
